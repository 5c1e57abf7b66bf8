// Hostile and damaged GeoTIFFs against the hand-written tile reader (nodes/read/tiff_tiles):
// each case gives GDAL's exact values, or fails with the file named and nothing under the final
// name; never other values, and never a huge allocation. Files are written byte by byte
// (tests/support/tiff_builder), so their tables say whatever the case needs.
#include <doctest/doctest.h>

#include <gdal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>

#include "nodes/read/tiff_tiles.hpp"
#include "rasterflow/errors.hpp"
#include "support/test_support.hpp"
#include "support/tiff_builder.hpp"

using namespace rasterflow;
using Inflater = nodes::TiffTileStreams::Inflater;

namespace {

std::vector<std::int16_t> field(std::uint32_t width, std::uint32_t height) {
  std::vector<std::int16_t> v(static_cast<std::size_t>(width) * height);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::int16_t>(1 + (i * 37) % 30011);
  return v;
}

// Streams on band 1, or null with the reason in `why`.
std::unique_ptr<nodes::TiffTileStreams> streams_of(const std::string& path, std::string& why,
                                                   Inflater inflater = Inflater::isal) {
  GDALAllRegister();
  GDALDatasetH ds = GDALOpen(path.c_str(), GA_ReadOnly);
  REQUIRE(ds != nullptr);
  auto s = nodes::TiffTileStreams::open(ds, path, 1, "node \"s\" (raster_source)", &why, 64, inflater);
  GDALClose(ds);
  return s;
}

// Every block decoded through the streams (unit by unit) equals GDALReadBlock's, in the rows
// inside the band.
void check_blocks_equal_gdal(nodes::TiffTileStreams& s, const std::string& path, int block_width, int block_height,
                             int type_bytes) {
  GDALDatasetH ds = GDALOpen(path.c_str(), GA_ReadOnly);
  GDALRasterBandH band = GDALGetRasterBand(ds, 1);
  const int height = GDALGetRasterBandYSize(band);
  const int units = block_height / s.unit_rows();
  const std::size_t row_bytes = static_cast<std::size_t>(block_width) * static_cast<std::size_t>(type_bytes);
  std::vector<std::byte> gdal(row_bytes * static_cast<std::size_t>(block_height));
  std::vector<std::byte> ours(row_bytes * static_cast<std::size_t>(s.unit_rows()));
  for (int by = 0; by * block_height < height; ++by) {
    for (int bx = 0; bx < s.tiles_across(); ++bx) {
      CAPTURE(bx);
      CAPTURE(by);
      REQUIRE(GDALReadBlock(band, bx, by, gdal.data()) == CE_None);
      for (int u = 0; u < units; ++u) {
        const int rows = std::clamp(height - (by * block_height + u * s.unit_rows()), 0, s.unit_rows());
        if (rows == 0) break;
        s.decode(by * units + u, bx, ours.data());
        CHECK(std::memcmp(gdal.data() + static_cast<std::size_t>(u) * ours.size(), ours.data(),
                          row_bytes * static_cast<std::size_t>(rows)) == 0);
      }
    }
  }
  GDALClose(ds);
}

struct Child {
  int code = -1;
  long max_rss_kib = 0;
  double seconds = 0;
  std::string output;
};

// Runs the rasterflow binary, measuring its own peak RSS (wait4's rusage of that one child).
Child run_measured(const std::string& args) {
  Child c;
  const std::string log =
      std::filesystem::temp_directory_path() / ("rasterflow-untrusted-" + std::to_string(::getpid()) + ".log");
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const std::string command = std::string("exec ") + RASTERFLOW_CLI + " " + args + " > " + log + " 2>&1";
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  rusage usage{};
  REQUIRE(::wait4(pid, &status, 0, &usage) == pid);
  c.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  c.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  c.max_rss_kib = usage.ru_maxrss;
  c.output = test::read_text(log);
  std::filesystem::remove(log);
  return c;
}

// A graph reading `file` (nearest, onto the file's own 1-degree cells in `extent`) into out.csv.
std::string graph_of(const std::string& file, const std::string& extent) {
  return R"({"grid": {"crs": "EPSG:4326", "resolution": 1, "extent": )" + extent + R"(}, "nodes": [
    {"id": "src", "type": "raster_source", "path": ")" +
         file + R"("},
    {"id": "v", "type": "resample", "inputs": ["src"], "method": "nearest"},
    {"id": "m", "type": "merge", "inputs": ["v"]},
    {"id": "table", "type": "csv_sink", "inputs": ["m"], "path": "out.csv"}]})";
}

