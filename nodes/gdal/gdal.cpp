#include "nodes/gdal/gdal.hpp"

#include <cpl_error.h>
#include <spdlog/spdlog.h>

#include <mutex>

namespace rasterflow::nodes {
namespace {
// This thread's innermost GdalErrors, and the first error it has seen.
thread_local GdalErrors* t_scope = nullptr;
thread_local std::string t_first;

void CPL_STDCALL log_gdal_message(CPLErr level, CPLErrorNum number, const char* message) {
  if (level >= CE_Failure && t_scope != nullptr && t_first.empty() && message != nullptr) t_first = message;
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

GdalErrors::GdalErrors() : outer_(t_scope) {
  t_scope = this;
  t_first.clear();
  // This thread's own handler while the scope lasts: another library in the process (rasterio,
  // GDAL's Python bindings) may have replaced the global one that ensure_gdal() set.
  CPLPushErrorHandler(log_gdal_message);
}

GdalErrors::~GdalErrors() {
  CPLPopErrorHandler();
  t_scope = outer_;
}

std::string GdalErrors::text(const std::string& fallback) const {
  const std::string last = last_gdal_error("");
  if (t_first.empty()) return last.empty() ? fallback : last;
  if (last.empty() || last == t_first) return t_first;
  return t_first + " (then: " + last + ")";
}

}  // namespace rasterflow::nodes
