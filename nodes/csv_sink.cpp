#include "nodes/csv_sink.hpp"

#include <charconv>
#include <cmath>

#include "rasterflow/errors.hpp"
#include "rasterflow/registry.hpp"

namespace rasterflow::nodes {
namespace {

// Formatted CSV text of one tile, in pieces of at most merge.streaming_chunk_size rows.
struct CsvText final : Payload {
  std::vector<std::string> chunks;
  std::uint64_t rows = 0;
  std::size_t bytes() const noexcept override {
    std::size_t n = 0;
    for (const auto& c : chunks) n += c.capacity();
    return n;
  }
};

}  // namespace

void append_fixed(std::string& out, double value, int decimals) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed, decimals);
  if (ec != std::errc{}) {
    out += "nan";
    return;
  }
  char* begin = buf;
  if (decimals > 0) {
    while (end > begin && end[-1] == '0') --end;
    if (end > begin && end[-1] == '.') --end;
  }
  if (end - begin == 2 && begin[0] == '-' && begin[1] == '0') ++begin;
  out.append(begin, end);
}

void append_value(std::string& out, double value, ValueKind kind) {
  char buf[64];
  std::to_chars_result r{};
  switch (kind) {
    case ValueKind::integer: r = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(value)); break;
    case ValueKind::float32: r = std::to_chars(buf, buf + sizeof buf, static_cast<float>(value)); break;
    case ValueKind::float64: r = std::to_chars(buf, buf + sizeof buf, value); break;
  }
  out.append(buf, r.ptr);
}

CsvSink::CsvSink(NodeSpec spec) : FileSink(std::move(spec)) {}

void CsvSink::prepare(const RunContext& ctx, std::span<Node* const> inputs) {
  FileSink::prepare(ctx, inputs);
  grid_ = ctx.grid;
  nodata_ = ctx.config->export_.nodata;
  chunk_rows_ = static_cast<std::size_t>(ctx.config->merge.streaming_chunk_size);
  const int x_decimals = coordinate_decimals(grid_.x0, grid_.res_x, grid_.width, false);
  y_decimals_ = coordinate_decimals(grid_.y0, grid_.res_y, grid_.height, true);
  x_text_.resize(static_cast<std::size_t>(grid_.width));
  for (std::int64_t c = 0; c < grid_.width; ++c) append_fixed(x_text_[static_cast<std::size_t>(c)], grid_.center_x(c), x_decimals);
}

PayloadPtr CsvSink::process(const TileRequest& tile, std::span<const PayloadPtr> inputs) {
  const auto table = std::dynamic_pointer_cast<const Table>(inputs[0]);
  if (!table) throw_node_error(where(), "input is not a merged table");
  auto text = std::make_shared<CsvText>();
  if (tile.seq == 0) {
    std::string header = "x,y";
    for (const auto& name : table->names) header += "," + name;
    header += "\n";
    text->chunks.push_back(std::move(header));
  }
  const std::size_t ncol = table->columns.size();
  std::string chunk;
  std::size_t rows_in_chunk = 0;
  std::int64_t current_row = -1;
  std::string y_text;
  for (const std::uint32_t cell : table->cells) {
    const std::int64_t r = static_cast<std::int64_t>(cell) / tile.width;
    const std::int64_t c = static_cast<std::int64_t>(cell) % tile.width;
    if (r != current_row) {
      current_row = r;
      y_text.clear();
      append_fixed(y_text, grid_.center_y(tile.row0 + r), y_decimals_);
    }
    chunk += x_text_[static_cast<std::size_t>(c)];
    chunk += ',';
    chunk += y_text;
    for (std::size_t k = 0; k < ncol; ++k) {
      chunk += ',';
      const Column& col = *table->columns[k];
      if (col.valid[cell]) {
        append_value(chunk, col.values[cell], col.kind);
      } else {
        chunk += nodata_;
      }
    }
    chunk += '\n';
    if (++rows_in_chunk == chunk_rows_) {
      text->chunks.push_back(std::move(chunk));
      chunk = std::string{};
      rows_in_chunk = 0;
    }
  }
  if (!chunk.empty()) text->chunks.push_back(std::move(chunk));
  text->rows = table->cells.size();
  return text;
}

void CsvSink::write(const TileRequest&, const PayloadPtr& data) {
  const auto* text = static_cast<const CsvText*>(data.get());
  for (std::size_t i = 0; i < text->chunks.size(); ++i) write_bytes(text->chunks[i], 0);
  write_bytes({}, text->rows);
}

std::vector<std::string> CsvSink::describe() const {
  return {"writes " + output_path().string() + " (via " + output_path().string() + ".partial)"};
}

std::size_t CsvSink::estimate_bytes(std::int64_t cells) const {
  // About 12 bytes for the coordinates and 10 per column of every kept row.
  return static_cast<std::size_t>(cells) * 48;
}

}  // namespace rasterflow::nodes

RASTERFLOW_REGISTER_NODE((rasterflow::NodeTypeInfo{
    "csv_sink",
    "Writes the merged table as CSV: x,y,<columns>, one row per cell centre in raster order.",
    {
        {"path", rasterflow::OptionType::output_path, "CSV file, relative to --output-dir", {}, true},
    },
    1, 1, "table", "", true,
    [](rasterflow::NodeSpec spec) { return std::make_unique<rasterflow::nodes::CsvSink>(std::move(spec)); }, "write"}))
