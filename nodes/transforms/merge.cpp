#include "nodes/transforms/merge.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include "rasterflow/errors.hpp"
#include "rasterflow/node/registry.hpp"

namespace rasterflow::nodes {
namespace {

// Temperature units, whatever the quantity's name: GRIB tables name one temperature "2 metre
// temperature" in GRIB1 and "Temperature" in GRIB2.
bool temperature_unit(const std::string& units) {
  static const std::set<std::string> names{
      "K",  "C",    "F",      "degC",   "degF",    "deg C",   "deg F",          "°C",
      "°F", "degK", "kelvin", "Kelvin", "celsius", "Celsius", "degree_Celsius", "degrees_Celsius"};
  return names.count(units) > 0;
}

// Columns that measure one quantity (same standard_name or long_name, or both temperatures) in
// different units: GDAL gives GRIB2 temperatures in degrees C and GRIB1 ones in K, for one.
std::vector<std::string> mixed_units(const std::vector<std::string>& names, const std::vector<ColumnMetadata>& meta) {
  std::map<std::string, std::pair<std::string, std::string>> first;  // quantity -> (units, column)
  std::vector<std::string> out;
  for (std::size_t i = 0; i < meta.size() && i < names.size(); ++i) {
    const std::string& units = meta[i].units;
    if (units.empty()) continue;
    // Named first (one message per pair), then as a temperature.
    for (const std::string& q : {meta[i].quantity(), std::string(temperature_unit(units) ? "temperature" : "")}) {
      if (q.empty()) continue;
      const auto [it, inserted] = first.emplace(q, std::make_pair(units, names[i]));
      if (inserted || it->second.first == units) continue;
      out.push_back("columns " + it->second.second + " (" + it->second.first + ") and " + names[i] + " (" + units +
                    ") measure " + q + " in different units");
      break;
    }
  }
  return out;
}

}  // namespace

void MergeOptions::declare(OptionBinder& args) {
  args.add("columns", "column names, one per input (default: the inputs' ids)", columns);
  args.add("drop", "which rows to drop", drop, "all_nodata").choices({"all_nodata", "any_nodata", "none"});
}

Merge::Merge(NodeSpec spec) : Node(std::move(spec)), options_(bind_options<MergeOptions>(this->spec())) {
  names_ = options_.columns.value_or(this->spec().inputs);
  if (names_.size() != this->spec().inputs.size()) {
    throw_graph_error(where(), "option \"columns\": " + std::to_string(names_.size()) + " names for " +
                                   std::to_string(this->spec().inputs.size()) + " inputs");
  }
  std::set<std::string> seen{"x", "y"};
  for (const auto& name : names_) {
    if (name.empty()) throw_graph_error(where(), "option \"columns\": empty column name");
    if (!seen.insert(name).second)
      throw_graph_error(where(), "option \"columns\": duplicate column name \"" + name + "\" (x and y are taken)");
  }
  const std::string& drop = options_.drop;
  drop_ = drop == "any_nodata" ? DropRule::any_nodata : drop == "none" ? DropRule::none : DropRule::all_nodata;
}

void Merge::prepare(const RunContext&, std::span<Node* const> inputs) {
  inputs_.assign(inputs.begin(), inputs.end());
  std::vector<std::string> expanded;
  const auto warn_mixed_units = [this] {
    unit_warnings_ = mixed_units(names_, column_metadata());
    for (const auto& w : unit_warnings_) spdlog::warn("{}: {}", where(), w);
  };
  for (std::size_t i = 0; i < inputs.size() && i < names_.size(); ++i) {
    const auto* bands = dynamic_cast<const ColumnSuffixes*>(inputs[i]);
    const std::vector<std::string> suffixes = bands != nullptr ? bands->column_suffixes() : std::vector<std::string>{};
    if (suffixes.empty()) {
      expanded.push_back(names_[i]);
      continue;
    }
    for (const auto& s : suffixes) expanded.push_back(names_[i] + "_" + s);
  }
  if (expanded == names_) return warn_mixed_units();
  std::map<std::string, std::string> seen{{"x", "(the x coordinate)"}, {"y", "(the y coordinate)"}};
  std::size_t k = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const auto* bands = dynamic_cast<const ColumnSuffixes*>(inputs[i]);
    const std::size_t count = bands != nullptr ? std::max<std::size_t>(1, bands->column_suffixes().size()) : 1;
    for (std::size_t j = 0; j < count; ++j, ++k) {
      const auto [it, inserted] = seen.emplace(expanded[k], "input \"" + inputs[i]->id() + "\"");
      if (!inserted) {
        throw_graph_error(where(), "option \"columns\": duplicate column name \"" + expanded[k] +
                                       "\" after expanding bands (from input \"" + inputs[i]->id() + "\" and " +
                                       it->second + "); rename with \"columns\" or the source's \"band_names\"");
      }
    }
  }
  names_ = std::move(expanded);
  warn_mixed_units();
}

