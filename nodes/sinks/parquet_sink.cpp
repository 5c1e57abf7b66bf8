#include "nodes/sinks/parquet_sink.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "nodes/parquet/geoparquet.hpp"
#include "nodes/parquet/parquet_columns.hpp"
#include "nodes/sinks/csv_format.hpp"
#include "rasterflow/errors.hpp"
#include "rasterflow/node/registry.hpp"
#include "rasterflow/pipeline.hpp"

namespace rasterflow::nodes {
namespace {

constexpr std::int64_t kDefaultRowGroup = 262144;

// The open row group's values, the encoded group and its compressed pages: about three times
// the rows' own bytes at the moment it is written.
constexpr std::size_t kRowGroupCopies = 3;

std::string mib(double bytes) {
  std::ostringstream s;
  s.precision(1);
  s << std::fixed << bytes / 1048576.0 << " MiB";
  return s.str();
}

std::size_t width_of(const parquet::ColumnSpec& c) {
  const std::size_t levels = c.optional ? 1 : 0;
  switch (c.type) {
    case parquet::Physical::int32:
    case parquet::Physical::float32:
      return 4 + levels;
    case parquet::Physical::int64:
    case parquet::Physical::float64:
      return 8 + levels;
    case parquet::Physical::byte_array:
      return 25 + levels;  // a WKB point and its length
  }
  return 8;
}

}  // namespace

void ParquetSinkOptions::declare(OptionBinder& args) {
  args.add("path", "Parquet file, relative to --output-dir", path).output_path();
  args.add("compression", "page compression: zstd, snappy, gzip or none", compression, "zstd")
      .choices({"zstd", "snappy", "gzip", "none"});
  args.add("compression_level", "zstd 1-22 (default 3), gzip 1-9 (default 6); snappy and none have none",
           compression_level);
  args.add("row_group_size",
           "the most rows a row group holds: each holds the kept cells of row_group_size / width whole grid rows "
           "(at least one), so that its bytes depend on the grid alone (MPI bands and checkpoints begin at a row "
           "group); the open row group is held in memory and must fit the memory limit",
           row_group_size, kDefaultRowGroup)
      .min(1);
  args.add("geometry", "point: a GeoParquet 1.1 WKB point column \"geometry\" at each cell centre, in the grid's CRS",
           geometry, "none")
      .choices({"none", "point"});
  args.add("bbox", "with geometry point: GeoParquet's bbox covering column (a group of xmin, ymin, xmax, ymax)", bbox,
           false);
}

ParquetSink::ParquetSink(NodeSpec spec) : ParquetSink(bind_options<ParquetSinkOptions>(spec), std::move(spec)) {}

ParquetSink::ParquetSink(ParquetSinkOptions options, NodeSpec&& spec)
    : TableSink(std::move(spec), Output::stream, options.path), options_(std::move(options)) {
  const std::string& c = options_.compression;
  codec_ = c == "none"     ? parquet::Codec::none
           : c == "snappy" ? parquet::Codec::snappy
           : c == "gzip"   ? parquet::Codec::gzip
                           : parquet::Codec::zstd;
  level_ = codec_ == parquet::Codec::gzip ? 6 : 3;
  if (options_.compression_level) {
    const auto level = *options_.compression_level;
    const int top = codec_ == parquet::Codec::gzip ? 9 : 22;
    if (codec_ == parquet::Codec::none || codec_ == parquet::Codec::snappy)
      throw_graph_error(where(), "option \"compression_level\": compression \"" + c + "\" has no level");
    if (level < 1 || level > top)
      throw_graph_error(where(), "option \"compression_level\": " + std::to_string(level) + " is out of range for " +
                                     c + " (expected 1 to " + std::to_string(top) + ")");
    level_ = static_cast<int>(level);
  }
  if (options_.bbox && options_.geometry != "point")
    throw_graph_error(where(), "option \"bbox\": the bbox covering column needs option \"geometry\": \"point\"");
}

std::vector<parquet::ColumnSpec> ParquetSink::column_specs(const std::vector<std::string>& names,
                                                           const std::vector<std::string>& types) const {
  std::vector<parquet::ColumnSpec> specs;
  specs.push_back({.name = "x", .optional = false});
  specs.push_back({.name = "y", .optional = false});
  for (std::size_t i = 0; i < names.size(); ++i)
    specs.push_back(parquet_column(names[i], i < types.size() ? types[i] : std::string()));
  if (options_.geometry == "point")
    specs.push_back({.name = "geometry", .type = parquet::Physical::byte_array, .optional = false});
  if (options_.bbox) {
    for (const char* n : {"xmin", "ymin", "xmax", "ymax"})
      specs.push_back({.name = n, .optional = false, .group = "bbox"});
  }
  for (std::size_t i = 2; i < specs.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (specs[i].name == specs[j].name && specs[i].group == specs[j].group)
        throw_graph_error(where(), "column \"" + specs[i].name + "\" is named twice (x, y" +
                                       std::string(options_.geometry == "point" ? ", geometry" : "") +
                                       " are the sink's own)");
    }
  }
  return specs;
}

