// "grid": {"like": "<source id or raster path>"}: the whole grid of a source or a file (CRS,
// lattice, resolution, extent), as rioxarray's reproject_match takes it.
#include <cmath>
#include <cstdio>

#include "nodes/gdal/gdal.hpp"
#include "nodes/gdal/planning.hpp"
#include "rasterflow/errors.hpp"

namespace rasterflow::nodes {

namespace {

// The grid of a north-up raster of `width` x `height` pixels with geotransform `gt`.
Grid raster_grid(const GeoTransform& gt, std::int64_t width, std::int64_t height, std::string crs,
                 const std::string& where, const std::string& name) {
  if (gt[2] != 0.0 || gt[4] != 0.0 || !(gt[1] > 0.0) || !(gt[5] < 0.0)) {
    throw_graph_error(where, "field \"like\": " + name +
                                 " is rotated or not north-up, and a grid runs north to south, west to east; give "
                                 "\"crs\", \"extent\" and \"resolution\" instead");
  }
  Grid g;
  g.crs = std::move(crs);
  g.x0 = gt[0] + 0.0;
  g.y0 = gt[3] + 0.0;
  g.res_x = gt[1];
  g.res_y = -gt[5];
  g.width = width;
  g.height = height;
  return g;
}

void refuse_mixed(const GridSpec& spec, const std::string& where) {
  if (spec.crs || spec.resolution || spec.origin || spec.extent_mode == ExtentMode::explicit_ ||
      spec.align != GridSpec::Align::source) {
    throw_graph_error(where,
                      "field \"like\": takes the whole grid (CRS, origin, resolution, extent); drop \"crs\", "
                      "\"resolution\", \"extent\", \"origin\" and \"align\", or drop \"like\"");
  }
}

}  // namespace

GridDecision grid_like(const GridSpec& spec, const std::string& where, std::span<Node* const> nodes) {
  refuse_mixed(spec, where);
  for (const Node* n : nodes) {
    if (n->id() != *spec.like) continue;
    const auto* source = dynamic_cast<const FootprintSource*>(n);
    if (source == nullptr)
      throw_graph_error(where, "field \"like\": node \"" + *spec.like + "\" is not a source (a raster_source)");
    const SourceGrid sg = source->source_grid();
    if (sg.geolocated) {
      throw_graph_error(where, "field \"like\": source \"" + *spec.like +
                                   "\" is placed by geolocation arrays (2-D latitude/longitude) and has no regular "
                                   "grid to take; leave \"like\" out (the default grid is gdalwarp -geoloc's) or give "
                                   "\"crs\", \"extent\" and \"resolution\"");
    }
    return {raster_grid(sg.gt, sg.width, sg.height, sg.crs, where, "source \"" + *spec.like + "\""),
            "like source \"" + *spec.like + "\": its CRS, pixels and extent"};
  }
  ensure_gdal();
  const DatasetPtr ds(GDALOpenEx(spec.like_path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY, nullptr, nullptr, nullptr));
  if (!ds) {
    throw_graph_error(where, "field \"like\": \"" + *spec.like + "\" is neither a source id nor a raster GDAL opens (" +
                                 last_gdal_error("cannot open " + spec.like_path) + ")");
  }
  GeoTransform gt{};
  if (GDALGetGeoTransform(get(ds), gt.data()) != CE_None)
    throw_graph_error(where, "field \"like\": " + spec.like_path + " has no geotransform");
  const char* wkt = GDALGetProjectionRef(get(ds));
  return {raster_grid(gt, GDALGetRasterXSize(get(ds)), GDALGetRasterYSize(get(ds)), wkt != nullptr ? wkt : "", where,
                      spec.like_path),
          "like " + spec.like_path + ": its CRS, pixels and extent"};
}

}  // namespace rasterflow::nodes
