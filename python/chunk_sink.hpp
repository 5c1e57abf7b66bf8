#pragma once
// The in-process end of rasterflow.chunks(): a sink that turns each tile's merged table into
// columns of the kept rows (what NumPy arrays are made of) and hands them, in raster order, to a
// bounded queue that the Python iterator drains. A full queue blocks the sink's serial writer,
// so the engine's own backpressure (tiles in flight bounded by its byte budget) holds however
// slowly Python consumes. No Python in here: the queue is plain C++, read under the GIL by
// the module.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "rasterflow/node/node.hpp"
#include "rasterflow/node/payload.hpp"

namespace rasterflow::python {

// One tile's kept rows, column by column. Built in parallel by ChunkSink::process.
struct Chunk final : Payload {
  struct Values {
    std::string name;
    nodes::ValueKind kind = nodes::ValueKind::float64;  // int64, float32 or float64 below
    std::vector<double> f64;                            // float64 columns; all columns unless masked
    std::vector<float> f32;                             // float32 columns when masked
    std::vector<std::int64_t> i64;                      // integer columns when masked
    std::vector<std::uint8_t> nodata;                   // when masked: 1 where the cell is nodata
    char dtype = 'd';  // which vector holds them: 'd' f64, 'f' f32, 'q' i64, 'Q' i64's bits as uint64
  };
  bool masked = false;
  std::int64_t row0 = 0;  // the tile's first grid row
  std::vector<double> x, y;
  std::vector<std::int64_t> row, col;  // grid row and column of each kept cell
  std::vector<Values> columns;
  std::size_t bytes() const noexcept override;
};
using ChunkPtr = std::shared_ptr<const Chunk>;

// Chunks in raster order, at most `capacity` waiting. push() blocks while full; close() (the
// consumer gave up) wakes it and makes it drop what it is given.
class ChunkQueue {
 public:
  explicit ChunkQueue(std::size_t capacity) : capacity_(capacity) {}
  // false when the consumer closed the queue (the chunk is dropped).
  bool push(ChunkPtr chunk);
  // Waits at most `timeout_ms` for a chunk; null when none came (or the producer finished).
  ChunkPtr pop(int timeout_ms);
  void finish();  // the producer is done (after its last push)
  void close();   // the consumer is done
  bool finished_and_empty() const;

 private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<ChunkPtr> items_;
  bool finished_ = false;
  bool closed_ = false;
};

class ChunkSink final : public SinkNode {
 public:
  // `masked`: keep each column's type with a nodata mask; otherwise float64/float32 with NaN.
  ChunkSink(NodeSpec spec, std::shared_ptr<ChunkQueue> queue, bool masked);
  void prepare(const RunContext& ctx, std::span<Node* const> inputs) override;
  PayloadPtr process(const TileRequest& tile, std::span<const PayloadPtr> inputs) override;
  void open() override {}
  void write(const TileRequest& tile, const PayloadPtr& data) override;
  void commit() override {}
  void abort() noexcept override {}
  std::uint64_t rows_written() const override { return rows_; }
  std::vector<std::string> describe() const override;
  ResourceNeeds resources() const override;

  // The coordinates of every grid column and row, as the CSV writes them (read back as doubles).
  const std::vector<double>& x_coords() const { return x_coords_; }
  const std::vector<double>& y_coords() const { return y_coords_; }
  const std::vector<std::string>& column_names() const { return names_; }
  // Chunks of whole planned tiles of `rows` grid rows (the last one shorter): pieces of a tile
  // the engine split at run time (under memory pressure) are joined again, so that the number
  // of chunks is the plan's. 0: one chunk per tile as run.
  void set_chunk_rows(std::int64_t rows) { chunk_rows_ = rows; }
  // Each column's GDAL data type name ("Byte", "Int16", "Float32", ...; "" when not known).
  const std::vector<std::string>& column_types() const { return types_; }
  // Each column's units, CF names, source variable and time step (#30), as the producer knows
  // them (empty fields when it knows none).
  const std::vector<nodes::ColumnMetadata>& column_metadata() const { return metadata_; }

 private:
  // An Int64/UInt64 column's values into `out` (masked: 64-bit integers; else float64, refused
  // naming the column for a value a double does not hold).
  void wide_values(const nodes::Column& in, const nodes::Table& table, Chunk::Values& out,
                   const TileRequest& tile) const;
  std::shared_ptr<ChunkQueue> queue_;
  bool masked_;
  std::vector<std::string> names_;
  std::vector<std::string> types_;
  std::vector<nodes::ColumnMetadata> metadata_;
  std::vector<double> x_coords_, y_coords_;
  std::atomic<std::uint64_t> rows_{0};  // written by the serial writer
  std::int64_t chunk_rows_ = 0;
  std::int64_t height_ = 0;
  std::shared_ptr<Chunk> pending_;  // the pieces of a split tile so far (serial writer)
  void push(ChunkPtr chunk);
};

// The node type the chunk stream takes the place of a graph's sink with. Registered by the
// module; built only through PlanOptions::build_node (a graph naming it gets a GraphError).
inline constexpr const char* kChunkSinkType = "python_chunks";

}  // namespace rasterflow::python
