#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <sstream>

#include <gdal.h>

#include "nodes/transforms/resample.hpp"
#include "nodes/transforms/resample_kernels.hpp"
#include "rasterflow/errors.hpp"
#include "rasterflow/graph.hpp"
#include "rasterflow/node/registry.hpp"
#include "support/test_support.hpp"

using namespace rasterflow;

namespace {

// A 37 x 23 source with a smooth field, nodata holes and a non-integer ratio to the grid.
std::vector<double> field(std::int64_t w, std::int64_t h, double nodata, bool integers) {
  std::vector<double> v(static_cast<std::size_t>(w * h));
  for (std::int64_t r = 0; r < h; ++r) {
    for (std::int64_t c = 0; c < w; ++c) {
      double x = 100.0 + 40.0 * std::sin(0.3 * static_cast<double>(c)) * std::cos(0.2 * static_cast<double>(r)) +
                 static_cast<double>(c + r);
      if (integers) x = std::round(x);
      if ((c * 7 + r * 3) % 11 == 0) x = nodata;  // scattered holes
      v[static_cast<std::size_t>(r * w + c)] = x;
    }
  }
  return v;
}

struct Comparison {
  std::size_t cells = 0;
  std::size_t valid = 0;
  std::size_t mismatches = 0;
  std::string first;
};

// rel_tolerance 0: identical values; as_float: compare as the Float32 values they are (the CSV
// prints a Float32 in its own shortest form, which parses back to the same float).
Comparison compare(const std::vector<double>& ours, const std::vector<double>& ref, double rel_tolerance,
                   bool as_float = false, const std::function<bool(std::size_t)>& ignore = {}) {
  Comparison c;
  c.cells = ours.size();
  for (std::size_t i = 0; i < ours.size(); ++i) {
    if (ignore && ignore(i)) continue;
    const bool a = std::isnan(ours[i]);
    const bool b = std::isnan(ref[i]);
    bool same = a == b;
    if (same && !a) {
      ++c.valid;
      same = as_float             ? static_cast<float>(ours[i]) == static_cast<float>(ref[i])
             : rel_tolerance == 0 ? ours[i] == ref[i]
                                  : std::fabs(ours[i] - ref[i]) <= rel_tolerance * std::max(1.0, std::fabs(ref[i]));
    }
    if (!same) {
      if (c.mismatches == 0) {
        std::ostringstream s;
        s.precision(17);
        s << "cell " << i << ": rasterflow " << ours[i] << ", gdalwarp " << ref[i];
        c.first = s.str();
      }
      ++c.mismatches;
    }
  }
  return c;
}

// Runs source -> resample(method, implementation) -> merge(drop none) -> csv on `grid_json`
// and returns the grid and its values (NaN for nodata).
std::pair<Grid, std::vector<double>> resample_once(const test::TempDir& dir, const std::string& source,
                                                   const std::string& method, const std::string& implementation,
                                                   const std::string& grid_json, const std::string& source_options = "",
                                                   std::int64_t tile_rows = 2) {
  const std::string graph = R"({"grid": )" + grid_json + R"(, "nodes": [
      {"id": "s", "type": "raster_source", "path": ")" +
                            source + "\"" + source_options + R"(},
      {"id": "v", "type": "resample", "inputs": ["s"], "method": ")" +
                            method + R"(", "implementation": ")" + implementation + R"("},
      {"id": "m", "type": "merge", "inputs": ["v"], "drop": "none"},
      {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})";
  test::write_text(dir / "graph.json", graph);
  Config config;
  const GraphSpec spec = load_graph(dir / "graph.json", config);
  PlanOptions options;
  options.output_dir = dir.path();
  options.tile_rows = tile_rows;
  Pipeline pipeline(spec, config, options);
  const Grid grid = pipeline.plan().grid;
  pipeline.run();
  return {grid, test::csv_to_grid(test::read_text(dir / "o.csv"), grid)};
}

const char* const kFastMethods[] = {"nearest", "average", "sum", "min", "max", "median", "mode", "q1", "q3", "rms"};

}  // namespace

