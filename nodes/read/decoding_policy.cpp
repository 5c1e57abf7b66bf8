#include "nodes/read/decoding_policy.hpp"

#include <algorithm>

namespace rasterflow::nodes {

std::string decoding_description(Decoding d) {
  switch (d) {
    case Decoding::block_rows:
      return "whole rows of blocks, each decoded once by GDAL";
    case Decoding::lean_block_rows:
      return "whole rows of blocks by GDAL, one kept behind the highest (a tile that starts late decodes its row "
             "again)";
    case Decoding::streams:
      return "inflate streams, 32 rows of every tile at a time (ISA-L)";
    case Decoding::small_streams:
      return "inflate streams, 16 rows of every tile at a time (ISA-L)";
    case Decoding::zlib_streams:
      return "inflate streams, 16 rows of every tile at a time (zlib, smaller state)";
    case Decoding::gdal_cache:
      return "GDAL's block cache (blocks decoded again per tile)";
  }
  return "?";
}

double measured_cost(Decoding d) {
  // CPU seconds (user + system) of the harness's input-heavy large run (a 36000 x 18000 Float32
  // and an 18000 x 9000 Int16 source, DEFLATE, onto a 0.06 degree grid) with both sources forced
  // to each strategy, over block_rows' 12.3 s: streams 26.0 s, small_streams 27.5 s, zlib_streams
  // 41.0 s; GDAL's cache 20.4 s when its cache is unlimited, but 310 s under the 200 MiB limit
  // that would make it the choice (its cache then holds a few blocks, which are decoded again
  // for every tile that reads them). docs/how-it-runs.md has the commands.
  switch (d) {
    case Decoding::block_rows:
      return 1.0;
    case Decoding::lean_block_rows:
      // With one row kept behind, 15 block rows of 12 were decoded on the harness's medium set on
      // the 0.06 degree grid (tiles of 39 rows, 4 in flight on 2 threads): the worst seen.
      return 1.25;
    case Decoding::streams:
      return 2.1;
    case Decoding::small_streams:
      return 2.2;
    case Decoding::zlib_streams:
      return 3.3;
    case Decoding::gdal_cache:
      return 25.0;
  }
  return 1.0;
}

std::vector<DecodingPrice> decoding_ladder(std::vector<DecodingPrice> available) {
  std::stable_sort(available.begin(), available.end(), [](const DecodingPrice& a, const DecodingPrice& b) {
    return a.cost != b.cost ? a.cost < b.cost : a.bytes < b.bytes;
  });
  std::vector<DecodingPrice> ladder;
  for (const DecodingPrice& p : available) {
    if (ladder.empty() || p.bytes < ladder.back().bytes) ladder.push_back(p);
  }
  return ladder;
}

std::optional<DecodingPrice> fastest_within(const std::vector<DecodingPrice>& available, std::size_t budget) {
  for (const DecodingPrice& p : decoding_ladder(available)) {
    if (p.bytes <= budget) return p;
  }
  return std::nullopt;
}

}  // namespace rasterflow::nodes
