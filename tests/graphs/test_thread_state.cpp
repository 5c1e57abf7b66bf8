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
