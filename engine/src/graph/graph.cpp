#include "rasterflow/graph.hpp"

#include <boost/json.hpp>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "graph/join.hpp"
#include "rasterflow/errors.hpp"
#include "rasterflow/node/hooks.hpp"
#include "rasterflow/node/registry.hpp"

namespace json = boost::json;

namespace rasterflow {
namespace {

std::string kind_of(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
      return "an integer";
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "a list";
    case json::kind::object:
      return "an object";
  }
  return "?";
}

std::optional<double> as_number(const json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.as_int64());
  if (v.is_uint64()) return static_cast<double>(v.as_uint64());
  if (v.is_double()) return v.as_double();
  return std::nullopt;
}

json::value parse_json(const std::string& text, const std::string& file) {
  json::stream_parser parser;
  boost::system::error_code ec;
  const std::size_t consumed = parser.write_some(text.data(), text.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) {
    const std::size_t offset = std::min(consumed, text.size());
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < offset; ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    throw_graph_error(file + ":" + std::to_string(line) + ":" + std::to_string(column),
                      "invalid JSON: " + ec.message());
  }
  return parser.release();
}

// {"time": ["2006-01", "2006-03"], "plev": 500} -> {"plev=500", "time=2006-01", "time=2006-03"}.
OptionValue bind_json_selection(const OptionSpec& spec, const json::value& v, const std::string& where) {
  const auto wrong = [&](const std::string& what) {
    throw_graph_error(where, "option \"" + spec.name + "\": expected " + expected_text(spec.type) + ", got " + what);
  };
  if (!v.is_object() || v.as_object().empty()) wrong(kind_of(v));
  std::vector<std::string> out;
  const auto text = [&](const std::string& key, const json::value& item) {
    if (item.is_string()) return key + "=" + std::string(item.as_string());
    const auto n = as_number(item);
    if (!n) wrong(kind_of(item) + " for \"" + key + "\"");
    return key + "=" + option_value_text(OptionValue{*n});
  };
  for (const auto& [key, value] : v.as_object()) {
    if (!value.is_array()) {
      out.push_back(text(std::string(key), value));
      continue;
    }
    if (value.as_array().empty()) wrong("an empty list for \"" + std::string(key) + "\"");
    for (const auto& item : value.as_array()) out.push_back(text(std::string(key), item));
  }
  return out;
}

[[noreturn]] void wrong_json_type(const OptionSpec& spec, const json::value& v, const std::string& where) {
  throw_graph_error(where,
                    "option \"" + spec.name + "\": expected " + expected_text(spec.type) + ", got " + kind_of(v));
}

// An integer, or a number without fraction that a double holds exactly.
OptionValue bind_json_integer(const OptionSpec& spec, const json::value& v, const std::string& where) {
  if (v.is_int64()) return v.as_int64();
  if (v.is_uint64() && v.as_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v.as_uint64());
  if (v.is_double() && std::floor(v.as_double()) == v.as_double() && std::fabs(v.as_double()) < 9e15) {
    return static_cast<std::int64_t>(v.as_double());
  }
  wrong_json_type(spec, v, where);
}

// 3, [1, 2, 6] or "all"; kept as strings ("3", "1", "all").
OptionValue bind_json_index_list(const OptionSpec& spec, const json::value& v, const std::string& where) {
  const auto index = [&](const json::value& item) {
    const auto n = as_number(item);
    if (!n || std::floor(*n) != *n) wrong_json_type(spec, v, where);
    if (*n < 1 || *n > 1e9) {
      throw_graph_error(where, "option \"" + spec.name + "\": " + option_value_text(OptionValue{*n}) +
                                   " is out of range (expected >= 1)");
    }
    return std::to_string(static_cast<std::int64_t>(*n));
  };
  if (v.is_string()) {
    if (v.as_string() != "all") wrong_json_type(spec, v, where);
    return std::vector<std::string>{"all"};
  }
  if (!v.is_array()) return std::vector<std::string>{index(v)};
  std::vector<std::string> out;
  for (const auto& item : v.as_array()) out.push_back(index(item));
  if (out.empty()) wrong_json_type(spec, v, where);
  return out;
}

// A string, or a list of them.
OptionValue bind_json_string_list(const OptionSpec& spec, const json::value& v, const std::string& where) {
  if (v.is_string()) return std::vector<std::string>{std::string(v.as_string())};
  if (!v.is_array()) wrong_json_type(spec, v, where);
  std::vector<std::string> out;
  for (const auto& item : v.as_array()) {
    if (!item.is_string()) wrong_json_type(spec, v, where);
    out.emplace_back(item.as_string());
  }
  return out;
}

