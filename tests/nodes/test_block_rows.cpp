#include <doctest/doctest.h>

#include <cpl_error.h>
#include <gdal.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "nodes/read/block_rows.hpp"
#include "nodes/read/tiff_tiles.hpp"
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
  REQUIRE(GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Read, col0, row0, cols, rows, out.data(), cols, rows, GDT_Float64,
                       0, 0) == CE_None);
  GDALClose(ds);
  return out;
}

std::string write_field(const test::TempDir& dir, const std::string& type, int width, int height) {
  test::RasterSpec spec{.width = width, .height = height, .type = type};
  std::vector<double> values(static_cast<std::size_t>(width * height));
  for (std::size_t i = 0; i < values.size(); ++i)
    values[i] = static_cast<double>((i * 37) % 251) - (type == "Float32" ? 100.25 : 0.0);
  const std::string path = (dir / (type + ".tif")).string();
  test::write_raster(path, spec, {values});  // tiled 16 x 16: blocks cut at the right and bottom edges
  return path;
}

// A GeoTIFF of `type` with the given creation options (values varied enough to give DEFLATE
// real work, within every type's range).
std::string write_tiff(const test::TempDir& dir, const std::string& name, const std::string& type, int width,
                       int height, std::vector<std::string> options, int bands = 1) {
  test::RasterSpec spec{
      .width = width, .height = height, .type = type, .bands = bands, .creation_options = std::move(options)};
  const bool floating = type.rfind("Float", 0) == 0;
  const bool is_signed = type.rfind("Int", 0) == 0 || floating;
  std::vector<std::vector<double>> values(static_cast<std::size_t>(bands));
  for (int b = 0; b < bands; ++b) {
    auto& v = values[static_cast<std::size_t>(b)];
    v.resize(static_cast<std::size_t>(width * height));
    for (int r = 0; r < height; ++r) {
      for (int c = 0; c < width; ++c) {
        double x = static_cast<double>((c * 131 + r * 71 + b * 17) % 251);
        if (is_signed) x -= 100.0;
        if (floating) x += 0.37 * static_cast<double>(r % 7) + 1e-3 * static_cast<double>(c % 13);
        v[static_cast<std::size_t>(r * width + c)] = x;
      }
    }
  }
  const std::string path = (dir / name).string();
  test::write_raster(path, spec, values);
  return path;
}

struct Streamed {
  std::unique_ptr<nodes::TiffTileStreams> streams;
  std::unique_ptr<nodes::BlockRows> rows;
  std::string why;
};

// The file's band `band` decoded in streams through BlockRows, as raster_source does.
using Inflater = nodes::TiffTileStreams::Inflater;
Streamed open_streams(const std::string& path, int band = 1, const std::string& where = "node \"s\" (raster_source)",
                      Inflater inflater = Inflater::isal) {
  Streamed s;
  GDALDatasetH ds = GDALOpen(path.c_str(), GA_ReadOnly);
  REQUIRE(ds != nullptr);
  s.streams = nodes::TiffTileStreams::open(ds, path, band, where, &s.why, 64, inflater);
  nodes::BlockRows::Layout l;
  l.width = GDALGetRasterXSize(ds);
  l.height = GDALGetRasterYSize(ds);
  int bh = 0;
  GDALGetBlockSize(GDALGetRasterBand(ds, band), &l.block_width, &bh);
  l.type = GDALGetRasterDataType(GDALGetRasterBand(ds, band));
  GDALClose(ds);
  if (s.streams) {
    l.block_height = s.streams->unit_rows();
    s.rows = std::make_unique<nodes::BlockRows>(
        l,
        [st = s.streams.get()](std::int64_t row, std::int64_t column, std::byte* dst) { st->decode(row, column, dst); },
        where, path, 4);
  }
  return s;
}

std::vector<double> gdal_band_window(const std::string& path, int band, int col0, int row0, int cols, int rows) {
  GDALDatasetH ds = GDALOpen(path.c_str(), GA_ReadOnly);
  std::vector<double> out(static_cast<std::size_t>(cols * rows));
  REQUIRE(GDALRasterIO(GDALGetRasterBand(ds, band), GF_Read, col0, row0, cols, rows, out.data(), cols, rows,
                       GDT_Float64, 0, 0) == CE_None);
  GDALClose(ds);
  return out;
}

