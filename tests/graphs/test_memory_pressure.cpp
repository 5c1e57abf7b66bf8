#include <doctest/doctest.h>

#include <cstring>
#include <future>
#include <thread>

#include "app/sample_data.hpp"
#include "rasterflow/config.hpp"
#include "rasterflow/errors.hpp"
#include "rasterflow/graph.hpp"
#include "rasterflow/memory.hpp"
#include "rasterflow/pipeline.hpp"

#include <boost/json.hpp>
#include "support/test_support.hpp"

using namespace rasterflow;

namespace {
std::string sample_graph(const std::string& resolution) {
  return R"({
  "grid": { "crs": "EPSG:4326", "resolution": )" +
         resolution + R"( },
  "nodes": [
    { "id": "t_src", "type": "raster_source", "path": "data/temperature.tif" },
    { "id": "e_src", "type": "raster_source", "path": "data/elevation.tif" },
    { "id": "l_src", "type": "raster_source", "path": "data/landcover.tif" },
    { "id": "temperature", "type": "resample", "inputs": ["t_src"], "method": "average" },
    { "id": "elevation", "type": "resample", "inputs": ["e_src"], "method": "max" },
    { "id": "landcover", "type": "resample", "inputs": ["l_src"], "method": "mode" },
    { "id": "m", "type": "merge", "inputs": ["temperature", "elevation", "landcover"] },
    { "id": "out", "type": "csv_sink", "inputs": ["m"], "path": "out.csv" }
  ]
})";
}

// Memory that the process really holds (pages touched), so RSS sees it.
struct Ballast {
  std::unique_ptr<char[]> bytes;
  void hold(std::uint64_t n) {
    bytes.reset();
    if (n == 0) return;
    bytes = std::make_unique<char[]>(n);
    std::memset(bytes.get(), 1, n);
  }
};

bool has_decrease(const RunSummary& s, const std::string& setting) {
  for (const auto& e : s.throttle_events) {
    if (e.setting == setting && e.value < e.previous) return true;
  }
  return false;
}
}  // namespace

TEST_CASE("Pressure.Ballast.ThrottlesAndKeepsTheBytes" * doctest::timeout(240)) {
  test::TempDir dir;
  app::generate_sample_data(dir / "data", "small");
  // Unpressured reference.
  test::run_graph_json(dir.path(), sample_graph("0.01"), {}, {"merge.chunk_size=10"});
  const std::string reference = test::read_text(dir / "out.csv");

  // A limit just above what the process uses now; ballast pushes RSS past warning, then past
  // critical, and is freed a little later.
  SystemMemorySource memory;
  const std::uint64_t rss = memory.sample().process_rss;
  const std::uint64_t limit = rss + (600ull << 20);
  Ballast ballast;
  std::future<void> release;
  int written = 0;
  Run run;
  run.observers.push_back(observe_tiles([&](const TileRequest&) {
    ++written;
    if (written == 3) {
      ballast.hold(static_cast<std::uint64_t>(0.86 * static_cast<double>(limit)) - memory.sample().process_rss +
                   (ballast.bytes ? 0 : 0));
    } else if (written == 8) {
      const std::uint64_t now = memory.sample().process_rss;
      const auto target = static_cast<std::uint64_t>(0.96 * static_cast<double>(limit));
      Ballast more;
      more.hold(target > now ? target - now : 0);
      release = std::async(std::launch::async, [&ballast, extra = std::move(more)]() mutable {
        std::this_thread::sleep_for(std::chrono::milliseconds(400));
        extra.hold(0);
        ballast.hold(0);
      });
    }
  }));
  const RunSummary s = test::run_graph_json(dir.path(), sample_graph("0.01"), {},
                                            {"merge.chunk_size=10", "memory.limit=" + std::to_string(limit),
                                             "memory.sample_interval_ms=10", "memory.critical_pause_s=20"},
                                            std::move(run));
  if (release.valid()) release.wait();
  CHECK(s.cells == 1000u * 500u);
  CHECK(has_decrease(s, "window_size"));
  CHECK(has_decrease(s, "chunk_size") == false);  // already at its floor (10 rows)
  CHECK(has_decrease(s, "tiles_in_flight"));
  CHECK(has_decrease(s, "gdal_cache_bytes"));
  bool critical = false, recovered = false;
  for (const auto& e : s.throttle_events) {
    critical = critical || (e.level == "critical" && e.setting == "window_size" && e.value == 256);
    recovered = recovered || (e.level == "normal" && e.setting == "window_size" && e.value == 2048);
  }
  CHECK(critical);
  CHECK(recovered);
  CHECK(test::read_text(dir / "out.csv") == reference);
}

