#include "nodes/cf/cf_writer.hpp"

#include <cpl_string.h>
#include <ogr_srs_api.h>

#include <boost/json.hpp>
#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <set>
#include <sstream>

#include "nodes/gdal/gdal.hpp"
#include "rasterflow/errors.hpp"

namespace rasterflow::nodes {
namespace {

template <typename H, void (*Release)(H)>
struct Releaser {
  void operator()(H h) const {
    if (h != nullptr) Release(h);
  }
};
using GroupPtr = std::unique_ptr<std::remove_pointer_t<GDALGroupH>, Releaser<GDALGroupH, GDALGroupRelease>>;
using DimPtr = std::unique_ptr<std::remove_pointer_t<GDALDimensionH>, Releaser<GDALDimensionH, GDALDimensionRelease>>;
using ArrayPtr = std::unique_ptr<std::remove_pointer_t<GDALMDArrayH>, Releaser<GDALMDArrayH, GDALMDArrayRelease>>;
using TypePtr = std::unique_ptr<std::remove_pointer_t<GDALExtendedDataTypeH>,
                                Releaser<GDALExtendedDataTypeH, GDALExtendedDataTypeRelease>>;
using AttrPtr = std::unique_ptr<std::remove_pointer_t<GDALAttributeH>, Releaser<GDALAttributeH, GDALAttributeRelease>>;

double fill_value(GDALDataType type, double given) {
  if (GDALDataTypeIsFloating(type)) return std::numeric_limits<double>::quiet_NaN();
  const int bits = GDALGetDataTypeSizeBits(type);
  const double low = GDALDataTypeIsSigned(type) ? -std::ldexp(1.0, bits - 1) : 0.0;
  const double high = GDALDataTypeIsSigned(type) ? std::ldexp(1.0, bits - 1) - 1 : std::ldexp(1.0, bits) - 1;
  if (!std::isnan(given) && std::trunc(given) == given && given >= low && given <= high) return given;
  return GDALDataTypeIsSigned(type) ? low : high;
}

class Writer {
 public:
  Writer(const CfOutput& out, const Grid& grid) : out_(out), grid_(grid) {}
  void create();
  void coordinates(const std::vector<CfColumn>& columns);
  GDALMDArrayH variable(const std::string& name, GDALDataType type, const ColumnMetadata& meta, bool with_time);
  void write_rows(GDALMDArrayH array, std::int64_t step, std::int64_t row0, std::int64_t rows,
                  const std::vector<double>& values) const;
  void close();
  // Zarr: GDAL keeps the CRS in its own _CRS attribute; CF readers (xarray, rioxarray) look for a
  // grid_mapping variable, added here with the CRS's WKT.
  void zarr_grid_mapping();

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw_io_error(out_.where, what + " " + out_.path + " failed: " + last_gdal_error("no reason given"));
  }
  void string_attribute(GDALMDArrayH array, const char* name, const std::string& value) const;
  ArrayPtr axis(GDALDimensionH dim, const char* name, const std::vector<double>& values) const;

  bool is_zarr() const { return std::string(GDALGetDriverShortName(out_.driver)) == "Zarr"; }

