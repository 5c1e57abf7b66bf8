// The standard observers of a run (rasterflow/observers.hpp), and observe_tiles.
#include "rasterflow/observers.hpp"

#include <boost/json.hpp>

#include "observe/stage_tracker.hpp"
#include "observe/trace.hpp"

namespace rasterflow {

namespace {
constexpr double kBytesPerGiB = 1024.0 * 1024.0 * 1024.0;

double seconds_since(SteadyTime start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
std::string metadata_text(const boost::json::object& o) { return boost::json::serialize(o); }
}  // namespace

std::vector<std::shared_ptr<RunObserver>> standard_observers() {
  return {std::make_shared<StageObserver>(), std::make_shared<TimelineObserver>()};
}

StageObserver::StageObserver() = default;
StageObserver::~StageObserver() = default;

void StageObserver::on_start(const RunView& view) {
  tracker_ = std::make_shared<detail::StageTracker>(view.ids, view.operations);
}
void StageObserver::on_sample(PressureLevel, const MemorySample& sample) { tracker_->observe(sample.process_rss); }
void StageObserver::on_node_begin(std::size_t node) { tracker_->begin(node); }
void StageObserver::on_node_end(std::size_t node, const TileRequest& tile, SteadyTime, SteadyTime,
                                std::uint64_t bytes) {
  tracker_->end(node, tile.seq, bytes, current_rss());
}
void StageObserver::on_tile_done(const TileRequest& tile) { tracker_->release(tile.seq); }

void StageObserver::on_finish(RunSummary& summary) {
  for (std::size_t i = 0; i < summary.nodes.size(); ++i) {
    summary.nodes[i].rss_peak_bytes = tracker_->rss_peak(i);
    summary.nodes[i].rss_avg_bytes = tracker_->rss_avg(i);
  }
}

StageObserver::Snapshot StageObserver::snapshot() const {
  if (!tracker_) return {};
  const auto s = tracker_->snapshot();
  return {s.stage, s.operation, s.active_nodes_json};
}

void TimelineObserver::on_start(const RunView& view) {
  std::lock_guard lock(mutex_);
  view_ = &view;
  timeline_.clear();
}

void TimelineObserver::on_sample(PressureLevel level, const MemorySample& sample) {
  std::lock_guard lock(mutex_);
  if (timeline_.size() >= 4096) {  // keep every other point: the chart needs the shape
    std::vector<MemoryPoint> thinned;
    for (std::size_t k = 0; k < timeline_.size(); k += 2) thinned.push_back(timeline_[k]);
    timeline_.swap(thinned);
  }
  timeline_.push_back({seconds_since(view_->start), static_cast<double>(sample.process_rss), view_->window_size(),
                       view_->tiles_in_flight(), to_string(level)});
}

void TimelineObserver::on_finish(RunSummary& summary) {
  std::lock_guard lock(mutex_);
  summary.memory_timeline = timeline_;
}

void ProgressObserver::on_start(const RunView& view) {
  view_ = &view;
  cells_before_.store(view.cells_before);
  cells_.store(view.cells_before);
  cells_total_.store(view.cells_total);
  rows_.store(0);
  level_.store(static_cast<int>(PressureLevel::normal));
  window_.store(view.window_size());
  in_flight_.store(0);
}

void ProgressObserver::on_sample(PressureLevel level, const MemorySample&) {
  level_.store(static_cast<int>(level));
  window_.store(view_->window_size());
}

void ProgressObserver::on_tile_done(const TileRequest& tile) {
  cells_.fetch_add(static_cast<std::uint64_t>(tile.cells()));
  rows_.store(view_->rows_written());
  in_flight_.store(view_->tiles_in_flight());
}

Progress ProgressObserver::now() const {
  Progress p;
  p.cells_done = cells_.load();
  p.cells_before = cells_before_.load();
  p.cells_total = cells_total_.load();
  p.rows_written = rows_.load();
  p.level = static_cast<PressureLevel>(level_.load());
  p.window_size = window_.load();
  p.tiles_in_flight = in_flight_.load();
  return p;
}

TraceObserver::TraceObserver(std::filesystem::path file) : file_(std::move(file)) {}
TraceObserver::~TraceObserver() = default;

void TraceObserver::on_start(const RunView& view) {
  view_ = &view;
  ids_ = view.ids;
  writer_ = std::make_unique<detail::TraceWriter>(view.start);
}

void TraceObserver::on_sample(PressureLevel, const MemorySample& sample) {
  writer_->counter("process RSS", "MiB", static_cast<double>(sample.process_rss) / (1024.0 * 1024.0));
  writer_->counter("tiles in flight", "tiles", view_->tiles_in_flight());
  writer_->counter("window size", "cells", view_->window_size());
}

void TraceObserver::on_node_end(std::size_t node, const TileRequest& tile, SteadyTime t0, SteadyTime t1,
                                std::uint64_t) {
  writer_->span(&ids_[node], view_->operations[node].c_str(), t0, t1, tile.seq, tile.rows);
}

void TraceObserver::on_write(std::size_t node, const TileRequest& tile, SteadyTime t0, SteadyTime t1) {
  writer_->span(&ids_[node], "serial write", t0, t1, tile.seq, tile.rows);
}

void TraceObserver::on_finish(RunSummary&) { writer_->write(file_, view_->graph_name); }

MetricRowsObserver::MetricRowsObserver(std::function<void(MetricRow)> record, std::chrono::milliseconds every,
                                       std::shared_ptr<const StageObserver> stages)
    : record_(std::move(record)), every_(every), stages_(std::move(stages)), next_(std::chrono::steady_clock::now()) {}

void MetricRowsObserver::on_start(const RunView& view) {
  view_ = &view;
  record_(
      MetricRow{"topology", "numa_domains", static_cast<double>(view.numa_domains), view.topology_json, Clock::now()});
}

void MetricRowsObserver::on_throttle(const ThrottleEvent& e) {
  const boost::json::object meta{{"level", e.level}, {"previous", e.previous}, {"reason", e.reason}};
  record_(MetricRow{"throttle", e.setting, e.value, metadata_text(meta), Clock::now()});
}

void MetricRowsObserver::on_sample(PressureLevel level, const MemorySample& sample) {
  {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (now < next_) return;
    next_ = now + every_;
  }
  const double system_percent =
      sample.system_total ? 100.0 * static_cast<double>(sample.system_used) / static_cast<double>(sample.system_total)
                          : 0.0;
  boost::json::object meta{{"system_percent", system_percent},
                           {"system_available_gb", static_cast<double>(sample.system_available) / kBytesPerGiB},
                           {"limit_gb", static_cast<double>(view_->memory_limit) / kBytesPerGiB},
                           {"level", to_string(level)}};
  if (stages_) {
    const auto stage = stages_->snapshot();
    meta["stage"] = stage.stage;
    meta["operation"] = stage.operation;
    meta["active_nodes"] = boost::json::parse(stage.active_nodes_json);
  }
  meta["window_size"] = view_->window_size();
  meta["chunk_size"] = view_->chunk_size();
  meta["tiles_in_flight"] = view_->tiles_in_flight();
  record_(MetricRow{"memory", "process_rss_gb", static_cast<double>(sample.process_rss) / kBytesPerGiB,
                    metadata_text(meta), Clock::now()});
}

void MetricRowsObserver::on_finish(RunSummary& summary) {
  for (const NodeStats& st : summary.nodes) {
    boost::json::object meta{{"stage", st.id}, {"type", st.type}, {"operation", st.operation}};
    for (const auto& [key, value] : st.tags) meta[key] = value;
    const std::string meta_text = metadata_text(meta);
    const std::pair<const char*, double> figures[] = {{"memory_peak_gb", st.rss_peak_bytes / kBytesPerGiB},
                                                      {"memory_avg_gb", st.rss_avg_bytes / kBytesPerGiB},
                                                      {"items", static_cast<double>(st.items)},
                                                      {"cells", static_cast<double>(st.cells)},
                                                      {"bytes", static_cast<double>(st.bytes)},
                                                      {"busy_seconds", st.busy_seconds}};
    for (const auto& [name, value] : figures) record_(MetricRow{"stage", name, value, meta_text, Clock::now()});
  }
}

namespace {

class TileCallback final : public RunObserver {
 public:
  explicit TileCallback(std::function<void(const TileRequest&)> f) : f_(std::move(f)) {}
  void on_tile_done(const TileRequest& tile) override { f_(tile); }

 private:
  std::function<void(const TileRequest&)> f_;
};

}  // namespace

std::shared_ptr<RunObserver> observe_tiles(std::function<void(const TileRequest&)> f) {
  return std::make_shared<TileCallback>(std::move(f));
}

}  // namespace rasterflow
