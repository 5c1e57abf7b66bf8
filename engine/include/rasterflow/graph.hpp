#pragma once
// Graph JSON: loading and validation before anything runs.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "rasterflow/config.hpp"
#include "rasterflow/node/grid.hpp"
#include "rasterflow/node/node.hpp"

namespace rasterflow {

enum class ExtentMode { intersection, union_, explicit_ };

struct GridSpec {
  std::optional<std::string> crs;  // as written (EPSG:4326, WKT, PROJ string)
  std::optional<std::array<double, 2>> resolution;
  ExtentMode extent_mode = ExtentMode::intersection;
  Extent extent;  // when explicit
  // Where cell edges lie (#28): on the finest source's pixel lattice (gdalwarp's default), on
  // whole multiples of the resolution (gdalwarp -tap), or on the lattice through `origin`.
  enum class Align { source, resolution } align = Align::source;
  std::optional<std::array<double, 2>> origin;  // a cell corner [x, y]
  // The whole grid (CRS, lattice, resolution, extent) of a source id or a raster file; the
  // path as written and resolved against the graph file's folder.
  std::optional<std::string> like;
  std::string like_path;
};

struct GraphSpec {
  std::filesystem::path file;
  std::string name;
  GridSpec grid;
  std::vector<NodeSpec> nodes;  // in a topological order (inputs before their consumers)
  // The graph as loaded, for the experiment record: the text itself, or, when it sets a secret
  // option, the same JSON re-serialised with the secrets masked (mask_secret).
  std::string json;
};

// Loads and validates a graph: JSON syntax (with line and column), unknown keys, unique ids,
// known types (with "did you mean"), inputs that exist, no cycles, input counts and kinds,
// option names, types and values, with `config.node_overrides` applied. Throws GraphError.
GraphSpec load_graph(const std::filesystem::path& file, const Config& config = {});
GraphSpec parse_graph(const std::string& json_text, const std::filesystem::path& file, const Config& config = {});

// config.to_json() for the experiment record, with the values of the graph's secret options
// set through `nodes.<id>.<option>` masked (config.to_json() already masks database.url).
std::string masked_config_json(const Config& config, const GraphSpec& graph);

}  // namespace rasterflow