OptionValue bind_json_option(const OptionSpec& spec, const json::value& v, const std::string& where) {
  switch (spec.type) {
    case OptionType::string:
    case OptionType::input_path:
    case OptionType::output_path:
    case OptionType::secret:
      if (!v.is_string()) wrong_json_type(spec, v, where);
      return std::string(v.as_string());
    case OptionType::integer:
      return bind_json_integer(spec, v, where);
    case OptionType::number: {
      const auto n = as_number(v);
      if (!n) wrong_json_type(spec, v, where);
      return *n;
    }
    case OptionType::boolean:
      if (!v.is_bool()) wrong_json_type(spec, v, where);
      return v.as_bool();
    case OptionType::index_list:
      return bind_json_index_list(spec, v, where);
    case OptionType::selection:
      return bind_json_selection(spec, v, where);
    case OptionType::string_list:
      return bind_json_string_list(spec, v, where);
    case OptionType::size: {
      const auto parsed = v.is_string() ? parse_option_text(spec, std::string(v.as_string())) : std::nullopt;
      if (parsed) return *parsed;
      if (v.is_int64() && v.as_int64() >= 0) return v.as_int64();
      wrong_json_type(spec, v, where);
    }
  }
  throw_graph_error(where, "option \"" + spec.name + "\": expected a value, got " + kind_of(v));
}

std::vector<std::string> option_names(const NodeTypeInfo& info) {
  std::vector<std::string> names;
  for (const auto& o : info.options) names.push_back(o.name);
  return names;
}

const OptionSpec* find_option(const NodeTypeInfo& info, const std::string& name) {
  const auto it =
      std::find_if(info.options.begin(), info.options.end(), [&](const OptionSpec& o) { return o.name == name; });
  return it == info.options.end() ? nullptr : &*it;
}

// A node's `inputs` and options as the graph writes them.
void read_node_fields(NodeSpec& spec, const NodeTypeInfo& info, const json::object& obj) {
  const std::vector<std::string> names = option_names(info);
  for (const auto& [key, value] : obj) {
    const std::string k(key);
    if (k == "id" || k == "type") continue;
    if (k == "inputs") {
      if (!value.is_array())
        throw_graph_error(spec.where(), "field \"inputs\": expected a list of node ids, got " + kind_of(value));
      for (const auto& in : value.as_array()) {
        if (!in.is_string())
          throw_graph_error(spec.where(), "field \"inputs\": expected node ids (strings), got " + kind_of(in));
        spec.inputs.emplace_back(in.as_string());
      }
      continue;
    }
    const OptionSpec* option = find_option(info, k);
    if (option == nullptr) {
      std::vector<std::string> all = names;
      all.push_back("inputs");
      throw_graph_error(spec.where(), "unknown option \"" + k + "\"" + did_you_mean(k, all) +
                                          (names.empty() ? std::string(" (this type takes no options)")
                                                         : " (options: " + detail::join(names) + ")"));
    }
    spec.options.set(k, bind_json_option(*option, value, spec.where()));
  }
}

// --set nodes.<id>.<option> and config.yml's nodes: section win over the graph.
void apply_overrides(NodeSpec& spec, const NodeTypeInfo& info, const Config& config) {
  const auto ov = config.node_overrides.find(spec.id);
  if (ov == config.node_overrides.end()) return;
  for (const auto& [k, text] : ov->second) {
    const OptionSpec* option = find_option(info, k);
    if (option == nullptr) {
      throw_graph_error("--set nodes." + spec.id + "." + k,
                        spec.where() + ": unknown option \"" + k + "\"" + did_you_mean(k, option_names(info)));
    }
    const auto parsed = parse_option_text(*option, text);
    if (!parsed)
      throw_graph_error("--set nodes." + spec.id + "." + k,
                        "expected " + std::string(to_string(option->type)) + ", got \"" + text + "\"");
    spec.options.set(k, *parsed);
  }
}

