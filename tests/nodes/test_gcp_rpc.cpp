// Sources georeferenced by ground control points or RPCs only (issue #29): read on the warper
// path through GDAL's GCP polynomial, thin plate spline and RPC transformers with gdalwarp's
// options, on gdalwarp's default grid, giving gdalwarp's values (-ovr NONE -et 0).
#include <doctest/doctest.h>

#include <gdal_utils.h>

#include <cmath>
#include <sstream>

#include <gdal.h>
#include <ogr_srs_api.h>

#include "rasterflow/errors.hpp"
#include "rasterflow/graph.hpp"
#include "support/test_support.hpp"

using namespace rasterflow;

namespace {

constexpr int kW = 40, kH = 30;
constexpr double kNodata = -999.0;

// A GTiff of smooth Float32 values with no geotransform, a few nodata pixels, and what `place`
// sets on it (GCPs or RPC metadata).
template <typename Place>
void write_placed(const std::filesystem::path& path, Place&& place) {
  GDALAllRegister();
  GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), path.c_str(), kW, kH, 1, GDT_Float32, nullptr);
  std::vector<float> v(static_cast<std::size_t>(kW * kH));
  for (int r = 0; r < kH; ++r) {
    for (int c = 0; c < kW; ++c) {
      const bool hole = r == 12 && c >= 18 && c < 22;
      v[static_cast<std::size_t>(r * kW + c)] =
          hole ? static_cast<float>(kNodata) : static_cast<float>(50 + 20 * std::sin(0.4 * c) + 3.0 * r);
    }
  }
  GDALRasterBandH b = GDALGetRasterBand(ds, 1);
  REQUIRE(GDALRasterIO(b, GF_Write, 0, 0, kW, kH, v.data(), kW, kH, GDT_Float32, 0, 0) == CE_None);
  GDALSetRasterNoDataValue(b, kNodata);
  place(ds);
  GDALClose(ds);
}

void write_gcps(const std::filesystem::path& path, int count) {
  // Pixel (col, row) -> a gently curved, rotated placement in longitude/latitude.
  const std::pair<double, double> at[] = {{0, 0}, {40, 0}, {0, 30}, {40, 30}, {20, 15}, {10, 5}, {30, 25}, {5, 22}};
  write_placed(path, [&](GDALDatasetH ds) {
    std::vector<GDAL_GCP> gcps(static_cast<std::size_t>(count));
    std::vector<std::string> ids;
    for (int i = 0; i < count; ++i) ids.push_back(std::to_string(i + 1));
    for (int i = 0; i < count; ++i) {
      const auto [c, r] = at[i];
      GDAL_GCP& g = gcps[static_cast<std::size_t>(i)];
      g.pszId = ids[static_cast<std::size_t>(i)].data();
      g.pszInfo = const_cast<char*>("");
      g.dfGCPPixel = c;
      g.dfGCPLine = r;
      g.dfGCPX = 10 + 0.105 * c + 0.004 * r + 0.0004 * c * r;
      g.dfGCPY = 50 + 0.008 * c - 0.1 * r - 0.0002 * c * c;
      g.dfGCPZ = 0;
    }
    REQUIRE(GDALSetGCPs(ds, count, gcps.data(), SRS_WKT_WGS84_LAT_LONG) == CE_None);
  });
}

