#include "nodes/common/planning.hpp"

#include <algorithm>
#include <cstdio>

#include "rasterflow/errors.hpp"

namespace rasterflow::nodes {

namespace {

std::vector<std::pair<const Node*, const FootprintSource*>> sources_of(std::span<Node* const> nodes) {
  std::vector<std::pair<const Node*, const FootprintSource*>> out;
  for (const Node* n : nodes) {
    if (const auto* s = dynamic_cast<const FootprintSource*>(n)) out.emplace_back(n, s);
  }
  return out;
}

// The grid's CRS: as given, else the first source's; sources that all have none share the
// grid's unnamed space (a first source without one, with others in a CRS, is refused).
std::string grid_crs(const GridSpec& spec, const std::string& where, std::span<Node* const> nodes) {
  if (spec.crs) return hooks().normalize_crs(*spec.crs, where);
  const auto sources = sources_of(nodes);
  if (sources.empty()) {
    if (spec.extent_mode == ExtentMode::explicit_) return {};
    throw_graph_error(where, "no source node to take the CRS from; set grid.crs");
  }
  const std::string crs = sources.front().second->footprint("").crs;
  for (const auto& [node, source] : sources) {
    if (crs.empty() && !source->footprint("").crs.empty()) {
      throw_graph_error(sources.front().first->where(),
                        "option \"crs\": the source has no CRS while others have one; give it a \"crs\" (as "
                        "gdalwarp -s_srs), or give the grid a \"crs\"");
    }
  }
  return crs;
}

struct Covered {
  std::optional<Extent> extent;
  std::optional<std::array<double, 2>> finest;
  std::optional<std::array<double, 2>> finest_suggested;  // of sources in other CRSs
  std::string finest_suggested_by;
  std::vector<std::pair<std::string, Extent>> footprints;
};

Covered cover(const GridSpec& spec, const std::string& crs, std::span<Node* const> nodes) {
  Covered c;
  for (const auto& [node, source] : sources_of(nodes)) {
    const SourceFootprint fp = source->footprint(crs);
    c.footprints.emplace_back(node->id(), fp.extent);
    if (fp.resolution) {
      if (!c.finest)
        c.finest = fp.resolution;
      else
        c.finest = std::array<double, 2>{std::min((*c.finest)[0], (*fp.resolution)[0]),
                                         std::min((*c.finest)[1], (*fp.resolution)[1])};
    }
    if (fp.suggested_resolution && (!c.finest_suggested || (*fp.suggested_resolution)[0] < (*c.finest_suggested)[0])) {
      c.finest_suggested = fp.suggested_resolution;
      c.finest_suggested_by = node->id();
    }
    if (!c.extent)
      c.extent = fp.extent;
    else if (spec.extent_mode == ExtentMode::union_)
      c.extent = unite(*c.extent, fp.extent);
    else
      c.extent = intersect(*c.extent, fp.extent);
  }
  return c;
}

Extent grid_extent(const GridSpec& spec, const std::string& where, const Covered& c, std::string& origin) {
  if (spec.extent_mode == ExtentMode::explicit_) {
    origin = "explicit extent";
    return spec.extent;
  }
  if (!c.extent)
    throw_graph_error(where, "no source to derive the extent from; give \"extent\": [xmin, ymin, xmax, ymax]");
  if (c.extent->empty()) {
    std::string list;
    for (const auto& [id, e] : c.footprints) {
      list += "\n  " + id + ": [" + std::to_string(e.xmin) + ", " + std::to_string(e.ymin) + ", " +
              std::to_string(e.xmax) + ", " + std::to_string(e.ymax) + "]";
    }
    throw_graph_error(where,
                      "field \"extent\": the sources do not overlap, so their intersection is empty (use \"union\" or "
                      "an explicit extent):" +
                          list);
  }
  origin = spec.extent_mode == ExtentMode::union_ ? "union of the sources" : "intersection of the sources";
  return *c.extent;
}

}  // namespace

GridDecision resolve_grid(const GridSpec& spec, const std::string& where, std::span<Node* const> nodes) {
  const std::string crs = grid_crs(spec, where, nodes);
  const Covered covered = cover(spec, crs, nodes);
  GridDecision d;
  const Extent extent = grid_extent(spec, where, covered, d.origin);
  std::array<double, 2> res{};
  if (spec.resolution) {
    res = *spec.resolution;
  } else if (covered.finest) {
    res = *covered.finest;
    d.origin += ", finest source resolution";
  } else if (covered.finest_suggested) {
    // As gdalwarp without -tr: the resolution it suggests for the source (the finest of them).
    res = *covered.finest_suggested;
    char text[64];
    std::snprintf(text, sizeof text, "%.9g x %.9g", res[0], res[1]);
    d.origin += std::string(", resolution ") + text + " suggested by GDAL (GDALSuggestedWarpOutput2) for source \"" +
                covered.finest_suggested_by + "\", the finest of the sources in other CRSs or rotated";
  } else {
    throw_graph_error(where, "field \"resolution\": required when the sources are not in the grid's CRS");
  }
  d.grid = snap_grid(extent, res[0], res[1], crs);
  return d;
}

TileAlignment tile_alignment(std::span<Node* const> nodes) {
  // The alignment of the reader whose source bytes per grid row are largest.
  RowAlignment best;
  for (const Node* n : nodes) {
    const auto* reader = dynamic_cast<const SourceReader*>(n);
    if (reader == nullptr) continue;
    const RowAlignment a = reader->row_alignment();
    if (a.rows > 0 && a.weight > best.weight) best = a;
  }
  return {best.rows, best.phase};
}

double input_pixels(std::span<Node* const> nodes, std::int64_t row0, std::int64_t rows) {
  double total = 0;
  for (const Node* n : nodes) {
    if (const auto* reader = dynamic_cast<const SourceReader*>(n)) total += reader->input_pixels(row0, rows);
  }
  return total;
}

}  // namespace rasterflow::nodes

namespace {
[[maybe_unused]] const bool rasterflow_planning_registered_ = rasterflow::register_hooks({
    .resolve_grid = rasterflow::nodes::resolve_grid,
    .tile_alignment = rasterflow::nodes::tile_alignment,
    .input_pixels = rasterflow::nodes::input_pixels,
});
}  // namespace
