#include "nodes/common/block_decoder.hpp"

#include <algorithm>

#include "nodes/common/gdal.hpp"
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
  if (GDALReadBlock(band_(), static_cast<int>(column), static_cast<int>(row), dst) != CE_None) {
    throw_io_error(where_, "reading " + path_ + " block " + std::to_string(column) + " of block row " +
                               std::to_string(row) + " (rows " + std::to_string(row * block_height_) + "-" +
                               std::to_string(std::min(height_, (row + 1) * block_height_) - 1) +
                               ") failed: " + last_gdal_error("read error"));
  }
}

}  // namespace rasterflow::nodes
