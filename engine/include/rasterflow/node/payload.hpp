#pragma once
// The data contract between nodes (installed, GDAL-free): what the raster nodes send each other
// for one tile, and what a node says of its output before the run. A node or sink written outside
// this repository reads its inputs with payload_as<Table>(...) etc.: the graph checked the edge
// kinds when it loaded, so a payload's type is a one-byte tag, not RTTI.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rasterflow/node/node.hpp"
#include "rasterflow/node/tile_memory.hpp"

namespace rasterflow {

// How a column's values are written: integers as integers, floats in shortest round-trip form
// of their own width (a Float32 value prints as the float it is, not as its double expansion).
// int64 and uint64: 64-bit integers held exactly in Column::integers (issue #29).
enum class ValueKind : std::uint8_t { integer, float32, float64, int64, uint64 };

inline bool is_wide(ValueKind kind) noexcept { return kind == ValueKind::int64 || kind == ValueKind::uint64; }

// One resampled band over a tile, cell by cell in raster order (tile.rows x tile.width).
// Values are doubles, which hold every input type up to 32 bits exactly; `valid` is 0 for nodata.
// A column of kind int64 or uint64 holds its values in `integers` instead (UInt64 as their bit
// pattern) and leaves `values` empty: the same 8 bytes a cell, and every digit beyond 2^53.
struct Column final : Payload {
  static constexpr PayloadType payload_type = PayloadType::column;
  Column() noexcept : Payload(payload_type) {}
  ValueKind kind = ValueKind::float64;
  tile_memory::Vector<double> values;  // pooled, on the tile's NUMA node
  tile_memory::Vector<std::uint8_t> valid;
  tile_memory::Vector<std::int64_t> integers;  // kinds int64 and uint64 only
  std::size_t bytes() const noexcept override {
    return values.capacity() * sizeof(double) + valid.capacity() + integers.capacity() * sizeof(std::int64_t);
  }
  // A cell's value as a double (the nearest double for a 64-bit integer beyond 2^53), whatever
  // the storage: for consumers that compute in doubles.
  double number(std::size_t cell) const noexcept {
    if (kind == ValueKind::int64) return static_cast<double>(integers[cell]);
    if (kind == ValueKind::uint64) return static_cast<double>(static_cast<std::uint64_t>(integers[cell]));
    return values[cell];
  }
};

// Several resampled bands of one source over a tile (a raster_source reading several bands),
// one Column each, in the order of their column names.
struct Columns final : Payload {
  static constexpr PayloadType payload_type = PayloadType::columns;
  Columns() noexcept : Payload(payload_type) {}
  std::vector<std::shared_ptr<const Column>> bands;
  std::size_t bytes() const noexcept override {
    std::size_t total = 0;
    for (const auto& b : bands) total += b->bytes();
    return total;
  }
};

// A node whose output is one Column or Columns says, once prepared, what suffixes name its
// columns: empty for one plain column named after the node, else `<name>_<suffix>` each.
class ColumnSuffixes {
 public:
  virtual ~ColumnSuffixes() = default;
  virtual std::vector<std::string> column_suffixes() const = 0;
};

// What a column measures, carried from its source to the outputs that have a place for it
// (NetCDF attributes, GeoTIFF band unit type, PostgreSQL column comments, Parquet metadata).
struct ColumnMetadata {
  std::string units;           // "K", "degC", "m2 s-2"; "" when the source gives none
  std::string standard_name;   // CF standard_name
  std::string long_name;       // CF long_name, or GRIB's comment without its unit
  std::string variable;        // the node that made the column (one variable's bands share it)
  std::optional<double> time;  // the band's time coordinate as stored, when it has one
  std::string time_units;      // "days since 1850-01-01"
  std::string time_calendar;   // "noleap"
  std::string quantity() const { return !standard_name.empty() ? standard_name : long_name; }
};

// A node whose output is a Table says its columns before the run (sinks size and check their
// output by them).
class TableProducer {
 public:
  virtual ~TableProducer() = default;
  virtual const std::vector<std::string>& column_names() const = 0;
  // The GDAL data type name of each column's values ("Byte", "Int16", "Float32", ...), once
  // the producer and its inputs are prepared; "" for a column whose type is not known.
  virtual std::vector<std::string> column_types() const { return {}; }
  // One per column, once prepared (empty when the producer knows none).
  virtual std::vector<ColumnMetadata> column_metadata() const { return {}; }
};

// A node whose output is a Column says the GDAL data type of its values once prepared.
class ColumnProducer {
 public:
  virtual ~ColumnProducer() = default;
  virtual std::string column_type() const = 0;
  // One per band it gives (a column each), once prepared.
  virtual std::vector<ColumnMetadata> column_metadata() const { return {}; }
};

// The merged table of a tile: the kept cells (indices into the tile, ascending) and, per
// column, a shared handle to the resampled band (no copy).
struct Table final : Payload {
  static constexpr PayloadType payload_type = PayloadType::table;
  Table() noexcept : Payload(payload_type) {}
  std::vector<std::string> names;
  std::vector<std::shared_ptr<const Column>> columns;
  tile_memory::Vector<std::uint32_t> cells;
  std::size_t bytes() const noexcept override { return cells.capacity() * sizeof(std::uint32_t); }
};

// The payload as the type T (Column, Columns, Table), or null when it is another type: one tag
// compare, no dynamic_cast, so a node may call it on every tile.
template <typename T>
std::shared_ptr<const T> payload_as(const PayloadPtr& payload) noexcept {
  if (!payload || payload->type() != T::payload_type) return nullptr;
  return std::static_pointer_cast<const T>(payload);
}

// The names nodes/ used before the contract was installed (nodes/common/payloads.hpp).
namespace nodes {
using rasterflow::Column;
using rasterflow::ColumnMetadata;
using rasterflow::ColumnProducer;
using rasterflow::Columns;
using rasterflow::ColumnSuffixes;
using rasterflow::is_wide;
using rasterflow::payload_as;
using rasterflow::Table;
using rasterflow::TableProducer;
using rasterflow::ValueKind;
}  // namespace nodes

}  // namespace rasterflow
