#pragma once
// The fast path's kernels: block reductions over a source window, for a grid whose cells are
// exactly kx x ky source pixels (same CRS, aligned, integer ratio). Plain functions over
// spans: no GDAL, no graph, no allocation per cell.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace rasterflow::nodes {

enum class Method;

struct BlockLayout {
  std::int64_t src_width = 0;  // the source window in `src`, row-major
  std::int64_t src_height = 0;
  std::int64_t x0 = 0;  // window column of the first pixel of output column 0 (may be < 0)
  std::int64_t y0 = 0;  // window row of the first pixel of output row 0 (may be < 0)
  std::int64_t kx = 1;  // source pixels per cell, across and down
  std::int64_t ky = 1;
  std::int64_t out_width = 0;
  std::int64_t out_height = 0;
};

// Writes one value per output cell into `out` and 1/0 into `valid`. A source pixel is left
// out when it equals `nodata` or is NaN; a cell with no valid pixel is invalid. Semantics are
// gdalwarp's (GDAL 3.6) for these methods on whole blocks: nearest takes the pixel under the
// cell centre (ties at pixel edges go to the later pixel), mode breaks ties for the value whose
// count first reaches the maximum scanning row by row, median/q1/q3 take gdalwarp's quantile
// index of the sorted valid values. `scratch` is reused between calls.
void reduce_blocks(Method method, std::span<const double> src, const BlockLayout& layout, std::optional<double> nodata,
                   std::span<double> out, std::span<std::uint8_t> valid, std::vector<double>& scratch);

// The same on the source's own samples (`src` holds src_width x src_height of `type`, as decoded),
// without a conversion pass: one loop per method, each computing only what its method needs,
// in the same order as above, so the values are the same to the bit.
enum class SampleType { u8, i8, u16, i16, u32, i32, f32, f64 };
void reduce_blocks(Method method, SampleType type, const void* src, const BlockLayout& layout,
                   std::optional<double> nodata, std::span<double> out, std::span<std::uint8_t> valid,
                   std::vector<double>& scratch);

// Which methods the fast path implements (all but bilinear and cubic, which read neighbours).
bool fast_path_supports(Method method);

// Upsampling: each source pixel covers mx x my whole cells, so every method but sum gives the
// value of the one pixel under the cell (sum would scale it by the covered fraction).
struct ExpandLayout {
  std::int64_t src_width = 0;  // the source window in `src`, row-major
  std::int64_t src_height = 0;
  std::int64_t x0 = 0;  // window column of output column 0, times mx, plus its phase:
  std::int64_t y0 = 0;  //   output (r, c) reads window pixel (floor((y0 + r) / my), floor((x0 + c) / mx))
  std::int64_t mx = 1;
  std::int64_t my = 1;
  std::int64_t out_width = 0;
  std::int64_t out_height = 0;
};
bool upsampling_supports(Method method);
void expand_pixels(std::span<const double> src, const ExpandLayout& layout, std::optional<double> nodata,
                   std::span<double> out, std::span<std::uint8_t> valid);
// Floor division for possibly negative numerators.
inline std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

}  // namespace rasterflow::nodes
