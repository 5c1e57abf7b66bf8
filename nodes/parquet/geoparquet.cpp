#include "nodes/parquet/geoparquet.hpp"

#include <cpl_conv.h>
#include <ogr_srs_api.h>

#include <charconv>
#include <memory>

namespace rasterflow::nodes {

std::string crs_projjson(const std::string& crs) {
  if (crs.empty()) return "";
  OGRSpatialReferenceH srs = OSRNewSpatialReference(nullptr);
  std::string out;
  if (OSRSetFromUserInput(srs, crs.c_str()) == OGRERR_NONE) {
    char* json = nullptr;
    const char* const options[] = {"MULTILINE=NO", nullptr};
    if (OSRExportToPROJJSON(srs, &json, options) == OGRERR_NONE && json != nullptr) out = json;
    CPLFree(json);
  }
  OSRDestroySpatialReference(srs);
  return out;
}

std::string geo_metadata(const std::string& column, const std::string& projjson,
                         const std::optional<std::array<double, 4>>& bbox, bool covering) {
  std::string out = "{\"version\":\"1.1.0\",\"primary_column\":\"" + column + "\",\"columns\":{\"" + column +
                    "\":{\"encoding\":\"WKB\",\"geometry_types\":[\"Point\"],\"crs\":" + projjson;
  if (bbox) {
    out += ",\"bbox\":[";
    for (std::size_t i = 0; i < 4; ++i) {
      char buf[32];
      out.append(buf, std::to_chars(buf, buf + sizeof buf, (*bbox)[i]).ptr);
      out += i < 3 ? "," : "]";
    }
  }
  if (covering) {
    out +=
        ",\"covering\":{\"bbox\":{\"xmin\":[\"bbox\",\"xmin\"],\"ymin\":[\"bbox\",\"ymin\"],"
        "\"xmax\":[\"bbox\",\"xmax\"],\"ymax\":[\"bbox\",\"ymax\"]}}";
  }
  return out + "}}}";
}

}  // namespace rasterflow::nodes
