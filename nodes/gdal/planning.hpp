#pragma once
// What the engine's planner needs from rasters, resolved here, in nodes/: the grid a graph's
// sources imply (their CRS, extent and resolution), the tiling that reads whole blocks of them,
// and the source pixels each grid row reads. Registered as the engine's hooks (rasterflow/
// hooks.hpp) when this library loads; nodes take part through the two capabilities below.
#include <array>
#include <optional>
#include <span>
#include <string>

#include "rasterflow/graph.hpp"
#include "rasterflow/node/hooks.hpp"
#include "rasterflow/node/node.hpp"

namespace rasterflow::nodes {

// Where a source's data lies in the grid's CRS.
struct SourceFootprint {
  std::string crs;                                  // the source's CRS as WKT ("" when it has none)
  Extent extent;                                    // in the grid's CRS
  std::optional<std::array<double, 2>> resolution;  // in the grid's CRS, when it is the same CRS
  // In another CRS: the resolution gdalwarp would suggest for it in the grid's (GDALSuggestedWarpOutput2).
  std::optional<std::array<double, 2>> suggested_resolution;
  // Periodic in longitude (longitude_wrap.hpp), in the grid's CRS: its x range is one period
  // of a circle, and it covers every longitude.
  bool periodic = false;
};

// A source's own pixel grid (grid "like": a source id).
struct SourceGrid {
  std::string crs;
  GeoTransform gt{};
  std::int64_t width = 0, height = 0;
  bool geolocated = false;  // placed by geolocation arrays: no regular grid (gt unused)
};

// Source-like nodes (raster_source): their footprint in `grid_crs` (WKT; empty = their own CRS).
class FootprintSource {
 public:
  virtual ~FootprintSource() = default;
  virtual SourceFootprint footprint(const std::string& grid_crs) const = 0;
  virtual SourceGrid source_grid() const = 0;
};

// Tiles that start and end on grid rows phase + k * rows read whole blocks of this reader's
// source; `weight` (source bytes per grid row) decides whose alignment wins; rows 0: none.
struct RowAlignment {
  std::int64_t rows = 0;
  std::int64_t phase = 0;
  double weight = 0;
};

// Nodes that read a source for the grid (resample), once prepared.
class SourceReader {
 public:
  virtual ~SourceReader() = default;
  virtual RowAlignment row_alignment() const = 0;
  // Source pixels read for grid rows [row0, row0 + rows).
  virtual double input_pixels(std::int64_t row0, std::int64_t rows) const = 0;
};

// The grid of spec.like (a source id or a raster path): nodes/gdal/grid_like.cpp.
GridDecision grid_like(const GridSpec& spec, const std::string& where, std::span<Node* const> nodes);
GridDecision resolve_grid(const GridSpec& spec, const std::string& where, std::span<Node* const> nodes);
TileAlignment tile_alignment(std::span<Node* const> nodes);
double input_pixels(std::span<Node* const> nodes, std::int64_t row0, std::int64_t rows);

}  // namespace rasterflow::nodes
