// GDAL's warnings about a source reach the user (#28): a NetCDF file whose latitudes are not
// evenly spaced (GDAL: "Latitude grid not spaced evenly") is named at warning level, once.
#include <doctest/doctest.h>

#include <gdal.h>

#include <vector>

#include "support/test_support.hpp"

using namespace rasterflow;

namespace {

void write_string_attribute(GDALMDArrayH array, const char* name, const char* value) {
  GDALExtendedDataTypeH text = GDALExtendedDataTypeCreateString(0);
  GDALAttributeH a = GDALMDArrayCreateAttribute(array, name, 0, nullptr, text, nullptr);
  REQUIRE(a != nullptr);
  GDALAttributeWriteString(a, value);
  GDALAttributeRelease(a);
  GDALExtendedDataTypeRelease(text);
}

// A 1-D coordinate variable `name` of `values`.
GDALMDArrayH coordinate(GDALGroupH root, GDALDimensionH dim, const char* name, const std::vector<double>& values,
                        const char* units) {
  GDALExtendedDataTypeH f64 = GDALExtendedDataTypeCreate(GDT_Float64);
  GDALMDArrayH a = GDALGroupCreateMDArray(root, name, 1, &dim, f64, nullptr);
  REQUIRE(a != nullptr);
  const GUInt64 start = 0;
  const size_t count = values.size();
  REQUIRE(GDALMDArrayWrite(a, &start, &count, nullptr, nullptr, f64, values.data(), nullptr, 0));
  write_string_attribute(a, "units", units);
  GDALExtendedDataTypeRelease(f64);
  return a;
}

// 20 latitudes about 1 degree apart but not evenly (deviations up to 0.04 degree), 30 longitudes.
void write_uneven(const std::filesystem::path& path) {
  GDALAllRegister();
  GDALDatasetH ds = GDALCreateMultiDimensional(GDALGetDriverByName("netCDF"), path.c_str(), nullptr, nullptr);
  REQUIRE(ds != nullptr);
  GDALGroupH root = GDALDatasetGetRootGroup(ds);
  GDALDimensionH lat = GDALGroupCreateDimension(root, "lat", nullptr, nullptr, 20, nullptr);
  GDALDimensionH lon = GDALGroupCreateDimension(root, "lon", nullptr, nullptr, 30, nullptr);
  std::vector<double> lats(20), lons(30);
  for (int i = 0; i < 20; ++i) lats[i] = 40.0 + i + ((i % 3 == 1) ? 0.04 : 0.0);
  for (int i = 0; i < 30; ++i) lons[i] = 0.5 + i;
  GDALMDArrayRelease(coordinate(root, lat, "lat", lats, "degrees_north"));
  GDALMDArrayRelease(coordinate(root, lon, "lon", lons, "degrees_east"));
  GDALDimensionH dims[2] = {lat, lon};
  GDALExtendedDataTypeH f32 = GDALExtendedDataTypeCreate(GDT_Float32);
  GDALMDArrayH t = GDALGroupCreateMDArray(root, "t", 2, dims, f32, nullptr);
  REQUIRE(t != nullptr);
  std::vector<float> v(20 * 30, 1.5f);
  const GUInt64 start[2] = {0, 0};
  const size_t count[2] = {20, 30};
  REQUIRE(GDALMDArrayWrite(t, start, count, nullptr, nullptr, f32, v.data(), nullptr, 0));
  GDALMDArrayRelease(t);
  GDALExtendedDataTypeRelease(f32);
  GDALDimensionRelease(lat);
  GDALDimensionRelease(lon);
  GDALGroupRelease(root);
  GDALClose(ds);
}

}  // namespace

TEST_CASE("SourceWarnings.UnevenLatitudesNamedOnceAtWarningLevel") {
  test::TempDir dir;
  write_uneven(dir / "uneven.nc");
  test::write_text(dir / "graph.json", R"({"grid": {}, "nodes": [
      {"id": "s", "type": "raster_source", "path": "uneven.nc", "variable": "t", "irregular_axes": "even"},
      {"id": "v", "type": "resample", "inputs": ["s"]},
      {"id": "m", "type": "merge", "inputs": ["v"]},
      {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})");
  std::string out;
  test::run_cli("run " + (dir / "graph.json").string() + " --progress never --output-dir " + dir.path().string(), &out);
  CAPTURE(out);
  const auto at = out.find("not spaced evenly");
  REQUIRE(at != std::string::npos);
  CHECK(out.find("not spaced evenly", at + 1) == std::string::npos);  // once
  const std::string line = out.substr(out.rfind('\n', at) + 1, out.find('\n', at) - out.rfind('\n', at) - 1);
  CHECK(line.find("warn") != std::string::npos);
  CHECK(line.find("uneven.nc") != std::string::npos);
  CHECK(line.find("node \"s\"") != std::string::npos);
}

TEST_CASE("IrregularAxes.RefusedNamingFileAndDeviationOrPlannedWithIt") {
  test::TempDir dir;
  write_uneven(dir / "uneven.nc");
  const std::string graph = R"({"grid": {}, "nodes": [
      {"id": "s", "type": "raster_source", "path": "uneven.nc", "variable": "t"OPTION},
      {"id": "v", "type": "resample", "inputs": ["s"]},
      {"id": "m", "type": "merge", "inputs": ["v"]},
      {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})";
  std::string text = graph;
  text.replace(text.find("OPTION"), 6, R"(, "irregular_axes": "refuse")");
  test::write_text(dir / "graph.json", text);
  std::string out;
  CHECK(test::run_cli("run " + (dir / "graph.json").string() + " --output-dir " + dir.path().string(), &out) == 2);
  CAPTURE(out);
  CHECK(out.find("node \"s\" (raster_source): option \"irregular_axes\"") != std::string::npos);
  CHECK(out.find("uneven.nc") != std::string::npos);
  CHECK(out.find("axis \"lat\" is not evenly spaced") != std::string::npos);
  // The largest deviation from the line through the first and last latitudes (40, 59.04): 41.04 at
  // index 1, against 40 + 19.04 / 19.
  CHECK(out.find("its value 1 is 0.0378947 from the even spacing of 1.00211") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "o.csv"));
  text = graph;
  text.replace(text.find("OPTION"), 6, R"(, "irregular_axes": "even")");
  test::write_text(dir / "graph.json", text);
  CHECK(test::run_cli("plan " + (dir / "graph.json").string(), &out) == 0);
  CHECK(out.find("axis \"lat\" is not evenly spaced") != std::string::npos);
  CHECK(out.find("irregular_axes even") != std::string::npos);
}
