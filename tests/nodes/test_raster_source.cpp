// raster_source on real climate and remote-sensing data (#20): NetCDF variables and time bands,
// a 6-band pixel-interleaved GeoTIFF with overviews, packed values, zipped and gzipped files, a
// source without a CRS, overviews: auto. Inputs are written by GDAL's own drivers
// (tests/data/make_climate_inputs.py, through Debian's /usr/bin/python3 and osgeo.gdal); every
// column is compared cell by cell with gdalwarp on the same grid.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <sstream>

#include <gdal.h>
#include <gdal_utils.h>

#include "nodes/read/dataset_name.hpp"
#include "nodes/read/raster_reader.hpp"
#include "rasterflow/graph.hpp"
#include "rasterflow/pipeline.hpp"
#include "support/test_support.hpp"

using namespace rasterflow;

namespace {

// The inputs, written once per test into `dir`.
void make_inputs(const test::TempDir& dir) {
  std::string out;
  const int rc = test::run_shell(
      "/usr/bin/python3 " RASTERFLOW_SOURCE_DIR "/tests/data/make_climate_inputs.py " + dir.path().string(), &out);
  REQUIRE_MESSAGE(rc == 0, out);
}

struct Result {
  Grid grid;
  std::vector<std::string> names;                     // the CSV's columns after x and y
  std::map<std::string, std::vector<double>> values;  // column -> grid-sized values (NaN: nodata)
  std::vector<std::string> plan;
};

// Runs `graph_json` (written to dir/graph.json, with merge drop none) and reads its CSV back.
Result run(const test::TempDir& dir, const std::string& graph_json, std::int64_t tile_rows = 3) {
  test::write_text(dir / "graph.json", graph_json);
  Config config;
  const GraphSpec spec = load_graph(dir / "graph.json", config);
  PlanOptions options;
  options.output_dir = dir.path();
  options.tile_rows = tile_rows;
  Pipeline pipeline(spec, config, options);
  Result r;
  r.grid = pipeline.plan().grid;
  r.plan = pipeline.plan().text();
  pipeline.run();
  std::istringstream in(test::read_text(dir / "o.csv"));
  std::string line;
  std::getline(in, line);
  {
    std::istringstream header(line);
    std::string name;
    std::getline(header, name, ',');
    std::getline(header, name, ',');
    while (std::getline(header, name, ',')) r.names.push_back(name);
  }
  for (const auto& n : r.names) r.values[n].assign(static_cast<std::size_t>(r.grid.cells()), std::nan(""));
  const Grid& g = r.grid;
  while (std::getline(in, line)) {
    std::vector<std::string> fields;
    std::istringstream f(line);
    std::string field;
    while (std::getline(f, field, ',')) fields.push_back(field);
    fields.resize(2 + r.names.size());
    const auto col = static_cast<std::int64_t>(std::floor((std::stod(fields[0]) - g.x0) / g.res_x));
    const auto row = static_cast<std::int64_t>(std::floor((g.y0 - std::stod(fields[1])) / g.res_y));
    for (std::size_t k = 0; k < r.names.size(); ++k) {
      if (!fields[2 + k].empty())
        r.values[r.names[k]][static_cast<std::size_t>(row * g.width + col)] = std::stod(fields[2 + k]);
    }
  }
  return r;
}

// Cells that differ (relative tolerance; 0: as the Float32 values they are), and valid cells.
struct Diff {
  std::size_t valid = 0;
  std::size_t mismatches = 0;
  std::string first;
};
Diff compare(const std::vector<double>& ours, const std::vector<double>& ref, double tolerance) {
  Diff d;
  REQUIRE(ours.size() == ref.size());
  for (std::size_t i = 0; i < ours.size(); ++i) {
    const bool a = std::isnan(ours[i]);
    const bool b = std::isnan(ref[i]);
    bool same = a == b;
    if (same && !a) {
      ++d.valid;
      same = tolerance == 0 ? static_cast<float>(ours[i]) == static_cast<float>(ref[i])
                            : std::fabs(ours[i] - ref[i]) <= tolerance * std::max(1.0, std::fabs(ref[i]));
    }
    if (!same && d.mismatches++ == 0) {
      std::ostringstream s;
      s.precision(17);
      s << "cell " << i << ": rasterflow " << ours[i] << ", gdalwarp " << ref[i];
      d.first = s.str();
    }
  }
  return d;
}

#define CHECK_AGREES(ours, ref, tolerance)               \
  do {                                                   \
    const Diff d_ = compare((ours), (ref), (tolerance)); \
    CHECK(d_.valid > 0);                                 \
    CHECK_MESSAGE(d_.mismatches == 0, d_.first);         \
  } while (0)

// A Float32 source's average is written as the float nearest the double result (docs/nodes.md),
// in the shortest text that reads back as that float: within one Float32 step (2^-23 relative)
// of gdalwarp's double result.
constexpr double kFloat32Average = 1.2e-7;

bool plan_has(const std::vector<std::string>& plan, const std::string& text) {
  return std::any_of(plan.begin(), plan.end(), [&](const std::string& l) { return l.find(text) != std::string::npos; });
}

std::string quoted_subdataset(const test::TempDir& dir, const std::string& file, const std::string& var) {
  return "NETCDF:\"" + (dir / file).string() + "\":" + var;
}

}  // namespace

