// GDAL's GRIB unit normalisation, stated and chosen per source (#30). GDAL gives GRIB2 temperatures
// in degrees C but leaves GRIB1 ones (ECMWF's table) in K while labelling them C; a merge of the
// two gave column means of 19.6 and 285.3 with nothing to flag it. The inputs are written by
// ECMWF's ecCodes (tests/data/make_grib_inputs.py), whose own decoding is the reference.
#include <doctest/doctest.h>

#include <boost/json.hpp>
#include <cmath>
#include <sstream>

#include <cpl_conv.h>

#include "rasterflow/errors.hpp"
#include "rasterflow/graph.hpp"
#include "rasterflow/pipeline.hpp"
#include "support/test_support.hpp"

using namespace rasterflow;
namespace json = boost::json;

namespace {

struct GribRun {
  std::vector<std::string> plan;
  std::vector<std::string> header;
  std::vector<std::vector<double>> columns;  // after x and y, in the CSV's row order
};

json::value make_inputs(const test::TempDir& dir) {
  std::string out;
  const int rc = test::run_shell(
      "/usr/bin/python3 " RASTERFLOW_SOURCE_DIR "/tests/data/make_grib_inputs.py " + dir.path().string() + " 2>&1",
      &out);
  REQUIRE_MESSAGE(rc == 0, out);
  return json::parse(test::read_text(dir / "expected.json"));
}

// Both files onto their own 1-degree grid (nearest), merged without dropping; `g2_options` are
// added to the GRIB2 source, run on `threads` threads in tiles of 4 rows.
GribRun run_both(const test::TempDir& dir, const std::string& g1_options, const std::string& g2_options, int threads) {
  test::write_text(dir / "graph.json", R"({"grid": {"crs": "EPSG:4326", "resolution": 1.0,
      "extent": [-0.5, 20.5, 39.5, 50.5]}, "nodes": [
    {"id": "s1", "type": "raster_source", "path": "t1.grib")" +
                                           g1_options + R"(},
    {"id": "s2", "type": "raster_source", "path": "t2.grib2")" +
                                           g2_options + R"(},
    {"id": "t1", "type": "resample", "inputs": ["s1"], "method": "nearest"},
    {"id": "t2", "type": "resample", "inputs": ["s2"], "method": "nearest"},
    {"id": "m", "type": "merge", "inputs": ["t1", "t2"], "drop": "none"},
    {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})");
  Config config;
  PlanOptions options;
  options.output_dir = dir.path();
  options.threads = threads;
  options.tile_rows = 4;
  Pipeline pipeline(load_graph(dir / "graph.json", config), config, options);
  GribRun r;
  r.plan = pipeline.plan().text();
  pipeline.run();
  std::istringstream in(test::read_text(dir / "o.csv"));
  std::string line;
  std::getline(in, line);
  std::istringstream header(line);
  for (std::string name; std::getline(header, name, ',');) r.header.push_back(name);
  r.columns.resize(2);
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string field;
    std::getline(fields, field, ',');
    std::getline(fields, field, ',');
    for (auto& column : r.columns) {
      std::getline(fields, field, ',');
      column.push_back(std::stod(field));
    }
  }
  return r;
}

bool has_line(const std::vector<std::string>& plan, const std::string& text) {
  for (const auto& line : plan) {
    if (line.find(text) != std::string::npos) return true;
  }
  return false;
}

// GDAL decodes GRIB2 (g2clib) in float32 arithmetic, ecCodes in double: the two agree to float32's
// precision (2^-24 relative: 1.5e-5 at 250 K), GRIB1 to double's.
constexpr double kFloat32Agreement = 3e-5;

// The largest difference between a column and ecCodes' values plus `shift`.
double worst(const std::vector<double>& column, const json::array& reference, double shift) {
  REQUIRE(column.size() == reference.size());
  double out = 0;
  for (std::size_t i = 0; i < column.size(); ++i)
    out = std::max(out, std::fabs(column[i] - (reference[i].to_number<double>() + shift)));
  return out;
}

}  // namespace

