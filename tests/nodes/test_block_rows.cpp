#include <doctest/doctest.h>

#include <gdal.h>

#include <cmath>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "nodes/common/block_rows.hpp"
#include "rasterflow/errors.hpp"
#include "support/test_support.hpp"

using namespace rasterflow;

namespace {

// A GDAL handle per thread, as the raster_source node keeps them.
struct Handles {
  std::string path;
  std::mutex mutex;
  std::map<std::thread::id, GDALDatasetH> open;
  GDALRasterBandH band() {
    std::lock_guard lock(mutex);
    auto& h = open[std::this_thread::get_id()];
    if (h == nullptr) h = GDALOpen(path.c_str(), GA_ReadOnly);
    REQUIRE(h != nullptr);
    return GDALGetRasterBand(h, 1);
  }
  ~Handles() {
    for (auto& [id, h] : open) GDALClose(h);
  }
};

nodes::BlockRows::Layout layout_of(const std::string& path) {
  GDALDatasetH ds = GDALOpen(path.c_str(), GA_ReadOnly);
  REQUIRE(ds != nullptr);
  GDALRasterBandH b = GDALGetRasterBand(ds, 1);
  nodes::BlockRows::Layout l;
  l.width = GDALGetRasterXSize(ds);
  l.height = GDALGetRasterYSize(ds);
  GDALGetBlockSize(b, &l.block_width, &l.block_height);
  l.type = GDALGetRasterDataType(b);
  GDALClose(ds);
  return l;
}

std::vector<double> gdal_window(const std::string& path, int col0, int row0, int cols, int rows) {
  GDALDatasetH ds = GDALOpen(path.c_str(), GA_ReadOnly);
  std::vector<double> out(static_cast<std::size_t>(cols * rows));
  REQUIRE(GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Read, col0, row0, cols, rows, out.data(), cols, rows, GDT_Float64, 0, 0) == CE_None);
  GDALClose(ds);
  return out;
}

std::string write_field(const test::TempDir& dir, const std::string& type, int width, int height) {
  test::RasterSpec spec;
  spec.width = width;
  spec.height = height;
  spec.type = type;
  std::vector<double> values(static_cast<std::size_t>(width * height));
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<double>((i * 37) % 251) - (type == "Float32" ? 100.25 : 0.0);
  const std::string path = (dir / (type + ".tif")).string();
  test::write_raster(path, spec, {values});  // tiled 16 x 16: blocks cut at the right and bottom edges
  return path;
}

}  // namespace

TEST_CASE("BlockRows.WindowsEqualGdalRasterIO") {
  test::TempDir dir;
  for (const std::string type : {"Byte", "Int16", "UInt32", "Float32"}) {
    CAPTURE(type);
    const std::string path = write_field(dir, type, 70, 45);
    Handles handles{path};
    nodes::BlockRows rows(layout_of(path), [&] { return handles.band(); }, "node \"s\" (raster_source)", path);
    CHECK(rows.block_rows() == 3);
    CHECK(rows.row_bytes() == static_cast<std::size_t>(5 * 16 * 16 * GDALGetDataTypeSizeBytes(layout_of(path).type)));
    // Windows that start and end inside blocks, span block rows and columns, and touch the edges.
    for (const auto& [c0, r0, cols, rows_n] : std::vector<std::array<int, 4>>{{0, 0, 70, 45}, {3, 5, 20, 30}, {15, 15, 2, 2}, {60, 40, 10, 5}, {33, 17, 1, 28}}) {
      std::vector<double> ours(static_cast<std::size_t>(cols * rows_n), -1.0);
      rows.read(c0, r0, cols, rows_n, ours.data());
      CHECK(ours == gdal_window(path, c0, r0, cols, rows_n));
    }
  }
}

TEST_CASE("BlockRows.DecodesEachRowOnceInRasterOrder") {
  test::TempDir dir;
  const std::string path = write_field(dir, "Float32", 50, 64);
  Handles handles{path};
  nodes::BlockRows rows(layout_of(path), [&] { return handles.band(); }, "node \"s\" (raster_source)", path);
  std::vector<double> buf(50 * 3);
  for (int r = 0; r < 64; r += 3) {
    const auto hold = rows.hold(r, r + 3);
    rows.read(0, r, 50, std::min(3, 64 - r), buf.data());
  }
  CHECK(rows.stats().rows_decoded == 4);  // 64 rows in blocks of 16: every block row once
  CHECK(rows.stats().rows_live_peak <= 2);
}

TEST_CASE("BlockRows.ThreadsShareTheDecoding") {
  test::TempDir dir;
  const std::string path = write_field(dir, "Int16", 300, 200);
  const auto whole = gdal_window(path, 0, 0, 300, 200);
  Handles handles{path};
  nodes::BlockRows rows(layout_of(path), [&] { return handles.band(); }, "node \"s\" (raster_source)", path);
  // Two threads take bands of 4 rows in turn, as two workers take tiles.
  std::atomic<int> next{0};
  std::atomic<int> wrong{0};
  const auto work = [&] {
    std::vector<double> buf(300 * 4);
    for (int band; (band = next.fetch_add(1)) * 4 < 200;) {
      const int r0 = band * 4;
      const auto hold = rows.hold(r0, r0 + 4);
      rows.read(0, r0, 300, 4, buf.data());
      for (int i = 0; i < 300 * 4; ++i) {
        if (buf[static_cast<std::size_t>(i)] != whole[static_cast<std::size_t>(r0 * 300 + i)]) ++wrong;
      }
    }
  };
  std::thread a(work), b(work);
  a.join();
  b.join();
  CHECK(wrong.load() == 0);
  // 13 block rows; a thread running ahead may have made the other decode one again.
  CHECK(rows.stats().rows_decoded >= 13);
  CHECK(rows.stats().rows_decoded <= 13 + 4);
}

TEST_CASE("BlockRows.UnreadableBlockNamesNodeFileAndRows") {
  test::TempDir dir;
  const std::string path = write_field(dir, "Float32", 64, 64);
  const auto layout = layout_of(path);
  // Damage the compressed data of the blocks (the header and its offsets stay intact).
  GDALDatasetH ds = GDALOpen(path.c_str(), GA_ReadOnly);
  const char* offset_text = GDALGetMetadataItem(GDALGetRasterBand(ds, 1), "BLOCK_OFFSET_0_2", "TIFF");
  REQUIRE(offset_text != nullptr);
  const long offset = std::atol(offset_text);
  GDALClose(ds);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(offset);
    const std::string garbage(64, '\xff');
    f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  Handles handles{path};
  nodes::BlockRows rows(layout, [&] { return handles.band(); }, "node \"t\" (raster_source)", path);
  std::vector<double> buf(64 * 16);
  rows.read(0, 0, 64, 16, buf.data());  // block row 0 is intact
  const std::string expected = "node \"t\" (raster_source): reading " + path + " block 0 of block row 2 (rows 32-47) failed";
  CHECK_THROWS_WITH_AS(rows.read(0, 32, 64, 16, buf.data()), doctest::Contains(expected.c_str()), IoError);
  // The failed row is not kept: asking again fails again (and nothing hangs).
  CHECK_THROWS_AS(rows.read(0, 40, 64, 2, buf.data()), IoError);
}
