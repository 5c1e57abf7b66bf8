#include "nodes/cf/grib_units.hpp"

#include <cmath>
#include <map>

#include "nodes/cf/band_coordinates.hpp"
#include "nodes/read/raster_reader.hpp"

namespace rasterflow::nodes {

bool is_grib(GDALDatasetH ds) {
  GDALDriverH driver = ds != nullptr ? GDALGetDatasetDriver(ds) : nullptr;
  return driver != nullptr && std::string(GDALGetDriverShortName(driver)) == "GRIB";
}

bool gdal_normalizes_grib_units() { return CPLTestBool(CPLGetConfigOption("GRIB_NORMALIZE_UNITS", "YES")) != 0; }

namespace {

// The first valid value of `band`, read row by row (GDAL's GRIB driver decodes a message whole,
// once, when it is first read).
std::optional<double> first_value(GDALRasterBandH band) {
  int has_nodata = 0;
  const double nodata = GDALGetRasterNoDataValue(band, &has_nodata);
  const int width = GDALGetRasterBandXSize(band);
  const int height = GDALGetRasterBandYSize(band);
  std::vector<double> row(static_cast<std::size_t>(width));
  for (int y = 0; y < height; ++y) {
    if (GDALRasterIO(band, GF_Read, 0, y, width, 1, row.data(), width, 1, GDT_Float64, 0, 0) != CE_None) break;
    for (const double v : row) {
      if (!std::isnan(v) && !(has_nodata && v == nodata)) return v;
    }
  }
  return std::nullopt;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace

std::string resolve_grib_units(GDALDatasetH ds, const std::string& path, bool normalize, std::vector<BandInfo>& bands) {
  if (!normalize) return "GRIB units: as stored in the file (grib_normalize_units: false)";
  DatasetPtr raw;
  {
    const GribUnitsScope scope(true, false);
    raw.reset(GDALOpenEx(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY, nullptr, nullptr, nullptr));
  }
  if (!raw) return "GRIB units: as GDAL's normalisation labels them (the file could not be reopened to check them)";
  std::map<std::string, bool> converts;  // element, raw unit and label -> whether the values change
  std::vector<std::string> converted;
  std::vector<std::string> relabelled;
  for (auto& band : bands) {
    GDALRasterBandH normalized_band = GDALGetRasterBand(ds, band.index);
    GDALRasterBandH raw_band = GDALGetRasterBand(get(raw), band.index);
    const std::string raw_unit = band_units(raw_band);
    if (raw_unit == band.units) continue;
    const std::string element = band_item(normalized_band, "GRIB_ELEMENT");
    const std::string key = element + '\n' + raw_unit + '\n' + band.units;
    auto it = converts.find(key);
    if (it == converts.end()) {
      std::optional<double> normalized_value;
      std::optional<double> raw_value;
      {
        const GribUnitsScope scope(true, true);
        normalized_value = first_value(normalized_band);
      }
      {
        const GribUnitsScope scope(true, false);
        raw_value = first_value(raw_band);
      }
      const bool changed = normalized_value && raw_value && *normalized_value != *raw_value;
      it = converts.emplace(key, changed).first;
      (changed ? converted : relabelled).push_back(element + " from " + raw_unit + " to " + band.units);
    }
    if (!it->second) band.units = raw_unit;
  }
  if (converted.empty() && relabelled.empty())
    return "GRIB units: as stored in the file (GDAL's unit normalisation changes none of these bands)";
  std::string line = "GRIB units:";
  if (!converted.empty())
    line += " converted by GDAL's unit normalisation (" + joined(converted) +
            "; grib_normalize_units: false keeps the file's units)";
  if (!relabelled.empty()) {
    line += std::string(converted.empty() ? "" : ";") + " GDAL relabels " + joined(relabelled) +
            " but leaves the values as stored (a GRIB1 table without that conversion): the columns keep the file's "
            "unit";
  }
  return line;
}

}  // namespace rasterflow::nodes
