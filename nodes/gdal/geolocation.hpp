#pragma once
// Sources placed by geolocation arrays (#28): a NetCDF or HDF5 variable whose latitude and
// longitude are 2-D arrays (curvilinear grids: NCEP Stage IV, CMIP6 ocean and sea-ice grids) has
// no geotransform; GDAL's drivers expose those arrays in the GEOLOCATION metadata domain, and
// `gdalwarp -geoloc` warps through them with GDAL's geolocation transformer. rasterflow builds
// the same transformer (GDALCreateGenImgProjTransformer2, SRC_METHOD=GEOLOC_ARRAY), so the warper
// path gives what gdalwarp -geoloc gives on the same grid, and the default grid is the one
// gdalwarp -geoloc chooses (GDALSuggestedWarpOutput2 through that transformer).
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "nodes/gdal/gdal.hpp"
#include "rasterflow/node/grid.hpp"

namespace rasterflow::nodes {

// The GEOLOCATION metadata items of `ds` ("KEY=VALUE"), empty when it has none.
std::vector<std::string> geolocation_items(GDALDatasetH ds);
// The value of `key` among `items` ("" when absent).
std::string geolocation_item(const std::vector<std::string>& items, const std::string& key);

// Geolocation items for 1-D axes (an irregular latitude or longitude axis, #28): the column
// coordinates `xs` and row coordinates `ys` (pixel centres, rows in the dataset's order) as two
// one-row rasters in GDAL's in-memory files, as GDAL reads a regular grid of geolocation arrays
// (X_DATASET and Y_DATASET of one row each); `srs` their CRS.
std::vector<std::string> axis_geolocation(const std::vector<double>& xs, const std::vector<double>& ys,
                                          const std::string& srs);

// GDAL's geolocation transformer from a source's pixels to a grid's (or to the grid CRS's
// coordinates when no geotransform is given), and the dataset that carries the geolocation
// metadata it was built from (the source's size, no bands). One per thread: GDAL's transformer
// is not shared between threads.
class GeolocTransformer {
 public:
  // `items`: the geolocation metadata (its SRS is the source's CRS, `crs` when given: the
  // raster_source's option); `width` x `height`: the source's size. Null transformer (check
  // ok()) when GDAL refuses; last_gdal_error() names why.
  GeolocTransformer(const std::vector<std::string>& items, const std::string& crs, std::int64_t width,
                    std::int64_t height, const std::string& dst_crs, const GeoTransform* dst_gt);
  ~GeolocTransformer();
  GeolocTransformer(const GeolocTransformer&) = delete;
  GeolocTransformer& operator=(const GeolocTransformer&) = delete;
  bool ok() const { return transformer_ != nullptr; }
  void* get() const { return transformer_; }
  // The dataset the transformer places (what gdalwarp -geoloc's suggested_output() is asked of).
  GDALDatasetH carrier() const { return nodes::get(carrier_); }

 private:
  DatasetPtr carrier_;
  void* transformer_ = nullptr;
};

}  // namespace rasterflow::nodes
