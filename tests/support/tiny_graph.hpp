#pragma once
// The tiny graph tests share: two rasters written by the test and a merge of them into out.csv.
#include <filesystem>

#include "support/test_support.hpp"

namespace rasterflow::test {

// a: Float32 4x4 pixels of 1 degree over [0,4]x[0,4], values 1..16, one nodata pixel.
// b: Int16 2x2 pixels of 2 degrees over the same area, one nodata pixel.
void write_tiny_sources(const TempDir& dir);

// a (average) and b (nearest) resampled to 2 degrees, merged as "m", written by csv_sink "out"
// to out.csv.
extern const char* const kTinyGraph;

}  // namespace rasterflow::test
