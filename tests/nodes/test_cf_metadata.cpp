// CF metadata in (#30): time coordinates decoded with their calendar as xarray (cftime) decodes
// them, bands selected and named by time and level, packed values unpacked to the type CF gives
// them (that of scale_factor/add_offset), units carried to the plan and to raster outputs. The
// inputs and the reference are written by tests/data/make_cf_inputs.py (python3-netcdf4, and
// xarray's own decoding of the same files).
#include <doctest/doctest.h>

#include <boost/json.hpp>
#include <cmath>
#include <set>
#include <sstream>

#include <gdal.h>

#include "nodes/cf/cf_time.hpp"
#include "rasterflow/errors.hpp"
#include "rasterflow/graph.hpp"
#include "rasterflow/pipeline.hpp"
#include "support/test_support.hpp"

using namespace rasterflow;
namespace json = boost::json;

namespace {

json::value make_inputs(const test::TempDir& dir) {
  std::string out;
  const int rc = test::run_shell(
      "/usr/bin/python3 " RASTERFLOW_SOURCE_DIR "/tests/data/make_cf_inputs.py " + dir.path().string() + " 2>&1", &out);
  REQUIRE_MESSAGE(rc == 0, out);
  return json::parse(test::read_text(dir / "expected.json"));
}

struct Csv {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> plan;
};

Csv run_graph(const test::TempDir& dir, const std::string& source_options, const std::string& sink = "") {
  test::write_text(dir / "graph.json", R"({"nodes": [
    {"id": "s", "type": "raster_source", )" +
                                           source_options + R"(},
    {"id": "v", "type": "resample", "inputs": ["s"], "method": "nearest"},
    {"id": "m", "type": "merge", "inputs": ["v"], "drop": "none"},
    {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"})" +
                                           sink + "]}");
  Config config;
  PlanOptions options;
  options.output_dir = dir.path();
  Pipeline pipeline(load_graph(dir / "graph.json", config), config, options);
  Csv csv;
  csv.plan = pipeline.plan().text();
  pipeline.run();
  std::istringstream in(test::read_text(dir / "o.csv"));
  std::string line;
  const auto split = [](const std::string& text) {
    std::vector<std::string> fields;
    std::istringstream f(text);
    std::string field;
    while (std::getline(f, field, ',')) fields.push_back(field);
    if (!text.empty() && text.back() == ',') fields.emplace_back();
    return fields;
  };
  std::getline(in, line);
  csv.header = split(line);
  while (std::getline(in, line)) csv.rows.push_back(split(line));
  return csv;
}

// The column names xarray's decoded times give under our rule: dates alone when they are
// distinct, else the time of day to the minute.
std::vector<std::string> expected_names(const json::array& iso) {
  std::set<std::string> dates;
  for (const auto& t : iso) dates.insert(std::string(t.as_string()).substr(0, 10));
  std::vector<std::string> names;
  for (const auto& t : iso) {
    const std::string text(t.as_string());
    names.push_back("v_" + (dates.size() == iso.size() ? text.substr(0, 10) : text.substr(0, 16)));
  }
  return names;
}

bool plan_has(const std::vector<std::string>& plan, const std::string& text) {
  for (const auto& line : plan) {
    if (line.find(text) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("CF.Time.EveryCalendarNamesColumnsAsXarrayDecodesThem" * doctest::timeout(180)) {
  test::TempDir dir;
  const json::value expected = make_inputs(dir);
  for (const auto& [calendar, iso] : expected.at("calendars").as_object()) {
    const std::string name(calendar);
    CAPTURE(name);
    const Csv csv = run_graph(
        dir, R"("path": "cal_)" + name + R"(.nc", "crs": "EPSG:4326", "band": "all", "band_names": "coordinates")");
    const std::vector<std::string> names(csv.header.begin() + 2, csv.header.end());
    CHECK(names == expected_names(iso.as_array()));
  }
}

TEST_CASE("CF.Time.DecoderAgainstKnownDates") {
  using rasterflow::nodes::TimeDecoder;
  // 57289.5 days since 1850-01-01 in 365_day is CMIP5's mid-December 2006 (#30's tas_57289.5).
  CHECK(iso_text(TimeDecoder("days since 1850-01-01", "365_day").decode(57289.5), 1) == "2006-12-16T12:00");
  CHECK(iso_text(TimeDecoder("seconds since 1970-01-01T00:00:00Z", "standard").decode(1551398400), 0) == "2019-03-01");
  CHECK(iso_text(TimeDecoder("hours since 2000-01-01 00:00:00 +01:00", "standard").decode(1), 1) == "2000-01-01T00:00");
  CHECK(iso_text(TimeDecoder("months since 2000-01-01", "360_day").decode(13), 0) == "2001-02-01");
  CHECK_THROWS_WITH(TimeDecoder("months since 2000-01-01", "standard"), doctest::Contains("360_day"));
  CHECK_THROWS_WITH(TimeDecoder("fortnights since 2000-01-01", "standard"), doctest::Contains("unknown time unit"));
  CHECK_THROWS_WITH(TimeDecoder("days since 2000-01-01", "none"), doctest::Contains("calendar \"none\""));
}

TEST_CASE("CF.Select.ByDateRangeAndLevelWithNamesOfBoth" * doctest::timeout(120)) {
  test::TempDir dir;
  make_inputs(dir);
  // Both dimensions vary: each column names its time and level.
  Csv csv = run_graph(dir, R"("path": "levels.nc", "crs": "EPSG:4326", "select": {"time": "2019-01-01"})");
  CHECK(std::vector<std::string>(csv.header.begin() + 2, csv.header.end()) ==
        std::vector<std::string>{"v_2019-01-01T00:00_500hPa", "v_2019-01-01T00:00_200hPa", "v_2019-01-01T06:00_500hPa",
                                 "v_2019-01-01T06:00_200hPa"});
  // One level, a list of dates: only the time names the columns; values are those bands'.
  csv = run_graph(
      dir,
      R"("path": "levels.nc", "crs": "EPSG:4326", "select": {"time": ["2019-01-01T06", "2019-01-02"], "plev": 200})");
  CHECK(std::vector<std::string>(csv.header.begin() + 2, csv.header.end()) ==
        std::vector<std::string>{"v_2019-01-01", "v_2019-01-02"});
  // z[time=1, plev=1] of the first cell (north-west) is (1*2+1)*20*100, z[2, 1] is (2*2+1)*20*100.
  CHECK(csv.rows.front()[2] == "6000");
  CHECK(csv.rows.front()[3] == "10000");
  // A range, inclusive at both ends by prefix.
  csv = run_graph(
      dir,
      R"("path": "levels.nc", "crs": "EPSG:4326", "select": {"time": "2019-01-01T06/2019-01-02", "plev": "500hPa"})");
  CHECK(csv.header.size() == 4);
  CHECK(plan_has(csv.plan, "plev: 500hPa"));
  CHECK(plan_has(csv.plan, "units: m2 s-2"));
  // An unknown value lists the available ones; an unknown dimension names those there are.
  CHECK_THROWS_WITH(run_graph(dir, R"("path": "levels.nc", "crs": "EPSG:4326", "select": {"plev": 850})"),
                    doctest::Contains("has no plev \"850\" (available: 500hPa, 200hPa)"));
  CHECK_THROWS_WITH(run_graph(dir, R"("path": "levels.nc", "crs": "EPSG:4326", "select": {"level": 850})"),
                    doctest::Contains("has no dimension \"level\" (it has: plev, time)"));
  CHECK_THROWS_WITH(run_graph(dir, R"("path": "levels.nc", "crs": "EPSG:4326", "select": [500])"),
                    doctest::Contains("option \"select\": expected an object"));
}

TEST_CASE("CF.Packed.UnpackedToTheTypeOfScaleFactorAsXarray" * doctest::timeout(120)) {
  test::TempDir dir;
  const json::value expected = make_inputs(dir);
  for (const char* kind : {"f4", "f8"}) {
    CAPTURE(kind);
    const Csv csv = run_graph(dir, std::string(R"("path": "packed_)") + kind + R"(.nc", "crs": "EPSG:4326")");
    const auto& ref = expected.at("packed").at(kind);
    // xarray's own decoding is float32 for both (see make_cf_inputs.py); with float32 factors
    // its values are CF's, and ours must equal them.
    CHECK(std::string(ref.at("xarray_dtype").as_string()) == "float32");
    if (std::string(kind) == "f4") CHECK(ref.at("xarray_values") == ref.at("cf_values"));
    const auto& values = ref.at("cf_values").as_array();
    REQUIRE(csv.rows.size() == values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
      const std::string& field = csv.rows[i][2];
      if (values[i].is_null()) {
        CHECK(field.empty());
        continue;
      }
      const double want = std::stod(std::string(values[i].as_string()));
      // Float32: the float xarray computes, printed as the shortest text of that float ("-1.69",
      // never "-1.6899999622255564"); Float64: the double CF's arithmetic gives.
      if (std::string(kind) == "f4") {
        CHECK(static_cast<float>(std::stod(field)) == static_cast<float>(want));
        CHECK(field.size() <= 10);
      } else {
        CHECK(std::stod(field) == want);
      }
    }
    CHECK(plan_has(csv.plan, std::string(kind) == "f4" ? "unpacked to Float32" : "unpacked to Float64"));
  }
}

TEST_CASE("CF.RasterSink.AutoTypeKeepsUnpackedValuesAndUnits" * doctest::timeout(180)) {
  // #30's first fault: nearest of a packed Int16 variable was written as Int16 again (32767 for
  // ERA-Interim's geopotential, whole numbers for OISST). With data_type auto the band has the
  // unpacked type, its values are the CSV's, and its unit type is the variable's units.
  test::TempDir dir;
  make_inputs(dir);
  for (const char* kind : {"f4", "f8"}) {
    CAPTURE(kind);
    const std::string sink = R"(, {"id": "r", "type": "raster_sink", "inputs": ["m"], "path": "o.tif"})";
    const Csv csv = run_graph(dir, std::string(R"("path": "packed_)") + kind + R"(.nc", "crs": "EPSG:4326")", sink);
    GDALDatasetH ds = GDALOpen((dir / "o.tif").c_str(), GA_ReadOnly);
    REQUIRE(ds != nullptr);
    GDALRasterBandH band = GDALGetRasterBand(ds, 1);
    CHECK(std::string(GDALGetDataTypeName(GDALGetRasterDataType(band))) ==
          (std::string(kind) == "f4" ? "Float32" : "Float64"));
    CHECK(std::string(GDALGetRasterUnitType(band)) == (std::string(kind) == "f4" ? "K" : "degC"));
    std::vector<double> values(20);
    REQUIRE(GDALRasterIO(band, GF_Read, 0, 0, 5, 4, values.data(), 5, 4, GDT_Float64, 0, 0) == CE_None);
    int has_nodata = 0;
    const double nodata = GDALGetRasterNoDataValue(band, &has_nodata);
    GDALClose(ds);
    REQUIRE(csv.rows.size() == 20);
    for (std::size_t i = 0; i < 20; ++i) {
      if (csv.rows[i][2].empty()) {
        CHECK((has_nodata && (values[i] == nodata || (std::isnan(nodata) && std::isnan(values[i])))));
      } else if (std::string(kind) == "f4") {
        CHECK(static_cast<float>(values[i]) == static_cast<float>(std::stod(csv.rows[i][2])));
      } else {
        CHECK(values[i] == std::stod(csv.rows[i][2]));
      }
    }
  }
  // A data_type the user chose that changes values: written as asked, with a warning that counts them.
  test::write_text(dir / "narrow.json", R"({"nodes": [
    {"id": "s", "type": "raster_source", "path": "packed_f8.nc", "crs": "EPSG:4326"},
    {"id": "v", "type": "resample", "inputs": ["s"], "method": "nearest"},
    {"id": "m", "type": "merge", "inputs": ["v"]},
    {"id": "r", "type": "raster_sink", "inputs": ["m"], "path": "narrow.tif", "data_type": "Int16"}]})");
  std::string out;
  CHECK(test::run_shell(std::string(RASTERFLOW_CLI) + " run " + (dir / "narrow.json").string() + " --output-dir " +
                            dir.path().string() + " --progress never 2>&1",
                        &out) == 0);
  CHECK_MESSAGE(out.find("node \"r\" (raster_sink): option \"data_type\": 18 values changed when written as Int16") !=
                    std::string::npos,
                out);
}

TEST_CASE("CF.Units.MixedUnitsOfOneQuantityAreFlaggedInThePlan" * doctest::timeout(120)) {
  test::TempDir dir;
  make_inputs(dir);
  // packed_f4 is K, packed_f8 degC, both sea_surface_temperature.
  test::write_text(dir / "graph.json", R"({"nodes": [
    {"id": "a_src", "type": "raster_source", "path": "packed_f4.nc", "crs": "EPSG:4326"},
    {"id": "b_src", "type": "raster_source", "path": "packed_f8.nc", "crs": "EPSG:4326"},
    {"id": "a", "type": "resample", "inputs": ["a_src"], "method": "nearest"},
    {"id": "b", "type": "resample", "inputs": ["b_src"], "method": "nearest"},
    {"id": "m", "type": "merge", "inputs": ["a", "b"]},
    {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})");
  Config config;
  PlanOptions options;
  options.output_dir = dir.path();
  Pipeline pipeline(load_graph(dir / "graph.json", config), config, options);
  const auto plan = pipeline.plan().text();
  CHECK(plan_has(plan, "units: a K, b degC"));
  CHECK(plan_has(plan, "warning: columns a (K) and b (degC) measure sea_surface_temperature in different units"));
}

namespace {

json::value read_back_with_xarray(const std::filesystem::path& path, const std::string& engine = "") {
  std::string out;
  const int rc = test::run_shell("/usr/bin/python3 " RASTERFLOW_SOURCE_DIR "/tests/data/read_cf_output.py " +
                                     path.string() + " " + engine + " 2>&1",
                                 &out);
  REQUIRE_MESSAGE(rc == 0, out);
  return json::parse(out);
}

}  // namespace

TEST_CASE("CF.NetCdf.TimeStepsOfOneVariableBecomeATimeDimension" * doctest::timeout(180)) {
  // #30's third fault: variables Band1..N, no units, no time. The 365_day steps of one variable
  // come back from xarray as tas(time, lat, lon) with its dates, units and _FillValue.
  test::TempDir dir;
  const json::value expected = make_inputs(dir);
  const std::string sink =
      R"(, {"id": "r", "type": "raster_sink", "inputs": ["m"], "path": "o.nc", "format": "netCDF"})";
  const Csv csv = run_graph(
      dir, R"("path": "cal_365_day.nc", "crs": "EPSG:4326", "band": "all", "band_names": "coordinates")", sink);
  CHECK(plan_has(csv.plan, "CF variables (layout auto): v(time, y, x) Float32, 3 time steps"));
  const json::value back = read_back_with_xarray(dir / "o.nc");
  const auto& v = back.at("variables").at("v");
  CHECK(json::serialize(v.at("dims")) == R"(["time","lat","lon"])");
  CHECK(std::string(v.at("dtype").as_string()) == "float32");
  CHECK(std::string(v.at("attrs").at("units").as_string()) == "K");
  CHECK(v.at("attrs").as_object().contains("grid_mapping"));
  CHECK(back.at("coords").at("time") == expected.at("calendars").at("365_day"));
  CHECK(back.at("variables").as_object().size() == 1);
  // Values: time step k of cell i is the CSV's column 2 + k of row i.
  const auto& values = v.at("values").as_array();
  REQUIRE(values.size() == 3 * 20);
  for (std::size_t k = 0; k < 3; ++k) {
    for (std::size_t i = 0; i < 20; ++i)
      CHECK(std::stod(std::string(values[k * 20 + i].as_string())) == std::stod(csv.rows[i][2 + k]));
  }
  // Coordinates are the cell centres; GDAL reads the file back with the grid's CRS and geotransform.
  CHECK(json::serialize(back.at("coords").at("lat")) == R"(["45.0","35.0","25.0","15.0"])");
  GDALDatasetH ds = GDALOpen(("NETCDF:\"" + (dir / "o.nc").string() + "\":v").c_str(), GA_ReadOnly);
  REQUIRE(ds != nullptr);
  double gt[6];
  REQUIRE(GDALGetGeoTransform(ds, gt) == CE_None);
  CHECK(gt[0] == 0.0);
  CHECK(gt[1] == 10.0);
  CHECK(gt[3] == 50.0);
  CHECK(gt[5] == -10.0);
  CHECK(std::string(GDALGetProjectionRef(ds)).find("WGS 84") != std::string::npos);
  CHECK(GDALGetRasterCount(ds) == 3);
  GDALClose(ds);
}

TEST_CASE("CF.NetCdf.AVariablePerColumnInItsOwnType" * doctest::timeout(180)) {
  // Columns of several types: each variable keeps its own (merged columns were promoted to
  // Float64), with units, standard_name, long_name and _FillValue from the source.
  test::TempDir dir;
  make_inputs(dir);
  test::write_text(dir / "graph.json", R"({"nodes": [
    {"id": "a_src", "type": "raster_source", "path": "packed_f4.nc", "crs": "EPSG:4326"},
    {"id": "b_src", "type": "raster_source", "path": "packed_f8.nc", "crs": "EPSG:4326", "unpack": false},
    {"id": "sst", "type": "resample", "inputs": ["a_src"], "method": "nearest"},
    {"id": "raw", "type": "resample", "inputs": ["b_src"], "method": "nearest"},
    {"id": "m", "type": "merge", "inputs": ["sst", "raw"], "drop": "none"},
    {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"},
    {"id": "r", "type": "raster_sink", "inputs": ["m"], "path": "o.nc", "format": "netCDF",
     "creation_options": ["FORMAT=NC4", "COMPRESS=DEFLATE", "ZLEVEL=4"]}]})");
  Config config;
  PlanOptions options;
  options.output_dir = dir.path();
  Pipeline(load_graph(dir / "graph.json", config), config, options).run();
  const json::value back = read_back_with_xarray(dir / "o.nc");
  const auto& sst = back.at("variables").at("sst");
  const auto& raw = back.at("variables").at("raw");
  CHECK(std::string(sst.at("dtype").as_string()) == "float32");
  CHECK(std::string(raw.at("dtype").as_string()) == "float32");  // xarray masks an int16 with a fill: float32
  CHECK(std::string(sst.at("attrs").at("standard_name").as_string()) == "sea_surface_temperature");
  CHECK(std::string(sst.at("attrs").at("long_name").as_string()) == "sea surface temperature");
  CHECK(std::string(raw.at("attrs").at("units").as_string()) == "degC");
  CHECK(std::string(raw.at("fill").as_string()) == "-32768");
  // COMPRESS=DEFLATE, ZLEVEL=4: zlib with the shuffle filter, as netCDF4's zlib=True, shuffle=True.
  for (const auto* variable : {&sst, &raw}) {
    const auto& compression = variable->at("compression");
    CHECK(std::string(compression.at("zlib").as_string()) == "True");
    CHECK(std::string(compression.at("shuffle").as_string()) == "True");
    CHECK(std::string(compression.at("complevel").as_string()) == "4");
  }
  std::istringstream in(test::read_text(dir / "o.csv"));
  std::string line;
  std::getline(in, line);
  for (std::size_t i = 0; std::getline(in, line); ++i) {
    const auto comma = line.rfind(',');
    const std::string field = line.substr(comma + 1);
    const auto& got = raw.at("values").at(i);
    if (field.empty()) {
      CHECK(got.is_null());
    } else {
      CHECK(std::stod(std::string(got.as_string())) == std::stod(field));
    }
  }
  // GDAL sees the stored type of each variable.
  GDALDatasetH ds = GDALOpen(("NETCDF:\"" + (dir / "o.nc").string() + "\":raw").c_str(), GA_ReadOnly);
  REQUIRE(ds != nullptr);
  CHECK(GDALGetRasterDataType(GDALGetRasterBand(ds, 1)) == GDT_Int16);
  GDALClose(ds);
}

TEST_CASE("CF.Units.InTheMetricsStageRows" * doctest::timeout(120)) {
  test::TempDir dir;
  make_inputs(dir);
  test::write_text(dir / "graph.json", R"({"nodes": [
    {"id": "s", "type": "raster_source", "path": "packed_f4.nc", "crs": "EPSG:4326"},
    {"id": "v", "type": "resample", "inputs": ["s"], "method": "nearest"},
    {"id": "m", "type": "merge", "inputs": ["v"]},
    {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})");
  std::string out;
  REQUIRE_MESSAGE(test::run_shell(std::string(RASTERFLOW_CLI) + " run " + (dir / "graph.json").string() +
                                      " --output-dir " + dir.path().string() + " --progress never 2>&1",
                                  &out) == 0,
                  out);
  REQUIRE(test::run_shell("sqlite3 " + (dir / "rasterflow_metrics.sqlite").string() +
                              " \"SELECT DISTINCT json_extract(metadata, '$.units') FROM pipeline_metrics WHERE "
                              "metric_type = 'stage' AND json_extract(metadata, '$.stage') = 'v'\"",
                          &out) == 0);
  CHECK(out == "K\n");
}

TEST_CASE("CF.Zarr.ReadBackByXarrayWithItsGridMapping" * doctest::timeout(180)) {
  test::TempDir dir;
  const json::value expected = make_inputs(dir);
  const std::string sink =
      R"(, {"id": "r", "type": "raster_sink", "inputs": ["m"], "path": "o.zarr", "format": "Zarr"})";
  const Csv csv = run_graph(
      dir, R"("path": "cal_360_day.nc", "crs": "EPSG:4326", "band": "all", "band_names": "coordinates")", sink);
  const json::value back = read_back_with_xarray(dir / "o.zarr", "zarr");
  const auto& v = back.at("variables").at("v");
  CHECK(json::serialize(v.at("dims")) == R"(["time","lat","lon"])");
  CHECK(std::string(v.at("dtype").as_string()) == "float32");
  CHECK(std::string(v.at("attrs").at("units").as_string()) == "K");
  CHECK(std::string(v.at("attrs").at("grid_mapping").as_string()) == "spatial_ref");
  CHECK(back.at("coords").at("time") == expected.at("calendars").at("360_day"));
  const auto& values = v.at("values").as_array();
  REQUIRE(values.size() == 6 * 20);
  for (std::size_t k = 0; k < 6; ++k) {
    for (std::size_t i = 0; i < 20; ++i)
      CHECK(std::stod(std::string(values[k * 20 + i].as_string())) == std::stod(csv.rows[i][2 + k]));
  }
}
