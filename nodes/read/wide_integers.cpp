#include "nodes/read/wide_integers.hpp"

#include <algorithm>
#include <cmath>

#include "rasterflow/errors.hpp"

namespace rasterflow::nodes {

namespace {

// Rows read at once: about 8 MiB of 8-byte samples.
int rows_per_read(int width) { return std::max(1, static_cast<int>((std::size_t{8} << 20) / 8 / std::max(1, width))); }

template <typename T>
bool fits(T v) {
  if constexpr (std::is_signed_v<T>) {
    return v >= -kMaxExactInteger && v <= kMaxExactInteger;
  } else {
    return v <= static_cast<std::uint64_t>(kMaxExactInteger);
  }
}

template <typename T>
std::optional<std::string> scan_band(GDALRasterBandH band, int index, const std::string& where,
                                     const std::string& path) {
  const int w = GDALGetRasterBandXSize(band), h = GDALGetRasterBandYSize(band);
  int has_nodata = 0;
  const T nodata = std::is_signed_v<T> ? static_cast<T>(GDALGetRasterNoDataValueAsInt64(band, &has_nodata))
                                       : static_cast<T>(GDALGetRasterNoDataValueAsUInt64(band, &has_nodata));
  const int step = rows_per_read(w);
  std::vector<T> values;
  for (int row0 = 0; row0 < h; row0 += step) {
    const int rows = std::min(step, h - row0);
    values.resize(static_cast<std::size_t>(w) * static_cast<std::size_t>(rows));
    const GdalErrors errors;
    if (GDALRasterIO(band, GF_Read, 0, row0, w, rows, values.data(), w, rows,
                     std::is_signed_v<T> ? GDT_Int64 : GDT_UInt64, 0, 0) != CE_None) {
      throw_io_error(where, "reading " + path + " band " + std::to_string(index) + " rows " + std::to_string(row0) +
                                "-" + std::to_string(row0 + rows - 1) +
                                " (to check its 64-bit values) failed: " + errors.text("read error"));
    }
    for (std::size_t i = 0; i < values.size(); ++i) {
      const T v = values[i];
      if (fits(v) || (has_nodata && v == nodata)) continue;
      return "band " + std::to_string(index) + " holds " + std::to_string(v) + " at column " +
             std::to_string(i % static_cast<std::size_t>(w)) + ", row " +
             std::to_string(row0 + static_cast<int>(i / static_cast<std::size_t>(w)));
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::int64_t> wide_nodata_of(GDALRasterBandH band, std::optional<double> given) {
  const bool is_signed = GDALGetRasterDataType(band) == GDT_Int64;
  if (given) {
    const double v = *given;
    if (v != std::floor(v)) return std::nullopt;  // also NaN
    if (is_signed && v >= -0x1p63 && v < 0x1p63) return static_cast<std::int64_t>(v);
    if (!is_signed && v >= 0 && v < 0x1p64) return static_cast<std::int64_t>(static_cast<std::uint64_t>(v));
    return std::nullopt;
  }
  int has = 0;
  if (is_signed) {
    const std::int64_t v = GDALGetRasterNoDataValueAsInt64(band, &has);
    return has ? std::optional<std::int64_t>(v) : std::nullopt;
  }
  const std::uint64_t v = GDALGetRasterNoDataValueAsUInt64(band, &has);
  return has ? std::optional<std::int64_t>(static_cast<std::int64_t>(v)) : std::nullopt;
}

std::optional<std::string> first_inexact_value(GDALDatasetH ds, const std::vector<int>& bands, const std::string& where,
                                               const std::string& path) {
  for (const int b : bands) {
    GDALRasterBandH band = GDALGetRasterBand(ds, b);
    const auto found = GDALGetRasterDataType(band) == GDT_Int64 ? scan_band<std::int64_t>(band, b, where, path)
                                                                : scan_band<std::uint64_t>(band, b, where, path);
    if (found) return found;
  }
  return std::nullopt;
}

}  // namespace rasterflow::nodes
