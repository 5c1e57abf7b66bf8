#pragma once
// A Parquet file writer for flat tables (and one-level groups of required columns): the
// values of one row group at a time in ColumnData, encoded into column chunks of data pages
// (v1; PLAIN, or a dictionary page and RLE_DICTIONARY indices when that is smaller),
// definition levels for nullable columns, compressed pages, statistics (null count, min and
// max in the column's type order), and the footer (FileMetaData) with key-value metadata.
// The writer holds no file: it returns bytes, which the caller writes in order
// (`kMagic`, each row_group(), then footer()). Deterministic: the same values give the same
// bytes, whatever the threads.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nodes/parquet/parquet_metadata.hpp"

namespace rasterflow::nodes::parquet {

inline constexpr std::string_view kMagic = "PAR1";

// One column's values in the open row group: PLAIN bytes of the non-null values (fixed width
// in the machine's little-endian layout, or length-prefixed byte arrays), and for a nullable
// column one definition level (1 value, 0 null) per row.
struct ColumnData {
  std::string values;
  std::vector<std::uint8_t> defined;
  std::size_t rows = 0;
  template <class T>
  void add(T v) {
    const std::size_t at = values.size();
    values.resize(at + sizeof(T));
    std::memcpy(values.data() + at, &v, sizeof(T));
    ++rows;
  }
  void add_bytes(std::string_view bytes);
  // For nullable columns: a value (add() too) or a null (nothing else).
  void define(bool present) { defined.push_back(present ? 1 : 0); }
  void clear() {
    values.clear();
    defined.clear();
    rows = 0;
  }
  std::size_t bytes() const { return values.capacity() + defined.capacity(); }
};

struct WriterOptions {
  Codec codec = Codec::zstd;
  int level = 3;
  std::size_t page_bytes = std::size_t{1} << 20;        // of values in a data page, uncompressed
  std::size_t dictionary_bytes = std::size_t{1} << 20;  // the largest dictionary page; PLAIN beyond
};

class Writer {
 public:
  Writer(std::vector<ColumnSpec> columns, WriterOptions options);
  const std::vector<ColumnSpec>& columns() const { return columns_; }
  // The bytes of one row group of `rows` rows (data[i] for columns()[i]; ColumnData::rows is
  // the number of values, the nulls of nullable columns are in `defined`), to be written at
  // byte `offset` of the file; its metadata is kept for the footer. Columns are encoded in
  // parallel.
  std::string row_group(const std::vector<ColumnData>& data, std::size_t rows, std::int64_t offset);
  // FileMetaData, its length and the closing magic.
  std::string footer(const std::vector<std::pair<std::string, std::string>>& key_values,
                     const std::string& created_by) const;
  const std::vector<RowGroupMeta>& row_groups() const { return row_groups_; }
  // The row groups the footer describes, as written before (a resumed run's, or every MPI
  // rank's once rebased to their place in the file).
  void set_row_groups(std::vector<RowGroupMeta> groups) { row_groups_ = std::move(groups); }

 private:
  std::vector<ColumnSpec> columns_;
  WriterOptions options_;
  std::vector<RowGroupMeta> row_groups_;
};

}  // namespace rasterflow::nodes::parquet
