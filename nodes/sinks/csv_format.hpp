#pragma once
// The CSV text rules, one unit: numbers (coordinates in fixed notation, values in the shortest
// text of their type), the header's quoting, and the fixed-size pieces rows are put together
// from. Used by csv_sink; nothing else in the engine or the nodes knows CSV.
#include <charconv>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "rasterflow/node/payload.hpp"

namespace rasterflow::nodes {

// The same characters as std::to_chars(p, end, value) (the shortest text that reads back as
// the same float, fixed or scientific, whichever is shorter, fixed on a tie), about 1.6 x
// faster on the harness's values: the digits come from fmt's Dragonbox (libfmt, which spdlog
// already links), the layout is written here. Needs 24 bytes at p; returns the end.
char* format_float32(char* p, float value);

// Shortest text of a value: integers as integers, Float32 as the float it is. Writes at p
// (at most 24 characters) and returns the end.
inline char* format_value(char* p, char* end, double value, ValueKind kind) {
  switch (kind) {
    case ValueKind::integer:
    case ValueKind::int64:  // (format_cell writes these from their integers)
    case ValueKind::uint64:
      return std::to_chars(p, end, static_cast<std::int64_t>(value)).ptr;
    case ValueKind::float32:
      return format_float32(p, static_cast<float>(value));
    case ValueKind::float64:
      return std::to_chars(p, end, value).ptr;
  }
  return p;
}

// Cell `cell` of `col` as format_value writes it; Int64 and UInt64 columns from their integers,
// every digit.
inline char* format_cell(char* p, char* end, const Column& col, std::size_t cell) {
  if (col.kind == ValueKind::int64) [[unlikely]]
    return std::to_chars(p, end, col.integers[cell]).ptr;
  if (col.kind == ValueKind::uint64) [[unlikely]]
    return std::to_chars(p, end, static_cast<std::uint64_t>(col.integers[cell])).ptr;
  return format_value(p, end, col.values[cell], col.kind);
}

// A header field as RFC 4180 has it: as it is, or in double quotes (quotes doubled) when it
// holds a comma, a quote or a line break.
std::string csv_field(const std::string& text);

// Fixed notation with `decimals` digits, then trailing zeros (and a bare dot) removed; "-0" is
// written "0". Appends to `out`.
void append_fixed(std::string& out, double value, int decimals);
// Integers as integers; Float32 and Float64 in shortest round-trip form of their own width.
void append_value(std::string& out, double value, ValueKind kind);
void append_cell(std::string& out, const Column& col, std::size_t cell);  // format_cell's text

// Fixed-size text buffers, reused between tiles so that formatting does not page-fault fresh
// memory for every tile. Thread-safe.
class BufferPool {
 public:
  BufferPool(std::size_t capacity, std::size_t keep);
  std::unique_ptr<char[]> take();
  void give_back(std::unique_ptr<char[]> buffer);
  std::size_t capacity() const { return capacity_; }

 private:
  std::size_t capacity_;
  std::size_t keep_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<char[]>> free_;
};

// The formatted coordinates of every grid column (or row), computed once, each in a slot of
// kSlot bytes: a row of the table is put together with copies of one fixed size, which the
// compiler inlines (a copy of each text's own size is a library call per value; the measured
// gain is in docs/benchmarks.md). Texts longer than a slot are copied by their size.
class CoordinateTexts {
 public:
  static constexpr std::size_t kSlot = 32;
  void build(const std::vector<std::string>& texts);
  std::size_t longest() const { return longest_; }
  // Writes text i at p and returns its end; may write up to kSlot bytes (their tail is
  // overwritten by what follows, and buffers keep kSlot bytes of slack for it).
  char* put(char* p, std::size_t i) const {
    if (longest_ <= kSlot) {
      std::memcpy(p, slots_.data() + i * kSlot, kSlot);
    } else {
      std::memcpy(p, slots_.data() + i * longest_, sizes_[i]);
    }
    return p + sizes_[i];
  }

 private:
  std::vector<char> slots_;
  std::vector<std::uint32_t> sizes_;
  std::size_t longest_ = 0;
};

}  // namespace rasterflow::nodes
