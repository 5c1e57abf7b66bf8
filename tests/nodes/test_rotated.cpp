// Rotated and sheared geotransforms (issue #29): the footprint from all four corners, so the
// default grid covers every pixel as gdalwarp's does, and the kernel scale of bilinear/cubic
// from the geotransform's full affine.
#include <doctest/doctest.h>

#include <cmath>
#include <sstream>

#include <gdal.h>

#include "rasterflow/graph.hpp"
#include "support/test_support.hpp"

using namespace rasterflow;

namespace {

constexpr int kW = 30, kH = 20;

std::vector<double> smooth() {
  std::vector<double> v(static_cast<std::size_t>(kW * kH));
  for (int r = 0; r < kH; ++r) {
    for (int c = 0; c < kW; ++c) v[static_cast<std::size_t>(r * kW + c)] = 50 + 20 * std::sin(0.4 * c) + 3.0 * r;
  }
  return v;
}

std::vector<double> csv_values(const std::string& csv, const Grid& g) {
  std::vector<double> out(static_cast<std::size_t>(g.cells()), std::nan(""));
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string xs, ys, vs;
    std::getline(f, xs, ',');
    std::getline(f, ys, ',');
    std::getline(f, vs, ',');
    const auto col = static_cast<std::int64_t>(std::floor((std::stod(xs) - g.x0) / g.res_x));
    const auto row = static_cast<std::int64_t>(std::floor((g.y0 - std::stod(ys)) / g.res_y));
    if (!vs.empty()) out[static_cast<std::size_t>(row * g.width + col)] = std::stod(vs);
  }
  return out;
}

// The source's default grid (no extent, no resolution: as gdalwarp without -te/-tr) and its values.
std::pair<Grid, std::vector<double>> run_default_grid(const test::TempDir& dir, const std::string& method) {
  test::write_text(dir / "graph.json", R"({"nodes": [
      {"id": "s", "type": "raster_source", "path": "src.tif"},
      {"id": "v", "type": "resample", "inputs": ["s"], "method": ")" +
                                           method + R"("},
      {"id": "m", "type": "merge", "inputs": ["v"], "drop": "none"},
      {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})");
  Config config;
  PlanOptions options;
  options.output_dir = dir.path();
  options.tile_rows = 1000;
  Pipeline pipeline(load_graph(dir / "graph.json", config), config, options);
  const Grid grid = pipeline.plan().grid;
  pipeline.run();
  return {grid, csv_values(test::read_text(dir / "o.csv"), grid)};
}

void check_against_gdalwarp(const GeoTransform& gt) {
  test::TempDir dir;
  test::RasterSpec spec{.width = kW, .height = kH, .gt = gt, .type = "Float32", .nodata = -999.0};
  test::write_raster(dir / "src.tif", spec, {smooth()});
  for (const std::string method : {"nearest", "bilinear", "cubic", "average"}) {
    CAPTURE(method);
    const auto [grid, ours] = run_default_grid(dir, method);
    // Every corner of the source lies inside the grid (two opposite corners miss the others).
    const Extent e = grid.extent();
    for (const auto& [px, py] : {std::pair{0, 0}, std::pair{kW, 0}, std::pair{0, kH}, std::pair{kW, kH}}) {
      const double x = gt[0] + px * gt[1] + py * gt[2], y = gt[3] + px * gt[4] + py * gt[5];
      CAPTURE(x);
      CAPTURE(y);
      CHECK(x >= e.xmin - 1e-9);
      CHECK(x <= e.xmax + 1e-9);
      CHECK(y >= e.ymin - 1e-9);
      CHECK(y <= e.ymax + 1e-9);
    }
    // gdalwarp with the kernel scale rasterflow fixes for the whole grid (docs/how-it-runs.md):
    // cells per source pixel along the source's axes.
    char xs[64], ys[64];
    std::snprintf(xs, sizeof xs, "XSCALE=%.17g", std::hypot(gt[1] / grid.res_x, gt[4] / grid.res_y));
    std::snprintf(ys, sizeof ys, "YSCALE=%.17g", std::hypot(gt[2] / grid.res_x, gt[5] / grid.res_y));
    const auto ref = test::gdalwarp_reference(dir / "src.tif", grid, method, "Float32", 1, {"-wo", xs, "-wo", ys});
    std::size_t valid = 0, mismatches = 0;
    std::string first;
    for (std::size_t i = 0; i < ours.size(); ++i) {
      const bool same = std::isnan(ours[i])
                            ? std::isnan(ref[i])
                            : !std::isnan(ref[i]) && static_cast<float>(ours[i]) == static_cast<float>(ref[i]);
      if (!std::isnan(ref[i])) ++valid;
      if (!same && mismatches++ == 0) {
        first = "cell " + std::to_string(i) + ": " + std::to_string(ours[i]) + " against " + std::to_string(ref[i]);
      }
    }
    CHECK(valid > static_cast<std::size_t>(kW * kH) / 4);
    CHECK_MESSAGE(mismatches == 0, first);
  }
}

}  // namespace

TEST_CASE("Rotated.DefaultGridCoversEveryCornerAndEqualsGdalwarp" * doctest::timeout(120)) {
  const double a = 30.0 * M_PI / 180.0, p = 0.1;
  check_against_gdalwarp({10.0, p * std::cos(a), p * std::sin(a), 50.0, p * std::sin(a), -p * std::cos(a)});
}

TEST_CASE("Rotated.ShearedDefaultGridCoversEveryCornerAndEqualsGdalwarp" * doctest::timeout(120)) {
  check_against_gdalwarp({10.0, 0.1, 0.03, 50.0, 0.0, -0.1});
}
