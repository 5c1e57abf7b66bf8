#include "nodes/gdal/warp_validity.hpp"

#include <algorithm>
#include <cstring>

#include "nodes/gdal/gdal.hpp"

namespace rasterflow::nodes {
namespace {

// A validity bit mask of the kernel's source window, all valid (allocated as GDAL frees it).
GUInt32* all_valid(std::size_t pixels) {
  const std::size_t bytes = (pixels + WARP_EXTRA_ELTS + 31) / 8;
  auto* mask = static_cast<GUInt32*>(VSI_MALLOC_VERBOSE(bytes + 4));
  if (mask != nullptr) std::memset(mask, 0xff, bytes + 4);
  return mask;
}

void clear_invalid(GUInt32* mask, const std::vector<std::uint8_t>& valid) {
  for (std::size_t i = 0; i < valid.size(); ++i) {
    if (valid[i] == 0) mask[i >> 5] &= ~(1u << (i & 31));
  }
}

// The mask `k` of the kernel to clear: the unified one for a mask of the whole dataset or a
// single band, else band k's (made, all valid, when GDAL made none).
GUInt32** target_mask(GDALWarpKernel& wk, const Validity& v, int k) {
  if (v.kind != MaskKind::per_band || wk.nBands == 1) return &wk.panUnifiedSrcValid;
  if (wk.papanBandSrcValid == nullptr) {
    wk.papanBandSrcValid = static_cast<GUInt32**>(CPLCalloc(sizeof(GUInt32*), static_cast<std::size_t>(wk.nBands)));
  }
  return &wk.papanBandSrcValid[k];
}

// read_valid over `w`, its columns taken modulo `period` when it is positive (a periodic source).
bool read_valid_wrapped(const ChunkMasks& masks, int band, const PixelWindow& w, std::uint8_t* out) {
  if (masks.period <= 0) return read_valid(masks.dataset, masks.validity, band, w, out);
  std::vector<std::uint8_t> piece;
  for (std::int64_t c = 0; c < w.cols;) {
    const std::int64_t from = ((w.col0 + c) % masks.period + masks.period) % masks.period;
    const std::int64_t cols = std::min(w.cols - c, masks.period - from);
    piece.resize(static_cast<std::size_t>(cols * w.rows));
    if (!read_valid(masks.dataset, masks.validity, band, PixelWindow{from, w.row0, cols, w.rows}, piece.data()))
      return false;
    for (std::int64_t r = 0; r < w.rows; ++r)
      std::memcpy(out + r * w.cols + c, piece.data() + r * cols, static_cast<std::size_t>(cols));
    c += cols;
  }
  return true;
}

CPLErr mask_chunk(void* kernel, void* arg) {
  auto& wk = *static_cast<GDALWarpKernel*>(kernel);
  auto& masks = *static_cast<ChunkMasks*>(arg);
  if (wk.nSrcXSize <= 0 || wk.nSrcYSize <= 0) return CE_None;
  const PixelWindow w{wk.nSrcXOff, wk.nSrcYOff, wk.nSrcXSize, wk.nSrcYSize};
  std::vector<std::uint8_t> valid(static_cast<std::size_t>(w.cells()));
  const int reads = masks.validity.kind == MaskKind::per_band ? wk.nBands : 1;
  for (int k = 0; k < reads; ++k) {
    if (!read_valid_wrapped(masks, masks.bands[static_cast<std::size_t>(k)], w, valid.data())) {
      masks.error = last_gdal_error("cannot read the mask");
      return CE_Failure;
    }
    GUInt32** mask = target_mask(wk, masks.validity, k);
    if (*mask == nullptr) *mask = all_valid(valid.size());
    if (*mask == nullptr) return CE_Failure;
    clear_invalid(*mask, valid);
  }
  return CE_None;
}

}  // namespace

void set_warp_masks(GDALWarpOptions& options, ChunkMasks& masks) {
  if (!masks.validity.active() || masks.validity.kind == MaskKind::alpha) return;
  options.pfnPreWarpChunkProcessor = mask_chunk;
  options.pPreWarpProcessorArg = &masks;
}

void set_warp_alpha(GDALWarpOptions& options, int src_alpha, int dst_alpha) {
  options.nSrcAlphaBand = src_alpha;
  options.nDstAlphaBand = dst_alpha;
}

}  // namespace rasterflow::nodes