// Every window of `windows` read through the streams equals GDALRasterIO's.
void check_windows(nodes::BlockRows& rows, const std::string& path, int band,
                   const std::vector<std::array<int, 4>>& windows) {
  for (const auto& w : windows) {
    const int c0 = w[0], r0 = w[1], cols = w[2], n = w[3];
    CAPTURE(c0);
    CAPTURE(r0);
    std::vector<double> ours(static_cast<std::size_t>(cols * n), -1.0);
    rows.read(c0, r0, cols, n, ours.data());
    const auto theirs = gdal_band_window(path, band, c0, r0, cols, n);
    // Equal, or NaN in both (GDAL itself writes a few NaNs into big-endian Float32 files with
    // predictor 3 here; ours must be NaN exactly there).
    const auto same = [](double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); };
    const auto first = std::mismatch(ours.begin(), ours.end(), theirs.begin(), same).first - ours.begin();
    CAPTURE(first);  // the first sample that differs (row-major in the window)
    CHECK(first == static_cast<std::ptrdiff_t>(ours.size()));
  }
}

// Two threads take bands of `band_rows` full-width rows in turn, as two workers take tiles,
// holding each band while they read it; returns how many samples differ from `whole`.
int wrong_in_two_threads(nodes::BlockRows& rows, int width, int height, int band_rows,
                         const std::vector<double>& whole) {
  std::atomic<int> next{0};
  std::atomic<int> wrong{0};
  const auto work = [&] {
    std::vector<double> buf(static_cast<std::size_t>(width * band_rows));
    for (int band; (band = next.fetch_add(1)) * band_rows < height;) {
      const int r0 = band * band_rows;
      const int n = std::min(band_rows, height - r0);
      const auto hold = rows.hold(r0, r0 + n);
      rows.read(0, r0, width, n, buf.data());
      for (int i = 0; i < width * n; ++i) {
        if (buf[static_cast<std::size_t>(i)] != whole[static_cast<std::size_t>(r0 * width + i)]) ++wrong;
      }
    }
  };
  std::thread a(work), b(work);
  a.join();
  b.join();
  return wrong.load();
}

}  // namespace

TEST_CASE("TiffTiles.SameSamplesAsGdal.TypesCompressionsPredictorsByteOrders") {
  test::TempDir dir;
  int files = 0;
  int zlib_files = 0;
  for (const std::string type : {"Byte", "Int16", "UInt16", "Int32", "UInt32", "Float32", "Float64"}) {
    const bool floating = type.rfind("Float", 0) == 0;
    for (const std::string endianness : {"LITTLE", "BIG"}) {
      std::vector<std::vector<std::string>> variants = {
          {"COMPRESS=NONE"}, {"COMPRESS=DEFLATE"}, {"COMPRESS=DEFLATE", "PREDICTOR=2"}};
      if (floating) variants.push_back({"COMPRESS=DEFLATE", "PREDICTOR=3"});
      for (auto options : variants) {
        options.insert(options.end(), {"TILED=YES", "BLOCKXSIZE=64", "BLOCKYSIZE=64", "ENDIANNESS=" + endianness});
        std::string name = type + "_" + endianness;
        for (const auto& o : options) name += "_" + o.substr(o.find('=') + 1);
        CAPTURE(name);
        const std::string path = write_tiff(dir, name + ".tif", type, 150, 140, options);
        // With ISA-L's inflate, and zlib's (tight memory limits) for the compressed files.
        for (const Inflater inflater : {Inflater::isal, Inflater::zlib}) {
          if (inflater == Inflater::zlib && options[0] == "COMPRESS=NONE") continue;
          CAPTURE(inflater == Inflater::zlib);
          auto s = open_streams(path, 1, "node \"s\" (raster_source)", inflater);
          REQUIRE_MESSAGE(s.streams != nullptr, s.why);
          CHECK(s.streams->inflater() == inflater);
          CHECK(s.streams->unit_rows() == 32);
          // The whole band, windows inside one unit, across units, tiles and the cut edge tiles.
          check_windows(*s.rows, path, 1,
                        {{0, 0, 150, 140}, {3, 5, 20, 30}, {63, 31, 2, 2}, {140, 120, 10, 20}, {70, 33, 1, 100}});
          ++(inflater == Inflater::zlib ? zlib_files : files);
        }
      }
    }
  }
  CHECK(files == 7 * 2 * 3 + 2 * 2);
  CHECK(zlib_files == 7 * 2 * 2 + 2 * 2);
}