TEST_CASE("Resample.Registry.CreatedByTypeName") {
  const NodeTypeInfo* info = NodeRegistry::instance().find("resample");
  REQUIRE(info != nullptr);
  CHECK(info->output_kind == EdgeKind::raster);
  CHECK(info->input_kind == EdgeKind::source);
}

TEST_CASE("Resample.BadMethod.MessageNamesNodeAndChoices") {
  const std::string graph = R"({"nodes": [
    {"id": "s", "type": "raster_source", "path": "a.tif"},
    {"id": "r", "type": "resample", "inputs": ["s"], "method": "bicubic"},
    {"id": "m", "type": "merge", "inputs": ["r"]},
    {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})";
  CHECK_THROWS_WITH_AS(parse_graph(graph, "g.json"),
                       doctest::Contains("g.json: node \"r\" (resample): option \"method\": unknown value \"bicubic\" "
                                         "(expected one of: nearest, bilinear, cubic"),
                       GraphError);
}

TEST_CASE("Resample.OutputKinds.FollowGdalwarpHabits") {
  using nodes::Method;
  CHECK(nodes::output_kind(Method::average, GDT_Int16) == nodes::ValueKind::float64);
  CHECK(nodes::output_kind(Method::nearest, GDT_Int16) == nodes::ValueKind::integer);
  CHECK(nodes::output_kind(Method::mode, GDT_Byte) == nodes::ValueKind::integer);
  CHECK(nodes::output_kind(Method::max, GDT_Float32) == nodes::ValueKind::float32);
  CHECK(nodes::output_kind(Method::average, GDT_Float32) == nodes::ValueKind::float32);
  CHECK(nodes::output_kind(Method::bilinear, GDT_Float64) == nodes::ValueKind::float64);
  CHECK(nodes::output_kind(Method::sum, GDT_Byte) == nodes::ValueKind::float64);
  CHECK(nodes::parse_method("med") == Method::median);
  CHECK_FALSE(nodes::parse_method("avg"));
}

TEST_CASE("Resample.Kernels.AverageAndSumAddInTheCellByCellOrder") {
  // The order in which average and sum add a cell's pixels decides their last bits: rows top to
  // bottom, pixels left to right (what agrees with gdalwarp to the bit), skipping NaN and nodata,
  // over windows cut by every edge. Values of mixed magnitudes make any other order show (a
  // kernel adding a row of cells at a time was tried: it must keep this order; it was slower).
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> mantissa(-1.0, 1.0);
  std::uniform_int_distribution<int> exponent(-30, 30), pick(0, 9);
  const double nodata = -9999.0;
  for (const std::int64_t kx : {1, 2, 3, 5}) {
    for (const std::int64_t ky : {1, 2, 3}) {
      for (const std::int64_t x0 : {-3, -1, 0, 2}) {
        for (const std::int64_t y0 : {-2, 0, 1}) {
          for (const bool has_nodata : {false, true}) {
            nodes::BlockLayout l{.src_width = 23, .src_height = 11, .x0 = x0, .y0 = y0, .kx = kx, .ky = ky};
            l.out_width = (l.src_width - x0) / kx + 2;  // overhangs the right edge
            l.out_height = (l.src_height - y0) / ky + 1;
            std::vector<double> src(static_cast<std::size_t>(l.src_width * l.src_height));
            for (auto& v : src) {
              const int p = pick(rng);
              v = p == 0 ? std::nan("") : p == 1 ? nodata : std::ldexp(mantissa(rng), exponent(rng));
            }
            for (const char* name : {"average", "sum"}) {
              CAPTURE(kx);
              CAPTURE(ky);
              CAPTURE(x0);
              CAPTURE(y0);
              CAPTURE(has_nodata);
              const std::string method = name;
              CAPTURE(method);
              const auto cells = static_cast<std::size_t>(l.out_width * l.out_height);
              std::vector<double> out(cells), scratch;
              std::vector<std::uint8_t> valid(cells);
              nodes::reduce_blocks(*nodes::parse_method(method), src, l,
                                   has_nodata ? std::optional<double>(nodata) : std::nullopt, out, valid, scratch);
              std::size_t mismatches = 0, checked = 0;
              for (std::int64_t r = 0; r < l.out_height; ++r) {
                for (std::int64_t c = 0; c < l.out_width; ++c) {
                  double sum = 0;
                  std::int64_t n = 0;
                  for (std::int64_t sy = std::max<std::int64_t>(0, y0 + r * ky);
                       sy < std::min(l.src_height, y0 + (r + 1) * ky); ++sy) {
                    for (std::int64_t sx = std::max<std::int64_t>(0, x0 + c * kx);
                         sx < std::min(l.src_width, x0 + (c + 1) * kx); ++sx) {
                      const double v = src[static_cast<std::size_t>(sy * l.src_width + sx)];
                      if (std::isnan(v) || (has_nodata && v == nodata)) continue;
                      sum += v;
                      ++n;
                    }
                  }
                  const auto i = static_cast<std::size_t>(r * l.out_width + c);
                  const double want = method == "average" ? sum / static_cast<double>(n) : sum;
                  const bool same = n == 0 ? (valid[i] == 0 && std::isnan(out[i]))
                                           : (valid[i] == 1 && std::memcmp(&out[i], &want, sizeof want) == 0);
                  mismatches += same ? 0 : 1;
                  checked += n > 0 ? 1 : 0;
                }
              }
              CHECK(checked > 0);
              CHECK(mismatches == 0);
            }
          }
        }
      }
    }
  }
}

