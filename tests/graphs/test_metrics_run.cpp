#include <doctest/doctest.h>

#include <mutex>

#include "app/sample_data.hpp"
#include "rasterflow/errors.hpp"
#include "rasterflow/graph.hpp"
#include "rasterflow/metrics.hpp"
#include "rasterflow/observers.hpp"
#include "rasterflow/pipeline.hpp"
#include "support/postgres.hpp"
#include "support/test_support.hpp"

using namespace rasterflow;

namespace {
const char* const kGraph = R"({
  "grid": { "resolution": 0.01 },
  "nodes": [
    { "id": "t_src", "type": "raster_source", "path": "data/temperature.tif" },
    { "id": "l_src", "type": "raster_source", "path": "data/landcover.tif" },
    { "id": "temperature", "type": "resample", "inputs": ["t_src"], "method": "average" },
    { "id": "landcover", "type": "resample", "inputs": ["l_src"], "method": "mode" },
    { "id": "m", "type": "merge", "inputs": ["temperature", "landcover"] },
    { "id": "out", "type": "csv_sink", "inputs": ["m"], "path": "out.csv" }
  ]
})";

// Reports the real process but a machine that is 85% full: the engine throttles at once.
class BusyMachine final : public MemorySource {
 public:
  MemorySample sample() override {
    MemorySample s = real_.sample();
    s.system_total = 100ull << 30;
    s.system_used = 85ull << 30;
    s.system_available = 15ull << 30;
    return s;
  }
  std::uint64_t auto_limit() override { return 8ull << 30; }

 private:
  SystemMemorySource real_;
};

struct Recorded {
  std::unique_ptr<MetricsRecorder> recorder;
  RunSummary summary;
};

Recorded run_recorded(const test::TempDir& dir, MetricsRecorder::Connect connect, PlanOptions options,
                      std::vector<std::string> sets, std::function<void(int)> after_tile = {}) {
  test::write_text(dir / "graph.json", kGraph);
  Config config;
  for (const auto& s : sets) config.set(s);
  const GraphSpec graph = load_graph(dir / "graph.json", config);
  options.output_dir = dir.path();
  int written = 0;
  Pipeline pipeline(graph, config, options);
  ExperimentInfo info;
  info.name = "test";
  info.graph_json = graph.json;
  info.config_json = config.to_json();
  Recorded r;
  r.recorder = std::make_unique<MetricsRecorder>(std::move(connect), info);
  r.recorder->start(false);
  MetricsRecorder* rec = r.recorder.get();
  // The session's observers: the standard ones, then the metric rows (naming the stages).
  Run run;
  auto stages = std::make_shared<StageObserver>();
  run.observers = {stages, std::make_shared<TimelineObserver>()};
  run.observers.push_back(std::make_shared<MetricRowsObserver>([rec](MetricRow row) { rec->record(std::move(row)); },
                                                               std::chrono::milliseconds(config.metrics.interval_ms),
                                                               stages));
  if (after_tile) run.observers.push_back(observe_tiles([&](const TileRequest&) { after_tile(++written); }));
  r.summary = pipeline.run(std::move(run));
  r.recorder->finish("succeeded", "", std::chrono::seconds(10));
  return r;
}

std::int64_t count(MetricsBackend& db, const std::string& sql, std::int64_t experiment) {
  const QueryResult r = db.query(sql, {std::to_string(experiment)});
  return std::stoll(r.rows.at(0).at(0).value());
}
}  // namespace

TEST_CASE("MetricsRun.Sqlite.SnapshotsThrottleEventsAndStageRows" * doctest::timeout(120)) {
  test::TempDir dir;
  app::generate_sample_data(dir / "data", "small");
  PlanOptions options;
  options.memory_source = std::make_shared<BusyMachine>();
  const auto file = dir / "metrics.sqlite";
  const Recorded r = run_recorded(dir, [file] { return open_sqlite_metrics(file); }, options,
                                  {"metrics.interval_ms=10", "memory.sample_interval_ms=10"});
  REQUIRE(r.recorder->experiment_id());
  const std::int64_t id = *r.recorder->experiment_id();
  CHECK(r.recorder->dropped() == 0);
  auto db = open_sqlite_metrics(file);
  CHECK(count(*db, "SELECT COUNT(*) FROM pipeline_metrics WHERE metric_type = 'memory' AND experiment_id = $1", id) >=
        1);
  CHECK(count(*db,
              "SELECT COUNT(*) FROM v_throttle_events WHERE experiment_id = $1 AND setting = 'window_size' AND level = "
              "'warning'",
              id) == 1);
  CHECK(count(*db, "SELECT COUNT(*) FROM pipeline_metrics WHERE metric_type = 'stage' AND experiment_id = $1", id) ==
        6 * 6);
  CHECK(count(*db,
              "SELECT COUNT(*) FROM v_stage_summary WHERE experiment_id = $1 AND items > 0 AND busy_seconds >= 0 AND "
              "memory_peak_gb > 0",
              id) == 6);
  const QueryResult e = db->query("SELECT status, config_json FROM experiments WHERE id = $1", {std::to_string(id)});
  CHECK(e.rows[0][0].value() == "succeeded");
  CHECK(e.rows[0][1].value().find("\"interval_ms\":10") != std::string::npos);
  // Snapshots carry the attribution fields.
  const QueryResult snap = db->query(
      "SELECT metadata->>'level', metadata->>'stage', metadata->>'window_size' FROM pipeline_metrics "
      "WHERE metric_type = 'memory' AND experiment_id = $1 ORDER BY created_at DESC LIMIT 1",
      {std::to_string(id)});
  CHECK(snap.rows[0][0].value() == "warning");
  CHECK(snap.rows[0][2].value() == "1024");
}

