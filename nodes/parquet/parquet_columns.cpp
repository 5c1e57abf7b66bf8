#include "nodes/parquet/parquet_columns.hpp"

#include <cmath>
#include <map>
#include <stdexcept>

namespace rasterflow::nodes {
namespace {

using parquet::Physical;

// 1 + 4 + 8 + 8: a little-endian WKB point.
constexpr std::size_t kWkbPoint = 21;

// Values written in place into buffers sized for every row (then cut to the values written):
// no growth or zero-filling per value.
template <class T, class Convert>
void put_values(parquet::ColumnData& out, const parquet::ColumnSpec& spec, const Column& col,
                const tile_memory::Vector<std::uint32_t>& cells, Convert convert) {
  const std::size_t rows = cells.size();
  out.values.resize(rows * sizeof(T));
  char* p = out.values.data();
  std::uint8_t* levels = nullptr;
  if (spec.optional) {
    out.defined.resize(rows);
    levels = out.defined.data();
  }
  std::size_t n = 0;
  for (std::size_t i = 0; i < rows; ++i) {
    const std::uint32_t cell = cells[i];
    const bool present = col.valid[cell] != 0;
    if (levels != nullptr) levels[i] = present ? 1 : 0;
    if (!present) continue;
    const T v = convert(col.values[cell]);
    std::memcpy(p + n * sizeof(T), &v, sizeof(T));
    ++n;
  }
  out.values.resize(n * sizeof(T));
  out.rows = n;
}

template <class T>
void put_integers(parquet::ColumnData& out, const parquet::ColumnSpec& spec, const Column& col,
                  const tile_memory::Vector<std::uint32_t>& cells) {
  double lo = spec.is_signed ? -std::ldexp(1.0, spec.int_bits - 1) : 0.0;
  double hi = spec.is_signed ? std::ldexp(1.0, spec.int_bits - 1) - 1 : std::ldexp(1.0, spec.int_bits) - 1;
  if (spec.int_bits == 0) {  // INT32 or INT64 without a logical type: signed, of the physical width
    lo = -std::ldexp(1.0, sizeof(T) * 8 - 1);
    hi = std::ldexp(1.0, sizeof(T) * 8 - 1) - 1;
  }
  const bool unsigned64 = !spec.is_signed && spec.int_bits == 64;
  put_values<T>(out, spec, col, cells, [&](double v) {
    if (!(v >= lo && v <= hi) || v != std::trunc(v))
      throw std::runtime_error("column \"" + spec.name + "\": value " + std::to_string(v) +
                               " is not an integer of its type");
    return unsigned64 ? static_cast<T>(static_cast<std::uint64_t>(v)) : static_cast<T>(v);
  });
}

// An Int64 or UInt64 column into INT64 (UInt64: INT(64, false)), from its integers: every digit.
void put_wide(parquet::ColumnData& out, const parquet::ColumnSpec& spec, const Column& col,
              const tile_memory::Vector<std::uint32_t>& cells) {
  if ((col.kind == ValueKind::int64) != spec.is_signed)
    throw std::runtime_error("column \"" + spec.name + "\": 64-bit values of the other signedness than its type");
  const std::size_t rows = cells.size();
  out.values.resize(rows * sizeof(std::int64_t));
  if (spec.optional) out.defined.resize(rows);
  std::size_t n = 0;
  for (std::size_t i = 0; i < rows; ++i) {
    const std::uint32_t cell = cells[i];
    const bool present = col.valid[cell] != 0;
    if (spec.optional) out.defined[i] = present ? 1 : 0;
    if (!present) continue;
    std::memcpy(out.values.data() + n * sizeof(std::int64_t), &col.integers[cell], sizeof(std::int64_t));
    ++n;
  }
  out.values.resize(n * sizeof(std::int64_t));
  out.rows = n;
}

template <class T>
void put_floats(parquet::ColumnData& out, const parquet::ColumnSpec& spec, const Column& col,
                const tile_memory::Vector<std::uint32_t>& cells) {
  put_values<T>(out, spec, col, cells, [](double v) { return static_cast<T>(v); });
}

void put_column(parquet::ColumnData& out, const parquet::ColumnSpec& spec, const Column& col,
                const tile_memory::Vector<std::uint32_t>& cells) {
  switch (spec.type) {
    case Physical::int32:
      return put_integers<std::int32_t>(out, spec, col, cells);
    case Physical::int64:
      if (is_wide(col.kind)) return put_wide(out, spec, col, cells);
      return put_integers<std::int64_t>(out, spec, col, cells);
    case Physical::float32:
      return put_floats<float>(out, spec, col, cells);
    case Physical::float64:
    case Physical::byte_array:
      return put_floats<double>(out, spec, col, cells);
  }
}

void put_point(parquet::ColumnData& out, double x, double y) {
  char wkb[kWkbPoint];
  wkb[0] = 1;  // little-endian
  const std::uint32_t point = 1;
  std::memcpy(wkb + 1, &point, 4);
  std::memcpy(wkb + 5, &x, 8);
  std::memcpy(wkb + 13, &y, 8);
  out.add_bytes(std::string_view(wkb, kWkbPoint));
}

}  // namespace

parquet::ColumnSpec parquet_column(const std::string& name, const std::string& gdal_type) {
  struct Type {
    Physical physical;
    int bits;
    bool is_signed;
  };
  static const std::map<std::string, Type> types = {
      {"Byte", {Physical::int32, 8, false}},    {"Int8", {Physical::int32, 8, true}},
      {"Int16", {Physical::int32, 16, true}},   {"UInt16", {Physical::int32, 16, false}},
      {"Int32", {Physical::int32, 0, true}},    {"UInt32", {Physical::int64, 0, true}},
      {"Int64", {Physical::int64, 0, true}},    {"UInt64", {Physical::int64, 64, false}},
      {"Float32", {Physical::float32, 0, true}}};
  parquet::ColumnSpec spec{.name = name};
  if (const auto it = types.find(gdal_type); it != types.end()) {
    spec.type = it->second.physical;
    spec.int_bits = it->second.bits;
    spec.is_signed = it->second.is_signed;
  }
  return spec;
}

std::shared_ptr<ParquetRows> parquet_rows(const ParquetLayout& layout, const Table& table, std::size_t tile_width,
                                          std::int64_t tile_row0, const std::vector<double>& xs,
                                          const std::vector<double>& ys) {
  auto rows = std::make_shared<ParquetRows>();
  rows->columns.resize(layout.columns.size());
  rows->rows = table.cells.size();
  auto& x = rows->columns[0];
  auto& y = rows->columns[1];
  x.values.resize(rows->rows * 8);
  y.values.resize(rows->rows * 8);
  x.rows = y.rows = rows->rows;
  for (std::size_t i = 0; i < rows->rows; ++i) {
    const std::uint32_t cell = table.cells[i];
    const double cx = xs[cell % tile_width];
    const double cy = ys[static_cast<std::size_t>(tile_row0) + cell / tile_width];
    std::memcpy(x.values.data() + i * 8, &cx, 8);
    std::memcpy(y.values.data() + i * 8, &cy, 8);
  }
  for (std::size_t k = 0; k < table.columns.size(); ++k)
    put_column(rows->columns[layout.first_value + k], layout.columns[layout.first_value + k], *table.columns[k],
               table.cells);
  std::size_t next = layout.first_value + table.columns.size();
  if (layout.geometry) {
    auto& g = rows->columns[next++];
    for (std::size_t i = 0; i < rows->rows; ++i) {
      double px, py;
      std::memcpy(&px, x.values.data() + i * 8, 8);
      std::memcpy(&py, y.values.data() + i * 8, 8);
      put_point(g, px, py);
    }
  }
  if (layout.bbox) {
    // A point's box is the point: xmin = xmax = x, ymin = ymax = y.
    for (const std::size_t c : {0, 1, 0, 1}) rows->columns[next++].values = rows->columns[c].values;
    for (std::size_t k = 1; k <= 4; ++k) rows->columns[next - k].rows = rows->rows;
  }
  return rows;
}

void append_rows(parquet::ColumnData& dst, const parquet::ColumnData& src, const parquet::ColumnSpec& spec,
                 RowCursor& at, std::size_t rows) {
  std::size_t values = rows;
  if (spec.optional) {
    const auto* d = src.defined.data() + at.row;
    dst.defined.insert(dst.defined.end(), d, d + rows);
    values = 0;
    for (std::size_t r = 0; r < rows; ++r) values += d[r];
  }
  std::size_t bytes = 0;
  switch (spec.type) {
    case Physical::int32:
    case Physical::float32:
      bytes = values * 4;
      break;
    case Physical::int64:
    case Physical::float64:
      bytes = values * 8;
      break;
    case Physical::byte_array:
      for (std::size_t k = 0; k < values; ++k) {
        std::uint32_t length = 0;
        std::memcpy(&length, src.values.data() + at.byte + bytes, 4);
        bytes += 4 + length;
      }
      break;
  }
  dst.values.append(src.values, at.byte, bytes);
  dst.rows += values;
  at.row += rows;
  at.byte += bytes;
}

}  // namespace rasterflow::nodes
