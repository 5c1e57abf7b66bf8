#pragma once
// raster_sink: writes the merged grid through GDAL, one band per merged column (band
// descriptions are the column names), with the grid's CRS, geotransform and a nodata value.
// Tiles are converted to the band type in parallel; the serial writer stages whole blocks of
// rows (the dataset's block height) and hands GDAL each block once, in raster order, then
// flushes GDAL's cache, so memory stays bounded and the file is the same bytes whatever the
// tile size, thread count or mode. Drivers that can only copy (COG, PNG...) get a temporary
// GTiff, copied at commit. Under MPI each rank writes its rows as raw band-typed values;
// gather() concatenates them and rank 0 writes the dataset from them with the same staging,
// so the file equals one process's.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nodes/cf/cf_writer.hpp"
#include "nodes/gdal/gdal.hpp"
#include "rasterflow/node/option_binder.hpp"
#include "rasterflow/node/table_sink.hpp"

namespace rasterflow::nodes {

struct RasterSinkOptions {
  std::string path;
  std::string format;
  std::optional<std::vector<std::string>> creation_options;
  std::string data_type;
  std::optional<double> nodata;
  std::string layout;  // netCDF/Zarr: auto | columns | time
  void declare(OptionBinder& args);
};

class RasterSink final : public TableSink {
 public:
  explicit RasterSink(NodeSpec spec);
  ~RasterSink() override;
  Gathered gather(Ranks& ranks) override;
  std::vector<std::string> describe() const override;
  ResourceNeeds resources() const override;

 private:
  RasterSink(RasterSinkOptions options, NodeSpec&& spec);
  void prepare_table(const RunContext& ctx, const TableProducer& table) override;
  PayloadPtr format(const TileRequest& tile, const Table& table) const override;
  void begin() override;
  void emit(const TileRequest& tile, const Payload& data) override;
  // Warns of the values data_type changed; closes the dataset, copies it for copy-only drivers.
  void finish() override;
  void discard() noexcept override;
  std::vector<std::string> companions() const override { return {".aux.xml"}; }
  // Creates the dataset (or the temporary GTiff of a copy-only driver) under its partial name.
  void create_dataset();
  void prepare_cf(const std::vector<std::string>& types);
  void write_cf() const;
  // Int64/UInt64 bands (raster_sink_wide.cpp): band `b` of the rows written from the columns'
  // integers, every digit; the band type's exact nodata value; the values of a 64-bit column that
  // a band type of doubles holds only nearly (counted, warned of at finish).
  void format_wide(const TileRequest& tile, const Table& table, std::size_t b, std::byte* rows) const;
  void prepare_wide_nodata();
  void count_inexact(const Column& column, const Table& table) const;
  void warn_inexact() const;
  std::int64_t wide_nodata_ = 0;  // type_ Int64/UInt64: the nodata value's bits
  std::unique_ptr<std::atomic<std::uint64_t>> inexact_ = std::make_unique<std::atomic<std::uint64_t>>(0);
  void count_changed(const std::vector<double>& values, const std::byte* rows, std::size_t band, std::size_t bands,
                     std::size_t width, std::int64_t count) const;
  // Appends `count` rows (row-major: row, then band, then column, band-typed) to the staged
  // block, handing full blocks to GDAL.
  void stage(const std::byte* rows, std::int64_t count);
  void flush_stage();
  // Closes the dataset and copies it for copy-only drivers, into partial_path().
  void finish_dataset();
  std::string partial_name() const { return partial_path().string(); }
  std::string temporary_gtiff() const { return final_path().string() + ".partial.tif"; }

  RasterSinkOptions options_;
  Grid grid_;
  std::vector<std::string> names_;
  std::vector<ColumnMetadata> metadata_;  // units per column, from the table
  std::unique_ptr<std::atomic<std::uint64_t>> changed_ = std::make_unique<std::atomic<std::uint64_t>>(0);
  GDALDriverH driver_ = nullptr;
  bool copy_only_ = false;  // the driver has CreateCopy but no Create
  bool cf_ = false;         // netCDF/Zarr: staged as a GTiff, written at commit as a CF dataset
  CfLayout layout_ = CfLayout::columns;
  std::vector<CfColumn> cf_columns_;
  GDALDataType type_ = GDT_Float64;
  double nodata_ = 0;
  std::size_t type_bytes_ = 8;
  DatasetPtr dataset_;
  std::int64_t block_rows_ = 1;    // rows staged before GDAL gets them
  std::vector<std::byte> staged_;  // band-sequential: band, row, column
  std::int64_t staged_row0_ = 0;
  std::int64_t staged_count_ = 0;
};

}  // namespace rasterflow::nodes
