// Curvilinear sources through geolocation arrays (#28): a NetCDF variable whose latitude and
// longitude are 2-D arrays (its CF `coordinates`), written by tests/data/make_curvilinear.py
// with python3-netcdf4, is placed by GDAL's geolocation transformer on the warper path. The
// default grid is gdalwarp -geoloc's, and the values are gdalwarp -geoloc -et 0's on the same
// grid, for every method rasterflow accepts on such a source.
#include <doctest/doctest.h>

#include <gdal_utils.h>

#include <cmath>
#include <sstream>

#include "rasterflow/graph.hpp"
#include "support/test_support.hpp"

using namespace rasterflow;

namespace {

void write_curvilinear(const test::TempDir& dir) {
  std::string out;
  const int rc = test::run_shell(
      "/usr/bin/python3 " RASTERFLOW_SOURCE_DIR "/tests/data/make_curvilinear.py " + (dir / "curv.nc").string(), &out);
  REQUIRE_MESSAGE(rc == 0, out);
}

std::string graph_json(const std::string& grid, const std::string& method) {
  return R"({"grid": )" + grid + R"(, "nodes": [
      {"id": "s", "type": "raster_source", "path": "curv.nc"},
      {"id": "v", "type": "resample", "inputs": ["s"], "method": ")" +
         method + R"("},
      {"id": "m", "type": "merge", "inputs": ["v"], "drop": "none"},
      {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})";
}

std::pair<Grid, std::vector<double>> run(const test::TempDir& dir, const std::string& grid, const std::string& method,
                                         int threads) {
  test::write_text(dir / "graph.json", graph_json(grid, method));
  Config config;
  PlanOptions options;
  options.output_dir = dir.path();
  options.tile_rows = 5;
  options.threads = threads;
  Pipeline pipeline(load_graph(dir / "graph.json", config), config, options);
  const Grid g = pipeline.plan().grid;
  pipeline.run();
  return {g, test::csv_to_grid(test::read_text(dir / "o.csv"), g)};
}

// Cells that differ (as Float32 values, NaN equal to NaN); the first one described.
std::size_t mismatches(const std::vector<double>& ours, const std::vector<double>& ref, std::string& first) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < ours.size(); ++i) {
    const bool same = std::isnan(ours[i])
                          ? std::isnan(ref[i])
                          : !std::isnan(ref[i]) && static_cast<float>(ours[i]) == static_cast<float>(ref[i]);
    if (!same && n++ == 0)
      first = "cell " + std::to_string(i) + ": rasterflow " + std::to_string(ours[i]) + ", gdalwarp -geoloc " +
              std::to_string(ref[i]);
  }
  return n;
}

std::size_t valid(const std::vector<double>& v) {
  std::size_t n = 0;
  for (const double x : v) n += std::isnan(x) ? 0 : 1;
  return n;
}

}  // namespace

TEST_CASE("Geolocation.Curvilinear.DefaultGridIsGdalwarpGeolocs" * doctest::timeout(120)) {
  test::TempDir dir;
  write_curvilinear(dir);
  // gdalwarp -geoloc without -te/-tr: its grid.
  GDALAllRegister();
  GDALDatasetH src = GDALOpen((dir / "curv.nc").c_str(), GA_ReadOnly);
  REQUIRE(src != nullptr);
  char* args[] = {const_cast<char*>("-of"), const_cast<char*>("MEM"), const_cast<char*>("-geoloc"),
                  const_cast<char*>("-et"), const_cast<char*>("0"),   nullptr};
  GDALWarpAppOptions* options = GDALWarpAppOptionsNew(args, nullptr);
  GDALDatasetH out = GDALWarp("", nullptr, 1, &src, options, nullptr);
  GDALWarpAppOptionsFree(options);
  REQUIRE(out != nullptr);
  double gt[6] = {};
  GDALGetGeoTransform(out, gt);
  const int width = GDALGetRasterXSize(out), height = GDALGetRasterYSize(out);
  GDALClose(out);
  GDALClose(src);
  const auto [g, values] = run(dir, "{}", "nearest", 2);
  CHECK(g.width == width);
  CHECK(g.height == height);
  CHECK(g.x0 == doctest::Approx(gt[0]).epsilon(1e-12));
  CHECK(g.y0 == doctest::Approx(gt[3]).epsilon(1e-12));
  CHECK(g.res_x == doctest::Approx(gt[1]).epsilon(1e-12));
  CHECK(g.res_y == doctest::Approx(-gt[5]).epsilon(1e-12));
  CHECK(valid(values) > 1000);
}

TEST_CASE("Geolocation.Curvilinear.ValuesEqualGdalwarpGeolocOnTheSameGrid" * doctest::timeout(200)) {
  test::TempDir dir;
  write_curvilinear(dir);
  // The default grid, a finer one in degrees, and a projected one (the transformer reprojects).
  const char* const grids[] = {"{}", R"({"resolution": 0.2, "extent": [12, 44, 34, 62]})",
                               R"({"crs": "EPSG:3857", "resolution": 40000})"};
  for (const char* grid : grids) {
    for (const char* method : {"nearest", "bilinear", "cubic"}) {
      for (const int threads : {1, 2}) {
        CAPTURE(grid);
        CAPTURE(method);
        CAPTURE(threads);
        const auto [g, ours] = run(dir, grid, method, threads);
        const auto ref = test::gdalwarp_reference(dir / "curv.nc", g, method, "Float32", 1, {"-geoloc"});
        std::string first;
        CHECK_MESSAGE(mismatches(ours, ref, first) == 0, first);
        CHECK(valid(ours) > 300);
      }
    }
  }
}

TEST_CASE("Geolocation.Curvilinear.PlanNamesTheArraysAndAreaMethodsAreRefused") {
  test::TempDir dir;
  write_curvilinear(dir);
  test::write_text(dir / "graph.json", graph_json("{}", "bilinear"));
  std::string out;
  REQUIRE(test::run_cli("plan " + (dir / "graph.json").string(), &out) == 0);
  CAPTURE(out);
  CHECK(out.find("placed by geolocation arrays") != std::string::npos);
  CHECK(out.find("SRC_METHOD=GEOLOC_ARRAY, as gdalwarp -geoloc") != std::string::npos);
  test::write_text(dir / "graph.json", graph_json("{}", "average"));
  CHECK(test::run_cli("run " + (dir / "graph.json").string() + " --output-dir " + dir.path().string(), &out) == 2);
  CHECK(out.find("node \"v\" (resample): option \"method\": average over") != std::string::npos);
  CHECK(out.find("use nearest, bilinear or cubic") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "o.csv"));
}