TEST_CASE("MetricsRun.Postgres.OutageMidRunFinishesAndCountsDrops" * doctest::timeout(180)) {
  REQUIRE(test::TestPostgres::available());
  test::TempDir dir;
  app::generate_sample_data(dir / "data", "small");
  // The reference CSV, without metrics.
  test::run_graph_json(dir.path(), kGraph);
  const std::string reference = test::read_text(dir / "out.csv");
  test::TestPostgres server;
  const std::string url = server.url();
  const auto t0 = std::chrono::steady_clock::now();
  const Recorded r = run_recorded(
      dir, [url] { return open_postgresql_metrics(url); }, PlanOptions{},
      {"metrics.interval_ms=10", "memory.sample_interval_ms=10", "merge.chunk_size=10"},
      [&server](int tile) {
        if (tile == 5) server.stop();
        if (tile > 5) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(test::read_text(dir / "out.csv") == reference);
  CHECK(r.recorder->experiment_id());
  CHECK(r.recorder->dropped() > 0);
  CHECK(seconds < 90);  // nothing hangs: the flush gives up after its timeout
}

TEST_CASE("MetricsRun.Cli.PasswordNeverShownAndRequiredDatabase" * doctest::timeout(180)) {
  REQUIRE(test::TestPostgres::available());
  test::TempDir dir;
  app::generate_sample_data(dir / "data", "small");
  test::write_text(dir / "graph.json", kGraph);
  test::TestPostgres server;
  std::string out;
  const std::string url = server.url("secret");
  CHECK(test::run_cli("run " + (dir / "graph.json").string() + " --output-dir " + (dir / "o").string() +
                          " --database '" + url + "' --log-level debug --experiment masked",
                      &out) == 0);
  CHECK(out.find("secret") == std::string::npos);
  CHECK(out.find("postgres:***@") != std::string::npos);
  auto db = open_postgresql_metrics(server.url());
  const QueryResult e = db->query("SELECT config_json, status FROM experiments WHERE name = $1", {"masked"});
  REQUIRE(e.rows.size() == 1);
  CHECK(e.rows[0][0].value().find("secret") == std::string::npos);
  CHECK(e.rows[0][1].value() == "succeeded");
  // `rasterflow metrics` reads the same experiment back.
  CHECK(test::run_cli("metrics --database '" + server.url() + "'", &out) == 0);
  CHECK(out.find("\"masked\": succeeded") != std::string::npos);
  CHECK(out.find("stage summary (v_stage_summary)") != std::string::npos);
  CHECK(out.find("temperature") != std::string::npos);
  // An unreachable database with metrics.required: exit 2 before anything runs.
  server.stop();
  CHECK(test::run_cli("run " + (dir / "graph.json").string() + " --output-dir " + (dir / "o2").string() +
                          " --database '" + url + "' --set metrics.required=true",
                      &out) == 2);
  CHECK(out.find("metrics.required") != std::string::npos);
  CHECK(out.find("secret") == std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "o2/out.csv"));
}

TEST_CASE("MetricsRun.Cli.SqliteDefaultAndMetricsCommand" * doctest::timeout(120)) {
  test::TempDir dir;
  app::generate_sample_data(dir / "data", "small");
  test::write_text(dir / "graph.json", kGraph);
  std::string out;
  REQUIRE(test::run_cli("run " + (dir / "graph.json").string() + " --output-dir " + (dir / "o").string(), &out) == 0);
  CHECK(out.find("0 dropped") != std::string::npos);
  REQUIRE(std::filesystem::exists(dir / "o/rasterflow_metrics.sqlite"));
  CHECK(test::run_cli("metrics --sqlite " + (dir / "o/rasterflow_metrics.sqlite").string() + " --experiment 1", &out) ==
        0);
  CHECK(out.find("experiment 1") != std::string::npos);
  CHECK(out.find("memory by stage (v_memory_by_stage)") != std::string::npos);
  CHECK(test::run_cli("metrics --sqlite " + (dir / "o/rasterflow_metrics.sqlite").string() + " --experiment 7", &out) ==
        2);
  CHECK(out.find("no experiment 7") != std::string::npos);
  CHECK(test::run_cli("run " + (dir / "graph.json").string() + " --output-dir " + (dir / "o").string() +
                          " --set metrics.backend=none",
                      &out) == 0);
}
