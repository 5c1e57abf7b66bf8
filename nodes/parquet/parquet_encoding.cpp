#include "nodes/parquet/parquet_encoding.hpp"

#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include <stdexcept>

namespace rasterflow::nodes::parquet {
namespace {

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

template <class T>
std::size_t run_at(const T* values, std::size_t i, std::size_t n) {
  std::size_t j = i + 1;
  while (j < n && values[j] == values[i]) ++j;
  return j - i;
}

// Bit-packs the 8 values at v (fewer at the end: zeros) into bit_width bytes, LSB first.
template <class T>
void pack_group(std::string& out, const T* v, std::size_t count, int bit_width) {
  std::uint64_t acc = 0;
  int bits = 0;
  for (std::size_t k = 0; k < 8; ++k) {
    const std::uint64_t value = k < count ? static_cast<std::uint64_t>(v[k]) : 0;
    acc |= value << bits;
    bits += bit_width;
    while (bits >= 8) {
      out += static_cast<char>(acc & 0xff);
      acc >>= 8;
      bits -= 8;
    }
  }
}

void gzip(int level, std::string_view in, std::string& out) {
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("zlib: deflateInit2 failed");
  const std::size_t start = out.size();
  out.resize(start + deflateBound(&z, static_cast<uLong>(in.size())) + 32);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data() + start);
  z.avail_out = static_cast<uInt>(out.size() - start);
  const int rc = deflate(&z, Z_FINISH);
  const std::size_t produced = z.total_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("zlib: deflate failed");
  out.resize(start + produced);
}

}  // namespace

int bit_width_of(std::uint64_t count) {
  int bits = 1;
  while (count > 1 && (std::uint64_t{1} << bits) < count) ++bits;
  return bits;
}

template <class T>
void append_rle_hybrid(std::string& out, const T* values, std::size_t n, int bit_width) {
  const int value_bytes = (bit_width + 7) / 8;
  std::size_t i = 0;
  while (i < n) {
    const std::size_t run = run_at(values, i, n);
    if (run >= 8) {
      put_varint(out, static_cast<std::uint64_t>(run) << 1);
      const auto v = static_cast<std::uint64_t>(values[i]);
      for (int b = 0; b < value_bytes; ++b) out += static_cast<char>((v >> (8 * b)) & 0xff);
      i += run;
      continue;
    }
    // Groups of 8 until a run of 8 starts at a group's boundary (or the values end).
    std::size_t groups = 1;
    while (i + groups * 8 < n && groups < 63 && run_at(values, i + groups * 8, std::min(n, i + groups * 8 + 8)) < 8)
      ++groups;
    put_varint(out, (static_cast<std::uint64_t>(groups) << 1) | 1);
    for (std::size_t g = 0; g < groups; ++g) {
      const std::size_t at = i + g * 8;
      pack_group(out, values + at, at < n ? std::min<std::size_t>(8, n - at) : 0, bit_width);
    }
    i += groups * 8;
  }
}

template void append_rle_hybrid<std::uint8_t>(std::string&, const std::uint8_t*, std::size_t, int);
template void append_rle_hybrid<std::uint32_t>(std::string&, const std::uint32_t*, std::size_t, int);

void compress(Codec codec, int level, std::string_view in, std::string& out) {
  switch (codec) {
    case Codec::none:
      out.append(in);
      return;
    case Codec::zstd: {
      const std::size_t start = out.size();
      out.resize(start + ZSTD_compressBound(in.size()));
      const std::size_t n = ZSTD_compress(out.data() + start, out.size() - start, in.data(), in.size(), level);
      if (ZSTD_isError(n)) throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(n));
      out.resize(start + n);
      return;
    }
    case Codec::snappy: {
      const std::size_t start = out.size();
      std::size_t n = snappy_max_compressed_length(in.size());
      out.resize(start + n);
      if (snappy_compress(in.data(), in.size(), out.data() + start, &n) != SNAPPY_OK)
        throw std::runtime_error("snappy: compression failed");
      out.resize(start + n);
      return;
    }
    case Codec::gzip:
      gzip(level, in, out);
      return;
  }
}

}  // namespace rasterflow::nodes::parquet