// An input path: not empty, not a GDAL virtual file system or URL unless engine.allow_vsi, and
// its local file part relative to the graph file's folder (hooks().resolve_input_path).
void resolve_input_path(NodeSpec& spec, const OptionSpec& o, const Config& config, const std::filesystem::path& base) {
  const std::string& text = spec.options.str(o.name);
  if (text.empty()) throw_graph_error(spec.where(), "option \"" + o.name + "\": empty path");
  // Paths that GDAL understands as remote virtual files or URLs reach the network or other
  // files: refused unless engine.allow_vsi, and then kept as given. Local archives
  // (/vsizip/, /vsigzip/, /vsitar/ of a local file) are files like any other.
  const ResolvedInput resolved = hooks().resolve_input_path(text, base);
  if (resolved.remote && !config.engine.allow_vsi) {
    throw_graph_error(spec.where(),
                      "option \"" + o.name + "\": \"" + text +
                          "\" is a GDAL virtual file system or URL, refused by default since graphs may come from "
                          "other people (set engine.allow_vsi: true to allow it)");
  }
  spec.options.set(o.name, resolved.remote ? text : resolved.path);
}

// Defaults for what was not set, required options, choices and bounds, paths.
void complete_options(NodeSpec& spec, const NodeTypeInfo& info, const Config& config,
                      const std::filesystem::path& base) {
  for (const auto& o : info.options) {
    if (!spec.options.has(o.name)) {
      if (o.required) throw_graph_error(spec.where(), "option \"" + o.name + "\": required (" + o.help + ")");
      spec.options.set(o.name, o.default_value);
    }
    if (!spec.options.has(o.name)) continue;
    check_option_value(o, spec.options.all().at(o.name), spec.where());
    if (o.type == OptionType::input_path) resolve_input_path(spec, o, config, base);
    if (o.type == OptionType::output_path && spec.options.str(o.name).empty()) {
      throw_graph_error(spec.where(), "option \"" + o.name + "\": empty path");
    }
  }
}

std::array<double, 2> grid_resolution(const json::value& value, const std::string& where) {
  std::array<double, 2> res{};
  if (const auto n = as_number(value)) {
    res = {*n, *n};
  } else if (value.is_array() && value.as_array().size() == 2 && as_number(value.as_array()[0]) &&
             as_number(value.as_array()[1])) {
    res = {*as_number(value.as_array()[0]), *as_number(value.as_array()[1])};
  } else {
    throw_graph_error(where, "field \"resolution\": expected a number or [x, y], got " + kind_of(value));
  }
  if (!(res[0] > 0 && res[1] > 0) || !std::isfinite(res[0]) || !std::isfinite(res[1])) {
    throw_graph_error(where, "field \"resolution\": must be greater than 0");
  }
  return res;
}

// "intersection", "union" or [xmin, ymin, xmax, ymax].
void read_grid_extent(const json::value& value, const std::string& where, GridSpec& grid) {
  if (value.is_string()) {
    if (value.as_string() == "intersection")
      grid.extent_mode = ExtentMode::intersection;
    else if (value.as_string() == "union")
      grid.extent_mode = ExtentMode::union_;
    else
      throw_graph_error(where, "field \"extent\": unknown value \"" + std::string(value.as_string()) +
                                   "\" (expected \"intersection\", \"union\" or [xmin, ymin, xmax, ymax])");
    return;
  }
  if (!value.is_array() || value.as_array().size() != 4)
    throw_graph_error(where, "field \"extent\": expected \"intersection\", \"union\" or [xmin, ymin, xmax, ymax]");
  double e[4];
  for (int i = 0; i < 4; ++i) {
    const auto n = as_number(value.as_array()[i]);
    if (!n || !std::isfinite(*n))
      throw_graph_error(where, "field \"extent\": expected four numbers [xmin, ymin, xmax, ymax]");
    e[i] = *n;
  }
  if (!(e[0] < e[2] && e[1] < e[3])) throw_graph_error(where, "field \"extent\": expected xmin < xmax and ymin < ymax");
  grid.extent_mode = ExtentMode::explicit_;
  grid.extent = {e[0], e[1], e[2], e[3]};
}

GridSpec::Align grid_align(const json::value& value, const std::string& where) {
  if (value == "source") return GridSpec::Align::source;
  if (value == "resolution") return GridSpec::Align::resolution;
  throw_graph_error(where,
                    "field \"align\": expected \"source\" (cell edges on the finest source's pixels, "
                    "gdalwarp's default) or \"resolution\" (whole multiples, gdalwarp -tap)");
}

