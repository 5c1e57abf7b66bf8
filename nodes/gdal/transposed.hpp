#pragma once
// Variables stored (lon, lat) (#28), as TRMM's: GDAL's classic netCDF reader takes the last
// dimension for x whatever it holds, so it would put latitudes across and longitudes down.
// xarray reads such a variable by transposing it; rasterflow does the same through GDAL's
// multidimensional API: the variable transposed to (..., lat, lon), its rows north first
// (GetView), as a classic dataset (AsClassicDataset), one per thread, its geotransform from the
// coordinate variables. The bands (the other dimensions) and their metadata are the classic
// reader's, in the same order.
#include <optional>
#include <string>

#include "nodes/gdal/gdal.hpp"
#include "rasterflow/node/grid.hpp"

namespace rasterflow::nodes {

struct RasterInfo;

struct TransposedVariable {
  std::string file;      // the NetCDF/HDF5 file
  std::string variable;  // its name in the root group
  std::string lon_dim, lat_dim;
  bool flip = false;  // latitudes ascending: the view reads them north first
  GeoTransform gt{};  // of the transposed, north-up raster
};

// Whether `variable` of `file` has (lon, lat) as its last two dimensions (their coordinate
// variables' standard_name, units or axis say which is which); nullopt otherwise, or when the
// file has no multidimensional view. Throws GraphError naming `where` when it is transposed but
// a coordinate is not evenly spaced (it could not be placed on a geotransform).
std::optional<TransposedVariable> transposed_variable(const std::string& file, const std::string& variable,
                                                      const std::string& where);

// This thread's dataset of the transposed variable (null when GDAL refuses).
DatasetPtr open_transposed(const TransposedVariable& t);

// The warper's view of `src` (the transposed dataset of this thread) with each band's nodata
// turned into NaN and packed values unpacked, as RasterReader's VRT does for a named file.
DatasetPtr nan_nodata_vrt(GDALDatasetH src, const RasterInfo& info);

}  // namespace rasterflow::nodes
