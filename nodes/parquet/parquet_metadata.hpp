#pragma once
// The parts of Parquet's metadata (parquet.thrift, apache/parquet-format) rasterflow writes,
// as plain values, and their compact-protocol encoding: page headers and the file footer.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace rasterflow::nodes::parquet {

enum class Physical : std::int32_t { int32 = 1, int64 = 2, float32 = 4, float64 = 5, byte_array = 6 };
enum class Codec : std::int32_t { none = 0, snappy = 1, gzip = 2, zstd = 6 };
enum class Encoding : std::int32_t { plain = 0, rle = 3, rle_dictionary = 8 };

// One leaf column of a flat schema (or of a one-level group: `group` names it).
struct ColumnSpec {
  std::string name;
  Physical type = Physical::float64;
  int int_bits = 0;  // 8, 16, 32 or 64: an INTEGER logical type of that width; 0: none
  bool is_signed = true;
  bool optional = true;    // nullable: definition levels
  std::string group;       // "" a top-level column; else the required group it belongs to
  bool dictionary = true;  // may be dictionary-encoded when that is smaller
};

struct Statistics {
  std::int64_t null_count = 0;
  std::optional<std::pair<std::string, std::string>> min_max;  // PLAIN bytes of min and max
};

struct ChunkMeta {
  std::vector<Encoding> encodings;
  std::int64_t num_values = 0;
  std::int64_t uncompressed = 0;  // page headers included
  std::int64_t compressed = 0;
  std::int64_t data_page_offset = 0;
  std::optional<std::int64_t> dictionary_page_offset;
  Statistics stats;
};

struct RowGroupMeta {
  std::vector<ChunkMeta> chunks;
  std::int64_t rows = 0;
  std::int64_t file_offset = 0;
};

struct PageHeader {
  bool dictionary = false;
  std::int32_t uncompressed = 0;
  std::int32_t compressed = 0;
  std::int32_t num_values = 0;
  Encoding encoding = Encoding::plain;
};

void append_page_header(std::string& out, const PageHeader& page);

// FileMetaData, without the trailing length and magic.
void append_file_metadata(std::string& out, const std::vector<ColumnSpec>& columns, Codec codec,
                          const std::vector<RowGroupMeta>& row_groups,
                          const std::vector<std::pair<std::string, std::string>>& key_values,
                          const std::string& created_by);

}  // namespace rasterflow::nodes::parquet