// RPCs of a scene around (12 E, 48.5 N): sample ~ longitude, line ~ -latitude, with a little
// rotation, curvature and height parallax.
void write_rpc(const std::filesystem::path& path) {
  write_placed(path, [](GDALDatasetH ds) {
    const auto coeffs = [](std::vector<std::pair<int, double>> terms) {
      std::vector<double> c(20, 0.0);
      for (const auto& [i, v] : terms) c[static_cast<std::size_t>(i)] = v;
      std::string s;
      for (double x : c) s += (s.empty() ? "" : " ") + std::to_string(x);
      return s;
    };
    // Terms: 0 1, 1 L, 2 P, 3 H, 4 LP, 7 L^2, 8 P^2.
    const std::string line_num = coeffs({{0, 0.01}, {1, 0.05}, {2, -1.0}, {3, 0.02}, {7, 0.03}});
    const std::string samp_num = coeffs({{1, 1.0}, {2, 0.08}, {3, -0.01}, {8, -0.02}});
    const std::string den = coeffs({{0, 1.0}});
    const std::vector<std::string> items = {"LINE_OFF=15",
                                            "SAMP_OFF=20",
                                            "LAT_OFF=48.5",
                                            "LONG_OFF=12",
                                            "HEIGHT_OFF=0",
                                            "LINE_SCALE=15",
                                            "SAMP_SCALE=20",
                                            "LAT_SCALE=1.5",
                                            "LONG_SCALE=2",
                                            "HEIGHT_SCALE=500",
                                            "LINE_NUM_COEFF=" + line_num,
                                            "LINE_DEN_COEFF=" + den,
                                            "SAMP_NUM_COEFF=" + samp_num,
                                            "SAMP_DEN_COEFF=" + den};
    std::vector<char*> list;
    for (const auto& i : items) list.push_back(const_cast<char*>(i.c_str()));
    list.push_back(nullptr);
    REQUIRE(GDALSetMetadata(ds, list.data(), "RPC") == CE_None);
  });
}

std::vector<double> csv_values(const std::string& csv, const Grid& g) {
  std::vector<double> out(static_cast<std::size_t>(g.cells()), std::nan(""));
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string xs, ys, vs;
    std::getline(f, xs, ',');
    std::getline(f, ys, ',');
    std::getline(f, vs, ',');
    const auto col = static_cast<std::int64_t>(std::floor((std::stod(xs) - g.x0) / g.res_x));
    const auto row = static_cast<std::int64_t>(std::floor((g.y0 - std::stod(ys)) / g.res_y));
    if (!vs.empty()) out[static_cast<std::size_t>(row * g.width + col)] = std::stod(vs);
  }
  return out;
}

struct DefaultRun {
  Grid grid;
  std::vector<double> values;
  std::vector<std::string> plan;
};

// The source's default grid (as gdalwarp without -te/-tr) and the values of `method` on it.
DefaultRun run_default(const test::TempDir& dir, const std::string& source_options, const std::string& method,
                       std::int64_t tile_rows) {
  test::write_text(dir / "graph.json", R"({"nodes": [
      {"id": "s", "type": "raster_source", "path": "src.tif")" +
                                           source_options + R"(},
      {"id": "v", "type": "resample", "inputs": ["s"], "method": ")" +
                                           method + R"("},
      {"id": "m", "type": "merge", "inputs": ["v"], "drop": "none"},
      {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})");
  Config config;
  PlanOptions options;
  options.output_dir = dir.path();
  options.tile_rows = tile_rows;
  Pipeline pipeline(load_graph(dir / "graph.json", config), config, options);
  DefaultRun run{pipeline.plan().grid, {}, pipeline.plan().text()};
  pipeline.run();
  run.values = csv_values(test::read_text(dir / "o.csv"), run.grid);
  return run;
}

// gdalwarp's own default output grid for the source (-et 0 -ovr NONE and `extra`).
Grid gdalwarp_default_grid(const std::filesystem::path& source, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"-of", "MEM", "-et", "0", "-ovr", "NONE"};
  args.insert(args.end(), extra.begin(), extra.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  GDALWarpAppOptions* o = GDALWarpAppOptionsNew(argv.data(), nullptr);
  GDALDatasetH src = GDALOpen(source.c_str(), GA_ReadOnly);
  GDALDatasetH out = GDALWarp("", nullptr, 1, &src, o, nullptr);
  GDALWarpAppOptionsFree(o);
  REQUIRE(out != nullptr);
  GeoTransform gt{};
  GDALGetGeoTransform(out, gt.data());
  Grid g;
  g.x0 = gt[0];
  g.y0 = gt[3];
  g.res_x = gt[1];
  g.res_y = -gt[5];
  g.width = GDALGetRasterXSize(out);
  g.height = GDALGetRasterYSize(out);
  GDALClose(out);
  GDALClose(src);
  return g;
}