// Runs graph_of(file) in `dir` under `--memory-limit limit`.
Child run_file(const test::TempDir& dir, const std::string& file, const std::string& extent,
               const std::string& limit = "1GiB") {
  test::write_text(dir / "graph.json", graph_of(file, extent));
  std::filesystem::remove_all(dir / "o");
  return run_measured("run " + (dir / "graph.json").string() + " --output-dir " + (dir / "o").string() +
                      " --set metrics.backend=none --memory-limit " + limit);
}

bool no_output(const test::TempDir& dir) {
  return !std::filesystem::exists(dir / "o/out.csv") && !std::filesystem::exists(dir / "o/out.csv.partial");
}

std::string reversed_bits(std::string bytes) {
  for (auto& ch : bytes) {
    auto b = static_cast<unsigned char>(ch);
    b = static_cast<unsigned char>((b * 0x0202020202ULL & 0x010884422010ULL) % 1023);
    ch = static_cast<char>(b);
  }
  return bytes;
}

}  // namespace

TEST_CASE("Untrusted.ShortCountsOfUncompressedUnitsReadWholeAsLibtiff") {
  test::TempDir dir;
  for (const bool tiled : {true, false}) {
    CAPTURE(tiled);
    test::TiffBuild b{
        .width = 64, .height = tiled ? 64u : 80u, .block_width = tiled ? 32u : 64u, .block_height = 32, .tiled = tiled};
    const auto values = field(b.width, b.height);
    b.blocks = test::int16_blocks(b, values, false);
    for (const auto& block : b.blocks) b.counts.push_back(block.size());
    b.counts[1] /= 2;  // the data is all there; only its count is short
    const std::string path = (dir / (tiled ? "tiles.tif" : "strips.tif")).string();
    test::write_tiff(path, b);
    std::string why;
    auto s = streams_of(path, why);
    REQUIRE_MESSAGE(s != nullptr, why);
    check_blocks_equal_gdal(*s, path, static_cast<int>(b.block_width), static_cast<int>(b.block_height), 2);
    // And the whole run writes the same table as from the file with true counts.
    b.counts.clear();
    test::write_tiff(dir / "true.tif", b);
    const std::string extent = "[0, 0, 64, " + std::to_string(b.height) + "]";
    REQUIRE(run_file(dir, path, extent).code == 0);
    const std::string damaged = test::read_text(dir / "o/out.csv");
    REQUIRE(run_file(dir, (dir / "true.tif").string(), extent).code == 0);
    CHECK(damaged == test::read_text(dir / "o/out.csv"));
    CHECK(damaged.size() > 64 * 64 * 5);
  }
}

TEST_CASE("Untrusted.ShortBottomTileFailsTheRunNamingTheFile") {
  test::TempDir dir;
  test::TiffBuild b;
  b.blocks = test::int16_blocks(b, field(64, 64), false);
  b.blocks.back().resize(b.blocks.back().size() / 2);  // the file ends half-way through the last tile
  const std::string path = (dir / "cut.tif").string();
  test::write_tiff(path, b);
  std::string why;
  CHECK(streams_of(path, why) == nullptr);
  CHECK_MESSAGE(why.find("tile 1_1's data (2048 bytes at offset") != std::string::npos, why);
  CHECK_MESSAGE(why.find("runs past the end of the file") != std::string::npos, why);
  GDALDatasetH ds = GDALOpen(path.c_str(), GA_ReadOnly);
  std::vector<std::int16_t> block(32 * 32);
  CHECK(GDALReadBlock(GDALGetRasterBand(ds, 1), 1, 1, block.data()) != CE_None);  // GDAL fails it too
  GDALClose(ds);
  const Child c = run_file(dir, path, "[0, 0, 64, 64]");
  CHECK(c.code == 1);
  CHECK_MESSAGE(
      c.output.find("node \"src\" (raster_source): reading " + path + " block 1 of block row 1") != std::string::npos,
      c.output);
  CHECK(no_output(dir));
}

