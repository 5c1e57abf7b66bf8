#include "nodes/gdal/geolocation.hpp"

#include <cpl_string.h>
#include <gdal_alg.h>

#include <atomic>
#include <cmath>

namespace rasterflow::nodes {

std::vector<std::string> geolocation_items(GDALDatasetH ds) {
  std::vector<std::string> out;
  char** items = GDALGetMetadata(ds, "GEOLOCATION");
  for (int i = 0; items != nullptr && items[i] != nullptr; ++i) out.emplace_back(items[i]);
  return out;
}

std::string geolocation_item(const std::vector<std::string>& items, const std::string& key) {
  for (const auto& item : items) {
    if (item.size() > key.size() && item.compare(0, key.size(), key) == 0 && item[key.size()] == '=')
      return item.substr(key.size() + 1);
  }
  return {};
}

namespace {
// A one-row Float64 GeoTIFF of `values` in GDAL's in-memory files; its name.
std::string one_row(const std::vector<double>& values, const std::string& name) {
  ensure_gdal();
  const DatasetPtr ds(GDALCreate(GDALGetDriverByName("GTiff"), name.c_str(), static_cast<int>(values.size()), 1, 1,
                                 GDT_Float64, nullptr));
  if (!ds) return {};
  if (GDALRasterIO(GDALGetRasterBand(get(ds), 1), GF_Write, 0, 0, static_cast<int>(values.size()), 1,
                   const_cast<double*>(values.data()), static_cast<int>(values.size()), 1, GDT_Float64, 0,
                   0) != CE_None)
    return {};
  return name;
}
}  // namespace

std::vector<std::string> axis_geolocation(const std::vector<double>& xs, const std::vector<double>& ys,
                                          const std::string& srs) {
  static std::atomic<int> serial{0};
  const std::string stem = "/vsimem/rasterflow_axes_" + std::to_string(serial++);
  const std::string x = one_row(xs, stem + "_x.tif");
  const std::string y = one_row(ys, stem + "_y.tif");
  if (x.empty() || y.empty()) return {};
  return {"X_DATASET=" + x, "X_BAND=1",       "Y_DATASET=" + y,
          "Y_BAND=1",       "PIXEL_OFFSET=0", "PIXEL_STEP=1",
          "LINE_OFFSET=0",  "LINE_STEP=1",    "GEOREFERENCING_CONVENTION=PIXEL_CENTER",
          "SRS=" + srs};
}

GeolocTransformer::GeolocTransformer(const std::vector<std::string>& items, const std::string& crs, std::int64_t width,
                                     std::int64_t height, const std::string& dst_crs, const GeoTransform* dst_gt) {
  ensure_gdal();
  carrier_.reset(GDALCreate(GDALGetDriverByName("MEM"), "", static_cast<int>(width), static_cast<int>(height), 0,
                            GDT_Byte, nullptr));
  if (!carrier_) return;
  char** list = nullptr;
  for (const auto& item : items) list = CSLAddString(list, item.c_str());
  if (!crs.empty()) list = CSLSetNameValue(list, "SRS", crs.c_str());
  GDALSetMetadata(nodes::get(carrier_), list, "GEOLOCATION");
  CSLDestroy(list);
  char** options = CSLSetNameValue(nullptr, "SRC_METHOD", "GEOLOC_ARRAY");
  if (!dst_crs.empty()) options = CSLSetNameValue(options, "DST_SRS", dst_crs.c_str());
  transformer_ = GDALCreateGenImgProjTransformer2(nodes::get(carrier_), nullptr, options);
  CSLDestroy(options);
  if (transformer_ != nullptr && dst_gt != nullptr) {
    GeoTransform gt = *dst_gt;
    GDALSetGenImgProjTransformerDstGeoTransform(transformer_, gt.data());
  }
}

GeolocTransformer::~GeolocTransformer() {
  if (transformer_ != nullptr) GDALDestroyGenImgProjTransformer(transformer_);
}

}  // namespace rasterflow::nodes
