// The warper path with masks on periodic and Int8 sources (#28): a source's mask of the whole
// dataset is read from the source itself by the warper's chunk processor, its columns modulo the
// width when the source is periodic, so longitude wrap and Int8 no longer refuse it. Periodic:
// compared with gdalwarp on the source made periodic (three copies side by side, mask too).
// Int8: compared with the same values stored as Int16 with the same mask, on the same path.
// Grids finer than the source, so that bilinear's kernel is not widened (whose scale gdalwarp
// takes from each chunk: docs/how-it-runs.md).
#include <doctest/doctest.h>

#include <gdal.h>

#include <cmath>
#include <sstream>

#include "rasterflow/graph.hpp"
#include "support/test_support.hpp"

using namespace rasterflow;

namespace {

constexpr std::int64_t kW = 72, kH = 36;  // 5 degrees, global

bool masked(std::int64_t c, std::int64_t r) { return (c * 5 + r * 7) % 11 == 0; }

// `copies` periods side by side of a global source starting at 0 (or a regional one at 10E),
// with a mask of the whole dataset (0: masked) when `mask`.
void write_source(const std::filesystem::path& path, const std::string& type, int copies, bool global) {
  std::vector<double> v(static_cast<std::size_t>(kW * copies * kH));
  for (std::int64_t r = 0; r < kH; ++r)
    for (std::int64_t c = 0; c < kW * copies; ++c) {
      const double value = static_cast<double>(((c % kW) * 3 + r * 5) % 200) - 100.0;  // -100..99
      v[static_cast<std::size_t>(r * kW * copies + c)] = type == "Byte" && value < 0 ? value + 256 : value;
    }
  test::RasterSpec spec{.width = kW * copies,
                        .height = kH,
                        .gt = {global ? -(copies - 1) / 2 * 360.0 : 10.0, global ? 5.0 : 0.1, 0, global ? 90.0 : 50.0,
                               0, global ? -5.0 : -0.1},
                        .type = type};
  if (type == "Byte") spec.creation_options.push_back("PIXELTYPE=SIGNEDBYTE");
  test::write_raster(path, spec, {v});
  GDALDatasetH ds = GDALOpen(path.c_str(), GA_Update);
  REQUIRE(ds != nullptr);
  REQUIRE(GDALCreateDatasetMaskBand(ds, GMF_PER_DATASET) == CE_None);
  GDALRasterBandH mask = GDALGetMaskBand(GDALGetRasterBand(ds, 1));
  std::vector<std::uint8_t> m(static_cast<std::size_t>(kW * copies * kH));
  for (std::int64_t r = 0; r < kH; ++r)
    for (std::int64_t c = 0; c < kW * copies; ++c)
      m[static_cast<std::size_t>(r * kW * copies + c)] = masked(c % kW, r) ? 0 : 255;
  REQUIRE(GDALRasterIO(mask, GF_Write, 0, 0, static_cast<int>(kW * copies), static_cast<int>(kH), m.data(),
                       static_cast<int>(kW * copies), static_cast<int>(kH), GDT_Byte, 0, 0) == CE_None);
  GDALClose(ds);
}

std::pair<Grid, std::vector<double>> run(const test::TempDir& dir, const std::string& file, const std::string& method,
                                         const std::string& grid) {
  test::write_text(dir / "graph.json", R"({"grid": )" + grid + R"(, "nodes": [
      {"id": "s", "type": "raster_source", "path": ")" +
                                           file + R"("},
      {"id": "v", "type": "resample", "inputs": ["s"], "method": ")" +
                                           method + R"(", "implementation": "warper"},
      {"id": "m", "type": "merge", "inputs": ["v"], "drop": "none"},
      {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})");
  Config config;
  PlanOptions options;
  options.output_dir = dir.path();
  options.tile_rows = 5;
  Pipeline pipeline(load_graph(dir / "graph.json", config), config, options);
  const Grid g = pipeline.plan().grid;
  pipeline.run();
  return {g, test::csv_to_grid(test::read_text(dir / "o.csv"), g)};
}

std::size_t mismatches(const std::vector<double>& a, const std::vector<double>& b, std::string& first) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const bool same =
        std::isnan(a[i]) ? std::isnan(b[i]) : !std::isnan(b[i]) && static_cast<float>(a[i]) == static_cast<float>(b[i]);
    if (!same && n++ == 0)
      first = "cell " + std::to_string(i) + ": " + std::to_string(a[i]) + " vs " + std::to_string(b[i]);
  }
  return n;
}

std::size_t nan_count(const std::vector<double>& v) {
  std::size_t n = 0;
  for (const double x : v) n += std::isnan(x) ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("LongitudeWrap.MaskOfTheDataset.WarperEqualsGdalwarpOnThePeriodicCopy" * doctest::timeout(200)) {
  test::TempDir dir;
  write_source(dir / "src.tif", "Float32", 1, true);
  write_source(dir / "periodic.tif", "Float32", 3, true);
  for (const char* method : {"nearest", "bilinear", "average"}) {
    CAPTURE(method);
    const auto [g, ours] = run(dir, "src.tif", method, R"({"extent": [-180, -90, 180, 90], "resolution": 4})");
    const auto ref =
        test::gdalwarp_reference(dir / "periodic.tif", g, method, "Float32", 1, {"-to", "INSERT_CENTER_LONG=NO"});
    std::string first;
    CHECK_MESSAGE(mismatches(ours, ref, first) == 0, first);
    if (std::string(method) == "nearest") CHECK(nan_count(ours) > 0);  // masked pixels left out
    CHECK(nan_count(ours) < ours.size());
  }
}

TEST_CASE("Int8.MaskOfTheDataset.WarperEqualsTheSameValuesAsInt16" * doctest::timeout(200)) {
  test::TempDir dir;
  write_source(dir / "int8.tif", "Byte", 1, false);
  write_source(dir / "int16.tif", "Int16", 1, false);
  for (const char* method : {"nearest", "bilinear", "average", "mode"}) {
    CAPTURE(method);
    const std::string grid = R"({"extent": [10.05, 46.45, 17.15, 49.95], "resolution": 0.13})";
    const auto [g8, int8] = run(dir, "int8.tif", method, grid);
    const auto [g16, int16] = run(dir, "int16.tif", method, grid);
    std::string first;
    CHECK_MESSAGE(mismatches(int8, int16, first) == 0, first);
    if (std::string(method) == "nearest") CHECK(nan_count(int8) > 0);  // masked pixels left out
    CHECK(nan_count(int8) < int8.size());
  }
}