  const CfOutput& out_;
  const Grid& grid_;
  DatasetPtr dataset_;
  GroupPtr root_;
  DimPtr y_, x_, time_;
  OGRSpatialReferenceH srs_ = nullptr;
  bool geographic_ = false;
  std::vector<ArrayPtr> arrays_;
};

void Writer::create() {
  CPLStringList dataset_options;
  for (const auto& o : out_.creation_options) {
    if (o.rfind("FORMAT=", 0) == 0) dataset_options.AddString(o.c_str());
  }
  CPLErrorReset();
  dataset_.reset(GDALCreateMultiDimensional(out_.driver, out_.path.c_str(), nullptr, dataset_options.List()));
  if (!dataset_) fail("creating");
  root_.reset(GDALDatasetGetRootGroup(get(dataset_)));
  if (!root_) fail("creating");
  srs_ = OSRNewSpatialReference(nullptr);
  if (!grid_.crs.empty() && OSRSetFromUserInput(srs_, grid_.crs.c_str()) == OGRERR_NONE) {
    OSRSetAxisMappingStrategy(srs_, OAMS_TRADITIONAL_GIS_ORDER);
    geographic_ = OSRIsGeographic(srs_) != 0;
  }
}

void Writer::string_attribute(GDALMDArrayH array, const char* name, const std::string& value) const {
  if (value.empty()) return;
  TypePtr type(GDALExtendedDataTypeCreateString(0));
  AttrPtr attribute(GDALMDArrayCreateAttribute(array, name, 0, nullptr, type.get(), nullptr));
  if (!attribute || !GDALAttributeWriteString(attribute.get(), value.c_str()))
    fail("writing attribute " + std::string(name) + " of");
}

ArrayPtr Writer::axis(GDALDimensionH dim, const char* name, const std::vector<double>& values) const {
  TypePtr f64(GDALExtendedDataTypeCreate(GDT_Float64));
  GDALDimensionH dims[] = {dim};
  ArrayPtr array(GDALGroupCreateMDArray(root_.get(), name, 1, dims, f64.get(), nullptr));
  if (!array) fail(std::string("creating coordinate ") + name + " in");
  const GUInt64 start = 0;
  const size_t count = values.size();
  if (!GDALMDArrayWrite(array.get(), &start, &count, nullptr, nullptr, f64.get(), values.data(), nullptr, 0))
    fail(std::string("writing coordinate ") + name + " of");
  // Zarr links a dimension to its coordinate only when told (netCDF does it by name).
  CPLPushErrorHandler(CPLQuietErrorHandler);
  GDALDimensionSetIndexingVariable(dim, array.get());
  CPLPopErrorHandler();
  CPLErrorReset();
  return array;
}

void Writer::coordinates(const std::vector<CfColumn>& columns) {
  const char* yname = geographic_ ? "lat" : "y";
  const char* xname = geographic_ ? "lon" : "x";
  y_.reset(GDALGroupCreateDimension(root_.get(), yname, "HORIZONTAL_Y", nullptr, static_cast<GUInt64>(grid_.height),
                                    nullptr));
  x_.reset(GDALGroupCreateDimension(root_.get(), xname, "HORIZONTAL_X", nullptr, static_cast<GUInt64>(grid_.width),
                                    nullptr));
  if (!y_ || !x_) fail("creating dimensions in");
  std::vector<double> ys(static_cast<std::size_t>(grid_.height)), xs(static_cast<std::size_t>(grid_.width));
  for (std::size_t i = 0; i < ys.size(); ++i) ys[i] = grid_.center_y(static_cast<std::int64_t>(i));
  for (std::size_t i = 0; i < xs.size(); ++i) xs[i] = grid_.center_x(static_cast<std::int64_t>(i));
  ArrayPtr y = axis(y_.get(), yname, ys);
  ArrayPtr x = axis(x_.get(), xname, xs);
  string_attribute(y.get(), "standard_name", geographic_ ? "latitude" : "projection_y_coordinate");
  string_attribute(x.get(), "standard_name", geographic_ ? "longitude" : "projection_x_coordinate");
  string_attribute(y.get(), "units", geographic_ ? "degrees_north" : "m");
  string_attribute(x.get(), "units", geographic_ ? "degrees_east" : "m");
  string_attribute(y.get(), "axis", "Y");
  string_attribute(x.get(), "axis", "X");
  if (out_.layout != CfLayout::time) return;
  time_.reset(GDALGroupCreateDimension(root_.get(), "time", "TEMPORAL", nullptr, columns.size(), nullptr));
  if (!time_) fail("creating dimension time in");
  std::vector<double> times;
  for (const auto& c : columns) times.push_back(*c.metadata.time);
  ArrayPtr t = axis(time_.get(), "time", times);
  string_attribute(t.get(), "standard_name", "time");
  string_attribute(t.get(), "units", columns.front().metadata.time_units);
  string_attribute(t.get(), "calendar", columns.front().metadata.time_calendar);
  string_attribute(t.get(), "axis", "T");
}

GDALMDArrayH Writer::variable(const std::string& name, GDALDataType type, const ColumnMetadata& meta, bool with_time) {
  std::vector<GDALDimensionH> dims;
  if (with_time) dims.push_back(time_.get());
  dims.push_back(y_.get());
  dims.push_back(x_.get());
  CPLStringList options;
  for (const auto& o : out_.creation_options) {
    if (o.rfind("FORMAT=", 0) != 0) options.AddString(o.c_str());
  }
  TypePtr t(GDALExtendedDataTypeCreate(type));
  ArrayPtr array(GDALGroupCreateMDArray(root_.get(), name.c_str(), dims.size(), dims.data(), t.get(), options.List()));
  if (!array) fail("creating variable " + name + " in");
  if (!GDALMDArraySetNoDataValueAsDouble(array.get(), fill_value(type, out_.nodata))) fail("setting _FillValue of");
  if (!meta.units.empty() && !GDALMDArraySetUnit(array.get(), meta.units.c_str())) fail("setting units of");
  string_attribute(array.get(), "long_name", meta.long_name);
  string_attribute(array.get(), "standard_name", meta.standard_name);
  if (!grid_.crs.empty() && !GDALMDArraySetSpatialRef(array.get(), srs_)) fail("setting the grid mapping of");
  if (!grid_.crs.empty() && is_zarr()) string_attribute(array.get(), "grid_mapping", "spatial_ref");
  arrays_.push_back(std::move(array));
  return arrays_.back().get();
}

void Writer::write_rows(GDALMDArrayH array, std::int64_t step, std::int64_t row0, std::int64_t rows,
                        const std::vector<double>& values) const {
  TypePtr f64(GDALExtendedDataTypeCreate(GDT_Float64));
  std::vector<GUInt64> start;
  std::vector<size_t> count;
  if (step >= 0) {
    start.push_back(static_cast<GUInt64>(step));
    count.push_back(1);
  }
  start.insert(start.end(), {static_cast<GUInt64>(row0), 0});
  count.insert(count.end(), {static_cast<size_t>(rows), static_cast<size_t>(grid_.width)});
  if (!GDALMDArrayWrite(array, start.data(), count.data(), nullptr, nullptr, f64.get(), values.data(), nullptr, 0))
    fail("writing rows of");
}

void Writer::zarr_grid_mapping() {
  if (grid_.crs.empty() || !is_zarr()) return;
  TypePtr i32(GDALExtendedDataTypeCreate(GDT_Int32));
  ArrayPtr array(GDALGroupCreateMDArray(root_.get(), "spatial_ref", 0, nullptr, i32.get(), nullptr));
  if (!array) fail("creating variable spatial_ref in");
  const std::int32_t zero = 0;
  if (!GDALMDArrayWrite(array.get(), nullptr, nullptr, nullptr, nullptr, i32.get(), &zero, nullptr, 0))
    fail("writing spatial_ref of");
  char* wkt = nullptr;
  OSRExportToWkt(srs_, &wkt);
  const std::string text = wkt != nullptr ? wkt : "";
  CPLFree(wkt);
  string_attribute(array.get(), "crs_wkt", text);
  string_attribute(array.get(), "spatial_ref", text);
  arrays_.push_back(std::move(array));
}

void Writer::close() {
  arrays_.clear();
  x_.reset();
  y_.reset();
  time_.reset();
  root_.reset();
  CPLErrorReset();
  dataset_.reset();
  if (srs_ != nullptr) OSRDestroySpatialReference(srs_);
  srs_ = nullptr;
  if (CPLGetLastErrorType() == CE_Failure) fail("closing");
}

// GDAL 3.6's Zarr driver writes no `_ARRAY_DIMENSIONS` for a scalar array; xarray needs it (an
// empty list) to open the dataset. Added to the array's .zattrs and to the consolidated
// .zmetadata, once the dataset is closed.
void zarr_scalar_dimensions(const std::string& path, const std::string& name, const std::string& where) {
  const auto patch = [&](const std::string& file, const std::function<boost::json::object&(boost::json::value&)>& at) {
    std::ifstream in(file);
    if (!in) return;
    std::stringstream text;
    text << in.rdbuf();
    boost::json::value doc = boost::json::parse(text.str());
    at(doc)["_ARRAY_DIMENSIONS"] = boost::json::array{};
    std::ofstream out(file, std::ios::trunc);
    out << boost::json::serialize(doc);
    if (!out) throw_io_error(where, "writing " + file + " failed");
  };
  patch(path + "/" + name + "/.zattrs", [](boost::json::value& v) -> boost::json::object& { return v.as_object(); });
  patch(path + "/.zmetadata", [&](boost::json::value& v) -> boost::json::object& {
    return v.as_object()["metadata"].as_object()[name + "/.zattrs"].as_object();
  });
}

}  // namespace