TEST_CASE("RasterSource.DatasetNames.FilePartResolvedAgainstTheGraphFolder") {
  using nodes::resolve_dataset_name;
  const std::filesystem::path base = "/data/graphs";
  auto n = resolve_dataset_name("NETCDF:\"climate.nc\":pr", base);
  CHECK(n.name == "NETCDF:\"/data/graphs/climate.nc\":pr");
  CHECK(n.file == "/data/graphs/climate.nc");
  CHECK_FALSE(n.remote);
  n = resolve_dataset_name("NETCDF:../climate.nc:pr", base);
  CHECK(n.name == "NETCDF:/data/climate.nc:pr");
  n = resolve_dataset_name("HDF5:\"f.h5\"://grp/var", base);
  CHECK(n.name == "HDF5:\"/data/graphs/f.h5\"://grp/var");
  n = resolve_dataset_name("/vsizip/scene.zip/inner/b.tif", base);
  CHECK(n.name == "/vsizip//data/graphs/scene.zip/inner/b.tif");
  CHECK(n.file == "/data/graphs/scene.zip");
  n = resolve_dataset_name("/vsizip/{odd.zip}/b.tif", base);
  CHECK(n.name == "/vsizip/{/data/graphs/odd.zip}/b.tif");
  n = resolve_dataset_name("/vsizip//abs/scene.zip/b.tif", base);
  CHECK(n.name == "/vsizip//abs/scene.zip/b.tif");
  n = resolve_dataset_name("/vsigzip/b.tif.gz", base);
  CHECK(n.name == "/vsigzip//data/graphs/b.tif.gz");
  n = resolve_dataset_name("GTIFF_DIR:2:b.tif", base);
  CHECK(n.name == "GTIFF_DIR:2:/data/graphs/b.tif");
  CHECK(resolve_dataset_name("/vsicurl/https://example.com/b.tif", base).remote);
  CHECK(resolve_dataset_name("NETCDF:\"/vsicurl/https://example.com/c.nc\":pr", base).remote);
  CHECK(resolve_dataset_name("/vsizip//vsicurl/https://example.com/a.zip/b.tif", base).remote);
  n = resolve_dataset_name("b.tif", base);
  CHECK(n.name == "/data/graphs/b.tif");
  CHECK(nodes::is_plain_file("b.tif"));
  CHECK_FALSE(nodes::is_plain_file("/vsigzip/b.tif.gz"));
  CHECK_FALSE(nodes::is_plain_file("GTIFF_DIR:2:b.tif"));
}