std::array<double, 2> grid_origin(const json::value& value, const std::string& where) {
  const auto* a = value.if_array();
  if (a == nullptr || a->size() != 2 || !as_number((*a)[0]) || !as_number((*a)[1]) ||
      !std::isfinite(*as_number((*a)[0])) || !std::isfinite(*as_number((*a)[1])))
    throw_graph_error(where, "field \"origin\": expected [x, y], a cell corner the grid's edges go through");
  return std::array<double, 2>{*as_number((*a)[0]), *as_number((*a)[1])};
}

// A source id or a raster path (relative to the graph file's folder unless a GDAL virtual file).
void read_grid_like(const json::value& value, const std::string& where, const std::string& file, GridSpec& grid) {
  if (!value.is_string() || value.as_string().empty())
    throw_graph_error(where, "field \"like\": expected a source id or a raster path");
  grid.like = std::string(value.as_string());
  const std::filesystem::path p(*grid.like);
  grid.like_path = p.is_relative() && grid.like->rfind("/vsi", 0) != 0
                       ? (std::filesystem::path(file).parent_path() / p).lexically_normal().string()
                       : *grid.like;
}

GridSpec parse_grid(const json::value& v, const std::string& file) {
  GridSpec grid;
  if (!v.is_object()) throw_graph_error(file, "field \"grid\": expected an object, got " + kind_of(v));
  for (const auto& [key, value] : v.as_object()) {
    const std::string where = file + ": grid";
    if (key == "crs") {
      if (!value.is_string() || value.as_string().empty())
        throw_graph_error(where, "field \"crs\": expected a CRS string such as \"EPSG:4326\"");
      grid.crs = std::string(value.as_string());
    } else if (key == "resolution") {
      grid.resolution = grid_resolution(value, where);
    } else if (key == "extent") {
      read_grid_extent(value, where, grid);
    } else if (key == "align") {
      grid.align = grid_align(value, where);
    } else if (key == "origin") {
      grid.origin = grid_origin(value, where);
    } else if (key == "like") {
      read_grid_like(value, where, file, grid);
    } else {
      throw_graph_error(where,
                        "unknown field \"" + std::string(key) + "\"" +
                            did_you_mean(std::string(key), {"crs", "resolution", "extent", "align", "origin", "like"}));
    }
  }
  return grid;
}

// Whether `option` of a node of type `type` is a secret (false for unknown types and options).
bool is_secret(const std::string& type, const std::string& option) {
  const NodeTypeInfo* info = NodeRegistry::instance().find(type);
  if (info == nullptr) return false;
  for (const auto& o : info->options) {
    if (o.name == option) return o.type == OptionType::secret;
  }
  return false;
}

// The graph's text, or its JSON re-serialised with every secret option's value masked when it
// has any.
std::string masked_graph_text(json::value root, const std::string& text) {
  json::array* nodes = nullptr;
  if (auto* obj = root.if_object()) {
    if (auto* v = obj->if_contains("nodes")) nodes = v->if_array();
  }
  if (nodes == nullptr) return text;
  bool masked = false;
  for (auto& n : *nodes) {
    auto* obj = n.if_object();
    const auto* type = obj != nullptr ? obj->if_contains("type") : nullptr;
    if (type == nullptr || !type->is_string()) continue;
    for (auto& [key, value] : *obj) {
      if (value.is_string() && is_secret(std::string(type->as_string()), std::string(key))) {
        value = mask_secret(std::string(value.as_string()));
        masked = true;
      }
    }
  }
  return masked ? json::serialize(root) : text;
}

// The top-level fields of `root` (an object), in the file's order; the grid section is parsed as
// it comes. Returns the "nodes" list (not empty).
const json::array& read_top_level(const json::value& root, const std::string& fname, GraphSpec& graph) {
  const json::array* nodes = nullptr;
  for (const auto& [key, value] : root.as_object()) {
    if (key == "name") {
      if (!value.is_string()) throw_graph_error(fname, "field \"name\": expected a string, got " + kind_of(value));
      graph.name = std::string(value.as_string());
    } else if (key == "description") {
      if (!value.is_string()) throw_graph_error(fname, "field \"description\": expected a string");
    } else if (key == "grid") {
      graph.grid = parse_grid(value, fname);
    } else if (key == "nodes") {
      if (!value.is_array())
        throw_graph_error(fname, "field \"nodes\": expected a list of nodes, got " + kind_of(value));
      nodes = &value.as_array();
    } else {
      throw_graph_error(fname, "unknown field \"" + std::string(key) + "\"" +
                                   did_you_mean(std::string(key), {"name", "description", "grid", "nodes"}));
    }
  }
  if (nodes == nullptr || nodes->empty()) throw_graph_error(fname, "field \"nodes\": the graph has no nodes");
  return *nodes;
}

