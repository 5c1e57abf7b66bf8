#pragma once
// How parquet_sink lays out the merged table: the Parquet type of each column (from its GDAL
// type, as the CSV's text and postgres_sink's SQL types have it), and the tile's kept cells
// turned into column values (x, y, each column, and the GeoParquet point and bbox columns).
#include <array>
#include <string>
#include <vector>

#include "nodes/parquet/parquet_writer.hpp"
#include "rasterflow/node/payload.hpp"

namespace rasterflow::nodes {

// Byte, UInt16 and Int8, Int16: INT32 with an 8- or 16-bit unsigned or signed INTEGER logical
// type; Int32: INT32; UInt32, Int64: INT64; UInt64: INT64 unsigned; Float32: FLOAT; Float64
// and anything else (an unknown type, complex): DOUBLE. Nullable (nodata is null).
parquet::ColumnSpec parquet_column(const std::string& name, const std::string& gdal_type);

// What the columns of a table become for one tile: the kept cells' values, column by column.
struct ParquetLayout {
  std::vector<parquet::ColumnSpec> columns;
  std::size_t first_value = 2;  // x, y, then the table's columns
  bool geometry = false;        // a WKB point column after them
  bool bbox = false;            // and the covering bbox group (xmin, ymin, xmax, ymax)
};

struct ParquetRows final : Payload {
  std::vector<parquet::ColumnData> columns;
  std::size_t rows = 0;
  std::vector<std::size_t> splits;  // the rows before each row group's first grid row in the tile
  std::size_t bytes() const noexcept override {
    std::size_t total = 0;
    for (const auto& c : columns) total += c.bytes();
    return total;
  }
};

// The rows of one tile (tile_row0: its first grid row; xs, ys: every grid column's and row's
// coordinate). Throws std::runtime_error naming the column when an integer column holds a
// value its type cannot (a fraction, or out of range): never written rounded.
std::shared_ptr<ParquetRows> parquet_rows(const ParquetLayout& layout, const Table& table, std::size_t tile_width,
                                          std::int64_t tile_row0, const std::vector<double>& xs,
                                          const std::vector<double>& ys);

// Appends rows [at.row, at.row + rows) of src to dst, advancing `at`.
struct RowCursor {
  std::size_t row = 0;
  std::size_t byte = 0;
};
void append_rows(parquet::ColumnData& dst, const parquet::ColumnData& src, const parquet::ColumnSpec& spec,
                 RowCursor& at, std::size_t rows);

}  // namespace rasterflow::nodes
