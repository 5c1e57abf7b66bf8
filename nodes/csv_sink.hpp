#pragma once
// csv_sink: writes the merged table as CSV (x,y,<columns>), one row per kept cell at its
// centre, in raster order. Tiles are formatted in parallel; the base class writes them in order.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "nodes/common/file_sink.hpp"
#include "nodes/common/payloads.hpp"

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

class CsvSink final : public FileSink {
 public:
  explicit CsvSink(NodeSpec spec);
  void prepare(const RunContext& ctx, std::span<Node* const> inputs) override;
  PayloadPtr process(const TileRequest& tile, std::span<const PayloadPtr> inputs) override;
  void write(const TileRequest& tile, const PayloadPtr& data) override;
  std::vector<std::string> describe() const override;
  std::size_t estimate_bytes(std::int64_t cells) const override;

 private:
  Grid grid_;
  std::vector<std::string> x_text_;  // formatted x of every grid column, computed once
  std::string nodata_;
  std::size_t chunk_rows_ = 5000;
  std::vector<std::string> y_text_;  // formatted y of every grid row
  std::size_t max_x_text_ = 0;
  std::size_t max_y_text_ = 0;
  std::unique_ptr<BufferPool> pool_;
};

}  // namespace rasterflow::nodes
