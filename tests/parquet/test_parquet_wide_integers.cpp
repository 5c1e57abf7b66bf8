// Int64 and UInt64 sources into Parquet (issue #29): values up to 2^53 keep their type (BIGINT,
// UBIGINT) and every digit, as DuckDB and Arrow's reader read them back against the CSV.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include <gdal.h>
#include <ogr_srs_api.h>

#include "parquet/parquet_readers.hpp"
#include "support/test_support.hpp"

namespace {

constexpr int kW = 12, kH = 9;
constexpr std::int64_t kTop = std::int64_t{1} << 53;

template <typename T>
void write_wide(const std::filesystem::path& path, const std::vector<T>& values, T nodata) {
  GDALAllRegister();
  const GDALDataType type = std::is_signed_v<T> ? GDT_Int64 : GDT_UInt64;
  GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), path.c_str(), kW, kH, 1, type, nullptr);
  double gt[6] = {10, 0.5, 0, 50, 0, -0.5};
  GDALSetGeoTransform(ds, gt);
  OGRSpatialReferenceH srs = OSRNewSpatialReference(nullptr);
  OSRImportFromEPSG(srs, 4326);
  GDALSetSpatialRef(ds, srs);
  OSRDestroySpatialReference(srs);
  GDALRasterBandH b = GDALGetRasterBand(ds, 1);
  REQUIRE(GDALRasterIO(b, GF_Write, 0, 0, kW, kH, const_cast<T*>(values.data()), kW, kH, type, 0, 0) == CE_None);
  if constexpr (std::is_signed_v<T>) {
    GDALSetRasterNoDataValueAsInt64(b, nodata);
  } else {
    GDALSetRasterNoDataValueAsUInt64(b, nodata);
  }
  GDALClose(ds);
}

}  // namespace

TEST_CASE("ParquetSink.WideIntegers.KeepEveryDigitUpToTwoTo53" * doctest::timeout(300)) {
  rasterflow::test::TempDir dir;
  std::vector<std::int64_t> s(kW * kH);
  std::vector<std::uint64_t> u(kW * kH);
  for (std::size_t i = 0; i < s.size(); ++i) {
    s[i] = (i % 2 == 0 ? 1 : -1) * (kTop - static_cast<std::int64_t>(i));
    u[i] = static_cast<std::uint64_t>(kTop) - 3 * i;
  }
  s[7] = std::numeric_limits<std::int64_t>::min();  // nodata: null
  u[8] = std::numeric_limits<std::uint64_t>::max();
  write_wide<std::int64_t>(dir / "s.tif", s, std::numeric_limits<std::int64_t>::min());
  write_wide<std::uint64_t>(dir / "u.tif", u, std::numeric_limits<std::uint64_t>::max());
  rasterflow::test::write_text(dir / "graph.json", R"({"nodes": [
      {"id": "s_src", "type": "raster_source", "path": "s.tif"},
      {"id": "u_src", "type": "raster_source", "path": "u.tif"},
      {"id": "s", "type": "resample", "inputs": ["s_src"], "method": "nearest"},
      {"id": "u", "type": "resample", "inputs": ["u_src"], "method": "nearest"},
      {"id": "merged", "type": "merge", "inputs": ["s", "u"], "drop": "none"},
      {"id": "table", "type": "csv_sink", "inputs": ["merged"], "path": "merged.csv"},
      {"id": "pq", "type": "parquet_sink", "inputs": ["merged"], "path": "merged.parquet"}]})");
  std::string out;
  REQUIRE_MESSAGE(rasterflow::test::run_cli(
                      "run " + (dir / "graph.json").string() + " --output-dir " + (dir / "o").string(), &out) == 0,
                  out);
  const std::string csv = rasterflow::test::read_text(dir / "o/merged.csv");
  CHECK(csv.find("," + std::to_string(kTop) + "," + std::to_string(kTop) + "\n") != std::string::npos);
  CHECK(csv.find("," + std::to_string(-(kTop - 1)) + ",") != std::string::npos);
  std::string report;
  CHECK_MESSAGE(rasterflow::test::check_with_readers(
                    dir / "o/merged.parquet", dir / "o/merged.csv",
                    R"({"types":{"x":["DOUBLE","Float64"],"y":["DOUBLE","Float64"],"s":["BIGINT","Int64"],)"
                    R"("u":["UBIGINT","Uint64"]}})",
                    &report) == 0,
                report);
}
