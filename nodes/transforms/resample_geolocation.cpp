// resample over a source placed by geolocation arrays (#28): the warper path with GDAL's
// geolocation transformer, as gdalwarp -geoloc (nodes/gdal/geolocation.hpp).
#include <cstdio>

#include "nodes/gdal/longitude_wrap.hpp"
#include "nodes/transforms/resample.hpp"
#include "rasterflow/errors.hpp"

namespace rasterflow::nodes {

void Resample::refuse_unwrapped_globe() const {
  // A global source placed by geolocation arrays (a Gaussian grid on 0..360) is not periodic:
  // a grid on the other convention would leave the rest of the globe empty, and the default
  // `drop` would drop those cells without a word. Refused, with the way forward.
  if (!is_geographic(grid_.crs)) return;
  const SourceFootprint fp = reader_->footprint(grid_.crs);
  if (fp.extent.width() < 360.0 - 2 * grid_.res_x) return;
  const Extent g = grid_.extent();
  if (g.xmin >= fp.extent.xmin - grid_.res_x && g.xmax <= fp.extent.xmax + grid_.res_x) return;
  char text[256];
  std::snprintf(text, sizeof text, "longitudes %.6g..%.6g, and the source covers %.6g..%.6g", g.xmin, g.xmax,
                fp.extent.xmin, fp.extent.xmax);
  throw_graph_error(where(), reader_->info().path +
                                 " is a global source placed by geolocation arrays (the true coordinates of an "
                                 "uneven axis, or 2-D latitude/longitude), which rasterflow does not wrap across the "
                                 "antimeridian, and the grid reaches " +
                                 text + ": give the grid the source's convention (an extent within its longitudes)");
}

void Resample::prepare_geolocation() {
  refuse_unwrapped_globe();
  // nearest, bilinear and cubic read the pixels around each cell's mapped centre, which the
  // transformer gives alike for every tile: equal to gdalwarp -geoloc (tests Geolocation.*). The
  // area methods (GDAL's average/mode kernel) give cells beyond the source's edge values that
  // depend on the source window of the chunk warped (gdalwarp itself gives other values for a
  // part of its grid than for the whole), so they are refused rather than written unlike gdalwarp.
  if (method_ == Method::nearest || method_ == Method::bilinear || method_ == Method::cubic) return;
  throw_graph_error(where(),
                    std::string("option \"method\": ") + method_name(method_) + " over " + reader_->info().path +
                        ", which is placed by geolocation arrays (2-D latitude/longitude or an uneven axis), is not "
                        "supported: GDAL 3.6's area kernels give the cells at the source's edge values that "
                        "depend on the window warped, unlike gdalwarp -geoloc on the whole grid; use "
                        "nearest, bilinear or cubic");
}

void* Resample::geoloc_transformer() {
  auto& t = geoloc_.local();
  if (!t) {
    const auto& info = reader_->info();
    const GeoTransform gt = grid_.geotransform();
    t = std::make_unique<GeolocTransformer>(info.geolocation, info.crs_given ? info.crs : "", info.width, info.height,
                                            grid_.crs, &gt);
    if (!t->ok()) {
      throw_node_error(where(), "GDAL cannot build the geolocation transformer of " + info.path + ": " +
                                    last_gdal_error("unknown error"));
    }
  }
  return t->get();
}

}  // namespace rasterflow::nodes
