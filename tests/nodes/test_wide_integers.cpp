// Int64 and UInt64 sources (issue #29): every digit, beyond 2^53 too, on the fast path (its
// integer kernels, downsampling and upsampling) for the selecting methods, against the source
// pixels and against gdalwarp (which, in GDAL 3.6, computes in doubles: it agrees once our value
// is rounded to a double); values a path would lose are refused before anything runs, naming
// the file, the band, the value, the node and the option.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <sstream>

#include "rasterflow/errors.hpp"
#include "support/test_support.hpp"
#include "support/wide_raster.hpp"

using namespace rasterflow;

namespace {

constexpr int kW = 8, kH = 6;
constexpr std::int64_t kTop = std::int64_t{1} << 53;
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();

void write_wide(const std::filesystem::path& path, bool is_signed, const std::vector<std::int64_t>& bits,
                std::optional<std::int64_t> nodata = {}) {
  test::write_wide_raster(path, {.width = kW, .height = kH, .is_signed = is_signed, .nodata = nodata}, bits);
}

std::string graph(const std::string& method, const std::string& implementation, double resolution = 1) {
  std::ostringstream res;
  res << resolution;
  return R"({"grid": {"resolution": )" + res.str() + R"(}, "nodes": [
      {"id": "s", "type": "raster_source", "path": "wide.tif"},
      {"id": "v", "type": "resample", "inputs": ["s"], "method": ")" +
         method + R"(", "implementation": ")" + implementation + R"("},
      {"id": "m", "type": "merge", "inputs": ["v"], "drop": "none"},
      {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})";
}

// The value column of the CSV, as text.
std::vector<std::string> csv_column(const std::filesystem::path& path) {
  std::istringstream in(test::read_text(path));
  std::vector<std::string> out;
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) out.push_back(line.substr(line.rfind(',') + 1));
  return out;
}

std::string error_of(const test::TempDir& dir, const std::string& g) {
  try {
    test::run_graph_json(dir.path(), g);
  } catch (const GraphError& e) {
    return e.what();
  }
  return "no error";
}

// What a selecting method gives for a cell's valid pixels (in raster order), computed here on
// the integers: gdalwarp's rules (quantile index ceil(q n - 1); the mode whose count first
// reaches the maximum).
template <typename T>
T expected_of(const std::string& method, std::vector<T> px) {
  if (method == "min") return *std::min_element(px.begin(), px.end());
  if (method == "max") return *std::max_element(px.begin(), px.end());
  if (method == "mode") {
    std::map<T, int> counts;
    T best = px.front();
    int best_count = 0;
    for (const T v : px) {
      if (++counts[v] > best_count) best_count = counts[v], best = v;
    }
    return best;
  }
  const double q = method == "q1" ? 0.25 : method == "q3" ? 0.75 : 0.5;
  std::sort(px.begin(), px.end());
  const auto n = static_cast<double>(px.size());
  const auto k = std::clamp<std::ptrdiff_t>(static_cast<std::ptrdiff_t>(std::ceil(q * n - 1)), 0,
                                            static_cast<std::ptrdiff_t>(px.size()) - 1);
  return px[static_cast<std::size_t>(k)];
}

// The expected CSV column on a grid of `k` x `k` source pixels a cell (k = 1, 2), or of each pixel
// giving 2 x 2 cells (k = 0): values, or "" for nodata.
template <typename T>
std::vector<std::string> expected_column(const std::string& method, const std::vector<std::int64_t>& bits,
                                         std::optional<std::int64_t> nodata, int k) {
  std::vector<std::string> out;
  const int w = k == 0 ? 2 * kW : kW / k, h = k == 0 ? 2 * kH : kH / k;
  for (int r = 0; r < h; ++r) {
    for (int c = 0; c < w; ++c) {
      std::vector<T> px;
      const int span = std::max(k, 1);
      for (int y = 0; y < span; ++y) {
        for (int x = 0; x < span; ++x) {
          const int sy = k == 0 ? r / 2 : r * k + y, sx = k == 0 ? c / 2 : c * k + x;
          // nearest: the pixel under the cell centre (ties at edges go to the later pixel)
          if (method == "nearest" && k != 0 && (y != k / 2 || x != k / 2)) continue;
          const std::int64_t v = bits[static_cast<std::size_t>(sy * kW + sx)];
          if (!(nodata && v == *nodata)) px.push_back(static_cast<T>(v));
        }
      }
      out.push_back(px.empty()
                        ? std::string()
                        : test::wide_text(static_cast<std::int64_t>(expected_of<T>(method, px)), std::is_signed_v<T>));
    }
  }
  return out;
}

