// The byte-level pieces of parquet_sink's writer against the specifications' own examples:
// Thrift's compact protocol, Parquet's RLE/bit-packed hybrid, and statistics in type order.
// (Whole files are checked by independent readers in tests/parquet/.)
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "nodes/parquet/parquet_chunk.hpp"
#include "nodes/parquet/parquet_encoding.hpp"
#include "nodes/parquet/thrift_compact.hpp"

using namespace rasterflow::nodes;

namespace {

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (const int v : values) out += static_cast<char>(v);
  return out;
}

template <class T>
parquet::ColumnData column_of(std::initializer_list<T> values) {
  parquet::ColumnData data;
  for (const T v : values) data.add(v);
  return data;
}

template <class T>
T decoded(const std::string& plain) {
  T v;
  REQUIRE(plain.size() == sizeof(T));
  std::memcpy(&v, plain.data(), sizeof(T));
  return v;
}

}  // namespace

TEST_CASE("ParquetEncoding.ThriftCompact.FieldHeadersVarintsAndStructs") {
  std::string out;
  thrift::CompactWriter w(out);
  w.field_i32(1, 2);      // delta 1, type i32 (5); zigzag(2) = 4
  w.field_i64(3, -1);     // delta 2, type i64 (6); zigzag(-1) = 1
  w.field_i32(20, 300);   // delta 17: type byte, then zigzag(20) = 40; zigzag(300) = 600 = 0xd8 0x04
  w.begin_struct(21);     // delta 1, struct (12)
  w.field_bool(1, true);  // inside: delta 1, bool true (1)
  w.end_struct();         // stop
  w.field_binary(22, "ab");
  w.begin_list(23, thrift::Type::i32, 2);  // size 2, element i32
  w.element_i32(-2);                       // zigzag(-2) = 3
  w.element_i32(1);
  w.end_message();
  CHECK(out == bytes({0x15, 0x04, 0x26, 0x01, 0x05, 0x28, 0xd8, 0x04, 0x1c, 0x11,
                      0x00, 0x18, 0x02, 'a',  'b',  0x19, 0x25, 0x03, 0x02, 0x00}));
}

TEST_CASE("ParquetEncoding.RleHybrid.TheSpecificationsExamples") {
  // parquet-format Encodings.md: 0..7 bit-packed at 3 bits is 10001000 11000110 11111010.
  const std::uint32_t counting[] = {0, 1, 2, 3, 4, 5, 6, 7};
  std::string out;
  parquet::append_rle_hybrid(out, counting, 8, 3);
  CHECK(out == bytes({0x03, 0x88, 0xc6, 0xfa}));
  // A run of 10 fives at 3 bits: header 10 << 1, the value in one byte.
  const std::uint32_t fives[] = {5, 5, 5, 5, 5, 5, 5, 5, 5, 5};
  out.clear();
  parquet::append_rle_hybrid(out, fives, 10, 3);
  CHECK(out == bytes({0x14, 0x05}));
  // Levels whose last 4 values are too few for a run: two bit-packed groups (header 2 << 1 | 1),
  // LSB first, the second padded with zeros.
  const std::uint8_t levels[] = {0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  out.clear();
  parquet::append_rle_hybrid(out, levels, 12, 1);
  CHECK(out == bytes({0x05, 0xfa, 0x0f}));
  // 2 values, then a run of 16: one bit-packed group (which takes the run's first 6), then the
  // run's other 10 as an RLE run.
  std::uint8_t mixed[18] = {0, 0};
  for (int i = 2; i < 18; ++i) mixed[i] = 1;
  out.clear();
  parquet::append_rle_hybrid(out, mixed, 18, 1);
  CHECK(out == bytes({0x03, 0xfc, 0x14, 0x01}));
  // Fewer than 8 values: one group, padded with zeros.
  out.clear();
  parquet::append_rle_hybrid(out, levels, 3, 1);
  CHECK(out == bytes({0x03, 0x02}));
}

TEST_CASE("ParquetEncoding.Statistics.FollowTheTypesOrders") {
  // INT64 with the unsigned logical type: 2^63 and above order after the signed maximum.
  parquet::ColumnSpec u64{.name = "u", .type = parquet::Physical::int64, .int_bits = 64, .is_signed = false};
  auto data = column_of<std::int64_t>({5, static_cast<std::int64_t>(0x8000000000000000ull), 7});
  auto s = parquet::statistics_of(u64, data, 4);
  CHECK(s.null_count == 1);
  REQUIRE(s.min_max);
  CHECK(decoded<std::int64_t>(s.min_max->first) == 5);
  CHECK(static_cast<std::uint64_t>(decoded<std::int64_t>(s.min_max->second)) == 0x8000000000000000ull);
  // The same bits signed: the minimum is negative.
  u64.is_signed = true;
  s = parquet::statistics_of(u64, data, 3);
  CHECK(decoded<std::int64_t>(s.min_max->first) < 0);
  // Floats: NaN left out; a zero minimum is -0.0, a zero maximum +0.0.
  parquet::ColumnSpec f32{.name = "f", .type = parquet::Physical::float32};
  auto floats = column_of<float>({0.0f, NAN, -0.0f});
  s = parquet::statistics_of(f32, floats, 3);
  REQUIRE(s.min_max);
  CHECK(std::signbit(decoded<float>(s.min_max->first)));
  CHECK_FALSE(std::signbit(decoded<float>(s.min_max->second)));
  // Only NaN: no min or max at all.
  auto nans = column_of<double>({NAN, NAN});
  CHECK_FALSE(parquet::statistics_of(parquet::ColumnSpec{.name = "d"}, nans, 2).min_max);
}