TEST_CASE("RasterSource.NetCdf.VariablesAndTimeBandsAgreeWithGdalwarp" * doctest::timeout(120)) {
  test::TempDir dir;
  make_inputs(dir);
  // pr chosen by `variable`, every time step a column named by its time; tas by subdataset name,
  // its second time step. No CRS in the file (no grid mapping): `crs` gives it, as -s_srs.
  // 0.25: the fast path (2 x 2 pixels); 0.3: GDAL's warper, all bands in one warp.
  for (const char* res : {"0.25", "0.3"}) {
    const std::string res_text = res;
    CAPTURE(res_text);
    const Result r = run(dir, R"({"grid": {"crs": "EPSG:4326", "resolution": )" + res_text + R"(}, "nodes": [
      {"id": "pr_src", "type": "raster_source", "path": "climate.nc", "variable": "pr", "band": "all",
       "band_names": "metadata:NETCDF_DIM_time", "crs": "EPSG:4326"},
      {"id": "tas_src", "type": "raster_source", "path": "NETCDF:\"climate.nc\":tas", "band": 2, "crs": "EPSG:4326"},
      {"id": "pr", "type": "resample", "inputs": ["pr_src"], "method": "average"},
      {"id": "tas", "type": "resample", "inputs": ["tas_src"], "method": "average"},
      {"id": "m", "type": "merge", "inputs": ["pr", "tas"], "drop": "none"},
      {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})");
    CHECK(r.names == std::vector<std::string>{"pr_15", "pr_45", "pr_74", "tas"});
    const std::vector<std::string> s_srs{"-s_srs", "EPSG:4326", "-ovr", "NONE"};
    int band = 1;
    for (const char* column : {"pr_15", "pr_45", "pr_74"}) {
      CAPTURE(column);
      const auto ref = test::gdalwarp_reference(quoted_subdataset(dir, "climate.nc", "pr"), r.grid, "average",
                                                "Float64", band++, s_srs);
      CHECK_AGREES(r.values.at(column), ref, kFloat32Average);
    }
    const auto ref =
        test::gdalwarp_reference(quoted_subdataset(dir, "climate.nc", "tas"), r.grid, "average", "Float64", 2, s_srs);
    CHECK_AGREES(r.values.at("tas"), ref, kFloat32Average);
  }
  // A file of one variable opens as it; `variable` naming it is accepted.
  const Result one = run(dir, R"({"grid": {"crs": "EPSG:4326", "resolution": 0.25}, "nodes": [
    {"id": "s", "type": "raster_source", "path": "one.nc", "variable": "pr", "band": 3, "crs": "EPSG:4326"},
    {"id": "v", "type": "resample", "inputs": ["s"], "method": "max"},
    {"id": "m", "type": "merge", "inputs": ["v"], "drop": "none"},
    {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})");
  const auto ref = test::gdalwarp_reference(quoted_subdataset(dir, "climate.nc", "pr"), one.grid, "max", "Float32", 3,
                                            {"-s_srs", "EPSG:4326", "-ovr", "NONE"});
  CHECK_AGREES(one.values.at("v"), ref, 0.0);
}

TEST_CASE("RasterSource.MultiBand.SixBandPixelInterleavedAgreesAndDecodesEachBlockOnce" * doctest::timeout(120)) {
  test::TempDir dir;
  make_inputs(dir);
  {
    GDALAllRegister();
    GDALDatasetH ds = GDALOpen((dir / "landsat.tif").c_str(), GA_ReadOnly);
    REQUIRE(ds != nullptr);
    CHECK(std::string(GDALGetMetadataItem(ds, "INTERLEAVE", "IMAGE_STRUCTURE")) == "PIXEL");
    CHECK(GDALGetOverviewCount(GDALGetRasterBand(ds, 1)) == 2);
    GDALClose(ds);
  }
  // 0.0625: 2 x 2 source pixels a cell (fast path); bilinear: the warper, six bands in one warp.
  for (const char* method : {"average", "max", "bilinear"}) {
    const std::string method_text = method;
    CAPTURE(method_text);
    const Result r = run(dir, R"({"grid": {"resolution": 0.0625}, "nodes": [
      {"id": "s", "type": "raster_source", "path": "landsat.tif", "band": "all"},
      {"id": "l", "type": "resample", "inputs": ["s"], "method": ")" +
                                  method_text + R"("},
      {"id": "m", "type": "merge", "inputs": ["l"], "drop": "none"},
      {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})");
    CHECK(r.names == std::vector<std::string>{"l_1", "l_2", "l_3", "l_4", "l_5", "l_6"});
    CHECK(
        plan_has(r.plan, "one column per band, each resampled with " + method_text + ": l_1, l_2, l_3, l_4, l_5, l_6"));
    // bilinear's kernel scale: see Resample::xscale_ (docs/how-it-runs.md).
    const std::vector<std::string> extra =
        method_text == "bilinear" ? std::vector<std::string>{"-ovr", "NONE", "-wo", "XSCALE=0.5", "-wo", "YSCALE=0.5"}
                                  : std::vector<std::string>{"-ovr", "NONE"};
    for (int b = 1; b <= 6; ++b) {
      CAPTURE(b);
      const bool blending = method_text != "max";
      const auto ref =
          test::gdalwarp_reference(dir / "landsat.tif", r.grid, method, blending ? "Float64" : "Float32", b, extra);
      CHECK_AGREES(r.values.at("l_" + std::to_string(b)), ref, blending ? kFloat32Average : 0.0);
    }
  }
  // Through GDAL's cache (the memory planner's last step) the same values.
  const auto all_bands = [&](const std::string& decoding) {
    return run(dir, R"({"grid": {"resolution": 0.0625}, "nodes": [
      {"id": "s", "type": "raster_source", "path": "landsat.tif", "band": "all", "decoding": ")" +
                        decoding + R"("},
      {"id": "l", "type": "resample", "inputs": ["s"], "method": "average"},
      {"id": "m", "type": "merge", "inputs": ["l"], "drop": "none"},
      {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})");
  };
  const Result rows = all_bands("block_rows");
  const Result cache = all_bands("gdal_cache");
  for (int b = 1; b <= 6; ++b) {
    const std::string column = "l_" + std::to_string(b);
    CAPTURE(column);
    const Diff d = compare(cache.values.at(column), rows.values.at(column), 0.0);
    CHECK(d.valid > 0);
    CHECK(d.mismatches == 0);
  }
  // Read once for all bands: strips of 5 rows across 32 x 32 pixel-interleaved blocks decode
  // each of the 3 x 2 blocks once, for the six bands together.
  nodes::SourceRequest request;
  request.path = (dir / "landsat.tif").string();
  request.bands = {"all"};
  nodes::RasterReader reader(request, "test");
  reader.prepare(2, 0);
  REQUIRE(reader.band_count() == 6);
  std::vector<double> values(6 * 96 * 5);
  for (std::int64_t row = 0; row < 64; row += 5) {
    const auto held = reader.hold(row, std::min<std::int64_t>(64, row + 5));
    PixelWindow w;
    w.row0 = row;
    w.rows = std::min<std::int64_t>(5, 64 - row);
    w.col0 = 0;
    w.cols = 96;
    reader.read_bands(w, values.data());
  }
  CHECK(reader.multi_band_blocks_decoded() == 6);
}

