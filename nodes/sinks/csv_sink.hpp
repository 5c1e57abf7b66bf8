#pragma once
// csv_sink: writes the merged table as CSV (x,y,<columns>), one row per kept cell at its
// centre, in raster order. Tiles are formatted (and compressed, for .gz/.zst) in parallel; the base
// class writes them in order.
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "nodes/sinks/compression.hpp"
#include "nodes/sinks/csv_format.hpp"
#include "rasterflow/node/option_binder.hpp"
#include "rasterflow/node/payload.hpp"
#include "rasterflow/node/table_sink.hpp"

namespace rasterflow::nodes {

struct CsvText;

struct CsvSinkOptions {
  std::string path;
  std::string compression;
  std::optional<std::int64_t> compression_level;
  // Formerly the configuration keys export.nodata and merge.streaming_chunk_size, which still
  // load (with a warning naming these options) when the options are not given.
  std::optional<std::string> nodata;
  std::optional<std::int64_t> chunk_rows;
  void declare(OptionBinder& args);
};

class CsvSink final : public TableSink {
 public:
  explicit CsvSink(NodeSpec spec);
  std::vector<std::string> describe() const override;
  ResourceNeeds resources() const override;
  // Written in tile order, so an interrupted run resumes by cutting the file back to its length
  // after a tile: plain text, and compressed output too, whose tiles are whole gzip members or
  // zstd frames (a length after a tile ends one; the members or frames appended after it make
  // one valid stream, decompressing to the plain CSV). docs/hpc.md.
  ResumableSink* resumable() override { return this; }

 private:
  void prepare_table(const RunContext& ctx, const TableProducer& table) override;
  PayloadPtr format(const TileRequest& tile, const Table& table) const override;
  void emit(const TileRequest& tile, const Payload& data) override;
  // The options, or the deprecated configuration keys when the options are not given.
  void take_settings(const Config& config);
  void compress(const TileRequest& tile, CsvText& text) const;
  class TileText;
  // The most one row can take: the widest x and y, and each value (<= 24 characters for a
  // double in shortest form) or the nodata text, with separators, and the slots' slack.
  std::size_t row_bytes(std::size_t columns) const;
  // `spec` is taken by reference so that the options are bound from it before it is moved.
  CsvSink(CsvSinkOptions options, NodeSpec&& spec);
  CsvSinkOptions options_;
  Grid grid_;
  CoordinateTexts x_text_;  // of every grid column
  CoordinateTexts y_text_;  // of every grid row
  std::string nodata_;
  std::size_t chunk_rows_ = 5000;
  std::unique_ptr<BufferPool> pool_;
  std::unique_ptr<TileCompressor> compressor_;  // null: plain text
};

}  // namespace rasterflow::nodes