TEST_CASE("TiffTiles.StripsUnitSizesAndBands") {
  test::TempDir dir;
  // Strips of 64 rows, the last one short (150 = 2 x 64 + 22): units of 32 rows.
  const std::string strips = write_tiff(dir, "strips.tif", "Int16", 100, 150, {"COMPRESS=DEFLATE", "BLOCKYSIZE=64"});
  auto s = open_streams(strips);
  REQUIRE_MESSAGE(s.streams != nullptr, s.why);
  CHECK(s.streams->unit_rows() == 32);
  check_windows(*s.rows, strips, 1, {{0, 0, 100, 150}, {10, 120, 50, 30}});
  // 48-row tiles: units of 16; 256-row tiles: units of 64.
  for (const auto& [height, unit] : std::vector<std::pair<int, int>>{{48, 16}, {256, 64}}) {
    const std::string path =
        write_tiff(dir, "t" + std::to_string(height) + ".tif", "Float32", 300, 300,
                   {"COMPRESS=DEFLATE", "TILED=YES", "BLOCKXSIZE=32", "BLOCKYSIZE=" + std::to_string(height)});
    auto t = open_streams(path);
    REQUIRE_MESSAGE(t.streams != nullptr, t.why);
    CHECK(t.streams->unit_rows() == unit);
    check_windows(*t.rows, path, 1, {{0, 0, 300, 300}, {31, 47, 3, 3}});
  }
  // Band 2 of a band-interleaved file has its own tiles.
  const std::string bands =
      write_tiff(dir, "bands.tif", "UInt16", 90, 100,
                 {"COMPRESS=DEFLATE", "TILED=YES", "BLOCKXSIZE=32", "BLOCKYSIZE=32", "INTERLEAVE=BAND"}, 2);
  auto b = open_streams(bands, 2);
  REQUIRE_MESSAGE(b.streams != nullptr, b.why);
  check_windows(*b.rows, bands, 2, {{0, 0, 90, 100}});
}

TEST_CASE("TiffTiles.RefusesWhatOnlyGdalDecodes") {
  test::TempDir dir;
  const auto why = [&](const std::string& path, int band = 1) {
    auto s = open_streams(path, band);
    CHECK(s.streams == nullptr);
    return s.why;
  };
  const std::vector<std::string> tiled = {"TILED=YES", "BLOCKXSIZE=64", "BLOCKYSIZE=64"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.end(), tiled.begin(), tiled.end());
    return extra;
  };
  CHECK(why(write_tiff(dir, "lzw.tif", "Int16", 100, 100, with({"COMPRESS=LZW"}))) == "LZW compression");
  CHECK(why(write_tiff(dir, "pixel.tif", "Byte", 100, 100, with({"COMPRESS=DEFLATE", "INTERLEAVE=PIXEL"}), 2)) ==
        "PIXEL interleaving");
  CHECK(why(write_tiff(dir, "nbits.tif", "UInt16", 100, 100, with({"COMPRESS=DEFLATE", "NBITS=12"}))) ==
        "samples not a whole number of bytes");
  CHECK(why(write_tiff(dir, "small.tif", "Byte", 100, 100,
                       {"COMPRESS=DEFLATE", "TILED=YES", "BLOCKXSIZE=16", "BLOCKYSIZE=16"})) ==
        "blocks of 16 rows (nothing to gain)");
  // A sparse file: tiles never written are not in the file (GDAL fills them in).
  {
    const std::string path = (dir / "sparse.tif").string();
    const char* const options[] = {"TILED=YES",        "BLOCKXSIZE=64",  "BLOCKYSIZE=64",
                                   "COMPRESS=DEFLATE", "SPARSE_OK=TRUE", nullptr};
    GDALDatasetH ds =
        GDALCreate(GDALGetDriverByName("GTiff"), path.c_str(), 128, 128, 1, GDT_Byte, const_cast<char**>(options));
    std::vector<std::uint8_t> ones(64 * 64, 1);
    REQUIRE(GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Write, 0, 0, 64, 64, ones.data(), 64, 64, GDT_Byte, 0, 0) ==
            CE_None);
    GDALClose(ds);
    CHECK(why(path).find("sparse tiles") == 0);
  }
  // Not a GeoTIFF: a VRT over one.
  const std::string tif = write_tiff(dir, "plain.tif", "Byte", 100, 100, with({"COMPRESS=DEFLATE"}));
  const std::string vrt = (dir / "plain.vrt").string();
  GDALDatasetH src = GDALOpen(tif.c_str(), GA_ReadOnly);
  GDALClose(GDALCreateCopy(GDALGetDriverByName("VRT"), vrt.c_str(), src, FALSE, nullptr, nullptr, nullptr));
  GDALClose(src);
  CHECK(why(vrt) == "not a GeoTIFF (GDAL driver VRT)");
}

