#pragma once
// What the engine needs from the world its nodes read, provided by those nodes' library: CRS
// text, the block cache that sources read through (GDAL's), and the grid and tiling that the
// sources imply (registered by nodes/). The engine links no GDAL and knows no raster: without a
// registration, CRS text is kept as written, there is no cache to size, a grid must be given
// whole (crs, extent, resolution) and tiles have no preferred alignment.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>

#include "rasterflow/graph.hpp"
#include "rasterflow/node/grid.hpp"
#include "rasterflow/node/node.hpp"

namespace rasterflow {

// The grid a graph runs on, and how it was decided (for the plan).
struct GridDecision {
  Grid grid;
  std::string origin;  // "explicit extent", "intersection of the sources, finest source resolution", ...
};
// Tiles that start and end on rows phase + k * rows read whole blocks of the sources.
struct TileAlignment {
  std::int64_t rows = 0;  // 0: no preference
  std::int64_t phase = 0;
};

// An input path as the graph gives it, resolved (see EngineHooks::resolve_input_path).
struct ResolvedInput {
  std::string path;     // as the node will open it
  bool remote = false;  // reaches the network or a virtual file system (refused unless engine.allow_vsi)
};

struct EngineHooks {
  // CRS text (EPSG:4326, WKT, PROJ string) to the form sources compare with; throws GraphError
  // naming `where` when it is not understood.
  std::function<std::string(const std::string& text, const std::string& where)> normalize_crs;
  // A short label for messages and plans ("EPSG:4326", else the CRS's name).
  std::function<std::string(const std::string& crs)> crs_label;
  // Sets the bytes of the cache sources read through (the engine sizes it inside the budget).
  std::function<void(std::uint64_t bytes)> set_read_cache_bytes;
  // An input path's local file part made relative to `base` (the graph file's folder), in
  // names that hold more than a file (GDAL's `NETCDF:"f.nc":pr`, `/vsizip/a.zip/b.tif`).
  // Without a registration: a plain path, remote when it starts with /vsi or holds "://".
  std::function<ResolvedInput(const std::string& text, const std::filesystem::path& base)> resolve_input_path;
  // The grid of a graph from its `grid` section and its (built) nodes; throws GraphError
  // naming `where` (the graph file's grid section) or the node at fault.
  std::function<GridDecision(const GridSpec& spec, const std::string& where, std::span<Node* const> nodes)>
      resolve_grid;
  // The tiling the prepared nodes prefer.
  std::function<TileAlignment(std::span<Node* const> nodes)> tile_alignment;
  // Source pixels the prepared nodes read for grid rows [row0, row0 + rows) (work estimates
  // that split an MPI run into bands of equal work).
  std::function<double(std::span<Node* const> nodes, std::int64_t row0, std::int64_t rows)> input_pixels;
};

// Registers the hooks (once, at load time, as node types register); returns true.
bool register_hooks(EngineHooks hooks);
// The registered hooks, each falling back to the behaviour above when not registered.
const EngineHooks& hooks();

}  // namespace rasterflow
