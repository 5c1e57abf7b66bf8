// Int64 and UInt64 sources (issue #29): read exactly when every value is within +-2^53 (the
// integers a double carries), on both paths and into CSV and Parquet text; refused otherwise,
// naming the file, the band and the first value beyond, before anything runs.
#include <doctest/doctest.h>

#include <cstdint>
#include <sstream>

#include <gdal.h>
#include <ogr_srs_api.h>

#include "rasterflow/errors.hpp"
#include "support/test_support.hpp"

using namespace rasterflow;

namespace {

constexpr int kW = 8, kH = 6;
constexpr std::int64_t kTop = (std::int64_t{1} << 53);

// An Int64 or UInt64 GTiff in EPSG:4326, 1-degree pixels, of `values` (raster order).
template <typename T>
void write_wide(const std::filesystem::path& path, const std::vector<T>& values, std::optional<T> nodata = {}) {
  GDALAllRegister();
  const GDALDataType type = std::is_signed_v<T> ? GDT_Int64 : GDT_UInt64;
  GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), path.c_str(), kW, kH, 1, type, nullptr);
  double gt[6] = {10, 1, 0, 50, 0, -1};
  GDALSetGeoTransform(ds, gt);
  OGRSpatialReferenceH srs = OSRNewSpatialReference(nullptr);
  OSRImportFromEPSG(srs, 4326);
  GDALSetSpatialRef(ds, srs);
  OSRDestroySpatialReference(srs);
  GDALRasterBandH b = GDALGetRasterBand(ds, 1);
  REQUIRE(GDALRasterIO(b, GF_Write, 0, 0, kW, kH, const_cast<T*>(values.data()), kW, kH, type, 0, 0) == CE_None);
  if (nodata) {
    if constexpr (std::is_signed_v<T>) {
      GDALSetRasterNoDataValueAsInt64(b, *nodata);
    } else {
      GDALSetRasterNoDataValueAsUInt64(b, *nodata);
    }
  }
  GDALClose(ds);
}

std::string graph(const std::string& method, const std::string& implementation) {
  return R"({"nodes": [
      {"id": "s", "type": "raster_source", "path": "wide.tif"},
      {"id": "v", "type": "resample", "inputs": ["s"], "method": ")" +
         method + R"(", "implementation": ")" + implementation + R"("},
      {"id": "m", "type": "merge", "inputs": ["v"], "drop": "none"},
      {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})";
}

// The value column of the CSV, as text.
std::vector<std::string> csv_column(const std::filesystem::path& path) {
  std::istringstream in(test::read_text(path));
  std::vector<std::string> out;
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) out.push_back(line.substr(line.rfind(',') + 1));
  return out;
}

