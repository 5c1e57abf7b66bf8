// What a thread keeps between a raster reader's reads: the thread_local buffers of the read
// stack (raster_reader.cpp, validity.cpp, tiff_tiles.cpp), declared to the memory planner. Each
// buffer serves every reader on its thread, so each is named once whatever the source; the
// thread's GDAL dataset handles on a file (handles_, warper_handles_) are named by the file.
#include <algorithm>

#include "nodes/read/raster_reader.hpp"
#include "nodes/read/tiff_tiles.hpp"

namespace rasterflow::nodes {

namespace {
// A GeoTIFF handle's own structures, measured: 13.2-13.3 KiB of RSS per handle opened on the
// harness's files (GDAL 3.6, 200 handles each), rounded up.
constexpr std::uint64_t kHandleBytes = 16 << 10;
}  // namespace

std::uint64_t RasterReader::handle_bytes() const {
  // libtiff reads a compressed block whole into its buffer before decoding it: at most about
  // the block's decoded bytes (measured: 264 KiB per handle of the harness's 256 x 256 Float32
  // DEFLATE blocks, 55 KiB for its Int16 ones, 33 KiB for its Byte ones).
  const auto block = static_cast<std::uint64_t>(std::max(1, info_.block_width)) *
                     static_cast<std::uint64_t>(std::max(1, info_.block_height)) *
                     static_cast<std::uint64_t>(std::max(1, GDALGetDataTypeSizeBytes(info_.type))) *
                     std::max<std::uint64_t>(1, info_.bands.size());
  return kHandleBytes + block;
}

std::vector<ResourceNeeds::ThreadState> RasterReader::warper_thread_state() const {
  std::vector<ResourceNeeds::ThreadState> out{{info_.path + ": dataset handle", handle_bytes()}};
  if (!warper_vrt_.empty()) out.push_back({info_.path + ": warper's VRT handle", handle_bytes()});
  return out;
}

std::vector<ResourceNeeds::ThreadState> RasterReader::thread_state(std::uint64_t window_cells) const {
  std::vector<ResourceNeeds::ThreadState> out{{info_.path + ": dataset handle", handle_bytes()}};
  const std::uint64_t bands = info_.bands.size();
  // read_bands' pixel-interleaved rows of blocks.
  if (bands > 1 && blocks_) out.push_back({"raster reader: interleaved bands", bands * window_cells * sizeof(double)});
  if (info_.validity.active()) {
    out.push_back({"raster reader: validity", window_cells});  // apply_validity's bytes
    if (info_.validity.kind == MaskKind::alpha)
      out.push_back({"raster reader: alpha values", window_cells * sizeof(double)});  // read_valid's
  }
  if (const TiffTileStreams* streams = tile_streams())
    out.push_back({"raster reader: TIFF stream buffers", streams->thread_bytes()});
  return out;
}

}  // namespace rasterflow::nodes
