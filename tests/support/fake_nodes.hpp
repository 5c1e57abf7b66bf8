#pragma once
// Node types the tests share (registered once, here): a source of made-up values and a sink
// that keeps what it is given, for the engine's seams; a source of made-up tables, for sinks.
//   test_constant: `width` x `height` values, row * 1000 + column + `offset` (kind test_values);
//                  a negative offset fails past the first tile.
//   test_capture:  keeps every tile's values and seq, in the order written (captured()).
//   test_table:    a Table of one column "v" = row * 1000 + column over `width` x `height`, the
//                  cells where (row + column) % 3 == 0 dropped (kind table; a TableProducer).
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "rasterflow/node/node.hpp"
#include "rasterflow/node/payload.hpp"

namespace rasterflow::test {

// One value per cell of a tile, row-major.
struct Values final : Payload {
  std::vector<double> cells;
  std::size_t bytes() const noexcept override { return cells.size() * sizeof(double); }
};

// What test_capture was given, in the order written.
struct Captured {
  std::mutex mutex;
  std::vector<std::uint64_t> seqs;
  std::vector<double> cells;
  bool opened = false;
  bool committed = false;
  bool aborted = false;
};
Captured& captured();
void reset_captured();

// test_table's value of a cell, and whether it keeps it.
inline double table_value(std::int64_t row, std::int64_t column) { return static_cast<double>(row * 1000 + column); }
inline bool table_keeps(std::int64_t row, std::int64_t column) { return (row + column) % 3 != 0; }

// A test_table node made directly (not from a graph), as a sink's input in unit tests.
std::unique_ptr<Node> make_table_source(std::int64_t width, std::int64_t height);
// One tile of test_table's output.
PayloadPtr table_tile(const TileRequest& tile);

}  // namespace rasterflow::test
