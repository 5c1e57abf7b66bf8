#pragma once
// GDAL's GRIB unit normalisation, per source (#30). GDAL's GRIB driver "normalises" units by
// default (the process-wide configuration GRIB_NORMALIZE_UNITS=YES): GRIB2 temperatures come
// in degrees C instead of the file's K. For GRIB1 it rewrites the unit text the same way but
// converts the values only where its parameter table says so, so an ECMWF GRIB1 temperature
// reads in K labelled [C]. A source chooses (its `grib_normalize_units` option); rasterflow
// holds that choice as a thread-local configuration option while it opens and reads the
// source, and finds each band's true unit by reading it both ways.
#include <cpl_conv.h>
#include <cpl_string.h>

#include <optional>
#include <string>
#include <vector>

#include "nodes/gdal/gdal.hpp"

namespace rasterflow::nodes {

struct BandInfo;

// While it lives (when `active`), this thread reads GRIB files with unit normalisation or
// without (GRIB_NORMALIZE_UNITS as a thread-local configuration option, whatever the process's
// configuration says). Other formats ignore the option.
class GribUnitsScope {
 public:
  GribUnitsScope(bool active, bool normalize) {
    if (active) setter_.emplace("GRIB_NORMALIZE_UNITS", normalize ? "YES" : "NO", false);
  }
  GribUnitsScope(const GribUnitsScope&) = delete;
  GribUnitsScope& operator=(const GribUnitsScope&) = delete;

 private:
  std::optional<CPLConfigOptionSetter> setter_;
};

bool is_grib(GDALDatasetH ds);

// GDAL's own choice when a source does not make one: its configuration, YES by default.
bool gdal_normalizes_grib_units();

// For a GRIB dataset `ds` opened with normalisation (`normalize`) or without: sets each band's
// `units` to the unit its values are really in, and returns the plan's line saying what GDAL's
// normalisation did to this source. `path` is the dataset GDAL opens.
std::string resolve_grib_units(GDALDatasetH ds, const std::string& path, bool normalize, std::vector<BandInfo>& bands);

}  // namespace rasterflow::nodes