std::string refusal(const test::TempDir& dir) {
  try {
    test::run_graph_json(dir.path(), graph("nearest", "auto"));
  } catch (const GraphError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("WideIntegers.Int64WithinTwoTo53IsExactOnBothPaths") {
  test::TempDir dir;
  std::vector<std::int64_t> v(kW * kH);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = (i % 2 == 0 ? 1 : -1) * (kTop - static_cast<std::int64_t>(i));
  v[5] = std::numeric_limits<std::int64_t>::min();  // nodata: beyond 2^53, and left out
  write_wide<std::int64_t>(dir / "wide.tif", v, std::numeric_limits<std::int64_t>::min());
  for (const std::string implementation : {"fast", "warper"}) {
    for (const std::string method : {"nearest", "max", "min", "mode", "median", "q1", "q3"}) {
      CAPTURE(implementation);
      CAPTURE(method);
      if (implementation == "warper" && method == "mode") continue;  // refused: WarperModeRefused...
      test::run_graph_json(dir.path(), graph(method, implementation));
      const auto got = csv_column(dir / "o.csv");
      REQUIRE(got.size() == v.size());
      for (std::size_t i = 0; i < v.size(); ++i) {
        CAPTURE(i);
        CHECK(got[i] == (i == 5 ? std::string() : std::to_string(v[i])));
      }
    }
  }
}

TEST_CASE("WideIntegers.UInt64WithinTwoTo53IsExact") {
  test::TempDir dir;
  std::vector<std::uint64_t> v(kW * kH);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::uint64_t>(kTop) - i;
  write_wide<std::uint64_t>(dir / "wide.tif", v);
  test::run_graph_json(dir.path(), graph("nearest", "auto"));
  const auto got = csv_column(dir / "o.csv");
  REQUIRE(got.size() == v.size());
  for (std::size_t i = 0; i < v.size(); ++i) CHECK(got[i] == std::to_string(v[i]));
}

TEST_CASE("WideIntegers.ValueBeyondTwoTo53IsRefusedNamingFileBandAndValue") {
  test::TempDir dir;
  std::vector<std::int64_t> v(kW * kH, 7);
  v[2 * kW + 3] = kTop + 1;  // column 3, row 2: a double would hold 2^53
  v[4 * kW + 1] = -kTop - 5;
  write_wide<std::int64_t>(dir / "wide.tif", v);
  const std::string message = refusal(dir);
  CAPTURE(message);
  CHECK(message.find("node \"s\" (raster_source): option \"band\": " + (dir / "wide.tif").string() +
                     " is Int64 and band 1 holds 9007199254740993 at column 3, row 2, beyond 2^53") !=
        std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "o.csv"));

  test::TempDir udir;
  std::vector<std::uint64_t> u(kW * kH, 7);
  u[kW * kH - 1] = std::numeric_limits<std::uint64_t>::max();
  write_wide<std::uint64_t>(udir / "wide.tif", u);
  const std::string umessage = refusal(udir);
  CAPTURE(umessage);
  CHECK(umessage.find("is UInt64 and band 1 holds 18446744073709551615 at column 7, row 5") != std::string::npos);
}

TEST_CASE("WideIntegers.SelectingMethodsOverBlocksAgreeOnBothPaths") {
  // 2 x 2 pixels a cell: every selecting method gives one of the cell's own values, on both paths.
  test::TempDir dir;
  std::vector<std::int64_t> v(kW * kH);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = kTop - 1 - 2 * static_cast<std::int64_t>((i * 7) % v.size());
  write_wide<std::int64_t>(dir / "wide.tif", v);
  for (const std::string method : {"nearest", "max", "min", "mode", "median", "q1", "q3"}) {
    CAPTURE(method);
    std::vector<std::string> by_path[2];
    for (int path = 0; path < (method == "mode" ? 1 : 2); ++path) {
      std::string g = graph(method, path == 0 ? "fast" : "warper");
      g.insert(1, R"("grid": {"resolution": 2},)");
      test::run_graph_json(dir.path(), g);
      by_path[path] = csv_column(dir / "o.csv");
    }
    REQUIRE(by_path[0].size() == static_cast<std::size_t>(kW * kH / 4));
    for (std::size_t c = 0; c < by_path[0].size(); ++c) {
      CAPTURE(c);
      const std::size_t r = c / (kW / 2), col = c % (kW / 2);
      bool own = false;
      for (std::size_t k = 0; k < 4; ++k) {
        own = own || by_path[0][c] == std::to_string(v[(2 * r + k / 2) * kW + 2 * col + k % 2]);
      }
      CHECK(own);
      if (method != "mode") CHECK(by_path[1][c] == by_path[0][c]);
    }
  }
}

TEST_CASE("WideIntegers.WarperModeRefusedNamingFileAndType") {
  // GDAL 3.6's warper takes the mode of 32-bit floats (it gave 9007199254740992 for 9007199254740899).
  test::TempDir dir;
  write_wide<std::int64_t>(dir / "wide.tif", std::vector<std::int64_t>(kW * kH, kTop - 1));
  std::string message = "no error";
  try {
    test::run_graph_json(dir.path(), graph("mode", "warper"));
  } catch (const GraphError& e) {
    message = e.what();
  }
  CAPTURE(message);
  CHECK(message.find("node \"v\" (resample): option \"method\": mode on the warper path reads " +
                     (dir / "wide.tif").string() + "'s Int64 values as 32-bit floats") != std::string::npos);
}
