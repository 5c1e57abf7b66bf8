#pragma once
// A tiled GeoTIFF's tiles decoded a few rows at a time.
//
// A raster-order table needs every column of a grid row before the next row, so a source
// stored in 256 x 256 tiles would have to keep a whole row of decoded tiles (256 rows across
// the file's full width: 35 MiB for a 36,000-pixel-wide Float32 band) while tiles of a few
// grid rows pass through it. DEFLATE is a stream, and TIFF's predictors work row by row, so a
// tile can be decoded a few rows (`unit_rows`) at a time instead: each tile column keeps its inflate
// state (ISA-L's, with the 32 KiB of history DEFLATE needs; or zlib's, smaller but slower, for
// tight memory limits; docs/how-it-runs.md has the figures) and where it stopped in the
// file, and memory follows the rows in use, not the tiles' height. Uncompressed tiles are read
// row range by row range.
//
// Only what GDAL would decode the same way is taken: the GTiff driver's own file, tiled or
// stripped, DEFLATE or no compression, predictor 1, 2 (integers) or 3 (floating point), one
// sample per pixel or band interleaving, whole-byte samples, no sparse tiles, FillOrder 1 and
// the usual orientation (tags and tile tables as libtiff, GDAL's TIFF library, reads them),
// every tile's data inside the file. Anything else is left to GDAL (`open` says why), and one
// whole block of the first row (the one with the most compressed data) decoded here is checked
// against GDAL's own decoding of it before the streams are used. The file is untrusted: every
// size read from it is bounded before anything is sized from it (kMaxTileBytes, kMaxTiles).
#include <gdal.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace rasterflow::nodes {

class TiffTileStreams {
 public:
  // Which inflate keeps each tile column's stream: ISA-L (fast, the larger state) or zlib
  // (slower, a smaller state: for limits too tight for ISA-L's states). Tiles that GDAL
  // decodes only in part (some of the bottom row's, see gdal_rows) go through zlib either way.
  enum class Inflater { isal, zlib };

  // Streams for band `band_index` of the dataset `ds` opened from `path`, or null with the
  // reason in `why`. `where` names the node in errors. Units of at most `max_unit_rows` rows.
  // `check`: decode the first block and compare it with GDAL's decoding (false only to size
  // streams that are not used: every stream that decodes is checked).
  static std::unique_ptr<TiffTileStreams> open(GDALDatasetH ds, const std::string& path, int band_index,
                                               std::string where, std::string* why, int max_unit_rows = 64,
                                               Inflater inflater = Inflater::isal, bool check = true);
  ~TiffTileStreams();
  TiffTileStreams(const TiffTileStreams&) = delete;
  TiffTileStreams& operator=(const TiffTileStreams&) = delete;

  // Rows decoded per call: the largest of 64, 32 or 16 (up to max_unit_rows) that divides the
  // tiles' height (TIFF's are multiples of 16).
  int unit_rows() const { return unit_rows_; }
  Inflater inflater() const { return inflater_; }
  std::int64_t tiles_across() const { return tiles_across_; }
  // Bytes kept between calls: the inflate states of one row of tiles, and the tile tables.
  std::size_t state_bytes() const;
  // Bytes a thread keeps between calls, for any stream (its thread_local buffers: compressed
  // input, the rows below a bottom tile, the predictor's row): the planner's thread state.
  std::size_t thread_bytes() const;

  // Decodes rows [unit * unit_rows, +unit_rows) of tile column `column` (tile_width x unit_rows
  // samples in the file's data type, native byte order) into `dst`. Any order is correct;
  // increasing units per column decode each tile once, going back restarts the tile.
  void decode(std::int64_t unit, std::int64_t column, std::byte* dst);

 private:
  struct Column;
  TiffTileStreams() = default;
  // The steps of open, in this order: each returns "" or why the file is left to GDAL.
  // GDAL's metadata: block size, unit rows, compression, predictor, interleaving, sample type.
  std::string read_metadata(GDALDatasetH ds, GDALRasterBandH band, int max_unit_rows);
  // Opens the file and reads its byte order.
  std::string read_header();
  // The band's size and the tiles' (bounded here), then the tile tables (read_layout).
  std::string read_sizes(GDALRasterBandH band, int band_index);
  // Decodes one block here and compares it with GDAL's decoding of it (see the file comment).
  std::string check_against_gdal(GDALRasterBandH band);

