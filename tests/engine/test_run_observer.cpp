// An embedder's observers of a run (rasterflow/run_observer.hpp, Run::observers): called
// after the standard ones, for every node, write and tile, and at the end. Runs the test types
// of test_seams.cpp (test_constant, test_capture).
#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <vector>

#include "rasterflow/run_observer.hpp"
#include "support/test_support.hpp"

using namespace rasterflow;

namespace {

class Counting final : public RunObserver {
 public:
  void on_node_begin(std::size_t) override { ++begins; }
  void on_node_end(std::size_t, const TileRequest&, SteadyTime t0, SteadyTime t1, std::uint64_t) override {
    ++ends;
    if (t1 < t0) ++backwards;
  }
  void on_write(std::size_t, const TileRequest&, SteadyTime, SteadyTime) override { ++writes; }
  void on_tile_done(const TileRequest& tile) override {
    std::lock_guard lock(mutex);
    done.push_back(tile.seq);
  }
  void on_finish(RunSummary& summary) override {
    ++finishes;
    summary_tiles = summary.tiles;
  }
  std::atomic<int> begins{0}, ends{0}, writes{0}, finishes{0}, backwards{0};
  std::mutex mutex;
  std::vector<std::uint64_t> done;
  std::uint64_t summary_tiles = 0;
};

const char* kGraph = R"({"grid": {"resolution": 1, "extent": [0, 0, 5, 30]}, "nodes": [
    {"id": "values", "type": "test_constant", "width": 5, "height": 30},
    {"id": "capture", "type": "test_capture", "inputs": ["values"]}]})";

}  // namespace

TEST_CASE("RunObserver.AnEmbeddersObserversSeeEveryTile" * doctest::timeout(60)) {
  test::TempDir dir;
  auto counting = std::make_shared<Counting>();
  std::vector<std::uint64_t> seen;  // through observe_tiles, on the writer's thread
  PlanOptions options;
  options.tile_rows = 4;
  options.threads = 2;
  Run run;
  run.observers.push_back(counting);
  run.observers.push_back(observe_tiles([&seen](const TileRequest& t) { seen.push_back(t.seq); }));
  const RunSummary s = test::run_graph_json(dir.path(), kGraph, options, {"metrics.backend=none"}, std::move(run));
  REQUIRE(s.tiles == 8);
  CHECK(counting->finishes == 1);
  CHECK(counting->summary_tiles == 8);  // the summary as the runner made it
  CHECK(counting->ends == 2 * 8);       // the source and the sink's process, per tile
  CHECK(counting->begins == counting->ends);
  CHECK(counting->writes == 8);
  CHECK(counting->backwards == 0);
  std::lock_guard lock(counting->mutex);
  REQUIRE(counting->done.size() == 8);
  for (std::size_t i = 0; i < 8; ++i) CHECK(counting->done[i] == i);  // in tile order
  CHECK(seen == counting->done);
}
