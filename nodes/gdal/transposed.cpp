#include "nodes/gdal/transposed.hpp"

#include <gdal_vrt.h>

#include <cmath>
#include <limits>
#include <vector>

#include "nodes/read/raster_reader.hpp"
#include "rasterflow/errors.hpp"

namespace rasterflow::nodes {

namespace {

std::string attribute(GDALMDArrayH a, const char* name) {
  GDALAttributeH at = GDALMDArrayGetAttribute(a, name);
  if (at == nullptr) return {};
  const char* v = GDALAttributeReadAsString(at);
  std::string out = v != nullptr ? v : "";
  GDALAttributeRelease(at);
  return out;
}

// "lon", "lat" or "" for a dimension, by its coordinate variable (CF's rules, as xarray's cf
// accessors: standard_name, then units, then axis).
std::string axis_of(GDALDimensionH dim, std::vector<double>& values) {
  GDALMDArrayH c = GDALDimensionGetIndexingVariable(dim);
  if (c == nullptr) return {};
  const std::string standard = attribute(c, "standard_name");
  const std::string units = attribute(c, "units");
  const std::string axis = attribute(c, "axis");
  std::string kind;
  if (standard == "longitude" || units.rfind("degree", 0) == 0 && units.find("east") != std::string::npos ||
      units == "degrees_E" || axis == "X")
    kind = "lon";
  if (standard == "latitude" || units.rfind("degree", 0) == 0 && units.find("north") != std::string::npos ||
      units == "degrees_N" || axis == "Y")
    kind = "lat";
  const auto n = static_cast<std::size_t>(GDALDimensionGetSize(dim));
  values.resize(n);
  GDALExtendedDataTypeH f64 = GDALExtendedDataTypeCreate(GDT_Float64);
  const GUInt64 start = 0;
  if (!GDALMDArrayRead(c, &start, &n, nullptr, nullptr, f64, values.data(), nullptr, 0)) kind.clear();
  GDALExtendedDataTypeRelease(f64);
  GDALMDArrayRelease(c);
  return n >= 2 ? kind : std::string();
}

// The step of evenly spaced `values`, or GraphError naming the axis.
double even_step(const std::vector<double>& v, const std::string& axis, const std::string& file,
                 const std::string& where) {
  const double step = (v.back() - v.front()) / static_cast<double>(v.size() - 1);
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (std::fabs(v[i] - (v.front() + static_cast<double>(i) * step)) > 0.01 * std::fabs(step)) {
      throw_graph_error(where, "option \"variable\": " + file + ": the variable is stored (lon, lat) and its axis \"" +
                                   axis + "\" is not evenly spaced, so it cannot be read transposed onto a grid");
    }
  }
  return step;
}

}  // namespace

std::optional<TransposedVariable> transposed_variable(const std::string& file, const std::string& variable,
                                                      const std::string& where) {
  ensure_gdal();
  const DatasetPtr ds(GDALOpenEx(file.c_str(), GDAL_OF_MULTIDIM_RASTER | GDAL_OF_READONLY, nullptr, nullptr, nullptr));
  if (!ds) return std::nullopt;
  GDALGroupH root = GDALDatasetGetRootGroup(get(ds));
  GDALMDArrayH array = root != nullptr ? GDALGroupOpenMDArray(root, variable.c_str(), nullptr) : nullptr;
  if (root != nullptr) GDALGroupRelease(root);
  if (array == nullptr) return std::nullopt;
  std::size_t count = 0;
  GDALDimensionH* dims = GDALMDArrayGetDimensions(array, &count);
  std::optional<TransposedVariable> out;
  std::vector<double> lons, lats;
  if (count >= 2 && axis_of(dims[count - 2], lons) == "lon" && axis_of(dims[count - 1], lats) == "lat") {
    TransposedVariable t;
    t.file = file;
    t.variable = variable;
    t.lon_dim = GDALDimensionGetName(dims[count - 2]);
    t.lat_dim = GDALDimensionGetName(dims[count - 1]);
    const double dx = even_step(lons, t.lon_dim, file, where);
    const double dy = even_step(lats, t.lat_dim, file, where);
    t.flip = dy > 0;
    const double north = std::max(lats.front(), lats.back()) + std::fabs(dy) / 2;
    t.gt = {lons.front() - dx / 2, dx, 0, north, 0, -std::fabs(dy)};
    out = t;
  }
  GDALReleaseDimensions(dims, count);
  GDALMDArrayRelease(array);
  return out;
}

DatasetPtr open_transposed(const TransposedVariable& t) {
  const DatasetPtr ds(
      GDALOpenEx(t.file.c_str(), GDAL_OF_MULTIDIM_RASTER | GDAL_OF_READONLY, nullptr, nullptr, nullptr));
  if (!ds) return {};
  GDALGroupH root = GDALDatasetGetRootGroup(get(ds));
  GDALMDArrayH array = root != nullptr ? GDALGroupOpenMDArray(root, t.variable.c_str(), nullptr) : nullptr;
  if (root != nullptr) GDALGroupRelease(root);
  if (array == nullptr) return {};
  const std::size_t n = GDALMDArrayGetDimensionCount(array);
  std::vector<int> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = static_cast<int>(i);
  std::swap(order[n - 2], order[n - 1]);
  GDALMDArrayH swapped = GDALMDArrayTranspose(array, n, order.data());
  GDALMDArrayRelease(array);
  if (swapped == nullptr) return {};
  std::string view = "[";
  for (std::size_t i = 0; i + 2 < n; ++i) view += ":,";
  view += t.flip ? "::-1,:]" : ":,:]";
  GDALMDArrayH north_first = GDALMDArrayGetView(swapped, view.c_str());
  GDALMDArrayRelease(swapped);
  if (north_first == nullptr) return {};
  DatasetPtr classic(GDALMDArrayAsClassicDataset(north_first, n - 1, n - 2));
  GDALMDArrayRelease(north_first);
  return classic;
}

DatasetPtr nan_nodata_vrt(GDALDatasetH src, const RasterInfo& info) {
  const int w = static_cast<int>(info.width), h = static_cast<int>(info.height);
  VRTDatasetH vrt = VRTCreate(w, h);
  DatasetPtr out(vrt);
  for (std::size_t k = 0; k < info.bands.size(); ++k) {
    const BandInfo& b = info.bands[k];
    GDALAddBand(vrt, GDT_Float64, nullptr);
    GDALRasterBandH band = GDALGetRasterBand(vrt, static_cast<int>(k) + 1);
    GDALSetRasterNoDataValue(band, std::numeric_limits<double>::quiet_NaN());
    VRTAddComplexSource(static_cast<VRTSourcedRasterBandH>(band), GDALGetRasterBand(src, b.index), 0, 0, w, h, 0, 0, w,
                        h, info.unpacked ? b.offset : 0.0, info.unpacked ? b.scale : 1.0,
                        b.nodata ? *b.nodata : VRT_NODATA_UNSET);
  }
  return out;
}

}  // namespace rasterflow::nodes
