#include "nodes/sinks/csv_sink.hpp"

#include <charconv>
#include <cmath>
#include <cstring>

#include <spdlog/spdlog.h>

#include "rasterflow/errors.hpp"
#include "rasterflow/node/registry.hpp"

namespace rasterflow::nodes {

constexpr std::size_t kBufferBytes = std::size_t{256} << 10;  // a text buffer, at most

// Formatted CSV text of one tile: buffers borrowed from the sink's pool, each filled until the
// longest possible row would not fit, and given back when the text has been written; the
// chunks (of at most chunk_rows rows) are slices of them. A row takes far less
// than the most it could, so the buffers hold about the bytes written (at most one buffer
// more, counted whole: a reused buffer's pages are all in memory).
struct CsvText final : Payload {
  std::string header;  // the grid's first tile only; its own chunk, whatever the names' length
  std::vector<std::unique_ptr<char[]>> buffers;
  std::vector<std::string_view> chunks;
  std::string packed;  // when compressed: the tile's gzip member or zstd frame, and no buffers
  std::uint64_t rows = 0;
  BufferPool* pool = nullptr;
  ~CsvText() override { give_back(); }
  void give_back() {
    for (auto& b : buffers) pool->give_back(std::move(b));
    buffers.clear();
  }
  std::size_t bytes() const noexcept override {
    return header.size() + buffers.size() * pool->capacity() + packed.capacity();
  }
};

std::size_t CsvSink::row_bytes(std::size_t columns) const {
  return x_text_.longest() + y_text_.longest() + 3 + columns * (std::max<std::size_t>(24, nodata_.size()) + 1) +
         CoordinateTexts::kSlot;
}

void CsvSinkOptions::declare(OptionBinder& args) {
  args.add("path", "CSV file, relative to --output-dir; .gz or .zst compresses it (see compression)", path)
      .output_path();
  args.add("compression",
           "auto: from the path (.gz gzip, .zst zstd, else none); or none, gzip, zstd whatever the path. Each "
           "tile is compressed in parallel into its own gzip member or zstd frame",
           compression, "auto")
      .choices({"auto", "none", "gzip", "zstd"});
  args.add("compression_level",
           "gzip 1-9 (1-3 ISA-L igzip, default 3; 4-9 zlib, as gzip -4..-9), zstd 1-19 (default 3, up to 22)",
           compression_level);
  args.add("nodata", "text written for a nodata cell (default \"\": an empty field; formerly export.nodata)", nodata);
  args.add("chunk_rows",
           "the most CSV rows in one chunk of formatted text handed to the writer (default 5000; formerly "
           "merge.streaming_chunk_size)",
           chunk_rows)
      .min(1);
}

CsvSink::CsvSink(NodeSpec spec) : CsvSink(bind_options<CsvSinkOptions>(spec), std::move(spec)) {}

CsvSink::CsvSink(CsvSinkOptions options, NodeSpec&& spec)
    : TableSink(std::move(spec), Output::stream, options.path), options_(std::move(options)) {
  const Codec codec = options_.compression == "gzip"   ? Codec::gzip
                      : options_.compression == "zstd" ? Codec::zstd
                      : options_.compression == "none" ? Codec::none
                                                       : codec_of_path(options_.path);
  if (options_.compression_level) {
    const auto level = *options_.compression_level;
    if (codec == Codec::none) {
      throw_graph_error(where(), "option \"compression_level\": the output is not compressed (path \"" + options_.path +
                                     "\", compression \"" + options_.compression + "\")");
    }
    if (level < min_level(codec) || level > max_level(codec)) {
      throw_graph_error(where(), "option \"compression_level\": " + std::to_string(level) + " is out of range for " +
                                     codec_name(codec) + " (expected " + std::to_string(min_level(codec)) + " to " +
                                     std::to_string(max_level(codec)) + ")");
    }
  }
  if (codec != Codec::none)
    compressor_ = std::make_unique<TileCompressor>(codec, options_.compression_level.value_or(default_level(codec)));
}

void CsvSink::take_settings(const Config& config) {
  // The configuration keys these options replace still load: used when the option is not
  // given, with a warning naming the option.
  const Config defaults;
  if (options_.nodata) {
    nodata_ = *options_.nodata;
  } else {
    nodata_ = config.export_.nodata;
    if (nodata_ != defaults.export_.nodata)
      spdlog::warn("{}: configuration key export.nodata is deprecated; use the csv_sink option \"nodata\"", where());
  }
  if (options_.chunk_rows) {
    chunk_rows_ = static_cast<std::size_t>(*options_.chunk_rows);
  } else {
    chunk_rows_ = static_cast<std::size_t>(config.merge.streaming_chunk_size);
    if (config.merge.streaming_chunk_size != defaults.merge.streaming_chunk_size)
      spdlog::warn(
          "{}: configuration key merge.streaming_chunk_size is deprecated; use the csv_sink option "
          "\"chunk_rows\"",
          where());
  }
}

void CsvSink::prepare_table(const RunContext& ctx, const TableProducer& table) {
  grid_ = ctx.grid;
  take_settings(*ctx.config);
  const int x_decimals = coordinate_decimals(grid_.x0, grid_.res_x, grid_.width, false);
  const int y_decimals = coordinate_decimals(grid_.y0, grid_.res_y, grid_.height, true);
  std::vector<std::string> texts(static_cast<std::size_t>(grid_.width));
  for (std::int64_t c = 0; c < grid_.width; ++c)
    append_fixed(texts[static_cast<std::size_t>(c)], grid_.center_x(c), x_decimals);
  x_text_.build(texts);
  texts.assign(static_cast<std::size_t>(grid_.height), std::string());
  for (std::int64_t r = 0; r < grid_.height; ++r)
    append_fixed(texts[static_cast<std::size_t>(r)], grid_.center_y(r), y_decimals);
  y_text_.build(texts);
  const std::size_t row_bytes = this->row_bytes(table.column_names().size());
  // Buffers of a sixteenth of the longest grid row, so that even a one-row tile's text fills a
  // few of them; reused from tile to tile, the pool keeping up to 4 MiB of them.
  const std::size_t grid_row = static_cast<std::size_t>(grid_.width) * row_bytes;
  const std::size_t capacity =
      std::clamp(std::min(grid_row / 16, chunk_rows_ * row_bytes), row_bytes, std::max(row_bytes, kBufferBytes));
  pool_ = std::make_unique<BufferPool>(capacity, std::max<std::size_t>(4, (std::size_t{4} << 20) / capacity));
}

// Fills a CsvText with one tile's rows: buffers taken from the pool as the text grows, cut into
// chunks of at most `chunk_rows` rows.
class CsvSink::TileText {
 public:
  TileText(const CsvSink& sink, CsvText& text, std::size_t row_bytes)
      : sink_(sink), text_(text), row_bytes_(row_bytes) {
    next_buffer();
  }
  void row(const Table& table, std::size_t cell, std::size_t column, std::size_t grid_row) {
    if (static_cast<std::size_t>(end_ - p_) < row_bytes_)
      next_buffer();
    else if (rows_in_chunk_ == sink_.chunk_rows_)
      close_chunk();
    p_ = sink_.x_text_.put(p_, column);
    *p_++ = ',';
    p_ = sink_.y_text_.put(p_, grid_row);
    for (const auto& col : table.columns) {
      *p_++ = ',';
      if (col->valid[cell]) {
        p_ = format_cell(p_, end_, *col, cell);
      } else if (!sink_.nodata_.empty()) {
        std::memcpy(p_, sink_.nodata_.data(), sink_.nodata_.size());
        p_ += sink_.nodata_.size();
      }
    }
    *p_++ = '\n';
    ++rows_in_chunk_;
  }
  void close_chunk() {
    if (p_ != chunk_) text_.chunks.emplace_back(chunk_, static_cast<std::size_t>(p_ - chunk_));
    chunk_ = p_;
    rows_in_chunk_ = 0;
  }

