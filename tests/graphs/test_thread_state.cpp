// The per-thread state of a resample node (its thread_local buffers and the read stack's) in
// `rasterflow plan`: priced per thread, for every thread (#27).
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include "rasterflow/graph.hpp"
#include "rasterflow/pipeline.hpp"
#include "support/test_support.hpp"

using namespace rasterflow;

TEST_CASE("ThreadState.PlanPricesResampleStateForEveryThread" * doctest::timeout(120)) {
  test::TempDir dir;
  // Two bands in DEFLATE tiles: the strip, the interleaved rows and the TIFF streams' buffers.
  const test::RasterSpec spec{.width = 512, .height = 64, .gt = {0.0, 0.01, 0.0, 1.0, 0.0, -0.01}, .bands = 2};
  test::write_raster(dir / "in.tif", spec, {std::vector<double>(512 * 64, 1.0)});
  test::write_text(dir / "graph.json", R"({"grid": {"resolution": 0.04}, "nodes": [
    {"id": "s", "type": "raster_source", "path": "in.tif", "band": "all"},
    {"id": "v", "type": "resample", "inputs": ["s"], "method": "average"},
    {"id": "m", "type": "merge", "inputs": ["v"]},
    {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})");
  const auto plan_of = [&](int threads) {
    Config config;
    config.set("engine.threads=" + std::to_string(threads));
    const Pipeline pipeline(load_graph(dir / "graph.json", config), config, PlanOptions{});
    return boost::json::parse(pipeline.plan().json()).as_object();
  };
  const auto two = plan_of(2), four = plan_of(4);
  const auto figure = [](const boost::json::object& plan, const char* key) {
    return boost::json::value_to<std::uint64_t>(plan.at("memory").as_object().at(key));
  };
  // At least the two strips of 2^18 doubles per band (the source's and the interleaved rows').
  const std::uint64_t state = figure(two, "thread_state");
  CHECK(state >= 2 * 2 * (std::uint64_t{1} << 18) * sizeof(double));
  CHECK(figure(four, "thread_state") == state);  // per thread
  // Every thread keeps it: two more threads, twice the state more in the thread buffers.
  CHECK(figure(four, "thread_buffers") - figure(two, "thread_buffers") == 2 * state);
  // The node's line shows it as its per-thread bytes.
  const auto& nodes = two.at("nodes").as_array();
  CHECK(boost::json::value_to<std::uint64_t>(nodes.at(1).as_object().at("bytes_per_thread")) == state);
}

namespace {
// `rasterflow plan`'s per-thread state (2 threads) of a graph reading `source` (written by the
// test) through a resample node with `resample_options`, into a CSV at `sink_path`.
std::uint64_t planned_state(const test::TempDir& dir, const test::RasterSpec& source,
                            const std::string& resample_options, const std::string& sink_path = "o.csv") {
  test::write_raster(dir / "in.tif", source, {std::vector<double>(source.width * source.height, 1.0)});
  test::write_text(dir / "graph.json", R"({"grid": {"resolution": 0.04}, "nodes": [
    {"id": "s", "type": "raster_source", "path": "in.tif"},
    {"id": "v", "type": "resample", "inputs": ["s"], "method": "average")" +
                                           resample_options + R"(},
    {"id": "m", "type": "merge", "inputs": ["v"]},
    {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": ")" +
                                           sink_path + R"("}]})");
  Config config;
  config.set("engine.threads=2");
  const Pipeline pipeline(load_graph(dir / "graph.json", config), config, PlanOptions{});
  const auto plan = boost::json::parse(pipeline.plan().json()).as_object();
  return boost::json::value_to<std::uint64_t>(plan.at("memory").as_object().at("thread_state"));
}

test::RasterSpec source_in_blocks(int block) {
  return {.width = 512,
          .height = 512,
          .gt = {0.0, 0.01, 0.0, 1.0, 0.0, -0.01},
          .type = "Float64",
          .creation_options = {"TILED=YES", "BLOCKXSIZE=" + std::to_string(block),
                               "BLOCKYSIZE=" + std::to_string(block), "COMPRESS=DEFLATE"}};
}
}  // namespace

TEST_CASE("ThreadState.PlanPricesEachThreadsDatasetHandles" * doctest::timeout(120)) {
  // Each thread reads through its own GDAL handle on the file, and libtiff keeps one compressed
  // block in it: a file in 512 x 512 blocks of doubles (2 MiB) costs each thread 1.5 MiB more
  // than the same file in 256 x 256 blocks (512 KiB).
  test::TempDir small_blocks, large_blocks;
  const std::uint64_t small = planned_state(small_blocks, source_in_blocks(256), "");
  const std::uint64_t large = planned_state(large_blocks, source_in_blocks(512), "");
  CHECK(large - small == 3 * (std::uint64_t{1} << 19));
  // On the warper path too (GDAL's warper reads through the thread's handle).
  test::TempDir warped_small, warped_large;
  const std::uint64_t w_small = planned_state(warped_small, source_in_blocks(256), R"(, "implementation": "warper")");
  const std::uint64_t w_large = planned_state(warped_large, source_in_blocks(512), R"(, "implementation": "warper")");
  CHECK(w_large - w_small == 3 * (std::uint64_t{1} << 19));
}

TEST_CASE("ThreadState.PlanPricesEachThreadsCompressionContext" * doctest::timeout(120)) {
  // A compressed CSV's pool keeps one compression context per thread that compressed a tile.
  test::TempDir plain, zstd, gzip;
  const std::uint64_t none = planned_state(plain, source_in_blocks(256), "", "o.csv");
  CHECK(planned_state(zstd, source_in_blocks(256), "", "o.csv.zst") - none >= std::uint64_t{1} << 20);
  CHECK(planned_state(gzip, source_in_blocks(256), "", "o.csv.gz") - none >= std::uint64_t{256} << 10);
}