TEST_CASE("Resample.AgreesWithGdalwarp.EveryMethodOnNonIntegerRatio" * doctest::timeout(120)) {
  test::TempDir dir;
  test::RasterSpec spec{
      .width = 37, .height = 23, .gt = {10.0, 0.13, 0.0, 50.0, 0.0, -0.11}, .type = "Float32", .nodata = -9999};
  test::write_raster(dir / "src.tif", spec, {field(37, 23, -9999, false)});
  for (const char* method :
       {"nearest", "bilinear", "cubic", "average", "sum", "min", "max", "med", "mode", "q1", "q3", "rms"}) {
    const std::string method_text = method;
    CAPTURE(method_text);
    // Cell edges on whole multiples of the resolution (-tap), as the reference grid below (#28
    // made the source's pixel lattice the default).
    const std::string graph =
        std::string(R"({"grid": {"resolution": 0.3, "extent": "union", "align": "resolution"}, "nodes": [
      {"id": "s", "type": "raster_source", "path": "src.tif"},
      {"id": "v", "type": "resample", "inputs": ["s"], "method": ")") +
        method + R"("},
      {"id": "m", "type": "merge", "inputs": ["v"], "drop": "none"},
      {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})";
    PlanOptions options;
    options.tile_rows = 3;  // several tiles, so tile edges are exercised
    test::run_graph_json(dir.path(), graph, options);
    const Grid grid = snap_grid({10.0, 50.0 - 23 * 0.11, 10.0 + 37 * 0.13, 50.0}, 0.3, 0.3, "EPSG:4326");
    const auto ours = test::csv_to_grid(test::read_text(dir / "o.csv"), grid);
    // bilinear and cubic: gdalwarp scales its kernel by each chunk's window; rasterflow by the
    // whole grid's resolution ratio. Give gdalwarp that same scale.
    char xs[64], ys[64];
    std::snprintf(xs, sizeof xs, "XSCALE=%.17g", 0.13 * 37 / 37 / 0.3);
    std::snprintf(ys, sizeof ys, "YSCALE=%.17g", 0.11 * 23 / 23 / 0.3);
    // A Float32 source: gdalwarp writes every method's result as Float32, and so does rasterflow.
    const auto ref = test::gdalwarp_reference(dir / "src.tif", grid, method, "Float32", 1, {"-wo", xs, "-wo", ys});
    const Comparison c = compare(ours, ref, 0.0, true);
    CHECK(c.valid > c.cells / 2);
    CHECK_MESSAGE(c.mismatches == 0, c.first);
  }
}