  void fill(Column& c, std::int64_t tile, std::int64_t unit_in_tile, std::byte* dst);
  // Reads the unit's rows of an uncompressed tile, zeros past the band's last strip.
  void read_uncompressed(std::int64_t tile, std::int64_t unit_in_tile, std::byte* dst);
  // (Re)starts the column's inflate stream at the start of the tile's data.
  void start_tile(Column& c, std::int64_t tile);
  // After the unit asked for: the rows below the band that GDAL decodes, and the checks at the
  // end of what GDAL decodes (check_after_gdal_rows) or of the tile (finish).
  void after_unit(Column& c, std::int64_t tile, std::int64_t unit_in_tile);
  // Inflates the column's stream into out[0, size) until it is full or the stream ends; returns
  // the bytes written. Throws on damaged or missing data (data that stops before the stream's
  // end too, unless `cut_short_ok`).
  std::size_t inflate_into(Column& c, std::int64_t tile, std::uint8_t* out, std::size_t size,
                           bool cut_short_ok = false);
  // The column's next compressed bytes (about as many as `want` bytes of output would take),
  // read into a buffer of the calling thread's; empty at the end of the tile's data.
  std::span<const std::uint8_t> read_compressed(Column& c, std::int64_t tile, std::size_t want);
  void inflate_rows(Column& c, std::int64_t tile, std::byte* dst);
  void finish(Column& c, std::int64_t tile);
  // After the rows GDAL's read of the block decodes, when they end before the tile: what
  // libtiff's inflate sees next (see gdal_rows).
  void check_after_gdal_rows(Column& c, std::int64_t tile);
  void undo_predictor(std::byte* rows) const;
  [[noreturn]] void fail(std::int64_t tile_col, std::int64_t tile_row, const std::string& what) const;
  // Reads the tile tables and checks the tags through libtiff: "" or why the file is left to GDAL.
  std::string read_layout(int band_index, std::uint64_t tiles);
  // Tile k's entries in the tables against the file's size and libtiff's limits: "" or why
  // GDAL would fail the tile. `tile` names it in the reason.
  std::string check_tile_data(std::uint64_t k, std::int64_t tile_row, const std::string& tile) const;
  std::int64_t stored_rows(std::int64_t tile_row) const;  // rows of a tile (strip) in the file
  // Rows of a tile (strip) that GDALReadBlock has libtiff decode: the whole tile, but in the
  // bottom row of tiles when it is partly below the band (see the .cpp).
  std::int64_t gdal_rows(std::int64_t tile_row) const;
  std::uint64_t stored_bytes(std::int64_t tile_row) const;

  // Bounds on sizes read from the file, checked before anything is sized from them: a tile
  // (decoded whole once, to check it against GDAL), and the tiles of a band (two 8-byte table
  // entries each, counted in state_bytes()).
  static constexpr std::uint64_t kMaxTileBytes = std::uint64_t{16} << 20;
  static constexpr std::uint64_t kMaxTiles = std::uint64_t{1} << 22;

  std::string path_;
  std::string where_;
  int fd_ = -1;
  bool deflate_ = false;
  bool tiled_ = true;  // else strips: the last one holds only the band's rows
  std::uint64_t file_size_ = 0;
  Inflater inflater_ = Inflater::isal;
  int predictor_ = 1;
  bool swapped_ = false;  // the file's byte order is not this machine's
  GDALDataType type_ = GDT_Unknown;
  int sample_bytes_ = 0;
  int tile_width_ = 0;
  int tile_height_ = 0;
  int unit_rows_ = 0;
  std::int64_t height_ = 0;  // the band's
  std::int64_t tiles_across_ = 0;
  std::int64_t tiles_down_ = 0;
  std::vector<std::uint64_t> offsets_;  // per tile, row-major
  std::vector<std::uint64_t> sizes_;
  std::vector<std::unique_ptr<Column>> columns_;
};

}  // namespace rasterflow::nodes