TEST_CASE("Untrusted.FillOrder2IsLeftToGdal") {
  test::TempDir dir;
  for (const std::uint16_t compression : {std::uint16_t{1}, std::uint16_t{8}}) {
    CAPTURE(compression);
    test::TiffBuild b{.compression = compression};
    const auto values = field(64, 64);
    b.blocks = test::int16_blocks(b, values, compression == 8);
    test::write_tiff(dir / "plain.tif", b);
    // FillOrder 2: libtiff reverses the bits of every stored byte before decoding.
    for (auto& block : b.blocks) block = reversed_bits(block);
    b.fill_order = 2;
    const std::string path = (dir / "fill2.tif").string();
    test::write_tiff(path, b);
    std::string why;
    CHECK(streams_of(path, why) == nullptr);
    CHECK_MESSAGE(why.find("FillOrder 2") != std::string::npos, why);
    REQUIRE(run_file(dir, path, "[0, 0, 64, 64]").code == 0);
    const std::string reversed = test::read_text(dir / "o/out.csv");
    REQUIRE(run_file(dir, (dir / "plain.tif").string(), "[0, 0, 64, 64]").code == 0);
    CHECK(reversed == test::read_text(dir / "o/out.csv"));
  }
}

TEST_CASE("Untrusted.PlanSaysWhyAFileIsLeftToGdal") {
  test::TempDir dir;
  test::TiffBuild b{.fill_order = 2};
  b.blocks = test::int16_blocks(b, field(64, 64), false);
  const std::string path = (dir / "fill2.tif").string();
  test::write_tiff(path, b);
  test::write_text(dir / "graph.json", graph_of(path, "[0, 0, 64, 64]"));
  std::string plan;
  REQUIRE(test::run_cli("plan " + (dir / "graph.json").string(), &plan) == 0);
  CHECK_MESSAGE(plan.find("not in streams: FillOrder 2") != std::string::npos, plan);
}

TEST_CASE("Untrusted.HugeTileCountsClaimedAreRefusedBeforeAllocating" * doctest::timeout(60)) {
  test::TempDir dir;
  // 2^20 x 2^20 pixels in 64 x 64 tiles: tables of 2^28 entries, in a file of a few hundred bytes.
  test::TiffBuild b{.width = 1u << 20,
                    .height = 1u << 20,
                    .block_width = 64,
                    .block_height = 64,
                    .claimed_blocks = std::uint64_t{1} << 28};
  b.blocks = {std::string(64 * 64 * 2, '\x01')};
  const std::string path = (dir / "claims.tif").string();
  test::write_tiff(path, b);
  CHECK(std::filesystem::file_size(path) < 9000);
  std::string why;
  CHECK(streams_of(path, why) == nullptr);
  CHECK_MESSAGE(why.find("its tile tables claim 16384 x 16384 tiles, more than the file's") != std::string::npos, why);
  const std::string corner = "[0, " + std::to_string((1 << 20) - 64) + ", 128, " + std::to_string(1 << 20) + "]";
  const Child c = run_file(dir, path, corner);
  MESSAGE("huge tile count: exit " << c.code << ", " << c.seconds << " s, peak RSS " << c.max_rss_kib / 1024 << " MiB");
  CHECK((c.code == 1 || c.code == 2));
  CHECK_MESSAGE(c.output.find(path) != std::string::npos, c.output);
  CHECK(c.output.find("bad_alloc") == std::string::npos);
  CHECK(c.max_rss_kib < 1024 * 1024);
  CHECK(c.seconds < 10);
  CHECK(no_output(dir));
}

TEST_CASE("Untrusted.HugeTileSizeClaimedIsRefusedBeforeAllocating" * doctest::timeout(60)) {
  test::TempDir dir;
  // One Float32 tile of 65,520 x 32,768 (8 GiB decoded) in a file of a few hundred bytes.
  test::TiffBuild b{.width = 65520,
                    .height = 32768,
                    .block_width = 65520,
                    .block_height = 32768,
                    .bits = 32,
                    .sample_format = 3,
                    .compression = 8};
  b.blocks = {std::string("\x78\x9c\x01\x02\x00\xfd\xff\x00\x00\x00\x02\x00\x01", 13)};
  const std::string path = (dir / "bigtile.tif").string();
  test::write_tiff(path, b);
  std::string why;
  CHECK(streams_of(path, why) == nullptr);  // no check buffer: the tile is over the reader's cap
  CHECK_MESSAGE(why.find("blocks of 65520 x 32768 samples, larger than the 16 MiB checked here") != std::string::npos,
                why);
  const Child c = run_file(dir, path, "[0, 32000, 100, 32768]");
  MESSAGE("huge tile: exit " << c.code << ", " << c.seconds << " s, peak RSS " << c.max_rss_kib / 1024 << " MiB");
  CHECK(c.code == 2);
  CHECK_MESSAGE(c.output.find("node \"src\" (raster_source): option \"path\": " + path +
                              " is stored in blocks of 65520 x 32768 Float32 samples") != std::string::npos,
                c.output);
  CHECK(c.max_rss_kib < 1024 * 1024);
  CHECK(c.seconds < 10);
  CHECK(no_output(dir));
}

