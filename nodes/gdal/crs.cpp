// CRS text to WKT and labels through GDAL's OSR, and GDAL's block cache sized by the engine:
// the engine's hooks (rasterflow/node/hooks.hpp), registered when the nodes' library loads.
#include <cpl_conv.h>
#include <gdal.h>
#include <ogr_srs_api.h>

#include <memory>

#include "nodes/gdal/gdal.hpp"
#include "rasterflow/errors.hpp"
#include "rasterflow/node/hooks.hpp"

namespace rasterflow::nodes {
namespace {
std::string normalize_crs(const std::string& text, const std::string& where) {
  SrsPtr srs(OSRNewSpatialReference(nullptr));
  if (OSRSetFromUserInput(static_cast<OGRSpatialReferenceH>(srs.get()), text.c_str()) != OGRERR_NONE) {
    throw_graph_error(where,
                      "field \"crs\": GDAL does not recognise \"" + text + "\" (expected e.g. \"EPSG:4326\" or WKT)");
  }
  char* wkt = nullptr;
  const char* const options[] = {"FORMAT=WKT2_2018", nullptr};
  OSRExportToWktEx(static_cast<OGRSpatialReferenceH>(srs.get()), &wkt, options);
  std::string out = wkt ? wkt : "";
  CPLFree(wkt);
  return out;
}

std::string crs_label(const std::string& wkt) {
  if (wkt.empty()) return "(none)";
  SrsPtr srs(OSRNewSpatialReference(nullptr));
  auto* h = static_cast<OGRSpatialReferenceH>(srs.get());
  if (OSRSetFromUserInput(h, wkt.c_str()) != OGRERR_NONE) return "(unknown)";
  const char* auth = OSRGetAuthorityName(h, nullptr);
  const char* code = OSRGetAuthorityCode(h, nullptr);
  if (auth && code) return std::string(auth) + ":" + code;
  const char* name = OSRGetName(h);
  return name ? name : "(unnamed)";
}

}  // namespace

}  // namespace rasterflow::nodes

namespace {
[[maybe_unused]] const bool rasterflow_hooks_registered_ = rasterflow::register_hooks({
    .normalize_crs = rasterflow::nodes::normalize_crs,
    .crs_label = rasterflow::nodes::crs_label,
    .set_read_cache_bytes = [](std::uint64_t bytes) { GDALSetCacheMax64(static_cast<GIntBig>(bytes)); },
});
}  // namespace