std::size_t ParquetSink::row_bytes() const {
  std::size_t bytes = 0;
  for (const auto& c : writer_->columns()) bytes += width_of(c);
  return bytes;
}

}  // namespace rasterflow::nodes

namespace rasterflow::nodes {

void ParquetSink::prepare_table(const RunContext& ctx, const TableProducer& table) {
  grid_ = ctx.grid;
  if (options_.geometry == "point") {
    if (grid_.crs.empty())
      throw_graph_error(where(), "option \"geometry\": the grid has no CRS, which GeoParquet needs (as PROJJSON)");
    projjson_ = crs_projjson(grid_.crs);
    if (projjson_.empty())
      throw_graph_error(where(), "option \"geometry\": the grid's CRS has no PROJJSON (GDAL cannot export \"" +
                                     grid_.crs.substr(0, 80) + "\"), which GeoParquet needs");
  }
  parquet::WriterOptions writer{.codec = codec_, .level = level_};
  writer_ = std::make_unique<parquet::Writer>(column_specs(table.column_names(), table.column_types()), writer);
  for (const auto& m : table.column_metadata()) units_.push_back(m.units);
  units_.resize(table.column_names().size());
  // Whole grid rows, as many as fit in row_group_size rows (at least one).
  group_rows_ = std::max<std::int64_t>(1, options_.row_group_size / std::max<std::int64_t>(1, grid_.width));
  row_group_rows_ = static_cast<std::size_t>(group_rows_ * grid_.width);
  check_memory(ctx.memory_limit);
  // The coordinates as the CSV writes them, read back as doubles (as postgres_sink does): the
  // same values in both files.
  const int x_decimals = coordinate_decimals(grid_.x0, grid_.res_x, grid_.width, false);
  const int y_decimals = coordinate_decimals(grid_.y0, grid_.res_y, grid_.height, true);
  std::string text;
  xs_.resize(static_cast<std::size_t>(grid_.width));
  for (std::int64_t c = 0; c < grid_.width; ++c) {
    text.clear();
    append_fixed(text, grid_.center_x(c), x_decimals);
    xs_[static_cast<std::size_t>(c)] = std::strtod(text.c_str(), nullptr);
  }
  ys_.resize(static_cast<std::size_t>(grid_.height));
  for (std::int64_t r = 0; r < grid_.height; ++r) {
    text.clear();
    append_fixed(text, grid_.center_y(r), y_decimals);
    ys_[static_cast<std::size_t>(r)] = std::strtod(text.c_str(), nullptr);
  }
  std::ifstream graph(spec().graph_file);
  if (graph) graph_text_.assign(std::istreambuf_iterator<char>(graph), std::istreambuf_iterator<char>());
}

void ParquetSink::check_memory(std::uint64_t memory_limit) const {
  const double per_row = static_cast<double>(row_bytes() * kRowGroupCopies);
  const double held = static_cast<double>(row_group_rows_) * per_row;
  if (memory_limit == 0 || held <= static_cast<double>(memory_limit) / 2) return;
  const auto fits = static_cast<std::uint64_t>(static_cast<double>(memory_limit) / 2 / per_row);
  throw_graph_error(
      where(),
      "option \"row_group_size\": a row group of " + std::to_string(group_rows_) + " grid rows (" +
          std::to_string(row_group_rows_) + " rows) holds about " + mib(held) + ", more than half the memory limit (" +
          mib(static_cast<double>(memory_limit)) + "); at most " + std::to_string(fits) + " rows fit" +
          (fits < static_cast<std::uint64_t>(grid_.width) ? ", less than one grid row of " + std::to_string(grid_.width)
                                                          : std::string()));
}

void ParquetSink::begin() {
  open_.assign(writer_->columns().size(), {});
  open_rows_ = 0;
  const std::lock_guard lock(written_mutex_);
  written_.clear();
  written_ends_.clear();
}

PayloadPtr ParquetSink::format(const TileRequest& tile, const Table& table) const {
  ParquetLayout layout{.columns = writer_->columns(), .geometry = options_.geometry == "point", .bbox = options_.bbox};
  std::shared_ptr<ParquetRows> rows;
  try {
    rows = parquet_rows(layout, table, static_cast<std::size_t>(tile.width), tile.row0, xs_, ys_);
  } catch (const std::runtime_error& e) {
    throw_node_error(where(), std::string("tile ") + std::to_string(tile.seq) + ": " + e.what());
  }
  // Where each row group begins in the tile: the kept cells before its first grid row.
  const std::int64_t end = tile.row0 + tile.rows;
  for (std::int64_t row = (tile.row0 / group_rows_ + 1) * group_rows_; row < end; row += group_rows_) {
    const auto first = static_cast<std::uint32_t>((row - tile.row0) * tile.width);
    rows->splits.push_back(static_cast<std::size_t>(std::lower_bound(table.cells.begin(), table.cells.end(), first) -
                                                    table.cells.begin()));
  }
  return rows;
}

void ParquetSink::emit(const TileRequest& tile, const Payload& data) {
  const auto* rows = static_cast<const ParquetRows*>(&data);
  const auto& specs = writer_->columns();
  if (tile.row0 == 0) write_bytes(parquet::kMagic, 0);  // the file's (rank 0's band's) start
  std::vector<RowCursor> at(specs.size());
  std::size_t done = 0;
  const auto append = [&](std::size_t upto) {
    for (std::size_t i = 0; i < specs.size(); ++i)
      append_rows(open_[i], rows->columns[i], specs[i], at[i], upto - done);
    open_rows_ += upto - done;
    done = upto;
  };
  for (const std::size_t split : rows->splits) {
    append(split);
    flush_row_group();
  }
  append(rows->rows);
  const std::int64_t end = tile.row0 + tile.rows;
  if (end % group_rows_ == 0 || end == grid_.height) flush_row_group();
}

void ParquetSink::flush_row_group() {
  // A row group whose cells were all dropped is not written (nor in any other run).
  if (open_rows_ == 0) return;
  std::string bytes;
  try {
    bytes = writer_->row_group(open_, open_rows_, static_cast<std::int64_t>(bytes_written()));
  } catch (const std::exception& e) {
    throw_node_error(
        where(), std::string("encoding row group ") + std::to_string(writer_->row_groups().size()) + ": " + e.what());
  }
  write_bytes(bytes, open_rows_);
  {
    const std::lock_guard lock(written_mutex_);
    written_.push_back(writer_->row_groups().back());
    written_ends_.push_back(bytes_written());
  }
  for (auto& c : open_) c.clear();
  open_rows_ = 0;
}

void ParquetSink::finish() {
  flush_row_group();
  // An MPI rank's band has no footer: rank 0 writes the file's in gather().
  if (!is_band()) write_bytes(footer(), 0);
}

std::string ParquetSink::footer() const {
  std::vector<parquet::RowGroupMeta> groups;
  {
    const std::lock_guard lock(written_mutex_);
    groups = written_;
  }
  const auto kv = key_values(groups);
  writer_->set_row_groups(std::move(groups));
  return writer_->footer(kv, "rasterflow version " + version());
}

}  // namespace rasterflow::nodes

