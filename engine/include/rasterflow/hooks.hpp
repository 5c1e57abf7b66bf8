#pragma once
// What the engine needs from the world its nodes read, provided by those nodes' library: CRS
// text, and the block cache that sources read through (GDAL's, registered by nodes/). The
// engine links no GDAL: without a registration, CRS text is kept as written and there is no
// cache to size.
#include <cstdint>
#include <functional>
#include <string>

namespace rasterflow {

struct EngineHooks {
  // CRS text (EPSG:4326, WKT, PROJ string) to the form sources compare with; throws GraphError
  // naming `where` when it is not understood.
  std::function<std::string(const std::string& text, const std::string& where)> normalize_crs;
  // A short label for messages and plans ("EPSG:4326", else the CRS's name).
  std::function<std::string(const std::string& crs)> crs_label;
  // Sets the bytes of the cache sources read through (the engine sizes it inside the budget).
  std::function<void(std::uint64_t bytes)> set_read_cache_bytes;
};

// Registers the hooks (once, at load time, as node types register); returns true.
bool register_hooks(EngineHooks hooks);
// The registered hooks, each falling back to the behaviour above when not registered.
const EngineHooks& hooks();

}  // namespace rasterflow
