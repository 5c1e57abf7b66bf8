// Planning apart from running (#27 item 3): a Pipeline plans once, and each run(Run) says its
// band, checkpoint, cancel flag and observers in one value; the standard observers (stage
// tracking, memory timeline) and the session's (progress, trace, metric rows) are public
// classes an embedder lists, leaves out or replaces.
#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <vector>

#include "rasterflow/errors.hpp"
#include "rasterflow/graph.hpp"
#include "rasterflow/observers.hpp"
#include "rasterflow/pipeline.hpp"
#include "support/fake_nodes.hpp"
#include "support/test_support.hpp"

using namespace rasterflow;

namespace {

// 7 x 50 cells of test_table, written by csv_sink (which can resume) to out.csv.
const char* kTableGraph = R"({"grid": {"resolution": 1, "extent": [0, 0, 7, 50]}, "nodes": [
    {"id": "table", "type": "test_table", "width": 7, "height": 50},
    {"id": "out", "type": "csv_sink", "inputs": ["table"], "path": "out.csv"}]})";

struct Planned {
  Config config;
  std::unique_ptr<Pipeline> pipeline;
};

Planned plan_table(const test::TempDir& dir) {
  test::write_text(dir / "graph.json", kTableGraph);
  Planned p;
  p.config.set("metrics.backend=none");
  PlanOptions options;
  options.output_dir = dir.path();
  options.tile_rows = 4;
  options.threads = 2;
  p.pipeline = std::make_unique<Pipeline>(load_graph(dir / "graph.json", p.config), p.config, options);
  return p;
}

// The embedder's own metric rows: every row, kept.
struct Rows {
  std::mutex mutex;
  std::vector<MetricRow> rows;
  std::set<std::string> types() {
    std::lock_guard lock(mutex);
    std::set<std::string> out;
    for (const auto& r : rows) out.insert(r.type);
    return out;
  }
};

}  // namespace

// Before: set_band() changed the pipeline for every later call, and had to come before
// prepare_checkpoint() (whose identity took the band) and run(); a band set after the checkpoint
// was prepared silently gave a checkpoint of the wrong rows. Now the band is part of each run.
TEST_CASE("Pipeline.Run.TheBandIsPartOfEachRunNotOfThePipeline" * doctest::timeout(60)) {
  test::TempDir dir;
  Planned p = plan_table(dir);
  Pipeline& pipeline = *p.pipeline;
  const std::int64_t planned_rows = pipeline.plan().tile_rows;
  Run band;
  band.band = {8, 20};
  const RunSummary a = pipeline.run(band);
  CHECK(a.cells == 12u * 7u);
  CHECK(pipeline.plan().tile_rows == planned_rows);  // a run leaves the plan as it was
  const RunSummary whole = pipeline.run(Run{});      // the next run is the whole grid again
  CHECK(whole.cells == 50u * 7u);
  // The checkpoint identity is the plan's, for whichever band is asked.
  CHECK(pipeline.plan().identity({8, 20}).row_begin == 8);
  CHECK(pipeline.plan().identity({8, 20}).row_end == 20);
  CHECK(pipeline.plan().identity({}).row_end == 50);
  CHECK(pipeline.plan().checkpoint_file == dir / "out.csv.checkpoint");
  CHECK(pipeline.plan().checkpoint_refusal.empty());
}

TEST_CASE("Pipeline.Run.ACheckpointOfOtherRowsIsRefused" * doctest::timeout(60)) {
  test::TempDir dir;
  Planned p = plan_table(dir);
  Pipeline& pipeline = *p.pipeline;
  CHECK_FALSE(pipeline.find_checkpoint({0, 10}, false).has_value());  // none yet
  Run other;
  other.band = {0, 10};
  other.resume = Checkpoint{};
  other.resume->identity = pipeline.plan().identity({8, 20});
  other.resume->next_row = 8;
  CHECK_THROWS_WITH_AS(pipeline.run(other), doctest::Contains("Run::resume: the checkpoint is not this run's"),
                       UsageError);
  CHECK_FALSE(std::filesystem::exists(dir / "out.csv"));
  CHECK_FALSE(std::filesystem::exists(dir / "out.csv.partial"));
}

// An embedder's run with its own metric-rows observer and nothing else: no trace, no stage
// tracking, no memory timeline; the rows still come (the topology row first, stage rows at the
// end), without stage fields in the memory rows it was given no StageObserver for.
TEST_CASE("Pipeline.Observers.AnEmbedderReplacesTheStandardOnes" * doctest::timeout(60)) {
  test::TempDir dir;
  Planned p = plan_table(dir);
  auto rows = std::make_shared<Rows>();
  Run run;
  run.observers = {std::make_shared<MetricRowsObserver>(
      [rows](MetricRow row) {
        std::lock_guard lock(rows->mutex);
        rows->rows.push_back(std::move(row));
      },
      std::chrono::milliseconds(0))};
  const RunSummary s = p.pipeline->run(run);
  CHECK(s.cells == 50u * 7u);
  CHECK(s.memory_timeline.empty());                            // no TimelineObserver
  for (const auto& n : s.nodes) CHECK(n.rss_peak_bytes == 0);  // no StageObserver
  const auto types = rows->types();
  CHECK(types.count("topology") == 1);
  CHECK(types.count("stage") == 1);
  std::lock_guard lock(rows->mutex);
  REQUIRE_FALSE(rows->rows.empty());
  CHECK(rows->rows.front().type == "topology");
  for (const auto& r : rows->rows) {
    if (r.type == "memory") CHECK(r.metadata_json.find("\"stage\"") == std::string::npos);
  }
  CHECK(std::filesystem::exists(dir / "out.csv"));
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {  // no trace, no metrics store
    INFO(e.path().string());
    CHECK(e.path().filename().string().find("trace") == std::string::npos);
    CHECK(e.path().extension() != ".sqlite");
  }
}

// The standard set, with progress: the timeline and the nodes' memory filled, and the progress
// figures complete at the end; an embedder's observer listed after them sees the same run.
TEST_CASE("Pipeline.Observers.StandardSetWithProgress" * doctest::timeout(60)) {
  test::TempDir dir;
  Planned p = plan_table(dir);
  auto progress = std::make_shared<ProgressObserver>();
  CHECK(progress->now().cells_total == 0);  // before the run
  Run run;
  run.band = {10, 30};
  run.observers.push_back(progress);
  std::uint64_t last_done = 0;
  run.observers.push_back(observe_tiles([&](const TileRequest&) { last_done = progress->now().cells_done; }));
  const RunSummary s = p.pipeline->run(run);
  CHECK_FALSE(s.memory_timeline.empty());
  bool some_rss = false;
  for (const auto& n : s.nodes) some_rss = some_rss || n.rss_peak_bytes > 0;
  CHECK(some_rss);
  const Progress done = progress->now();
  CHECK(done.cells_total == 20u * 7u);
  CHECK(done.cells_done == done.cells_total);
  CHECK(last_done == done.cells_total);  // listed before the callback: updated first
  CHECK(done.rows_written == s.rows_written);
}
