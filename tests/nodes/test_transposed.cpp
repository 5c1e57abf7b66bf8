// Variables stored (lon, lat) (#28), as TRMM's: read transposed, as xarray reads them. The file
// and xarray's reading of it are written by tests/data/make_transposed.py (python3-netcdf4,
// xarray): a (time, lon, lat) variable with ascending latitudes and missing values.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <sstream>

#include "rasterflow/graph.hpp"
#include "support/test_support.hpp"

using namespace rasterflow;

namespace {

void write_inputs(const test::TempDir& dir) {
  std::string out;
  const int rc = test::run_shell(
      "/usr/bin/python3 " RASTERFLOW_SOURCE_DIR "/tests/data/make_transposed.py " + dir.path().string(), &out);
  REQUIRE_MESSAGE(rc == 0, out);
}

// Rows "x,y,values..." keyed by the cell centre in thousandths of a degree.
std::map<std::pair<long, long>, std::vector<std::string>> rows_of(const std::string& csv, bool header) {
  std::map<std::pair<long, long>, std::vector<std::string>> out;
  std::istringstream in(csv);
  std::string line;
  if (header) std::getline(in, line);
  while (std::getline(in, line)) {
    std::vector<std::string> fields;
    std::istringstream f(line);
    std::string field;
    while (std::getline(f, field, ',')) fields.push_back(field);
    if (line.back() == ',') fields.emplace_back();
    const auto key = std::pair{std::lround(std::stod(fields[0]) * 1000), std::lround(std::stod(fields[1]) * 1000)};
    out[key] = std::vector<std::string>(fields.begin() + 2, fields.end());
  }
  return out;
}

Pipeline make(const test::TempDir& dir, const std::string& grid, const std::string& method, const std::string& band) {
  test::write_text(dir / "graph.json", R"({"grid": )" + grid + R"(, "nodes": [
      {"id": "s", "type": "raster_source", "path": "trmm.nc", "crs": "EPSG:4326", "band": )" +
                                           band + R"(},
      {"id": "v", "type": "resample", "inputs": ["s"], "method": ")" +
                                           method + R"("},
      {"id": "m", "type": "merge", "inputs": ["v"], "drop": "none"},
      {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})");
  Config config;
  PlanOptions options;
  options.output_dir = dir.path();
  options.tile_rows = 3;
  return Pipeline(load_graph(dir / "graph.json", config), config, options);
}

}  // namespace

TEST_CASE("Transposed.LonLatVariable.EqualsXarraysTransposedValues") {
  test::TempDir dir;
  write_inputs(dir);
  Pipeline pipeline = make(dir, "{}", "nearest", R"("all")");
  const Grid g = pipeline.plan().grid;
  CHECK(g.width == 30);  // longitudes across, latitudes down
  CHECK(g.height == 20);
  CHECK(g.x0 == doctest::Approx(100.0));
  CHECK(g.y0 == doctest::Approx(-5.0));
  pipeline.run();
  const auto ours = rows_of(test::read_text(dir / "o.csv"), true);
  const auto expected = rows_of(test::read_text(dir / "expected.csv"), false);
  REQUIRE(ours.size() == expected.size());
  std::size_t missing = 0, compared = 0;
  for (const auto& entry : expected) {
    // Not a structured binding: clang 14 cannot capture one (CAPTURE is a lambda).
    const auto& key = entry.first;
    const auto& values = entry.second;
    CAPTURE(key.first);
    CAPTURE(key.second);
    const auto it = ours.find(key);
    REQUIRE(it != ours.end());
    REQUIRE(it->second.size() == 2);
    for (std::size_t s = 0; s < 2; ++s) {
      if (values[s].empty()) {
        ++missing;
        CHECK(it->second[s].empty());
      } else {
        ++compared;
        CHECK(static_cast<float>(std::stod(it->second[s])) == static_cast<float>(std::stod(values[s])));
      }
    }
  }
  CHECK(missing == 2);
  CHECK(compared == 1198);
  std::string plan;
  REQUIRE(test::run_cli("plan " + (dir / "graph.json").string(), &plan) == 0);
  CHECK(plan.find("stored (lon, lat): read transposed") != std::string::npos);
}

TEST_CASE("Transposed.LonLatVariable.WarperEqualsGdalwarpOnXarraysValues") {
  // Bilinear onto a grid off the source's lattice (the warper, nodata through its VRT) equals
  // gdalwarp over xarray's transposed values written as a north-up GeoTIFF.
  test::TempDir dir;
  write_inputs(dir);
  for (const char* method : {"bilinear", "nearest", "average"}) {
    CAPTURE(method);
    Pipeline pipeline = make(dir, R"({"resolution": 0.2, "extent": [100.3, -9.7, 107.1, -5.3]})", method, "1");
    const Grid g = pipeline.plan().grid;
    pipeline.run();
    const auto ref = test::gdalwarp_reference(dir / "ref.tif", g, method, "Float32");
    const auto ours = rows_of(test::read_text(dir / "o.csv"), true);
    std::size_t valid = 0;
    for (std::int64_t r = 0; r < g.height; ++r) {
      for (std::int64_t c = 0; c < g.width; ++c) {
        const double x = g.x0 + (static_cast<double>(c) + 0.5) * g.res_x;
        const double y = g.y0 - (static_cast<double>(r) + 0.5) * g.res_y;
        const auto it = ours.find({std::lround(x * 1000), std::lround(y * 1000)});
        REQUIRE(it != ours.end());
        const double expected = ref[static_cast<std::size_t>(r * g.width + c)];
        CAPTURE(r);
        CAPTURE(c);
        if (std::isnan(expected)) {
          CHECK(it->second[0].empty());
        } else {
          ++valid;
          REQUIRE_FALSE(it->second[0].empty());
          CHECK(static_cast<float>(std::stod(it->second[0])) == static_cast<float>(expected));
        }
      }
    }
    CHECK(valid > 600);
  }
}
