#pragma once
// GeoParquet 1.1 (https://geoparquet.org/releases/v1.1.0/): the CRS as PROJJSON and the `geo`
// key-value metadata of a file whose primary column holds WKB points.
#include <array>
#include <optional>
#include <string>

namespace rasterflow::nodes {

// PROJJSON of a CRS given as GDAL reads it (WKT, EPSG:n), through OSR's exportToPROJJSON; ""
// when GDAL cannot express it so.
std::string crs_projjson(const std::string& crs);

// The `geo` metadata: version 1.1.0, primary column `column`, WKB encoding, ["Point"], the CRS
// (PROJJSON text), the bbox of the rows when there are any, and the bbox covering columns
// when `covering`.
std::string geo_metadata(const std::string& column, const std::string& projjson,
                         const std::optional<std::array<double, 4>>& bbox, bool covering);

}  // namespace rasterflow::nodes
