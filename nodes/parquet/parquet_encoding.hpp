#pragma once
// Parquet's value encodings that rasterflow writes, and its page compression: the
// RLE/bit-packed hybrid (definition levels and dictionary indices) and the codecs.
#include <cstdint>
#include <string>
#include <string_view>

#include "nodes/parquet/parquet_metadata.hpp"

namespace rasterflow::nodes::parquet {

// Appends the RLE/bit-packed hybrid encoding of n values of `bit_width` bits (1..32), without
// a length prefix: runs of 8 or more equal values as RLE runs, the rest bit-packed in groups of
// 8 (the last group padded with zeros).
template <class T>
void append_rle_hybrid(std::string& out, const T* values, std::size_t n, int bit_width);

// The compressed bytes of `in` appended to `out`; throws std::runtime_error when the library
// fails. Levels: zstd 1-22, gzip 1-9; snappy has none.
void compress(Codec codec, int level, std::string_view in, std::string& out);

// The bits an index below `count` needs (at least 1).
int bit_width_of(std::uint64_t count);

}  // namespace rasterflow::nodes::parquet