// Values beyond 2^53 (a few repeated, for mode), in raster order.
std::vector<std::int64_t> signed_values() {
  const std::int64_t big[] = {
      (std::int64_t{1} << 60) + 1, -(std::int64_t{1} << 60) - 3, kTop + 1, (std::int64_t{1} << 62) + 7, -kTop - 5,
      (std::int64_t{1} << 60) + 1};
  std::vector<std::int64_t> v(kW * kH);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = big[(i * 5) % 6] + static_cast<std::int64_t>((i * 7) % 3);
  v[9] = kMin;  // nodata
  return v;
}

std::vector<std::int64_t> unsigned_values() {
  const std::uint64_t big[] = {~std::uint64_t{0} - 1, (std::uint64_t{1} << 63) + 5, (std::uint64_t{1} << 60) + 1,
                               std::uint64_t{kTop} + 1, ~std::uint64_t{0} - 1};
  std::vector<std::int64_t> v(kW * kH);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::int64_t>(big[(i * 3) % 5] + (i * 7) % 3);
  v[14] = -1;  // nodata: 2^64 - 1
  return v;
}

const char* const kSelecting[] = {"nearest", "min", "max", "mode", "median", "q1", "q3"};

}  // namespace

TEST_CASE("WideIntegers.Int64BeyondTwoTo53ExactOnTheFastPath") {
  test::TempDir dir;
  const auto v = signed_values();
  write_wide(dir / "wide.tif", true, v, kMin);
  for (const int k : {1, 2, 0}) {
    for (const std::string method : kSelecting) {
      CAPTURE(k);
      CAPTURE(method);
      test::run_graph_json(dir.path(), graph(method, "fast", k == 0 ? 0.5 : k));
      CHECK(csv_column(dir / "o.csv") == expected_column<std::int64_t>(method, v, kMin, k));
    }
  }
}

TEST_CASE("WideIntegers.UInt64BeyondTwoTo53ExactOnTheFastPath") {
  test::TempDir dir;
  const auto v = unsigned_values();
  write_wide(dir / "wide.tif", false, v, -1);
  for (const int k : {1, 2, 0}) {
    for (const std::string method : kSelecting) {
      CAPTURE(k);
      CAPTURE(method);
      test::run_graph_json(dir.path(), graph(method, "auto", k == 0 ? 0.5 : k));
      CHECK(csv_column(dir / "o.csv") == expected_column<std::uint64_t>(method, v, -1, k));
    }
  }
}

TEST_CASE("WideIntegers.Int64FastPathAgreesWithGdalwarpRoundedToDoubles") {
  // GDAL 3.6's warp kernel reads Int64 as doubles: its nearest, min, max and quantiles are ours
  // rounded to a double (rounding keeps order), while ours keep every digit.
  test::TempDir dir;
  const auto v = signed_values();
  write_wide(dir / "wide.tif", true, v, kMin);
  for (const int k : {1, 2}) {
    const Grid grid{.crs = "EPSG:4326",
                    .x0 = 10,
                    .y0 = 50,
                    .res_x = double(k),
                    .res_y = double(k),
                    .width = kW / k,
                    .height = kH / k};
    for (const std::string method : {"nearest", "min", "max", "med", "q1", "q3"}) {
      CAPTURE(k);
      CAPTURE(method);
      test::run_graph_json(dir.path(), graph(method, "fast", k));
      const auto ours = csv_column(dir / "o.csv");
      const auto ref = test::gdalwarp_reference(dir / "wide.tif", grid, method);
      REQUIRE(ours.size() == ref.size());
      int beyond = 0;
      for (std::size_t i = 0; i < ours.size(); ++i) {
        CAPTURE(i);
        if (ours[i].empty()) {
          CHECK(std::isnan(ref[i]));
          continue;
        }
        const std::int64_t exact = std::stoll(ours[i]);
        CHECK(static_cast<double>(exact) == ref[i]);
        beyond += std::llabs(exact) > kTop ? 1 : 0;
      }
      CHECK(beyond > 0);
    }
  }
}