TEST_CASE("TiffTiles.AnyOrderAndTwoThreads") {
  test::TempDir dir;
  const std::string path = write_tiff(dir, "f.tif", "Float32", 200, 256,
                                      {"COMPRESS=DEFLATE", "TILED=YES", "BLOCKXSIZE=64", "BLOCKYSIZE=128"});
  const auto whole = gdal_band_window(path, 1, 0, 0, 200, 256);
  {
    // Backwards, unit by unit: every step goes back in a tile, which restarts its stream.
    auto s = open_streams(path);
    REQUIRE(s.streams != nullptr);
    for (int r0 = 256 - 32; r0 >= 0; r0 -= 32) {
      std::vector<double> ours(200 * 32);
      s.rows->read(0, r0, 200, 32, ours.data());
      CHECK(std::equal(ours.begin(), ours.end(), whole.begin() + r0 * 200));
    }
  }
  // Two threads taking bands of 5 rows in turn, with either inflate.
  for (const Inflater inflater : {Inflater::isal, Inflater::zlib}) {
    auto s = open_streams(path, 1, "node \"s\" (raster_source)", inflater);
    REQUIRE(s.streams != nullptr);
    CHECK(wrong_in_two_threads(*s.rows, 200, 256, 5, whole) == 0);
    CHECK(s.rows->stats().rows_decoded >= 4);  // 256 rows in units of 64
    CHECK(s.rows->stats().rows_decoded <= 4 + 2);
  }
}

TEST_CASE("TiffTiles.DamagedTileNamesNodeFileTileAndRows") {
  test::TempDir dir;
  const std::string path = write_tiff(dir, "d.tif", "Float32", 128, 128,
                                      {"COMPRESS=DEFLATE", "TILED=YES", "BLOCKXSIZE=64", "BLOCKYSIZE=64"});
  GDALDatasetH ds = GDALOpen(path.c_str(), GA_ReadOnly);
  const long offset = std::atol(GDALGetMetadataItem(GDALGetRasterBand(ds, 1), "BLOCK_OFFSET_1_1", "TIFF"));
  GDALClose(ds);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(offset + 2);  // past the zlib header: damaged DEFLATE blocks
    const std::string garbage(64, '\xff');
    f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  for (const Inflater inflater : {Inflater::isal, Inflater::zlib}) {
    auto s = open_streams(path, 1, "node \"t\" (raster_source)", inflater);
    REQUIRE_MESSAGE(s.streams != nullptr, s.why);  // the first tile is intact
    std::vector<double> buf(128 * 8);
    s.rows->read(0, 0, 128, 8, buf.data());
    const std::string expected = "node \"t\" (raster_source): reading " + path +
                                 " tile 1 of tile row 1 (rows 64-127) failed: the tile's DEFLATE data is damaged";
    CHECK_THROWS_WITH_AS(s.rows->read(0, 70, 128, 8, buf.data()), doctest::Contains(expected.c_str()), IoError);
    CHECK_THROWS_AS(s.rows->read(0, 70, 128, 2, buf.data()), IoError);  // again, and nothing hangs
  }
}

TEST_CASE("TiffTiles.FailureMidTileRestartsTheTile") {
  // One column of 64 x 256 tiles in units of 64 rows, with incompressible-looking values.
  test::TempDir dir;
  const test::RasterSpec spec{.width = 64,
                              .height = 256,
                              .type = "Float32",
                              .creation_options = {"TILED=YES", "BLOCKXSIZE=64", "BLOCKYSIZE=256", "COMPRESS=DEFLATE"}};
  std::vector<double> values(64 * 256);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<double>((i * 2654435761u) % 1000003u) / 7.0;
  const std::string path = (dir / "t.tif").string();
  test::write_raster(path, spec, {values});
  const auto whole = gdal_band_window(path, 1, 0, 0, 64, 256);
  GDALDatasetH ds = GDALOpen(path.c_str(), GA_ReadOnly);
  const auto offset = std::stoull(GDALGetMetadataItem(GDALGetRasterBand(ds, 1), "BLOCK_OFFSET_0_0", "TIFF"));
  const auto size = std::stoull(GDALGetMetadataItem(GDALGetRasterBand(ds, 1), "BLOCK_SIZE_0_0", "TIFF"));
  GDALClose(ds);
  auto s = open_streams(path);
  REQUIRE_MESSAGE(s.streams != nullptr, s.why);
  REQUIRE(s.streams->unit_rows() == 64);
  // The file loses the second half of the tile's data for a moment: decoding stops inside it.
  const auto cut = static_cast<std::uintmax_t>(offset + size / 2);
  const std::string full = test::read_text(path);
  std::filesystem::resize_file(path, cut);
  std::vector<double> buf(64 * 64);
  CHECK_THROWS_AS(s.rows->read(0, 192, 64, 64, buf.data()), IoError);
  test::write_text(path, full);
  // Back whole: the unit decodes from the tile's start again, not from where the stream stopped.
  s.rows->read(0, 192, 64, 64, buf.data());
  CHECK(std::equal(buf.begin(), buf.end(), whole.begin() + 192 * 64));
}

