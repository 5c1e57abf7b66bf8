#include "nodes/gdal/planning.hpp"

#include <algorithm>
#include <cstdio>

#include "rasterflow/errors.hpp"

namespace rasterflow::nodes {

namespace {

std::string origin_number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.12g", v + 0.0);
  return text;
}

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
  std::optional<std::array<double, 2>> lattice;  // the finest source's pixel corner
  std::string lattice_by;
  std::optional<std::pair<double, double>> circle;  // the first periodic source's longitudes
  std::optional<std::pair<double, double>> xs;      // the others' x range (union or intersection)
};

Extent with_x(Extent e, const std::pair<double, double>& xs) {
  e.xmin = xs.first;
  e.xmax = xs.second;
  return e;
}

// Adds a source's footprint. Sources periodic in longitude cover the whole circle: they take no
// part in the x range unless all are periodic (then the first one's window is the grid's), so a
// 0..360 source and a -180..180 source overlap everywhere.
void combine(Covered& c, ExtentMode mode, const SourceFootprint& fp) {
  const bool unite_them = mode == ExtentMode::union_;
  if (fp.periodic) {
    if (!c.circle) c.circle = std::pair{fp.extent.xmin, fp.extent.xmax};
  } else if (!c.xs) {
    c.xs = std::pair{fp.extent.xmin, fp.extent.xmax};
  } else {
    c.xs = unite_them ? std::pair{std::min(c.xs->first, fp.extent.xmin), std::max(c.xs->second, fp.extent.xmax)}
                      : std::pair{std::max(c.xs->first, fp.extent.xmin), std::min(c.xs->second, fp.extent.xmax)};
  }
  if (!c.extent)
    c.extent = fp.extent;
  else if (unite_them)
    c.extent = unite(*c.extent, fp.extent);
  else
    c.extent = intersect(*c.extent, fp.extent);
}

Covered cover(const GridSpec& spec, const std::string& crs, std::span<Node* const> nodes) {
  Covered c;
  for (const auto& [node, source] : sources_of(nodes)) {
    const SourceFootprint fp = source->footprint(crs);
    c.footprints.emplace_back(node->id(), fp.extent);
    if (fp.resolution && (!c.lattice || (*fp.resolution)[0] < (*c.finest)[0])) {
      c.lattice = std::array<double, 2>{fp.extent.xmin, fp.extent.ymax};  // a north-up source's corner
      c.lattice_by = node->id();
    }
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
    combine(c, spec.extent_mode, fp);
  }
  if (c.extent && c.circle) {  // longitudes: the first periodic source's window, or the others' range
    c.extent->xmin = c.xs ? c.xs->first : c.circle->first;
    c.extent->xmax = c.xs ? c.xs->second : c.circle->second;
    if (spec.extent_mode == ExtentMode::union_) {
      c.extent->xmin = std::min(c.extent->xmin, c.circle->first);
      c.extent->xmax = std::max(c.extent->xmax, c.circle->second);
      if (c.extent->xmax - c.extent->xmin > 360.0 + 1e-9) *c.extent = with_x(*c.extent, *c.circle);
    }
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

// The grid on its lattice (GridSpec::align, origin), and the plan's words for it.
Grid on_lattice(const GridSpec& spec, const Extent& extent, const std::array<double, 2>& res, const std::string& crs,
                const Covered& c, std::string& origin) {
  if (spec.origin) {
    origin += ", cell edges through the origin [" + origin_number((*spec.origin)[0]) + ", " +
              origin_number((*spec.origin)[1]) + "]";
    return lattice_grid(extent, res[0], res[1], (*spec.origin)[0], (*spec.origin)[1], crs);
  }
  if (spec.align == GridSpec::Align::resolution) {
    origin += ", cell edges on whole multiples of the resolution (align: resolution, as gdalwarp -tap)";
    return lattice_grid(extent, res[0], res[1], 0.0, 0.0, crs);
  }
  if (c.lattice) {
    origin += ", cell edges on the pixels of source \"" + c.lattice_by +
              "\" (align: source, gdalwarp's default; before #28 the default was whole multiples of the "
              "resolution: \"align\": \"resolution\")";
    return lattice_grid(extent, res[0], res[1], (*c.lattice)[0], (*c.lattice)[1], crs);
  }
  origin += ", cell edges from the extent's north-west corner (no source in the grid's CRS; as gdalwarp)";
  return lattice_grid(extent, res[0], res[1], extent.xmin, extent.ymax, crs);
}

}  // namespace

GridDecision resolve_grid(const GridSpec& spec, const std::string& where, std::span<Node* const> nodes) {
  if (spec.like) return grid_like(spec, where, nodes);
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
  d.grid = on_lattice(spec, extent, res, crs, covered, d.origin);
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
