#include "nodes/sinks/compression.hpp"

#include <isa-l/igzip_lib.h>
#include <zlib.h>
#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_estimateCStreamSize: a context's bytes before it exists
#include <zstd.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <stdexcept>

namespace rasterflow::nodes {

Codec codec_of_path(std::string_view path) {
  const auto ends_with = [&](std::string_view suffix) {
    return path.size() > suffix.size() && path.substr(path.size() - suffix.size()) == suffix;
  };
  if (ends_with(".gz")) return Codec::gzip;
  if (ends_with(".zst")) return Codec::zstd;
  return Codec::none;
}

const char* codec_name(Codec codec) {
  switch (codec) {
    case Codec::gzip:
      return "gzip";
    case Codec::zstd:
      return "zstd";
    case Codec::none:
      break;
  }
  return "none";
}

int default_level(Codec codec) { return codec == Codec::zstd ? 3 : codec == Codec::gzip ? kIsalGzipMaxLevel : 0; }
int min_level(Codec codec) { return codec == Codec::none ? 0 : 1; }
int max_level(Codec codec) { return codec == Codec::zstd ? ZSTD_maxCLevel() : codec == Codec::gzip ? 9 : 0; }

// One thread's compression state: an ISA-L or zlib deflate stream (reset between tiles) or a
// zstd context.
struct TileCompressor::Context {
  // gzip levels 1-3: the stream (80 KiB) and its level's hash tables (276-340 KiB, ISA-L's
  // "default" sizes); zlib's deflate state at levels 4-9 is about 270 KiB.
  std::unique_ptr<isal_zstream> isal;
  std::vector<std::uint8_t> isal_level;
  z_stream z{};
  bool z_ready = false;
  ZSTD_CCtx* zstd = nullptr;
  ~Context() {
    if (z_ready) deflateEnd(&z);
    ZSTD_freeCCtx(zstd);
  }
};

TileCompressor::TileCompressor(Codec codec, int level) : codec_(codec), level_(level) {}
TileCompressor::~TileCompressor() = default;

std::unique_ptr<TileCompressor::Context> TileCompressor::take() {
  {
    const std::lock_guard lock(mutex_);
    if (!free_.empty()) {
      auto c = std::move(free_.back());
      free_.pop_back();
      return c;
    }
  }
  auto c = std::make_unique<Context>();
  if (codec_ == Codec::gzip && level_ <= kIsalGzipMaxLevel) {
    c->isal = std::make_unique<isal_zstream>();
    isal_deflate_init(c->isal.get());
    c->isal_level.resize(level_ == 1   ? ISAL_DEF_LVL1_DEFAULT
                         : level_ == 2 ? ISAL_DEF_LVL2_DEFAULT
                                       : ISAL_DEF_LVL3_DEFAULT);
    c->isal->level = static_cast<std::uint32_t>(level_);
    c->isal->level_buf = c->isal_level.data();
    c->isal->level_buf_size = static_cast<std::uint32_t>(c->isal_level.size());
    c->isal->gzip_flag = IGZIP_GZIP;  // a gzip header and CRC-32 trailer, as igzip(1) writes
    c->isal->flush = NO_FLUSH;
  } else if (codec_ == Codec::gzip) {
    // windowBits 15 + 16: a gzip wrapper (header and CRC-32 trailer), as gzip(1) writes.
    if (deflateInit2(&c->z, level_, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      throw std::runtime_error("zlib cannot start a deflate stream");
    c->z_ready = true;
  } else if (codec_ == Codec::zstd) {
    c->zstd = ZSTD_createCCtx();
    if (c->zstd == nullptr) throw std::runtime_error("libzstd cannot create a compression context");
    ZSTD_CCtx_setParameter(c->zstd, ZSTD_c_compressionLevel, level_);
    ZSTD_CCtx_setParameter(c->zstd, ZSTD_c_checksumFlag, 1);
  }
  return c;
}

std::uint64_t TileCompressor::context_bytes() const {
  if (codec_ == Codec::gzip && level_ <= kIsalGzipMaxLevel) {
    const std::size_t level_buf = level_ == 1   ? ISAL_DEF_LVL1_DEFAULT
                                  : level_ == 2 ? ISAL_DEF_LVL2_DEFAULT
                                                : ISAL_DEF_LVL3_DEFAULT;
    return sizeof(isal_zstream) + level_buf;
  }
  // zlib's deflate state (zconf.h): (1 << (windowBits + 2)) + (1 << (memLevel + 9)), and the
  // state itself (about 6 KiB).
  if (codec_ == Codec::gzip) return (std::uint64_t{1} << 17) + (std::uint64_t{1} << 17) + (8 << 10);
  if (codec_ == Codec::zstd) return ZSTD_estimateCStreamSize(level_);  // a tile's frame needs no more
  return 0;
}

void TileCompressor::give_back(std::unique_ptr<Context> context) {
  const std::lock_guard lock(mutex_);
  free_.push_back(std::move(context));
}

namespace {

void deflate_pieces(z_stream& z, std::span<const std::string_view> pieces, std::string& out) {
  if (deflateReset(&z) != Z_OK) throw std::runtime_error("zlib cannot reset a deflate stream");
  std::size_t total = 0;
  for (const auto piece : pieces) total += piece.size();
  // deflateBound() of the whole is room enough for every piece deflated with Z_NO_FLUSH.
  const std::size_t start = out.size();
  out.resize(start + deflateBound(&z, static_cast<uLong>(total)) + 64);
  z.next_out = reinterpret_cast<Bytef*>(out.data() + start);
  z.avail_out = static_cast<uInt>(out.size() - start);
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    std::string_view piece = pieces[i];
    const bool last = i + 1 == pieces.size();
    do {
      const std::size_t n = std::min<std::size_t>(piece.size(), std::numeric_limits<uInt>::max() / 2);
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(piece.data()));
      z.avail_in = static_cast<uInt>(n);
      piece.remove_prefix(n);
      const int flush = last && piece.empty() ? Z_FINISH : Z_NO_FLUSH;
      const int rc = deflate(&z, flush);
      if (rc == Z_STREAM_ERROR || (flush == Z_FINISH && rc != Z_STREAM_END) || z.avail_in != 0)
        throw std::runtime_error("zlib failed to deflate a tile");
    } while (!piece.empty());
  }
  out.resize(out.size() - z.avail_out);
}

// As deflate_pieces, with ISA-L's igzip. It has no deflateBound(): the output grows when full
// (incompressible text can come out slightly larger than it went in).
void isal_pieces(isal_zstream& s, std::span<const std::string_view> pieces, std::string& out) {
  isal_deflate_reset(&s);
  s.gzip_flag = IGZIP_GZIP;  // igzip turns it into IGZIP_GZIP_NO_HDR once it wrote a header
  std::size_t total = 0;
  for (const auto piece : pieces) total += piece.size();
  const std::size_t start = out.size();
  std::size_t used = 0;  // bytes of out after start that hold output
  const auto grow = [&](std::size_t room) {
    out.resize(start + used + room);
    s.next_out = reinterpret_cast<std::uint8_t*>(out.data() + start + used);
    s.avail_out = static_cast<std::uint32_t>(std::min<std::size_t>(room, std::numeric_limits<std::uint32_t>::max()));
  };
  grow(total + total / 16 + 1024);
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    std::string_view piece = pieces[i];
    const bool last_piece = i + 1 == pieces.size();
    do {
      const std::size_t n = std::min<std::size_t>(piece.size(), std::numeric_limits<std::uint32_t>::max() / 2);
      s.next_in = reinterpret_cast<std::uint8_t*>(const_cast<char*>(piece.data()));
      s.avail_in = static_cast<std::uint32_t>(n);
      piece.remove_prefix(n);
      s.end_of_stream = last_piece && piece.empty() ? 1 : 0;
      for (;;) {
        const char* before = reinterpret_cast<const char*>(s.next_out);
        if (isal_deflate(&s) != COMP_OK) throw std::runtime_error("ISA-L failed to deflate a tile");
        used += static_cast<std::size_t>(reinterpret_cast<const char*>(s.next_out) - before);
        const bool done = s.end_of_stream ? s.internal_state.state == ZSTATE_END : s.avail_in == 0;
        if (done) break;
        if (s.avail_out != 0) throw std::runtime_error("ISA-L stopped deflating a tile with room left");
        grow(std::max<std::size_t>(total / 8, 1 << 16));
      }
    } while (!piece.empty());
  }
  out.resize(start + used);
}

void zstd_pieces(ZSTD_CCtx* cctx, std::span<const std::string_view> pieces, std::string& out) {
  ZSTD_CCtx_reset(cctx, ZSTD_reset_session_only);
  std::size_t total = 0;
  for (const auto piece : pieces) total += piece.size();
  ZSTD_CCtx_setPledgedSrcSize(cctx, total);  // the frame header records the tile's size
  const std::size_t start = out.size();
  out.resize(start + ZSTD_compressBound(total) + 64);
  ZSTD_outBuffer output{out.data() + start, out.size() - start, 0};
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const bool last = i + 1 == pieces.size();
    ZSTD_inBuffer input{pieces[i].data(), pieces[i].size(), 0};
    for (;;) {
      const std::size_t rc = ZSTD_compressStream2(cctx, &output, &input, last ? ZSTD_e_end : ZSTD_e_continue);
      if (ZSTD_isError(rc)) throw std::runtime_error(std::string("libzstd: ") + ZSTD_getErrorName(rc));
      if (last ? rc == 0 : input.pos == input.size) break;
      if (output.pos == output.size) throw std::runtime_error("libzstd: the frame outgrew its bound");
    }
  }
  out.resize(start + output.pos);
}

}  // namespace

void TileCompressor::compress(std::span<const std::string_view> pieces, std::string& out) {
  bool any = false;
  for (const auto piece : pieces) any = any || !piece.empty();
  if (!any) return;
  if (codec_ == Codec::none) {
    for (const auto piece : pieces) out.append(piece);
    return;
  }
  auto context = take();
  if (context->isal)
    isal_pieces(*context->isal, pieces, out);
  else if (codec_ == Codec::gzip)
    deflate_pieces(context->z, pieces, out);
  else
    zstd_pieces(context->zstd, pieces, out);
  give_back(std::move(context));
}

}  // namespace rasterflow::nodes
