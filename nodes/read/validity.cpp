#include "nodes/read/validity.hpp"

#include <cmath>
#include <limits>

namespace rasterflow::nodes {

std::string Validity::describe() const {
  switch (kind) {
    case MaskKind::alpha:
      return "valid pixels: alpha band " + std::to_string(alpha_band) +
             " above 0 (as gdalwarp's -srcalpha; alpha: data reads it as a band)";
    case MaskKind::per_dataset:
      return "valid pixels: the dataset's mask (GMF_PER_DATASET), and the bands' nodata values";
    case MaskKind::nodata_values:
      return "valid pixels: NODATA_VALUES, one nodata tuple for the whole pixel (GMF_PER_DATASET | GMF_NODATA)";
    case MaskKind::per_band:
      return "valid pixels: each band's own mask, and its nodata value";
    case MaskKind::none:
      break;
  }
  return alpha_found > 0 ? "alpha band " + std::to_string(alpha_found) + " read as data (alpha: data)" : "";
}

Validity find_validity(GDALDatasetH ds, const std::vector<int>& bands, bool alpha_as_data) {
  Validity v;
  const int count = GDALGetRasterCount(ds);
  if (count > 1 && GDALGetRasterColorInterpretation(GDALGetRasterBand(ds, count)) == GCI_AlphaBand) {
    v.alpha_found = count;
  }
  if (v.alpha_found > 0 && !alpha_as_data) {
    v.kind = MaskKind::alpha;
    v.alpha_band = v.alpha_found;
    return v;
  }
  if (bands.empty()) return v;
  const int flags = GDALGetMaskFlags(GDALGetRasterBand(ds, bands.front()));
  if ((flags & GMF_ALL_VALID) != 0 || (flags & GMF_ALPHA) != 0) return v;
  if ((flags & GMF_PER_DATASET) != 0) {
    v.kind = (flags & GMF_NODATA) != 0 ? MaskKind::nodata_values : MaskKind::per_dataset;
    return v;
  }
  for (const int b : bands) {
    const int f = GDALGetMaskFlags(GDALGetRasterBand(ds, b));
    if ((f & (GMF_ALL_VALID | GMF_NODATA | GMF_ALPHA | GMF_PER_DATASET)) == 0) v.kind = MaskKind::per_band;
  }
  return v;
}

bool read_valid(GDALDatasetH ds, const Validity& v, int band, const PixelWindow& w, std::uint8_t* out) {
  const auto x = static_cast<int>(w.col0), y = static_cast<int>(w.row0);
  const auto cols = static_cast<int>(w.cols), rows = static_cast<int>(w.rows);
  const auto n = static_cast<std::size_t>(w.cells());
  if (v.kind == MaskKind::alpha) {
    // Any alpha type: valid where the alpha value is above 0 (gdalwarp's density threshold).
    thread_local std::vector<double> alpha;
    alpha.resize(n);
    if (GDALRasterIO(GDALGetRasterBand(ds, v.alpha_band), GF_Read, x, y, cols, rows, alpha.data(), cols, rows,
                     GDT_Float64, 0, 0) != CE_None) {
      return false;
    }
    for (std::size_t i = 0; i < n; ++i) out[i] = alpha[i] > 0.0 ? 1 : 0;
    return true;
  }
  GDALRasterBandH mask = GDALGetMaskBand(GDALGetRasterBand(ds, band));
  if (GDALRasterIO(mask, GF_Read, x, y, cols, rows, out, cols, rows, GDT_Byte, 0, 0) != CE_None) return false;
  for (std::size_t i = 0; i < n; ++i) out[i] = out[i] != 0 ? 1 : 0;
  return true;
}

void blank_invalid(const std::uint8_t* valid, double* values, std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i) {
    if (valid[i] == 0) values[i] = std::numeric_limits<double>::quiet_NaN();
  }
}

}  // namespace rasterflow::nodes
