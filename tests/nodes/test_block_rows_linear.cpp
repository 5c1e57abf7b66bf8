// BlockRows' bookkeeping is linear in the number of block rows whatever their shape (issue #29):
// one-row strips held by one tile (a grid of few cells over a tall file holds the whole file)
// used to make each row's decoding walk every row pinned before it.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#include "nodes/read/block_rows.hpp"

using namespace rasterflow::nodes;

namespace {

// Seconds to read a 128-column file of `rows` one-row strips as one tile does: the whole file
// held, then read in strips of 32 rows (the best of three runs).
double one_tile_seconds(std::int64_t rows) {
  double best = 1e9;
  for (int run = 0; run < 3; ++run) {
    BlockRows blocks({128, rows, 128, 1, GDT_Byte},
                     BlockRows::Decoder([](std::int64_t row, std::int64_t, std::byte* dst) {
                       std::memset(dst, static_cast<int>(row % 251), 128);
                     }),
                     "n", "strips.tif", 2);
    std::vector<double> out(128 * 32);
    const auto start = std::chrono::steady_clock::now();
    {
      const auto held = blocks.hold(0, rows);
      for (std::int64_t r = 0; r < rows; r += 32) {
        blocks.read(0, r, 128, std::min<std::int64_t>(32, rows - r), out.data());
        REQUIRE(out[0] == static_cast<double>(r % 251));
      }
    }
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    CHECK(blocks.stats().rows_decoded == rows);
  }
  return best;
}

}  // namespace

TEST_CASE("BlockRows.OneRowStrips.LinearInRows" * doctest::timeout(120)) {
  const double small = one_tile_seconds(25000);
  const double large = one_tile_seconds(100000);
  CAPTURE(small);
  CAPTURE(large);
  // Four times the rows: about four times the time (quadratic bookkeeping took 16 times).
  CHECK(large < 8 * small + 0.05);
}