TEST_CASE("Resample.FastPath.SameValuesAsWarper" * doctest::timeout(240)) {
  test::TempDir dir;
  for (const std::string type : {"Float32", "Int16", "Byte"}) {
    test::RasterSpec spec{.width = 41,
                          .height = 29,
                          .gt = {10.0, 0.1, 0.0, 50.0, 0.0, -0.1},
                          .type = type,
                          .nodata = type == "Byte" ? 255.0 : -999.0};
    auto values = field(41, 29, *spec.nodata, true);
    if (type == "Byte") {
      for (auto& v : values) {
        if (v != 255.0) v = std::fmod(v, 7.0);  // few classes: mode has ties to break
      }
    }
    test::write_raster(dir / "src.tif", spec, {values});
    // k cells of source pixels per cell (downsampling), or 1/k (upsampling: -2, -4).
    for (const int k : {1, 2, 3, 4, -2, -4}) {
      // A grid wider than the source on every side, so blocks are cut at the source's edges.
      const double res = k > 0 ? 0.1 * k : 0.1 / -k;
      // Edges on multiples of the resolution (-tap), the grids the margins below were derived for
      // (#28 made the source's pixel lattice the default).
      const std::string grid =
          R"({"resolution": )" + std::to_string(res) + R"(, "extent": [9.6, 46.6, 14.5, 50.4], "align": "resolution"})";
      for (const char* method : kFastMethods) {
        if (k < 0 && std::string(method) == "sum") continue;  // not on the upsampling fast path
        CAPTURE(type);
        CAPTURE(k);
        const std::string method_text = method;
        CAPTURE(method_text);
        const auto [grid_fast, fast] = resample_once(dir, "src.tif", method, "fast", grid);
        auto [grid_warp, warped] = resample_once(dir, "src.tif", method, "warper", grid);
        const bool blending = nodes::is_blending(*nodes::parse_method(method));
        // Documented differences (docs/how-it-runs.md, "Agreement with gdalwarp"): GDAL 3.6's
        // warper gives cells just outside the source's edge the edge pixels' values, and its sum adds
        // slivers (< 1e-9) of neighbouring pixels around nodata; the fast path leaves both nodata.
        const Grid& g = grid_fast;
        // For average, rms and sum it also counts the edge pixels again for the part of a cell
        // that lies outside the source; the fast path averages the covered pixels only.
        const bool weighted = method_text == "average" || method_text == "rms" || method_text == "sum";
        const auto outside_source = [&](std::size_t i) {
          const auto col = static_cast<std::int64_t>(i) % g.width;
          const auto row = static_cast<std::int64_t>(i) / g.width;
          const double margin = weighted && k > 0 ? 0.5 * g.res_x - 1e-9 : 0.0;
          const double x = g.center_x(col), y = g.center_y(row);
          return x - margin < 10.0 || x + margin > 10.0 + 41 * 0.1 || y + margin > 50.0 || y - margin < 50.0 - 29 * 0.1;
        };
        if (method_text == "sum") {
          for (std::size_t i = 0; i < warped.size(); ++i) {
            if (std::isnan(fast[i]) && std::fabs(warped[i]) < 1e-9) warped[i] = std::nan("");
          }
        }
        const Comparison c = compare(fast, warped, blending ? 1e-9 : 0.0, false, outside_source);
        CHECK(grid_warp.width == g.width);
        CHECK(c.valid > 0);
        CHECK_MESSAGE(c.mismatches == 0, c.first);
      }
    }
  }
}

TEST_CASE("Resample.FastPath.ChosenOnlyWhenItApplies") {
  test::TempDir dir;
  test::RasterSpec spec{.width = 20, .height = 10, .gt = {0.0, 0.1, 0.0, 1.0, 0.0, -0.1}, .nodata = -1};
  test::write_raster(dir / "src.tif", spec, {field(20, 10, -1, false)});
  const auto plan_of = [&](const std::string& grid, const std::string& method, const std::string& impl) {
    test::write_text(dir / "g.json", R"({"grid": )" + grid + R"(, "nodes": [
      {"id": "s", "type": "raster_source", "path": "src.tif"},
      {"id": "v", "type": "resample", "inputs": ["s"], "method": ")" +
                                         method + R"(", "implementation": ")" + impl + R"("},
      {"id": "m", "type": "merge", "inputs": ["v"]},
      {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})");
    Config config;
    Pipeline p(load_graph(dir / "g.json", config), config, PlanOptions{});
    std::string text;
    for (const auto& line : p.plan().text()) text += line + "\n";
    return text;
  };
  CHECK(plan_of(R"({"resolution": 0.2})", "average", "auto").find("path: fast (block reduction of 2 x 2") !=
        std::string::npos);
  CHECK(plan_of(R"({"resolution": 0.25})", "average", "auto").find("2.5 x 2.5 source pixels, not a whole number") !=
        std::string::npos);
  CHECK(plan_of(R"({"resolution": 0.2})", "bilinear", "auto").find("bilinear reads neighbouring pixels") !=
        std::string::npos);
  CHECK(plan_of(R"({"resolution": 0.2, "crs": "EPSG:3857"})", "average", "auto").find("CRS differs") !=
        std::string::npos);
  CHECK(plan_of(R"({"resolution": 0.2})", "average", "warper").find("forced by option implementation") !=
        std::string::npos);
  CHECK_THROWS_WITH_AS(
      plan_of(R"({"resolution": 0.25})", "average", "fast"),
      doctest::Contains("node \"v\" (resample): option \"implementation\": the fast path does not apply"), GraphError);
}

