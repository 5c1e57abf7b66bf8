#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "nodes/transforms/order_statistics.hpp"
#include "nodes/transforms/resample.hpp"
#include "nodes/transforms/resample_wide.hpp"

namespace rasterflow::nodes {
namespace {

// mode_of's scratch, kept per thread (declared to the planner in resample_thread_state.cpp).
template <typename T>
T wide_mode(const std::vector<T>& values) {
  thread_local std::vector<T> distinct;
  thread_local std::vector<std::int64_t> counts;
  return mode_of(values, distinct, counts);
}

template <typename T>
T wide_select(Method method, std::vector<T>& values) {
  switch (method) {
    case Method::min:
      return *std::min_element(values.begin(), values.end());
    case Method::max:
      return *std::max_element(values.begin(), values.end());
    case Method::mode:
      return wide_mode(values);
    case Method::q1:
      return quantile_of(values, 0.25);
    case Method::q3:
      return quantile_of(values, 0.75);
    default:
      return quantile_of(values, 0.5);
  }
}

template <typename T>
struct WideKernel {
  const T* src;
  const BlockLayout& l;
  std::optional<T> nodata;
  std::span<std::int64_t> out;
  std::span<std::uint8_t> valid;

  bool counts(T v) const { return !(nodata && v == *nodata); }
  void put(std::int64_t r, std::int64_t c, bool ok, T value) const {
    const auto cell = static_cast<std::size_t>(r * l.out_width + c);
    out[cell] = ok ? static_cast<std::int64_t>(value) : 0;
    valid[cell] = ok ? 1 : 0;
  }
  void nearest() const {
    for (std::int64_t r = 0; r < l.out_height; ++r) {
      const std::int64_t sy = l.y0 + r * l.ky + l.ky / 2;
      for (std::int64_t c = 0; c < l.out_width; ++c) {
        const std::int64_t sx = l.x0 + c * l.kx + l.kx / 2;
        const bool inside = sx >= 0 && sx < l.src_width && sy >= 0 && sy < l.src_height;
        const T v = inside ? src[sy * l.src_width + sx] : T{0};
        put(r, c, inside && counts(v), v);
      }
    }
  }
  void selecting(Method method) const {
    thread_local std::vector<T> scratch;
    for (std::int64_t r = 0; r < l.out_height; ++r) {
      const std::int64_t sy0 = std::max<std::int64_t>(0, l.y0 + r * l.ky);
      const std::int64_t sy1 = std::min<std::int64_t>(l.src_height, l.y0 + (r + 1) * l.ky);
      for (std::int64_t c = 0; c < l.out_width; ++c) {
        const std::int64_t sx0 = std::max<std::int64_t>(0, l.x0 + c * l.kx);
        const std::int64_t sx1 = std::min<std::int64_t>(l.src_width, l.x0 + (c + 1) * l.kx);
        scratch.clear();
        for (std::int64_t sy = sy0; sy < sy1; ++sy) {
          for (std::int64_t sx = sx0; sx < sx1; ++sx) {
            if (counts(src[sy * l.src_width + sx])) scratch.push_back(src[sy * l.src_width + sx]);
          }
        }
        put(r, c, !scratch.empty(), scratch.empty() ? T{0} : wide_select(method, scratch));
      }
    }
  }
};

template <typename T>
void reduce_wide_typed(Method method, const std::int64_t* src, const BlockLayout& l, std::optional<std::int64_t> nodata,
                       std::span<std::int64_t> out, std::span<std::uint8_t> valid) {
  const std::optional<T> nd = nodata ? std::optional<T>(static_cast<T>(*nodata)) : std::nullopt;
  const WideKernel<T> k{reinterpret_cast<const T*>(src), l, nd, out, valid};
  if (method == Method::nearest) {
    k.nearest();
  } else {
    k.selecting(method);
  }
}

}  // namespace

bool wide_kernels_support(Method method) { return !is_blending(method); }

void reduce_wide_blocks(Method method, bool is_signed, const std::int64_t* src, const BlockLayout& layout,
                        std::optional<std::int64_t> nodata, std::span<std::int64_t> out,
                        std::span<std::uint8_t> valid) {
  if (is_signed) {
    reduce_wide_typed<std::int64_t>(method, src, layout, nodata, out, valid);
  } else {
    reduce_wide_typed<std::uint64_t>(method, src, layout, nodata, out, valid);
  }
}

void expand_wide_pixels(const std::int64_t* src, const ExpandLayout& l, std::optional<std::int64_t> nodata,
                        std::span<std::int64_t> out, std::span<std::uint8_t> valid) {
  // Equality with nodata is the same on the bits for both types.
  for (std::int64_t r = 0; r < l.out_height; ++r) {
    const std::int64_t sy = floor_div(l.y0 + r, l.my);
    const bool row_in = sy >= 0 && sy < l.src_height;
    for (std::int64_t c = 0; c < l.out_width; ++c) {
      const std::int64_t sx = floor_div(l.x0 + c, l.mx);
      const auto cell = static_cast<std::size_t>(r * l.out_width + c);
      const bool inside = row_in && sx >= 0 && sx < l.src_width;
      const std::int64_t v = inside ? src[sy * l.src_width + sx] : 0;
      const bool ok = inside && !(nodata && v == *nodata);
      out[cell] = ok ? v : 0;
      valid[cell] = ok ? 1 : 0;
    }
  }
}

}  // namespace rasterflow::nodes