void check_same_grid(const Grid& ours, const Grid& theirs) {
  CHECK(ours.width == theirs.width);
  CHECK(ours.height == theirs.height);
  CHECK(ours.x0 == doctest::Approx(theirs.x0).epsilon(1e-12));
  CHECK(ours.y0 == doctest::Approx(theirs.y0).epsilon(1e-12));
  CHECK(ours.res_x == doctest::Approx(theirs.res_x).epsilon(1e-12));
  CHECK(ours.res_y == doctest::Approx(theirs.res_y).epsilon(1e-12));
}

// Every cell equal to gdalwarp's on the same grid (as Float32, the source's type), at least a
// quarter of them valid.
void check_values(const test::TempDir& dir, const DefaultRun& run, const std::string& method,
                  const std::vector<std::string>& extra) {
  const auto ref = test::gdalwarp_reference(dir / "src.tif", run.grid, method, "Float32", 1, extra);
  REQUIRE(ref.size() == run.values.size());
  std::size_t valid = 0, mismatches = 0;
  std::string first;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const double a = run.values[i], b = ref[i];
    const bool same = std::isnan(a) ? std::isnan(b) : !std::isnan(b) && static_cast<float>(a) == static_cast<float>(b);
    if (!std::isnan(b)) ++valid;
    if (!same && mismatches++ == 0)
      first = "cell " + std::to_string(i) + ": " + std::to_string(a) + " against " + std::to_string(b);
  }
  CHECK(valid > ref.size() / 4);
  CHECK_MESSAGE(mismatches == 0, first);
}

bool plan_has(const DefaultRun& run, const std::string& text) {
  for (const auto& line : run.plan) {
    if (line.find(text) != std::string::npos) return true;
  }
  return false;
}

void check_against_gdalwarp(const test::TempDir& dir, const std::string& source_options,
                            const std::vector<std::string>& gdalwarp_options, const std::string& plan_text) {
  for (const std::string method : {"nearest", "bilinear", "cubic", "average", "mode", "max"}) {
    for (const std::int64_t tile_rows : {1000, 7}) {
      CAPTURE(method);
      CAPTURE(tile_rows);
      const DefaultRun run = run_default(dir, source_options, method, tile_rows);
      check_same_grid(run.grid, gdalwarp_default_grid(dir / "src.tif", gdalwarp_options));
      check_values(dir, run, method, gdalwarp_options);
      CHECK_MESSAGE(plan_has(run, plan_text), plan_text);
    }
  }
}

}  // namespace

TEST_CASE("GcpRpc.GcpPolynomialDefaultsEqualGdalwarp" * doctest::timeout(180)) {
  test::TempDir dir;
  write_gcps(dir / "src.tif", 7);  // 7 GCPs: GDAL fits order 2
  check_against_gdalwarp(dir, "", {}, "georeferenced by GCPs: polynomial of order 2 fitted to 7 GCPs");
}

TEST_CASE("GcpRpc.GcpOrderOneEqualsGdalwarpOrderOne" * doctest::timeout(180)) {
  test::TempDir dir;
  write_gcps(dir / "src.tif", 7);
  check_against_gdalwarp(dir, R"(, "gcp_order": 1)", {"-order", "1"}, "polynomial of order 1 fitted to 7 GCPs");
}

TEST_CASE("GcpRpc.ThinPlateSplineEqualsGdalwarpTps" * doctest::timeout(180)) {
  test::TempDir dir;
  write_gcps(dir / "src.tif", 8);
  check_against_gdalwarp(dir, R"(, "transformer": "gcp_tps")", {"-tps"}, "thin plate spline through 8 GCPs");
}

TEST_CASE("GcpRpc.RpcEqualsGdalwarpRpc" * doctest::timeout(180)) {
  test::TempDir dir;
  write_rpc(dir / "src.tif");
  check_against_gdalwarp(dir, "", {"-rpc"}, "georeferenced by RPCs at height 0");
}

TEST_CASE("GcpRpc.RpcHeightEqualsGdalwarpRpcHeight" * doctest::timeout(180)) {
  test::TempDir dir;
  write_rpc(dir / "src.tif");
  check_against_gdalwarp(dir, R"(, "rpc_height": 750)", {"-rpc", "-to", "RPC_HEIGHT=750"},
                         "georeferenced by RPCs at height 750");
}