// The graph's nodes in file order, and each id's position in it.
struct ParsedNodes {
  std::vector<NodeSpec> specs;
  std::map<std::string, std::size_t> index;
};

// A node's id and type: the fields every other check of the node names.
std::pair<NodeSpec, const NodeTypeInfo*> read_node_header(const json::value& n, const std::string& at,
                                                          const std::filesystem::path& file) {
  const auto& registry = NodeRegistry::instance();
  const std::string fname = file.string();
  if (!n.is_object()) throw_graph_error(at, "expected an object, got " + kind_of(n));
  const auto& obj = n.as_object();
  const auto* id = obj.if_contains("id");
  if (id == nullptr || !id->is_string() || id->as_string().empty())
    throw_graph_error(at, "field \"id\": expected a non-empty string");
  NodeSpec spec;
  spec.id = std::string(id->as_string());
  spec.graph_file = file;
  const auto* type = obj.if_contains("type");
  if (type == nullptr || !type->is_string()) {
    throw_graph_error(fname + ": node \"" + spec.id + "\"",
                      "field \"type\": expected a node type (one of: " + detail::join(registry.names()) + ")");
  }
  spec.type = std::string(type->as_string());
  const NodeTypeInfo* info = registry.find(spec.type);
  if (info == nullptr || info->embedded) {
    throw_graph_error(fname + ": node \"" + spec.id + "\"", "field \"type\": unknown node type \"" + spec.type + "\"" +
                                                                did_you_mean(spec.type, registry.names()) +
                                                                " (known: " + detail::join(registry.names()) + ")");
  }
  return {std::move(spec), info};
}

ParsedNodes parse_nodes(const json::array& nodes, const std::filesystem::path& file, const Config& config) {
  const std::string fname = file.string();
  const std::filesystem::path base = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
  ParsedNodes parsed;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    auto [spec, info] = read_node_header(nodes[i], fname + ": nodes[" + std::to_string(i) + "]", file);
    if (parsed.index.count(spec.id) != 0) {
      throw_graph_error(spec.where(),
                        "field \"id\": duplicate id (also nodes[" + std::to_string(parsed.index[spec.id]) + "])");
    }
    parsed.index[spec.id] = i;
    read_node_fields(spec, *info, nodes[i].as_object());
    apply_overrides(spec, *info, config);
    complete_options(spec, *info, config, base);
    parsed.specs.push_back(std::move(spec));
  }
  for (const auto& [id, _] : config.node_overrides) {
    if (parsed.index.count(id) == 0)
      throw_graph_error("--set nodes." + id, "no node with id \"" + id + "\" in " + fname);
  }
  return parsed;
}

// A node's inputs: how many, that each exists, is not itself nor listed twice, and produces what
// the node takes. Adds them to `consumed`.
void check_inputs(const NodeSpec& spec, const ParsedNodes& parsed, std::set<std::string>& consumed) {
  const auto& registry = NodeRegistry::instance();
  const NodeTypeInfo* info = registry.find(spec.type);
  const int n = static_cast<int>(spec.inputs.size());
  if (n < info->min_inputs || (info->max_inputs >= 0 && n > info->max_inputs)) {
    std::string expected = info->max_inputs == info->min_inputs ? std::to_string(info->min_inputs)
                           : info->max_inputs < 0
                               ? "at least " + std::to_string(info->min_inputs)
                               : std::to_string(info->min_inputs) + " to " + std::to_string(info->max_inputs);
    throw_graph_error(spec.where(), "field \"inputs\": " + std::to_string(n) + " given, expected " + expected);
  }
  std::set<std::string> seen;
  for (const auto& in : spec.inputs) {
    const auto it = parsed.index.find(in);
    if (it == parsed.index.end()) {
      std::vector<std::string> ids;
      for (const auto& s : parsed.specs) ids.push_back(s.id);
      throw_graph_error(spec.where(), "field \"inputs\": no node with id \"" + in + "\"" + did_you_mean(in, ids));
    }
    if (in == spec.id) throw_graph_error(spec.where(), "field \"inputs\": a node cannot be its own input (cycle)");
    if (!seen.insert(in).second) throw_graph_error(spec.where(), "field \"inputs\": \"" + in + "\" is listed twice");
    const NodeSpec& up = parsed.specs[it->second];
    const NodeTypeInfo* up_info = registry.find(up.type);
    if (up_info->output_kind != info->input_kind) {
      const EdgeKind made = up_info->output_kind;
      throw_graph_error(spec.where(), "field \"inputs\": \"" + in + "\" (" + up.type + ") produces " +
                                          (made == EdgeKind::none ? "nothing" : edge_kind_name(made)) + ", but " +
                                          spec.type + " takes " + edge_kind_name(info->input_kind));
    }
    consumed.insert(in);
  }
}

