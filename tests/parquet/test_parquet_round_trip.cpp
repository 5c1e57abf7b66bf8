// parquet::Writer over generated tables, each file read back by DuckDB and Arrow's Rust reader
// and compared with the CSV of the same values: every type at its extremes, nulls, an all-null
// column, an empty table, one row, row-group and page boundaries, large dictionaries, every
// codec.
#include <doctest/doctest.h>

#include <charconv>
#include <fstream>
#include <random>

#include "nodes/parquet/parquet_writer.hpp"
#include "parquet/parquet_readers.hpp"
#include "support/test_support.hpp"

using namespace rasterflow::nodes;

namespace {

struct TypeName {
  parquet::Physical physical;
  int bits;
  bool is_signed;
  const char* duckdb;
  const char* arrow;
  double lo, hi;  // the values generated (integers: the type's range)
};

const TypeName kTypes[] = {
    {parquet::Physical::int32, 8, true, "TINYINT", "Int8", -128, 127},
    {parquet::Physical::int32, 8, false, "UTINYINT", "Uint8", 0, 255},
    {parquet::Physical::int32, 16, true, "SMALLINT", "Int16", -32768, 32767},
    {parquet::Physical::int32, 16, false, "USMALLINT", "Uint16", 0, 65535},
    {parquet::Physical::int32, 0, true, "INTEGER", "Int32", -2147483648.0, 2147483647.0},
    {parquet::Physical::int64, 0, true, "BIGINT", "Int64", -9007199254740992.0, 9007199254740992.0},
    {parquet::Physical::int64, 64, false, "UBIGINT", "Uint64", 0, 18446744073709549568.0},
    {parquet::Physical::float32, 0, true, "FLOAT", "Float32", -1e38, 1e38},
    {parquet::Physical::float64, 0, true, "DOUBLE", "Float64", -1e307, 1e307}};

// A generated table: the writer's columns, every value as its CSV text ("" null), and the
// checker's spec.
struct Table {
  std::vector<parquet::ColumnSpec> specs;
  std::vector<const TypeName*> types;
  std::vector<std::vector<std::string>> texts;  // [column][row]

  void add(const std::string& name, const TypeName& t, bool optional = true) {
    specs.push_back(
        {.name = name, .type = t.physical, .int_bits = t.bits, .is_signed = t.is_signed, .optional = optional});
    types.push_back(&t);
    texts.emplace_back();
  }
  std::size_t rows() const { return texts.empty() ? 0 : texts[0].size(); }
};

std::string text_of(const TypeName& t, double v) {
  char buf[64];
  if (t.physical == parquet::Physical::float32) return {buf, std::to_chars(buf, buf + 64, static_cast<float>(v)).ptr};
  if (t.physical == parquet::Physical::float64) return {buf, std::to_chars(buf, buf + 64, v).ptr};
  if (!t.is_signed && t.bits == 64) return std::to_string(static_cast<std::uint64_t>(v));
  return std::to_string(static_cast<std::int64_t>(v));
}

void add_value(parquet::ColumnData& data, const TypeName& t, const std::string& text) {
  switch (t.physical) {
    case parquet::Physical::int32:
      return data.add(static_cast<std::int32_t>(std::stoll(text)));
    case parquet::Physical::int64:
      return data.add(t.is_signed ? static_cast<std::int64_t>(std::stoll(text))
                                  : static_cast<std::int64_t>(std::stoull(text)));
    case parquet::Physical::float32:
      return data.add(std::stof(text));
    default:
      return data.add(std::stod(text));
  }
}

// Writes the table as Parquet (row groups of `group_rows`) and as CSV, and has the readers
// check the one against the other; returns the writer (for its metadata).
parquet::Writer write_and_check(const rasterflow::test::TempDir& dir, const std::string& name, const Table& table,
                                std::size_t group_rows, parquet::WriterOptions options) {
  parquet::Writer writer(table.specs, options);
  std::string file(parquet::kMagic);
  std::vector<std::string> groups;
  for (std::size_t r0 = 0; r0 < table.rows(); r0 += group_rows) {
    const std::size_t r1 = std::min(table.rows(), r0 + group_rows);
    std::vector<parquet::ColumnData> data(table.specs.size());
    for (std::size_t c = 0; c < table.specs.size(); ++c) {
      for (std::size_t r = r0; r < r1; ++r) {
        const std::string& text = table.texts[c][r];
        if (table.specs[c].optional) data[c].define(!text.empty());
        if (!text.empty()) add_value(data[c], *table.types[c], text);
      }
    }
    file += writer.row_group(data, r1 - r0, static_cast<std::int64_t>(file.size()));
    groups.push_back(std::to_string(r1 - r0));
  }
  file += writer.footer({{"rasterflow.test", name}}, "rasterflow test");
  rasterflow::test::write_text(dir / (name + ".parquet"), file);
  std::string csv;
  std::string spec = "{\"types\":{";
  for (std::size_t c = 0; c < table.specs.size(); ++c) {
    csv += (c ? "," : "") + table.specs[c].name;
    spec += std::string(c ? "," : "") + "\"" + table.specs[c].name + "\":[\"" + table.types[c]->duckdb + "\",\"" +
            table.types[c]->arrow + "\"]";
  }
  csv += "\n";
  for (std::size_t r = 0; r < table.rows(); ++r) {
    for (std::size_t c = 0; c < table.specs.size(); ++c) csv += (c ? "," : "") + table.texts[c][r];
    csv += "\n";
  }
  spec += "},\"kv\":[\"rasterflow.test\"],\"row_groups\":[";
  for (std::size_t g = 0; g < groups.size(); ++g) spec += (g ? "," : "") + groups[g];
  spec += "]}";
  rasterflow::test::write_text(dir / (name + ".csv"), csv);
  std::string report;
  CHECK_MESSAGE(
      rasterflow::test::check_with_readers(dir / (name + ".parquet"), dir / (name + ".csv"), spec, &report) == 0,
      name << ": " << report);
  return writer;
}

// Every type at random values and its extremes, 1 in 8 null, one column of each type all null.
Table every_type(std::size_t rows, unsigned seed) {
  Table t;
  std::mt19937_64 random(seed);
  t.add("x", kTypes[8], false);
  for (std::size_t r = 0; r < rows; ++r) t.texts[0].push_back(text_of(kTypes[8], static_cast<double>(r) * 0.25));
  for (const auto& type : kTypes) {
    t.add(std::string(type.arrow), type);
    t.add(std::string(type.arrow) + "_null", type);
    for (std::size_t r = 0; r < rows; ++r) {
      double v = r == 1 ? type.lo : r == 2 ? type.hi : std::uniform_real_distribution<double>(type.lo, type.hi)(random);
      if (type.physical == parquet::Physical::int32 || type.physical == parquet::Physical::int64) v = std::floor(v);
      t.texts[t.texts.size() - 2].push_back(random() % 8 == 0 && r > 2 ? "" : text_of(type, v));
      t.texts.back().emplace_back();
    }
  }
  return t;
}

}  // namespace

