// Irregular latitudes resampled from their true coordinates (#28): a Gaussian grid (64 Gaussian
// latitudes, up to 0.4 degree from even: GDAL gives it no geotransform) and a mildly uneven one
// (0.04 degree: GDAL places it on an even spacing with a warning) are read through 1-D
// geolocation arrays of their axes' values. tests/data/irregular_axes.py writes them
// (python3-netcdf4) and checks rasterflow's table against xarray on the same cell centres:
// sel(method="nearest") for nearest, linear interpolation in longitude and latitude for bilinear.
#include <doctest/doctest.h>

#include "support/test_support.hpp"

using namespace rasterflow;

namespace {

const std::string kScript = "/usr/bin/python3 " RASTERFLOW_SOURCE_DIR "/tests/data/irregular_axes.py ";

// Runs `method` over `file` onto a 0.7-degree grid over `extent`; returns the checker's verdict.
std::string run_and_check(const test::TempDir& dir, const std::string& file, const std::string& extent,
                          const std::string& method) {
  test::write_text(dir / "graph.json", R"({"grid": {"resolution": 0.7, "extent": )" + extent + R"(}, "nodes": [
      {"id": "s", "type": "raster_source", "path": ")" +
                                           file + R"("},
      {"id": "v", "type": "resample", "inputs": ["s"], "method": ")" +
                                           method + R"("},
      {"id": "m", "type": "merge", "inputs": ["v"], "drop": "none"},
      {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})");
  std::string out;
  REQUIRE_MESSAGE(test::run_cli("run " + (dir / "graph.json").string() + " --progress never --threads 2 --output-dir " +
                                    dir.path().string(),
                                &out) == 0,
                  out);
  REQUIRE(test::run_shell(kScript + "check " + (dir / file).string() + " " + (dir / "o.csv").string() + " " + method,
                          &out) == 0);
  return out;
}

}  // namespace

TEST_CASE("IrregularAxes.GaussianLatitudes.EqualXarrayFromTheTrueCoordinates" * doctest::timeout(280)) {
  test::TempDir dir;
  std::string out;
  REQUIRE_MESSAGE(test::run_shell(kScript + "write " + dir.path().string(), &out) == 0, out);
  for (const char* method : {"nearest", "bilinear"}) {
    CAPTURE(method);
    out = run_and_check(dir, "gauss.nc", "[3, -85, 350, 85]", method);
    CAPTURE(out);
    CHECK(out.find("valid 120528 mismatches 0") != std::string::npos);
    out = run_and_check(dir, "mild.nc", "[1, 40.5, 29, 58.5]", method);
    CHECK(out.find("valid 1040 mismatches 0") != std::string::npos);
  }
  std::string plan;
  REQUIRE(test::run_cli("plan " + (dir / "graph.json").string(), &plan) == 0);
  CHECK(plan.find("axis \"lat\" is not evenly spaced") != std::string::npos);
  CHECK(plan.find("resampled from the axes' true coordinates") != std::string::npos);
}

TEST_CASE("IrregularAxes.GaussianGrib.NearestFromTheTrueLatitudesReducedRefused" * doctest::timeout(200)) {
  // GDAL 3.6 gives a regular Gaussian GRIB (N32) evenly spaced rows, up to 1.46 degree from the
  // true latitudes; rasterflow computes them and resamples from them.
  test::TempDir dir;
  std::string out;
  REQUIRE_MESSAGE(test::run_shell(kScript + "grib " + dir.path().string(), &out) == 0, out);
  const auto graph = [&](const std::string& file, const std::string& option) {
    test::write_text(dir / "graph.json", R"({"grid": {"resolution": 0.7, "extent": [3, -85, 350, 85]}, "nodes": [
        {"id": "s", "type": "raster_source", "path": ")" +
                                             file + "\"" + option + R"(},
        {"id": "v", "type": "resample", "inputs": ["s"]},
        {"id": "m", "type": "merge", "inputs": ["v"], "drop": "none"},
        {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})");
    return "run " + (dir / "graph.json").string() + " --progress never --output-dir " + dir.path().string();
  };
  REQUIRE_MESSAGE(test::run_cli(graph("gauss.grib2", ""), &out) == 0, out);
  REQUIRE(test::run_shell(kScript + "checkgrib " + (dir / "gauss.grib2").string() + " " + (dir / "o.csv").string(),
                          &out) == 0);
  CHECK_MESSAGE(out.find("valid 120528 mismatches 0") != std::string::npos, out);
  std::string plan;
  REQUIRE(test::run_cli("plan " + (dir / "graph.json").string(), &plan) == 0);
  CHECK(plan.find("up to 1.459902 degree from the true Gaussian latitudes (row 63, N32): resampled from the true "
                  "latitudes") != std::string::npos);
  CHECK(test::run_cli(graph("gauss.grib2", R"(, "irregular_axes": "refuse")"), &out) == 2);
  CHECK(out.find("option \"irregular_axes\": ") != std::string::npos);
  CHECK(out.find("1.459902 degree from the true Gaussian latitudes") != std::string::npos);
  CHECK(test::run_cli(graph("reduced.grib2", ""), &out) == 2);
  CHECK(out.find("is a reduced Gaussian grid (N48)") != std::string::npos);
  CHECK(out.find("cdo setgridtype,regular") != std::string::npos);
  // The globe on the other convention (-180..180 for a 0..360 file): the source is not wrapped, so
  // the western cells would be empty and dropped; refused, naming the way forward.
  const std::string command = graph("gauss.grib2", "");
  std::string text = test::read_text(dir / "graph.json");
  text.replace(text.find("[3, -85, 350, 85]"), 17, "[-180, -85, 180, 85]");
  test::write_text(dir / "graph.json", text);
  CHECK(test::run_cli(command, &out) == 2);
  CHECK_MESSAGE(out.find("which rasterflow does not wrap across the antimeridian") != std::string::npos, out);
  CHECK(out.find("give the grid the source's convention") != std::string::npos);
}
