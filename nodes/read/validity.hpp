#pragma once
// Which source pixels are valid beyond their bands' nodata values, as GDAL defines it
// (GDALGetMaskFlags) and gdalwarp applies it: an alpha band (gdalwarp's default -srcalpha when
// the last band is an alpha band), a mask for the whole dataset (an internal or .msk mask, 1-bit
// or 8-bit, or NODATA_VALUES: one nodata tuple for the whole pixel), or a mask of each band.
// Both of resample's paths read it from here: the fast path turns invalid pixels into NaN as
// they are read, the warper path hands the same masks to GDAL's warp kernel.
#include <gdal.h>

#include <cstdint>
#include <string>
#include <vector>

#include "rasterflow/node/grid.hpp"

namespace rasterflow::nodes {

enum class MaskKind : std::uint8_t {
  none,           // nodata values only (GMF_ALL_VALID or GMF_NODATA of each band)
  alpha,          // the dataset's alpha band: a pixel of alpha 0 is invalid
  per_dataset,    // one mask band for every band (GMF_PER_DATASET): an explicit mask
  nodata_values,  // the same from NODATA_VALUES (GMF_PER_DATASET | GMF_NODATA)
  per_band,       // each band its own explicit mask (flags 0)
};

struct Validity {
  MaskKind kind = MaskKind::none;
  int alpha_band = 0;  // the dataset's alpha band (its last), when kind is alpha
  // The dataset's alpha band, found whether or not it masks (0: none): not a data band of
  // band "all" unless alpha is read as data.
  int alpha_found = 0;
  bool active() const { return kind != MaskKind::none; }
  // One line for plan: what masks the pixels.
  std::string describe() const;
};

// The validity of `bands` (1-based, the bands read) of `ds`. `alpha_as_data`: the alpha band
// masks nothing (gdalwarp -nosrcalpha).
Validity find_validity(GDALDatasetH ds, const std::vector<int>& bands, bool alpha_as_data);

// Reads whether each pixel of `window` of band `band` (1-based, in `ds`) is valid: 1 or 0 into
// `out` (window.cells() bytes, row-major). Returns false when GDAL fails (its error is set).
bool read_valid(GDALDatasetH ds, const Validity& v, int band, const PixelWindow& window, std::uint8_t* out);

// Turns the values of `values` (window.cells() doubles) whose pixel `valid` says invalid into NaN.
void blank_invalid(const std::uint8_t* valid, double* values, std::int64_t count);

}  // namespace rasterflow::nodes