TEST_CASE("RasterSource.Packed.UnpackedLikeXarrayAndNodataTestedOnTheStoredValue" * doctest::timeout(120)) {
  test::TempDir dir;
  make_inputs(dir);
  for (const char* method : {"average", "nearest"}) {
    for (const char* res : {"0.25", "0.3"}) {
      const std::string method_text = method, res_text = res;
      CAPTURE(method_text);
      CAPTURE(res_text);
      const Result r = run(dir, R"({"grid": {"crs": "EPSG:4326", "resolution": )" + res_text + R"(}, "nodes": [
        {"id": "s", "type": "raster_source", "path": "packed.nc", "band": 2, "crs": "EPSG:4326"},
        {"id": "t", "type": "resample", "inputs": ["s"], "method": ")" +
                                    method_text + R"("},
        {"id": "m", "type": "merge", "inputs": ["t"], "drop": "none"},
        {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})");
      CHECK(plan_has(r.plan, "band 2: scale 0.01, offset 273.15, unpacked to Float64"));
      // gdalwarp on the stored Int16 values (nodata -32767 left out), unpacked afterwards: both
      // methods commute with value * scale + offset.
      auto ref = test::gdalwarp_reference(quoted_subdataset(dir, "packed.nc", "t"), r.grid, method, "Float64", 2,
                                          {"-s_srs", "EPSG:4326", "-ovr", "NONE"});
      std::size_t nodata = 0;
      for (auto& v : ref) {
        if (std::isnan(v)) ++nodata;
        v = v * 0.01 + 273.15;
      }
      CHECK(nodata > 0);  // the fill value's corner
      CHECK_AGREES(r.values.at("t"), ref, 1e-12);
      // Unpacked values are floating: nearest of an Int16 source writes fractions.
      bool fraction = false;
      for (const double v : r.values.at("t")) fraction = fraction || (!std::isnan(v) && v != std::floor(v));
      CHECK(fraction);
    }
  }
  // unpack: false keeps the stored numbers (Int16 for nearest, printed as integers).
  const Result r = run(dir, R"({"grid": {"crs": "EPSG:4326", "resolution": 0.25}, "nodes": [
    {"id": "s", "type": "raster_source", "path": "packed.nc", "crs": "EPSG:4326", "unpack": false},
    {"id": "t", "type": "resample", "inputs": ["s"], "method": "nearest"},
    {"id": "m", "type": "merge", "inputs": ["t"], "drop": "none"},
    {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})");
  const auto ref = test::gdalwarp_reference(quoted_subdataset(dir, "packed.nc", "t"), r.grid, "nearest", "Int16", 1,
                                            {"-s_srs", "EPSG:4326", "-ovr", "NONE"});
  CHECK_AGREES(r.values.at("t"), ref, 1e-15);
  CHECK(plan_has(r.plan, "not unpacked (unpack: false)"));
}

