// The session's metrics: an experiment per run, rows through a recorder that never blocks the
// run, and the run's figures that `rasterflow metrics --suggest` sizes the next job from.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>

#include "app/session_state.hpp"

namespace rasterflow::app {

// Inserts "rank":R at the front of a metric row's metadata object.
std::string with_rank(const std::string& metadata, int rank) {
  const std::string field = "\"rank\":" + std::to_string(rank);
  if (metadata.size() < 2 || metadata.front() != '{') return "{" + field + "}";
  return "{" + field + (metadata == "{}" ? "" : ",") + metadata.substr(1);
}

namespace {

ExperimentInfo experiment_info(const SessionState& s) {
  ExperimentInfo info;
  info.name = s.request.experiment.empty() ? s.graph.name : s.request.experiment;
  info.graph_json = s.graph.json;
  info.config_json = masked_config_json(s.config, s.graph);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  info.host = host;
  if (s.resumed()) info.resumed_from = s.resumed()->experiment;
  return info;
}

// The run's metric rows go to the recorder, with the rank under MPI.
void route_rows(SessionState& s) {
  MetricsRecorder* recorder = s.recorder.get();
  const bool ranked = s.world != nullptr;
  const int rank = s.rank;
  auto record = [recorder, ranked, rank](MetricRow row) {
    if (ranked) row.metadata_json = with_rank(row.metadata_json, rank);
    recorder->record(std::move(row));
  };
  s.run.observers.push_back(std::make_shared<MetricRowsObserver>(
      std::move(record), std::chrono::milliseconds(s.config.metrics.interval_ms), s.stages));
}

}  // namespace

// Under MPI rank 0 creates the experiment and every rank writes its rows (with its rank) into
// it (collective: broadcast of the experiment id). metrics.backend "none": no experiment.
void open_metrics(SessionState& s) {
  const Config& config = s.config;
  if (config.metrics.backend == "none") return;
  const std::filesystem::path output_dir = s.request.output_dir;
  auto& recorder = s.recorder;
  recorder = std::make_unique<MetricsRecorder>(
      [config, output_dir]() -> std::unique_ptr<MetricsBackend> {
        if (!config.database.url.empty() || config.metrics.backend == "postgresql")
          return open_postgresql_metrics(config.database.url);
        const std::filesystem::path file(config.metrics.sqlite_path);
        return open_sqlite_metrics(file.is_relative() ? output_dir / file : file);
      },
      experiment_info(s));
  if (s.rank == 0) recorder->start(config.metrics.required);
  if (s.world) {
    const std::int64_t id = s.world->broadcast(s.rank == 0 ? recorder->experiment_id().value_or(-1) : -1);
    if (s.rank != 0) {
      if (id >= 0)
        recorder->attach(id, static_cast<std::int64_t>(s.rank) << 24);
      else
        recorder.reset();  // rank 0 has no experiment: nothing to attach to
    }
  }
  if (!recorder) return;
  s.run.experiment = recorder->experiment_id();
  s.run.experiment_database = recorder->describe();
  route_rows(s);
}

// The end of a successful run's experiment. Rank 0 records the run's figures: under MPI they
// are rank 0's, with the ranks (per node) to size a node from, the wall time including the
// gather; every other rank records its own peak_rss_gb, and --suggest takes the highest.
void record_run_figures(SessionState& s) {
  if (!s.recorder) return;
  MetricsRecorder& recorder = *s.recorder;
  const RunSummary& sum = s.summary;
  const double peak_gb = static_cast<double>(sum.peak_rss_bytes) / (1024.0 * 1024.0 * 1024.0);
  if (s.rank != 0) {
    recorder.record(MetricRow{"run", "peak_rss_gb", peak_gb, with_rank("{}", s.rank), Clock::now()});
    recorder.finish("succeeded", "", std::chrono::seconds(10), false);
    return;
  }
  const int ranks = s.world ? s.world->size() : 1;
  const int per_node = s.world ? s.world->local_size() : 1;
  std::string meta = "{\"resumed\":" + std::string(sum.resumed_at_row >= 0 ? "true" : "false") +
                     ",\"ranks\":" + std::to_string(ranks) + ",\"ranks_per_node\":" + std::to_string(per_node) + "}";
  if (s.world) meta = with_rank(meta, 0);
  const auto row = [&](const char* name, double value) {
    recorder.record(MetricRow{"run", name, value, meta, Clock::now()});
  };
  row("peak_rss_gb", peak_gb);
  row("wall_seconds", sum.wall_seconds + s.gather_seconds);
  row("gather_seconds", s.gather_seconds);
  row("ranks", static_cast<double>(ranks));
  row("ranks_per_node", static_cast<double>(per_node));
  row("threads", static_cast<double>(sum.threads));
  row("input_pixels", s.pipeline->plan().input_pixels(s.run.band));
  row("cells", static_cast<double>(sum.cells));
  recorder.finish("succeeded", "", std::chrono::seconds(10));
  const auto id = recorder.experiment_id();
  spdlog::info("metrics: experiment {} in {}: {} rows written, {} dropped", id ? std::to_string(*id) : "(none)",
               recorder.describe(), recorder.written(), recorder.dropped());
}

}  // namespace rasterflow::app