TEST_CASE("Resample.AgreesWithGdalwarp.EveryDataType" * doctest::timeout(240)) {
  test::TempDir dir;
  // Non-integer ratio (warper path) and an aligned integer ratio (fast path) for each type.
  for (const std::string type : {"Byte", "UInt16", "Int16", "UInt32", "Int32", "Float32", "Float64"}) {
    test::RasterSpec spec{.width = 33,
                          .height = 21,
                          .gt = {-5.0, 0.125, 0.0, 3.0, 0.0, -0.125},
                          .type = type,
                          .nodata = type == "Byte" ? 0.0 : 7.0};
    auto values = field(33, 21, *spec.nodata, true);
    if (type == "Byte") {
      for (auto& v : values) v = v == 0.0 ? 0.0 : std::fmod(v, 200.0) + 1;
    }
    if (type == "UInt32") {
      for (auto& v : values) v = v == 7.0 ? 7.0 : v + 4.0e9;  // beyond Int32
    }
    test::write_raster(dir / "src.tif", spec, {values});
    for (const double res : {0.25, 0.3}) {
      for (const char* method : {"nearest", "average", "min", "max", "mode", "median", "sum"}) {
        CAPTURE(type);
        CAPTURE(res);
        const std::string method_text = method;
        CAPTURE(method_text);
        const auto [grid, ours] =
            resample_once(dir, "src.tif", method, "auto", R"({"resolution": )" + std::to_string(res) + "}");
        const bool blending = nodes::is_blending(*nodes::parse_method(method));
        // Blending over integers gives Float64; a floating source keeps its type (docs/nodes.md).
        const bool floating = type == "Float32" || type == "Float64";
        const auto ref = test::gdalwarp_reference(dir / "src.tif", grid, method_text == "median" ? "med" : method,
                                                  blending && !floating ? "Float64" : type);
        // gdalwarp 3.6's mode counts values rounded to 32-bit floats, so on UInt32 values beyond
        // 2^24 its answer is a rounded value that is not in the data; rasterflow's fast path
        // counts the exact values (docs/how-it-runs.md, "Agreement with gdalwarp"). Not comparable
        // there.
        if (method_text == "mode" && type == "UInt32") continue;
        const Comparison c = compare(ours, ref, blending && type != "Float32" ? 1e-9 : 0.0, type == "Float32");
        CHECK(c.valid > c.cells / 2);
        CHECK_MESSAGE(c.mismatches == 0, c.first);
      }
    }
  }
}

