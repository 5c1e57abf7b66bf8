#pragma once
// parquet_sink: writes the merged table as a Parquet file (x, y, <columns>, optionally a
// GeoParquet point geometry), one row per kept cell at its centre, in raster order. Tiles are
// turned into column values in parallel; the serial writer gathers them into row groups of
// `row_group_size` rows, whose column chunks are encoded and compressed in parallel
// (nodes/common/parquet_writer.*), and commit() writes the footer. docs/parquet.md.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nodes/common/file_sink.hpp"
#include "nodes/common/parquet_writer.hpp"
#include "rasterflow/option_binder.hpp"

namespace rasterflow::nodes {

struct ParquetSinkOptions {
  std::string path;
  std::string compression;
  std::optional<std::int64_t> compression_level;
  std::int64_t row_group_size = 0;
  std::string geometry;
  bool bbox = false;
  void declare(OptionBinder& args);
};

class ParquetSink final : public FileSink {
 public:
  explicit ParquetSink(NodeSpec spec);
  void prepare(const RunContext& ctx, std::span<Node* const> inputs) override;
  void open() override;
  PayloadPtr process(const TileRequest& tile, std::span<const PayloadPtr> inputs) override;
  void write(const TileRequest& tile, const PayloadPtr& data) override;
  void commit() override;
  std::vector<std::string> describe() const override;
  ResourceNeeds resources() const override;
  // The footer describes every row group, so a file cut back to a tile's length is not one to
  // append to, and ranks' bands are not byte ranges of the whole: refused (docs/parquet.md).
  void check_ranks(int ranks) const override;
  ResumableSink* resumable() override { return nullptr; }

 private:
  ParquetSink(ParquetSinkOptions options, NodeSpec&& spec);
  std::vector<parquet::ColumnSpec> column_specs(const std::vector<std::string>& names,
                                                const std::vector<std::string>& types) const;
  std::size_t row_bytes() const;
  void flush_row_group();
  std::vector<std::pair<std::string, std::string>> key_values() const;

  ParquetSinkOptions options_;
  parquet::Codec codec_ = parquet::Codec::zstd;
  int level_ = 3;
  Grid grid_;
  std::string graph_text_;
  std::string projjson_;    // geometry "point": the grid's CRS
  std::vector<double> xs_;  // of every grid column: the double its CSV text reads as
  std::vector<double> ys_;
  std::size_t first_value_ = 2;  // columns [first_value_, first_value_ + names) hold the table's values
  std::size_t row_group_rows_ = 0;
  std::unique_ptr<parquet::Writer> writer_;
  std::vector<parquet::ColumnData> open_;  // the open row group
  std::size_t open_rows_ = 0;
  std::uint64_t total_rows_ = 0;
  double bbox_[4] = {0, 0, 0, 0};  // xmin, ymin, xmax, ymax of the rows written
};

}  // namespace rasterflow::nodes
