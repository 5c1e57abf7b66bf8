#pragma once
// merge: joins the resampled columns of one tile into a table, cell by cell, and drops rows by
// the `drop` rule. Columns are shared, not copied.
#include "rasterflow/node/node.hpp"
#include "rasterflow/node/option_binder.hpp"
#include "rasterflow/node/payload.hpp"

namespace rasterflow::nodes {

enum class DropRule { all_nodata, any_nodata, none };

struct MergeOptions {
  std::optional<std::vector<std::string>> columns;  // absent: the inputs' ids
  std::string drop;
  void declare(OptionBinder& args);
};

class Merge final : public Node, public TableProducer {
 public:
  const std::vector<std::string>& column_names() const override { return names_; }
  std::vector<std::string> column_types() const override;
  std::vector<ColumnMetadata> column_metadata() const override;
  explicit Merge(NodeSpec spec);
  // Expands the inputs that read several bands into one column each (<name>_<suffix>).
  void prepare(const RunContext& ctx, std::span<Node* const> inputs) override;
  PayloadPtr process(const TileRequest& tile, std::span<const PayloadPtr> inputs) override;
  std::vector<std::string> describe() const override;
  ResourceNeeds resources() const override {
    // The kept cells' indices.
    return {.bytes_per_cell = sizeof(std::uint32_t)};
  }

 private:
  MergeOptions options_;
  std::vector<std::string> names_;  // one per column (after prepare, bands expanded)
  DropRule drop_ = DropRule::all_nodata;
  std::vector<const Node*> inputs_;         // from prepare, for column_types()
  std::vector<std::string> unit_warnings_;  // columns of one quantity in different units
};

}  // namespace rasterflow::nodes
