#pragma once
// TIFF files written byte by byte, for tests of readers facing damaged or hostile files: every
// field (tile tables, byte counts, fill order, sizes claimed) is whatever the test says, true or
// not. Georeferenced in EPSG:4326 (pixel scale 1, origin at the top left (0, height)) so that a
// raster_source accepts the file.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace rasterflow::test {

struct TiffBuild {
  std::uint32_t width = 64;
  std::uint32_t height = 64;
  std::uint32_t block_width = 32;   // tiles; for strips the image width
  std::uint32_t block_height = 32;  // tile height or rows per strip
  bool tiled = true;
  bool bigtiff = false;
  std::uint16_t bits = 16;
  std::uint16_t sample_format = 2;  // 1 unsigned, 2 signed, 3 floating point
  std::uint16_t compression = 1;    // 1 none, 8 DEFLATE
  std::optional<std::uint16_t> fill_order;
  std::vector<std::string> blocks;  // each block's stored bytes, in the tables' order
  // Table entries written instead of the true ones (same length as blocks), when not empty.
  std::vector<std::uint64_t> offsets;
  std::vector<std::uint64_t> counts;
  // Entries the tables claim, when more than blocks.size(): the tables then point past the
  // end of the file.
  std::uint64_t claimed_blocks = 0;
};

void write_tiff(const std::filesystem::path& path, const TiffBuild& build);

// The blocks of `values` (row-major width x height, Int16), cut as `build` says (partial blocks
// padded with zeros, as GDAL writes them), uncompressed or zlib-compressed.
std::vector<std::string> int16_blocks(const TiffBuild& build, const std::vector<std::int16_t>& values, bool deflate);

}  // namespace rasterflow::test
