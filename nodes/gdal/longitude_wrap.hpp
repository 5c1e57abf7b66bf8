#pragma once
// Longitude wrap (gdalwarp's, and more): a source in a geographic CRS whose columns span exactly
// 360 degrees is periodic in longitude. Its pixels reach a grid on either convention (-180..180
// or 0..360, any 360-degree window), and the kernels that read neighbours (bilinear, cubic) take
// them from the other side of the seam. Both resampling paths read such a source through here:
// the fast path reads its columns modulo its width, the warper sees three copies side by side.
#include <span>
#include <vector>

#include "nodes/gdal/gdal.hpp"
#include "rasterflow/node/grid.hpp"

namespace rasterflow::nodes {

class RasterReader;

// Whether `crs` (WKT or user input) is geographic (longitude/latitude in degrees).
bool is_geographic(const std::string& crs);

// Whether a north-up source of `width` columns with geotransform `gt` in `crs` spans the globe:
// a geographic CRS and width x pixel width within 1% of a pixel of 360 degrees.
bool spans_globe(const std::string& crs, const GeoTransform& gt, std::int64_t width);

// Whether `reader`'s source is read as periodic: it spans the globe and its raster_source does
// not turn the wrap off (option "wrap_longitude").
bool wraps_longitude(const RasterReader& reader);

// The source of `reader` as three copies side by side (bands `bands` of `src`, in that order,
// as bands 1..n), its geotransform moved one period west: what GDAL's warper reads for a
// periodic source, so that any grid longitude within a period of the source, and the kernels'
// neighbours across the seam, fall on pixels. `gt` receives the copies' geotransform.
DatasetPtr periodic_dataset(GDALDatasetH src, std::span<const int> bands, const GeoTransform& source_gt,
                            std::int64_t width, std::int64_t height, GeoTransform& gt);

// Reads source columns [w.col0, w.col0 + w.cols) taken modulo the source's width (w.col0 may be
// negative, the end beyond the width), rows [w.row0, w.row0 + w.rows): in the source's own type
// (native, one band) or as doubles band after band, as RasterReader::read_native/read_bands
// lay them out. `piece` is scratch.
void read_wrapped(RasterReader& reader, const PixelWindow& w, bool native, std::vector<double>& out,
                  std::vector<double>& piece);

}  // namespace rasterflow::nodes
