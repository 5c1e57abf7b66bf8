#pragma once
// How a source's blocks are decoded: one interface, one implementation per strategy, chosen per
// source by raster_source (and, as the speed work grows, by the planner's prices): GDAL's own
// decoding of whole blocks (GDALReadBlock through each thread's handle), and the hand-written
// DEFLATE streams that decode a few rows of every tile at a time (TiffTileStreams, checked
// against GDAL's decoding when opened). BlockRows shares what either decodes between threads.
#include <gdal.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nodes/read/tiff_tiles.hpp"

namespace rasterflow::nodes {

class BlockDecoder {
 public:
  virtual ~BlockDecoder() = default;
  // Rows of one decoded unit: the file's block height (GDAL) or the streams' unit.
  virtual int unit_rows() const = 0;
  // Decodes unit `row` of block column `column` (block width x unit_rows() samples, in the
  // file's type and this machine's byte order) into dst. Thread-safe; throws IoError naming the
  // node, file and block.
  virtual void decode(std::int64_t row, std::int64_t column, std::byte* dst) = 0;
  // Bytes kept between calls (inflate states, tile tables), whatever is decoded.
  virtual std::size_t state_bytes() const = 0;
};

// Whole blocks through GDAL: `band` gives the calling thread's band handle.
class GdalBlockDecoder final : public BlockDecoder {
 public:
  GdalBlockDecoder(std::function<GDALRasterBandH()> band, int block_height, std::int64_t height, std::string where,
                   std::string path);
  int unit_rows() const override { return block_height_; }
  void decode(std::int64_t row, std::int64_t column, std::byte* dst) override;
  std::size_t state_bytes() const override { return 0; }

 private:
  std::function<GDALRasterBandH()> band_;
  int block_height_;
  std::int64_t height_;
  std::string where_;
  std::string path_;
};

// Whole blocks of several bands at once through GDAL's dataset RasterIO, pixel-interleaved in
// `dst` (block width x bands samples a row): a pixel-interleaved file's block is decoded once
// for all its bands. `dataset` gives the calling thread's dataset handle.
class GdalBandsDecoder final : public BlockDecoder {
 public:
  struct Layout {
    std::int64_t width = 0;  // the band size in pixels
    std::int64_t height = 0;
    int block_width = 1;
    int block_height = 1;
    GDALDataType type = GDT_Unknown;
  };
  GdalBandsDecoder(std::function<GDALDatasetH()> dataset, std::vector<int> bands, Layout layout, std::string where,
                   std::string path);
  int unit_rows() const override { return layout_.block_height; }
  void decode(std::int64_t row, std::int64_t column, std::byte* dst) override;
  std::size_t state_bytes() const override { return 0; }
  std::int64_t blocks_decoded() const { return decoded_.load(); }

 private:
  std::function<GDALDatasetH()> dataset_;
  std::vector<int> bands_;
  Layout layout_;
  std::string where_;
  std::string path_;
  std::atomic<std::int64_t> decoded_{0};
};

// Units of rows of every tile through the hand-written streams.
class StreamBlockDecoder final : public BlockDecoder {
 public:
  explicit StreamBlockDecoder(std::unique_ptr<TiffTileStreams> streams) : streams_(std::move(streams)) {}
  int unit_rows() const override { return streams_->unit_rows(); }
  void decode(std::int64_t row, std::int64_t column, std::byte* dst) override { streams_->decode(row, column, dst); }
  std::size_t state_bytes() const override { return streams_->state_bytes(); }
  const TiffTileStreams& streams() const { return *streams_; }

 private:
  std::unique_ptr<TiffTileStreams> streams_;
};

}  // namespace rasterflow::nodes