TEST_CASE("RasterSource.Archives.ZippedGzippedVrtGribAndHdf5AgreeWithGdalwarp" * doctest::timeout(120)) {
  test::TempDir dir;
  make_inputs(dir);
  // path in the graph, what gdalwarp reads, the source's type
  struct Case {
    std::string path, reference, type;
  };
  std::vector<Case> cases = {{"/vsizip/scene.zip/inner/plain.tif", "plain.tif", "Float32"},
                             {"/vsigzip/plain.tif.gz", "plain.tif", "Float32"},
                             {"mosaic.vrt", "plain.tif", "Float32"},
                             {"forecast.grb2", "forecast.grb2", "Float64"}};
  if (std::filesystem::exists(dir / "ndvi.vrt")) cases.push_back({"ndvi.vrt", "ndvi.vrt", "Float32"});
  for (const auto& c : cases) {
    CAPTURE(c.path);
    const Result r = run(dir, R"({"grid": {"resolution": 0.0625}, "nodes": [
      {"id": "s", "type": "raster_source", "path": ")" +
                                  c.path + R"("},
      {"id": "v", "type": "resample", "inputs": ["s"], "method": "average"},
      {"id": "m", "type": "merge", "inputs": ["v"], "drop": "none"},
      {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})");
    if (c.path.rfind("/vsi", 0) == 0) CHECK(plan_has(r.plan, "not in streams: not a plain local file"));
    const auto ref = test::gdalwarp_reference(dir / c.reference, r.grid, "average", "Float64", 1, {"-ovr", "NONE"});
    CHECK_AGREES(r.values.at("v"), ref, c.type == "Float32" ? kFloat32Average : 1e-12);
  }
}

TEST_CASE("RasterSource.Hdf5.VariablesByGroupPath" * doctest::timeout(120)) {
  test::TempDir dir;
  make_inputs(dir);
  if (!std::filesystem::exists(dir / "swath.h5")) {
    MESSAGE("python3-h5py is not installed (scripts/bootstrap.sh installs it): HDF5 not tested");
    return;
  }
  const auto graph = [&](const std::string& variable) {
    return R"({"grid": {"resolution": 0.25, "extent": [0, 0, 10, 10]}, "nodes": [
      {"id": "src", "type": "raster_source", "path": "swath.h5", "variable": ")" +
           variable + R"("},
      {"id": "r", "type": "resample", "inputs": ["src"]},
      {"id": "m", "type": "merge", "inputs": ["r"]},
      {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "out.csv"}]})";
  };
  std::string out;
  test::write_text(dir / "h.json", graph("grid/nd"));
  CHECK(test::run_cli("run " + (dir / "h.json").string() + " --output-dir " + dir.path().string(), &out) == 2);
  CHECK_MESSAGE(out.find("option \"variable\": no variable \"grid/nd\"") != std::string::npos, out);
  CHECK_MESSAGE(out.find("(it has: grid/lst, grid/ndvi)") != std::string::npos, out);
  // "ndvi" (the last part of //grid/ndvi) picks the subdataset; a plain HDF5 array has no
  // georeferencing GDAL reads, which is said (a VRT gives it one: the case above).
  test::write_text(dir / "h.json", graph("ndvi"));
  CHECK(test::run_cli("run " + (dir / "h.json").string() + " --output-dir " + dir.path().string(), &out) == 2);
  CHECK_MESSAGE(out.find("swath.h5\"://grid/ndvi has no geotransform") != std::string::npos, out);
  CHECK_FALSE(std::filesystem::exists(dir / "out.csv"));
}

