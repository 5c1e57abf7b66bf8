#pragma once
// The fast path's kernels on Int64 and UInt64 samples (issue #29): the selecting methods
// (nearest, min, max, median, q1, q3, mode) and upsampling, in the samples' own type, so that
// every value beyond 2^53 comes out with all its digits. Same semantics, cell by cell, as the
// double kernels of resample_kernels.hpp (gdalwarp's tie rules and quantile index); a pixel
// is left out when it equals `nodata` exactly. Output values are int64 (UInt64 as their bits).
#include <cstdint>
#include <optional>
#include <span>

#include "nodes/transforms/resample_kernels.hpp"

namespace rasterflow::nodes {

// Whether the integer kernels implement `method` (the selecting ones).
bool wide_kernels_support(Method method);

// `src`: src_width x src_height samples, int64 (`is_signed`) or uint64.
void reduce_wide_blocks(Method method, bool is_signed, const std::int64_t* src, const BlockLayout& layout,
                        std::optional<std::int64_t> nodata, std::span<std::int64_t> out, std::span<std::uint8_t> valid);
void expand_wide_pixels(const std::int64_t* src, const ExpandLayout& layout, std::optional<std::int64_t> nodata,
                        std::span<std::int64_t> out, std::span<std::uint8_t> valid);

}  // namespace rasterflow::nodes