TEST_CASE("Untrusted.CountsPastTheEndOfTheFileAndWrappingOffsets") {
  test::TempDir dir;
  for (const bool big : {false, true}) {
    CAPTURE(big);
    test::TiffBuild b{.bigtiff = big, .compression = 8};
    b.blocks = test::int16_blocks(b, field(64, 64), true);
    for (const auto& block : b.blocks) b.counts.push_back(block.size());
    b.counts[3] += 100000;  // past the end of the file
    const std::string path = (dir / "past.tif").string();
    test::write_tiff(path, b);
    std::string why;
    CHECK(streams_of(path, why) == nullptr);
    CHECK_MESSAGE(why.find("tile 1_1's data") != std::string::npos, why);
    CHECK_MESSAGE(why.find("runs past the end of the file") != std::string::npos, why);
    const Child c = run_file(dir, path, "[0, 0, 64, 64]");
    CHECK(c.code == 1);  // GDAL fails the block too
    CHECK_MESSAGE(c.output.find("reading " + path + " block 1 of block row 1") != std::string::npos, c.output);
    CHECK(no_output(dir));
  }
  // Offset + count wrapping 2^64 (BigTIFF's 64-bit tables).
  test::TiffBuild b{.bigtiff = true, .compression = 8};
  b.blocks = test::int16_blocks(b, field(64, 64), true);
  for (const auto& block : b.blocks) b.counts.push_back(block.size());
  b.offsets = {16, 16, 16, ~std::uint64_t{0} - 8};
  b.counts[3] = 64;
  const std::string path = (dir / "wrap.tif").string();
  test::write_tiff(path, b);
  std::string why;
  CHECK(streams_of(path, why) == nullptr);
  CHECK_MESSAGE(why.find("tile 1_1's data (64 bytes at offset 18446744073709551607) runs past the end of the file") !=
                    std::string::npos,
                why);
}

TEST_CASE("Untrusted.BothInflatersRefuseAnInvalidZlibHeader") {
  test::TempDir dir;
  test::TiffBuild b{.compression = 8};
  b.blocks = test::int16_blocks(b, field(64, 64), true);
  // Tile 0_1: a window size of 2^23 (CINFO 15), with the header's check bits right. ISA-L would
  // decode it; zlib and libdeflate (GDAL) refuse it.
  std::string& z = b.blocks[2];
  z[0] = '\xf8';
  for (int flg = 0; flg < 256; ++flg) {
    if (((0xf8 << 8) | flg) % 31 == 0 && (flg & 0x20) == 0) {
      z[1] = static_cast<char>(flg);
      break;
    }
  }
  const std::string path = (dir / "window.tif").string();
  test::write_tiff(path, b);
  GDALDatasetH ds = GDALOpen(path.c_str(), GA_ReadOnly);
  std::vector<std::int16_t> block(32 * 32);
  CHECK(GDALReadBlock(GDALGetRasterBand(ds, 1), 0, 1, block.data()) != CE_None);
  GDALClose(ds);
  for (const Inflater inflater : {Inflater::isal, Inflater::zlib}) {
    std::string why;
    auto s = streams_of(path, why, inflater);
    REQUIRE_MESSAGE(s != nullptr, why);  // the first row of tiles is intact
    std::vector<std::byte> unit(32 * static_cast<std::size_t>(s->unit_rows()) * 2);
    CHECK_THROWS_WITH_AS(s->decode(32 / s->unit_rows(), 0, unit.data()),
                         doctest::Contains(("reading " + path +
                                            " tile 0 of tile row 1 (rows 32-63) failed: the tile's DEFLATE data does "
                                            "not start with a valid zlib header")
                                               .c_str()),
                         IoError);
    s->decode(32 / s->unit_rows(), 1, unit.data());  // its neighbour is fine
  }
}