bool is_cf_driver(const std::string& format) { return format == "netCDF" || format == "Zarr"; }

bool stackable_in_time(const std::vector<CfColumn>& columns, std::string* why) {
  std::set<double> times;
  for (const auto& c : columns) {
    if (!c.metadata.time) {
      *why = "column " + c.name + " has no decoded time";
      return false;
    }
    if (c.metadata.variable != columns.front().metadata.variable || c.type != columns.front().type ||
        c.metadata.time_units != columns.front().metadata.time_units) {
      *why = "columns " + columns.front().name + " and " + c.name + " are not steps of one variable";
      return false;
    }
    times.insert(*c.metadata.time);
  }
  if (columns.empty() || times.size() != columns.size()) {
    *why = columns.empty() ? "no columns" : "two columns have the same time";
    return false;
  }
  return true;
}

void write_cf_dataset(const CfOutput& out, GDALDatasetH source, const Grid& grid, const std::vector<CfColumn>& columns,
                      std::int64_t rows_per_batch) {
  Writer writer(out, grid);
  writer.create();
  writer.coordinates(columns);
  const bool stacked = out.layout == CfLayout::time;
  std::vector<GDALMDArrayH> arrays;
  if (stacked) {
    arrays.push_back(
        writer.variable(columns.front().metadata.variable, columns.front().type, columns.front().metadata, true));
  } else {
    for (const auto& c : columns) arrays.push_back(writer.variable(c.name, c.type, c.metadata, false));
  }
  writer.zarr_grid_mapping();
  std::vector<double> values;
  for (std::int64_t row0 = 0; row0 < grid.height; row0 += rows_per_batch) {
    const std::int64_t rows = std::min(rows_per_batch, grid.height - row0);
    values.resize(static_cast<std::size_t>(rows * grid.width));
    for (std::size_t b = 0; b < columns.size(); ++b) {
      GDALRasterBandH band = GDALGetRasterBand(source, static_cast<int>(b) + 1);
      if (GDALRasterIO(band, GF_Read, 0, static_cast<int>(row0), static_cast<int>(grid.width), static_cast<int>(rows),
                       values.data(), static_cast<int>(grid.width), static_cast<int>(rows), GDT_Float64, 0,
                       0) != CE_None) {
        throw_io_error(out.where, "reading back the staged rows failed: " + last_gdal_error("no reason given"));
      }
      // Cells that are nodata in the staging band become the variable's own fill value.
      int has = 0;
      const double staged_nodata = GDALGetRasterNoDataValue(band, &has);
      const double fill = fill_value(columns[b].type, out.nodata);
      for (double& v : values) {
        if (std::isnan(v) || (has && v == staged_nodata)) v = fill;
      }
      writer.write_rows(stacked ? arrays.front() : arrays[b], stacked ? static_cast<std::int64_t>(b) : -1, row0, rows,
                        values);
    }
  }
  writer.close();
  if (!grid.crs.empty() && std::string(GDALGetDriverShortName(out.driver)) == "Zarr")
    zarr_scalar_dimensions(out.path, "spatial_ref", out.where);
}

}  // namespace rasterflow::nodes
