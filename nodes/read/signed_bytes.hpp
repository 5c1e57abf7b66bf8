#pragma once
// Int8 for GDAL's warper (#28): GDAL 3.6 stores signed bytes as Byte with PIXELTYPE=SIGNEDBYTE
// and its warper reads them as unsigned (-1 as 255). The warper reads such a source through a
// VRT whose lookup table maps the stored bytes to their signed values (0..127 as they are,
// 128..255 to -128..-1) and whose nodata pixels are NaN.
#include <string>

#include "nodes/read/raster_reader.hpp"

namespace rasterflow::nodes {

// The VRT (XML) of `info`'s bands as signed Float64 values, band k + 1 for info.bands[k]; ""
// when the source is not signed bytes. Packed signed bytes (scale/offset) are not handled:
// the caller refuses them on the warper.
std::string signed_byte_vrt(const RasterInfo& info);

}  // namespace rasterflow::nodes
