#include "rasterflow/hooks.hpp"

#include <utility>

namespace rasterflow {

namespace {
EngineHooks& registered() {
  static EngineHooks h{
      .normalize_crs = [](const std::string& text, const std::string&) { return text; },
      .crs_label = [](const std::string& crs) { return crs.empty() ? std::string("(none)") : crs; },
      .set_read_cache_bytes = [](std::uint64_t) {},
  };
  return h;
}
}  // namespace

bool register_hooks(EngineHooks hooks) {
  EngineHooks& h = registered();
  if (hooks.normalize_crs) h.normalize_crs = std::move(hooks.normalize_crs);
  if (hooks.crs_label) h.crs_label = std::move(hooks.crs_label);
  if (hooks.set_read_cache_bytes) h.set_read_cache_bytes = std::move(hooks.set_read_cache_bytes);
  return true;
}

const EngineHooks& hooks() { return registered(); }

}  // namespace rasterflow