TEST_CASE("Pressure.Ballast.ChunkSizeHalvesAtWarning" * doctest::timeout(120)) {
  test::TempDir dir;
  app::generate_sample_data(dir / "data", "small");
  test::run_graph_json(dir.path(), sample_graph("0.01"));
  const std::string reference = test::read_text(dir / "out.csv");
  SystemMemorySource memory;
  const std::uint64_t limit = memory.sample().process_rss + (400ull << 20);
  Ballast ballast;
  Run run;
  int written = 0;
  run.observers.push_back(observe_tiles([&](const TileRequest&) {
    if (++written == 1)
      ballast.hold(static_cast<std::uint64_t>(0.85 * static_cast<double>(limit)) - memory.sample().process_rss);
  }));
  const RunSummary s =
      test::run_graph_json(dir.path(), sample_graph("0.01"), {},
                           {"memory.limit=" + std::to_string(limit), "memory.sample_interval_ms=10"}, std::move(run));
  CHECK(has_decrease(s, "chunk_size"));
  CHECK(has_decrease(s, "window_size"));
  for (const auto& e : s.throttle_events) {
    if (e.setting == "chunk_size" && e.level == "warning") CHECK(e.value == 2500);
    if (e.setting == "window_size" && e.level == "warning") CHECK(e.value == 1024);
  }
  CHECK(test::read_text(dir / "out.csv") == reference);
}

// No crawling (issue #33): a limit below what the run really needs (ballast holding 97% of it
// from the second tile on) puts it at critical pressure with nothing left to shed; it stops
// within the bound (memory.critical_pause_s) as a signal would: MemoryTooSmall (exit 75 from
// the command line), the checkpoint and partial output kept, the measured need and an sbatch
// line in the message; resumed with the memory back, the bytes are those of a run never stopped.
TEST_CASE("Pressure.CrawlAtTheLimit.StopsWithinTheBoundKeepingTheCheckpoint" * doctest::timeout(180)) {
  test::TempDir dir;
  app::generate_sample_data(dir / "data", "small");
  test::run_graph_json(dir.path(), sample_graph("0.01"), {}, {"merge.chunk_size=10"});
  const std::string reference = test::read_text(dir / "out.csv");
  std::filesystem::rename(dir / "out.csv", dir / "reference.csv");
  SystemMemorySource memory;
  const std::uint64_t limit = memory.sample().process_rss + (300ull << 20);
  const std::vector<std::string> sets = {"merge.chunk_size=10", "memory.limit=" + std::to_string(limit),
                                         "memory.sample_interval_ms=10", "memory.critical_pause_s=2",
                                         "checkpoint.interval_s=0.01"};
  Ballast ballast;
  PlanOptions options;
  Run run;
  run.checkpoint = true;
  int written = 0;
  std::chrono::steady_clock::time_point held_at;
  run.observers.push_back(observe_tiles([&](const TileRequest&) {
    if (++written != 2) return;
    held_at = std::chrono::steady_clock::now();  // pressure rises while the ballast is touched
    ballast.hold(static_cast<std::uint64_t>(0.97 * static_cast<double>(limit)) - memory.sample().process_rss);
  }));
  test::write_text(dir / "graph.json", sample_graph("0.01"));
  Config config;
  for (const auto& s : sets) config.set(s);
  const GraphSpec graph = load_graph(dir / "graph.json", config);
  options.output_dir = dir.path();
  {
    Pipeline pipeline(graph, config, options);
    REQUIRE_FALSE(pipeline.find_checkpoint({}, false).has_value());
    try {
      pipeline.run(run);
      FAIL("the run should have stopped");
    } catch (const MemoryTooSmall& e) {
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - held_at).count();
      const std::string msg = e.what();
      INFO(msg);
      CHECK(seconds >= 2.0);
      CHECK(seconds < 2.0 + 8.0);  // the bound, plus a loaded machine's sampling and the tiles in flight
      CHECK(msg.find("memory limit too small: critical pressure") != std::string::npos);
      CHECK(msg.find("lasted 2 s with nothing left to shed") != std::string::npos);
      CHECK(msg.find("#SBATCH --mem=") != std::string::npos);
      CHECK(msg.find("the checkpoint") != std::string::npos);
    }
  }
  ballast.hold(0);
  CHECK(kExitMemoryTooSmall == 75);
  REQUIRE(std::filesystem::exists(dir / "out.csv.checkpoint"));
  REQUIRE(std::filesystem::exists(dir / "out.csv.partial"));
  CHECK_FALSE(std::filesystem::exists(dir / "out.csv"));
  // Resumed (the memory back): the same bytes as a run never stopped.
  Pipeline resumed(graph, config, options);
  Run again;
  again.resume = resumed.find_checkpoint({}, true);
  REQUIRE(again.resume.has_value());
  resumed.run(std::move(again));
  CHECK(test::read_text(dir / "out.csv") == reference);
}

