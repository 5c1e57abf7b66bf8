#include "nodes/read/block_decoder.hpp"

#include <algorithm>

#include "nodes/gdal/gdal.hpp"
#include "rasterflow/errors.hpp"

namespace rasterflow::nodes {

GdalBlockDecoder::GdalBlockDecoder(std::function<GDALRasterBandH()> band, int block_height, std::int64_t height,
                                   std::string where, std::string path)
    : band_(std::move(band)),
      block_height_(std::max(1, block_height)),
      height_(height),
      where_(std::move(where)),
      path_(std::move(path)) {}

void GdalBlockDecoder::decode(std::int64_t row, std::int64_t column, std::byte* dst) {
  const GdalErrors errors;
  if (GDALReadBlock(band_(), static_cast<int>(column), static_cast<int>(row), dst) != CE_None) {
    throw_io_error(where_, "reading " + path_ + " block " + std::to_string(column) + " of block row " +
                               std::to_string(row) + " (rows " + std::to_string(row * block_height_) + "-" +
                               std::to_string(std::min(height_, (row + 1) * block_height_) - 1) +
                               ") failed: " + errors.text("read error"));
  }
}

GdalBandsDecoder::GdalBandsDecoder(std::function<GDALDatasetH()> dataset, std::vector<int> bands, Layout layout,
                                   std::string where, std::string path)
    : dataset_(std::move(dataset)),
      bands_(std::move(bands)),
      layout_(layout),
      where_(std::move(where)),
      path_(std::move(path)) {}

void GdalBandsDecoder::decode(std::int64_t row, std::int64_t column, std::byte* dst) {
  const GdalErrors errors;
  const std::int64_t x0 = column * layout_.block_width;
  const std::int64_t y0 = row * layout_.block_height;
  const auto cols = static_cast<int>(std::min<std::int64_t>(layout_.block_width, layout_.width - x0));
  const auto rows = static_cast<int>(std::min<std::int64_t>(layout_.block_height, layout_.height - y0));
  const int sample = GDALGetDataTypeSizeBytes(layout_.type);
  const auto n = static_cast<int>(bands_.size());
  const CPLErr err =
      GDALDatasetRasterIOEx(dataset_(), GF_Read, static_cast<int>(x0), static_cast<int>(y0), cols, rows, dst, cols,
                            rows, layout_.type, n, bands_.data(), static_cast<GSpacing>(n) * sample,
                            static_cast<GSpacing>(layout_.block_width) * n * sample, sample, nullptr);
  if (err != CE_None) {
    throw_io_error(where_, "reading " + path_ + " block " + std::to_string(column) + " of block row " +
                               std::to_string(row) + " (rows " + std::to_string(y0) + "-" +
                               std::to_string(y0 + rows - 1) + ") failed: " + errors.text("read error"));
  }
  decoded_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace rasterflow::nodes
