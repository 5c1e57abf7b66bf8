#include "python/chunk_sink.hpp"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "nodes/sinks/csv_format.hpp"
#include "rasterflow/errors.hpp"
#include "rasterflow/node/registry.hpp"

namespace rasterflow::python {
namespace {

// Cell centres as the CSV sink writes them (fixed notation, fewest decimals), read back.
std::vector<double> csv_coordinates(double origin, double res, std::int64_t n, bool descending, bool is_y,
                                    const Grid& grid) {
  const int decimals = coordinate_decimals(origin, res, n, descending);
  std::vector<double> out(static_cast<std::size_t>(n));
  std::string text;
  for (std::int64_t i = 0; i < n; ++i) {
    text.clear();
    nodes::append_fixed(text, is_y ? grid.center_y(i) : grid.center_x(i), decimals);
    out[static_cast<std::size_t>(i)] = std::strtod(text.c_str(), nullptr);
  }
  return out;
}

template <typename T>
std::size_t capacity_bytes(const std::vector<T>& v) {
  return v.capacity() * sizeof(T);
}

}  // namespace

std::size_t Chunk::bytes() const noexcept {
  std::size_t total = capacity_bytes(x) + capacity_bytes(y) + capacity_bytes(row) + capacity_bytes(col);
  for (const auto& c : columns)
    total += capacity_bytes(c.f64) + capacity_bytes(c.f32) + capacity_bytes(c.i64) + capacity_bytes(c.nodata);
  return total;
}

bool ChunkQueue::push(ChunkPtr chunk) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return closed_ || items_.size() < capacity_; });
  if (closed_) return false;
  items_.push_back(std::move(chunk));
  changed_.notify_all();
  return true;
}

ChunkPtr ChunkQueue::pop(int timeout_ms) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return !items_.empty() || finished_; });
  if (items_.empty()) return nullptr;
  ChunkPtr chunk = std::move(items_.front());
  items_.pop_front();
  changed_.notify_all();
  return chunk;
}

void ChunkQueue::finish() {
  std::lock_guard lock(mutex_);
  finished_ = true;
  changed_.notify_all();
}

void ChunkQueue::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  items_.clear();
  changed_.notify_all();
}

bool ChunkQueue::finished_and_empty() const {
  std::lock_guard lock(mutex_);
  return finished_ && items_.empty();
}

ChunkSink::ChunkSink(NodeSpec spec, std::shared_ptr<ChunkQueue> queue, bool masked)
    : SinkNode(std::move(spec)), queue_(std::move(queue)), masked_(masked) {}

void ChunkSink::prepare(const RunContext& ctx, std::span<Node* const> inputs) {
  const auto* table = dynamic_cast<const nodes::TableProducer*>(inputs[0]);
  if (table == nullptr)
    throw_graph_error(where(), "field \"inputs\": node \"" + inputs[0]->id() + "\" does not produce a table");
  names_ = table->column_names();
  types_ = table->column_types();
  types_.resize(names_.size());
  metadata_ = table->column_metadata();
  metadata_.resize(names_.size());
  const Grid& g = ctx.grid;
  height_ = g.height;
  x_coords_ = csv_coordinates(g.x0, g.res_x, g.width, false, false, g);
  y_coords_ = csv_coordinates(g.y0, g.res_y, g.height, true, true, g);
}

PayloadPtr ChunkSink::process(const TileRequest& tile, std::span<const PayloadPtr> inputs) {
  const auto table = payload_as<nodes::Table>(inputs[0]);
  if (!table) throw_node_error(where(), "input is not a merged table");
  auto chunk = std::make_shared<Chunk>();
  chunk->row0 = tile.row0;
  chunk->masked = masked_;
  const std::size_t n = table->cells.size();
  chunk->x.resize(n);
  chunk->y.resize(n);
  chunk->row.resize(n);
  chunk->col.resize(n);
  const auto width = static_cast<std::uint64_t>(tile.width);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint32_t cell = table->cells[i];
    const auto r = tile.row0 + static_cast<std::int64_t>(cell / width);
    const auto c = static_cast<std::int64_t>(cell % width);
    chunk->row[i] = r;
    chunk->col[i] = c;
    chunk->x[i] = x_coords_[static_cast<std::size_t>(c)];
    chunk->y[i] = y_coords_[static_cast<std::size_t>(r)];
  }
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  chunk->columns.resize(table->columns.size());
  for (std::size_t k = 0; k < table->columns.size(); ++k) {
    const nodes::Column& in = *table->columns[k];
    Chunk::Values& out = chunk->columns[k];
    out.name = k < table->names.size() ? table->names[k] : names_[k];
    out.kind = in.kind;
    if (nodes::is_wide(in.kind)) {
      wide_values(in, *table, out, tile);
    } else if (!masked_ || in.kind == nodes::ValueKind::float64) {
      // NaN for nodata (integers become float64, as pandas and xarray hold them with gaps).
      out.f64.resize(n);
      for (std::size_t i = 0; i < n; ++i) out.f64[i] = in.valid[table->cells[i]] ? in.values[table->cells[i]] : kNaN;
      if (!masked_ && in.kind == nodes::ValueKind::float32) {
        out.f32.assign(out.f64.begin(), out.f64.end());  // exact: the values are Float32 ones
        out.f64 = {};
        out.dtype = 'f';
      }
    } else if (in.kind == nodes::ValueKind::float32) {
      out.dtype = 'f';
      out.f32.resize(n);
      for (std::size_t i = 0; i < n; ++i)
        out.f32[i] = in.valid[table->cells[i]] ? static_cast<float>(in.values[table->cells[i]]) : 0.0f;
    } else {
      out.dtype = 'q';
      out.i64.resize(n);
      for (std::size_t i = 0; i < n; ++i)
        out.i64[i] = in.valid[table->cells[i]] ? static_cast<std::int64_t>(in.values[table->cells[i]]) : 0;
    }
    if (masked_) {
      out.nodata.resize(n);
      for (std::size_t i = 0; i < n; ++i) out.nodata[i] = in.valid[table->cells[i]] ? 0 : 1;
    }
  }
  return chunk;
}