 private:
  void next_buffer() {
    close_chunk();
    text_.buffers.push_back(sink_.pool_->take());
    chunk_ = p_ = text_.buffers.back().get();
    end_ = p_ + sink_.pool_->capacity();
  }
  const CsvSink& sink_;
  CsvText& text_;
  std::size_t row_bytes_;
  char* chunk_ = nullptr;  // where the open chunk starts
  char* p_ = nullptr;
  char* end_ = nullptr;
  std::size_t rows_in_chunk_ = 0;
};

PayloadPtr CsvSink::format(const TileRequest& tile, const Table& table) const {
  auto text = std::make_shared<CsvText>();
  text->pool = pool_.get();
  if (tile.row0 == 0) {
    text->header = "x,y";
    for (const auto& name : table.names) {
      text->header += ',';
      text->header += csv_field(name);
    }
    text->header += "\n";
    text->chunks.emplace_back(text->header);
  }
  TileText rows(*this, *text, row_bytes(table.columns.size()));
  // The kept cells come in raster order: their row and column follow without a division per
  // cell (a jump back, which a table should not have, divides).
  const auto width = static_cast<std::size_t>(tile.width);
  std::size_t r = 0;
  std::size_t row_start = 0;
  for (const std::uint32_t cell : table.cells) {
    if (cell < row_start) {
      r = cell / width;
      row_start = r * width;
    }
    while (cell >= row_start + width) {
      row_start += width;
      ++r;
    }
    rows.row(table, cell, cell - row_start, static_cast<std::size_t>(tile.row0) + r);
  }
  rows.close_chunk();
  text->rows = table.cells.size();
  if (compressor_) compress(tile, *text);
  return text;
}

void CsvSink::compress(const TileRequest& tile, CsvText& text) const {
  try {
    compressor_->compress(text.chunks, text.packed);
  } catch (const std::exception& e) {
    std::string what = "compressing tile ";
    what += std::to_string(tile.seq);
    what += ": ";
    what += e.what();
    throw_node_error(where(), what);
  }
  text.chunks.clear();
  text.give_back();
}

void CsvSink::emit(const TileRequest&, const Payload& data) {
  const auto& text = static_cast<const CsvText&>(data);
  for (const auto chunk : text.chunks) write_bytes(chunk, 0);
  write_bytes(text.packed, text.rows);
}

std::vector<std::string> CsvSink::describe() const {
  std::string line = "writes " + output_path().string() + " (via " + output_path().string() + ".partial)";
  if (compressor_) {
    const bool igzip = compressor_->codec() == Codec::gzip && compressor_->level() <= kIsalGzipMaxLevel;
    line += std::string(", compressed with ") + codec_name(compressor_->codec()) + " level " +
            std::to_string(compressor_->level()) +
            (compressor_->codec() == Codec::zstd ? ""
             : igzip                             ? " (ISA-L's igzip)"
                                                 : " (zlib)") +
            ", one " + (compressor_->codec() == Codec::gzip ? "gzip member" : "zstd frame") + " per tile";
  }
  return {line};
}

ResourceNeeds CsvSink::resources() const {
  // About 12 bytes for the coordinates and 10 per column of every kept row; a compressed CSV's
  // pool keeps one compression context per thread (compression.hpp).
  ResourceNeeds r{.bytes_per_cell = 48};
  if (compressor_) {
    r.thread_state.push_back(
        {id() + ": " + std::string(codec_name(compressor_->codec())) + " context", compressor_->context_bytes()});
  }
  return r;
}

}  // namespace rasterflow::nodes

RASTERFLOW_REGISTER_NODE((rasterflow::NodeTypeInfo{
    .name = "csv_sink",
    .description = "Writes the merged table as CSV: x,y,<columns>, one row per cell centre in raster order.",
    .options = rasterflow::declared_options<rasterflow::nodes::CsvSinkOptions>(),
    .min_inputs = 1,
    .max_inputs = 1,
    .input_kind = rasterflow::EdgeKind::table,
    .is_sink = true,
    .create = rasterflow::create_node<rasterflow::nodes::CsvSink>,
    .operation = "write"}))
