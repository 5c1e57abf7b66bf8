#include "nodes/parquet/parquet_writer.hpp"

#include <tbb/parallel_for.h>

#include "nodes/parquet/parquet_chunk.hpp"

namespace rasterflow::nodes::parquet {

void ColumnData::add_bytes(std::string_view bytes) {
  const auto length = static_cast<std::uint32_t>(bytes.size());
  values.append(reinterpret_cast<const char*>(&length), 4);
  values.append(bytes);
  ++rows;
}

Writer::Writer(std::vector<ColumnSpec> columns, WriterOptions options)
    : columns_(std::move(columns)), options_(options) {}

std::string Writer::row_group(const std::vector<ColumnData>& data, std::size_t rows, std::int64_t offset) {
  std::vector<EncodedChunk> chunks(columns_.size());
  tbb::parallel_for(std::size_t{0}, columns_.size(),
                    [&](std::size_t i) { chunks[i] = encode_chunk(columns_[i], data[i], rows, options_); });
  RowGroupMeta group;
  group.rows = static_cast<std::int64_t>(rows);
  group.file_offset = offset;
  std::size_t total = 0;
  for (const auto& c : chunks) total += c.bytes.size();
  std::string out;
  out.reserve(total);
  for (auto& c : chunks) {
    const auto at = offset + static_cast<std::int64_t>(out.size());
    c.meta.data_page_offset += at;
    if (c.meta.dictionary_page_offset) *c.meta.dictionary_page_offset += at;
    out += c.bytes;
    group.chunks.push_back(std::move(c.meta));
  }
  row_groups_.push_back(std::move(group));
  return out;
}

std::string Writer::footer(const std::vector<std::pair<std::string, std::string>>& key_values,
                           const std::string& created_by) const {
  std::string out;
  append_file_metadata(out, columns_, options_.codec, row_groups_, key_values, created_by);
  const auto length = static_cast<std::uint32_t>(out.size());
  out.append(reinterpret_cast<const char*>(&length), 4);
  out += kMagic;
  return out;
}

}  // namespace rasterflow::nodes::parquet