namespace {
// Flips the last byte of a tile's data (`block` as in GDAL's "BLOCK_OFFSET_<x>_<y>"): the end
// of its zlib checksum, so its rows still inflate.
void flip_checksum_byte(const std::string& path, const std::string& block) {
  GDALDatasetH ds = GDALOpen(path.c_str(), GA_ReadOnly);
  const auto offset =
      std::stoull(GDALGetMetadataItem(GDALGetRasterBand(ds, 1), ("BLOCK_OFFSET_" + block).c_str(), "TIFF"));
  const auto size = std::stoull(GDALGetMetadataItem(GDALGetRasterBand(ds, 1), ("BLOCK_SIZE_" + block).c_str(), "TIFF"));
  GDALClose(ds);
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset + size - 1));
  char last = 0;
  f.get(last);
  f.seekp(static_cast<std::streamoff>(offset + size - 1));
  f.put(static_cast<char>(last ^ 0x5a));
}

}  // namespace

TEST_CASE("TiffTiles.EachTilesChecksumIsChecked") {
  // The last byte of a tile's data is the end of its zlib checksum: its rows still inflate,
  // but the tile's last unit must fail (as GDAL fails that block), not pass on wrong data.
  test::TempDir dir;
  const std::string path =
      write_tiff(dir, "c.tif", "Int16", 128, 128, {"COMPRESS=DEFLATE", "TILED=YES", "BLOCKXSIZE=64", "BLOCKYSIZE=64"});
  flip_checksum_byte(path, "0_1");
  for (const Inflater inflater : {Inflater::isal, Inflater::zlib}) {
    auto s = open_streams(path, 1, "node \"s\" (raster_source)", inflater);
    REQUIRE_MESSAGE(s.streams != nullptr, s.why);
    REQUIRE(s.streams->unit_rows() == 32);
    std::vector<double> buf(128 * 64);
    s.rows->read(0, 0, 128, 64, buf.data());  // tile row 0 is intact
    const std::string expected =
        "reading " + path +
        " tile 0 of tile row 1 (rows 64-127) failed: the tile's DEFLATE checksum does not match its data";
    CHECK_THROWS_WITH_AS(s.rows->read(0, 96, 128, 32, buf.data()), doctest::Contains(expected.c_str()), IoError);
  }
  std::vector<double> gdal(64 * 64);
  GDALDatasetH ds = GDALOpen(path.c_str(), GA_ReadOnly);
  CPLPushErrorHandler(CPLQuietErrorHandler);
  CHECK(GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Read, 0, 64, 64, 64, gdal.data(), 64, 64, GDT_Float64, 0, 0) !=
        CE_None);
  CPLPopErrorHandler();
  GDALClose(ds);
}

TEST_CASE("TiffTiles.BottomTilesReadAsGdalReadsThem") {
  // 80 rows in 64-row tiles of 32-row units: the bottom tiles' second unit lies wholly below
  // the band. GDAL decodes only the band's rows of a bottom tile, so it never reaches that
  // tile's checksum: a wrong one passes GDAL, and it passes here too, with the same values.
  test::TempDir dir;
  const std::string path =
      write_tiff(dir, "b.tif", "Int16", 128, 80, {"COMPRESS=DEFLATE", "TILED=YES", "BLOCKXSIZE=64", "BLOCKYSIZE=64"});
  flip_checksum_byte(path, "1_1");
  auto s = open_streams(path);
  REQUIRE_MESSAGE(s.streams != nullptr, s.why);
  REQUIRE(s.streams->unit_rows() == 32);
  std::vector<double> ours(128 * 80);
  s.rows->read(0, 0, 128, 80, ours.data());
  CHECK(ours == gdal_window(path, 0, 0, 128, 80));
}

