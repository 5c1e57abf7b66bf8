#include "nodes/parquet/parquet_chunk.hpp"

#include <cmath>
#include <limits>
#include <optional>
#include <type_traits>

#include "nodes/parquet/parquet_encoding.hpp"

namespace rasterflow::nodes::parquet {
namespace {

template <class T>
T value_at(const std::string& values, std::size_t i) {
  T v;
  std::memcpy(&v, values.data() + i * sizeof(T), sizeof(T));
  return v;
}

template <class T>
std::string plain_of(T v) {
  return std::string(reinterpret_cast<const char*>(&v), sizeof(T));
}

template <class T, class Order>
std::optional<std::pair<std::string, std::string>> min_max(const std::string& values) {
  const std::size_t n = values.size() / sizeof(T);
  std::optional<T> lo;
  std::optional<T> hi;
  for (std::size_t i = 0; i < n; ++i) {
    const T v = value_at<T>(values, i);
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(v)) continue;
    }
    if (!lo || static_cast<Order>(v) < static_cast<Order>(*lo)) lo = v;
    if (!hi || static_cast<Order>(v) > static_cast<Order>(*hi)) hi = v;
  }
  if (!lo) return std::nullopt;
  if constexpr (std::is_floating_point_v<T>) {
    if (*lo == 0) lo = -T(0);
    if (*hi == 0) hi = T(0);
  }
  return std::make_pair(plain_of(*lo), plain_of(*hi));
}

// A dictionary of the values in order of first appearance and each value's index, or false
// when it would take more than `limit` bytes or would not be smaller than PLAIN. Gives up after
// kSample values of which more than 3 in 4 are distinct (continuous data: a dictionary of them
// would be as large as the values).
constexpr std::size_t kSample = 65536;

template <class T, class Key>
bool build_dictionary(const std::string& values, std::size_t limit, std::string& dict,
                      std::vector<std::uint32_t>& ids) {
  const std::size_t n = values.size() / sizeof(T);
  std::vector<Key> keys;
  int bits = 10;
  std::vector<std::uint32_t> slots(std::size_t{1} << bits, 0);  // index + 1; 0 empty
  ids.resize(n);
  // Fibonacci hashing: the product's top bits.
  const auto slot_of = [&](Key k) {
    return static_cast<std::size_t>((std::uint64_t{k} * 0x9E3779B97F4A7C15ull) >> (64 - bits));
  };
  for (std::size_t i = 0; i < n; ++i) {
    if (i == kSample && keys.size() * 4 > kSample * 3) return false;
    Key k;
    std::memcpy(&k, values.data() + i * sizeof(T), sizeof(T));
    const std::size_t mask = slots.size() - 1;
    std::size_t s = slot_of(k);
    while (slots[s] != 0 && keys[slots[s] - 1] != k) s = (s + 1) & mask;
    if (slots[s] != 0) {
      ids[i] = slots[s] - 1;
      continue;
    }
    keys.push_back(k);
    slots[s] = static_cast<std::uint32_t>(keys.size());
    ids[i] = static_cast<std::uint32_t>(keys.size() - 1);
    if (keys.size() * sizeof(T) > limit) return false;
    if (keys.size() * 2 > slots.size()) {
      slots.assign(std::size_t{1} << ++bits, 0);
      for (std::size_t j = 0; j < keys.size(); ++j) {
        std::size_t t = slot_of(keys[j]);
        while (slots[t] != 0) t = (t + 1) & (slots.size() - 1);
        slots[t] = static_cast<std::uint32_t>(j + 1);
      }
    }
  }
  if (keys.size() * sizeof(T) + n * static_cast<std::size_t>(bit_width_of(keys.size())) / 8 >= n * sizeof(T))
    return false;
  dict.assign(reinterpret_cast<const char*>(keys.data()), keys.size() * sizeof(T));
  return true;
}

bool dictionary_of(const ColumnSpec& spec, const ColumnData& data, std::size_t limit, std::string& dict,
                   std::vector<std::uint32_t>& ids) {
  if (!spec.dictionary) return false;
  switch (spec.type) {
    case Physical::int32:
    case Physical::float32:
      return build_dictionary<std::uint32_t, std::uint32_t>(data.values, limit, dict, ids);
    case Physical::int64:
    case Physical::float64:
      return build_dictionary<std::uint64_t, std::uint64_t>(data.values, limit, dict, ids);
    case Physical::byte_array:
      return false;
  }
  return false;
}

std::size_t value_width(const ColumnSpec& spec) {
  switch (spec.type) {
    case Physical::int32:
    case Physical::float32:
      return 4;
    case Physical::int64:
    case Physical::float64:
      return 8;
    case Physical::byte_array:
      return 0;
  }
  return 0;
}

// Appends a page (header and compressed body); returns the bytes it took uncompressed.
std::size_t append_page(std::string& out, PageHeader header, const std::string& body, const WriterOptions& options) {
  std::string packed;
  compress(options.codec, options.level, body, packed);
  header.uncompressed = static_cast<std::int32_t>(body.size());
  header.compressed = static_cast<std::int32_t>(packed.size());
  const std::size_t before = out.size();
  append_page_header(out, header);
  const std::size_t header_bytes = out.size() - before;
  out += packed;
  return header_bytes + body.size();
}

}  // namespace