TEST_CASE("Modes.StreamingAndInMemory.IdenticalBytes" * doctest::timeout(120)) {
  test::TempDir dir;
  app::generate_sample_data(dir / "data", "small");
  const RunSummary streamed = test::run_graph_json(dir.path(), sample_graph("0.02"));
  const std::string a = test::read_text(dir / "out.csv");
  const RunSummary held = test::run_graph_json(dir.path(), sample_graph("0.02"), {}, {"merge.enable_streaming=false"});
  CHECK(streamed.streaming);
  CHECK_FALSE(held.streaming);
  CHECK(test::read_text(dir / "out.csv") == a);
  CHECK(held.rows_written == streamed.rows_written);
}

TEST_CASE("Modes.InMemory.RefusedWhenTheGridDoesNotFit") {
  test::TempDir dir;
  app::generate_sample_data(dir / "data", "small");
  // 10000 x 5000 cells: about 650 MB of merged grid against a 256 MiB limit.
  CHECK_THROWS_WITH_AS(test::run_graph_json(dir.path(), sample_graph("0.001"), {},
                                            {"merge.enable_streaming=false", "memory.limit=256MiB"}),
                       doctest::Contains("would hold the whole merged grid"), ConfigError);
}

TEST_CASE("Budget.TilesAreSplitToFitAndTooSmallLimitsFailEarly" * doctest::timeout(120)) {
  test::TempDir dir;
  app::generate_sample_data(dir / "data", "small");
  test::run_graph_json(dir.path(), sample_graph("0.005"));
  const std::string reference = test::read_text(dir / "out.csv");
  SystemMemorySource memory;
  // A limit whose tile budget is a few MB: the default tiles do not fit and are split.
  const std::uint64_t rss = memory.sample().process_rss;
  const std::uint64_t limit = static_cast<std::uint64_t>((static_cast<double>(rss) + (80 << 20)) / 0.8);
  const RunSummary s =
      test::run_graph_json(dir.path(), sample_graph("0.005"), {}, {"memory.limit=" + std::to_string(limit)});
  CHECK(s.tile_budget > 0);
  CHECK(s.peak_tile_bytes <= s.tile_budget);
  CHECK(test::read_text(dir / "out.csv") == reference);
  // A limit below what the process already holds: refused before running, saying how much.
  CHECK_THROWS_WITH_AS(test::run_graph_json(dir.path(), sample_graph("0.005"), {}, {"memory.limit=16MiB"}),
                       doctest::Contains("is needed"), ConfigError);
}