TEST_CASE("GribUnits.Grib1AndGrib2Temperatures.EachColumnInTheUnitOfItsValuesAndTheMixFlagged") {
  test::TempDir dir;
  const json::value expected = make_inputs(dir);
  REQUIRE(expected.at("t1").at("units").as_string() == "K");
  const GribRun r = run_both(dir, "", "", 2);
  REQUIRE(r.header == std::vector<std::string>{"x", "y", "t1", "t2"});
  // GRIB1: GDAL's normalisation labels the temperature C but leaves its values in K, as ecCodes
  // decodes them; the column says K.
  CHECK(worst(r.columns[0], expected.at("t1").at("values").as_array(), 0.0) < 1e-9);
  CHECK(has_line(r.plan, "GDAL relabels 2T from K to C but leaves the values as stored"));
  // GRIB2: converted to degrees C by GDAL, and said so.
  CHECK(worst(r.columns[1], expected.at("t2").at("values").as_array(), -273.15) < kFloat32Agreement);
  CHECK(has_line(r.plan, "converted by GDAL's unit normalisation (TMP from K to C"));
  CHECK(has_line(r.plan, "units: t1 K, t2 C"));
  CHECK(has_line(r.plan, "columns t1 (K) and t2 (C) measure temperature in different units"));
}

TEST_CASE("GribUnits.PassThrough.TheFilesUnitsOnEveryThreadAndTheProcessLeftAlone") {
  test::TempDir dir;
  const json::value expected = make_inputs(dir);
  REQUIRE(CPLGetConfigOption("GRIB_NORMALIZE_UNITS", nullptr) == nullptr);
  // Several threads read tiles of 4 rows: each decodes its messages under the source's choice.
  const GribRun r = run_both(dir, R"(, "grib_normalize_units": false)", R"(, "grib_normalize_units": false)", 2);
  CHECK(worst(r.columns[0], expected.at("t1").at("values").as_array(), 0.0) < 1e-9);
  CHECK(worst(r.columns[1], expected.at("t2").at("values").as_array(), 0.0) < kFloat32Agreement);
  CHECK(has_line(r.plan, "GRIB units: as stored in the file (grib_normalize_units: false)"));
  CHECK(has_line(r.plan, "units: t1 K, t2 K"));
  CHECK_FALSE(has_line(r.plan, "in different units"));
  // The choice was this source's alone: the process's configuration is as it was.
  CHECK(CPLGetConfigOption("GRIB_NORMALIZE_UNITS", nullptr) == nullptr);
  // And one source normalised next to one that is not, in one run.
  test::TempDir mixed;
  make_inputs(mixed);
  const GribRun m = run_both(mixed, "", R"(, "grib_normalize_units": true)", 2);
  CHECK(worst(m.columns[1], expected.at("t2").at("values").as_array(), -273.15) < kFloat32Agreement);
}

TEST_CASE("GribUnits.Select.GribMessagesByTimeAndLevelAsNetCdfBands") {
  // Four GRIB2 messages (two days, 500 and 850 hPa), chosen and named by their decoded valid time
  // and level as a NetCDF variable's bands are; ecCodes wrote each as the field + level/100 + day.
  test::TempDir dir;
  const json::value expected = make_inputs(dir);
  test::write_text(dir / "graph.json", R"({"grid": {"crs": "EPSG:4326", "resolution": 1.0,
      "extent": [-0.5, 20.5, 39.5, 50.5]}, "nodes": [
    {"id": "s", "type": "raster_source", "path": "levels.grib2", "grib_normalize_units": false,
     "select": {"time": "2020-01-02", "level": 500}},
    {"id": "t", "type": "resample", "inputs": ["s"], "method": "nearest"},
    {"id": "m", "type": "merge", "inputs": ["t"], "drop": "none"},
    {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})");
  Config config;
  PlanOptions options;
  options.output_dir = dir.path();
  Pipeline pipeline(load_graph(dir / "graph.json", config), config, options);
  CHECK(has_line(pipeline.plan().text(), "level: 500hPa"));
  pipeline.run();
  std::istringstream in(test::read_text(dir / "o.csv"));
  std::string line;
  std::getline(in, line);
  CHECK(line == "x,y,t_2020-01-02_500hPa");
  const json::array& field = expected.at("t1").at("values").as_array();  // the field of every file
  std::vector<double> column;
  while (std::getline(in, line)) column.push_back(std::stod(line.substr(line.rfind(',') + 1)));
  CHECK(worst(column, field, 500.0 / 100.0 + 2) < kFloat32Agreement);
  // An unknown level is refused, listing the file's.
  std::string bad = test::read_text(dir / "graph.json");
  bad.replace(bad.find("\"level\": 500"), 12, "\"level\": 700");
  test::write_text(dir / "bad.json", bad);
  CHECK_THROWS_WITH_AS(Pipeline(load_graph(dir / "bad.json", config), config, options), doctest::Contains("850hPa"),
                       GraphError);
}
