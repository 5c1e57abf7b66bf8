#include "nodes/merge.hpp"

#include <set>

#include "rasterflow/errors.hpp"
#include "rasterflow/registry.hpp"

namespace rasterflow::nodes {

Merge::Merge(NodeSpec spec) : Node(std::move(spec)) {
  const auto& opts = this->spec().options;
  names_ = opts.has("columns") ? opts.strings("columns") : this->spec().inputs;
  if (names_.size() != this->spec().inputs.size()) {
    throw_graph_error(where(), "option \"columns\": " + std::to_string(names_.size()) + " names for " +
                                   std::to_string(this->spec().inputs.size()) + " inputs");
  }
  std::set<std::string> seen{"x", "y"};
  for (const auto& name : names_) {
    if (name.empty()) throw_graph_error(where(), "option \"columns\": empty column name");
    if (!seen.insert(name).second) throw_graph_error(where(), "option \"columns\": duplicate column name \"" + name + "\" (x and y are taken)");
  }
  const std::string& drop = opts.str("drop");
  drop_ = drop == "any_nodata" ? DropRule::any_nodata : drop == "none" ? DropRule::none : DropRule::all_nodata;
}

PayloadPtr Merge::process(const TileRequest& tile, std::span<const PayloadPtr> inputs) {
  auto table = std::make_shared<Table>();
  table->names = names_;
  for (const auto& in : inputs) {
    auto column = std::dynamic_pointer_cast<const Column>(in);
    if (!column) throw_node_error(where(), "input is not a resampled column");
    table->columns.push_back(std::move(column));
  }
  const auto cells = static_cast<std::uint32_t>(tile.cells());
  table->cells.reserve(cells);
  const std::size_t n = table->columns.size();
  for (std::uint32_t c = 0; c < cells; ++c) {
    std::size_t valid = 0;
    for (std::size_t k = 0; k < n; ++k) valid += table->columns[k]->valid[c];
    const bool keep = drop_ == DropRule::none || (drop_ == DropRule::all_nodata ? valid > 0 : valid == n);
    if (keep) table->cells.push_back(c);
  }
  return table;
}

std::vector<std::string> Merge::describe() const {
  std::string cols;
  for (const auto& n : names_) cols += (cols.empty() ? "" : ", ") + n;
  return {"columns: " + cols + "; drop: " + spec().options.str("drop")};
}

}  // namespace rasterflow::nodes

RASTERFLOW_REGISTER_NODE((rasterflow::NodeTypeInfo{
    "merge",
    "Joins resampled columns cell by cell into one table.",
    {
        {"columns", rasterflow::OptionType::string_list, "column names, one per input (default: the inputs' ids)", {}},
        {"drop", rasterflow::OptionType::string, "which rows to drop", std::string("all_nodata"), false,
         {"all_nodata", "any_nodata", "none"}},
    },
    1, -1, "raster", "table", false,
    [](rasterflow::NodeSpec spec) { return std::make_unique<rasterflow::nodes::Merge>(std::move(spec)); }, "merge"}))
