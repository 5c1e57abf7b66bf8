#include "nodes/gdal/irregular_axes.hpp"

#include <gdal.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "nodes/gdal/gdal.hpp"

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

namespace rasterflow::nodes {

namespace {

// The variable `variable` of the root group of `path`, with its file kept open by GDAL.
GDALMDArrayH open_array(const std::string& path, const std::string& variable) {
  ensure_gdal();
  const DatasetPtr ds(GDALOpenEx(path.c_str(), GDAL_OF_MULTIDIM_RASTER | GDAL_OF_READONLY, nullptr, nullptr, nullptr));
  if (!ds) return nullptr;
  GDALGroupH root = GDALDatasetGetRootGroup(get(ds));
  if (root == nullptr) return nullptr;
  GDALMDArrayH array = GDALGroupOpenMDArray(root, variable.c_str(), nullptr);
  GDALGroupRelease(root);
  return array;
}

std::vector<double> read_all(GDALMDArrayH a, std::size_t n) {
  std::vector<double> v(n);
  GDALExtendedDataTypeH f64 = GDALExtendedDataTypeCreate(GDT_Float64);
  const GUInt64 start = 0;
  if (!GDALMDArrayRead(a, &start, &n, nullptr, nullptr, f64, v.data(), nullptr, 0)) v.clear();
  GDALExtendedDataTypeRelease(f64);
  return v;
}

}  // namespace

std::optional<std::pair<std::vector<double>, std::vector<double>>> axis_values(const std::string& path,
                                                                               const std::string& variable) {
  GDALMDArrayH array = open_array(path, variable);
  if (array == nullptr) return std::nullopt;
  std::size_t count = 0;
  GDALDimensionH* dims = GDALMDArrayGetDimensions(array, &count);
  std::vector<double> axes[2];
  for (std::size_t k = 0; count >= 2 && k < 2; ++k) {
    GDALDimensionH dim = dims[count - 1 - k];  // x, then y
    GDALMDArrayH indexing = GDALDimensionGetIndexingVariable(dim);
    if (indexing == nullptr) continue;
    axes[k] = read_all(indexing, static_cast<std::size_t>(GDALDimensionGetSize(dim)));
    GDALMDArrayRelease(indexing);
  }
  GDALReleaseDimensions(dims, count);
  GDALMDArrayRelease(array);
  if (axes[0].empty() || axes[1].empty()) return std::nullopt;
  return std::pair{std::move(axes[0]), std::move(axes[1])};
}

bool rows_reversed(GDALDatasetH ds, const std::string& path, const std::string& variable) {
  GDALMDArrayH array = open_array(path, variable);
  if (array == nullptr) return false;
  const std::size_t n = GDALMDArrayGetDimensionCount(array);
  const int width = GDALGetRasterXSize(ds), height = GDALGetRasterYSize(ds);
  std::vector<GUInt64> start(n, 0);
  std::vector<std::size_t> count(n, 1);
  count[n - 2] = static_cast<std::size_t>(height);
  count[n - 1] = static_cast<std::size_t>(width);
  const auto cells = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
  std::vector<double> file(cells), classic(cells);
  GDALExtendedDataTypeH f64 = GDALExtendedDataTypeCreate(GDT_Float64);
  const bool read = GDALMDArrayRead(array, start.data(), count.data(), nullptr, nullptr, f64, file.data(), nullptr, 0);
  GDALExtendedDataTypeRelease(f64);
  GDALMDArrayRelease(array);
  if (!read || GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Read, 0, 0, width, height, classic.data(), width, height,
                            GDT_Float64, 0, 0) != CE_None)
    return false;
  const auto same = [](double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); };
  std::size_t as_is = 0, flipped = 0;
  for (int r = 0; r < height; ++r) {
    for (int c = 0; c < width; ++c) {
      const double v = classic[static_cast<std::size_t>(r) * width + c];
      as_is += same(v, file[static_cast<std::size_t>(r) * width + c]) ? 1 : 0;
      flipped += same(v, file[static_cast<std::size_t>(height - 1 - r) * width + c]) ? 1 : 0;
    }
  }
  return flipped > as_is;
}

}  // namespace rasterflow::nodes
