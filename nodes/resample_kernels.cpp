#include "nodes/resample_kernels.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "nodes/resample.hpp"

namespace rasterflow::nodes {
namespace {

inline bool is_valid(double v, bool has_nodata, double nodata) {
  return !std::isnan(v) && !(has_nodata && v == nodata);
}

// gdalwarp 3.6 quantile of n sorted values: index ceil(q * n - 1), clamped to [0, n).
double quantile(std::vector<double>& values, double q) {
  const auto n = static_cast<double>(values.size());
  auto index = static_cast<std::ptrdiff_t>(std::ceil(q * n - 1.0));
  index = std::clamp<std::ptrdiff_t>(index, 0, static_cast<std::ptrdiff_t>(values.size()) - 1);
  std::nth_element(values.begin(), values.begin() + index, values.end());
  return values[static_cast<std::size_t>(index)];
}

// The value whose count first reaches the maximum, scanning in order.
double mode_of(const std::vector<double>& values, std::vector<double>& distinct, std::vector<std::int64_t>& counts) {
  distinct.clear();
  counts.clear();
  double best = values.front();
  std::int64_t best_count = 0;
  for (const double v : values) {
    std::size_t k = 0;
    while (k < distinct.size() && distinct[k] != v) ++k;
    if (k == distinct.size()) {
      distinct.push_back(v);
      counts.push_back(0);
    }
    if (++counts[k] > best_count) {
      best_count = counts[k];
      best = v;
    }
  }
  return best;
}

// A cell's value for average, sum, rms, min or max, from its valid pixels' sum, sum of
// squares, minimum, maximum and count.
double moment_value(Method method, double sum, double sum_sq, double lo, double hi, std::int64_t n) {
  switch (method) {
    case Method::average:
      return sum / static_cast<double>(n);
    case Method::sum:
      return sum;
    case Method::rms:
      return std::sqrt(sum_sq / static_cast<double>(n));
    case Method::min:
      return lo;
    default:
      return hi;
  }
}

// A cell's value for mode, median, q1 or q3, from its valid pixels (at least one).
double order_statistic(Method method, std::vector<double>& values, std::vector<double>& distinct,
                       std::vector<std::int64_t>& counts) {
  switch (method) {
    case Method::mode:
      return mode_of(values, distinct, counts);
    case Method::q1:
      return quantile(values, 0.25);
    case Method::q3:
      return quantile(values, 0.75);
    default:
      return quantile(values, 0.5);
  }
}

}  // namespace

bool fast_path_supports(Method method) { return method != Method::bilinear && method != Method::cubic; }

bool upsampling_supports(Method method) { return fast_path_supports(method) && method != Method::sum; }

void expand_pixels(std::span<const double> src, const ExpandLayout& l, std::optional<double> nodata,
                   std::span<double> out, std::span<std::uint8_t> valid) {
  const bool has_nodata = nodata.has_value();
  const double nd = nodata.value_or(0.0);
  for (std::int64_t r = 0; r < l.out_height; ++r) {
    const std::int64_t sy = floor_div(l.y0 + r, l.my);
    const bool row_in = sy >= 0 && sy < l.src_height;
    const double* row = row_in ? src.data() + sy * l.src_width : nullptr;
    for (std::int64_t c = 0; c < l.out_width; ++c) {
      const std::int64_t sx = floor_div(l.x0 + c, l.mx);
      const auto cell = static_cast<std::size_t>(r * l.out_width + c);
      double v = std::numeric_limits<double>::quiet_NaN();
      if (row_in && sx >= 0 && sx < l.src_width) v = row[sx];
      const bool ok = is_valid(v, has_nodata, nd);
      // rms of one value is its magnitude; every other method returns the value itself.
      out[cell] = ok ? v : std::numeric_limits<double>::quiet_NaN();
      valid[cell] = ok ? 1 : 0;
    }
  }
}

void reduce_blocks(Method method, std::span<const double> src, const BlockLayout& l, std::optional<double> nodata,
                   std::span<double> out, std::span<std::uint8_t> valid, std::vector<double>& scratch) {
  const bool has_nodata = nodata.has_value();
  const double nd = nodata.value_or(0.0);
  thread_local std::vector<double> distinct;
  thread_local std::vector<std::int64_t> counts;
  for (std::int64_t r = 0; r < l.out_height; ++r) {
    const std::int64_t sy0 = std::max<std::int64_t>(0, l.y0 + r * l.ky);
    const std::int64_t sy1 = std::min<std::int64_t>(l.src_height, l.y0 + (r + 1) * l.ky);
    for (std::int64_t c = 0; c < l.out_width; ++c) {
      const std::int64_t sx0 = std::max<std::int64_t>(0, l.x0 + c * l.kx);
      const std::int64_t sx1 = std::min<std::int64_t>(l.src_width, l.x0 + (c + 1) * l.kx);
      const auto cell = static_cast<std::size_t>(r * l.out_width + c);
      double result = 0;
      bool ok = false;
      if (method == Method::nearest) {
        const std::int64_t sx = l.x0 + c * l.kx + l.kx / 2;
        const std::int64_t sy = l.y0 + r * l.ky + l.ky / 2;
        if (sx >= 0 && sx < l.src_width && sy >= 0 && sy < l.src_height) {
          result = src[static_cast<std::size_t>(sy * l.src_width + sx)];
          ok = is_valid(result, has_nodata, nd);
        }
      } else if (method == Method::average || method == Method::sum || method == Method::rms || method == Method::min ||
                 method == Method::max) {
        double sum = 0, sum_sq = 0, lo = INFINITY, hi = -INFINITY;
        std::int64_t n = 0;
        for (std::int64_t sy = sy0; sy < sy1; ++sy) {
          const double* row = src.data() + sy * l.src_width;
          for (std::int64_t sx = sx0; sx < sx1; ++sx) {
            const double v = row[sx];
            if (!is_valid(v, has_nodata, nd)) continue;
            sum += v;
            sum_sq += v * v;
            lo = std::min(lo, v);
            hi = std::max(hi, v);
            ++n;
          }
        }
        ok = n > 0;
        result = moment_value(method, sum, sum_sq, lo, hi, n);
      } else {
        scratch.clear();
        for (std::int64_t sy = sy0; sy < sy1; ++sy) {
          const double* row = src.data() + sy * l.src_width;
          for (std::int64_t sx = sx0; sx < sx1; ++sx) {
            if (is_valid(row[sx], has_nodata, nd)) scratch.push_back(row[sx]);
          }
        }
        ok = !scratch.empty();
        if (ok) result = order_statistic(method, scratch, distinct, counts);
      }
      out[cell] = ok ? result : std::numeric_limits<double>::quiet_NaN();
      valid[cell] = ok ? 1 : 0;
    }
  }
}

}  // namespace rasterflow::nodes