TEST_CASE("Resample.AgreesWithGdalwarp.WideSourceEveryDecoding" * doctest::timeout(240)) {
  // 8192 px of Float64 in 256 x 256 DEFLATE tiles: by default decoded a whole row of blocks at a
  // time (the fastest); every other strategy the file allows (the `decoding` option) agrees with
  // gdalwarp as well.
  test::TempDir dir;
  test::RasterSpec spec{
      .width = 8192,
      .height = 300,
      .gt = {-180.0, 0.04, 0.0, 60.0, 0.0, -0.04},
      .type = "Float64",
      .nodata = -1.0,
      .creation_options = {"TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256", "COMPRESS=DEFLATE", "PREDICTOR=3"}};
  test::write_raster(dir / "wide.tif", spec, {field(8192, 300, -1.0, false)});
  {
    test::write_text(dir / "plan.json", R"({"grid": {"resolution": 0.16}, "nodes": [
        {"id": "s", "type": "raster_source", "path": "wide.tif"},
        {"id": "v", "type": "resample", "inputs": ["s"], "method": "average"},
        {"id": "m", "type": "merge", "inputs": ["v"]},
        {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})");
    Config config;
    PlanOptions options;
    options.output_dir = dir.path();
    options.threads = 2;
    Pipeline pipeline(load_graph(dir / "plan.json", config), config, options);
    const auto plan = pipeline.plan().text();
    const auto has = [&](const std::string& text) {
      return std::any_of(plan.begin(), plan.end(),
                         [&](const std::string& line) { return line.find(text) != std::string::npos; });
    };
    CHECK(
        has("decoding: block_rows, whole rows of blocks, each decoded once by GDAL (256 x 256), up to 48 MiB; the "
            "fastest this file allows"));
    CHECK(has("a tighter limit would switch to lean_block_rows (up to 32 MiB, 1.2 x the CPU)"));
  }
  for (const char* decoding :
       {"block_rows", "lean_block_rows", "streams", "small_streams", "zlib_streams", "gdal_cache"}) {
    const std::string decoding_text = decoding;
    CAPTURE(decoding_text);
    for (const char* method : {"average", "nearest", "max"}) {
      const std::string method_text = method;
      CAPTURE(method_text);
      // Tiles of 3 grid rows (12 source rows) cut across the 32-row units and the 256-row tiles.
      const auto [grid, ours] = resample_once(dir, "wide.tif", method, "auto", R"({"resolution": 0.16})",
                                              std::string(R"(, "decoding": ")") + decoding + "\"", 3);
      CHECK(grid.width == 2048);
      const auto ref = test::gdalwarp_reference(dir / "wide.tif", grid, method_text);
      const Comparison c = compare(ours, ref, method_text == "average" ? 1e-9 : 0.0);
      CHECK(c.valid > c.cells / 2);
      CHECK_MESSAGE(c.mismatches == 0, c.first);
    }
  }
}

TEST_CASE("Resample.AgreesWithGdalwarp.ReprojectedSource" * doctest::timeout(120)) {
  test::TempDir dir;
  // A UTM zone 32N raster (metres) merged onto a geographic grid.
  test::RasterSpec spec{.width = 60,
                        .height = 40,
                        .gt = {500000.0, 1000.0, 0.0, 5000000.0, 0.0, -1000.0},
                        .type = "Float32",
                        .nodata = -9999,
                        .crs = "EPSG:32632"};
  test::write_raster(dir / "utm.tif", spec, {field(60, 40, -9999, false)});
  // (bilinear and cubic scale their kernel differently, see the first gdalwarp case.)
  for (const char* method : {"nearest", "average", "max", "mode", "q3"}) {
    const std::string method_text = method;
    CAPTURE(method_text);
    const auto [grid, ours] =
        resample_once(dir, "utm.tif", method, "auto",
                      R"({"crs": "EPSG:4326", "resolution": 0.02, "extent": [9.1, 44.85, 9.7, 45.1]})");
    const auto ref = test::gdalwarp_reference(dir / "utm.tif", grid, method, "Float32");
    const Comparison c = compare(ours, ref, 0.0, true);
    CHECK(c.valid > c.cells / 2);
    CHECK_MESSAGE(c.mismatches == 0, c.first);
  }
}

