#include <doctest/doctest.h>

#include <cmath>

#include "app/sample_data.hpp"
#include "rasterflow/errors.hpp"
#include "support/test_support.hpp"

using namespace rasterflow;

namespace {
// a: Float32 4x4 pixels of 1 degree over [0,4]x[0,4], values 1..16, one nodata pixel.
// b: Int16 2x2 pixels of 2 degrees over the same area, one nodata pixel.
void write_tiny_sources(const test::TempDir& dir) {
  test::RasterSpec a;
  a.width = 4;
  a.height = 4;
  a.gt = {0, 1, 0, 4, 0, -1};
  a.type = "Float32";
  a.nodata = -9999;
  std::vector<double> av(16);
  for (int i = 0; i < 16; ++i) av[static_cast<std::size_t>(i)] = i + 1;
  av[1] = -9999;
  test::write_raster(dir / "a.tif", a, {av});
  test::RasterSpec b;
  b.width = 2;
  b.height = 2;
  b.gt = {0, 2, 0, 4, 0, -2};
  b.type = "Int16";
  b.nodata = -1;
  test::write_raster(dir / "b.tif", b, {{10, 20, 30, -1}});
}

const char* const kTinyGraph = R"({
  "grid": { "resolution": 2 },
  "nodes": [
    { "id": "a_src", "type": "raster_source", "path": "a.tif" },
    { "id": "b_src", "type": "raster_source", "path": "b.tif" },
    { "id": "a", "type": "resample", "inputs": ["a_src"], "method": "average" },
    { "id": "b", "type": "resample", "inputs": ["b_src"], "method": "nearest" },
    { "id": "m", "type": "merge", "inputs": ["a", "b"] },
    { "id": "out", "type": "csv_sink", "inputs": ["m"], "path": "out.csv" }
  ]
})";

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

TEST_CASE("EndToEnd.Tiny.DropRules") {
  test::TempDir dir;
  write_tiny_sources(dir);
  std::string graph = kTinyGraph;
  graph.replace(graph.find("\"inputs\": [\"a\", \"b\"] }"), 22,
                "\"inputs\": [\"a\", \"b\"], \"drop\": \"any_nodata\", \"columns\": [\"temp\", \"code\"] }");
  test::run_graph_json(dir.path(), graph);
  CHECK(test::read_text(dir / "out.csv") ==
        "x,y,temp,code\n"
        "1,3,4,10\n"
        "3,3,5.5,20\n"
        "1,1,11.5,30\n");
}

TEST_CASE("EndToEnd.Tiny.NodataTextFromConfig") {
  test::TempDir dir;
  write_tiny_sources(dir);
  test::run_graph_json(dir.path(), kTinyGraph, {}, {"export.nodata=NA"});
  CHECK(test::read_text(dir / "out.csv").find("3,1,13.5,NA\n") != std::string::npos);
}

TEST_CASE("EndToEnd.Sample.IdenticalBytesForEveryTileHeightAndThreadCount" * doctest::timeout(240)) {
  test::TempDir dir;
  app::generate_sample_data(dir / "data", "small");
  std::string reference;
  for (const int threads : {1, 2}) {
    for (const std::int64_t rows : {1, 7, 64, 0}) {
      RunOptions options;
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
