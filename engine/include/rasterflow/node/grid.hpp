#pragma once
// Target grid, geotransforms and row-band tiles. Pure math: no GDAL here.
#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace rasterflow {

struct Extent {
  double xmin = 0, ymin = 0, xmax = 0, ymax = 0;
  double width() const { return xmax - xmin; }
  double height() const { return ymax - ymin; }
  bool empty() const { return !(xmax > xmin && ymax > ymin); }
};
Extent intersect(const Extent& a, const Extent& b);
Extent unite(const Extent& a, const Extent& b);

// GDAL's affine geotransform: X = gt[0] + col*gt[1] + row*gt[2]; Y = gt[3] + col*gt[4] + row*gt[5].
using GeoTransform = std::array<double, 6>;

// A rectangle of pixels in some raster: [col0, col0+cols) x [row0, row0+rows).
struct PixelWindow {
  std::int64_t col0 = 0, row0 = 0, cols = 0, rows = 0;
  bool empty() const { return cols <= 0 || rows <= 0; }
  std::int64_t cells() const { return empty() ? 0 : cols * rows; }
};

// A north-up target grid: cell (col,row) covers [x0 + col*res_x, x0 + (col+1)*res_x] by
// [y0 - (row+1)*res_y, y0 - row*res_y]. Rows run north to south, columns west to east.
struct Grid {
  std::string crs;  // WKT (or whatever the graph gave, normalised by the loader)
  double x0 = 0;    // west edge
  double y0 = 0;    // north edge
  double res_x = 1;
  double res_y = 1;
  std::int64_t width = 0;
  std::int64_t height = 0;

  std::int64_t cells() const { return width * height; }
  double center_x(std::int64_t col) const { return x0 + (static_cast<double>(col) + 0.5) * res_x; }
  double center_y(std::int64_t row) const { return y0 - (static_cast<double>(row) + 0.5) * res_y; }
  GeoTransform geotransform() const { return {x0, res_x, 0.0, y0, 0.0, -res_y}; }
  Extent extent() const {
    return {x0, y0 - static_cast<double>(height) * res_y, x0 + static_cast<double>(width) * res_x, y0};
  }
  // Extent of rows [row0, row0+rows).
  Extent band_extent(std::int64_t row0, std::int64_t rows) const;
};

// Builds the grid covering `extent` with cells aligned on multiples of the resolution
// (gdalwarp -tap): edges snap outwards, with a tolerance of 1e-9 cell for values that are
// multiples up to floating-point noise.
Grid snap_grid(const Extent& extent, double res_x, double res_y, std::string crs);

// The grid covering `extent` whose cell edges lie on the lattice through (origin_x, origin_y)
// with steps res_x, res_y (gdalwarp's default grid follows its source's pixels this way): edges
// snap outwards, except that an edge within kLatticeTolerance of a cell of a lattice line is
// taken on that line, so that geotransform noise never adds a row or a column. snap_grid is the
// lattice through (0, 0). No coordinate is -0.
constexpr double kLatticeTolerance = 1e-4;
Grid lattice_grid(const Extent& extent, double res_x, double res_y, double origin_x, double origin_y, std::string crs);

// Pixels of a raster (geotransform `gt`, size width x height, north-up, no rotation) that
// intersect `area`, grown by `margin` pixels on each side and clipped to the raster.
PixelWindow window_for(const GeoTransform& gt, std::int64_t width, std::int64_t height, const Extent& area, int margin);

// Number of decimals (<= 12) after which every cell-centre coordinate along an axis
// (x0 + (i + 0.5) * res for i in [0, n)) is within 1e-6 of a cell of its exact value.
int coordinate_decimals(double origin, double res, std::int64_t n, bool descending);

// A tile: a band of whole target rows, the unit of work, ordering and memory accounting.
// `seq` numbers tiles 0, 1, 2... in raster order; the sink writes them in that order.
struct TileRequest {
  std::uint64_t seq = 0;
  std::int64_t row0 = 0;
  std::int64_t rows = 0;
  std::int64_t width = 0;
  std::int64_t cells() const { return rows * width; }
};

// Rows per band for a target `width` and an area bound of window_size^2 cells (at least one).
std::int64_t band_rows(std::int64_t width, std::int64_t window_size);

}  // namespace rasterflow
