#pragma once
// Int64 and UInt64 sources (issue #29). Doubles carry every integer of magnitude up to 2^53
// exactly; beyond, a source's values are read exactly by the fast path's integer kernels into
// int64/uint64 columns (resample_wide.hpp), and refused elsewhere, naming the file, the band
// and the first value (in raster order) that does not fit, before anything runs.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nodes/gdal/gdal.hpp"

namespace rasterflow::nodes {

constexpr std::int64_t kMaxExactInteger = std::int64_t{1} << 53;

inline bool is_wide_integer(GDALDataType t) { return t == GDT_Int64 || t == GDT_UInt64; }

// The first value of bands `bands` of `ds` beyond +-2^53 (nodata values aside): "band 1 holds
// 9007199254740993 at column 3, row 2", or nothing. Reads the bands whole, a few MiB at a time,
// in their own type. Throws IoError naming `where` and `path` when a read fails.
// Band `band`'s nodata value exactly (UInt64 as its bits): the file's, or `given` (the node's
// nodata option) when that is an integer the type holds; none when no value can equal it.
std::optional<std::int64_t> wide_nodata_of(GDALRasterBandH band, std::optional<double> given);

std::optional<std::string> first_inexact_value(GDALDatasetH ds, const std::vector<int>& bands, const std::string& where,
                                               const std::string& path);

}  // namespace rasterflow::nodes
