#pragma once
// The validity of a source (validity.hpp) handed to GDAL's warp kernel, so that the warper path
// leaves out the pixels the fast path leaves out: an alpha band through GDAL's own source alpha
// (nSrcAlphaBand, with a destination alpha band so that partly transparent pixels are not blended
// into the destination's initial value, as gdalwarp's default -dstalpha does), masks through a
// pre-warp chunk processor that clears the masked pixels in the kernel's validity masks (GDAL
// 3.6's warper applies a per-dataset mask only where a chunk has no nodata pixel, and per-band
// masks never).
#include <gdalwarper.h>

#include <string>
#include <vector>

#include "nodes/read/validity.hpp"

namespace rasterflow::nodes {

// What the chunk processor needs: the dataset whose masks it reads (the calling thread's handle
// on the source itself, not on the warper's VRT), the validity, and the bands warped.
struct ChunkMasks {
  GDALDatasetH dataset = nullptr;
  Validity validity;
  std::vector<int> bands;  // 1-based, in `dataset`, one per warped band
  std::string error;       // GDAL's message when a mask could not be read
  // A periodic source (longitude_wrap.hpp) warped as copies side by side: the kernel's columns
  // are the source's modulo `period` (its width); 0 when not periodic.
  std::int64_t period = 0;
};

// Sets `options` up for `masks` (kept alive by the caller for the warp): the chunk processor for
// mask kinds. Alpha is set by the caller (set_warp_alpha).
void set_warp_masks(GDALWarpOptions& options, ChunkMasks& masks);
// Source alpha band `src_alpha` (in the warper's source dataset) and destination alpha band
// `dst_alpha` (in its destination).
void set_warp_alpha(GDALWarpOptions& options, int src_alpha, int dst_alpha);

}  // namespace rasterflow::nodes