void ChunkSink::wide_values(const nodes::Column& in, const nodes::Table& table, Chunk::Values& out,
                            const TileRequest& tile) const {
  // Masked: int64 or uint64 arrays ('Q': the same bits viewed unsigned), every digit. Unmasked:
  // float64 with NaN, as other integer columns, while every value is one a double holds.
  const std::size_t n = table.cells.size();
  if (masked_) {
    out.dtype = in.kind == nodes::ValueKind::int64 ? 'q' : 'Q';
    out.i64.resize(n);
    for (std::size_t i = 0; i < n; ++i) out.i64[i] = in.valid[table.cells[i]] ? in.integers[table.cells[i]] : 0;
    return;
  }
  out.f64.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint32_t cell = table.cells[i];
    out.f64[i] = in.valid[cell] ? in.number(cell) : std::numeric_limits<double>::quiet_NaN();
    constexpr std::int64_t kTop = std::int64_t{1} << 53;
    const std::int64_t v = in.integers[cell];
    const bool exact = in.kind == nodes::ValueKind::int64 ? v >= -kTop && v <= kTop
                                                          : static_cast<std::uint64_t>(v) <= std::uint64_t{kTop};
    if (in.valid[cell] && !exact) {
      throw_node_error(
          where(),
          "column \"" + out.name + "\" holds " +
              (in.kind == nodes::ValueKind::int64 ? std::to_string(v) : std::to_string(static_cast<std::uint64_t>(v))) +
              " (grid row " + std::to_string(tile.row0 + cell / tile.width) +
              "), beyond 2^53: masked=False gives integer columns as float64, which would not "
              "keep it; use masked=True (int64/uint64 arrays with a mask)");
    }
  }
}

namespace {
template <typename T>
void append(std::vector<T>& to, const std::vector<T>& from) {
  to.insert(to.end(), from.begin(), from.end());
}

void append(Chunk& to, const Chunk& from) {
  append(to.x, from.x);
  append(to.y, from.y);
  append(to.row, from.row);
  append(to.col, from.col);
  for (std::size_t k = 0; k < to.columns.size(); ++k) {
    append(to.columns[k].f64, from.columns[k].f64);
    append(to.columns[k].f32, from.columns[k].f32);
    append(to.columns[k].i64, from.columns[k].i64);
    append(to.columns[k].nodata, from.columns[k].nodata);
  }
}
}  // namespace

void ChunkSink::push(ChunkPtr chunk) {
  const std::size_t rows = chunk->x.size();
  if (queue_->push(std::move(chunk))) rows_ += rows;
}

void ChunkSink::write(const TileRequest& tile, const PayloadPtr& data) {
  auto chunk = std::static_pointer_cast<const Chunk>(data);
  if (chunk_rows_ <= 0) return push(std::move(chunk));
  // The end of the planned tile this piece belongs to.
  const std::int64_t planned_end = std::min(height_, (tile.row0 / chunk_rows_ + 1) * chunk_rows_);
  const bool completes = tile.row0 + tile.rows >= planned_end;
  if (!pending_ && completes) return push(std::move(chunk));
  if (!pending_)
    pending_ = std::make_shared<Chunk>(*chunk);
  else
    append(*pending_, *chunk);
  if (completes) {
    push(std::move(pending_));
    pending_.reset();
  }
}

std::vector<std::string> ChunkSink::describe() const {
  return {"hands each tile's kept rows to Python as NumPy arrays (rasterflow.chunks)"};
}

ResourceNeeds ChunkSink::resources() const {
  // Coordinates and grid indices (32 bytes) and up to 9 bytes per column of every kept row.
  return {.bytes_per_cell = 32.0 + 9.0 * static_cast<double>(names_.size())};
}

}  // namespace rasterflow::python

RASTERFLOW_REGISTER_NODE((rasterflow::NodeTypeInfo{
    .name = rasterflow::python::kChunkSinkType,
    .description = "Hands the merged table to Python, tile by tile (made by rasterflow.chunks(), not by graphs).",
    .min_inputs = 1,
    .max_inputs = 1,
    .input_kind = rasterflow::EdgeKind::table,
    .is_sink = true,
    .create = [](rasterflow::NodeSpec spec) -> std::unique_ptr<rasterflow::Node> {
      rasterflow::throw_graph_error(spec.where(), "this node type is made by rasterflow.chunks(), not by a graph");
    },
    .operation = "write",
    .embedded = true}))