namespace rasterflow::nodes {
namespace {

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (const char ch : text) {
    const auto u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string json_number(double v) {
  char buf[32];
  return std::string(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

// The extent of the rows written: the x and y columns' (the first two) statistics.
std::optional<std::array<double, 4>> extent_of(const std::vector<parquet::RowGroupMeta>& groups) {
  std::optional<std::array<double, 4>> box;
  const auto value = [](const std::string& plain) {
    double v = 0;
    std::memcpy(&v, plain.data(), sizeof v);
    return v + 0.0;  // a zero minimum is written -0.0 (parquet-format's rule): 0 here
  };
  for (const auto& g : groups) {
    const auto& x = g.chunks[0].stats.min_max;
    const auto& y = g.chunks[1].stats.min_max;
    if (!x || !y) continue;
    const std::array<double, 4> b{value(x->first), value(y->first), value(x->second), value(y->second)};
    if (!box) box = b;
    *box = {std::min((*box)[0], b[0]), std::min((*box)[1], b[1]), std::max((*box)[2], b[2]), std::max((*box)[3], b[3])};
  }
  return box;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> ParquetSink::key_values(
    const std::vector<parquet::RowGroupMeta>& groups) const {
  std::vector<std::pair<std::string, std::string>> kv;
  kv.emplace_back("rasterflow.version", version());
  kv.emplace_back("rasterflow.graph", graph_text_.empty() ? spec().graph_file.string() : graph_text_);
  kv.emplace_back("rasterflow.grid", "{\"crs\":" + json_string(grid_.crs) + ",\"x0\":" + json_number(grid_.x0) +
                                         ",\"y0\":" + json_number(grid_.y0) + ",\"res_x\":" + json_number(grid_.res_x) +
                                         ",\"res_y\":" + json_number(grid_.res_y) +
                                         ",\"width\":" + std::to_string(grid_.width) +
                                         ",\"height\":" + std::to_string(grid_.height) + "}");
  // Each column's units, as the source gives them (the columns without are left out).
  std::string units;
  for (std::size_t i = 0; i < units_.size(); ++i) {
    if (units_[i].empty()) continue;
    units += std::string(units.empty() ? "" : ",") + json_string(writer_->columns()[2 + i].name) + ":" +
             json_string(units_[i]);
  }
  kv.emplace_back("rasterflow.units", "{" + units + "}");
  if (options_.geometry == "point")
    kv.emplace_back("geo", geo_metadata("geometry", projjson_, extent_of(groups), options_.bbox));
  return kv;
}

std::vector<std::string> ParquetSink::describe() const {
  const std::string path = final_path().string();
  std::string line = "writes " + path + " (via " + path + ".partial), " + options_.compression;
  if (codec_ == parquet::Codec::zstd || codec_ == parquet::Codec::gzip) line += " level " + std::to_string(level_);
  line += ", row groups of " + std::to_string(group_rows_) + " grid rows (at most " + std::to_string(row_group_rows_) +
          " rows, about " + mib(static_cast<double>(row_group_rows_ * row_bytes() * kRowGroupCopies)) +
          " held while one is open)";
  if (options_.geometry == "point")
    line += ", GeoParquet 1.1 point geometry" + std::string(options_.bbox ? " and bbox" : "");
  return {line, "MPI: each rank's band begins at a row group (a multiple of " + std::to_string(group_rows_) +
                    " grid rows) and holds its own; rank 0 writes the one footer. Checkpoints after a row group; "
                    "--resume continues after the last one recorded"};
}

ResourceNeeds ParquetSink::resources() const {
  // A tile's rows as column values: about the row's bytes per kept cell; the open row group
  // for the whole run.
  const std::size_t row = writer_ ? row_bytes() : 48;
  const std::size_t held = writer_ ? row_group_rows_ * row * kRowGroupCopies : 0;
  return {.bytes_per_cell = static_cast<double>(row), .held = held};
}

}  // namespace rasterflow::nodes

RASTERFLOW_REGISTER_NODE((rasterflow::NodeTypeInfo{
    .name = "parquet_sink",
    .description = "Writes the merged table as Parquet (x, y, <columns> in their own types; optionally a GeoParquet "
                   "point geometry), one row per cell centre in raster order.",
    .options = rasterflow::declared_options<rasterflow::nodes::ParquetSinkOptions>(),
    .min_inputs = 1,
    .max_inputs = 1,
    .input_kind = rasterflow::EdgeKind::table,
    .is_sink = true,
    .create = rasterflow::create_node<rasterflow::nodes::ParquetSink>,
    .operation = "write"}))
