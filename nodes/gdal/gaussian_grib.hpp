#pragma once
// Gaussian GRIB (#28): GDAL 3.6's GRIB driver places the rows of a regular Gaussian grid
// (GRIB2 grid template 3.40, GRIB1 data representation type 4) on an even spacing, rows up to
// about a degree from their true latitudes (N48), and exposes no coordinates. rasterflow reads the
// grid definition of the file's first message itself and computes the Gaussian latitudes (the
// roots of the Legendre polynomial of degree 2N), so the source can be resampled from them.
#include <optional>
#include <string>
#include <vector>

namespace rasterflow::nodes {

struct GaussianGrid {
  int n = 0;             // parallels between a pole and the equator
  bool reduced = false;  // a reduced (quasi-regular) grid: a varying number of points per row
};

// The Gaussian grid of the first message of GRIB file `path`; nullopt when it is not one.
std::optional<GaussianGrid> gaussian_grid(const std::string& path);

// The 2n Gaussian latitudes in degrees, north to south.
std::vector<double> gaussian_latitudes(int n);

}  // namespace rasterflow::nodes
