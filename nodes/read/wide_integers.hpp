#pragma once
// Int64 and UInt64 sources (issue #29). Columns hold doubles, which carry every integer of
// magnitude up to 2^53 exactly: such a source is read when every value other than its nodata
// value is within that range, and refused otherwise, naming the file, the band and the first
// value (in raster order) that does not fit, before anything runs.
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
std::optional<std::string> first_inexact_value(GDALDatasetH ds, const std::vector<int>& bands, const std::string& where,
                                               const std::string& path);

}  // namespace rasterflow::nodes
