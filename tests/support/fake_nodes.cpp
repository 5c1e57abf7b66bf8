#include "support/fake_nodes.hpp"

#include <stdexcept>

#include "rasterflow/node/registry.hpp"

namespace rasterflow::test {

Captured& captured() {
  static Captured c;
  return c;
}

void reset_captured() {
  std::lock_guard lock(captured().mutex);
  captured().seqs.clear();
  captured().cells.clear();
  captured().opened = captured().committed = captured().aborted = false;
}

PayloadPtr table_tile(const TileRequest& tile) {
  auto table = std::make_shared<nodes::Table>();
  auto column = std::make_shared<nodes::Column>();
  column->kind = nodes::ValueKind::float64;
  for (std::int64_t r = 0; r < tile.rows; ++r) {
    for (std::int64_t c = 0; c < tile.width; ++c) {
      const bool keep = table_keeps(tile.row0 + r, c);
      column->values.push_back(table_value(tile.row0 + r, c));
      column->valid.push_back(keep ? 1 : 0);
      if (keep) table->cells.push_back(static_cast<std::uint32_t>(r * tile.width + c));
    }
  }
  table->names = {"v"};
  table->columns = {column};
  return table;
}

namespace {

// A source of `width` x `height` values; it says nothing about where they lie (the graph's grid
// is given whole: the engine asks nothing of rasters).
class ConstantSource final : public Node {
 public:
  explicit ConstantSource(NodeSpec spec) : Node(std::move(spec)) {
    width_ = this->spec().options.integer("width");
    height_ = this->spec().options.integer("height");
    offset_ = this->spec().options.number("offset");
  }
  PayloadPtr process(const TileRequest& tile, std::span<const PayloadPtr>) override {
    if (offset_ < 0 && tile.row0 > 0) throw std::runtime_error("a negative offset fails past the first tile");
    auto v = std::make_shared<Values>();
    for (std::int64_t r = tile.row0; r < tile.row0 + tile.rows; ++r) {
      for (std::int64_t c = 0; c < tile.width; ++c) v->cells.push_back(static_cast<double>(r * 1000 + c) + offset_);
    }
    return v;
  }
  std::vector<std::string> describe() const override { return {"constant test source"}; }

 private:
  std::int64_t width_ = 0;
  std::int64_t height_ = 0;
  double offset_ = 0;
};

class CaptureSink final : public SinkNode {
 public:
  using SinkNode::SinkNode;
  // One input: passed on; two: their cells added (a sink of several inputs, in either mode).
  PayloadPtr process(const TileRequest&, std::span<const PayloadPtr> inputs) override {
    if (inputs.size() == 1) return inputs[0];
    auto sum = std::make_shared<Values>(dynamic_cast<const Values&>(*inputs[0]));
    const auto& other = dynamic_cast<const Values&>(*inputs[1]);
    for (std::size_t c = 0; c < sum->cells.size(); ++c) sum->cells[c] += other.cells[c];
    return sum;
  }
  void open() override {
    std::lock_guard lock(captured().mutex);
    captured().opened = true;
  }
  void write(const TileRequest& tile, const PayloadPtr& data) override {
    const auto* v = dynamic_cast<const Values*>(data.get());
    if (v == nullptr) throw std::runtime_error("test_capture: its input is not test_values");
    std::lock_guard lock(captured().mutex);
    captured().seqs.push_back(tile.seq);
    captured().cells.insert(captured().cells.end(), v->cells.begin(), v->cells.end());
    rows_ += static_cast<std::uint64_t>(tile.rows);
  }
  void commit() override {
    std::lock_guard lock(captured().mutex);
    captured().committed = true;
  }
  void abort() noexcept override {
    std::lock_guard lock(captured().mutex);
    captured().aborted = true;
  }
  std::uint64_t rows_written() const override { return rows_; }

 private:
  std::uint64_t rows_ = 0;
};

// test_table: a made-up merged table, for sinks.
class TableSource final : public Node, public nodes::TableProducer {
 public:
  explicit TableSource(NodeSpec spec) : Node(std::move(spec)) {}
  PayloadPtr process(const TileRequest& tile, std::span<const PayloadPtr>) override { return table_tile(tile); }
  const std::vector<std::string>& column_names() const override { return names_; }
  std::vector<std::string> column_types() const override { return {"Float64"}; }

 private:
  std::vector<std::string> names_ = {"v"};
};

}  // namespace

std::unique_ptr<Node> make_table_source(std::int64_t width, std::int64_t height) {
  NodeSpec spec;
  spec.id = "table";
  spec.type = "test_table";
  spec.options.set("width", width);
  spec.options.set("height", height);
  return std::make_unique<TableSource>(std::move(spec));
}

}  // namespace rasterflow::test

namespace rasterflow::test {
namespace {

[[maybe_unused]] const bool constant_registered = NodeRegistry::instance().add(NodeTypeInfo{
    .name = "test_constant",
    .description = "Test source: row * 1000 + column + offset in every cell.",
    .options = {{"width", OptionType::integer, "cells across", {}, true, {}, 1.0},
                {"height", OptionType::integer, "cells down", {}, true, {}, 1.0},
                {"offset", OptionType::number, "added to every value (negative: fails past the first tile)", 0.0}},
    .min_inputs = 0,
    .max_inputs = 0,
    .input_kind = EdgeKind::none,
    .output_kind = EdgeKind::user,
    .is_sink = false,
    .create = [](NodeSpec spec) { return std::make_unique<ConstantSource>(std::move(spec)); },
    .operation = "read"});

[[maybe_unused]] const bool capture_registered = NodeRegistry::instance().add(
    NodeTypeInfo{.name = "test_capture",
                 .description = "Test sink: keeps every tile's values in memory.",
                 .options = {},
                 .min_inputs = 1,
                 .max_inputs = 2,
                 .input_kind = EdgeKind::user,
                 .output_kind = EdgeKind::none,
                 .is_sink = true,
                 .create = [](NodeSpec spec) { return std::make_unique<CaptureSink>(std::move(spec)); },
                 .operation = "write"});

[[maybe_unused]] const bool table_registered = NodeRegistry::instance().add(NodeTypeInfo{
    .name = "test_table",
    .description = "Test source: a table of one column v = row * 1000 + column, a third of the cells dropped.",
    .options = {{"width", OptionType::integer, "cells across", {}, true, {}, 1.0},
                {"height", OptionType::integer, "cells down", {}, true, {}, 1.0}},
    .min_inputs = 0,
    .max_inputs = 0,
    .input_kind = EdgeKind::none,
    .output_kind = EdgeKind::table,
    .is_sink = false,
    .create = [](NodeSpec spec) { return std::make_unique<TableSource>(std::move(spec)); },
    .operation = "read"});

}  // namespace
}  // namespace rasterflow::test