TEST_CASE("WideIntegers.WarperPathExactBeyondTwoTo53OnTheSourceGrid") {
  // implementation warper on grids aligned with the source: GDAL's warper selects (on ranks) the
  // pixels the fast path selects, and every digit comes through, Int64 and UInt64.
  for (const bool is_signed : {true, false}) {
    test::TempDir dir;
    const auto v = is_signed ? signed_values() : unsigned_values();
    const std::int64_t nodata = is_signed ? kMin : -1;
    write_wide(dir / "wide.tif", is_signed, v, nodata);
    for (const int k : {1, 2}) {
      for (const std::string method : {"nearest", "min", "max", "median", "q1", "q3"}) {
        CAPTURE(is_signed);
        CAPTURE(k);
        CAPTURE(method);
        test::run_graph_json(dir.path(), graph(method, "warper", k));
        CHECK(csv_column(dir / "o.csv") == (is_signed ? expected_column<std::int64_t>(method, v, nodata, k)
                                                      : expected_column<std::uint64_t>(method, v, nodata, k)));
      }
    }
  }
}

TEST_CASE("WideIntegers.WarperPathReprojectedAgreesWithGdalwarpAndKeepsEveryDigit") {
  // Onto EPSG:3857: each cell holds one of the source's values exactly, and that value rounded to
  // a double is gdalwarp's (GDAL 3.6 selects on doubles; rounding keeps order).
  test::TempDir dir;
  const auto v = signed_values();
  write_wide(dir / "wide.tif", true, v, kMin);
  const Grid grid{
      .crs = "EPSG:3857", .x0 = 1100000, .y0 = 6450000, .res_x = 50000, .res_y = 50000, .width = 19, .height = 20};
  for (const std::string method : {"nearest", "min", "max", "med", "q1", "q3"}) {
    CAPTURE(method);
    test::run_graph_json(dir.path(),
                         R"({"grid": {"crs": "EPSG:3857", "resolution": 50000,
                              "extent": [1100000, 5450000, 2050000, 6450000]}, "nodes": [
          {"id": "s", "type": "raster_source", "path": "wide.tif"},
          {"id": "v", "type": "resample", "inputs": ["s"], "method": ")" +
                             method + R"("},
          {"id": "m", "type": "merge", "inputs": ["v"], "drop": "none"},
          {"id": "o", "type": "csv_sink", "inputs": ["m"], "path": "o.csv"}]})");
    const auto ours = csv_column(dir / "o.csv");
    const auto ref = test::gdalwarp_reference(dir / "wide.tif", grid, method);
    REQUIRE(ours.size() == ref.size());
    int beyond = 0, cells = 0;
    for (std::size_t i = 0; i < ours.size(); ++i) {
      CAPTURE(i);
      if (ours[i].empty()) {
        CHECK(std::isnan(ref[i]));
        continue;
      }
      const std::int64_t exact = std::stoll(ours[i]);
      CHECK(std::find(v.begin(), v.end(), exact) != v.end());
      CHECK(static_cast<double>(exact) == ref[i]);
      beyond += std::llabs(exact) > kTop ? 1 : 0;
      ++cells;
    }
    CHECK(cells > 100);
    CHECK(beyond > 50);
  }
}

