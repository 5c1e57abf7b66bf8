// A failing block names its file and GDAL's FIRST error, which names the cause (issue #29):
// "ZIPDecode:Decoding error at scanline 16", not only the last "IReadBlock failed ...".
#include <doctest/doctest.h>

#include <fstream>
#include <random>

#include <gdal.h>

#include "rasterflow/errors.hpp"
#include "support/test_support.hpp"

using namespace rasterflow;

namespace {

// A tiled DEFLATE GeoTIFF whose block (1, 1) is overwritten with 0xff bytes.
void write_corrupt(const std::filesystem::path& path) {
  std::mt19937 random(7);
  std::vector<double> v(64 * 64);
  for (auto& x : v) x = static_cast<double>(random() % 3000);
  test::write_raster(path, {.width = 64, .height = 64, .gt = {0, 1, 0, 64, 0, -1}, .type = "Int16"}, {v});
  GDALDatasetH ds = GDALOpen(path.c_str(), GA_ReadOnly);
  REQUIRE(ds != nullptr);
  GDALRasterBandH band = GDALGetRasterBand(ds, 1);
  const long offset = std::stol(GDALGetMetadataItem(band, "BLOCK_OFFSET_1_1", "TIFF"));
  const long size = std::stol(GDALGetMetadataItem(band, "BLOCK_SIZE_1_1", "TIFF"));
  GDALClose(ds);
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(offset + 4);
  f << std::string(static_cast<std::size_t>(size - 8), '\xff');
}

std::string failure(const test::TempDir& dir, const std::string& decoding, const std::string& implementation) {
  const std::string graph = R"({"grid": {"resolution": 2}, "nodes": [
      {"id": "s", "type": "raster_source", "path": "bad.tif", "decoding": ")" +
                            decoding + R"("},
      {"id": "v", "type": "resample", "inputs": ["s"], "method": "average", "implementation": ")" +
                            implementation + R"("},
      {"id": "m", "type": "merge", "inputs": ["v"]},
      {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})";
  try {
    test::run_graph_json(dir.path(), graph);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("ReadErrors.FailingBlockNamesFileAndGdalsFirstError" * doctest::timeout(60)) {
  test::TempDir dir;
  write_corrupt(dir / "bad.tif");
  for (const auto& strategy :
       {std::pair{"block_rows", "fast"}, std::pair{"gdal_cache", "fast"}, std::pair{"gdal_cache", "warper"}}) {
    // Names, not a structured binding: doctest's CAPTURE takes them in a lambda (clang 14).
    const char* const decoding = strategy.first;
    const char* const implementation = strategy.second;
    CAPTURE(decoding);
    CAPTURE(implementation);
    const std::string message = failure(dir, decoding, implementation);
    CAPTURE(message);
    CHECK(message.find("bad.tif") != std::string::npos);
    CHECK(message.find("ZIPDecode") != std::string::npos);  // the cause, GDAL's first error
    CHECK(message.find("node \"") != std::string::npos);    // the node (the source reads, the warper warps)
  }
}

TEST_CASE("ReadErrors.UnsupportedTypesNameFileAndType") {
  test::TempDir dir;
  // (Int64 and UInt64 are read when their values fit: tests/nodes/test_wide_integers.cpp.)
  for (const std::string type : {"CInt16", "CFloat32"}) {
    CAPTURE(type);
    test::write_raster(dir / "typed.tif", {.width = 4, .height = 4, .type = type, .creation_options = {}},
                       {std::vector<double>(16, 1.0)});
    const std::string graph = R"({"nodes": [
        {"id": "s", "type": "raster_source", "path": "typed.tif"},
        {"id": "v", "type": "resample", "inputs": ["s"]},
        {"id": "m", "type": "merge", "inputs": ["v"]},
        {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})";
    std::string message = "no error";
    try {
      test::run_graph_json(dir.path(), graph);
    } catch (const GraphError& e) {
      message = e.what();
    }
    CAPTURE(message);
    CHECK(message.find("typed.tif band 1 is " + type) != std::string::npos);
    CHECK(message.find("node \"s\"") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir / "o.csv"));
  }
}