TEST_CASE("RasterSource.Crs.GivenToASourceWithoutOne" * doctest::timeout(120)) {
  test::TempDir dir;
  make_inputs(dir);
  // Reprojected onto UTM 32N; the resolution is the one gdalwarp suggests for it.
  const Result r = run(dir, R"({"grid": {"crs": "EPSG:32632"}, "nodes": [
    {"id": "s", "type": "raster_source", "path": "nocrs.tif", "crs": "EPSG:4326"},
    {"id": "v", "type": "resample", "inputs": ["s"], "method": "average"},
    {"id": "m", "type": "merge", "inputs": ["v"], "drop": "none"},
    {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})");
  CHECK(plan_has(r.plan, "suggested by GDAL (GDALSuggestedWarpOutput2) for source \"s\""));
  CHECK(plan_has(r.plan, "CRS from option crs (as gdalwarp -s_srs): EPSG:4326"));
  {
    // gdalwarp -t_srs without -tr chooses the same resolution.
    GDALAllRegister();
    GDALDatasetH src = GDALOpen((dir / "nocrs.tif").c_str(), GA_ReadOnly);
    const char* args[] = {"-of", "MEM", "-s_srs", "EPSG:4326", "-t_srs", "EPSG:32632", nullptr};
    GDALWarpAppOptions* options = GDALWarpAppOptionsNew(const_cast<char**>(args), nullptr);
    GDALDatasetH out = GDALWarp("", nullptr, 1, &src, options, nullptr);
    GDALWarpAppOptionsFree(options);
    REQUIRE(out != nullptr);
    double gt[6];
    GDALGetGeoTransform(out, gt);
    CHECK(r.grid.res_x == doctest::Approx(gt[1]).epsilon(1e-12));
    GDALClose(out);
    GDALClose(src);
  }
  const auto ref = test::gdalwarp_reference(dir / "nocrs.tif", r.grid, "average", "Float64", 1,
                                            {"-s_srs", "EPSG:4326", "-ovr", "NONE"});
  CHECK_AGREES(r.values.at("v"), ref, kFloat32Average);
}

TEST_CASE("RasterSource.Overviews.AutoAgreesWithGdalwarpOvrAuto" * doctest::timeout(120)) {
  test::TempDir dir;
  make_inputs(dir);
  // cog.tif: 512 x 384 at 1/32 degree, overviews 2, 4, 8. Cells of 0.1 degree read 3.2 pixels
  // across: gdalwarp -ovr AUTO reads the first overview (2x).
  const std::string graph = R"({"grid": {"resolution": 0.1}, "nodes": [
    {"id": "s", "type": "raster_source", "path": "cog.tif", "overviews": "OVR"},
    {"id": "v", "type": "resample", "inputs": ["s"], "method": "average"},
    {"id": "m", "type": "merge", "inputs": ["v"], "drop": "none"},
    {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})";
  const auto with = [&](const std::string& ovr) {
    std::string g = graph;
    g.replace(g.find("OVR"), 3, ovr);
    return g;
  };
  const Result autos = run(dir, with("auto"));
  CHECK(plan_has(autos.plan, "overview level 0 (256 x 192), as gdalwarp -ovr AUTO"));
  const auto ref_auto =
      test::gdalwarp_reference(dir / "cog.tif", autos.grid, "average", "Float64", 1, {"-ovr", "AUTO"});
  CHECK_AGREES(autos.values.at("v"), ref_auto, kFloat32Average);
  const Result none = run(dir, with("none"));
  CHECK(plan_has(none.plan, "none: full resolution (overviews: none; the file has 3)"));
  const auto ref_none = test::gdalwarp_reference(dir / "cog.tif", none.grid, "average", "Float64", 1, {"-ovr", "NONE"});
  CHECK_AGREES(none.values.at("v"), ref_none, kFloat32Average);
  // The two differ (overviews average before the grid does).
  CHECK(compare(autos.values.at("v"), ref_none, kFloat32Average).mismatches > 0);
}

