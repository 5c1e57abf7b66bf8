#include "rasterflow/node/grid.hpp"

#include <algorithm>
#include <cmath>

namespace rasterflow {

Extent intersect(const Extent& a, const Extent& b) {
  return {std::max(a.xmin, b.xmin), std::max(a.ymin, b.ymin), std::min(a.xmax, b.xmax), std::min(a.ymax, b.ymax)};
}

Extent unite(const Extent& a, const Extent& b) {
  return {std::min(a.xmin, b.xmin), std::min(a.ymin, b.ymin), std::max(a.xmax, b.xmax), std::max(a.ymax, b.ymax)};
}

Extent Grid::band_extent(std::int64_t row0, std::int64_t rows) const {
  const double top = y0 - static_cast<double>(row0) * res_y;
  const double bottom = y0 - static_cast<double>(row0 + rows) * res_y;
  return {x0, bottom, x0 + static_cast<double>(width) * res_x, top};
}

namespace {
// floor/ceil of value/step that treats values within 1e-9 step of a multiple as that multiple.
double snapped_floor(double value, double step) {
  const double k = value / step;
  const double r = std::round(k);
  return std::fabs(k - r) < 1e-9 ? r : std::floor(k);
}
double snapped_ceil(double value, double step) {
  const double k = value / step;
  const double r = std::round(k);
  return std::fabs(k - r) < 1e-9 ? r : std::ceil(k);
}
}  // namespace

Grid snap_grid(const Extent& extent, double res_x, double res_y, std::string crs) {
  Grid g;
  g.crs = std::move(crs);
  g.res_x = res_x;
  g.res_y = res_y;
  const double kx0 = snapped_floor(extent.xmin, res_x);
  const double kx1 = snapped_ceil(extent.xmax, res_x);
  const double ky0 = snapped_floor(extent.ymin, res_y);
  const double ky1 = snapped_ceil(extent.ymax, res_y);
  g.x0 = kx0 * res_x + 0.0;  // + 0.0: -0 becomes 0
  g.y0 = ky1 * res_y + 0.0;
  g.width = static_cast<std::int64_t>(kx1 - kx0);
  g.height = static_cast<std::int64_t>(ky1 - ky0);
  return g;
}

namespace {
double lattice_floor(double value, double step) {
  const double k = value / step;
  const double r = std::round(k);
  return std::fabs(k - r) < kLatticeTolerance ? r : std::floor(k);
}
double lattice_ceil(double value, double step) {
  const double k = value / step;
  const double r = std::round(k);
  return std::fabs(k - r) < kLatticeTolerance ? r : std::ceil(k);
}
}  // namespace

Grid lattice_grid(const Extent& extent, double res_x, double res_y, double origin_x, double origin_y, std::string crs) {
  Grid g;
  g.crs = std::move(crs);
  g.res_x = res_x;
  g.res_y = res_y;
  const double kx0 = lattice_floor(extent.xmin - origin_x, res_x);
  const double kx1 = lattice_ceil(extent.xmax - origin_x, res_x);
  const double ky0 = lattice_floor(origin_y - extent.ymax, res_y);
  const double ky1 = lattice_ceil(origin_y - extent.ymin, res_y);
  g.x0 = origin_x + kx0 * res_x + 0.0;  // + 0.0: -0 becomes 0
  g.y0 = origin_y - ky0 * res_y + 0.0;
  g.width = static_cast<std::int64_t>(kx1 - kx0);
  g.height = static_cast<std::int64_t>(ky1 - ky0);
  return g;
}

PixelWindow window_for(const GeoTransform& gt, std::int64_t width, std::int64_t height, const Extent& area,
                       int margin) {
  const double px0 = (area.xmin - gt[0]) / gt[1];
  const double px1 = (area.xmax - gt[0]) / gt[1];
  const double py0 = (area.ymax - gt[3]) / gt[5];
  const double py1 = (area.ymin - gt[3]) / gt[5];
  const double cmin = std::floor(std::min(px0, px1)) - margin;
  const double cmax = std::ceil(std::max(px0, px1)) + margin;
  const double rmin = std::floor(std::min(py0, py1)) - margin;
  const double rmax = std::ceil(std::max(py0, py1)) + margin;
  PixelWindow w;
  const double c0 = std::clamp(cmin, 0.0, static_cast<double>(width));
  const double c1 = std::clamp(cmax, 0.0, static_cast<double>(width));
  const double r0 = std::clamp(rmin, 0.0, static_cast<double>(height));
  const double r1 = std::clamp(rmax, 0.0, static_cast<double>(height));
  w.col0 = static_cast<std::int64_t>(c0);
  w.row0 = static_cast<std::int64_t>(r0);
  w.cols = static_cast<std::int64_t>(c1 - c0);
  w.rows = static_cast<std::int64_t>(r1 - r0);
  return w;
}

int coordinate_decimals(double origin, double res, std::int64_t n, bool descending) {
  const double sign = descending ? -1.0 : 1.0;
  for (int d = 0; d < 12; ++d) {
    const double scale = std::pow(10.0, d);
    const double tolerance = 1e-6 * res;
    bool ok = true;
    for (std::int64_t i = 0; i < n && ok; ++i) {
      const double c = origin + sign * (static_cast<double>(i) + 0.5) * res;
      const double rounded = std::round(c * scale) / scale;
      ok = std::fabs(rounded - c) <= tolerance;
    }
    if (ok) return d;
  }
  return 12;
}

std::int64_t band_rows(std::int64_t width, std::int64_t window_size) {
  const std::int64_t area = window_size * window_size;
  return std::max<std::int64_t>(1, area / std::max<std::int64_t>(1, width));
}

}  // namespace rasterflow
