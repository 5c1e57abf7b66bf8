#include "nodes/parquet/parquet_metadata.hpp"

#include "nodes/parquet/thrift_compact.hpp"

namespace rasterflow::nodes::parquet {
namespace {

using thrift::CompactWriter;
using thrift::Type;

// The groups of a schema in order of first appearance, with their column counts.
std::vector<std::pair<std::string, int>> groups_of(const std::vector<ColumnSpec>& columns) {
  std::vector<std::pair<std::string, int>> groups;
  for (const auto& c : columns) {
    if (c.group.empty()) continue;
    if (groups.empty() || groups.back().first != c.group) groups.emplace_back(c.group, 0);
    ++groups.back().second;
  }
  return groups;
}

void write_leaf(CompactWriter& w, const ColumnSpec& c) {
  w.begin_element();
  w.field_i32(1, static_cast<std::int32_t>(c.type));
  w.field_i32(3, c.optional ? 1 : 0);  // OPTIONAL or REQUIRED
  w.field_binary(4, c.name);
  if (c.int_bits != 0) {
    // ConvertedType (INT_8.. 15-18, UINT_8.. 11-14) for older readers, and the logical type.
    const int step = c.int_bits == 8 ? 0 : c.int_bits == 16 ? 1 : c.int_bits == 32 ? 2 : 3;
    w.field_i32(6, (c.is_signed ? 15 : 11) + step);
    w.begin_struct(10);
    w.begin_struct(10);  // LogicalType.INTEGER: IntType
    w.field_i8(1, static_cast<std::int8_t>(c.int_bits));
    w.field_bool(2, c.is_signed);
    w.end_struct();
    w.end_struct();
  }
  w.end_struct();
}

void write_schema(CompactWriter& w, const std::vector<ColumnSpec>& columns) {
  const auto groups = groups_of(columns);
  const std::size_t top = columns.size() - [&] {
    std::size_t in_groups = 0;
    for (const auto& g : groups) in_groups += static_cast<std::size_t>(g.second) - 1;
    return in_groups;
  }();
  w.begin_list(2, Type::structure, columns.size() + 1 + groups.size());
  w.begin_element();
  w.field_binary(4, "schema");
  w.field_i32(5, static_cast<std::int32_t>(top));
  w.end_struct();
  std::string open;
  for (const auto& c : columns) {
    if (!c.group.empty() && c.group != open) {
      open = c.group;
      int n = 0;
      for (const auto& g : groups)
        if (g.first == c.group) n = g.second;
      w.begin_element();
      w.field_i32(3, 0);
      w.field_binary(4, c.group);
      w.field_i32(5, n);
      w.end_struct();
    }
    write_leaf(w, c);
  }
}

void write_statistics(CompactWriter& w, const Statistics& s) {
  w.begin_struct(12);
  w.field_i64(3, s.null_count);
  if (s.min_max) {
    w.field_binary(5, s.min_max->second);
    w.field_binary(6, s.min_max->first);
  }
  w.end_struct();
}

void write_chunk(CompactWriter& w, const ColumnSpec& c, const ChunkMeta& m, Codec codec) {
  w.begin_element();
  w.field_i64(2, 0);  // file_offset: deprecated, 0 as parquet-format asks
  w.begin_struct(3);
  w.field_i32(1, static_cast<std::int32_t>(c.type));
  w.begin_list(2, Type::i32, m.encodings.size());
  for (const auto e : m.encodings) w.element_i32(static_cast<std::int32_t>(e));
  w.begin_list(3, Type::binary, c.group.empty() ? 1 : 2);
  if (!c.group.empty()) w.element_binary(c.group);
  w.element_binary(c.name);
  w.field_i32(4, static_cast<std::int32_t>(codec));
  w.field_i64(5, m.num_values);
  w.field_i64(6, m.uncompressed);
  w.field_i64(7, m.compressed);
  w.field_i64(9, m.data_page_offset);
  if (m.dictionary_page_offset) w.field_i64(11, *m.dictionary_page_offset);
  write_statistics(w, m.stats);
  w.end_struct();
  w.end_struct();
}

void write_row_group(CompactWriter& w, const std::vector<ColumnSpec>& columns, const RowGroupMeta& g, Codec codec) {
  w.begin_element();
  w.begin_list(1, Type::structure, g.chunks.size());
  std::int64_t uncompressed = 0;
  std::int64_t compressed = 0;
  for (std::size_t i = 0; i < g.chunks.size(); ++i) {
    write_chunk(w, columns[i], g.chunks[i], codec);
    uncompressed += g.chunks[i].uncompressed;
    compressed += g.chunks[i].compressed;
  }
  w.field_i64(2, uncompressed);
  w.field_i64(3, g.rows);
  w.field_i64(5, g.file_offset);
  w.field_i64(6, compressed);
  w.end_struct();
}

}  // namespace

void append_page_header(std::string& out, const PageHeader& page) {
  CompactWriter w(out);
  w.field_i32(1, page.dictionary ? 2 : 0);
  w.field_i32(2, page.uncompressed);
  w.field_i32(3, page.compressed);
  if (page.dictionary) {
    w.begin_struct(7);
    w.field_i32(1, page.num_values);
    w.field_i32(2, static_cast<std::int32_t>(Encoding::plain));
  } else {
    w.begin_struct(5);
    w.field_i32(1, page.num_values);
    w.field_i32(2, static_cast<std::int32_t>(page.encoding));
    w.field_i32(3, static_cast<std::int32_t>(Encoding::rle));
    w.field_i32(4, static_cast<std::int32_t>(Encoding::rle));
  }
  w.end_struct();
  w.end_message();
}

void append_file_metadata(std::string& out, const std::vector<ColumnSpec>& columns, Codec codec,
                          const std::vector<RowGroupMeta>& row_groups,
                          const std::vector<std::pair<std::string, std::string>>& key_values,
                          const std::string& created_by) {
  CompactWriter w(out);
  w.field_i32(1, 2);
  write_schema(w, columns);
  std::int64_t rows = 0;
  for (const auto& g : row_groups) rows += g.rows;
  w.field_i64(3, rows);
  w.begin_list(4, Type::structure, row_groups.size());
  for (const auto& g : row_groups) write_row_group(w, columns, g, codec);
  w.begin_list(5, Type::structure, key_values.size());
  for (const auto& [key, value] : key_values) {
    w.begin_element();
    w.field_binary(1, key);
    w.field_binary(2, value);
    w.end_struct();
  }
  w.field_binary(6, created_by);
  // ColumnOrder TYPE_ORDER for every leaf: min_value and max_value follow the types' orders.
  w.begin_list(7, Type::structure, columns.size());
  for (std::size_t i = 0; i < columns.size(); ++i) {
    w.begin_element();
    w.begin_struct(1);
    w.end_struct();
    w.end_struct();
  }
  w.end_message();
}

}  // namespace rasterflow::nodes::parquet