TEST_CASE("Resample.Sources.BandNodataOverrideNanAndNoNodata" * doctest::timeout(120)) {
  test::TempDir dir;
  test::RasterSpec spec{.width = 8, .height = 4, .gt = {0.0, 1.0, 0.0, 4.0, 0.0, -1.0}, .type = "Float32", .bands = 2};
  std::vector<double> b1(32, 1.0), b2(32, 2.0);
  b2[0] = 5.0;  // treated as nodata through the option
  b2[1] = std::nan("");
  test::write_raster(dir / "multi.tif", spec, {b1, b2});
  // Band 2, nodata 5 from the option; NaN is nodata for a floating source without nodata.
  const auto [grid, values] =
      resample_once(dir, "multi.tif", "average", "auto", R"({"resolution": 2})", R"(, "band": 2, "nodata": 5)");
  REQUIRE(values.size() == 8);
  CHECK(std::isnan(values[0]) == false);
  CHECK(values[0] == 2.0);  // pixels 0 and 1 left out, 8 and 9 remain
  CHECK(values[1] == 2.0);
  const auto [g1, warped] =
      resample_once(dir, "multi.tif", "average", "warper", R"({"resolution": 2})", R"(, "band": 2, "nodata": 5)");
  CHECK(warped[0] == 2.0);
  // Without a nodata value, NaN is nodata on both paths: (5 + 2 + 2) / 3.
  for (const char* impl : {"fast", "warper"}) {
    const auto [g2, nan_free] =
        resample_once(dir, "multi.tif", "average", impl, R"({"resolution": 2})", R"(, "band": 2)");
    CHECK(nan_free[0] == doctest::Approx(3.0));
  }
  // A band that does not exist is an error naming the node and the field.
  CHECK_THROWS_WITH_AS(resample_once(dir, "multi.tif", "average", "auto", R"({"resolution": 2})", R"(, "band": 3)"),
                       doctest::Contains("node \"s\" (raster_source): option \"band\": band 3 does not exist"),
                       GraphError);
  // An integer source without nodata: every pixel counts, uncovered cells are still nodata.
  test::RasterSpec ints;
  ints.width = 4;
  ints.height = 4;
  ints.gt = {0.0, 1.0, 0.0, 4.0, 0.0, -1.0};
  ints.type = "Int32";
  test::write_raster(dir / "ints.tif", ints, {std::vector<double>(16, 0.0)});
  const auto [g3, zeros] =
      resample_once(dir, "ints.tif", "max", "auto", R"({"resolution": 2, "extent": [0, 0, 6, 4]})");
  REQUIRE(zeros.size() == 6);
  CHECK(zeros[0] == 0.0);
  CHECK(std::isnan(zeros[2]));
}

TEST_CASE("Resample.Sources.Int8ReadAsSigned") {
  test::TempDir dir;
  GDALAllRegister();
  const char* const options[] = {"PIXELTYPE=SIGNEDBYTE", nullptr};
  GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), (dir / "i8.tif").c_str(), 2, 2, 1, GDT_Byte,
                               const_cast<char**>(options));
  double gt[6] = {0, 1, 0, 2, 0, -1};
  GDALSetGeoTransform(ds, gt);
  GDALSetProjection(ds,
                    "GEOGCS[\"WGS 84\",DATUM[\"WGS_1984\",SPHEROID[\"WGS "
                    "84\",6378137,298.257223563]],PRIMEM[\"Greenwich\",0],UNIT[\"degree\",0.0174532925199433]]");
  std::uint8_t raw[4] = {static_cast<std::uint8_t>(-100), static_cast<std::uint8_t>(-1), 5, 100};
  REQUIRE(GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Write, 0, 0, 2, 2, raw, 2, 2, GDT_Byte, 0, 0) == CE_None);
  GDALClose(ds);
  const auto [grid, values] = resample_once(dir, "i8.tif", "min", "auto", R"({"resolution": 2})");
  CHECK(values[0] == -100.0);
  const auto [grid2, avg] = resample_once(dir, "i8.tif", "average", "auto", R"({"resolution": 2})");
  CHECK(avg[0] == doctest::Approx(1.0));  // (-100 - 1 + 5 + 100) / 4
  // The warper reads the signed values through a VRT since #28 (it refused them before); every
  // cell of this grid lies within one source pixel.
  const auto [grid3, warped] = resample_once(dir, "i8.tif", "average", "warper", R"({"resolution": 0.5})");
  REQUIRE(warped.size() == 16);
  CHECK(warped[0] == -100.0);
  CHECK(warped[3] == -1.0);
}

