#pragma once
// parquet_sink: writes the merged table as a Parquet file (x, y, <columns>, optionally a
// GeoParquet point geometry), one row per kept cell at its centre, in raster order. Tiles are
// turned into column values in parallel; the serial writer gathers them into row groups of
// whole grid rows (at most `row_group_size` table rows), whose column chunks are encoded and
// compressed in parallel (nodes/parquet/parquet_writer.*), and commit() writes the footer.
// docs/parquet.md.
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nodes/parquet/parquet_writer.hpp"
#include "rasterflow/node/option_binder.hpp"
#include "rasterflow/node/table_sink.hpp"

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

class ParquetSink final : public TableSink {
 public:
  explicit ParquetSink(NodeSpec spec);
  std::vector<std::string> describe() const override;
  ResourceNeeds resources() const override;
  // Row groups hold whole grid rows (group_rows_ of them), so that their bytes depend on the
  // grid alone: an MPI rank's band and a checkpoint begin at a row group (docs/parquet.md).
  std::int64_t row_multiple() const override { return group_rows_; }
  // Under MPI each rank writes its band's row groups; rank 0 writes the one footer.
  Gathered gather(Ranks& ranks) override;
  // Resumes after the last row group written: the checkpoint keeps their metadata.
  ResumableSink* resumable() override { return this; }
  std::string checkpoint_data(const State& state) const override;
  void reopen(const State& state) override;

 private:
  ParquetSink(ParquetSinkOptions options, NodeSpec&& spec);
  void prepare_table(const RunContext& ctx, const TableProducer& table) override;
  void begin() override;
  PayloadPtr format(const TileRequest& tile, const Table& table) const override;
  void emit(const TileRequest& tile, const Payload& data) override;
  void finish() override;
  std::vector<parquet::ColumnSpec> column_specs(const std::vector<std::string>& names,
                                                const std::vector<std::string>& types) const;
  std::size_t row_bytes() const;
  void check_memory(std::uint64_t memory_limit) const;
  void flush_row_group();
  std::uint64_t complete_gathered(const std::filesystem::path& partial, std::uint64_t bytes) override;
  std::string footer() const;
  std::vector<std::pair<std::string, std::string>> key_values(const std::vector<parquet::RowGroupMeta>& groups) const;

  ParquetSinkOptions options_;
  parquet::Codec codec_ = parquet::Codec::zstd;
  int level_ = 3;
  Grid grid_;
  std::string graph_text_;
  std::string projjson_;            // geometry "point": the grid's CRS
  std::vector<std::string> units_;  // of each table column ("" none)
  std::vector<double> xs_;          // of every grid column: the double its CSV text reads as
  std::vector<double> ys_;
  std::int64_t group_rows_ = 1;     // grid rows per row group
  std::size_t row_group_rows_ = 0;  // the most table rows a row group holds (group_rows_ x width)
  std::unique_ptr<parquet::Writer> writer_;
  std::vector<parquet::ColumnData> open_;  // the open row group
  std::size_t open_rows_ = 0;
  // The row groups written and where each ends in the file (the checkpointer reads them from
  // another thread).
  mutable std::mutex written_mutex_;
  std::vector<parquet::RowGroupMeta> written_;
  std::vector<std::uint64_t> written_ends_;
  std::string gather_error_;  // rank 0: the ranks' row groups could not be read
};

}  // namespace rasterflow::nodes
