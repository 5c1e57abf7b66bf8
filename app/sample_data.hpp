#pragma once
// Deterministic synthetic GeoTIFFs for the demo, the tests and the benchmarks.
#include <filesystem>
#include <string>
#include <vector>

namespace rasterflow::app {

struct SampleFile {
  std::filesystem::path path;
  std::string description;
};

// size: "small" (1000 x 500 finest raster), "medium" (6000 x 3000) or "large" (36000 x 18000).
// Writes temperature.tif (Float32, finest, nodata -9999 with a lake of nodata), elevation.tif
// (Int16, 2x coarser, nodata -32768 over the sea) and landcover.tif (Byte, 4x coarser, classes
// 1-9, nodata 0 in a stripe), all EPSG:4326, tiled and DEFLATE-compressed.
std::vector<SampleFile> generate_sample_data(const std::filesystem::path& dir, const std::string& size);

}  // namespace rasterflow::app
