#include "nodes/read/raster_reader.hpp"

#include <cpl_string.h>
#include <gdal_alg.h>
#include <cmath>

#include <filesystem>
#include <limits>

#include <spdlog/spdlog.h>

#include "nodes/gdal/gaussian_grib.hpp"
#include "nodes/gdal/geolocation.hpp"
#include "nodes/gdal/irregular_axes.hpp"
#include "nodes/gdal/longitude_wrap.hpp"
#include "nodes/read/dataset_name.hpp"
#include "nodes/read/library_diagnostics.hpp"
#include "nodes/read/validity.hpp"
#include "nodes/read/wide_integers.hpp"
#include "rasterflow/errors.hpp"
#include "rasterflow/node/hooks.hpp"
#include "rasterflow/node/registry.hpp"
#include "rasterflow/size.hpp"

namespace rasterflow::nodes {

DatasetPtr RasterReader::open() const {
  ensure_gdal();
  quiet_library_diagnostics();  // HDF5's error stacks, per thread (library_diagnostics.hpp)
  // GRIB's unit normalisation is read as a dataset opens (its unit labels) and as a message is
  // first decoded (its values): held for every open, harmless for other formats.
  const GribUnitsScope units(true, info_.grib_normalize);
  if (transposed_) return open_transposed(*transposed_);
  std::string level = "OVERVIEW_LEVEL=" + std::to_string(info_.overview);
  const char* const open_options[] = {level.c_str(), nullptr};
  DatasetPtr ds(GDALOpenEx(info_.path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY, nullptr,
                           info_.overview >= 0 ? open_options : nullptr, nullptr));
  return ds;
}

RasterReader::RasterReader(SourceRequest request, std::string where)
    : request_(std::move(request)), where_(std::move(where)) {
  info_.path = request_.path;
  info_.grib_normalize = request_.grib_normalize_units.value_or(gdal_normalizes_grib_units());
  try {
    open_source();
  } catch (const std::bad_alloc&) {
    throw_graph_error(where_, "option \"path\": out of memory while opening " + info_.path);
  }
}

namespace {

// The variable a subdataset name names: NETCDF:"f.nc":pr -> pr, HDF5:"f.h5"://grp/var -> grp/var.
std::string variable_of(const std::string& subdataset) {
  std::size_t from = 0;
  if (const auto q = subdataset.find('"'); q != std::string::npos) {
    const auto close = subdataset.find('"', q + 1);
    if (close != std::string::npos) from = close + 1;
  }
  const auto colon = subdataset.rfind(':');
  std::string v = colon == std::string::npos || colon < from ? subdataset : subdataset.substr(colon + 1);
  while (!v.empty() && v.front() == '/') v.erase(v.begin());
  return v;
}

// The coordinates of bands `indices`; with `select`, only the bands it keeps (`indices` too).
std::vector<BandCoordinates> selected_coordinates(GDALDatasetH ds, std::vector<int>& indices,
                                                  const std::vector<std::string>& select, const std::string& where,
                                                  const std::string& path) {
  std::vector<BandCoordinates> coordinates = read_band_coordinates(ds, indices, where, path);
  if (select.empty()) return coordinates;
  std::vector<int> kept;
  std::vector<BandCoordinates> kept_coordinates;
  for (const std::size_t i : select_by_coordinates(coordinates, select, where, path)) {
    kept.push_back(indices[i]);
    kept_coordinates.push_back(coordinates[i]);
  }
  indices = std::move(kept);
  name_coordinates(kept_coordinates);
  return kept_coordinates;
}

std::vector<std::string> describe_units_and_coordinates(const RasterInfo& info) {
  std::vector<std::string> units;
  std::vector<BandCoordinates> coordinates;
  for (const auto& b : info.bands) {
    units.push_back(b.units);
    coordinates.push_back(b.coordinates);
  }
  return describe_bands(units, coordinates);
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

namespace {

// The names of a container's variables (NetCDF, HDF5, ...), which GDAL lists as subdatasets.
std::vector<std::string> subdataset_names(GDALDatasetH ds) {
  std::vector<std::string> names;
  char** sub = GDALGetMetadata(ds, "SUBDATASETS");
  for (int i = 0; sub != nullptr && sub[i] != nullptr; ++i) {
    const std::string item = sub[i];
    const auto eq = item.find('=');
    if (eq != std::string::npos && eq >= 5 && item.compare(eq - 5, 5, "_NAME") == 0)
      names.push_back(item.substr(eq + 1));
  }
  return names;
}

// The index in `variables` of the variable `wanted` names: its whole name, or else the last
// component of a group path (HDF5: grp/var by var); GraphError when none or several match.
std::size_t variable_index(const std::vector<std::string>& variables, const std::string& wanted,
                           const std::string& where, const std::string& path) {
  std::string want = wanted;
  while (!want.empty() && want.front() == '/') want.erase(want.begin());
  std::vector<std::size_t> hits;
  for (std::size_t i = 0; i < variables.size(); ++i) {
    if (variables[i] == want) hits = {i};
  }
  if (hits.empty()) {
    for (std::size_t i = 0; i < variables.size(); ++i) {
      const auto& v = variables[i];
      const auto slash = v.rfind('/');
      if (slash != std::string::npos && v.substr(slash + 1) == want) hits.push_back(i);
    }
  }
  if (hits.size() != 1) {
    throw_graph_error(where,
                      "option \"variable\": " + std::string(hits.empty() ? "no variable \"" : "ambiguous variable \"") +
                          wanted + "\" in " + path + " (it has: " + joined(variables) + ")");
  }
  return hits.front();
}

}  // namespace

void RasterReader::check_path_exists() {
  const DatasetName name = resolve_dataset_name(info_.path, {});
  plain_file_ = !name.remote && name.name == name.file;
  if (name.file.empty()) return;
  const std::string in = plain_file_ ? "" : " (in " + info_.path + ")";
  std::error_code ec;
  if (!std::filesystem::exists(name.file, ec))
    throw_graph_error(where_, "option \"path\": no such file: " + name.file + in);
  if (std::filesystem::is_directory(name.file, ec))
    throw_graph_error(where_, "option \"path\": is a folder, not a raster file: " + name.file + in);
}

DatasetPtr RasterReader::open_checked() {
  const std::string& where = where_;
  check_path_exists();
  DatasetPtr ds = open();
  if (!ds)
    throw_graph_error(where, "option \"path\": GDAL cannot open " + info_.path + " as a raster (" +
                                 last_gdal_error("unknown format") + ")");
  const std::vector<std::string> names = subdataset_names(get(ds));
  for (const auto& n : names) info_.variables.push_back(variable_of(n));
  const int bands = GDALGetRasterCount(get(ds));
  if (request_.variable) return open_variable(std::move(ds), names, bands);
  if (bands == 0 && names.size() > 1) {
    throw_graph_error(where, "option \"variable\": " + info_.path + " holds several variables; choose one with " +
                                 "\"variable\" (it has: " + joined(info_.variables) + ")");
  }
  if (bands == 0 && names.size() == 1)
    return open_subdataset(names.front(), "option \"path\": GDAL cannot open its only variable (");
  if (bands == 0) throw_graph_error(where, "option \"path\": " + info_.path + " has no raster bands");
  return ds;
}

DatasetPtr RasterReader::open_variable(DatasetPtr ds, const std::vector<std::string>& names, int bands) {
  const std::string& where = where_;
  const std::string& wanted = *request_.variable;
  // A NetCDF file of one variable opens as that variable, without subdatasets.
  const char* only =
      bands > 0 ? GDALGetMetadataItem(GDALGetRasterBand(get(ds), 1), "NETCDF_VARNAME", nullptr) : nullptr;
  if (names.empty() && only != nullptr && wanted == only) return ds;
  if (names.empty() && only != nullptr) {
    throw_graph_error(
        where, "option \"variable\": no variable \"" + wanted + "\" in " + info_.path + " (it has: " + only + ")");
  }
  if (names.empty()) {
    throw_graph_error(where, "option \"variable\": " + info_.path +
                                 " has no variables (subdatasets) to choose from: it is one raster of " +
                                 std::to_string(bands) + (bands == 1 ? " band" : " bands") +
                                 "; leave \"variable\" out");
  }
  const std::size_t hit = variable_index(info_.variables, wanted, where, info_.path);
  return open_subdataset(names[hit], "option \"variable\": GDAL cannot open variable \"" + wanted + "\" (");
}

DatasetPtr RasterReader::open_subdataset(const std::string& name, const std::string& failure) {
  info_.path = name;
  DatasetPtr ds = open();
  if (!ds) throw_graph_error(where_, failure + info_.path + "): " + last_gdal_error("unreadable subdataset"));
  plain_file_ = false;
  return ds;
}

namespace {

// The band_names option's value, checked: number, description, coordinates or metadata:<KEY>.
std::string checked_band_names(const std::optional<std::string>& option, const std::string& where) {
  const std::string names = option.value_or("number");
  const bool by_metadata = names.rfind("metadata:", 0) == 0;
  if (names != "number" && names != "description" && names != "coordinates" && (!by_metadata || names.size() == 9)) {
    throw_graph_error(where, "option \"band_names\": unknown value \"" + names +
                                 "\" (expected number, description, coordinates or metadata:<KEY>, e.g. "
                                 "metadata:NETCDF_DIM_time)");
  }
  return names;
}

// Band `b`'s column label by the band_names option `names` (`coordinate_name` for coordinates);
// GraphError when the band has no such label.
std::string band_label(GDALRasterBandH h, int b, const std::string& names, const std::string& coordinate_name,
                       const std::string& where, const std::string& path) {
  std::string label;
  if (names == "coordinates") {
    label = coordinate_name;
  } else if (names == "number") {
    label = std::to_string(b);
  } else if (names == "description") {
    label = GDALGetDescription(h) != nullptr ? GDALGetDescription(h) : "";
  } else {
    const char* v = GDALGetMetadataItem(h, names.substr(9).c_str(), nullptr);
    label = v != nullptr ? v : "";
  }
  if (label.empty()) {
    throw_graph_error(where,
                      "option \"band_names\": band " + std::to_string(b) + " of " + path + " has no " +
                          (names == "description" ? std::string("description") : "metadata item " + names.substr(9)) +
                          " to name its column by");
  }
  return label;
}

// The band's nodata, scale and offset as GDAL reads them.
void read_band_values(GDALRasterBandH h, BandInfo& band) {
  int has = 0;
  const double nodata = GDALGetRasterNoDataValue(h, &has);
  if (has) band.nodata = nodata;
  int has_scale = 0, has_offset = 0;
  const double scale = GDALGetRasterScale(h, &has_scale);
  const double offset = GDALGetRasterOffset(h, &has_offset);
  if (has_scale) band.scale = scale;
  if (has_offset) band.offset = offset;
}

// GraphError unless band `b` has the type of band `first`: bands read together share one type.
void check_same_type(GDALDatasetH ds, int b, int first, const std::string& where, const std::string& path) {
  GDALRasterBandH h = GDALGetRasterBand(ds, b);
  if (GDALGetRasterDataType(h) == GDALGetRasterDataType(GDALGetRasterBand(ds, first))) return;
  throw_graph_error(where, "option \"band\": band " + std::to_string(b) + " of " + path + " is " +
                               GDALGetDataTypeName(GDALGetRasterDataType(h)) + ", band " + std::to_string(first) + " " +
                               GDALGetDataTypeName(GDALGetRasterDataType(GDALGetRasterBand(ds, first))) +
                               "; bands read together must share one type (use one source per type)");
}

}  // namespace

std::vector<int> RasterReader::band_indices(GDALDatasetH ds) const {
  const int count = GDALGetRasterCount(ds);
  std::vector<int> indices;
  // The alpha band (the last, as gdalwarp finds it) is no data band of "all" while it masks.
  const int alpha = find_validity(ds, {}, request_.alpha_as_data).alpha_band;
  if (request_.bands.size() == 1 && request_.bands.front() == "all") {
    for (int b = 1; b <= count; ++b) {
      if (b != alpha) indices.push_back(b);
    }
    return indices;
  }
  for (const auto& text : request_.bands) {
    const int b = std::stoi(text);
    if (b > count) {
      throw_graph_error(where_, "option \"band\": band " + text + " does not exist (" + info_.path + " has " +
                                    std::to_string(count) + (count == 1 ? " band)" : " bands)"));
    }
    if (std::find(indices.begin(), indices.end(), b) != indices.end())
      throw_graph_error(where_, "option \"band\": band " + text + " is listed twice");
    indices.push_back(b);
  }
  return indices;
}

void RasterReader::select_bands(GDALDatasetH ds) {
  const std::string& where = where_;
  std::vector<int> indices = band_indices(ds);
  const std::string names = checked_band_names(request_.band_names, where);
  const std::vector<BandCoordinates> coordinates =
      selected_coordinates(ds, indices, request_.select, where, info_.path);
  const std::vector<std::string> coordinate_names =
      names == "coordinates" ? coordinate_labels(coordinates, where, info_.path) : std::vector<std::string>{};
  info_.bands.clear();
  for (std::size_t i = 0; i < indices.size(); ++i) {
    const int b = indices[i];
    GDALRasterBandH h = GDALGetRasterBand(ds, b);
    BandInfo band;
    band.index = b;
    band.units = band_units(h);
    band.standard_name = band_item(h, "standard_name");
    band.long_name = band_long_name(h);
    band.coordinates = coordinates[i];
    band.label =
        band_label(h, b, names, names == "coordinates" ? coordinate_names[i] : std::string(), where, info_.path);
    read_band_values(h, band);
    check_same_type(ds, b, indices.front(), where, info_.path);
    info_.bands.push_back(std::move(band));
  }
  info_.validity = find_validity(ds, indices, request_.alpha_as_data);
}

void RasterReader::read_geometry(GDALDatasetH ds) {
  info_.width = GDALGetRasterXSize(ds);
  info_.height = GDALGetRasterYSize(ds);
  if (transposed_) {
    info_.gt = transposed_->gt;
  } else if (info_.geolocated()) {
    info_.gt = {0, 1, 0, 0, 0, 1};  // placed by the axes' true coordinates (find_irregular_axes)
  } else if (GDALGetGeoTransform(ds, info_.gt.data()) != CE_None && GDALGetGCPCount(ds) == 0 &&
             GDALGetMetadata(ds, "RPC") == nullptr && !request_.georef.transformer &&
             !(info_.geolocation = geolocation_items(ds)).empty()) {
    // 2-D latitude/longitude arrays (a curvilinear grid): GDAL's geolocation arrays (#28).
    info_.gt = {0, 1, 0, 0, 0, 1};
  } else {
    // A geotransform, GCPs or RPCs (#29); refused naming what is missing when there is none.
    info_.georef = find_georeferencing(ds, request_.georef, where_, info_.path);
    info_.gt = {0, 1, 0, 0, 0, 1};
    if (info_.georef.by_geotransform()) GDALGetGeoTransform(ds, info_.gt.data());
  }
  GDALGetBlockSize(GDALGetRasterBand(ds, info_.band), &info_.block_width, &info_.block_height);
}

void RasterReader::open_source() {
  const std::string& where = where_;
  const DatasetPtr ds = open_checked();
  select_bands(get(ds));
  info_.band = info_.bands.front().index;
  find_transposed(get(ds));
  // The pixels: the dataset itself, or its transposed view (the bands' metadata are the file's).
  const DatasetPtr view = transposed_ ? open() : DatasetPtr{};
  if (transposed_ && !view) {
    throw_graph_error(where, "option \"path\": GDAL cannot read " + info_.path +
                                 " transposed: " + last_gdal_error("no multidimensional view"));
  }
  const GDALDatasetH pixels = transposed_ ? get(view) : get(ds);
  if (!transposed_) find_irregular_axes(get(ds));
  // After the Gaussian check, which refuses a reduced grid GDAL gives no valid size.
  if (is_grib(get(ds))) {
    info_.grib = true;
    info_.grib_units = resolve_grib_units(get(ds), info_.path, info_.grib_normalize, info_.bands);
  }
  // A rotated geotransform is kept: such sources take the warper path (Resample::fast_path_refusal).
  read_geometry(pixels);
  read_crs(get(ds));
  GDALRasterBandH b = GDALGetRasterBand(get(ds), info_.band);
  info_.type = GDALGetRasterDataType(b);
  info_.overview_count = GDALGetOverviewCount(b);
  const char* pixel_type = GDALGetMetadataItem(b, "PIXELTYPE", "IMAGE_STRUCTURE");
  info_.signed_byte = info_.type == GDT_Byte && pixel_type != nullptr && std::string(pixel_type) == "SIGNEDBYTE";
  for (auto& band : info_.bands) {
    if (info_.signed_byte && band.nodata && *band.nodata > 127.0) *band.nodata -= 256.0;
    if (request_.nodata) band.nodata = request_.nodata;
    if (request_.unpack && (band.scale != 1.0 || band.offset != 0.0)) info_.unpacked = true;
  }
  info_.nodata = info_.bands.front().nodata;
  if (info_.unpacked) info_.unpacked_type = cf_unpacked_type(get(ds), info_.band);
  make_warper_vrt();
  survey_decoding(pixels);
  check_sample_type(get(ds));
}

void RasterReader::read_crs(GDALDatasetH ds) {
  const char* wkt = GDALGetProjectionRef(ds);
  info_.crs = wkt != nullptr ? wkt : "";
  if (info_.crs.empty() && info_.geolocated()) info_.crs = geolocation_item(info_.geolocation, "SRS");
  if (!info_.georef.by_geotransform()) info_.crs = info_.georef.crs;  // the GCPs' CRS, or WGS 84 for RPCs
  if (request_.crs) {
    info_.crs = hooks().normalize_crs(*request_.crs, where_ + ": option \"crs\"");
    info_.crs_given = true;
  }
}

void RasterReader::check_sample_type(GDALDatasetH ds) {
  switch (info_.type) {
    case GDT_Byte:
    case GDT_UInt16:
    case GDT_Int16:
    case GDT_UInt32:
    case GDT_Int32:
    case GDT_Float32:
    case GDT_Float64:
#if GDAL_VERSION_NUM >= 3070000
    case GDT_Int8:
#endif
      break;
    case GDT_Int64:
    case GDT_UInt64:
      check_wide_integers(ds);
      break;
    default: {
      // Complex types have no single value per pixel: refused, naming the file and type.
      throw_graph_error(where_, "option \"band\": " + info_.path + " band " + std::to_string(info_.band) + " is " +
                                    GDALGetDataTypeName(info_.type) +
                                    ", which is not supported (complex values: read a real band, e.g. through a "
                                    "VRT); expected Byte, Int8, UInt16, Int16, UInt32, Int32, Int64, UInt64, Float32 "
                                    "or Float64");
    }
  }
}

void RasterReader::find_transposed(GDALDatasetH ds) {
  GDALDriverH driver = GDALGetDatasetDriver(ds);
  if (driver == nullptr || std::string(GDALGetDriverShortName(driver)) != "netCDF") return;
  const char* variable = GDALGetMetadataItem(GDALGetRasterBand(ds, info_.band), "NETCDF_VARNAME", nullptr);
  const DatasetName name = resolve_dataset_name(info_.path, {});
  if (variable == nullptr || name.file.empty()) return;
  transposed_ = transposed_variable(name.file, variable, where_);
  if (!transposed_) return;
  if (request_.overviews == Overviews::automatic) {
    throw_graph_error(where_, "option \"overviews\": " + info_.path +
                                  " is stored (lon, lat) and read transposed, at full resolution only; give "
                                  "\"overviews\": \"none\"");
  }
  info_.transposed = true;
}

void RasterReader::find_irregular_axes(GDALDatasetH ds) {
  // An axis GDAL would place on an even spacing (or not at all): its true coordinates as 1-D
  // geolocation arrays, so the warper maps each cell through them (#28, irregular_axes).
  GDALDriverH driver = GDALGetDatasetDriver(ds);
  const std::string kind = driver != nullptr ? GDALGetDriverShortName(driver) : "";
  if (kind == "GRIB") find_gaussian_grib(ds);
  if (kind != "netCDF" || request_.irregular_axes != IrregularAxes::coordinates) return;
  const char* variable = GDALGetMetadataItem(GDALGetRasterBand(ds, info_.band), "NETCDF_VARNAME", nullptr);
  const DatasetName name = resolve_dataset_name(info_.path, {});
  if (variable == nullptr || name.file.empty()) return;
  const auto deviation = uneven_axis(name.file, variable);
  if (!deviation) return;
  auto axes = axis_values(name.file, variable);
  if (!axes || static_cast<int>(axes->first.size()) != GDALGetRasterXSize(ds) ||
      static_cast<int>(axes->second.size()) != GDALGetRasterYSize(ds))
    return;
  if (rows_reversed(ds, name.file, variable)) std::reverse(axes->second.begin(), axes->second.end());
  const char* wkt = GDALGetProjectionRef(ds);
  std::string srs = wkt != nullptr ? wkt : "";
  if (srs.empty()) {
    const SrsPtr wgs84 = make_srs("EPSG:4326");
    char* text = nullptr;
    OSRExportToWkt(get(wgs84), &text);
    srs = text != nullptr ? text : "";
    CPLFree(text);
  }
  info_.geolocation = axis_geolocation(axes->first, axes->second, srs);
  if (info_.geolocated()) {
    irregular_note_ = deviation_text(*deviation) +
                      ": resampled from the axes' true coordinates (1-D geolocation arrays; irregular_axes "
                      "coordinates)";
  }
}

void RasterReader::find_gaussian_grib(GDALDatasetH ds) {
  const DatasetName name = resolve_dataset_name(info_.path, {});
  const auto g = name.file.empty() ? std::nullopt : gaussian_grid(name.file);
  if (!g) return;
  const int width = GDALGetRasterXSize(ds), height = GDALGetRasterYSize(ds);
  GeoTransform gt{};
  if (g->reduced || height != 2 * g->n || GDALGetGeoTransform(ds, gt.data()) != CE_None) {
    throw_graph_error(where_, "option \"path\": " + info_.path + " is a " + (g->reduced ? "reduced " : "") +
                                  "Gaussian grid (N" + std::to_string(g->n) +
                                  ") that GDAL does not give row by row; rasterflow reads regular Gaussian GRIB "
                                  "grids only: regrid it first (e.g. cdo setgridtype,regular)");
  }
  std::vector<double> lats = gaussian_latitudes(g->n);
  if (gt[5] > 0) std::reverse(lats.begin(), lats.end());
  AxisDeviation d{.axis = "latitude (Gaussian N" + std::to_string(g->n) + ")", .spacing = std::fabs(gt[5])};
  for (int r = 0; r < height; ++r) {
    const double off = std::fabs(gt[3] + (r + 0.5) * gt[5] - lats[static_cast<std::size_t>(r)]);
    if (off > d.deviation) d = {d.axis, off, d.spacing, r};
  }
  const std::string text = "GDAL's evenly spaced rows are up to " + std::to_string(d.deviation) +
                           " degree from the true Gaussian latitudes (row " + std::to_string(d.index) + ", N" +
                           std::to_string(g->n) + ")";
  if (request_.irregular_axes == IrregularAxes::refuse) {
    throw_graph_error(where_, "option \"irregular_axes\": " + info_.path + ": " + text +
                                  "; give \"coordinates\" (the default) to resample from the true latitudes, or "
                                  "\"even\" to accept GDAL's even rows");
  }
  if (request_.irregular_axes == IrregularAxes::even) {
    irregular_note_ = text + " (placed on the even spacing: irregular_axes even)";
    return;
  }
  std::vector<double> lons(static_cast<std::size_t>(width));
  for (int c = 0; c < width; ++c) lons[static_cast<std::size_t>(c)] = gt[0] + (c + 0.5) * gt[1];
  const char* wkt = GDALGetProjectionRef(ds);
  info_.geolocation = axis_geolocation(lons, lats, wkt != nullptr ? wkt : "");
  if (info_.geolocated())
    irregular_note_ = text + ": resampled from the true latitudes (1-D geolocation arrays; irregular_axes coordinates)";
}

void RasterReader::check_wide_integers(GDALDatasetH ds) {
  // Doubles carry these exactly up to 2^53: beyond, only the exact path reads them (the
  // resample node refuses the others, naming this value).
  std::vector<int> indices;
  for (auto& b : info_.bands) {
    indices.push_back(b.index);
    b.wide_nodata = wide_nodata_of(GDALGetRasterBand(ds, b.index), request_.nodata);
  }
  if (const auto beyond = first_inexact_value(ds, indices, where_, info_.path)) {
    info_.wide_beyond =
        info_.path + " is " + GDALGetDataTypeName(info_.type) + " and " + *beyond + ", beyond 2^53 (9007199254740992)";
  }
}

void RasterReader::make_warper_vrt() {
  // GDAL's warper sees a source through a VRT when its values need changing first: a floating
  // band's numeric nodata value turned into NaN (so that NaN and nodata are both left out), and
  // packed values unpacked (scale and offset applied, nodata tested on the stored value and
  // turned into NaN), as the fast path reads them.
  warper_vrt_.clear();
  const bool is_float = info_.type == GDT_Float32 || info_.type == GDT_Float64;
  bool needed = info_.unpacked;
  for (const auto& band : info_.bands) {
    if (is_float && band.nodata && !std::isnan(*band.nodata)) needed = true;
  }
  if (!needed) return;
  char* escaped = CPLEscapeString(info_.path.c_str(), -1, CPLES_XML);
  const std::string source(escaped);
  CPLFree(escaped);
  const auto number = [](double v) {
    char text[64];
    std::snprintf(text, sizeof text, "%.17g", v);
    return std::string(text);
  };
  std::string xml = "<VRTDataset rasterXSize=\"" + std::to_string(info_.width) + "\" rasterYSize=\"" +
                    std::to_string(info_.height) + "\">";
  for (std::size_t k = 0; k < info_.bands.size(); ++k) {
    const auto& band = info_.bands[k];
    xml += "<VRTRasterBand dataType=\"Float64\" band=\"" + std::to_string(k + 1) +
           "\"><NoDataValue>nan</NoDataValue><ComplexSource><SourceFilename relativeToVRT=\"0\">" + source +
           "</SourceFilename>";
    if (info_.overview >= 0) {
      xml += "<OpenOptions><OOI key=\"OVERVIEW_LEVEL\">" + std::to_string(info_.overview) + "</OOI></OpenOptions>";
    }
    xml += "<SourceBand>" + std::to_string(band.index) + "</SourceBand>";
    if (band.nodata) xml += "<NODATA>" + number(*band.nodata) + "</NODATA>";
    if (info_.unpacked) {
      xml +=
          "<ScaleOffset>" + number(band.offset) + "</ScaleOffset><ScaleRatio>" + number(band.scale) + "</ScaleRatio>";
    }
    xml += "</ComplexSource></VRTRasterBand>";
  }
  if (info_.validity.kind == MaskKind::alpha) {  // the warper's source alpha, as the file's
    xml += "<VRTRasterBand dataType=\"Float64\" band=\"" + std::to_string(info_.bands.size() + 1) +
           "\"><ColorInterp>Alpha</ColorInterp><SimpleSource><SourceFilename relativeToVRT=\"0\">" + source +
           "</SourceFilename>";
    if (info_.overview >= 0) {
      xml += "<OpenOptions><OOI key=\"OVERVIEW_LEVEL\">" + std::to_string(info_.overview) + "</OOI></OpenOptions>";
    }
    xml += "<SourceBand>" + std::to_string(info_.validity.alpha_band) + "</SourceBand></SimpleSource></VRTRasterBand>";
  }
  warper_vrt_ = xml + "</VRTDataset>";
}

void RasterReader::survey_decoding(GDALDatasetH ds) {
  // The strategies this file allows (decoding_policy.hpp). One row of the file's blocks decoded
  // once and shared by every thread, unless a row of blocks is so large (e.g. a whole file in
  // one strip) that holding it would cost more than reading through GDAL's cache. A tiled DEFLATE
  // or uncompressed GeoTIFF can also be decoded a few rows of every tile at a time
  // (TiffTileStreams), so memory does not follow its tile height: 32-row units, 16-row units with
  // one kept behind, and those with zlib's smaller inflate state. Each is opened once here, so
  // that the plan prices it and says why a file has none. Several bands read together take a
  // row of blocks of all of them (GdalBandsDecoder), never streams; the streams read plain local
  // GeoTIFF files at full resolution only (anything else reads through GDAL).
  const auto band_count = std::max<std::size_t>(1, info_.bands.size());
  block_row_bytes_ = 0;
  if (info_.block_width > 0 && info_.block_height > 0 &&
      __builtin_mul_overflow(
          padded_width() * band_count,
          static_cast<std::size_t>(info_.block_height) * static_cast<std::size_t>(GDALGetDataTypeSizeBytes(info_.type)),
          &block_row_bytes_)) {
    block_row_bytes_ = std::numeric_limits<std::size_t>::max();
  }
  streams_shape_ = small_shape_ = zlib_shape_ = StreamShape{};
  if (band_count > 1) {
    streams_refused_ = "several bands, decoded together through GDAL";
  } else if (!plain_file_ || info_.overview >= 0) {
    streams_refused_ = info_.overview >= 0 ? "an overview is read" : "not a plain local file";
  } else if (info_.block_width > 0 && info_.block_height > 0) {
    // The 32-row probe decodes the first block and checks it against GDAL; the smaller units
    // read the same streams, so their probes only size them (each is checked again when set up).
    const auto probe = [&](int unit_rows, TiffTileStreams::Inflater inflater, std::string* why) {
      StreamShape shape;
      if (auto streams =
              TiffTileStreams::open(ds, info_.path, info_.band, where_, why, unit_rows, inflater, unit_rows == 32)) {
        shape = {true, streams->unit_rows(), streams->state_bytes()};
      }
      return shape;
    };
    streams_shape_ = probe(32, TiffTileStreams::Inflater::isal, &streams_refused_);
    if (streams_shape_.available) {
      std::string ignored;
      small_shape_ = probe(16, TiffTileStreams::Inflater::isal, &ignored);
      zlib_shape_ = probe(16, TiffTileStreams::Inflater::zlib, &ignored);
    }
  }
  const auto ladder = decoding_ladder();
  set_up_decoding(ds, ladder.empty() ? Decoding::gdal_cache : ladder.front().kind);
}

const RasterReader::StreamShape& RasterReader::shape(Decoding d) const {
  static const StreamShape none;
  switch (d) {
    case Decoding::streams:
      return streams_shape_;
    case Decoding::small_streams:
      return small_shape_;
    case Decoding::zlib_streams:
      return zlib_shape_;
    default:
      return none;
  }
}

int RasterReader::block_rows_kept(Decoding d) const {
  // One row behind the highest per thread: a tile that starts late (the flow graph may start a
  // tile before the one above it) finds its rows still decoded. With one kept, 3 to 25% of the
  // rows were decoded twice; lean_block_rows keeps one for the memory limit.
  return d == Decoding::block_rows ? std::max(1, threads_) : 1;
}

int RasterReader::stream_rows_kept(Decoding d) const {
  if (d != Decoding::streams) return 1;
  const std::size_t unit_row_bytes = padded_width() * static_cast<std::size_t>(shape(d).unit_rows) *
                                     static_cast<std::size_t>(GDALGetDataTypeSizeBytes(info_.type));
  return static_cast<int>(std::clamp<std::size_t>(kStreamKeptBytes / std::max<std::size_t>(1, unit_row_bytes), 1, 64));
}

std::size_t RasterReader::strategy_bytes(Decoding d) const {
  if (d == Decoding::gdal_cache) return 0;
  if (holds_block_rows(d)) {
    // The highest row asked for and the rows kept behind it for tiles that start late.
    const auto rows = static_cast<std::size_t>(1 + block_rows_kept(d));
    return block_row_bytes_ > std::numeric_limits<std::size_t>::max() / rows ? std::numeric_limits<std::size_t>::max()
                                                                             : rows * block_row_bytes_;
  }
  // The units kept behind the highest asked for, the spare buffers, and those the threads'
  // tiles hold (a tile's source rows mostly fall in one unit), then the inflate states.
  const StreamShape& s = shape(d);
  const std::size_t unit_row_bytes = padded_width() * static_cast<std::size_t>(s.unit_rows) *
                                     static_cast<std::size_t>(GDALGetDataTypeSizeBytes(info_.type));
  const int units = 2 * stream_rows_kept(d) + std::max(1, threads_);
  return static_cast<std::size_t>(units) * unit_row_bytes + s.state_bytes;
}

std::vector<DecodingPrice> RasterReader::decoding_ladder() const {
  std::vector<DecodingPrice> available;
  const auto add = [&](Decoding d) {
    if (!forced_ || *forced_ == d) available.push_back({d, strategy_bytes(d), measured_cost(d)});
  };
  if (info_.block_width > 0 && info_.block_height > 0 && block_row_bytes_ <= kMaxBlockRowBytes) {
    add(Decoding::block_rows);
    if (block_rows_kept(Decoding::block_rows) > 1) add(Decoding::lean_block_rows);
  }
  for (const Decoding d : {Decoding::streams, Decoding::small_streams, Decoding::zlib_streams}) {
    if (shape(d).available) add(d);
  }
  add(Decoding::gdal_cache);
  return nodes::decoding_ladder(std::move(available));
}

std::optional<DecodingPrice> RasterReader::next_decoding() const {
  const std::size_t now = decoded_rows_bytes();
  for (const DecodingPrice& p : decoding_ladder()) {
    if (p.bytes < now && p.kind != decoding_) return p;
  }
  return std::nullopt;
}

bool RasterReader::step_down_decoding() {
  const auto next = next_decoding();
  if (!next) return false;
  set_up_decoding(dataset(), next->kind);
  return true;
}

void RasterReader::force_decoding(Decoding d) {
  const bool allowed = [&] {
    switch (d) {
      case Decoding::block_rows:
      case Decoding::lean_block_rows:
        return info_.block_width > 0 && info_.block_height > 0 && block_row_bytes_ <= kMaxBlockRowBytes;
      case Decoding::gdal_cache:
        return true;
      default:
        return shape(d).available;
    }
  }();
  if (!allowed) {
    const std::string why = holds_block_rows(d)        ? "a row of its blocks would hold more than 256 MiB"
                            : streams_refused_.empty() ? "its tiles do not divide into units of 16 rows"
                                                       : streams_refused_;
    throw_graph_error(where_, std::string("option \"decoding\": ") + info_.path + " cannot be decoded as " +
                                  decoding_name(d) + " (" + why + ")");
  }
  forced_ = d;
  set_up_decoding(dataset(), d);
}

void RasterReader::set_up_decoding(GDALDatasetH ds, Decoding d) {
  blocks_.reset();
  decoder_.reset();
  streams_ = nullptr;
  bands_decoder_ = nullptr;
  decoding_ = d;
  const BlockRows::Layout layout{info_.width, info_.height, info_.block_width, info_.block_height, info_.type};
  if (holds_block_rows(d) && info_.bands.size() > 1) {
    // Several bands: a row of blocks of all of them, pixel-interleaved, decoded once (a
    // pixel-interleaved file's block holds every band) and shared out as one band is.
    std::vector<int> indices;
    for (const auto& b : info_.bands) indices.push_back(b.index);
    auto decoder = std::make_unique<GdalBandsDecoder>(
        [this] { return dataset(); }, std::move(indices),
        GdalBandsDecoder::Layout{info_.width, info_.height, info_.block_width, info_.block_height, info_.type}, where_,
        info_.path);
    bands_decoder_ = decoder.get();
    decoder_ = std::move(decoder);
    const auto n = static_cast<std::int64_t>(info_.bands.size());
    blocks_ = std::make_unique<BlockRows>(
        BlockRows::Layout{info_.width * n, info_.height, info_.block_width * static_cast<int>(n), info_.block_height,
                          info_.type},
        *decoder_, where_, info_.path, block_rows_kept(d));
    return;
  }
  if (holds_block_rows(d)) {
    spdlog::debug("{}: {} is decoded a whole row of blocks at a time", where_, info_.path);
    decoder_ = std::make_unique<GdalBlockDecoder>([this] { return band(); }, info_.block_height, info_.height, where_,
                                                  info_.path);
    blocks_ = std::make_unique<BlockRows>(layout, *decoder_, where_, info_.path, block_rows_kept(d));
    return;
  }
  if (d == Decoding::gdal_cache) return;
  std::string why;
  auto streams = TiffTileStreams::open(
      ds, info_.path, info_.band, where_, &why, d == Decoding::streams ? 32 : 16,
      d == Decoding::zlib_streams ? TiffTileStreams::Inflater::zlib : TiffTileStreams::Inflater::isal);
  if (!streams) throw_io_error(where_, "cannot decode " + info_.path + " in streams any more: " + why);
  streams_ = streams.get();
  decoder_ = std::make_unique<StreamBlockDecoder>(std::move(streams));
  blocks_ = std::make_unique<BlockRows>(layout, *decoder_, where_, info_.path, stream_rows_kept(d));
}

GDALDatasetH RasterReader::dataset() {
  auto& handle = handles_.local();
  if (!handle) {
    handle = open();
    if (!handle) throw_io_error(where_, "cannot reopen " + info_.path + ": " + last_gdal_error("unknown error"));
  }
  return get(handle);
}

GDALDatasetH RasterReader::warper_dataset() {
  if (warper_vrt_.empty()) return dataset();
  auto& handle = warper_handles_.local();
  if (!handle) {
    quiet_library_diagnostics();
    // A transposed view has no name a VRT's XML could give: its VRT is built on this thread's view.
    handle = transposed_ ? nan_nodata_vrt(dataset(), info_) : DatasetPtr(GDALOpen(warper_vrt_.c_str(), GA_ReadOnly));
    if (!handle)
      throw_io_error(where_, "cannot open " + info_.path + " through a VRT: " + last_gdal_error("unknown error"));
  }
  return get(handle);
}

GDALRasterBandH RasterReader::band() { return GDALGetRasterBand(dataset(), info_.band); }

BlockRows::Hold RasterReader::hold(std::int64_t row0, std::int64_t row1) {
  const GribUnitsScope units = units_scope();
  return blocks_ ? blocks_->hold(row0, row1) : BlockRows::Hold{};
}

std::size_t RasterReader::padded_width() const {
  // Rows of blocks are held whole: the last block column is full width.
  const std::int64_t bw = std::max(1, info_.block_width);
  return static_cast<std::size_t>((info_.width + bw - 1) / bw * bw);
}

void RasterReader::prepare(int threads, std::uint64_t memory_limit) {
  const bool rows_kept_change = threads != threads_ && decoding_ == Decoding::block_rows;
  threads_ = threads;
  // Rows of blocks kept behind follow the threads (nothing is decoded yet).
  if (rows_kept_change) set_up_decoding(dataset(), decoding_);
  // Whichever way the file is read, a block is decoded whole somewhere (GDAL's cache, a row
  // of blocks, the check of the streams): a file whose blocks alone would take half the memory
  // limit is refused before anything is allocated for them.
  const std::uint64_t bytes = block_bytes();
  if (memory_limit > 0 && bytes > memory_limit / 2) {
    throw_graph_error(where_, "option \"path\": " + info_.path + " is stored in blocks of " +
                                  std::to_string(info_.block_width) + " x " + std::to_string(info_.block_height) + " " +
                                  GDALGetDataTypeName(info_.type) + " samples (" + format_size(bytes) +
                                  " each); decoding one needs more than half the memory limit (" +
                                  format_size(memory_limit) + ")");
  }
}

std::uint64_t RasterReader::block_bytes() const {
  std::uint64_t bytes = 0;
  const auto bw = static_cast<std::uint64_t>(std::max(1, info_.block_width));
  const auto bh = static_cast<std::uint64_t>(std::max(1, info_.block_height));
  const auto n = static_cast<std::uint64_t>(std::max<std::size_t>(1, info_.bands.size()));
  if (__builtin_mul_overflow(bw * bh * n, static_cast<std::uint64_t>(GDALGetDataTypeSizeBytes(info_.type)), &bytes)) {
    return std::numeric_limits<std::uint64_t>::max();
  }
  return bytes;
}

std::size_t RasterReader::decoded_rows_bytes() const { return blocks_ ? strategy_bytes(decoding_) : 0; }

void RasterReader::read(const PixelWindow& w, double* out) {
  if (w.empty()) return;
  const GribUnitsScope units = units_scope();
  if (info_.bands.size() > 1) {
    // One band of several read together: the others' values are read and dropped.
    thread_local std::vector<double> all;
    all.resize(info_.bands.size() * static_cast<std::size_t>(w.cells()));
    read_bands(w, all.data());
    std::copy_n(all.data(), w.cells(), out);
    return;
  }
  if (blocks_) {
    blocks_->read(w.col0, w.row0, w.cols, w.rows, out);
  } else {
    read_through_gdal(w, out);
  }
  finish_values(0, out, w.cells());
  apply_validity(0, w, out);
}

void RasterReader::read_bands(const PixelWindow& w, double* out) {
  if (w.empty()) return;
  const GribUnitsScope units = units_scope();
  const auto n = static_cast<std::int64_t>(info_.bands.size());
  if (n == 1) {
    read(w, out);
    return;
  }
  const std::int64_t cells = w.cells();
  if (blocks_) {
    // Pixel-interleaved rows of blocks: a window of n times the columns, then one band after another.
    thread_local std::vector<double> interleaved;
    interleaved.resize(static_cast<std::size_t>(n * cells));
    blocks_->read(w.col0 * n, w.row0, w.cols * n, w.rows, interleaved.data());
    for (std::int64_t i = 0; i < cells; ++i) {
      for (std::int64_t k = 0; k < n; ++k) out[k * cells + i] = interleaved[static_cast<std::size_t>(i * n + k)];
    }
  } else {
    std::vector<int> indices;
    for (const auto& b : info_.bands) indices.push_back(b.index);
    const GdalErrors errors;
    const CPLErr err =
        GDALDatasetRasterIO(dataset(), GF_Read, static_cast<int>(w.col0), static_cast<int>(w.row0),
                            static_cast<int>(w.cols), static_cast<int>(w.rows), out, static_cast<int>(w.cols),
                            static_cast<int>(w.rows), GDT_Float64, static_cast<int>(n), indices.data(), 0, 0, 0);
    if (err != CE_None) {
      throw_io_error(where_, "reading " + info_.path + " rows " + std::to_string(w.row0) + "-" +
                                 std::to_string(w.row0 + w.rows - 1) + " failed: " + errors.text("read error"));
    }
  }
  for (std::int64_t k = 0; k < n; ++k) {
    finish_values(static_cast<std::size_t>(k), out + k * cells, cells);
    apply_validity(static_cast<std::size_t>(k), w, out + k * cells, k > 0);
  }
}

void RasterReader::apply_validity(std::size_t k, const PixelWindow& w, double* values, bool shared) {
  const Validity& v = info_.validity;
  if (!v.active()) return;
  thread_local std::vector<std::uint8_t> valid;
  if (!shared || v.kind == MaskKind::per_band) {
    const GdalErrors errors;
    valid.resize(static_cast<std::size_t>(w.cells()));
    if (!read_valid(dataset(), v, info_.bands[k].index, w, valid.data())) {
      throw_io_error(where_, "reading the " + std::string(v.kind == MaskKind::alpha ? "alpha band" : "mask") + " of " +
                                 info_.path + " rows " + std::to_string(w.row0) + "-" +
                                 std::to_string(w.row0 + w.rows - 1) + " failed: " + errors.text("read error"));
    }
  }
  blank_invalid(valid.data(), values, w.cells());
}

void RasterReader::finish_values(std::size_t band, double* values, std::int64_t count) const {
  if (info_.signed_byte) {
    for (std::int64_t i = 0; i < count; ++i) {
      if (values[i] > 127.0) values[i] -= 256.0;
    }
  }
  if (!info_.unpacked) return;
  // Unpacked as xarray decodes CF packing: nodata is tested on the stored value, and becomes NaN.
  const BandInfo& b = info_.bands[band];
  const bool has_nodata = b.nodata.has_value();
  const double nodata = b.nodata.value_or(0.0);
  if (info_.unpacked_type == GDT_Float32) {
    // In float32 arithmetic, as xarray decodes a variable whose scale_factor/add_offset are float32.
    const auto scale = static_cast<float>(b.scale);
    const auto offset = static_cast<float>(b.offset);
    for (std::int64_t i = 0; i < count; ++i) {
      const double v = values[i];
      const float scaled = static_cast<float>(v) * scale;
      values[i] = (std::isnan(v) || (has_nodata && v == nodata)) ? std::numeric_limits<double>::quiet_NaN()
                                                                 : static_cast<double>(scaled + offset);
    }
    return;
  }
  for (std::int64_t i = 0; i < count; ++i) {
    const double v = values[i];
    values[i] = (std::isnan(v) || (has_nodata && v == nodata)) ? std::numeric_limits<double>::quiet_NaN()
                                                               : v * b.scale + b.offset;
  }
}

std::int64_t RasterReader::multi_band_blocks_decoded() const {
  return bands_decoder_ != nullptr ? bands_decoder_->blocks_decoded() : 0;
}

void RasterReader::read_native(const PixelWindow& w, std::byte* out) {
  if (w.empty()) return;
  const GribUnitsScope units = units_scope();
  if (blocks_) {
    blocks_->read_native(w.col0, w.row0, w.cols, w.rows, out);
    return;
  }
  const GdalErrors errors;
  if (GDALRasterIO(band(), GF_Read, static_cast<int>(w.col0), static_cast<int>(w.row0), static_cast<int>(w.cols),
                   static_cast<int>(w.rows), out, static_cast<int>(w.cols), static_cast<int>(w.rows), info_.type, 0,
                   0) != CE_None) {
    fail_gdal_read(w, errors.text("read error"));
  }
}

void RasterReader::read_through_gdal(const PixelWindow& w, double* out) {
  const GdalErrors errors;
  const CPLErr err = GDALRasterIO(band(), GF_Read, static_cast<int>(w.col0), static_cast<int>(w.row0),
                                  static_cast<int>(w.cols), static_cast<int>(w.rows), out, static_cast<int>(w.cols),
                                  static_cast<int>(w.rows), GDT_Float64, 0, 0);
  if (err != CE_None) fail_gdal_read(w, errors.text("read error"));
}

void RasterReader::fail_gdal_read(const PixelWindow& w, const std::string& gdal_message) const {
  // GDAL names the block it failed on ("IReadBlock failed at X offset 1, Y offset 1"); the
  // rows of blocks read are named too, as the other strategies name them.
  const std::int64_t bh = std::max(1, info_.block_height);
  const std::int64_t first = w.row0 / bh;
  const std::int64_t last = (w.row0 + w.rows - 1) / bh;
  const std::string blocks = first == last ? "block row " + std::to_string(first)
                                           : "block rows " + std::to_string(first) + "-" + std::to_string(last);
  throw_io_error(where_, "reading " + info_.path + " rows " + std::to_string(w.row0) + "-" +
                             std::to_string(w.row0 + w.rows - 1) + " (" + blocks + " (rows " +
                             std::to_string(first * bh) + "-" +
                             std::to_string(std::min(info_.height, (last + 1) * bh) - 1) +
                             ")) through GDAL's cache failed: " + gdal_message);
}

Extent RasterReader::corner_extent() const {
  // All four corners: a rotated or sheared geotransform puts its extremes at any of them.
  const auto& gt = info_.gt;
  const auto w = static_cast<double>(info_.width), h = static_cast<double>(info_.height);
  Extent e{std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity(),
           -std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
  for (const auto& [px, py] : {std::pair{0.0, 0.0}, std::pair{w, 0.0}, std::pair{0.0, h}, std::pair{w, h}}) {
    const double x = gt[0] + px * gt[1] + py * gt[2];
    const double y = gt[3] + px * gt[4] + py * gt[5];
    e = {std::min(e.xmin, x), std::min(e.ymin, y), std::max(e.xmax, x), std::max(e.ymax, y)};
  }
  return e;
}

std::optional<std::array<double, 2>> RasterReader::suggested_resolution(const std::string& grid_crs) const {
  // The resolution gdalwarp would choose for this source alone in the grid's CRS.
  const DatasetPtr ds = open();
  GeoTransform src_gt = info_.gt;
  const TransformerPtr transformer(
      ds ? GDALCreateGenImgProjTransformer3(info_.crs.empty() ? nullptr : info_.crs.c_str(), src_gt.data(),
                                            grid_crs.empty() ? nullptr : grid_crs.c_str(), nullptr)
         : nullptr);
  const auto s = suggested_output(get(ds), transformer.get());
  if (!s || !(s->gt[1] > 0)) return std::nullopt;
  return s->resolution();
}

SourceFootprint RasterReader::geolocated_footprint(const std::string& grid_crs) const {
  // As gdalwarp -geoloc without -te/-tr: GDALSuggestedWarpOutput2 through the geolocation
  // transformer gives the extent and resolution, in any CRS (the grid's corner is its corner).
  SourceFootprint fp;
  fp.crs = info_.crs;
  const GeolocTransformer t(info_.geolocation, info_.crs_given ? info_.crs : "", info_.width, info_.height,
                            grid_crs.empty() ? info_.crs : grid_crs, nullptr);
  const auto out = suggested_output(t.carrier(), t.get());
  if (!out || !out->has_cells()) {
    throw_graph_error(where_, "option \"path\": GDAL cannot place " + info_.path + " by its geolocation arrays (" +
                                  last_gdal_error("no geolocation transformer") + ")");
  }
  fp.extent = out->extent();
  fp.suggested_resolution = out->resolution();
  return fp;
}

TransformerPtr RasterReader::warp_transformer(const std::string& dst_crs, const GeoTransform& dst_gt,
                                              const GeoTransform& src_gt) {
  if (!info_.georef.by_geotransform()) {
    return gcp_rpc_transformer(dataset(), info_.georef, info_.crs, dst_crs, &dst_gt);
  }
  GeoTransform src = src_gt, dst = dst_gt;
  return TransformerPtr(GDALCreateGenImgProjTransformer3(info_.crs.empty() ? nullptr : info_.crs.c_str(), src.data(),
                                                         dst_crs.c_str(), dst.data()));
}

SourceFootprint RasterReader::gcp_rpc_footprint(const std::string& grid_crs) const {
  // As gdalwarp without -te/-tr: the extent and resolution GDALSuggestedWarpOutput2 gives through
  // the GCP or RPC transformer, the extent a whole number of those cells from its north-west
  // corner (gdalwarp's own rounding of the size).
  const std::string dst_crs = grid_crs.empty() ? info_.crs : grid_crs;
  if (!grid_crs.empty() && info_.crs.empty()) {
    throw_graph_error(where_, "option \"crs\": the GCPs of " + info_.path +
                                  " have no CRS, so they cannot be placed on the grid's CRS; give the source a "
                                  "\"crs\" (as gdalwarp -s_srs)");
  }
  const DatasetPtr ds = open();
  const TransformerPtr t = ds ? gcp_rpc_transformer(get(ds), info_.georef, info_.crs, dst_crs, nullptr) : nullptr;
  const auto s = ds ? suggested_output(get(ds), t.get()) : std::nullopt;
  if (!s || !s->has_cells()) {
    throw_graph_error(where_, "option \"transformer\": GDAL cannot place " + info_.path + " " +
                                  info_.georef.describe() + ": " + last_gdal_error("no transformer"));
  }
  SourceFootprint fp;
  fp.crs = info_.crs;
  fp.extent = s->extent();
  fp.suggested_resolution = s->resolution();
  return fp;
}

SourceFootprint RasterReader::footprint(const std::string& grid_crs) const {
  if (info_.geolocated()) return geolocated_footprint(grid_crs);
  if (!info_.georef.by_geotransform()) return gcp_rpc_footprint(grid_crs);
  SourceFootprint fp;
  fp.crs = info_.crs;
  const auto& gt = info_.gt;
  const Extent native = corner_extent();
  if (grid_crs.empty() || same_crs(grid_crs, info_.crs)) {
    fp.extent = native;
    if (gt[2] == 0.0 && gt[4] == 0.0) {
      fp.resolution = std::array<double, 2>{std::fabs(gt[1]), std::fabs(gt[5])};
    } else {
      fp.suggested_resolution = suggested_resolution(grid_crs);  // rotated: gdalwarp's default resolution
    }
    fp.periodic = wraps_longitude(*this);
    return fp;
  }
  if (info_.crs.empty()) {
    throw_graph_error(where_, "option \"crs\": " + info_.path +
                                  " has no CRS, so it cannot be placed on the grid's CRS; give the source a \"crs\" "
                                  "(as gdalwarp -s_srs), e.g. \"crs\": \"EPSG:4326\" for latitude/longitude axes");
  }
  const SrsPtr src = make_srs(info_.crs);
  const SrsPtr dst = make_srs(grid_crs);
  if (!src || !dst) throw_graph_error(where_, "the CRS of " + info_.path + " is not understood by GDAL");
  OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(get(src), get(dst));
  if (ct == nullptr) {
    throw_graph_error(where_, "GDAL cannot transform the CRS of " + info_.path + " into the grid's CRS (" +
                                  last_gdal_error("no transformation") + ")");
  }
  double xmin = 0, ymin = 0, xmax = 0, ymax = 0;
  const int ok =
      OCTTransformBounds(ct, native.xmin, native.ymin, native.xmax, native.ymax, &xmin, &ymin, &xmax, &ymax, 21);
  OCTDestroyCoordinateTransformation(ct);
  if (!ok) throw_graph_error(where_, "the extent of " + info_.path + " cannot be transformed into the grid's CRS");
  fp.extent = {xmin, ymin, xmax, ymax};
  fp.suggested_resolution = suggested_resolution(grid_crs);
  return fp;
}

bool RasterReader::overview_may_apply() {
  if (info_.geolocated()) {
    info_.overview_reason = "none: full resolution (the geolocation arrays describe full-resolution pixels)";
    return false;
  }
  if (request_.overviews != Overviews::automatic) {
    info_.overview_reason = info_.overview_count > 0 ? "none: full resolution (overviews: none; the file has " +
                                                           std::to_string(info_.overview_count) + ")"
                                                     : "none: full resolution";
    return false;
  }
  if (info_.overview >= 0 || !info_.overview_reason.empty()) return false;  // chosen by an earlier reader
  if (!info_.georef.by_geotransform()) {
    info_.overview_reason = "full resolution (overviews: auto reads overviews of sources with a geotransform only)";
    return false;
  }
  if (info_.overview_count == 0) {
    info_.overview_reason = "full resolution (overviews: auto, but the file has none)";
    return false;
  }
  return true;
}

namespace {

// The source pixels per grid cell across that GDALSuggestedWarpOutput2 gives for the source
// `ds` (placed by `info`) in the grid's pixels; nullopt when GDAL suggests no output.
std::optional<double> source_pixels_per_cell(GDALDatasetH ds, const RasterInfo& info, const Grid& grid) {
  GeoTransform src_gt = info.gt;
  GeoTransform dst_gt = grid.geotransform();
  const TransformerPtr transformer(
      GDALCreateGenImgProjTransformer3(info.crs.empty() ? nullptr : info.crs.c_str(), src_gt.data(),
                                       grid.crs.empty() ? nullptr : grid.crs.c_str(), dst_gt.data()));
  const auto s = ds != nullptr ? suggested_output(ds, transformer.get()) : std::nullopt;
  if (!s || s->gt[1] <= 0) return std::nullopt;
  return 1.0 / s->gt[1];
}

// The last overview of `band` whose ratio to full resolution is still below `target` (or within
// 0.1 of it), as gdalwarp -ovr AUTO picks it; -1 for full resolution.
int overview_level(GDALRasterBandH band, double target) {
  const auto full = static_cast<double>(GDALGetRasterBandXSize(band));
  const int count = GDALGetOverviewCount(band);
  int level = -1;
  for (; level < count - 1; ++level) {
    const double here = level < 0 ? 1.0 : full / GDALGetRasterBandXSize(GDALGetOverview(band, level));
    const double next = full / GDALGetRasterBandXSize(GDALGetOverview(band, level + 1));
    if (here < target && next > target) break;
    if (std::fabs(here - target) < 1e-1) break;
  }
  return level;
}

}  // namespace

void RasterReader::choose_overview(const Grid& grid) {
  if (!overview_may_apply()) return;
  // gdalwarp -ovr AUTO (GDAL 3.6, gdalwarp_lib.cpp): the source pixels per grid cell that
  // GDALSuggestedWarpOutput2 gives for the source in the grid's pixels, then the last overview
  // whose ratio to full resolution is still below that (or within 0.1 of it).
  const DatasetPtr ds = open();
  const std::optional<double> target = source_pixels_per_cell(get(ds), info_, grid);
  if (!target) {
    info_.overview_reason = "full resolution (overviews: auto, but GDAL suggests no output for the grid)";
    return;
  }
  char ratio[32];
  std::snprintf(ratio, sizeof ratio, "%.4g", *target);
  if (*target <= 1.0) {
    info_.overview_reason = std::string("full resolution (overviews: auto; the grid reads ") + ratio +
                            " source pixels per cell across, not more than 1)";
    return;
  }
  const int level = overview_level(GDALGetRasterBand(get(ds), info_.band), *target);
  if (level < 0) {
    info_.overview_reason = std::string("full resolution (overviews: auto; ") + ratio +
                            " source pixels per cell across, below the first overview's ratio)";
    return;
  }
  read_overview(level, ratio);
}

void RasterReader::read_overview(int level, const std::string& ratio) {
  info_.overview = level;
  const DatasetPtr ovr = open();
  if (!ovr) {
    throw_graph_error(where_, "option \"overviews\": GDAL cannot open overview level " + std::to_string(level) +
                                  " of " + info_.path + ": " + last_gdal_error("unknown error"));
  }
  read_geometry(get(ovr));
  info_.overview_reason = "overview level " + std::to_string(level) + " (" + std::to_string(info_.width) + " x " +
                          std::to_string(info_.height) + "), as gdalwarp -ovr AUTO: " + ratio +
                          " source pixels per cell across";
  handles_.clear();
  warper_handles_.clear();
  make_warper_vrt();
  if (forced_ && !holds_block_rows(*forced_) && *forced_ != Decoding::gdal_cache) {
    throw_graph_error(where_, std::string("option \"decoding\": ") + decoding_name(*forced_) +
                                  " reads full resolution only, and overviews: auto reads overview level " +
                                  std::to_string(level) + " of " + info_.path +
                                  " (use block_rows, gdal_cache or auto)");
  }
  survey_decoding(get(ovr));
}

namespace {

// describe()'s first line: the path, bands, size, type, pixel and nodata.
std::string summary_line(const RasterInfo& info) {
  std::string bands;
  for (const auto& b : info.bands) bands += (bands.empty() ? "" : ", ") + std::to_string(b.index);
  char pixel[96] = "pixels placed by its transformer";
  if (info.georef.by_geotransform()) std::snprintf(pixel, sizeof pixel, "pixel %.9g x %.9g", info.gt[1], -info.gt[5]);
  char buf[512];
  std::snprintf(buf, sizeof buf, "%s band%s %s: %lld x %lld %s%s, %s, nodata %s", info.path.c_str(),
                info.bands.size() > 1 ? "s" : "", bands.c_str(), static_cast<long long>(info.width),
                static_cast<long long>(info.height), GDALGetDataTypeName(info.type),
                info.signed_byte ? " (signed: Int8)" : "", pixel,
                info.nodata ? std::to_string(*info.nodata).c_str() : "none");
  std::string line = buf;
  if (info.geolocated())
    line = line.substr(0, line.find(", pixel")) + ", nodata " +
           (info.nodata ? std::to_string(*info.nodata) : std::string("none"));
  return line;
}

// One line per packed band (scale and offset), and whether it is unpacked.
void append_packing(const RasterInfo& info, std::vector<std::string>& lines) {
  for (const auto& b : info.bands) {
    if (b.scale == 1.0 && b.offset == 0.0) continue;
    char packed[256];
    std::snprintf(
        packed, sizeof packed, "band %d: scale %.9g, offset %.9g, %s", b.index, b.scale, b.offset,
        info.unpacked
            ? (info.unpacked_type == GDT_Float32
                   ? "unpacked to Float32 (CF: float32 scale_factor/add_offset; nodata tested on the stored value)"
                   : "unpacked to Float64 (nodata tested on the stored value)")
            : "not unpacked (unpack: false)");
    lines.emplace_back(packed);
  }
}

std::string overviews_line(const RasterInfo& info) {
  return "overviews: " +
         (info.overview_reason.empty()
              ? std::string(info.overview_count > 0 ? "none (the file has " + std::to_string(info.overview_count) + ")"
                                                    : "none")
              : info.overview_reason);
}

std::string rounded_mib(std::size_t bytes) { return std::to_string((bytes + (std::size_t{1} << 19)) >> 20) + " MiB"; }

}  // namespace

std::vector<std::string> RasterReader::describe() const {
  std::vector<std::string> lines{summary_line(info_)};
  if (!info_.variables.empty()) lines.push_back("variables in the file: " + joined(info_.variables));
  if (transposed_) {
    lines.push_back("stored (" + transposed_->lon_dim + ", " + transposed_->lat_dim +
                    "): read transposed, rows north first, as xarray's transpose (GDAL's multidimensional view)");
  }
  if (!irregular_note_.empty()) {
    lines.push_back(irregular_note_);
  } else if (info_.geolocated()) {
    lines.push_back("placed by geolocation arrays (no geotransform): longitudes " +
                    geolocation_item(info_.geolocation, "X_DATASET") + ", latitudes " +
                    geolocation_item(info_.geolocation, "Y_DATASET") + ", as gdalwarp -geoloc");
  }
  if (!info_.georef.by_geotransform()) lines.push_back(info_.georef.describe() + "; read on the warper path");
  if (const std::string masks = info_.validity.describe(); !masks.empty()) lines.push_back(masks);
  if (info_.crs_given) lines.push_back("CRS from option crs (as gdalwarp -s_srs): " + hooks().crs_label(info_.crs));
  for (auto& line : describe_units_and_coordinates(info_)) lines.push_back(std::move(line));
  if (!info_.grib_units.empty()) lines.push_back(info_.grib_units);
  append_packing(info_, lines);
  lines.push_back(overviews_line(info_));
  append_decoding(lines);
  return lines;
}

void RasterReader::append_decoding(std::vector<std::string>& lines) const {
  std::string line = std::string("decoding: ") + decoding_name(decoding_) + ", " + decoding_description(decoding_);
  if (streams_) {
    line += " in " + std::to_string(streams_->tiles_across()) + " tile columns of " +
            std::to_string(info_.block_width) + " x " + std::to_string(info_.block_height);
  } else if (blocks_) {
    line += " (" + std::to_string(info_.block_width) + " x " + std::to_string(info_.block_height) + ")";
  }
  if (blocks_) line += ", up to " + rounded_mib(decoded_rows_bytes());
  if (forced_) {
    line += "; chosen by the decoding option";
  } else {
    const auto ladder = decoding_ladder();
    line += ladder.empty() || ladder.front().kind == decoding_
                ? "; the fastest this file allows"
                : std::string("; for the memory limit (") + decoding_name(ladder.front().kind) + " would hold " +
                      rounded_mib(ladder.front().bytes) + ")";
  }
  lines.push_back(line);
  if (const auto next = next_decoding()) {
    char cost[32];
    std::snprintf(cost, sizeof cost, "%.1f", next->cost / measured_cost(decoding_));
    lines.push_back(
        std::string("a tighter limit would switch to ") + decoding_name(next->kind) + " (" +
        (next->kind == Decoding::gdal_cache ? std::string("nothing held") : "up to " + rounded_mib(next->bytes)) +
        ", " + cost + " x the CPU)");
  }
  if (!streams_shape_.available && !streams_refused_.empty()) lines.push_back("not in streams: " + streams_refused_);
}

std::shared_ptr<RasterReader> reader_of(const Node& input, const std::string& where) {
  const auto* source = dynamic_cast<const ReaderSource*>(&input);
  if (source == nullptr)
    throw_graph_error(where,
                      "field \"inputs\": node \"" + input.id() + "\" (" + input.type() + ") hands no raster reader");
  return source->reader();
}

}  // namespace rasterflow::nodes