TEST_CASE("Resample.Errors.NoCrsUntransformableAndDisjoint") {
  test::TempDir dir;
  test::RasterSpec spec{.width = 4, .height = 4, .gt = {0.0, 1.0, 0.0, 4.0, 0.0, -1.0}, .crs = ""};
  test::write_raster(dir / "nocrs.tif", spec, {std::vector<double>(16, 1.0)});
  CHECK_THROWS_WITH_AS(resample_once(dir, "nocrs.tif", "average", "auto", R"({"crs": "EPSG:4326", "resolution": 2})"),
                       doctest::Contains("node \"s\" (raster_source)"), GraphError);
  CHECK_THROWS_WITH_AS(resample_once(dir, "nocrs.tif", "average", "auto", R"({"crs": "EPSG:4326", "resolution": 2})"),
                       doctest::Contains("has no CRS"), GraphError);
  // A CRS of another celestial body cannot be transformed into an Earth CRS.
  spec.crs = "IAU_2015:49900";
  test::write_raster(dir / "mars.tif", spec, {std::vector<double>(16, 1.0)});
  CHECK_THROWS_WITH_AS(resample_once(dir, "mars.tif", "average", "auto", R"({"crs": "EPSG:4326", "resolution": 2})"),
                       doctest::Contains("node \"s\" (raster_source): GDAL cannot transform"), GraphError);
  // Disjoint sources with the default intersection.
  spec.crs = "EPSG:4326";
  test::write_raster(dir / "a.tif", spec, {std::vector<double>(16, 1.0)});
  spec.gt = {50.0, 1.0, 0.0, 4.0, 0.0, -1.0};
  test::write_raster(dir / "b.tif", spec, {std::vector<double>(16, 2.0)});
  test::write_text(dir / "g.json", R"({"grid": {"resolution": 1}, "nodes": [
    {"id": "a_src", "type": "raster_source", "path": "a.tif"}, {"id": "b_src", "type": "raster_source", "path": "b.tif"},
    {"id": "a", "type": "resample", "inputs": ["a_src"]}, {"id": "b", "type": "resample", "inputs": ["b_src"]},
    {"id": "m", "type": "merge", "inputs": ["a", "b"]}, {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})");
  Config config;
  CHECK_THROWS_WITH_AS(Pipeline(load_graph(dir / "g.json", config), config, PlanOptions{}),
                       doctest::Contains("the sources do not overlap"), GraphError);
  // With "union" the grid covers both, each column nodata outside its source.
  std::string text = test::read_text(dir / "g.json");
  text.replace(text.find("\"resolution\": 1"), 15, "\"resolution\": 1, \"extent\": \"union\"");
  test::write_text(dir / "g.json", text);
  Pipeline union_run(load_graph(dir / "g.json", config), config, PlanOptions{dir.path()});
  CHECK(union_run.plan().grid.width == 54);
  union_run.run();
  const std::string csv = test::read_text(dir / "o.csv");
  CHECK(csv.find("0.5,3.5,1,\n") != std::string::npos);
  CHECK(csv.find("53.5,0.5,,2\n") != std::string::npos);
}

TEST_CASE("Resample.Options.MethodReachesTheNodeAsItsEnum") {
  NodeSpec spec{.id = "r", .type = "resample", .graph_file = "g.json"};
  spec.options.set("method", std::string("med"));
  CHECK(bind_options<nodes::ResampleOptions>(spec).method == nodes::Method::median);
  CHECK(bind_options<nodes::ResampleOptions>(spec).implementation == nodes::Implementation::automatic);
  const std::vector<OptionSpec> specs = declared_options<nodes::ResampleOptions>();
  const OptionSpec& method = specs.front();
  CHECK(method.choices.front() == "nearest");
  CHECK(method.choices.back() == "med");
  CHECK(std::string(nodes::method_name(nodes::Method::median)) == "median");
}

TEST_CASE("Resample.Options.FastWithANeighbourMethodRefusedByValidate") {
  // A rule across two options, checked once the options are bound: before any file is opened.
  NodeSpec spec{.id = "r", .type = "resample", .graph_file = "g.json"};
  spec.options.set("method", std::string("bilinear"));
  spec.options.set("implementation", std::string("fast"));
  CHECK_THROWS_WITH_AS(bind_options<nodes::ResampleOptions>(spec),
                       doctest::Contains("g.json: node \"r\" (resample): option \"implementation\": the fast path does "
                                         "not apply: bilinear reads neighbouring pixels"),
                       GraphError);
  spec.options.set("implementation", std::string("warper"));
  CHECK(bind_options<nodes::ResampleOptions>(spec).method == nodes::Method::bilinear);
}