TEST_CASE("ParquetRoundTrip.EveryTypeEveryCodec.ReadersAgreeWithTheCsv" * doctest::timeout(240)) {
  rasterflow::test::TempDir dir;
  const Table table = every_type(3000, 1);
  for (const auto codec : {parquet::Codec::none, parquet::Codec::snappy, parquet::Codec::gzip, parquet::Codec::zstd}) {
    // Pages of 4 KiB: many data pages per chunk.
    write_and_check(dir, "codec" + std::to_string(static_cast<int>(codec)), table, 3000,
                    {.codec = codec, .level = codec == parquet::Codec::gzip ? 6 : 3, .page_bytes = 4096});
  }
}

TEST_CASE("ParquetRoundTrip.EmptyTableAndOneRow.ReadersAgreeWithTheCsv" * doctest::timeout(120)) {
  rasterflow::test::TempDir dir;
  const auto empty = write_and_check(dir, "empty", every_type(0, 2), 100, {});
  CHECK(empty.row_groups().empty());
  const auto one = write_and_check(dir, "one", every_type(1, 3), 100, {});
  CHECK(one.row_groups().size() == 1);
}

TEST_CASE("ParquetRoundTrip.RowGroupBoundaries.ReadersAgreeWithTheCsv" * doctest::timeout(120)) {
  rasterflow::test::TempDir dir;
  const Table table = every_type(2500, 4);
  const auto writer = write_and_check(dir, "groups", table, 1000, {.page_bytes = 1000});
  REQUIRE(writer.row_groups().size() == 3);
  CHECK(writer.row_groups()[2].rows == 500);
  // Row groups of one row each.
  write_and_check(dir, "single_rows", every_type(5, 5), 1, {});
}

TEST_CASE("ParquetRoundTrip.LargeDictionaries.UsedWhenSmallerElsePlain" * doctest::timeout(240)) {
  rasterflow::test::TempDir dir;
  Table t;
  t.add("classes", kTypes[4]);     // 40000 distinct INT32 in 200000 rows: a 160 KB dictionary
  t.add("unique", kTypes[5]);      // 200000 distinct INT64: a 1.6 MB dictionary, over the 1 MiB limit
  t.add("few", kTypes[7]);         // 3 distinct floats
  t.add("repeated", kTypes[8]);    // 70000 distinct doubles, each 3 times (560 KB dictionary)
  t.add("continuous", kTypes[8]);  // all distinct: given up after the first 65536 values
  std::mt19937_64 random(6);
  for (std::size_t r = 0; r < 200000; ++r) {
    t.texts[0].push_back(r % 11 == 0 ? "" : std::to_string(random() % 40000));
    t.texts[1].push_back(std::to_string(static_cast<std::int64_t>(r) * 1000003 - 5));
    t.texts[2].push_back(text_of(kTypes[7], 0.1 * static_cast<double>(r % 3)));
    t.texts[3].push_back(text_of(kTypes[8], static_cast<double>((r * 7919) % 20000) / 3.0));
    t.texts[4].push_back(text_of(kTypes[8], static_cast<double>(r) / 7.0));
  }
  const auto writer = write_and_check(dir, "dictionaries", t, 200000, {});
  const auto& chunks = writer.row_groups().at(0).chunks;
  const auto dictionary = [&](std::size_t c) { return chunks[c].dictionary_page_offset.has_value(); };
  CHECK(dictionary(0));
  CHECK_FALSE(dictionary(1));
  CHECK(dictionary(2));
  CHECK(dictionary(3));
  CHECK_FALSE(dictionary(4));
  // The fallback to PLAIN with a smaller dictionary limit, values unchanged.
  const auto plain = write_and_check(dir, "dictionaries_plain", t, 200000, {.dictionary_bytes = 100000});
  CHECK_FALSE(plain.row_groups().at(0).chunks[0].dictionary_page_offset.has_value());
}
