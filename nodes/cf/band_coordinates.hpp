#pragma once
// The coordinates of a band along its dataset's non-spatial dimensions (time, vertical level,
// realization...), as GDAL's netCDF driver (NETCDF_DIM_*, <dim>#units, <dim>#calendar) and GRIB
// driver (GRIB_VALID_TIME, GRIB_SHORT_NAME) expose them; CF times decoded with their calendar.
// They name columns (band_names: coordinates) and select bands (select).
#include <gdal.h>

#include <optional>
#include <string>
#include <vector>

#include "nodes/cf/cf_time.hpp"

namespace rasterflow::nodes {

struct BandCoordinate {
  std::string dimension;          // "time", "plev", GRIB's "level"
  double value = 0;               // as stored (offsets for time)
  std::optional<CivilTime> time;  // decoded, for CF time coordinates and GRIB times
  std::string text;               // "500hPa", "2m", or the time's ISO text (set by name_coordinates)
  std::string units;              // the coordinate's units
  std::string calendar;           // for times
};
using BandCoordinates = std::vector<BandCoordinate>;  // one per non-spatial dimension

// The coordinates of bands `bands` (1-based) of `ds`; empty vectors when the dataset has no
// non-spatial dimension GDAL describes. `where` and `path` name the node and file in errors
// (unreadable time units).
std::vector<BandCoordinates> read_band_coordinates(GDALDatasetH ds, const std::vector<int>& bands,
                                                   const std::string& where, const std::string& path);

// Fills each coordinate's text: times as the shortest ISO text that keeps the bands' times
// distinct, other values in shortest form with their units ("500hPa").
void name_coordinates(std::vector<BandCoordinates>& bands);

// The labels of bands: their coordinate texts joined by "_", over the dimensions whose values
// differ between the bands (all of them for one band). Throws GraphError naming `where`, `path`
// and band_names when the bands have no coordinates.
std::vector<std::string> coordinate_labels(const std::vector<BandCoordinates>& bands, const std::string& where,
                                           const std::string& path);

// The positions (into `bands`) of the bands that `select` keeps: entries "dim=value", several
// for one dimension are alternatives, dimensions combine. A value is a date prefix ("2006-01"),
// a date range ("2006-01/2006-03", both ends inclusive as prefixes), a number or a coordinate
// text ("500", "500hPa"). Throws GraphError listing the available values for an unknown one.
std::vector<std::size_t> select_by_coordinates(const std::vector<BandCoordinates>& bands,
                                               const std::vector<std::string>& select, const std::string& where,
                                               const std::string& path);

// Plan lines: the bands' units ("units: K") and each dimension's values ("time: 2006-01-16 ..
// 2006-03-16, 3 steps, calendar 365_day").
std::vector<std::string> describe_bands(const std::vector<std::string>& units,
                                        const std::vector<BandCoordinates>& coordinates);

// The unit of a band's values: GDAL's unit type, or the GRIB unit without brackets, or the
// netCDF `units` attribute ("" when none).
std::string band_units(GDALRasterBandH band);

// A band's metadata item ("" when it has none).
std::string band_item(GDALRasterBandH band, const char* key);
// What a band measures: its CF long_name, or GRIB's comment without the unit ("Temperature").
std::string band_long_name(GDALRasterBandH band);

// The type CF gives unpacked values of a netCDF/HDF5 variable: Float32 when its scale_factor
// and add_offset are float32, Float64 otherwise (and for other formats, whose scale and offset
// are doubles).
GDALDataType cf_unpacked_type(GDALDatasetH ds, int band);

}  // namespace rasterflow::nodes
