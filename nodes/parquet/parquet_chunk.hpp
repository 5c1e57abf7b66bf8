#pragma once
// One column chunk of a row group: its pages' bytes and metadata (offsets relative to the
// chunk's first byte). Used by parquet::Writer.
#include <string>

#include "nodes/parquet/parquet_metadata.hpp"
#include "nodes/parquet/parquet_writer.hpp"

namespace rasterflow::nodes::parquet {

struct EncodedChunk {
  std::string bytes;
  ChunkMeta meta;
};

EncodedChunk encode_chunk(const ColumnSpec& spec, const ColumnData& data, std::size_t rows,
                          const WriterOptions& options);

// Null count, and min and max (PLAIN bytes) in the type's order: signed or unsigned integers,
// floats without NaN (-0.0 as min and +0.0 as max of a zero, as parquet-format asks); none for
// byte arrays or when no value is ordered.
Statistics statistics_of(const ColumnSpec& spec, const ColumnData& data, std::size_t rows);

}  // namespace rasterflow::nodes::parquet
