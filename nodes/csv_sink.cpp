#include "nodes/csv_sink.hpp"

#include <charconv>
#include <cmath>
#include <cstring>

#include "rasterflow/errors.hpp"
#include "rasterflow/registry.hpp"

namespace rasterflow::nodes {
namespace {

constexpr std::size_t kBufferBytes = std::size_t{256} << 10;  // a text buffer, at most

// Formatted CSV text of one tile: buffers borrowed from the sink's pool, each filled until the
// longest possible row would not fit, and given back when the text has been written; the
// chunks (of at most merge.streaming_chunk_size rows) are slices of them. A row takes far less
// than the most it could, so the buffers hold about the bytes written (at most one buffer
// more, counted whole: a reused buffer's pages are all in memory).
struct CsvText final : Payload {
  std::string header;  // the grid's first tile only; its own chunk, whatever the names' length
  std::vector<std::unique_ptr<char[]>> buffers;
  std::vector<std::string_view> chunks;
  std::uint64_t rows = 0;
  BufferPool* pool = nullptr;
  ~CsvText() override {
    for (auto& b : buffers) pool->give_back(std::move(b));
  }
  std::size_t bytes() const noexcept override { return header.size() + buffers.size() * pool->capacity(); }
};

}  // namespace

std::size_t CsvSink::row_bytes(std::size_t columns) const {
  return x_text_.longest() + y_text_.longest() + 3 + columns * (std::max<std::size_t>(24, nodata_.size()) + 1) +
         CoordinateTexts::kSlot;
}

void CsvSinkOptions::declare(OptionBinder& args) {
  args.add("path", "CSV file, relative to --output-dir", path).output_path();
}

CsvSink::CsvSink(NodeSpec spec) : CsvSink(bind_options<CsvSinkOptions>(spec), std::move(spec)) {}

CsvSink::CsvSink(CsvSinkOptions options, NodeSpec&& spec)
    : FileSink(std::move(spec), options.path), options_(std::move(options)) {}

void CsvSink::prepare(const RunContext& ctx, std::span<Node* const> inputs) {
  FileSink::prepare(ctx, inputs);
  grid_ = ctx.grid;
  nodata_ = ctx.config->export_.nodata;
  chunk_rows_ = static_cast<std::size_t>(ctx.config->merge.streaming_chunk_size);
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
  const auto* table = dynamic_cast<const TableProducer*>(inputs[0]);
  if (table == nullptr)
    throw_graph_error(where(), "field \"inputs\": node \"" + inputs[0]->id() + "\" does not produce a table");
  const std::size_t row_bytes = this->row_bytes(table->column_names().size());
  // Buffers of a sixteenth of the longest grid row, so that even a one-row tile's text fills a
  // few of them; reused from tile to tile, the pool keeping up to 4 MiB of them.
  const std::size_t grid_row = static_cast<std::size_t>(grid_.width) * row_bytes;
  const std::size_t capacity =
      std::clamp(std::min(grid_row / 16, chunk_rows_ * row_bytes), row_bytes, std::max(row_bytes, kBufferBytes));
  pool_ = std::make_unique<BufferPool>(capacity, std::max<std::size_t>(4, (std::size_t{4} << 20) / capacity));
}

PayloadPtr CsvSink::process(const TileRequest& tile, std::span<const PayloadPtr> inputs) {
  const auto table = std::dynamic_pointer_cast<const Table>(inputs[0]);
  if (!table) throw_node_error(where(), "input is not a merged table");
  auto text = std::make_shared<CsvText>();
  text->pool = pool_.get();
  const std::size_t row_bytes = this->row_bytes(table->columns.size());
  char* chunk = nullptr;  // where the open chunk starts
  char* p = nullptr;
  char* end = nullptr;
  std::size_t rows_in_chunk = 0;
  const auto close_chunk = [&] {
    if (p != chunk) text->chunks.emplace_back(chunk, static_cast<std::size_t>(p - chunk));
    chunk = p;
    rows_in_chunk = 0;
  };
  const auto next_buffer = [&] {
    close_chunk();
    text->buffers.push_back(pool_->take());
    chunk = p = text->buffers.back().get();
    end = p + pool_->capacity();
  };
  if (tile.row0 == 0) {
    text->header = "x,y";
    for (const auto& name : table->names) text->header += "," + csv_field(name);
    text->header += "\n";
    text->chunks.emplace_back(text->header);
  }
  next_buffer();
  std::vector<const Column*> columns;
  for (const auto& c : table->columns) columns.push_back(c.get());
  for (const std::uint32_t cell : table->cells) {
    if (static_cast<std::size_t>(end - p) < row_bytes)
      next_buffer();
    else if (rows_in_chunk == chunk_rows_)
      close_chunk();
    const auto r = static_cast<std::size_t>(cell / static_cast<std::uint64_t>(tile.width));
    const auto c = static_cast<std::size_t>(cell % static_cast<std::uint64_t>(tile.width));
    p = x_text_.put(p, c);
    *p++ = ',';
    p = y_text_.put(p, static_cast<std::size_t>(tile.row0) + r);
    for (const Column* col : columns) {
      *p++ = ',';
      if (col->valid[cell]) {
        p = format_value(p, end, col->values[cell], col->kind);
      } else if (!nodata_.empty()) {
        std::memcpy(p, nodata_.data(), nodata_.size());
        p += nodata_.size();
      }
    }
    *p++ = '\n';
    ++rows_in_chunk;
  }
  close_chunk();
  text->rows = table->cells.size();
  return text;
}

void CsvSink::write(const TileRequest&, const PayloadPtr& data) {
  const auto* text = static_cast<const CsvText*>(data.get());
  for (const auto chunk : text->chunks) write_bytes(chunk, 0);
  write_bytes({}, text->rows);
}

std::vector<std::string> CsvSink::describe() const {
  return {"writes " + output_path().string() + " (via " + output_path().string() + ".partial)"};
}

ResourceNeeds CsvSink::resources() const {
  // About 12 bytes for the coordinates and 10 per column of every kept row.
  return {.bytes_per_cell = 48};
}

}  // namespace rasterflow::nodes

RASTERFLOW_REGISTER_NODE((rasterflow::NodeTypeInfo{
    .name = "csv_sink",
    .description = "Writes the merged table as CSV: x,y,<columns>, one row per cell centre in raster order.",
    .options = rasterflow::declared_options<rasterflow::nodes::CsvSinkOptions>(),
    .min_inputs = 1,
    .max_inputs = 1,
    .input_kind = "table",
    .is_sink = true,
    .create = rasterflow::create_node<rasterflow::nodes::CsvSink>,
    .operation = "write"}))
