#pragma once
// Irregular axes are never silent (#28): GDAL places a NetCDF variable whose latitude or
// longitude values are not evenly spaced (a Gaussian grid) on an even spacing, with only a
// warning. rasterflow reads the variable's coordinate variables and measures how far they are
// from even; raster_source refuses such a source naming the file and the deviation unless asked
// to use the even spacing ("irregular_axes": "even"), and its plan then prints the deviation.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gdal.h>

namespace rasterflow::nodes {

struct AxisDeviation {
  std::string axis;        // the dimension's name
  double deviation = 0;    // largest |value - evenly spaced value|, in the axis's units
  double spacing = 0;      // the even spacing (first to last value)
  std::int64_t index = 0;  // where the largest deviation is
};

// The axis of `variable` (a variable of the root group of the multidimensional file `path`)
// furthest from even spacing by more than 1% of a step; nullopt when both are even, or when
// the file has no such variable or coordinate variables (GDAL's multidimensional API).
std::optional<AxisDeviation> uneven_axis(const std::string& path, const std::string& variable);

std::string deviation_text(const AxisDeviation& d);

}  // namespace rasterflow::nodes

namespace rasterflow::nodes {

// The values of the two spatial axes of `variable` (its last two dimensions' coordinate
// variables): x (columns) then y (rows), in the file's order; nullopt when either has none.
std::optional<std::pair<std::vector<double>, std::vector<double>>> axis_values(const std::string& path,
                                                                               const std::string& variable);

// Whether GDAL's classic dataset `ds` gives the rows of `variable` bottom-up relative to the file
// (GDAL's netCDF reader puts ascending latitudes north first): its band 1 compared with the
// variable's first 2-D slice read through the multidimensional API.
bool rows_reversed(GDALDatasetH ds, const std::string& path, const std::string& variable);

}  // namespace rasterflow::nodes