namespace {
// The process holds nothing but what the pipeline reserves: exact budgets.
class EmptyProcess final : public MemorySource {
 public:
  MemorySample sample() override {
    MemorySample s;
    s.system_total = 64ull << 30;
    s.system_available = 60ull << 30;
    s.system_used = 4ull << 30;
    return s;
  }
  std::uint64_t auto_limit() override { return 64ull << 30; }
};

std::uint64_t plan_figure(const std::filesystem::path& dir, const std::string& graph_json,
                          const std::vector<std::string>& sets, const char* key) {
  test::write_text(dir / "graph.json", graph_json);
  Config config;
  for (const auto& s : sets) config.set(s);
  PlanOptions options;
  options.memory_source = std::make_shared<EmptyProcess>();
  const Pipeline pipeline(load_graph(dir / "graph.json", config), config, options);
  const auto plan = boost::json::parse(pipeline.plan().json()).as_object();
  return static_cast<std::uint64_t>(boost::json::value_to<double>(plan.at("memory").as_object().at(key)));
}
// Writes dir/wide.tif from `spec` (values i % modulus * step) and returns the graph that
// averages it onto `resolution` into o.csv; runs it once with 2 threads into `reference`.
std::string wide_average_graph(const test::TempDir& dir, const test::RasterSpec& spec, int modulus, double step,
                               const std::string& resolution, std::string* reference) {
  std::vector<double> values(static_cast<std::size_t>(spec.width * spec.height));
  for (std::size_t i = 0; i < values.size(); ++i)
    values[i] = static_cast<double>(i % static_cast<std::size_t>(modulus)) * step;
  test::write_raster(dir / "wide.tif", spec, {values});
  const std::string graph = R"({"grid": {"resolution": )" + resolution + R"(}, "nodes": [
    {"id": "s", "type": "raster_source", "path": "wide.tif"},
    {"id": "v", "type": "resample", "inputs": ["s"], "method": "average"},
    {"id": "m", "type": "merge", "inputs": ["v"]},
    {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})";
  test::run_graph_json(dir.path(), graph, {}, {"engine.threads=2"});
  *reference = test::read_text(dir / "o.csv");
  return graph;
}

}  // namespace

TEST_CASE("Budget.DecodedBlockRowsGivenUpWhenTheyDoNotFit" * doctest::timeout(120)) {
  test::TempDir dir;
  // 4096 pixels wide in 16 x 16 blocks: a row of blocks is 4096 * 16 * 4 bytes; the highest row
  // and one behind it per thread are held.
  test::RasterSpec spec{.width = 4096, .height = 40, .gt = {0.0, 0.01, 0.0, 1.0, 0.0, -0.01}};
  std::string reference;
  const std::string graph = wide_average_graph(dir, spec, 1000, 0.5, "0.01", &reference);
  const std::uint64_t held = 3 * 4096 * 16 * 4;
  const std::vector<std::string> two = {"engine.threads=2"};
  const std::uint64_t buffers =
      plan_figure(dir.path(), graph, two, "thread_buffers") + plan_figure(dir.path(), graph, two, "decoded_block_rows");
  CHECK(plan_figure(dir.path(), graph, two, "decoded_block_rows") == held);
  const std::uint64_t cache = plan_figure(dir.path(), graph, two, "gdal_cache");
  const auto row = static_cast<std::uint64_t>(plan_figure(dir.path(), graph, two, "bytes_per_cell") * 4096);
  // A limit that leaves 1.5 grid rows for tiles while two of the block rows are held (the step
  // before giving them up, lean_block_rows): they are given up (the buffers shrink by exactly
  // them), and the run still writes the same bytes.
  const auto limit = static_cast<std::uint64_t>(static_cast<double>(cache + buffers - held / 3 + row * 3 / 2) / 0.8);
  const std::vector<std::string> tight = {"engine.threads=2", "memory.limit=" + std::to_string(limit)};
  CHECK(plan_figure(dir.path(), graph, tight, "decoded_block_rows") == 0);
  CHECK(plan_figure(dir.path(), graph, tight, "thread_buffers") == buffers - held);
  // Blocks now churn through GDAL's cache, which then costs more than its size: it is counted
  // 1.5 times, and made smaller than before (8 MiB) so that two grid rows are left for tiles.
  const std::uint64_t churned = plan_figure(dir.path(), graph, tight, "gdal_cache");
  const std::uint64_t budget = plan_figure(dir.path(), graph, tight, "tile_budget");
  CHECK(churned < cache);
  CHECK(churned >= std::uint64_t{4} << 20);
  CHECK(static_cast<double>(budget) + 1.5 * static_cast<double>(churned) + static_cast<double>(buffers - held) ==
        doctest::Approx(0.8 * static_cast<double>(limit)).epsilon(1e-6));
  CHECK(budget + 1024 >= 2 * row);
  PlanOptions options;
  options.memory_source = std::make_shared<EmptyProcess>();
  test::run_graph_json(dir.path(), graph, options, tight);
  CHECK(test::read_text(dir / "o.csv") == reference);
  // With room for them, they are kept.
  const std::vector<std::string> roomy = {"engine.threads=2", "memory.limit=" + std::to_string(limit + 4 * row)};
  CHECK(plan_figure(dir.path(), graph, roomy, "decoded_block_rows") == held);
}

