#pragma once
// GDAL dataset names as graph paths: a plain file, a subdataset (`NETCDF:"f.nc":pr`,
// `HDF5:"f.h5"://grp/var`, `GTIFF_DIR:2:f.tif`), a local archive or compressed file
// (`/vsizip/a.zip/b.tif`, `/vsigzip/f.tif.gz`, `/vsitar/`), a remote one (`/vsicurl/https://...`,
// `/vsis3/...`), or any nesting of these. Textual only: nothing is opened here.
#include <filesystem>
#include <string>

namespace rasterflow::nodes {

struct DatasetName {
  std::string name;     // the whole name, its local file part made absolute when a base was given
  std::string file;     // the local file it reads ("" when remote or in memory)
  bool remote = false;  // reaches the network or other GDAL virtual file systems (/vsicurl/, URLs, /vsimem/)
};

// Splits `text` and, when `base` is not empty, resolves its local file part against `base` (the
// graph file's folder), as a plain relative path is.
DatasetName resolve_dataset_name(const std::string& text, const std::filesystem::path& base);

// Whether `text` is more than a plain local file name (a subdataset, a /vsi path...).
bool is_plain_file(const std::string& text);

}  // namespace rasterflow::nodes
