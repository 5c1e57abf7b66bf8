#include "nodes/transforms/resample_kernels.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "nodes/transforms/order_statistics.hpp"
#include "nodes/transforms/resample.hpp"

namespace rasterflow::nodes {
namespace {

inline bool is_valid(double v, bool has_nodata, double nodata) {
  return !std::isnan(v) && !(has_nodata && v == nodata);
}

// A cell's value for mode, median, q1 or q3, from its valid pixels (at least one).
double order_statistic(Method method, std::vector<double>& values, std::vector<double>& distinct,
                       std::vector<std::int64_t>& counts) {
  switch (method) {
    case Method::mode:
      return mode_of(values, distinct, counts);
    case Method::q1:
      return quantile_of(values, 0.25);
    case Method::q3:
      return quantile_of(values, 0.75);
    default:
      return quantile_of(values, 0.5);
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

namespace {

// Each method's loop over the cells of a block layout, on samples of type T. `valid_of(v)` is
// whether a sample counts (not NaN, not nodata, compared as doubles as GDAL compares them).
template <typename T>
struct Kernel {
  const T* src;
  const BlockLayout& l;
  bool has_nodata;
  double nd;
  std::span<double> out;
  std::span<std::uint8_t> valid;

  bool counts(T v) const {
    const auto d = static_cast<double>(v);
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(d)) return false;
    }
    return !(has_nodata && d == nd);
  }
  void put(std::int64_t r, std::int64_t c, bool ok, double value) const {
    const auto cell = static_cast<std::size_t>(r * l.out_width + c);
    out[cell] = ok ? value : std::numeric_limits<double>::quiet_NaN();
    valid[cell] = ok ? 1 : 0;
  }
  // Calls f(r, c, sy0, sy1, sx0, sx1) for every cell with its clipped source window.
  template <typename F>
  void cells(F&& f) const {
    for (std::int64_t r = 0; r < l.out_height; ++r) {
      const std::int64_t sy0 = std::max<std::int64_t>(0, l.y0 + r * l.ky);
      const std::int64_t sy1 = std::min<std::int64_t>(l.src_height, l.y0 + (r + 1) * l.ky);
      for (std::int64_t c = 0; c < l.out_width; ++c) {
        const std::int64_t sx0 = std::max<std::int64_t>(0, l.x0 + c * l.kx);
        const std::int64_t sx1 = std::min<std::int64_t>(l.src_width, l.x0 + (c + 1) * l.kx);
        f(r, c, sy0, sy1, sx0, sx1);
      }
    }
  }

  void nearest() const {
    for (std::int64_t r = 0; r < l.out_height; ++r) {
      const std::int64_t sy = l.y0 + r * l.ky + l.ky / 2;
      for (std::int64_t c = 0; c < l.out_width; ++c) {
        const std::int64_t sx = l.x0 + c * l.kx + l.kx / 2;
        if (sx >= 0 && sx < l.src_width && sy >= 0 && sy < l.src_height) {
          const T v = src[sy * l.src_width + sx];
          put(r, c, counts(v), static_cast<double>(v));
        } else {
          put(r, c, false, 0.0);
        }
      }
    }
  }
  // average and sum: the valid samples added row by row, left to right (gdalwarp's order).
  void sum(bool average) const {
    cells([&](std::int64_t r, std::int64_t c, std::int64_t sy0, std::int64_t sy1, std::int64_t sx0, std::int64_t sx1) {
      double total = 0;
      std::int64_t n = 0;
      for (std::int64_t sy = sy0; sy < sy1; ++sy) {
        const T* row = src + sy * l.src_width;
        for (std::int64_t sx = sx0; sx < sx1; ++sx) {
          if (!counts(row[sx])) continue;
          total += static_cast<double>(row[sx]);
          ++n;
        }
      }
      put(r, c, n > 0, average ? total / static_cast<double>(n) : total);
    });
  }
  void rms() const {
    cells([&](std::int64_t r, std::int64_t c, std::int64_t sy0, std::int64_t sy1, std::int64_t sx0, std::int64_t sx1) {
      double total = 0;
      std::int64_t n = 0;
      for (std::int64_t sy = sy0; sy < sy1; ++sy) {
        const T* row = src + sy * l.src_width;
        for (std::int64_t sx = sx0; sx < sx1; ++sx) {
          if (!counts(row[sx])) continue;
          const auto v = static_cast<double>(row[sx]);
          total += v * v;
          ++n;
        }
      }
      put(r, c, n > 0, std::sqrt(total / static_cast<double>(n)));
    });
  }
  void extreme(bool lowest) const {
    cells([&](std::int64_t r, std::int64_t c, std::int64_t sy0, std::int64_t sy1, std::int64_t sx0, std::int64_t sx1) {
      double lo = INFINITY, hi = -INFINITY;
      bool any = false;
      for (std::int64_t sy = sy0; sy < sy1; ++sy) {
        const T* row = src + sy * l.src_width;
        for (std::int64_t sx = sx0; sx < sx1; ++sx) {
          if (!counts(row[sx])) continue;
          const auto v = static_cast<double>(row[sx]);
          lo = std::min(lo, v);
          hi = std::max(hi, v);
          any = true;
        }
      }
      put(r, c, any, lowest ? lo : hi);
    });
  }
  void order(Method method, std::vector<double>& scratch) const {
    thread_local std::vector<double> distinct;
    thread_local std::vector<std::int64_t> counts_of;
    cells([&](std::int64_t r, std::int64_t c, std::int64_t sy0, std::int64_t sy1, std::int64_t sx0, std::int64_t sx1) {
      scratch.clear();
      for (std::int64_t sy = sy0; sy < sy1; ++sy) {
        const T* row = src + sy * l.src_width;
        for (std::int64_t sx = sx0; sx < sx1; ++sx) {
          if (counts(row[sx])) scratch.push_back(static_cast<double>(row[sx]));
        }
      }
      const bool ok = !scratch.empty();
      put(r, c, ok, ok ? order_statistic(method, scratch, distinct, counts_of) : 0.0);
    });
  }
  void run(Method method, std::vector<double>& scratch) const {
    switch (method) {
      case Method::nearest:
        return nearest();
      case Method::average:
        return sum(true);
      case Method::sum:
        return sum(false);
      case Method::rms:
        return rms();
      case Method::min:
        return extreme(true);
      case Method::max:
        return extreme(false);
      default:
        return order(method, scratch);
    }
  }
};

template <typename T>
void reduce_typed(Method method, const void* src, const BlockLayout& l, std::optional<double> nodata,
                  std::span<double> out, std::span<std::uint8_t> valid, std::vector<double>& scratch) {
  const Kernel<T> k{static_cast<const T*>(src), l, nodata.has_value(), nodata.value_or(0.0), out, valid};
  k.run(method, scratch);
}

}  // namespace

void reduce_blocks(Method method, SampleType type, const void* src, const BlockLayout& l, std::optional<double> nodata,
                   std::span<double> out, std::span<std::uint8_t> valid, std::vector<double>& scratch) {
  switch (type) {
    case SampleType::u8:
      return reduce_typed<std::uint8_t>(method, src, l, nodata, out, valid, scratch);
    case SampleType::i8:
      return reduce_typed<std::int8_t>(method, src, l, nodata, out, valid, scratch);
    case SampleType::u16:
      return reduce_typed<std::uint16_t>(method, src, l, nodata, out, valid, scratch);
    case SampleType::i16:
      return reduce_typed<std::int16_t>(method, src, l, nodata, out, valid, scratch);
    case SampleType::u32:
      return reduce_typed<std::uint32_t>(method, src, l, nodata, out, valid, scratch);
    case SampleType::i32:
      return reduce_typed<std::int32_t>(method, src, l, nodata, out, valid, scratch);
    case SampleType::f32:
      return reduce_typed<float>(method, src, l, nodata, out, valid, scratch);
    case SampleType::f64:
      return reduce_typed<double>(method, src, l, nodata, out, valid, scratch);
  }
}

void reduce_blocks(Method method, std::span<const double> src, const BlockLayout& l, std::optional<double> nodata,
                   std::span<double> out, std::span<std::uint8_t> valid, std::vector<double>& scratch) {
  reduce_typed<double>(method, src.data(), l, nodata, out, valid, scratch);
}

}  // namespace rasterflow::nodes
