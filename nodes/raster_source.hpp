#pragma once
// raster_source: one band of a raster file that GDAL can open. It does no work per tile: the
// resample nodes downstream read exactly the source window each tile needs through it, each
// thread with its own dataset handle (GDAL handles are not thread-safe).
#include <oneapi/tbb/enumerable_thread_specific.h>

#include <optional>

#include "nodes/common/gdal.hpp"
#include "rasterflow/node.hpp"

namespace rasterflow::nodes {

struct RasterInfo {
  std::string path;
  int band = 1;
  std::int64_t width = 0;
  std::int64_t height = 0;
  GeoTransform gt{};
  std::string crs;             // WKT, "" when the file has none
  GDALDataType type = GDT_Unknown;
  std::optional<double> nodata;  // from the file or the node's `nodata` option
  bool signed_byte = false;      // GDAL 3.6's Int8: Byte with PIXELTYPE=SIGNEDBYTE
};

class RasterSource final : public Node {
 public:
  explicit RasterSource(NodeSpec spec);
  std::optional<SourceFootprint> footprint(const std::string& grid_crs) const override;
  PayloadPtr process(const TileRequest& tile, std::span<const PayloadPtr> inputs) override;
  std::vector<std::string> describe() const override;

  const RasterInfo& info() const { return info_; }
  // This thread's handle on the dataset (opened on first use).
  GDALDatasetH dataset();
  GDALRasterBandH band();
  // Reads `window` of the band as doubles into `out` (row-major, window.cols x window.rows).
  void read(const PixelWindow& window, double* out);

 private:
  DatasetPtr open() const;
  RasterInfo info_;
  oneapi::tbb::enumerable_thread_specific<DatasetPtr> handles_;
};

// The payload a raster_source sends: the source itself (nothing is read yet).
struct SourceRef final : Payload {
  RasterSource* source = nullptr;
  std::size_t bytes() const noexcept override { return 0; }
};

}  // namespace rasterflow::nodes
