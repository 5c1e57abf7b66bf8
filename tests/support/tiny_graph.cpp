#include "support/tiny_graph.hpp"

#include <vector>

namespace rasterflow::test {

// a: Float32 4x4 pixels of 1 degree over [0,4]x[0,4], values 1..16, one nodata pixel.
// b: Int16 2x2 pixels of 2 degrees over the same area, one nodata pixel.
void write_tiny_sources(const TempDir& dir) {
  RasterSpec a;
  a.width = 4;
  a.height = 4;
  a.gt = {0, 1, 0, 4, 0, -1};
  a.type = "Float32";
  a.nodata = -9999;
  std::vector<double> av(16);
  for (int i = 0; i < 16; ++i) av[static_cast<std::size_t>(i)] = i + 1;
  av[1] = -9999;
  write_raster(dir / "a.tif", a, {av});
  RasterSpec b;
  b.width = 2;
  b.height = 2;
  b.gt = {0, 2, 0, 4, 0, -2};
  b.type = "Int16";
  b.nodata = -1;
  write_raster(dir / "b.tif", b, {{10, 20, 30, -1}});
}

extern const char* const kTinyGraph;
const char* const kTinyGraph = R"({
  "grid": { "resolution": 2 },
  "nodes": [
    { "id": "a_src", "type": "raster_source", "path": "a.tif" },
    { "id": "b_src", "type": "raster_source", "path": "b.tif" },
    { "id": "a", "type": "resample", "inputs": ["a_src"], "method": "average" },
    { "id": "b", "type": "resample", "inputs": ["b_src"], "method": "nearest" },
    { "id": "m", "type": "merge", "inputs": ["a", "b"] },
    { "id": "out", "type": "csv_sink", "inputs": ["m"], "path": "out.csv" }
  ]
})";

}  // namespace rasterflow::test
