#pragma once
// NetCDF and Zarr outputs as CF datasets (#30), through GDAL's multidimensional API: one
// variable per merged column named after it, in the column's own type with its _FillValue,
// units, long_name and standard_name; CF coordinates (lat/lon, or projected x/y) with the grid's
// CRS as a grid_mapping variable; or, when the columns are the time steps of one variable, one
// variable with a time dimension (its units and calendar from the source).
#include <gdal.h>

#include <optional>
#include <string>
#include <vector>

#include "rasterflow/node/grid.hpp"
#include "rasterflow/node/payload.hpp"

namespace rasterflow::nodes {

struct CfColumn {
  std::string name;
  GDALDataType type = GDT_Float64;
  ColumnMetadata metadata;
};

// How the columns become variables: `time` stacks them along a time dimension (they must share
// one source variable and have distinct times); `columns` writes a variable per column.
enum class CfLayout { columns, time };

// Whether the columns can be stacked as the time steps of one variable (one source, one type,
// a decoded time each, distinct). `why` says why not.
bool stackable_in_time(const std::vector<CfColumn>& columns, std::string* why);

struct CfOutput {
  GDALDriverH driver = nullptr;  // netCDF or Zarr
  std::string path;              // where to create it (the .partial name)
  CfLayout layout = CfLayout::columns;
  double nodata = 0;                          // the fill value of integer variables
  std::vector<std::string> creation_options;  // FORMAT=NC4 (root); COMPRESS, ZLEVEL (arrays)
  std::string where;                          // the node, for errors
};

// Writes `source` (a dataset with one band per column, the grid's size) as a CF dataset. Reads
// and writes `rows_per_batch` rows at a time, so memory stays bounded. Throws IoError naming
// the node and the file.
void write_cf_dataset(const CfOutput& out, GDALDatasetH source, const Grid& grid, const std::vector<CfColumn>& columns,
                      std::int64_t rows_per_batch);

// Whether a GDAL driver is one this writer serves (netCDF, Zarr).
bool is_cf_driver(const std::string& format);

}  // namespace rasterflow::nodes
