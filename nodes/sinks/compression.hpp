#pragma once
// Whole-tile compression for sinks that write text: each call turns a tile's bytes into one
// self-contained gzip member (RFC 1952; ISA-L's igzip at levels 1-3, zlib at 4-9) or zstd frame
// (libzstd), so that tiles are
// compressed in parallel and the members or frames, written one after the other in tile order
// (and the ranks' bands concatenated under MPI), make one valid .gz or .zst file: gzip, zcat,
// zstd and zstdcat read concatenated members and frames as one stream (RFC 1952 section 2.2;
// the zstd format's frames). Thread-safe: compression contexts are kept in a small pool.
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rasterflow::nodes {

enum class Codec { none, gzip, zstd };

// The codec a path's extension asks for: .gz gzip, .zst zstd, anything else none.
Codec codec_of_path(std::string_view path);
const char* codec_name(Codec codec);
// gzip levels up to this one are ISA-L's igzip levels 1-3 (what `igzip -1`..`-3` writes), the
// ones above zlib's 4-9 (what `gzip -4`..`-9` writes). igzip's level 3 compresses CSV about as
// well as zlib's 6 at a tenth of its CPU, so it is gzip's default (docs/benchmarks.md).
inline constexpr int kIsalGzipMaxLevel = 3;
// The levels each codec accepts, and the default (gzip 3, igzip's highest; zstd's 3 as zstd(1)).
int default_level(Codec codec);
int min_level(Codec codec);
int max_level(Codec codec);

class TileCompressor {
 public:
  TileCompressor(Codec codec, int level);
  ~TileCompressor();
  TileCompressor(const TileCompressor&) = delete;
  TileCompressor& operator=(const TileCompressor&) = delete;

  Codec codec() const { return codec_; }
  int level() const { return level_; }
  // The pieces, in order, as one gzip member or zstd frame appended to `out`. Nothing is
  // appended when the pieces are all empty. Throws std::runtime_error when the library fails
  // (out of memory).
  void compress(std::span<const std::string_view> pieces, std::string& out);
  // What one context of the pool holds: the pool keeps one per thread that has compressed a
  // tile (contexts are taken for one compress() call), for the planner's per-thread state.
  std::uint64_t context_bytes() const;

 private:
  struct Context;
  std::unique_ptr<Context> take();
  void give_back(std::unique_ptr<Context> context);

  Codec codec_;
  int level_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Context>> free_;
};

}  // namespace rasterflow::nodes
