#include "nodes/read/source_warnings.hpp"

#include <cpl_error.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace rasterflow::nodes {

namespace {
void CPL_STDCALL collect(CPLErr level, CPLErrorNum number, const char* message) {
  auto* messages = static_cast<std::vector<std::string>*>(CPLGetErrorHandlerUserData());
  if (level == CE_Warning && messages != nullptr) {
    const std::string text(message != nullptr ? message : "");
    if (std::find(messages->begin(), messages->end(), text) == messages->end()) messages->push_back(text);
  } else if (level == CE_Debug) {
    spdlog::trace("GDAL: {}", message);
  } else {
    spdlog::debug("GDAL error {}: {}", static_cast<int>(number), message);
  }
}
}  // namespace

SourceWarnings::SourceWarnings() {
  CPLPushErrorHandlerEx(collect, &messages_);
  pushed_ = true;
}

SourceWarnings::~SourceWarnings() {
  if (pushed_) CPLPopErrorHandler();
}

void SourceWarnings::report(const std::string& where, const std::string& path) {
  if (pushed_) CPLPopErrorHandler();
  pushed_ = false;
  for (const auto& m : messages_) spdlog::warn("{}: {}: GDAL warning: {}", where, path, m);
  messages_.clear();
}

}  // namespace rasterflow::nodes
