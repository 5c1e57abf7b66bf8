#include <doctest/doctest.h>

#include <cmath>

#include "app/sample_data.hpp"
#include "rasterflow/errors.hpp"
#include "support/test_support.hpp"
#include "support/tiny_graph.hpp"

using namespace rasterflow;
using rasterflow::test::kTinyGraph;
using rasterflow::test::write_tiny_sources;

namespace {
std::string demo_graph(const std::string& drop = "all_nodata") {
  return R"({
  "grid": { "crs": "EPSG:4326", "resolution": 0.05 },
  "nodes": [
    { "id": "t_src", "type": "raster_source", "path": "data/temperature.tif" },
    { "id": "e_src", "type": "raster_source", "path": "data/elevation.tif" },
    { "id": "l_src", "type": "raster_source", "path": "data/landcover.tif" },
    { "id": "temperature", "type": "resample", "inputs": ["t_src"], "method": "average" },
    { "id": "elevation", "type": "resample", "inputs": ["e_src"], "method": "average" },
    { "id": "landcover", "type": "resample", "inputs": ["l_src"], "method": "nearest" },
    { "id": "m", "type": "merge", "inputs": ["temperature", "elevation", "landcover"], "drop": ")" +
         drop + R"(" },
    { "id": "out", "type": "csv_sink", "inputs": ["m"], "path": "out.csv" }
  ]
})";
}
}  // namespace

TEST_CASE("EndToEnd.Tiny.MatchesHandComputedCsv") {
  test::TempDir dir;
  write_tiny_sources(dir);
  const RunSummary s = test::run_graph_json(dir.path(), kTinyGraph);
  // a: averages of the 2x2 blocks, leaving out the nodata pixel: (1+5+6)/3, (3+4+7+8)/4, ...
  // b: its own pixels (same grid); its nodata cell is empty.
  CHECK(test::read_text(dir / "out.csv") ==
        "x,y,a,b\n"
        "1,3,4,10\n"
        "3,3,5.5,20\n"
        "1,1,11.5,30\n"
        "3,1,13.5,\n");
  CHECK(s.rows_written == 4);
  CHECK(s.cells == 4);
  CHECK_FALSE(std::filesystem::exists(dir / "out.csv.partial"));
}

TEST_CASE("EndToEnd.Tiny.NodataTextFromConfig") {
  test::TempDir dir;
  write_tiny_sources(dir);
  test::run_graph_json(dir.path(), kTinyGraph, {}, {"export.nodata=NA"});
  CHECK(test::read_text(dir / "out.csv").find("3,1,13.5,NA\n") != std::string::npos);
}

TEST_CASE("EndToEnd.Tiny.NodataTextFromCsvSinkOption") {
  // export.nodata became csv_sink's option nodata: the option writes what the key wrote, and
  // the key still loads, with a warning naming the option.
  test::TempDir dir;
  write_tiny_sources(dir);
  test::run_graph_json(dir.path(), kTinyGraph, {}, {"export.nodata=NA", "metrics.backend=none"});
  const std::string from_key = test::read_text(dir / "out.csv");
  std::string graph = kTinyGraph;
  graph.replace(graph.find("\"path\": \"out.csv\""), 17,
                "\"path\": \"out.csv\", \"nodata\": \"NA\", \"chunk_rows\": 1");
  test::run_graph_json(dir.path(), graph, {}, {"metrics.backend=none"});
  CHECK(test::read_text(dir / "out.csv") == from_key);
  CHECK(from_key.find("3,1,13.5,NA\n") != std::string::npos);
  std::string out;
  test::write_text(dir / "key.json", kTinyGraph);
  CHECK(test::run_cli("run " + (dir / "key.json").string() + " --output-dir " + dir.path().string() +
                          " --set export.nodata=NA --set merge.streaming_chunk_size=7 --set metrics.backend=none",
                      &out) == 0);
  CHECK(out.find("configuration key export.nodata is deprecated; use the csv_sink option \"nodata\"") !=
        std::string::npos);
  CHECK(out.find("configuration key merge.streaming_chunk_size is deprecated; use the csv_sink option "
                 "\"chunk_rows\"") != std::string::npos);
}

TEST_CASE("EndToEnd.Sample.IdenticalBytesForEveryTileHeightAndThreadCount" * doctest::timeout(240)) {
  test::TempDir dir;
  app::generate_sample_data(dir / "data", "small");
  std::string reference;
  for (const int threads : {1, 2}) {
    for (const std::int64_t rows : {1, 7, 64, 0}) {
      PlanOptions options;
      options.threads = threads;
      options.tile_rows = rows;
      const RunSummary s = test::run_graph_json(dir.path(), demo_graph(), options);
      const std::string csv = test::read_text(dir / "out.csv");
      CHECK(s.cells == 200u * 100u);
      if (reference.empty()) {
        reference = csv;
        CHECK(csv.rfind("x,y,temperature,elevation,landcover\n0.025,44.975,", 0) == 0);
      } else {
        CHECK_MESSAGE(csv == reference, "threads=" << threads << " tile_rows=" << rows);
      }
    }
  }
}

TEST_CASE("EndToEnd.Sample.FailureLeavesNoFileUnderFinalName") {
  test::TempDir dir;
  write_tiny_sources(dir);
  std::string graph = kTinyGraph;
  // A source file that exists when the graph is checked but is corrupt by the time it is read.
  test::run_graph_json(dir.path(), graph);
  std::filesystem::remove(dir / "out.csv");
  test::write_text(dir / "graph.json", graph);
  std::filesystem::resize_file(dir / "b.tif", 100);
  CHECK_THROWS_AS(test::run_graph_json(dir.path(), graph), Error);
  CHECK_FALSE(std::filesystem::exists(dir / "out.csv"));
  CHECK_FALSE(std::filesystem::exists(dir / "out.csv.partial"));
}