TEST_CASE("BlockRows.WindowsEqualGdalRasterIO") {
  test::TempDir dir;
  for (const std::string type : {"Byte", "Int16", "UInt32", "Float32"}) {
    CAPTURE(type);
    const std::string path = write_field(dir, type, 70, 45);
    Handles handles{path};
    nodes::BlockRows rows(
        layout_of(path), [&] { return handles.band(); }, "node \"s\" (raster_source)", path);
    CHECK(rows.block_rows() == 3);
    CHECK(rows.row_bytes() == static_cast<std::size_t>(5 * 16 * 16 * GDALGetDataTypeSizeBytes(layout_of(path).type)));
    // Windows that start and end inside blocks, span block rows and columns, and touch the edges.
    for (const auto& [c0, r0, cols, rows_n] : std::vector<std::array<int, 4>>{
             {0, 0, 70, 45}, {3, 5, 20, 30}, {15, 15, 2, 2}, {60, 40, 10, 5}, {33, 17, 1, 28}}) {
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
  nodes::BlockRows rows(
      layout_of(path), [&] { return handles.band(); }, "node \"s\" (raster_source)", path);
  std::vector<double> buf(50 * 3);
  for (int r = 0; r < 64; r += 3) {
    const auto hold = rows.hold(r, r + 3);
    rows.read(0, r, 50, std::min(3, 64 - r), buf.data());
  }
  CHECK(rows.stats().rows_decoded == 4);  // 64 rows in blocks of 16: every block row once
  CHECK(rows.stats().rows_live_peak <= 2);
}

TEST_CASE("BlockRows.RowsKeptBehindForLateTilesFollowTheCap") {
  // Block rows asked for in raster order, with a tile that starts two rows late after every
  // third (as the flow graph may start one): with two rows kept behind (block_rows with 2
  // threads) only the first late tile decodes its row again (the rows kept grow to the distance
  // seen); with one kept (lean_block_rows) every late tile does.
  const nodes::BlockRows::Layout layout{16, 16 * 12, 16, 16, GDT_Float32};
  const auto late_tiles_redecoded = [&](int cap) {
    std::atomic<int> decoded{0};
    nodes::BlockRows rows(
        layout,
        [&](std::int64_t row, std::int64_t, std::byte* dst) {
          ++decoded;
          std::vector<float> block(16 * 16, static_cast<float>(row));
          std::memcpy(dst, block.data(), block.size() * sizeof(float));
        },
        "node \"s\" (raster_source)", "f.tif", cap);
    std::vector<double> buf(16 * 16);
    for (int r = 0; r < 12; ++r) {
      { const auto hold = rows.hold(r * 16, r * 16 + 16); }
      if (r % 3 == 2) {
        const auto hold = rows.hold((r - 2) * 16, (r - 2) * 16 + 16);
        rows.read(0, (r - 2) * 16, 16, 16, buf.data());
        CHECK(buf[0] == static_cast<double>(r - 2));
      }
    }
    CHECK(rows.stats().rows_decoded == decoded.load());
    return decoded.load() - 12;
  };
  CHECK(late_tiles_redecoded(2) == 1);
  CHECK(late_tiles_redecoded(1) == 4);
}

TEST_CASE("BlockRows.ThreadsShareTheDecoding") {
  test::TempDir dir;
  const std::string path = write_field(dir, "Int16", 300, 200);
  const auto whole = gdal_window(path, 0, 0, 300, 200);
  Handles handles{path};
  nodes::BlockRows rows(
      layout_of(path), [&] { return handles.band(); }, "node \"s\" (raster_source)", path);
  CHECK(wrong_in_two_threads(rows, 300, 200, 4, whole) == 0);
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
  nodes::BlockRows rows(
      layout, [&] { return handles.band(); }, "node \"t\" (raster_source)", path);
  std::vector<double> buf(64 * 16);
  rows.read(0, 0, 64, 16, buf.data());  // block row 0 is intact
  const std::string expected =
      "node \"t\" (raster_source): reading " + path + " block 0 of block row 2 (rows 32-47) failed";
  CHECK_THROWS_WITH_AS(rows.read(0, 32, 64, 16, buf.data()), doctest::Contains(expected.c_str()), IoError);
  // The failed row is not kept: asking again fails again (and nothing hangs).
  CHECK_THROWS_AS(rows.read(0, 40, 64, 2, buf.data()), IoError);
}
