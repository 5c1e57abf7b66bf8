#pragma once
// csv_sink: writes the merged table as CSV (x,y,<columns>), one row per kept cell at its
// centre, in raster order. Tiles are formatted in parallel; the base class writes them in order.
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "nodes/common/file_sink.hpp"
#include "nodes/common/payloads.hpp"
#include "rasterflow/option_binder.hpp"

namespace rasterflow::nodes {

// Fixed notation with `decimals` digits, then trailing zeros (and a bare dot) removed; "-0" is
// written "0". Appends to `out`.
void append_fixed(std::string& out, double value, int decimals);
// Integers as integers; Float32 and Float64 in shortest round-trip form of their own width.
void append_value(std::string& out, double value, ValueKind kind);

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
// compiler inlines (a copy of each text's own size was a library call per value: memmove under
// the formatting was 13% of the samples on a band of large, 6% after). Texts longer than a slot
// are copied by their size.
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

struct CsvSinkOptions {
  std::string path;
  void declare(OptionBinder& args);
};

class CsvSink final : public FileSink {
 public:
  explicit CsvSink(NodeSpec spec);
  void prepare(const RunContext& ctx, std::span<Node* const> inputs) override;
  PayloadPtr process(const TileRequest& tile, std::span<const PayloadPtr> inputs) override;
  void write(const TileRequest& tile, const PayloadPtr& data) override;
  std::vector<std::string> describe() const override;
  std::size_t estimate_bytes(std::int64_t cells) const override;

 private:
  // The most one row can take: the widest x and y, and each value (<= 24 characters for a
  // double in shortest form) or the nodata text, with separators, and the slots' slack.
  std::size_t row_bytes(std::size_t columns) const;
  // `spec` is taken by reference so that the options are bound from it before it is moved.
  CsvSink(CsvSinkOptions options, NodeSpec&& spec);
  CsvSinkOptions options_;
  Grid grid_;
  CoordinateTexts x_text_;  // of every grid column
  CoordinateTexts y_text_;  // of every grid row
  std::string nodata_;
  std::size_t chunk_rows_ = 5000;
  std::unique_ptr<BufferPool> pool_;
};

}  // namespace rasterflow::nodes
