// Longitude wrap (#28): global geographic sources on grids of either convention, on both
// resampling paths, against gdalwarp (-ovr NONE -et 0). gdalwarp places a 0..360 source on a
// -180..180 grid itself (CENTER_LONG); its kernels do not reach across the seam, so the seam
// cells of the neighbour methods are compared with gdalwarp on the source made periodic (three
// copies side by side, written by the test), which is what a periodic field gives.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "rasterflow/graph.hpp"
#include "support/test_support.hpp"

using namespace rasterflow;

namespace {

constexpr std::int64_t kW = 72, kH = 36;  // 5 degrees
constexpr double kNodata = -9999;

double value_at(std::int64_t c, std::int64_t r) {
  if ((c * 7 + r * 3) % 13 == 0) return kNodata;
  return std::round(100.0 * (50.0 + 30.0 * std::sin(0.2 * static_cast<double>(c)) + static_cast<double>(r))) / 100.0;
}

// A global source starting at `west` (0 or -180), or `copies` periods of it side by side.
void write_global(const std::filesystem::path& path, double west, int copies = 1) {
  std::vector<double> v(static_cast<std::size_t>(kW * copies * kH));
  for (std::int64_t r = 0; r < kH; ++r)
    for (std::int64_t c = 0; c < kW * copies; ++c)
      v[static_cast<std::size_t>(r * kW * copies + c)] = value_at(c % kW, r);
  test::RasterSpec spec{.width = kW * copies,
                        .height = kH,
                        .gt = {west - (copies - 1) / 2 * 360.0, 5.0, 0, 90, 0, -5.0},
                        .type = "Float32",
                        .nodata = kNodata};
  test::write_raster(path, spec, {v});
}

std::pair<Grid, std::vector<double>> run(const test::TempDir& dir, const std::string& method, const std::string& impl,
                                         const std::string& grid_json, const std::string& source_options = "") {
  const std::string graph = R"({"grid": )" + grid_json + R"(, "nodes": [
      {"id": "s", "type": "raster_source", "path": "src.tif")" +
                            source_options + R"(},
      {"id": "v", "type": "resample", "inputs": ["s"], "method": ")" +
                            method + R"(", "implementation": ")" + impl + R"("},
      {"id": "m", "type": "merge", "inputs": ["v"], "drop": "none"},
      {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})";
  test::write_text(dir / "graph.json", graph);
  Config config;
  PlanOptions options;
  options.output_dir = dir.path();
  options.tile_rows = 5;
  Pipeline pipeline(load_graph(dir / "graph.json", config), config, options);
  const Grid grid = pipeline.plan().grid;
  pipeline.run();
  return {grid, test::csv_to_grid(test::read_text(dir / "o.csv"), grid)};
}

// Cells that differ (as Float32 values, NaN equal to NaN); the first one described.
std::size_t mismatches(const std::vector<double>& ours, const std::vector<double>& ref, std::string& first) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < ours.size(); ++i) {
    const bool same = std::isnan(ours[i])
                          ? std::isnan(ref[i])
                          : !std::isnan(ref[i]) && static_cast<float>(ours[i]) == static_cast<float>(ref[i]);
    if (!same && n++ == 0)
      first = "cell " + std::to_string(i) + ": rasterflow " + std::to_string(ours[i]) + ", gdalwarp " +
              std::to_string(ref[i]);
  }
  return n;
}

std::size_t valid_in_column(const std::vector<double>& v, const Grid& g, std::int64_t col) {
  std::size_t n = 0;
  for (std::int64_t r = 0; r < g.height; ++r) n += std::isnan(v[static_cast<std::size_t>(r * g.width + col)]) ? 0 : 1;
  return n;
}

const char* const kAll[] = {"nearest", "bilinear", "cubic", "average", "sum", "min",
                            "max",     "median",   "mode",  "q1",      "q3",  "rms"};
const char* const kFast[] = {"nearest", "average", "min", "max", "median", "mode", "q1", "q3", "rms", "sum"};

}  // namespace

TEST_CASE("LongitudeWrap.GlobalSourcesOntoBothConventions.FastPathAgreesWithGdalwarp" * doctest::timeout(280)) {
  test::TempDir dir;
  for (const double west : {0.0, -180.0}) {
    write_global(dir / "src.tif", west);
    write_global(dir / "periodic.tif", west, 3);
    for (const double grid_west : {-180.0, 0.0}) {
      for (const int k : {1, 2, 3}) {  // 5, 10 and 15 degree cells: block reductions across the seam
        const std::string grid = R"({"extent": [)" + std::to_string(grid_west) + ", -90, " +
                                 std::to_string(grid_west + 360) + R"(, 90], "resolution": )" + std::to_string(5 * k) +
                                 "}";
        for (const char* method : kFast) {
          const std::string m = method;
          CAPTURE(west);
          CAPTURE(grid_west);
          CAPTURE(k);
          CAPTURE(m);
          const auto [g, ours] = run(dir, m, "fast", grid);
          const auto ref = test::gdalwarp_reference(dir / "periodic.tif", g, m == "median" ? "med" : m, "Float32", 1,
                                                    {"-to", "INSERT_CENTER_LONG=NO"});
          std::string first;
          CHECK_MESSAGE(mismatches(ours, ref, first) == 0, first);
          CHECK(valid_in_column(ours, g, 0) > 0);
          CHECK(valid_in_column(ours, g, g.width - 1) > 0);
          if (m == "nearest") {  // gdalwarp itself wraps a global source onto either convention
            const auto plain = test::gdalwarp_reference(dir / "src.tif", g, m, "Float32");
            CHECK_MESSAGE(mismatches(ours, plain, first) == 0, first);
          }
        }
      }
    }
  }
}

