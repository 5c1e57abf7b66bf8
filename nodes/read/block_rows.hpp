#pragma once
// Decoded rows of one raster band's blocks, shared by every thread.
//
// Tiles are thin bands of grid rows, and a source's blocks (256 x 256 in a tiled GeoTIFF) span
// many of them. Through GDAL's block cache every thread's dataset handle would decode and keep
// its own copy of the same blocks. Here a row of blocks is decoded once, its blocks shared out
// between the threads that ask for it at the same moment (each decodes some of them through its
// own handle with GDALReadBlock, which bypasses GDAL's cache), held while tiles use it and
// released once no tile holds it and the row after next has been asked for (tiles come in
// raster order, give or take one). A released buffer is kept for the next row, so decoding does
// not page-fault fresh memory. In a steady run the rows alive are the highest asked for and the
// few rows behind it that late tiles have been seen to need.
//
// A "row" is whatever unit the decoder gives: a row of the file's blocks through GDAL, or a few
// rows of every tile when TiffTileStreams decodes tiles a unit at a time (then Layout's
// block_height is the unit's height). Rows are decoded in order: a thread about to decode a row
// first helps finish the rows above it still being decoded, so streams never go back.
#include <gdal.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace rasterflow::nodes {

class BlockDecoder;

class BlockRows {
 public:
  struct Layout {
    std::int64_t width = 0;  // band size in pixels
    std::int64_t height = 0;
    int block_width = 0;  // the file's native tiling
    int block_height = 0;
    GDALDataType type = GDT_Unknown;
  };
  struct Stats {
    std::int64_t rows_decoded = 0;    // block rows decoded, re-decodes included
    std::int64_t rows_live_peak = 0;  // row buffers in memory at once (held, kept or spare)
  };

  // Decodes block `column` of row `row` (block_width x block_height samples) into `dst`; throws
  // on failure. Called from any thread, for each column in increasing rows.
  using Decoder = std::function<void(std::int64_t row, std::int64_t column, std::byte* dst)>;

  // Rows of the file's own blocks through GDAL: `band` returns the calling thread's band handle.
  // `where` names the node in errors.
  BlockRows(Layout layout, std::function<GDALRasterBandH()> band, std::string where, std::string path);
  // Rows from `decoder`. Rows above the highest asked for stay decoded for tiles that start
  // late: as many as tiles have been seen to start late, up to `max_keep_behind`. Buffers of
  // rows let go are kept for the next rows, as many as rows are kept behind.
  BlockRows(Layout layout, Decoder decoder, std::string where, std::string path, int max_keep_behind);
  // Rows from a block decoder (which outlives this), in units of its unit_rows().
  BlockRows(Layout layout, BlockDecoder& decoder, std::string where, std::string path, int max_keep_behind);
  ~BlockRows();
  BlockRows(const BlockRows&) = delete;
  BlockRows& operator=(const BlockRows&) = delete;

  // Bytes of one row of blocks (the unit held in memory).
  std::size_t row_bytes() const { return row_bytes_; }
  std::int64_t block_rows() const { return (layout_.height + layout_.block_height - 1) / layout_.block_height; }

  // Holds the block rows covering source rows [row0, row1) until destroyed (a tile's reads).
  class Hold {
   public:
    Hold() = default;
    Hold(Hold&& other) noexcept;
    Hold& operator=(Hold&& other) noexcept;
    ~Hold();

   private:
    friend class BlockRows;
    BlockRows* owner_ = nullptr;
    std::int64_t first_ = 0;
    std::int64_t last_ = -1;
    void release();
  };
  Hold hold(std::int64_t row0, std::int64_t row1);

  // Copies the window (cols x rows at col0, row0) as doubles into `out`, row-major.
  void read(std::int64_t col0, std::int64_t row0, std::int64_t cols, std::int64_t rows, double* out);
  // The same in the file's own type (cols x rows samples of the layout's type): no conversion.
  void read_native(std::int64_t col0, std::int64_t row0, std::int64_t cols, std::int64_t rows, std::byte* out);

  Stats stats() const;

 private:
  struct Row;
  // Pins rows [first, last], decoding those not decoded yet (with the other threads asking
  // for them); returns them in order.
  std::vector<std::shared_ptr<Row>> pin(std::int64_t first, std::int64_t last);
  void unpin(std::int64_t first, std::int64_t last);
  void decode(const std::shared_ptr<Row>& row);
  void decode_blocks(Row& row);
  void claim_blocks(Row& row);  // decodes blocks of the row until none is left to claim
  // Calls copy(src, dst_offset_in_samples, samples) for each run of the window within one block.
  template <typename Copy>
  void copy_window(std::int64_t col0, std::int64_t row0, std::int64_t cols, std::int64_t rows, Copy&& copy);
  void drop_passed_rows(std::int64_t keep_first,
                        std::int64_t keep_last);  // under mutex_; keeps rows in [keep_first, keep_last]

  Layout layout_;
  std::shared_ptr<BlockDecoder> owned_;  // GDAL's, when made here
  Decoder decoder_;
  int keep_behind_ = 1;
  int max_keep_behind_ = 1;
  std::string where_;
  std::string path_;
  std::int64_t blocks_per_row_ = 0;
  std::size_t block_bytes_ = 0;
  std::size_t row_bytes_ = 0;
  int pixel_bytes_ = 0;

  mutable std::mutex mutex_;
  std::condition_variable decoded_;
  std::map<std::int64_t, std::shared_ptr<Row>> rows_;
  // Indices of rows_ not fully decoded, and of those no tile pins: what decode() and
  // drop_passed_rows() walk, so that neither walks the rows a tile pins (a tile of one-row
  // strips pins thousands), keeping the bookkeeping linear in the number of rows.
  std::set<std::int64_t> undecoded_;
  std::set<std::int64_t> unpinned_;
  std::vector<std::unique_ptr<std::byte[]>> spare_;
  std::int64_t highest_ = -1;  // the highest row pinned so far
  Stats stats_;
};

}  // namespace rasterflow::nodes