TEST_CASE("WideIntegers.WrappedSourceOnTheWarperRefusesValuesBeyondTwoTo53NamingFileBandAndValue") {
  // A global source read as periodic in longitude: not yet through the ranks, refused.
  test::TempDir dir;
  std::vector<std::int64_t> v(kW * kH, 7);
  v[2 * kW + 3] = kTop + 1;  // column 3, row 2: a double would hold 2^53
  test::write_wide_raster(dir / "wide.tif",
                          {.width = kW, .height = kH, .is_signed = true, .gt = {-180, 45, 0, 90, 0, -30}}, v);
  const std::string message = error_of(dir, graph("nearest", "auto", 40));
  CAPTURE(message);
  CHECK(message.find("node \"v\" (resample): option \"implementation\": " + (dir / "wide.tif").string() +
                     " is Int64 and band 1 holds 9007199254740993 at column 3, row 2, beyond 2^53") !=
        std::string::npos);
  CHECK(message.find("wrapped in longitude") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "o.csv"));
}

TEST_CASE("WideIntegers.BlendingMethodsRefuseValuesBeyondTwoTo53") {
  test::TempDir dir;
  std::vector<std::int64_t> v(kW * kH, 7);
  v[kW + 1] = -kTop - 5;
  write_wide(dir / "wide.tif", true, v);
  for (const std::string method : {"average", "sum", "rms"}) {
    const std::string message = error_of(dir, graph(method, "auto", 2));
    CAPTURE(message);
    CHECK(message.find("node \"v\" (resample): option \"method\": " + (dir / "wide.tif").string() +
                       " is Int64 and band 1 holds -9007199254740997 at column 1, row 1, beyond 2^53") !=
          std::string::npos);
    CHECK(message.find(method + " computes in doubles") != std::string::npos);
  }
}

TEST_CASE("WideIntegers.Int64WithinTwoTo53IsExactOnBothPaths") {
  test::TempDir dir;
  std::vector<std::int64_t> v(kW * kH);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = (i % 2 == 0 ? 1 : -1) * (kTop - static_cast<std::int64_t>(i));
  v[5] = kMin;  // nodata: beyond 2^53, and left out
  write_wide(dir / "wide.tif", true, v, kMin);
  for (const std::string implementation : {"fast", "warper"}) {
    for (const std::string method : kSelecting) {
      CAPTURE(implementation);
      CAPTURE(method);
      if (implementation == "warper" && method == "mode") continue;  // refused: WarperModeRefused...
      test::run_graph_json(dir.path(), graph(method, implementation));
      CHECK(csv_column(dir / "o.csv") == expected_column<std::int64_t>(method, v, kMin, 1));
    }
  }
}

TEST_CASE("WideIntegers.SelectingMethodsOverBlocksAgreeOnBothPaths") {
  // Within 2^53 both paths read the values exactly: 2 x 2 pixels a cell, the same answer.
  test::TempDir dir;
  std::vector<std::int64_t> v(kW * kH);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = kTop - 1 - 2 * static_cast<std::int64_t>((i * 7) % v.size());
  write_wide(dir / "wide.tif", true, v);
  for (const std::string method : {"nearest", "max", "min", "median", "q1", "q3"}) {
    CAPTURE(method);
    test::run_graph_json(dir.path(), graph(method, "fast", 2));
    const auto fast = csv_column(dir / "o.csv");
    test::run_graph_json(dir.path(), graph(method, "warper", 2));
    CHECK(csv_column(dir / "o.csv") == fast);
    CHECK(fast == expected_column<std::int64_t>(method, v, std::nullopt, 2));
  }
}

TEST_CASE("WideIntegers.WarperModeRefusedNamingFileAndType") {
  // GDAL 3.6's warper takes the mode of 32-bit floats (it gave 9007199254740992 for 9007199254740899).
  test::TempDir dir;
  write_wide(dir / "wide.tif", true, std::vector<std::int64_t>(kW * kH, kTop - 1));
  const std::string message = error_of(dir, graph("mode", "warper"));
  CAPTURE(message);
  CHECK(message.find("node \"v\" (resample): option \"method\": mode on the warper path reads " +
                     (dir / "wide.tif").string() + "'s Int64 values as 32-bit floats") != std::string::npos);
}