TEST_CASE("LongitudeWrap.SeamCells.EveryMethodOnTheWarperPath" * doctest::timeout(280)) {
  test::TempDir dir;
  for (const double west : {0.0, -180.0}) {
    write_global(dir / "src.tif", west);
    write_global(dir / "periodic.tif", west, 3);
    // 4-degree cells on 5-degree pixels: cell centres (+-2 around the seam) fall between pixels
    // on either side of it, on both conventions.
    for (const double grid_west : {-180.0, 0.0}) {
      const std::string grid = R"({"extent": [)" + std::to_string(grid_west) + ", -90, " +
                               std::to_string(grid_west + 360) + R"(, 90], "resolution": 4})";
      for (const char* method : kAll) {
        const std::string m = method;
        CAPTURE(west);
        CAPTURE(grid_west);
        CAPTURE(m);
        const auto [g, ours] = run(dir, m, "warper", grid);
        // The kernel scale rasterflow gives bilinear and cubic (source pixel / cell), given to
        // gdalwarp too (see Resample.AgreesWithGdalwarp.EveryMethodOnNonIntegerRatio).
        const auto ref =
            test::gdalwarp_reference(dir / "periodic.tif", g, m == "median" ? "med" : m, "Float32", 1,
                                     {"-to", "INSERT_CENTER_LONG=NO", "-wo", "XSCALE=1.25", "-wo", "YSCALE=1.25"});
        std::string first;
        CHECK_MESSAGE(mismatches(ours, ref, first) == 0, first);
        // The two columns either side of the seam have values: neighbours from both sides.
        double seam_x = west;
        while (seam_x <= grid_west) seam_x += 360.0;
        while (seam_x > grid_west + 360.0) seam_x -= 360.0;
        const auto seam = static_cast<std::int64_t>(std::llround((seam_x - grid_west) / 4.0));
        CHECK(valid_in_column(ours, g, seam % g.width) > 0);
        CHECK(valid_in_column(ours, g, seam - 1) > 0);
        CHECK(valid_in_column(ours, g, 0) > 0);
        CHECK(valid_in_column(ours, g, g.width - 1) > 0);
      }
    }
  }
}

TEST_CASE("LongitudeWrap.UpsamplingFastPathWrapsToo") {
  test::TempDir dir;
  write_global(dir / "src.tif", 0.0);
  write_global(dir / "periodic.tif", 0.0, 3);
  const auto [g, ours] = run(dir, "nearest", "fast", R"({"extent": [-180, -90, 180, 90], "resolution": 2.5})");
  const auto ref = test::gdalwarp_reference(dir / "src.tif", g, "nearest", "Float32");
  std::string first;
  CHECK_MESSAGE(mismatches(ours, ref, first) == 0, first);
  CHECK(valid_in_column(ours, g, 0) > 0);
}

TEST_CASE("LongitudeWrap.OptionOffReadsAPlainRectangle") {
  test::TempDir dir;
  write_global(dir / "src.tif", 0.0);
  const std::string grid = R"({"extent": [-180, -90, 180, 90], "resolution": 5})";
  const auto [g, ours] = run(dir, "nearest", "auto", grid, R"(, "wrap_longitude": false)");
  CHECK(valid_in_column(ours, g, 0) == 0);  // the western hemisphere is outside 0..360
  CHECK(valid_in_column(ours, g, g.width - 1) > 0);
  const auto [g2, wrapped] = run(dir, "nearest", "auto", grid);
  CHECK(valid_in_column(wrapped, g2, 0) > 0);
}

TEST_CASE("LongitudeWrap.UnionAndIntersectionAreOnTheCircle") {
  test::TempDir dir;
  write_global(dir / "a.tif", 0.0);
  write_global(dir / "b.tif", -180.0);
  for (const std::string mode : {"intersection", "union"}) {
    CAPTURE(mode);
    const std::string graph = R"({"grid": {"extent": ")" + mode + R"("}, "nodes": [
      {"id": "a", "type": "raster_source", "path": "a.tif"},
      {"id": "b", "type": "raster_source", "path": "b.tif"},
      {"id": "ra", "type": "resample", "inputs": ["a"]},
      {"id": "rb", "type": "resample", "inputs": ["b"]},
      {"id": "m", "type": "merge", "inputs": ["ra", "rb"], "drop": "none"},
      {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})";
    test::write_text(dir / "graph.json", graph);
    Config config;
    PlanOptions options;
    options.output_dir = dir.path();
    Pipeline pipeline(load_graph(dir / "graph.json", config), config, options);
    const Grid g = pipeline.plan().grid;
    CHECK(g.width == kW);  // one whole circle, not 0..180 (intersection) or -180..360 (union)
    CHECK(g.x0 == 0.0);    // the first source's window
  }
}