TEST_CASE("RasterSource.BadInput.RefusedBeforeRunning" * doctest::timeout(120)) {
  test::TempDir dir;
  make_inputs(dir);
  const auto graph = [&](const std::string& source, const std::string& more = "") {
    return R"({"grid": {"crs": "EPSG:4326", "resolution": 0.25}, "nodes": [
      {"id": "src", "type": "raster_source", )" +
           source + R"(},
      {"id": "r", "type": "resample", "inputs": ["src"]})" +
           more + R"(,
      {"id": "m", "type": "merge", "inputs": ["r")" +
           (more.empty() ? "" : R"(, "r_1")") + R"(]},
      {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "out.csv"}]})";
  };
  struct Case {
    std::string graph;
    std::vector<std::string> words;
  };
  const std::vector<Case> cases = {
      {graph(R"("path": "climate.nc", "variable": "precip", "crs": "EPSG:4326")"),
       {"node \"src\" (raster_source)", "option \"variable\"", "no variable \"precip\" in", "climate.nc",
        "(it has: pr, tas)"}},
      {graph(R"("path": "climate.nc", "crs": "EPSG:4326")"),
       {"node \"src\"", "option \"variable\"", "climate.nc holds several variables", "(it has: pr, tas)"}},
      {graph(R"("path": "one.nc", "variable": "tas", "crs": "EPSG:4326")"),
       {"node \"src\"", "option \"variable\"", "no variable \"tas\" in", "one.nc (it has: pr)"}},
      {graph(R"("path": "plain.tif", "variable": "pr")"),
       {"node \"src\"", "option \"variable\"", "plain.tif has no variables (subdatasets)"}},
      {graph(R"("path": "landsat.tif", "band": [1, 7])"),
       {"node \"src\"", "option \"band\"", "band 7 does not exist", "landsat.tif has 6 bands"}},
      {graph(R"("path": "landsat.tif", "band": [1, 2])",
             R"(, {"id": "p", "type": "raster_source", "path": "plain.tif"},
                  {"id": "r_1", "type": "resample", "inputs": ["p"]})"),
       {"node \"m\" (merge)", "option \"columns\"", "duplicate column name \"r_1\""}},
      {graph(R"("path": "NETCDF:\"climate.nc\":nosuch", "crs": "EPSG:4326")"),
       {"node \"src\"", "option \"path\"", "GDAL cannot open", "climate.nc", "nosuch"}},
      {graph(R"("path": "NETCDF:\"missing.nc\":pr")"),
       {"node \"src\"", "option \"path\"", "no such file", "missing.nc"}},
      {graph(R"("path": "nocrs.tif")"), {"node \"src\"", "option \"crs\"", "nocrs.tif has no CRS", "gdalwarp -s_srs"}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.graph);
    test::write_text(dir / "bad.json", c.graph);
    std::string out;
    CHECK(test::run_cli(
              "run " + (dir / "bad.json").string() + " --output-dir " + dir.path().string() + " --progress never",
              &out) == 2);
    CHECK_MESSAGE(out.find("bad.json: node") != std::string::npos, out);
    for (const auto& w : c.words) CHECK_MESSAGE(out.find(w) != std::string::npos, w << " in: " << out);
    CHECK_FALSE(std::filesystem::exists(dir / "out.csv"));
    CHECK_FALSE(std::filesystem::exists(dir / "out.csv.partial"));
  }
}

TEST_CASE("RasterSource.Plan.MultiVariableNetCdf" * doctest::timeout(120)) {
  test::TempDir dir;
  make_inputs(dir);
  test::write_text(dir / "plan.json", R"({"grid": {"crs": "EPSG:4326", "resolution": 0.25}, "nodes": [
    {"id": "pr_src", "type": "raster_source", "path": "climate.nc", "variable": "pr", "band": [1, 3],
     "band_names": "metadata:NETCDF_DIM_time", "crs": "EPSG:4326", "overviews": "auto"},
    {"id": "t_src", "type": "raster_source", "path": "packed.nc", "crs": "EPSG:4326"},
    {"id": "pr", "type": "resample", "inputs": ["pr_src"], "method": "average"},
    {"id": "t", "type": "resample", "inputs": ["t_src"], "method": "average"},
    {"id": "m", "type": "merge", "inputs": ["pr", "t"]},
    {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "out.csv"}]})");
  std::string out;
  REQUIRE(test::run_cli("plan " + (dir / "plan.json").string(), &out) == 0);
  for (const char* words :
       {"variables in the file: pr, tas", "NETCDF:\"", "climate.nc\":pr bands 1, 3: 30 x 20 Float32",
        "one column per band, each resampled with average: pr_15, pr_74", "columns: pr_15, pr_74, t",
        "band 1: scale 0.01, offset 273.15, unpacked to Float64",
        "overviews: full resolution (overviews: auto, but the file has none)", "overviews: none: full resolution"}) {
    CHECK_MESSAGE(out.find(words) != std::string::npos, words << " in: " << out);
  }
  CHECK_FALSE(std::filesystem::exists(dir / "out.csv"));
}
