// Int64 and UInt64 sources into Parquet (issue #29): values up to 2^53 and beyond keep their
// type (BIGINT, UBIGINT: INT64 and INT(64, false)) and every digit, as DuckDB and Arrow's reader
// read them back against the CSV.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "parquet/parquet_readers.hpp"
#include "support/test_support.hpp"
#include "support/wide_raster.hpp"

namespace {

constexpr int kW = 12, kH = 9;
constexpr std::int64_t kTop = std::int64_t{1} << 53;

template <typename T>
void write_wide(const std::filesystem::path& path, const std::vector<T>& values, T nodata) {
  const std::vector<std::int64_t> bits(values.begin(), values.end());  // UInt64: its bit pattern
  rasterflow::test::write_wide_raster(path,
                                      {.width = kW,
                                       .height = kH,
                                       .is_signed = std::is_signed_v<T>,
                                       .gt = {10, 0.5, 0, 50, 0, -0.5},
                                       .nodata = static_cast<std::int64_t>(nodata)},
                                      bits);
}

// Both sources merged into merged.csv and merged.parquet; the Parquet read back by DuckDB and
// Arrow's reader against the CSV (integers compared as BigInt: every digit).
void run_and_check(const rasterflow::test::TempDir& dir) {
  rasterflow::test::write_text(dir / "graph.json", R"({"nodes": [
      {"id": "s_src", "type": "raster_source", "path": "s.tif"},
      {"id": "u_src", "type": "raster_source", "path": "u.tif"},
      {"id": "s", "type": "resample", "inputs": ["s_src"], "method": "nearest"},
      {"id": "u", "type": "resample", "inputs": ["u_src"], "method": "nearest"},
      {"id": "merged", "type": "merge", "inputs": ["s", "u"], "drop": "none"},
      {"id": "table", "type": "csv_sink", "inputs": ["merged"], "path": "merged.csv"},
      {"id": "pq", "type": "parquet_sink", "inputs": ["merged"], "path": "merged.parquet"}]})");
  std::string out;
  REQUIRE_MESSAGE(rasterflow::test::run_cli(
                      "run " + (dir / "graph.json").string() + " --output-dir " + (dir / "o").string(), &out) == 0,
                  out);
  std::string report;
  CHECK_MESSAGE(rasterflow::test::check_with_readers(
                    dir / "o/merged.parquet", dir / "o/merged.csv",
                    R"({"types":{"x":["DOUBLE","Float64"],"y":["DOUBLE","Float64"],"s":["BIGINT","Int64"],)"
                    R"("u":["UBIGINT","Uint64"]}})",
                    &report) == 0,
                report);
}

}  // namespace

TEST_CASE("ParquetSink.WideIntegers.KeepEveryDigitUpToTwoTo53" * doctest::timeout(300)) {
  rasterflow::test::TempDir dir;
  std::vector<std::int64_t> s(kW * kH);
  std::vector<std::uint64_t> u(kW * kH);
  for (std::size_t i = 0; i < s.size(); ++i) {
    s[i] = (i % 2 == 0 ? 1 : -1) * (kTop - static_cast<std::int64_t>(i));
    u[i] = static_cast<std::uint64_t>(kTop) - 3 * i;
  }
  s[7] = std::numeric_limits<std::int64_t>::min();  // nodata: null
  u[8] = std::numeric_limits<std::uint64_t>::max();
  write_wide<std::int64_t>(dir / "s.tif", s, std::numeric_limits<std::int64_t>::min());
  write_wide<std::uint64_t>(dir / "u.tif", u, std::numeric_limits<std::uint64_t>::max());
  run_and_check(dir);
  const std::string csv = rasterflow::test::read_text(dir / "o/merged.csv");
  CHECK(csv.find("," + std::to_string(kTop) + "," + std::to_string(kTop) + "\n") != std::string::npos);
  CHECK(csv.find("," + std::to_string(-(kTop - 1)) + ",") != std::string::npos);
}

TEST_CASE("ParquetSink.WideIntegers.KeepEveryDigitBeyondTwoTo53" * doctest::timeout(300)) {
  rasterflow::test::TempDir dir;
  std::vector<std::int64_t> s(kW * kH);
  std::vector<std::uint64_t> u(kW * kH);
  for (std::size_t i = 0; i < s.size(); ++i) {
    s[i] = (i % 2 == 0 ? 1 : -1) * ((std::int64_t{1} << 60) + 2 * static_cast<std::int64_t>(i) + 1);
    u[i] = ~std::uint64_t{0} - 1 - 3 * i;
  }
  s[7] = std::numeric_limits<std::int64_t>::min();  // nodata: null
  s[8] = std::numeric_limits<std::int64_t>::max();
  u[8] = std::numeric_limits<std::uint64_t>::max();  // nodata: null
  u[9] = (std::uint64_t{1} << 53) + 1;
  write_wide<std::int64_t>(dir / "s.tif", s, std::numeric_limits<std::int64_t>::min());
  write_wide<std::uint64_t>(dir / "u.tif", u, std::numeric_limits<std::uint64_t>::max());
  run_and_check(dir);
  const std::string csv = rasterflow::test::read_text(dir / "o/merged.csv");
  CHECK(csv.find(",9223372036854775807,\n") != std::string::npos);  // u[8] is nodata: an empty field
  CHECK(csv.find("," + std::to_string(s[9]) + ",9007199254740993\n") != std::string::npos);
}
