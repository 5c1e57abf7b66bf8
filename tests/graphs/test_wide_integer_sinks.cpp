// Int64 and UInt64 values beyond 2^53 into the outputs (issue #29), read back by independent
// readers: the GeoTIFF by GDAL in its own 64-bit type (values and nodata), the PostgreSQL table
// (bigint, numeric(20)) by psql as the same CSV bytes as the csv_sink's.
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>

#include "support/postgres.hpp"
#include "support/test_support.hpp"
#include "support/wide_raster.hpp"

using namespace rasterflow;

namespace {

constexpr int kW = 7, kH = 5;
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();

// s.tif (Int64, nodata INT64_MIN) and u.tif (UInt64, nodata 2^64 - 1), values beyond 2^53.
void write_sources(const test::TempDir& dir, std::vector<std::int64_t>& s, std::vector<std::int64_t>& u) {
  s.assign(kW * kH, 0);
  u.assign(kW * kH, 0);
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto k = static_cast<std::int64_t>(i);
    s[i] = (i % 2 == 0 ? 1 : -1) * ((std::int64_t{1} << 60) + 2 * k + 1);
    u[i] = static_cast<std::int64_t>(~std::uint64_t{0} - 1 - 3 * static_cast<std::uint64_t>(k));
  }
  s[3] = kMin;
  s[4] = std::numeric_limits<std::int64_t>::max();
  u[5] = -1;
  u[6] = static_cast<std::int64_t>((std::uint64_t{1} << 53) + 1);
  test::write_wide_raster(dir / "s.tif", {.width = kW, .height = kH, .is_signed = true, .nodata = kMin}, s);
  test::write_wide_raster(dir / "u.tif", {.width = kW, .height = kH, .is_signed = false, .nodata = -1}, u);
}

std::string graph(const std::string& sinks) {
  return R"({"nodes": [
      {"id": "s_src", "type": "raster_source", "path": "s.tif"},
      {"id": "u_src", "type": "raster_source", "path": "u.tif"},
      {"id": "s", "type": "resample", "inputs": ["s_src"], "method": "nearest"},
      {"id": "u", "type": "resample", "inputs": ["u_src"], "method": "nearest"},
      {"id": "merged", "type": "merge", "inputs": ["s", "u"], "drop": "none"},
      {"id": "table", "type": "csv_sink", "inputs": ["merged"], "path": "merged.csv"})" +
         sinks + "]}";
}

}  // namespace

TEST_CASE("WideIntegers.RasterSinkWritesInt64AndUInt64Exactly") {
  test::TempDir dir;
  std::vector<std::int64_t> s, u;
  write_sources(dir, s, u);
  test::run_graph_json(dir.path(), graph(R"(,
      {"id": "ms", "type": "merge", "inputs": ["s"], "drop": "none"},
      {"id": "mu", "type": "merge", "inputs": ["u"], "drop": "none"},
      {"id": "rs", "type": "raster_sink", "inputs": ["ms"], "path": "s_out.tif"},
      {"id": "ru", "type": "raster_sink", "inputs": ["mu"], "path": "u_out.tif"})"));
  std::optional<std::int64_t> nodata;
  CHECK(test::read_wide_raster(dir / "s_out.tif", 1, &nodata) == s);  // nodata pixel: INT64_MIN, the default
  CHECK(nodata == kMin);
  CHECK(test::read_wide_raster(dir / "u_out.tif", 1, &nodata) == u);
  CHECK(nodata == std::optional<std::int64_t>(-1));
  const std::string csv = test::read_text(dir / "merged.csv");
  for (const std::size_t i : {std::size_t{1}, std::size_t{4}, std::size_t{6}}) {  // rows end with s,u as text
    CHECK(csv.find("," + test::wide_text(s[i], true) + "," + test::wide_text(u[i], false) + "\n") != std::string::npos);
  }
  CHECK(csv.find(",," + test::wide_text(u[3], false) + "\n") != std::string::npos);  // pixel 3: s is nodata
}

TEST_CASE("WideIntegers.PostgresSinkKeepsEveryDigit" * doctest::timeout(180)) {
  REQUIRE(test::TestPostgres::available());
  test::TempDir dir;
  std::vector<std::int64_t> s, u;
  write_sources(dir, s, u);
  test::TestPostgres server;
  const std::string url = server.url();
  test::run_graph_json(dir.path(), graph(R"(,
      {"id": "pg", "type": "postgres_sink", "inputs": ["merged"], "url": ")" +
                                         url + R"(", "table": "t"})"));
  const auto psql = [&](const std::string& sql) {
    test::write_text(dir / "query.sql", sql);
    std::string out;
    REQUIRE_MESSAGE(
        test::run_shell("psql '" + url + "' -X -q -At -v ON_ERROR_STOP=1 -f " + (dir / "query.sql").string(), &out) ==
            0,
        out);
    return out;
  };
  CHECK(psql("SELECT string_agg(column_name || ' ' || data_type, ',' ORDER BY ordinal_position) FROM "
             "information_schema.columns WHERE table_name = 't'") ==
        "x double precision,y double precision,s bigint,u numeric\n");
  CHECK(psql("COPY (SELECT * FROM t ORDER BY y DESC, x) TO STDOUT WITH (FORMAT csv, HEADER true)") ==
        test::read_text(dir / "merged.csv"));
  CHECK(psql("SELECT count(*) FROM t WHERE s IS NULL OR u IS NULL") == "2\n");
}

TEST_CASE("WideIntegers.RasterSinkOfDoublesWarnsOfRoundedValues") {
  // An Int64 and a UInt64 column share a Float64 band type (GDALDataTypeUnion): the values beyond
  // 2^53 are rounded, and the run says how many, naming the sink.
  test::TempDir dir;
  std::vector<std::int64_t> s, u;
  write_sources(dir, s, u);
  test::write_text(dir / "graph.json", graph(R"(,
      {"id": "both", "type": "raster_sink", "inputs": ["merged"], "path": "both.tif"})"));
  std::string out;
  REQUIRE_MESSAGE(
      test::run_cli("run " + (dir / "graph.json").string() + " --output-dir " + (dir / "o").string(), &out) == 0, out);
  // 34 valid values of each column, all beyond 2^53 but pixel 6 of u (2^53 + 1 is beyond too).
  CHECK_MESSAGE(out.find("node \"both\" (raster_sink): 68 Int64/UInt64 values beyond 2^53 written as the nearest "
                         "Float64") != std::string::npos,
                out);
}
