#include "support/tiff_builder.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace rasterflow::test {

namespace {

enum Type : std::uint16_t { kShort = 3, kLong = 4, kDouble = 12, kLong8 = 16 };

struct Entry {
  std::uint16_t tag;
  std::uint16_t type;
  std::uint64_t count;
  std::string data;  // the values' bytes (little-endian)
};

template <typename T>
std::string bytes_of(const std::vector<T>& values) {
  std::string out(values.size() * sizeof(T), '\0');
  if (!values.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}

template <typename T>
void put(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

}  // namespace

std::vector<std::string> int16_blocks(const TiffBuild& b, const std::vector<std::int16_t>& values, bool deflate) {
  std::vector<std::string> blocks;
  for (std::uint32_t by = 0; by < b.height; by += b.block_height) {
    for (std::uint32_t bx = 0; bx < b.width; bx += b.block_width) {
      // Strips store only the band's rows; tiles are whole.
      const std::uint32_t rows = b.tiled ? b.block_height : std::min(b.block_height, b.height - by);
      std::vector<std::int16_t> block(static_cast<std::size_t>(b.block_width) * rows, 0);
      for (std::uint32_t r = 0; r < rows && by + r < b.height; ++r) {
        for (std::uint32_t c = 0; c < b.block_width && bx + c < b.width; ++c) {
          block[static_cast<std::size_t>(r) * b.block_width + c] =
              values[static_cast<std::size_t>(by + r) * b.width + bx + c];
        }
      }
      std::string raw = bytes_of(block);
      if (deflate) {
        uLongf size = compressBound(static_cast<uLong>(raw.size()));
        std::string z(size, '\0');
        if (compress2(reinterpret_cast<Bytef*>(z.data()), &size, reinterpret_cast<const Bytef*>(raw.data()),
                      static_cast<uLong>(raw.size()), 6) != Z_OK) {
          throw std::runtime_error("compress2 failed");
        }
        z.resize(size);
        raw = z;
      }
      blocks.push_back(raw);
    }
  }
  return blocks;
}

namespace {

// A file offset or count: 8 bytes in a BigTIFF, 4 in a classic TIFF.
void put_word(std::string& out, bool bigtiff, std::uint64_t value) {
  if (bigtiff)
    put<std::uint64_t>(out, value);
  else
    put<std::uint32_t>(out, static_cast<std::uint32_t>(value));
}

// The directory's entries, sorted by tag: the image, its georeferencing and its tables (which
// claim `n` entries).
std::vector<Entry> entries_of(const TiffBuild& b, const std::vector<std::uint64_t>& offsets,
                              const std::vector<std::uint64_t>& counts, std::uint64_t n) {
  const auto table = [&](const std::vector<std::uint64_t>& v) {
    std::string out;
    for (const auto x : v) put_word(out, b.bigtiff, x);
    return out;
  };
  const std::uint16_t entry_type = b.bigtiff ? kLong8 : kLong;
  std::vector<Entry> entries = {
      {256, kLong, 1, bytes_of(std::vector<std::uint32_t>{b.width})},
      {257, kLong, 1, bytes_of(std::vector<std::uint32_t>{b.height})},
      {258, kShort, 1, bytes_of(std::vector<std::uint16_t>{b.bits})},
      {259, kShort, 1, bytes_of(std::vector<std::uint16_t>{b.compression})},
      {262, kShort, 1, bytes_of(std::vector<std::uint16_t>{1})},
      {277, kShort, 1, bytes_of(std::vector<std::uint16_t>{1})},
      {284, kShort, 1, bytes_of(std::vector<std::uint16_t>{1})},
      {339, kShort, 1, bytes_of(std::vector<std::uint16_t>{b.sample_format})},
      {33550, kDouble, 3, bytes_of(std::vector<double>{1.0, 1.0, 0.0})},
      {33922, kDouble, 6, bytes_of(std::vector<double>{0, 0, 0, 0, static_cast<double>(b.height), 0})},
      {34735, kShort, 16,
       bytes_of(std::vector<std::uint16_t>{1, 1, 0, 3, 1024, 0, 1, 2, 1025, 0, 1, 1, 2048, 0, 1, 4326})},
  };
  if (b.fill_order) entries.push_back({266, kShort, 1, bytes_of(std::vector<std::uint16_t>{*b.fill_order})});
  if (b.tiled) {
    entries.push_back({322, kLong, 1, bytes_of(std::vector<std::uint32_t>{b.block_width})});
    entries.push_back({323, kLong, 1, bytes_of(std::vector<std::uint32_t>{b.block_height})});
    entries.push_back({324, entry_type, n, table(offsets)});
    entries.push_back({325, entry_type, n, table(counts)});
  } else {
    entries.push_back({273, entry_type, n, table(offsets)});
    entries.push_back({278, kLong, 1, bytes_of(std::vector<std::uint32_t>{b.block_height})});
    entries.push_back({279, entry_type, n, table(counts)});
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& x, const Entry& y) { return x.tag < y.tag; });
  return entries;
}

// The directory (its entries, values inline or at their offsets in `extra`) appended to `out`.
void put_directory(std::string& out, bool bigtiff, const std::vector<Entry>& entries,
                   const std::vector<std::uint64_t>& value_offsets) {
  const std::size_t inline_bytes = bigtiff ? 8 : 4;
  if (bigtiff)
    put<std::uint64_t>(out, entries.size());
  else
    put<std::uint16_t>(out, static_cast<std::uint16_t>(entries.size()));
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    put<std::uint16_t>(out, e.tag);
    put<std::uint16_t>(out, e.type);
    put_word(out, bigtiff, e.count);
    std::string value = value_offsets[i] == 0 ? e.data : std::string();
    if (value_offsets[i] != 0) put_word(value, bigtiff, value_offsets[i]);
    value.resize(inline_bytes, '\0');
    out += value;
  }
  put_word(out, bigtiff, 0);
}

}  // namespace

void write_tiff(const std::filesystem::path& path, const TiffBuild& b) {
  const std::size_t header = b.bigtiff ? 16 : 8;
  std::string data;
  std::vector<std::uint64_t> offsets;
  std::vector<std::uint64_t> counts;
  for (const auto& block : b.blocks) {
    offsets.push_back(header + data.size());
    counts.push_back(block.size());
    data += block;
  }
  if (!b.offsets.empty()) offsets = b.offsets;
  if (!b.counts.empty()) counts = b.counts;
  const std::vector<Entry> entries =
      entries_of(b, offsets, counts, std::max<std::uint64_t>(b.claimed_blocks, offsets.size()));
  // Values that do not fit in an entry go after the data; tables that claim more entries than
  // they have point past the end of the file.
  const std::size_t inline_bytes = b.bigtiff ? 8 : 4;
  std::string extra;
  std::vector<std::uint64_t> value_offsets;
  const std::uint64_t extra_start = header + data.size();
  for (const auto& e : entries) {
    if (e.data.size() <= inline_bytes && e.count <= 1) {
      value_offsets.push_back(0);
    } else {
      if (extra.size() % 2) extra += '\0';
      value_offsets.push_back(extra_start + extra.size());
      extra += e.data;
    }
  }
  if (extra.size() % 2) extra += '\0';
  std::string out = b.bigtiff ? std::string("II\x2b\0\x08\0\0\0", 8) : std::string("II\x2a\0", 4);
  put_word(out, b.bigtiff, extra_start + extra.size());  // the directory's offset
  out += data;
  out += extra;
  put_directory(out, b.bigtiff, entries, value_offsets);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(out.data(), static_cast<std::streamsize>(out.size()));
  if (!f) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace rasterflow::test
