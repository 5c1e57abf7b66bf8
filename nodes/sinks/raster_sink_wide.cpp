// The raster sink's Int64 and UInt64 bands (issue #29): values written from the columns' 64-bit
// integers with every digit, the nodata value set exactly (GDAL's AsInt64/AsUInt64 calls), and a
// 64-bit column that a band type of doubles holds only nearly counted and warned of.
#include <cpl_error.h>

#include <cmath>
#include <cstring>
#include <limits>

#include <spdlog/spdlog.h>

#include "nodes/sinks/raster_sink.hpp"
#include "rasterflow/errors.hpp"

namespace rasterflow::nodes {
namespace {

constexpr std::int64_t kTwoTo53 = std::int64_t{1} << 53;

// Whether a value (bits of `kind`) is one a double holds exactly.
bool fits_double(std::int64_t bits, ValueKind kind) {
  if (kind == ValueKind::uint64) return static_cast<std::uint64_t>(bits) <= static_cast<std::uint64_t>(kTwoTo53);
  return bits >= -kTwoTo53 && bits <= kTwoTo53;
}

// The bits band type `type` (Int64 or UInt64) holds for cell `cell` of `column`; `changed` when
// the value is not one of the type's (clamped, as GDAL's copy clamps).
std::int64_t band_bits(const Column& column, std::size_t cell, GDALDataType type, bool& changed) {
  const bool to_signed = type == GDT_Int64;
  if (column.kind == ValueKind::int64 || column.kind == ValueKind::uint64) {
    const std::int64_t bits = column.integers[cell];
    const bool from_signed = column.kind == ValueKind::int64;
    if (from_signed == to_signed || bits >= 0) return bits;
    changed = true;  // a negative Int64 into UInt64, or a UInt64 beyond 2^63 - 1 into Int64
    return to_signed ? std::numeric_limits<std::int64_t>::max() : 0;
  }
  const double v = column.kind == ValueKind::float32 ? static_cast<double>(static_cast<float>(column.values[cell]))
                                                     : column.values[cell];
  std::int64_t bits = 0;
  GDALCopyWords64(&v, GDT_Float64, 0, &bits, type, 0, 1);
  double back = 0;
  GDALCopyWords64(&bits, type, 0, &back, GDT_Float64, 0, 1);
  changed = back != v;
  return bits;
}

}  // namespace

void RasterSink::prepare_wide_nodata() {
  if (type_ != GDT_Int64 && type_ != GDT_UInt64) return;
  // nodata_ is a double: the type's extreme by default (2^64 - 1 reads as the double 2^64).
  if (!options_.nodata) {
    wide_nodata_ = type_ == GDT_Int64 ? std::numeric_limits<std::int64_t>::min() : -1;
  } else if (type_ == GDT_UInt64) {
    wide_nodata_ = nodata_ >= 0x1p64 ? -1 : static_cast<std::int64_t>(static_cast<std::uint64_t>(nodata_));
  } else {
    wide_nodata_ = nodata_ >= 0x1p63 ? std::numeric_limits<std::int64_t>::max() : static_cast<std::int64_t>(nodata_);
  }
}

void RasterSink::format_wide(const TileRequest& tile, const Table& table, std::size_t b, std::byte* rows) const {
  const Column& column = *table.columns[b];
  const std::size_t width = static_cast<std::size_t>(tile.width);
  const std::size_t bands = table.columns.size();
  for (std::size_t r = 0; r < static_cast<std::size_t>(tile.rows); ++r) {
    for (std::size_t c = 0; c < width; ++c) std::memcpy(rows + ((r * bands + b) * width + c) * 8, &wide_nodata_, 8);
  }
  std::uint64_t changed = 0;
  for (const std::uint32_t cell : table.cells) {
    if (!column.valid[cell]) continue;
    bool differs = false;
    const std::int64_t bits = band_bits(column, cell, type_, differs);
    changed += differs ? 1 : 0;
    const std::size_t r = cell / width, c = cell % width;
    const auto grid_row = std::to_string(tile.row0 + static_cast<std::int64_t>(r));
    if (bits == wide_nodata_) {
      throw_node_error(where(), "option \"nodata\": column \"" + names_[b] + "\" has the nodata value (grid row " +
                                    grid_row + ", column " + std::to_string(c) +
                                    "); choose a nodata value the data does not take");
    }
    if (cf_ && is_wide(column.kind) && !fits_double(bits, column.kind)) {
      throw_node_error(where(), "option \"format\": column \"" + names_[b] + "\" holds a 64-bit value beyond 2^53 " +
                                    "(grid row " + grid_row + ", column " + std::to_string(c) + "), which the " +
                                    options_.format + " output (written through doubles) would not keep; write GTiff");
    }
    std::memcpy(rows + ((r * bands + b) * width + c) * 8, &bits, 8);
  }
  if (changed > 0) changed_->fetch_add(changed, std::memory_order_relaxed);
}

void RasterSink::count_inexact(const Column& column, const Table& table) const {
  std::uint64_t inexact = 0;
  for (const std::uint32_t cell : table.cells) {
    if (column.valid[cell] && !fits_double(column.integers[cell], column.kind)) ++inexact;
  }
  if (inexact > 0) inexact_->fetch_add(inexact, std::memory_order_relaxed);
}

void RasterSink::warn_inexact() const {
  const std::uint64_t n = inexact_->load();
  if (n == 0) return;
  spdlog::warn(
      "{}: {} Int64/UInt64 value{} beyond 2^53 written as the nearest {} (the band type all the columns share); "
      "write the 64-bit columns alone, or give data_type Int64 or UInt64, to keep every digit",
      where(), n, n == 1 ? "" : "s", GDALGetDataTypeName(type_));
}

}  // namespace rasterflow::nodes
