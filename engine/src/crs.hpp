#pragma once
// CRS text (EPSG:4326, WKT, PROJ string) to WKT, through GDAL's OSR. Private to engine/src.
#include <string>

namespace rasterflow::detail {

// Throws GraphError naming `where` when GDAL does not understand the text.
std::string normalize_crs(const std::string& text, const std::string& where);
// Short label for messages and plans: "EPSG:4326" when known, else the CRS name.
std::string crs_label(const std::string& wkt);

}  // namespace rasterflow::detail
