#include <doctest/doctest.h>

#include "rasterflow/node/grid.hpp"

using namespace rasterflow;

TEST_CASE("Grid.Snap.OutwardToMultiplesOfResolution") {
  const Grid g = snap_grid({-10.02, 39.97, 10.01, 45.0}, 0.05, 0.05, "EPSG:4326");
  CHECK(g.x0 == doctest::Approx(-10.05));
  CHECK(g.y0 == doctest::Approx(45.0));
  CHECK(g.width == 402);   // -10.05 .. 10.05
  CHECK(g.height == 101);  // 39.95 .. 45.0
}

TEST_CASE("Grid.Snap.ExactMultiplesStayDespiteFloatingNoise") {
  // 0.1 * 3 is 0.30000000000000004: it must still count as the multiple 3, not snap to 4.
  const Grid g = snap_grid({0.0, 0.0, 0.1 * 3, 0.7}, 0.1, 0.1, "");
  CHECK(g.width == 3);
  CHECK(g.height == 7);
  CHECK(g.x0 == 0.0);
}

TEST_CASE("Grid.CellCentres.RasterOrder") {
  const Grid g = snap_grid({0, 0, 4, 2}, 1, 1, "");
  CHECK(g.center_x(0) == 0.5);
  CHECK(g.center_x(3) == 3.5);
  CHECK(g.center_y(0) == 1.5);  // north first
  CHECK(g.center_y(1) == 0.5);
  const Extent band = g.band_extent(1, 1);
  CHECK(band.ymax == 1.0);
  CHECK(band.ymin == 0.0);
}

TEST_CASE("Grid.Window.MapsTargetAreaToSourcePixels") {
  // Source: 100 x 50 pixels of 0.1 degrees from (10, 45) north-west corner.
  const GeoTransform gt{10.0, 0.1, 0.0, 45.0, 0.0, -0.1};
  const PixelWindow w = window_for(gt, 100, 50, {11.0, 43.0, 12.0, 44.0}, 0);
  CHECK(w.col0 == 10);
  CHECK(w.cols == 10);
  CHECK(w.row0 == 10);
  CHECK(w.rows == 10);
  const PixelWindow grown = window_for(gt, 100, 50, {11.0, 43.0, 12.0, 44.0}, 2);
  CHECK(grown.col0 == 8);
  CHECK(grown.cols == 14);
  // Clipped to the raster; fully outside is empty.
  const PixelWindow clipped = window_for(gt, 100, 50, {9.0, 40.0, 10.5, 46.0}, 0);
  CHECK(clipped.col0 == 0);
  CHECK(clipped.cols == 5);
  CHECK(clipped.row0 == 0);
  CHECK(clipped.rows == 50);
  CHECK(window_for(gt, 100, 50, {30.0, 40.0, 31.0, 41.0}, 1).empty());
}

TEST_CASE("Grid.CoordinateDecimals.FewestThatGiveCentresBack") {
  CHECK(coordinate_decimals(-180.0, 0.05, 7200, false) == 3);  // -179.975 ...
  CHECK(coordinate_decimals(-180.0, 0.1, 3600, false) == 2);   // -179.95 ...
  CHECK(coordinate_decimals(0.0, 1.0, 10, false) == 1);        // 0.5, 1.5 ...
  CHECK(coordinate_decimals(0.0, 2.0, 10, false) == 0);        // 1, 3, 5 ...
  CHECK(coordinate_decimals(90.0, 0.01, 18000, true) == 3);    // 89.995 ...
  CHECK(coordinate_decimals(0.0, 1.0 / 3.0, 30, false) <= 12);
}

TEST_CASE("Grid.BandRows.AreaBoundAtLeastOneRow") {
  CHECK(band_rows(1000, 2048) == 4194);
  CHECK(band_rows(10'000'000, 256) == 1);
  CHECK(band_rows(7200, 512) == 36);
}