std::vector<std::string> Merge::column_types() const {
  // One per column: an input that reads several bands gives its type to each of its columns.
  std::vector<std::string> types;
  for (const Node* in : inputs_) {
    const auto* column = dynamic_cast<const ColumnProducer*>(in);
    const auto* bands = dynamic_cast<const ColumnSuffixes*>(in);
    const std::size_t count = bands != nullptr ? std::max<std::size_t>(1, bands->column_suffixes().size()) : 1;
    for (std::size_t j = 0; j < count; ++j) types.push_back(column != nullptr ? column->column_type() : std::string());
  }
  return types;
}

std::vector<ColumnMetadata> Merge::column_metadata() const {
  std::vector<ColumnMetadata> out;
  for (const Node* in : inputs_) {
    const auto* column = dynamic_cast<const ColumnProducer*>(in);
    const auto* bands = dynamic_cast<const ColumnSuffixes*>(in);
    const std::size_t count = bands != nullptr ? std::max<std::size_t>(1, bands->column_suffixes().size()) : 1;
    std::vector<ColumnMetadata> given = column != nullptr ? column->column_metadata() : std::vector<ColumnMetadata>{};
    given.resize(count);
    out.insert(out.end(), given.begin(), given.end());
  }
  return out;
}

PayloadPtr Merge::process(const TileRequest& tile, std::span<const PayloadPtr> inputs) {
  auto table = std::make_shared<Table>();
  table->names = names_;
  for (const auto& in : inputs) {
    // The raster edges were checked when the graph loaded: a tag compare tells one band from several.
    if (auto set = payload_as<Columns>(in)) {
      for (const auto& band : set->bands) table->columns.push_back(band);
      continue;
    }
    auto column = payload_as<Column>(in);
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
  std::vector<std::string> lines{"columns: " + cols + "; drop: " + options_.drop};
  const auto meta = column_metadata();
  std::string units;
  for (std::size_t i = 0; i < meta.size() && i < names_.size(); ++i) {
    if (!meta[i].units.empty()) units += (units.empty() ? "" : ", ") + names_[i] + " " + meta[i].units;
  }
  if (!units.empty()) lines.push_back("units: " + units);
  for (const auto& w : unit_warnings_) lines.push_back("warning: " + w);
  return lines;
}

}  // namespace rasterflow::nodes

RASTERFLOW_REGISTER_NODE((rasterflow::NodeTypeInfo{
    .name = "merge",
    .description = "Joins resampled columns cell by cell into one table.",
    .options = rasterflow::declared_options<rasterflow::nodes::MergeOptions>(),
    .min_inputs = 1,
    .max_inputs = -1,
    .input_kind = rasterflow::EdgeKind::raster,
    .output_kind = rasterflow::EdgeKind::table,
    .create = rasterflow::create_node<rasterflow::nodes::Merge>,
    .operation = "merge"}))