TEST_CASE("GcpRpc.RpcDemEqualsGdalwarpRpcDem" * doctest::timeout(180)) {
  test::TempDir dir;
  write_rpc(dir / "src.tif");
  // Heights rising to the east, around the scene.
  constexpr int kDemW = 60, kDemH = 50;
  std::vector<double> heights(static_cast<std::size_t>(kDemW * kDemH));
  for (std::size_t i = 0; i < heights.size(); ++i) heights[i] = 200.0 + 25.0 * static_cast<double>(i % kDemW);
  test::write_raster(dir / "dem.tif",
                     {.width = kDemW, .height = kDemH, .gt = {9.0, 0.1, 0, 51.0, 0, -0.1}, .type = "Float32"},
                     {heights});
  check_against_gdalwarp(dir, R"(, "rpc_dem": "dem.tif")", {"-rpc", "-to", "RPC_DEM=" + (dir / "dem.tif").string()},
                         "above the DEM");
}

TEST_CASE("GcpRpc.FastPathRefusedNamingTheGcps") {
  test::TempDir dir;
  write_gcps(dir / "src.tif", 4);
  const std::string graph = R"({"grid": {"resolution": 0.2}, "nodes": [
      {"id": "s", "type": "raster_source", "path": "src.tif"},
      {"id": "v", "type": "resample", "inputs": ["s"], "method": "average", "implementation": "fast"},
      {"id": "m", "type": "merge", "inputs": ["v"]},
      {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})";
  CHECK_THROWS_WITH_AS(test::run_graph_json(dir.path(), graph),
                       doctest::Contains("the fast path does not apply: the source is georeferenced by GCPs: "
                                         "polynomial of order 1 fitted to 4 GCPs"),
                       GraphError);
}

TEST_CASE("GcpRpc.TransformerTheFileCannotGiveIsRefusedNamingFileAndOption") {
  test::TempDir dir;
  write_gcps(dir / "src.tif", 7);
  const auto graph = [](const std::string& options) {
    return R"({"nodes": [
      {"id": "s", "type": "raster_source", "path": "src.tif")" +
           options + R"(},
      {"id": "v", "type": "resample", "inputs": ["s"]},
      {"id": "m", "type": "merge", "inputs": ["v"]},
      {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})";
  };
  CHECK_THROWS_WITH_AS(test::run_graph_json(dir.path(), graph(R"(, "transformer": "rpc")")),
                       doctest::Contains(("node \"s\" (raster_source): option \"transformer\": rpc needs RPC "
                                          "metadata, and " +
                                          (dir / "src.tif").string() + " has 7 GCPs")
                                             .c_str()),
                       GraphError);
  CHECK_THROWS_WITH_AS(test::run_graph_json(dir.path(), graph(R"(, "transformer": "geotransform")")),
                       doctest::Contains("option \"transformer\": geotransform needs a geotransform"), GraphError);
  CHECK_THROWS_WITH_AS(test::run_graph_json(dir.path(), graph(R"(, "transformer": "gcp_tps", "gcp_order": 2)")),
                       doctest::Contains("option \"gcp_order\": applies to the gcp_polynomial transformer only"),
                       GraphError);
  CHECK_THROWS_WITH_AS(test::run_graph_json(dir.path(), graph(R"(, "gcp_order": 4)")),
                       doctest::Contains("option \"gcp_order\""), GraphError);
}

TEST_CASE("GcpRpc.UngeoreferencedFileIsRefusedNamingWhatIsMissing") {
  test::TempDir dir;
  write_placed(dir / "src.tif", [](GDALDatasetH) {});
  CHECK_THROWS_WITH_AS(test::run_graph_json(dir.path(), R"({"nodes": [
      {"id": "s", "type": "raster_source", "path": "src.tif"},
      {"id": "v", "type": "resample", "inputs": ["s"]},
      {"id": "m", "type": "merge", "inputs": ["v"]},
      {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})"),
                       doctest::Contains("has no geotransform, GCPs or RPCs (it is not georeferenced)"), GraphError);
}
