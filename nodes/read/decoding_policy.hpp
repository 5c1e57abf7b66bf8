#pragma once
// How a source's blocks are decoded is a price list: each strategy the file allows, with the
// bytes it holds during the run and the CPU it costs per pixel (measured, relative to the
// fastest). A source takes the fastest strategy; the memory planner's steps move it down the
// ladder, one strategy at a time, only while the limit does not fit. Strategies that are slower
// and hold no fewer bytes than a faster one are never worth taking, so the ladder leaves them out.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "rasterflow/node/option_binder.hpp"

namespace rasterflow::nodes {

enum class Decoding {
  block_rows,       // whole rows of the file's blocks, decoded once each by GDAL (libdeflate for DEFLATE)
  lean_block_rows,  // the same, one row kept behind the highest: a tile that starts late may decode again
  streams,          // a few rows of every tile at a time (32-row units), ISA-L's inflate
  small_streams,    // 16-row units, one kept behind
  zlib_streams,     // 16-row units with zlib's smaller inflate state
  gdal_cache,       // nothing held: read through GDAL's block cache (blocks decoded again per tile)
};

// Whether a strategy holds whole rows of the file's blocks (block_rows or lean_block_rows).
inline bool holds_block_rows(Decoding d) { return d == Decoding::block_rows || d == Decoding::lean_block_rows; }

// The strategies' names: raster_source's option `decoding` (with "auto" before them) and plans.
inline constexpr EnumChoice<Decoding> kDecodings[] = {
    {"block_rows", Decoding::block_rows},     {"lean_block_rows", Decoding::lean_block_rows},
    {"streams", Decoding::streams},           {"small_streams", Decoding::small_streams},
    {"zlib_streams", Decoding::zlib_streams}, {"gdal_cache", Decoding::gdal_cache}};

// The option value ("block_rows", ...) and a sentence for plans.
inline const char* decoding_name(Decoding d) { return enum_name<Decoding>(kDecodings, d); }
std::string decoding_description(Decoding d);

// CPU per pixel of each strategy relative to block_rows, measured on the harness's input-heavy
// large set (docs/how-it-runs.md, "Decoding: the fastest that fits").
double measured_cost(Decoding d);

struct DecodingPrice {
  Decoding kind = Decoding::block_rows;
  std::size_t bytes = 0;  // held during the run
  double cost = 1.0;      // CPU per pixel, relative
};

// The strategies worth stepping through, fastest first: each holds fewer bytes than every faster
// one (ties in cost: fewer bytes first).
std::vector<DecodingPrice> decoding_ladder(std::vector<DecodingPrice> available);
// The fastest strategy of `available` that holds at most `budget` bytes, or nullopt when none does.
std::optional<DecodingPrice> fastest_within(const std::vector<DecodingPrice>& available, std::size_t budget);

}  // namespace rasterflow::nodes
