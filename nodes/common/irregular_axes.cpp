#include "nodes/common/irregular_axes.hpp"

#include <gdal.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "nodes/common/gdal.hpp"

namespace rasterflow::nodes {

namespace {

std::optional<AxisDeviation> axis_deviation(GDALDimensionH dim) {
  GDALMDArrayH indexing = GDALDimensionGetIndexingVariable(dim);
  if (indexing == nullptr) return std::nullopt;
  const auto n = static_cast<std::size_t>(GDALDimensionGetSize(dim));
  std::vector<double> v(n);
  GDALExtendedDataTypeH f64 = GDALExtendedDataTypeCreate(GDT_Float64);
  const GUInt64 start = 0;
  const bool read = n >= 3 && GDALMDArrayRead(indexing, &start, &n, nullptr, nullptr, f64, v.data(), nullptr, 0);
  GDALExtendedDataTypeRelease(f64);
  GDALMDArrayRelease(indexing);
  if (!read) return std::nullopt;
  AxisDeviation d;
  d.axis = GDALDimensionGetName(dim);
  d.spacing = (v.back() - v.front()) / static_cast<double>(n - 1);
  for (std::size_t i = 0; i < n; ++i) {
    const double off = std::fabs(v[i] - (v.front() + static_cast<double>(i) * d.spacing));
    if (off > d.deviation) {
      d.deviation = off;
      d.index = static_cast<std::int64_t>(i);
    }
  }
  if (!(d.deviation > 0.01 * std::fabs(d.spacing))) return std::nullopt;
  return d;
}

}  // namespace

std::optional<AxisDeviation> uneven_axis(const std::string& path, const std::string& variable) {
  ensure_gdal();
  const DatasetPtr ds(GDALOpenEx(path.c_str(), GDAL_OF_MULTIDIM_RASTER | GDAL_OF_READONLY, nullptr, nullptr, nullptr));
  if (!ds) return std::nullopt;
  GDALGroupH root = GDALDatasetGetRootGroup(get(ds));
  if (root == nullptr) return std::nullopt;
  GDALMDArrayH array = GDALGroupOpenMDArray(root, variable.c_str(), nullptr);
  GDALGroupRelease(root);
  if (array == nullptr) return std::nullopt;
  std::size_t count = 0;
  GDALDimensionH* dims = GDALMDArrayGetDimensions(array, &count);
  std::optional<AxisDeviation> worst;
  for (std::size_t k = count >= 2 ? count - 2 : count; k < count; ++k) {  // the two spatial axes, last
    const auto d = axis_deviation(dims[k]);
    if (d && (!worst || d->deviation / std::fabs(d->spacing) > worst->deviation / std::fabs(worst->spacing))) worst = d;
  }
  GDALReleaseDimensions(dims, count);
  GDALMDArrayRelease(array);
  return worst;
}

std::string deviation_text(const AxisDeviation& d) {
  char text[200];
  std::snprintf(text, sizeof text,
                "axis \"%s\" is not evenly spaced: its value %lld is %.6g from the even spacing "
                "of %.6g (%.3g of a step)",
                d.axis.c_str(), static_cast<long long>(d.index), d.deviation, std::fabs(d.spacing),
                d.deviation / std::fabs(d.spacing));
  return text;
}

}  // namespace rasterflow::nodes
