// Int8 everywhere (#28): GDAL 3.6's signed bytes (Byte, PIXELTYPE=SIGNEDBYTE, as NetCDF byte
// variables read) on both resampling paths with every method, against gdalwarp on the same
// values stored as Int16 (gdalwarp 3.6 itself reads signed bytes as unsigned).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <sstream>

#include "rasterflow/graph.hpp"
#include "support/test_support.hpp"

using namespace rasterflow;

namespace {

constexpr std::int64_t kW = 40, kH = 30;

double signed_value(std::int64_t c, std::int64_t r) {
  if ((c * 5 + r * 3) % 17 == 0) return -128;                   // nodata
  return static_cast<double>(((c * 37 + r * 11) % 255) - 127);  // -127..127
}

void write_sources(const test::TempDir& dir) {
  std::vector<double> stored(kW * kH), values(kW * kH);
  for (std::int64_t r = 0; r < kH; ++r) {
    for (std::int64_t c = 0; c < kW; ++c) {
      const double v = signed_value(c, r);
      values[static_cast<std::size_t>(r * kW + c)] = v;
      stored[static_cast<std::size_t>(r * kW + c)] = v < 0 ? v + 256 : v;  // the byte as stored
    }
  }
  test::RasterSpec spec{.width = kW, .height = kH, .gt = {10.0, 0.1, 0, 50.0, 0, -0.1}, .type = "Byte", .nodata = -128};
  spec.creation_options.push_back("PIXELTYPE=SIGNEDBYTE");
  test::write_raster(dir / "int8.tif", spec, {stored});
  spec.type = "Int16";
  spec.creation_options.pop_back();
  test::write_raster(dir / "int16.tif", spec, {values});
}

std::vector<double> run(const test::TempDir& dir, const std::string& method, const std::string& impl,
                        const std::string& grid_json, Grid& grid) {
  const std::string graph = R"({"grid": )" + grid_json + R"(, "nodes": [
      {"id": "s", "type": "raster_source", "path": "int8.tif"},
      {"id": "v", "type": "resample", "inputs": ["s"], "method": ")" +
                            method + R"(", "implementation": ")" + impl + R"("},
      {"id": "m", "type": "merge", "inputs": ["v"], "drop": "none"},
      {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})";
  test::write_text(dir / "graph.json", graph);
  Config config;
  PlanOptions options;
  options.output_dir = dir.path();
  options.tile_rows = 4;
  Pipeline pipeline(load_graph(dir / "graph.json", config), config, options);
  grid = pipeline.plan().grid;
  pipeline.run();
  return test::csv_to_grid(test::read_text(dir / "o.csv"), grid);
}

}  // namespace

TEST_CASE("Int8.EveryMethodBothPathsAgreesWithGdalwarpOnTheSignedValues" * doctest::timeout(280)) {
  test::TempDir dir;
  write_sources(dir);
  struct Case {
    const char* grid;
    const char* impl;
  };
  const Case cases[] = {
      {R"({"resolution": 0.2, "align": "resolution"})", "fast"},    // 2 x 2 pixels per cell
      {R"({"resolution": 0.2, "align": "resolution"})", "warper"},  // the same grid through GDAL
      {R"({"resolution": 0.13, "align": "resolution"})", "auto"},   // not aligned: the warper
      {R"({"crs": "EPSG:3857", "resolution": 15000})", "auto"},     // reprojected: the warper
  };
  const char* const methods[] = {"nearest", "bilinear", "cubic", "average", "sum", "min",
                                 "max",     "median",   "mode",  "q1",      "q3",  "rms"};
  for (const auto& c : cases) {
    for (const char* method : methods) {
      const std::string m = method, impl = c.impl, grid_json = c.grid;
      if (impl == "fast" && (m == "bilinear" || m == "cubic")) continue;  // neighbour kernels: the warper
      CAPTURE(grid_json);
      CAPTURE(impl);
      CAPTURE(m);
      Grid g;
      const auto ours = run(dir, m, impl, grid_json, g);
      // bilinear and cubic: rasterflow's kernel scale (source pixel / cell over the whole grid),
      // given to gdalwarp too (see Resample.AgreesWithGdalwarp.EveryMethodOnNonIntegerRatio).
      const double pi = std::acos(-1.0), radius = 6378137.0;
      const auto mercator_y = [&](double lat) { return radius * std::log(std::tan(pi / 4 + lat * pi / 360)); };
      const bool projected = grid_json.find("3857") != std::string::npos;
      const double src_px = projected ? radius * 4.0 * pi / 180 / kW : 0.1;
      const double src_py = projected ? (mercator_y(50.0) - mercator_y(47.0)) / kH : 0.1;
      char xs[64], ys[64];
      std::snprintf(xs, sizeof xs, "XSCALE=%.17g", src_px / g.res_x);
      std::snprintf(ys, sizeof ys, "YSCALE=%.17g", src_py / g.res_y);
      const bool kernel = m == "bilinear" || m == "cubic";
      const auto ref = test::gdalwarp_reference(
          dir / "int16.tif", g, m == "median" ? "med" : m, "Float64", 1,
          kernel ? std::vector<std::string>{"-wo", xs, "-wo", ys} : std::vector<std::string>{});
      std::size_t mismatches = 0, negative = 0;
      std::string first;
      for (std::size_t i = 0; i < ours.size(); ++i) {
        const bool same = std::isnan(ours[i]) ? std::isnan(ref[i])
                                              : !std::isnan(ref[i]) && std::fabs(ours[i] - ref[i]) <=
                                                                           1e-9 * std::max(1.0, std::fabs(ref[i]));
        if (!same && mismatches++ == 0)
          first = "cell " + std::to_string(i) + ": rasterflow " + std::to_string(ours[i]) + ", gdalwarp " +
                  std::to_string(ref[i]);
        if (ours[i] < 0) ++negative;
      }
      CHECK_MESSAGE(mismatches == 0, first);
      if (m != "rms") CHECK(negative > 0);  // signed values, not bytes read as 0..255 (rms is never negative)
    }
  }
}