// Edges: existence, counts and kinds; every output used; at least one sink.
void check_edges(const ParsedNodes& parsed, const std::string& fname) {
  std::set<std::string> consumed;
  for (const auto& spec : parsed.specs) check_inputs(spec, parsed, consumed);
  bool has_sink = false;
  for (const auto& spec : parsed.specs) {
    const NodeTypeInfo* info = NodeRegistry::instance().find(spec.type);
    has_sink = has_sink || info->is_sink;
    if (!info->is_sink && consumed.count(spec.id) == 0) {
      throw_graph_error(spec.where(), "its output is used by no node (connect it to a sink or remove it)");
    }
  }
  if (!has_sink) throw_graph_error(fname, "the graph has no sink (e.g. a csv_sink): nothing would be written");
}

// Topological order (Kahn), as positions in `specs`; what remains is a cycle.
std::vector<std::size_t> topological_order(const std::vector<NodeSpec>& specs, const std::string& fname) {
  std::vector<int> pending(specs.size());
  for (std::size_t i = 0; i < specs.size(); ++i) pending[i] = static_cast<int>(specs[i].inputs.size());
  std::vector<std::size_t> order;
  std::vector<bool> done(specs.size(), false);
  bool progress = true;
  while (progress) {
    progress = false;
    for (std::size_t i = 0; i < specs.size(); ++i) {
      if (done[i] || pending[i] != 0) continue;
      done[i] = true;
      progress = true;
      order.push_back(i);
      for (std::size_t j = 0; j < specs.size(); ++j) {
        for (const auto& in : specs[j].inputs) {
          if (in == specs[i].id) --pending[j];
        }
      }
    }
  }
  if (order.size() != specs.size()) {
    std::string members;
    for (std::size_t i = 0; i < specs.size(); ++i) {
      if (!done[i]) members += (members.empty() ? "" : ", ") + std::string("\"") + specs[i].id + "\"";
    }
    throw_graph_error(fname, "the graph has a cycle through nodes " + members);
  }
  return order;
}

}  // namespace

std::string masked_config_json(const Config& config, const GraphSpec& graph) {
  json::value root = json::parse(config.to_json());
  json::value* section = root.as_object().if_contains("nodes");
  json::object* nodes = section != nullptr ? section->if_object() : nullptr;
  if (nodes == nullptr) return json::serialize(root);
  for (auto& [key_id, options] : *nodes) {
    const std::string id(key_id);  // a copy: lambdas capture no structured binding before clang 16
    const auto spec =
        std::find_if(graph.nodes.begin(), graph.nodes.end(), [&](const NodeSpec& n) { return n.id == id; });
    if (spec == graph.nodes.end() || !options.is_object()) continue;
    for (auto& [key, value] : options.as_object()) {
      if (value.is_string() && is_secret(spec->type, std::string(key)))
        value = mask_secret(std::string(value.as_string()));
    }
  }
  return json::serialize(root);
}

GraphSpec parse_graph(const std::string& json_text, const std::filesystem::path& file, const Config& config) {
  const std::string fname = file.string();
  const json::value root = parse_json(json_text, fname);
  GraphSpec graph;
  if (!root.is_object()) throw_graph_error(fname, "expected a JSON object with \"nodes\"");
  graph.file = file;
  graph.json = masked_graph_text(root, json_text);
  graph.name = file.stem().string();
  const json::array& nodes = read_top_level(root, fname, graph);
  ParsedNodes parsed = parse_nodes(nodes, file, config);
  check_edges(parsed, fname);
  for (const auto i : topological_order(parsed.specs, fname)) graph.nodes.push_back(std::move(parsed.specs[i]));
  return graph;
}

GraphSpec load_graph(const std::filesystem::path& file, const Config& config) {
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw_graph_error(file.string(),
                      "cannot read the graph file (" +
                          std::string(std::filesystem::exists(file) ? "permission denied" : "no such file") + ")");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_graph(buffer.str(), file, config);
}

}  // namespace rasterflow
