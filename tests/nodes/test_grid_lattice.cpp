// Grids on the sources' lattice (#28): gdalwarp's default grid follows its source's pixels; a
// model grid (cell centres on multiples of the resolution) is reproduced exactly; "align":
// "resolution" keeps whole multiples (-tap); "origin"; "like"; no row from geotransform noise;
// no -0.
#include <doctest/doctest.h>

#include <cmath>
#include <sstream>

#include "rasterflow/errors.hpp"
#include "rasterflow/graph.hpp"
#include "support/test_support.hpp"

using namespace rasterflow;

namespace {

constexpr double kRes = 2.8125;  // CanESM2's T42 longitude spacing: 128 columns

// A model grid: 128 x 32 cells centred on multiples of 2.8125 in longitude (edges at -1.40625 +
// k * 2.8125), rows from `north` down.
void write_model(const std::filesystem::path& path, double north = 45.0) {
  std::vector<double> v(128 * 32);
  for (std::size_t i = 0; i < v.size(); ++i)
    v[i] = static_cast<double>(i % 128) + 1000.0 * static_cast<double>(i / 128);
  test::write_raster(path, {.width = 128, .height = 32, .gt = {-kRes / 2, kRes, 0, north, 0, -kRes}, .type = "Int32"},
                     {v});
}

Pipeline pipeline_for(const test::TempDir& dir, const std::string& grid_json, const std::string& extra_nodes = "",
                      const std::string& merged = R"("v")") {
  const std::string graph = R"({"grid": )" + grid_json + R"(, "nodes": [
      {"id": "s", "type": "raster_source", "path": "model.tif"},)" +
                            extra_nodes + R"(
      {"id": "v", "type": "resample", "inputs": ["s"]},
      {"id": "m", "type": "merge", "inputs": [)" +
                            merged + R"(], "drop": "none"},
      {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})";
  test::write_text(dir / "graph.json", graph);
  Config config;
  PlanOptions options;
  options.output_dir = dir.path();
  return Pipeline(load_graph(dir / "graph.json", config), config, options);
}

// The CSV's first data row: x, y and value.
std::array<double, 3> first_row(const std::filesystem::path& csv) {
  std::istringstream in(test::read_text(csv));
  std::string line;
  std::getline(in, line);
  std::getline(in, line);
  std::array<double, 3> out{};
  std::istringstream fields(line);
  std::string f;
  for (double& x : out) {
    std::getline(fields, f, ',');
    x = std::stod(f);
  }
  return out;
}

}  // namespace

TEST_CASE("GridLattice.DefaultGridIsTheModelsOwnGrid") {
  test::TempDir dir;
  write_model(dir / "model.tif");
  Pipeline p = pipeline_for(dir, "{}");
  const Grid g = p.plan().grid;
  CHECK(g.width == 128);  // not 129: cell edges follow the source's pixels
  CHECK(g.height == 32);
  CHECK(g.x0 == -kRes / 2);
  CHECK(g.center_x(1) == kRes);  // cell centres on the model's longitudes
  p.run();
  const auto row = first_row(dir / "o.csv");
  CHECK(row[0] == 0.0);  // longitude 0 carries the value of longitude 0
  CHECK(row[2] == 0.0);
  // gdalwarp's default (no -tap) on the same resolution gives the same grid and values.
  const auto ref = test::gdalwarp_reference(dir / "model.tif", g, "near", "Int32");
  CHECK(ref[0] == 0.0);
  CHECK(ref[1] == 1.0);
}

TEST_CASE("GridLattice.AlignResolutionKeepsWholeMultiples") {
  test::TempDir dir;
  write_model(dir / "model.tif");
  const Grid g = pipeline_for(dir, R"({"align": "resolution"})").plan().grid;
  CHECK(g.width == 129);  // -tap: edges on multiples of 2.8125
  CHECK(g.x0 == -kRes);
  CHECK_THROWS_WITH_AS(pipeline_for(dir, R"({"align": "pixels"})"), doctest::Contains("field \"align\""), GraphError);
}

TEST_CASE("GridLattice.ExplicitOrigin") {
  test::TempDir dir;
  write_model(dir / "model.tif");
  const Grid g = pipeline_for(dir, R"({"origin": [0, 0], "resolution": 2.8125})").plan().grid;
  CHECK(g.x0 == -kRes);  // edges through 0: the source's -1.40625..358.59375 covers 129 cells
  CHECK(g.width == 129);
  CHECK(std::fmod(g.y0, kRes) == 0.0);
}

TEST_CASE("GridLattice.LikeASourceOrAFile") {
  test::TempDir dir;
  write_model(dir / "model.tif");
  // A coarser file on another lattice: its grid, whole.
  std::vector<double> v(20 * 10, 1.0);
  test::write_raster(dir / "target.tif", {.width = 20, .height = 10, .gt = {-7.3, 5.0, 0, 41.1, 0, -5.0}}, {v});
  const std::string coarse = R"(
      {"id": "c", "type": "raster_source", "path": "target.tif"},
      {"id": "vc", "type": "resample", "inputs": ["c"]},)";
  for (const std::string like : {"c", "target.tif"}) {
    CAPTURE(like);
    Pipeline p = pipeline_for(dir, R"({"like": ")" + like + R"("})", like == "c" ? coarse : "",
                              like == "c" ? R"("v", "vc")" : R"("v")");
    const Grid g = p.plan().grid;
    CHECK(g.x0 == -7.3);
    CHECK(g.y0 == 41.1);
    CHECK(g.res_x == 5.0);
    CHECK(g.width == 20);
    CHECK(g.height == 10);
  }
  CHECK_THROWS_WITH_AS(pipeline_for(dir, R"({"like": "nothing.tif"})"),
                       doctest::Contains("field \"like\": \"nothing.tif\" is neither a source id nor a raster"),
                       GraphError);
  CHECK_THROWS_WITH_AS(pipeline_for(dir, R"({"like": "target.tif", "resolution": 1})"),
                       doctest::Contains("field \"like\": takes the whole grid"), GraphError);
}

TEST_CASE("GridLattice.GeotransformNoiseAddsNoRowAndNoMinusZero") {
  test::TempDir dir;
  write_model(dir / "model.tif", 45.0000026);  // a few millionths of a degree above the lattice
  for (const std::string align : {"source", "resolution"}) {
    CAPTURE(align);
    const Grid g = pipeline_for(dir, R"({"align": ")" + align + R"("})").plan().grid;
    CHECK(g.height == 32);  // not 33: no all-nodata row
  }
  // A source whose west edge is -0.0000001: the grid's edge is 0, never -0, and so is the plan's.
  std::vector<double> v(4 * 4, 1.0);
  test::write_raster(dir / "model.tif", {.width = 4, .height = 4, .gt = {-1e-7, 1.0, 0, 4.0, 0, -1.0}}, {v});
  const Grid g = pipeline_for(dir, R"({"align": "resolution"})").plan().grid;
  CHECK(g.x0 == 0.0);
  CHECK_FALSE(std::signbit(g.x0));
  std::string out;
  CHECK(test::run_cli("plan " + (dir / "graph.json").string(), &out) == 0);
  CHECK(out.find("extent [0, 0, 4, 4]") != std::string::npos);
  CHECK(out.find("-0,") == std::string::npos);
  CHECK(out.find("align: resolution") != std::string::npos);
}
