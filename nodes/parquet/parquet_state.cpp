#include "nodes/parquet/parquet_state.hpp"

#include <cstring>
#include <stdexcept>

namespace rasterflow::nodes::parquet {
namespace {

constexpr std::uint32_t kRecord = 0x31505752;  // "RWP1": a record of this format

template <class T>
void put(std::string& out, T v) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));
  out.append(bytes, sizeof(T));
}

void put_text(std::string& out, const std::string& text) {
  put(out, static_cast<std::uint32_t>(text.size()));
  out += text;
}

template <class T>
T take(std::string_view& in) {
  if (in.size() < sizeof(T)) throw std::runtime_error("the row groups' metadata is truncated");
  T v;
  std::memcpy(&v, in.data(), sizeof(T));
  in.remove_prefix(sizeof(T));
  return v;
}

std::string take_text(std::string_view& in) {
  const auto n = take<std::uint32_t>(in);
  if (in.size() < n) throw std::runtime_error("the row groups' metadata is truncated");
  std::string text(in.substr(0, n));
  in.remove_prefix(n);
  return text;
}

void put_chunk(std::string& out, const ChunkMeta& c) {
  put(out, static_cast<std::uint32_t>(c.encodings.size()));
  for (const Encoding e : c.encodings) put(out, static_cast<std::int32_t>(e));
  for (const std::int64_t v : {c.num_values, c.uncompressed, c.compressed, c.data_page_offset}) put(out, v);
  put(out, static_cast<std::uint8_t>(c.dictionary_page_offset ? 1 : 0));
  put(out, c.dictionary_page_offset.value_or(0));
  put(out, c.stats.null_count);
  put(out, static_cast<std::uint8_t>(c.stats.min_max ? 1 : 0));
  if (c.stats.min_max) {
    put_text(out, c.stats.min_max->first);
    put_text(out, c.stats.min_max->second);
  }
}

ChunkMeta take_chunk(std::string_view& in) {
  ChunkMeta c;
  const auto encodings = take<std::uint32_t>(in);
  if (encodings > 16) throw std::runtime_error("the row groups' metadata is not rasterflow's");
  for (std::uint32_t i = 0; i < encodings; ++i) c.encodings.push_back(static_cast<Encoding>(take<std::int32_t>(in)));
  c.num_values = take<std::int64_t>(in);
  c.uncompressed = take<std::int64_t>(in);
  c.compressed = take<std::int64_t>(in);
  c.data_page_offset = take<std::int64_t>(in);
  const bool dictionary = take<std::uint8_t>(in) != 0;
  const auto dictionary_offset = take<std::int64_t>(in);
  if (dictionary) c.dictionary_page_offset = dictionary_offset;
  c.stats.null_count = take<std::int64_t>(in);
  if (take<std::uint8_t>(in) != 0) {
    std::string min = take_text(in);
    c.stats.min_max = std::make_pair(std::move(min), take_text(in));
  }
  return c;
}

}  // namespace

std::string serialize(const WrittenGroups& written) {
  std::string body;
  put(body, written.bytes);
  put(body, written.rows);
  for (const double v : written.bbox) put(body, v);
  put(body, static_cast<std::uint64_t>(written.groups.size()));
  for (const auto& g : written.groups) {
    put(body, g.rows);
    put(body, g.file_offset);
    put(body, static_cast<std::uint32_t>(g.chunks.size()));
    for (const auto& c : g.chunks) put_chunk(body, c);
  }
  std::string out;
  put(out, kRecord);
  put(out, static_cast<std::uint64_t>(body.size()));
  return out + body;
}

WrittenGroups parse_written(std::string_view& bytes) {
  if (take<std::uint32_t>(bytes) != kRecord) throw std::runtime_error("the row groups' metadata is not rasterflow's");
  const auto size = take<std::uint64_t>(bytes);
  if (bytes.size() < size) throw std::runtime_error("the row groups' metadata is truncated");
  std::string_view in = bytes.substr(0, size);
  bytes.remove_prefix(size);
  WrittenGroups w;
  w.bytes = take<std::uint64_t>(in);
  w.rows = take<std::uint64_t>(in);
  for (double& v : w.bbox) v = take<double>(in);
  const auto groups = take<std::uint64_t>(in);
  for (std::uint64_t k = 0; k < groups; ++k) {
    RowGroupMeta g;
    g.rows = take<std::int64_t>(in);
    g.file_offset = take<std::int64_t>(in);
    const auto chunks = take<std::uint32_t>(in);
    for (std::uint32_t i = 0; i < chunks; ++i) g.chunks.push_back(take_chunk(in));
    w.groups.push_back(std::move(g));
  }
  if (!in.empty()) throw std::runtime_error("the row groups' metadata has bytes after its end");
  return w;
}

void rebase(RowGroupMeta& group, std::int64_t delta) {
  group.file_offset += delta;
  for (auto& c : group.chunks) {
    c.data_page_offset += delta;
    if (c.dictionary_page_offset) *c.dictionary_page_offset += delta;
  }
}

std::string to_hex(std::string_view bytes) {
  static const char* const kHex = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char ch : bytes) {
    const auto u = static_cast<unsigned char>(ch);
    out += kHex[u >> 4];
    out += kHex[u & 15];
  }
  return out;
}

std::string from_hex(std::string_view hex) {
  const auto digit = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    throw std::runtime_error("not hexadecimal text");
  };
  if (hex.size() % 2 != 0) throw std::runtime_error("not hexadecimal text (odd length)");
  std::string out(hex.size() / 2, '\0');
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<char>(digit(hex[2 * i]) * 16 + digit(hex[2 * i + 1]));
  return out;
}

}  // namespace rasterflow::nodes::parquet