Statistics statistics_of(const ColumnSpec& spec, const ColumnData& data, std::size_t rows) {
  Statistics s;
  s.null_count = static_cast<std::int64_t>(rows - data.rows);
  switch (spec.type) {
    case Physical::int32:
      s.min_max = spec.is_signed ? min_max<std::int32_t, std::int32_t>(data.values)
                                 : min_max<std::int32_t, std::uint32_t>(data.values);
      break;
    case Physical::int64:
      s.min_max = spec.is_signed ? min_max<std::int64_t, std::int64_t>(data.values)
                                 : min_max<std::int64_t, std::uint64_t>(data.values);
      break;
    case Physical::float32:
      s.min_max = min_max<float, float>(data.values);
      break;
    case Physical::float64:
      s.min_max = min_max<double, double>(data.values);
      break;
    case Physical::byte_array:
      break;
  }
  return s;
}

namespace {

// Where the next data page starts in a chunk's values: the first value (index into the
// dictionary ids) and its byte in ColumnData::values.
struct PageCursor {
  std::size_t value = 0;
  std::size_t byte = 0;
};

// The body of the data page of rows [r0, r1): its definition levels (nullable columns), then
// its values, PLAIN bytes or (ids != nullptr) dictionary indices of `bits` bits; advances `at`.
void data_page_body(std::string& body, const ColumnSpec& spec, const ColumnData& data, std::size_t r0, std::size_t r1,
                    const std::vector<std::uint32_t>* ids, int bits, PageCursor& at) {
  std::size_t count = r1 - r0;
  body.clear();
  if (spec.optional) {
    count = 0;
    for (std::size_t r = r0; r < r1; ++r) count += data.defined[r];
    std::string levels;
    append_rle_hybrid(levels, data.defined.data() + r0, r1 - r0, 1);
    const auto length = static_cast<std::uint32_t>(levels.size());
    body.append(reinterpret_cast<const char*>(&length), 4);
    body += levels;
  }
  if (ids != nullptr) {
    body += static_cast<char>(bits);
    append_rle_hybrid(body, ids->data() + at.value, count, bits);
  } else {
    const std::size_t width = value_width(spec);
    std::size_t end = at.byte + count * width;
    if (width == 0) {  // byte arrays: each value's length first
      end = at.byte;
      for (std::size_t k = 0; k < count; ++k) {
        std::uint32_t length = 0;
        std::memcpy(&length, data.values.data() + end, 4);
        end += 4 + length;
      }
    }
    body.append(data.values, at.byte, end - at.byte);
    at.byte = end;
  }
  at.value += count;
}

}  // namespace

EncodedChunk encode_chunk(const ColumnSpec& spec, const ColumnData& data, std::size_t rows,
                          const WriterOptions& options) {
  EncodedChunk chunk;
  ChunkMeta& meta = chunk.meta;
  meta.num_values = static_cast<std::int64_t>(rows);
  meta.stats = statistics_of(spec, data, rows);
  std::string dict;
  std::vector<std::uint32_t> ids;
  const bool use_dict = data.rows > 0 && dictionary_of(spec, data, options.dictionary_bytes, dict, ids);
  const std::size_t width = value_width(spec);
  const int bits = use_dict ? bit_width_of(dict.size() / width) : 0;
  std::size_t uncompressed = 0;
  if (use_dict) {
    meta.dictionary_page_offset = 0;
    PageHeader h{.dictionary = true, .num_values = static_cast<std::int32_t>(dict.size() / width)};
    uncompressed += append_page(chunk.bytes, h, dict, options);
    meta.encodings = {Encoding::plain, Encoding::rle, Encoding::rle_dictionary};
  } else {
    meta.encodings = {Encoding::plain, Encoding::rle};
  }
  meta.data_page_offset = static_cast<std::int64_t>(chunk.bytes.size());
  const std::size_t average =
      width != 0 ? width : (data.rows > 0 ? std::max<std::size_t>(1, data.values.size() / data.rows) : 1);
  const std::size_t page_rows = std::max<std::size_t>(1, options.page_bytes / average);
  PageCursor at;
  std::string body;
  for (std::size_t r0 = 0; r0 < rows; r0 += page_rows) {
    const std::size_t r1 = std::min(rows, r0 + page_rows);
    data_page_body(body, spec, data, r0, r1, use_dict ? &ids : nullptr, bits, at);
    PageHeader h{.num_values = static_cast<std::int32_t>(r1 - r0),
                 .encoding = use_dict ? Encoding::rle_dictionary : Encoding::plain};
    uncompressed += append_page(chunk.bytes, h, body, options);
  }
  meta.uncompressed = static_cast<std::int64_t>(uncompressed);
  meta.compressed = static_cast<std::int64_t>(chunk.bytes.size());
  return chunk;
}

}  // namespace rasterflow::nodes::parquet
