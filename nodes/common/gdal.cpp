#include "nodes/common/gdal.hpp"

#include <cpl_error.h>
#include <spdlog/spdlog.h>

#include <mutex>

namespace rasterflow::nodes {
namespace {
void CPL_STDCALL log_gdal_message(CPLErr level, CPLErrorNum number, const char* message) {
  if (level == CE_Debug) {
    spdlog::trace("GDAL: {}", message);
  } else if (level == CE_Warning) {
    spdlog::debug("GDAL warning {}: {}", static_cast<int>(number), message);
  } else {
    spdlog::debug("GDAL error {}: {}", static_cast<int>(number), message);
  }
}
}  // namespace

void ensure_gdal() {
  static std::once_flag once;
  std::call_once(once, [] {
    GDALAllRegister();
    CPLSetErrorHandler(log_gdal_message);
  });
}

SrsPtr make_srs(const std::string& text) {
  if (text.empty()) return SrsPtr{};
  SrsPtr srs(OSRNewSpatialReference(nullptr));
  if (OSRSetFromUserInput(get(srs), text.c_str()) != OGRERR_NONE) return SrsPtr{};
  OSRSetAxisMappingStrategy(get(srs), OAMS_TRADITIONAL_GIS_ORDER);
  return srs;
}

bool same_crs(const std::string& a, const std::string& b) {
  if (a == b) return true;
  const SrsPtr sa = make_srs(a);
  const SrsPtr sb = make_srs(b);
  if (!sa || !sb) return false;
  const char* const options[] = {"IGNORE_DATA_AXIS_TO_SRS_AXIS_MAPPING=YES",
                                 "CRITERION=EQUIVALENT_EXCEPT_AXIS_ORDER_GEOGCRS", nullptr};
  return OSRIsSameEx(get(sa), get(sb), options) != 0;
}

std::string last_gdal_error(const std::string& fallback) {
  const char* msg = CPLGetLastErrorMsg();
  return (msg != nullptr && *msg != '\0') ? std::string(msg) : fallback;
}

}  // namespace rasterflow::nodes
