#pragma once
// Int64 and UInt64 GeoTIFFs written by the tests themselves (issue #29), and their values read
// back exactly: 64-bit integers carried as int64 bits (UInt64 as its bit pattern).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "rasterflow/node/grid.hpp"

namespace rasterflow::test {

struct WideRaster {
  int width = 0;
  int height = 0;
  bool is_signed = true;  // Int64, else UInt64
  GeoTransform gt{10, 1, 0, 50, 0, -1};
  std::optional<std::int64_t> nodata;  // bits
};

// A GTiff in EPSG:4326 of `bits` (raster order).
void write_wide_raster(const std::filesystem::path& path, const WideRaster& spec,
                       const std::vector<std::int64_t>& bits);

// Band `band` of `path` as int64 bits, read in the band's own type (Int64 or UInt64);
// `nodata` gets the band's nodata bits when it has one.
std::vector<std::int64_t> read_wide_raster(const std::filesystem::path& path, int band = 1,
                                           std::optional<std::int64_t>* nodata = nullptr);

// The decimal text of a value of either type.
std::string wide_text(std::int64_t bits, bool is_signed);

}  // namespace rasterflow::test