TEST_CASE("Budget.DecodingStepsDownTheLadder" * doctest::timeout(180)) {
  test::TempDir dir;
  // 8192 pixels of Float64 in 256 x 256 DEFLATE tiles. Unlimited, three whole rows of blocks
  // are held (the fastest; one and one behind it per thread). Each limit that leaves 1.5 grid
  // rows beside what the step before held takes one step down the ladder (two rows, 32-row
  // streams, 16-row streams, zlib's), each holding less, and the last gives the rows up; every
  // run writes the same bytes.
  test::RasterSpec spec{.width = 8192,
                        .height = 300,
                        .gt = {0.0, 0.04, 0.0, 12.0, 0.0, -0.04},
                        .type = "Float64",
                        .creation_options = {"TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256", "COMPRESS=DEFLATE"}};
  std::string reference;
  const std::string graph = wide_average_graph(dir, spec, 1013, 0.25, "0.16", &reference);
  const std::vector<std::string> two = {"engine.threads=2"};
  std::uint64_t held = plan_figure(dir.path(), graph, two, "decoded_block_rows");
  CHECK(held == 3 * 8192 * 256 * 8);
  const std::uint64_t buffers = plan_figure(dir.path(), graph, two, "thread_buffers");
  const std::uint64_t cache = plan_figure(dir.path(), graph, two, "gdal_cache");
  const auto row = static_cast<std::uint64_t>(plan_figure(dir.path(), graph, two, "bytes_per_cell") * 2048);
  PlanOptions options;
  options.memory_source = std::make_shared<EmptyProcess>();
  for (int step = 1; step <= 5; ++step) {
    CAPTURE(step);
    const auto limit = static_cast<std::uint64_t>(static_cast<double>(cache + buffers + held + row * 3 / 2) / 0.8);
    const std::vector<std::string> tight = {"engine.threads=2", "memory.limit=" + std::to_string(limit)};
    const std::uint64_t now = plan_figure(dir.path(), graph, tight, "decoded_block_rows");
    CHECK(now < held);
    if (step < 5) {
      CHECK(now > 0);
    } else {
      CHECK(now == 0);  // read through GDAL's cache
    }
    test::run_graph_json(dir.path(), graph, options, tight);
    CHECK(test::read_text(dir / "o.csv") == reference);
    held = now;
  }
}

TEST_CASE("Budget.TightBudgetsStillFeedEveryThread" * doctest::timeout(120)) {
  // Room for five grid rows of tiles (as planned; measured tiles hold less): they are split until
  // each of the two threads can have one within the budget, not just until one fits (which left
  // the other thread idle on large under 128 MiB: 31 s against 21 s), and the bytes are the same.
  test::TempDir dir;
  test::RasterSpec spec{.width = 4096, .height = 200, .gt = {0.0, 0.01, 0.0, 2.0, 0.0, -0.01}};
  std::string reference;
  const std::string graph = wide_average_graph(dir, spec, 997, 0.5, "0.01", &reference);
  const std::vector<std::string> two = {"engine.threads=2"};
  const std::uint64_t buffers =
      plan_figure(dir.path(), graph, two, "thread_buffers") + plan_figure(dir.path(), graph, two, "decoded_block_rows");
  const std::uint64_t cache = plan_figure(dir.path(), graph, two, "gdal_cache");
  const auto row = static_cast<std::uint64_t>(plan_figure(dir.path(), graph, two, "bytes_per_cell") * 4096);
  const auto limit = static_cast<std::uint64_t>(static_cast<double>(cache + buffers + row * 5) / 0.8);
  PlanOptions options;
  options.memory_source = std::make_shared<EmptyProcess>();
  const RunSummary s =
      test::run_graph_json(dir.path(), graph, options, {"engine.threads=2", "memory.limit=" + std::to_string(limit)});
  CHECK(s.tile_budget >= 5 * row * 99 / 100);
  CHECK(s.tile_budget < 6 * row);
  CHECK(s.max_tiles_in_flight_seen >= 3);  // split only until one fits: 1 or 2
  CHECK(s.peak_tile_bytes <= s.tile_budget);
  CHECK(test::read_text(dir / "o.csv") == reference);
}
