#include <doctest/doctest.h>

#include "nodes/csv_sink.hpp"
#include "rasterflow/registry.hpp"

using namespace rasterflow;

namespace {
std::string fixed(double v, int d) {
  std::string s;
  nodes::append_fixed(s, v, d);
  return s;
}
std::string value(double v, nodes::ValueKind k) {
  std::string s;
  nodes::append_value(s, v, k);
  return s;
}
}  // namespace

TEST_CASE("CsvSink.Registry.IsASink") {
  const NodeTypeInfo* info = NodeRegistry::instance().find("csv_sink");
  REQUIRE(info != nullptr);
  CHECK(info->is_sink);
  CHECK(info->input_kind == "table");
}

TEST_CASE("CsvSink.Coordinates.FixedWithFewestDecimals") {
  CHECK(fixed(-179.91000000000003, 3) == "-179.91");
  CHECK(fixed(-179.975, 3) == "-179.975");
  CHECK(fixed(1.0, 2) == "1");
  CHECK(fixed(-0.0000001, 3) == "0");
  CHECK(fixed(42.0, 0) == "42");
  CHECK(fixed(0.05, 12) == "0.05");
}

TEST_CASE("CsvSink.Values.IntegersAndShortestRoundTrip") {
  CHECK(value(-32767, nodes::ValueKind::integer) == "-32767");
  CHECK(value(4294967295.0, nodes::ValueKind::integer) == "4294967295");
  CHECK(value(static_cast<double>(0.1f), nodes::ValueKind::float32) == "0.1");
  CHECK(value(0.1, nodes::ValueKind::float64) == "0.1");
  CHECK(value(static_cast<double>(0.1f), nodes::ValueKind::float64) == "0.10000000149011612");
  CHECK(value(5.5, nodes::ValueKind::float64) == "5.5");
  CHECK(value(12.0, nodes::ValueKind::float64) == "12");
}
