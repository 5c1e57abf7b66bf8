// What a thread keeps between a raster reader's reads: the thread_local buffers of the read
// stack (raster_reader.cpp, validity.cpp, tiff_tiles.cpp), declared to the memory planner. Each
// buffer serves every reader on its thread, so each is named once whatever the source.
#include "nodes/read/raster_reader.hpp"
#include "nodes/read/tiff_tiles.hpp"

namespace rasterflow::nodes {

std::vector<ResourceNeeds::ThreadState> RasterReader::thread_state(std::uint64_t window_cells) const {
  std::vector<ResourceNeeds::ThreadState> out;
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
