#pragma once
// gdalwarp 3.6's order statistics of a cell's valid pixels, for any value type: the double
// kernels (resample_kernels.cpp) and the Int64/UInt64 kernels (resample_wide_kernels.cpp).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace rasterflow::nodes {

// gdalwarp 3.6 quantile of n sorted values: index ceil(q * n - 1), clamped to [0, n).
template <typename T>
T quantile_of(std::vector<T>& values, double q) {
  const auto n = static_cast<double>(values.size());
  auto index = static_cast<std::ptrdiff_t>(std::ceil(q * n - 1.0));
  index = std::clamp<std::ptrdiff_t>(index, 0, static_cast<std::ptrdiff_t>(values.size()) - 1);
  std::nth_element(values.begin(), values.begin() + index, values.end());
  return values[static_cast<std::size_t>(index)];
}

// The value whose count first reaches the maximum, scanning in order (values not empty).
template <typename T>
T mode_of(const std::vector<T>& values, std::vector<T>& distinct, std::vector<std::int64_t>& counts) {
  distinct.clear();
  counts.clear();
  T best = values.front();
  std::int64_t best_count = 0;
  for (const T v : values) {
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

}  // namespace rasterflow::nodes
