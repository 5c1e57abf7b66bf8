// NetCDF-4 (HDF5) sources read by several threads (#28): no HDF5-DIAG error stack on stderr of a
// run that succeeds, and the same table as one thread.
#include <doctest/doctest.h>

#include <gdal.h>

#include "support/test_support.hpp"

using namespace rasterflow;

namespace {

// A NetCDF-4 file (HDF5 underneath), DEFLATE-compressed, 0.5-degree global field, written with
// GDAL's netCDF driver.
void write_netcdf4(const std::filesystem::path& path) {
  test::TempDir tmp;
  std::vector<double> v(720 * 360);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i % 720) * 0.5 + static_cast<double>(i / 720);
  test::write_raster(tmp / "field.tif",
                     {.width = 720, .height = 360, .gt = {-180, 0.5, 0, 90, 0, -0.5}, .type = "Float32"}, {v});
  GDALAllRegister();
  GDALDatasetH src = GDALOpen((tmp / "field.tif").c_str(), GA_ReadOnly);
  REQUIRE(src != nullptr);
  const char* const options[] = {"FORMAT=NC4", "COMPRESS=DEFLATE", nullptr};
  GDALDatasetH nc = GDALCreateCopy(GDALGetDriverByName("netCDF"), path.c_str(), src, FALSE, const_cast<char**>(options),
                                   nullptr, nullptr);
  REQUIRE(nc != nullptr);
  GDALClose(nc);
  GDALClose(src);
}

}  // namespace

TEST_CASE("NetCDF4.TwoThreads.NoHdf5DiagnosticsAndSameTable") {
  test::TempDir dir;
  write_netcdf4(dir / "field.nc");
  test::write_text(dir / "graph.json", R"({"grid": {"resolution": 0.25}, "nodes": [
      {"id": "s", "type": "raster_source", "path": "field.nc"},
      {"id": "v", "type": "resample", "inputs": ["s"], "method": "bilinear"},
      {"id": "m", "type": "merge", "inputs": ["v"]},
      {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})");
  std::string two, one;
  const std::string run = "run " + (dir / "graph.json").string() + " --progress never --output-dir ";
  REQUIRE(test::run_cli(run + (dir / "two").string() + " --threads 2", &two) == 0);
  CHECK_MESSAGE(two.find("HDF5-DIAG") == std::string::npos, two.substr(0, 2000));
  CHECK(two.find("Error detected in HDF5") == std::string::npos);
  REQUIRE(test::run_cli(run + (dir / "one").string() + " --threads 1", &one) == 0);
  CHECK(one.find("HDF5-DIAG") == std::string::npos);
  const std::string a = test::read_text(dir / "two" / "o.csv"), b = test::read_text(dir / "one" / "o.csv");
  CHECK(a.size() > 1000);
  CHECK(a == b);
}
