#include "rasterflow/config.hpp"

#include "graph/option_checks.hpp"

#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <fstream>
#include <functional>
#include <sstream>

#include "rasterflow/errors.hpp"
#include "rasterflow/metrics.hpp"
#include "rasterflow/node/option_binder.hpp"
#include "rasterflow/size.hpp"

namespace rasterflow {
namespace {

// database.url: empty, or a postgresql:// URL (check_database_url's message when not).
std::string database_url_problem(const OptionValue& value) {
  try {
    check_database_url(std::get<std::string>(value), "key \"database.url\"");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return {};
}

// The keys of tiles, outputs, metrics and checkpoints (declare_keys' second half, in table order).
void declare_run_keys(Config& c, const Config& d, OptionBinder& args) {
  args.add("resampling.window_size", "tile size bound: a tile holds at most window_size^2 target cells",
           c.resampling.window_size, d.resampling.window_size)
      .min(256);
  args.add("merge.enable_streaming", "stream chunks to the sinks (false: materialise first)", c.merge.enable_streaming,
           d.merge.enable_streaming);
  args.add("merge.chunk_size", "rows formatted per output chunk", c.merge.chunk_size, d.merge.chunk_size).min(1);
  args.add("merge.streaming_chunk_size", "rows per chunk in streaming mode", c.merge.streaming_chunk_size,
           d.merge.streaming_chunk_size)
      .min(1);
  args.add("export.nodata", "text written for a nodata cell", c.export_.nodata, d.export_.nodata);
  args.add("metrics.backend", "metrics database: sqlite, postgresql or none", c.metrics.backend, d.metrics.backend)
      .choices({"sqlite", "postgresql", "none"});
  args.add("metrics.sqlite_path", "SQLite file (relative to --output-dir)", c.metrics.sqlite_path,
           d.metrics.sqlite_path);
  args.add("metrics.interval_ms", "memory snapshot period", c.metrics.interval_ms, d.metrics.interval_ms).min(10);
  args.add("metrics.required", "fail before running when the database is unreachable", c.metrics.required,
           d.metrics.required);
  args.add("database.url", "postgresql://... selects PostgreSQL", c.database.url, d.database.url)
      .secret()
      .check(database_url_problem);
  args.add("checkpoint.interval_s", "seconds between checkpoints of a streaming run (0: none); see run --resume",
           c.checkpoint.interval_s, d.checkpoint.interval_s)
      .min(0)
      .max(86400);
}

// Every configuration key, declared once with the binder node options use (option_binder.hpp):
// name, help, type and constraints here, the default the member's initialiser in config.hpp
// (read from a fresh Config). Loading, --set, validation, the reference and to_json() all go
// through this declaration.
void declare_keys(Config& c, OptionBinder& args) {
  static const Config d;
  args.add("engine.threads", "worker threads: auto or a number >= 1", c.engine.threads, d.engine.threads)
      .min(1)
      .max(4096)
      .zero_is_auto();
  args.add("engine.numa", "NUMA placement: auto, on or off", c.engine.numa, d.engine.numa)
      .choices({"auto", "on", "off"});
  args.add("engine.allow_vsi", "allow GDAL virtual file systems and URLs as input paths", c.engine.allow_vsi,
           d.engine.allow_vsi);
  args.add("memory.limit", "memory limit: auto (cgroup, RLIMIT_AS, machine) or a size such as 2GiB", c.memory.limit,
           d.memory.limit)
      .min(16u << 20)
      .zero_is_auto();
  args.add("memory.warning_threshold", "pressure level that starts throttling", c.memory.warning_threshold,
           d.memory.warning_threshold)
      .above(0)
      .max(1);
  args.add("memory.critical_threshold", "pressure level of the strongest throttling", c.memory.critical_threshold,
           d.memory.critical_threshold)
      .above(0)
      .max(1);
  args.add("memory.sample_interval_ms", "memory monitor sampling period", c.memory.sample_interval_ms,
           d.memory.sample_interval_ms)
      .min(10);
  args.add("memory.critical_pause_s",
           "seconds at critical pressure with nothing left to shed before the run stops (checkpoint kept, exit 75)",
           c.memory.critical_pause_s, d.memory.critical_pause_s)
      .min(1);
  declare_run_keys(c, d, args);
}

// The declared keys of one Config: its binder, whose setters and getters reach its members.
struct KeyTable {
  explicit KeyTable(Config& c) { declare_keys(c, binder); }
  OptionBinder binder;
  std::optional<std::size_t> find(const std::string& key) const {
    const auto& specs = binder.specs();
    for (std::size_t i = 0; i < specs.size(); ++i) {
      if (specs[i].name == key) return i;
    }
    return std::nullopt;
  }
};

const std::vector<OptionSpec>& key_specs() {
  static const std::vector<OptionSpec> specs = [] {
    Config c;
    return KeyTable(c).binder.specs();
  }();
  return specs;
}

std::vector<std::string> key_names() {
  std::vector<std::string> names;
  for (const auto& s : key_specs()) names.push_back(s.name);
  return names;
}

// What a key's value must be, as its error says it: "an integer >= 10", "auto or a size of at
// least 16 MiB such as 512MiB, 4GiB, 2G", "a number in (0, 1]", "one of: a, b".
std::string expected_value(const OptionSpec& s) {
  const auto text = [](double v) { return option_value_text(OptionValue{v}); };
  std::string what = expected_text(s.type);
  if (!s.choices.empty()) {
    what = "one of: ";
    for (std::size_t i = 0; i < s.choices.size(); ++i) what += (i ? ", " : "") + s.choices[i];
  } else if (s.type == OptionType::size && s.min) {
    what = "a size of at least " + format_size(static_cast<std::uint64_t>(*s.min)) + " such as 512MiB, 4GiB, 2G";
  } else if (s.min && s.max) {
    what += s.min_exclusive ? " in (" + text(*s.min) + ", " + text(*s.max) + "]"
                            : " from " + text(*s.min) + " to " + text(*s.max);
  } else if (s.min) {
    what += (s.min_exclusive ? " > " : " >= ") + text(*s.min);
  }
  return s.zero_is_auto ? "auto or " + what : what;
}

// A key's value as the configuration's JSON holds it: "auto" for 0 where 0 means auto, a
// database URL with its password masked (never stored or logged whole).
boost::json::value key_json(const OptionSpec& s, const OptionValue& v) {
  if (s.zero_is_auto && std::holds_alternative<std::int64_t>(v) && std::get<std::int64_t>(v) == 0) return "auto";
  if (s.type == OptionType::size) return boost::json::value(static_cast<std::uint64_t>(std::get<std::int64_t>(v)));
  if (s.type == OptionType::secret) return boost::json::value(mask_password(std::get<std::string>(v)));
  return std::visit(
      [](const auto& x) -> boost::json::value {
        using X = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<X, std::monostate> || std::is_same_v<X, std::vector<std::string>>)
          return nullptr;
        else
          return boost::json::value(x);
      },
      v);
}

std::string yaml_where(const std::filesystem::path& file, const YAML::Node& node) {
  const auto mark = node.Mark();
  return file.string() + (mark.line >= 0 ? ":" + std::to_string(mark.line + 1) : std::string{});
}

std::string scalar_text(const YAML::Node& node, const std::string& where, const std::string& key) {
  if (node.IsScalar()) return node.Scalar();
  if (node.IsNull()) return "";
  if (node.IsSequence()) {
    std::string joined;
    for (const auto& item : node) {
      if (!item.IsScalar()) throw_config_error(where, "key \"" + key + "\": expected a list of values");
      joined += (joined.empty() ? "" : ",") + item.Scalar();
    }
    return joined;
  }
  throw_config_error(where, "key \"" + key + "\": expected a value, found a mapping");
}

}  // namespace

const std::vector<OptionSpec>& config_options() { return key_specs(); }

const std::vector<ConfigKeyInfo>& config_keys() {
  static const std::vector<ConfigKeyInfo> keys = [] {
    std::vector<ConfigKeyInfo> k;
    for (const auto& s : key_specs()) {
      const bool automatic = s.zero_is_auto && s.default_value == OptionValue{std::int64_t{0}};
      const std::string text = automatic ? "auto" : option_value_text(s.default_value);
      k.push_back({s.name, text.empty() ? "\"\"" : text, s.help});
    }
    return k;
  }();
  return keys;
}

void Config::set(const std::string& key, const std::string& value, const std::string& origin) {
  if (key.rfind("nodes.", 0) == 0) {
    const auto dot = key.find('.', 6);
    if (dot == std::string::npos || dot == 6 || dot + 1 >= key.size()) {
      throw_config_error(origin, "key \"" + key + "\": expected nodes.<id>.<option>");
    }
    node_overrides[key.substr(6, dot - 6)][key.substr(dot + 1)] = value;
    return;
  }
  if (key == "export.formats") {
    // Removed in 0.2: a graph's outputs are its sink nodes, each with its own format.
    spdlog::warn("{}: key \"export.formats\" is no longer read (a graph's outputs are its sink nodes); remove it",
                 origin);
    return;
  }
  const KeyTable table(*this);
  const auto index = table.find(key);
  if (!index) throw_config_error(origin, "unknown key \"" + key + "\"" + did_you_mean(key, key_names()));
  const OptionSpec& spec = table.binder.specs()[*index];
  const auto parsed = parse_option_text(spec, value);
  // The value's one check: its type, choices and bounds (worded with what is expected), then
  // the key's own check (which says what is wrong itself); the member is then set unchecked.
  if (!parsed || !detail::option_range_problem(spec, *parsed).empty()) {
    throw_config_error(origin,
                       "key \"" + key + "\": invalid value \"" + value + "\" (expected " + expected_value(spec) + ")");
  }
  if (const std::string problem = detail::option_own_problem(spec, *parsed); !problem.empty())
    throw_config_error(origin, problem);
  if (const std::string problem = table.binder.set(*index, *parsed); !problem.empty())
    throw_config_error(origin, problem);
}

void Config::set(const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw_config_error("--set " + assignment, "expected KEY=VALUE (e.g. merge.chunk_size=2000)");
  }
  set(assignment.substr(0, eq), assignment.substr(eq + 1), "--set");
}

namespace {
Config parse_root(const YAML::Node& root, const std::filesystem::path& file) {
  Config config;
  if (root.IsNull()) return config;
  if (!root.IsMap())
    throw_config_error(yaml_where(file, root), "expected a mapping of sections (engine:, memory:, ...)");
  for (const auto& section : root) {
    const std::string name = section.first.as<std::string>();
    const YAML::Node& body = section.second;
    const std::string where = yaml_where(file, section.first);
    if (name == "nodes") {
      if (!body.IsMap()) throw_config_error(where, "key \"nodes\": expected nodes: { <id>: { <option>: value } }");
      for (const auto& node : body) {
        const std::string id = node.first.as<std::string>();
        if (!node.second.IsMap())
          throw_config_error(yaml_where(file, node.first), "key \"nodes." + id + "\": expected a mapping of options");
        for (const auto& opt : node.second) {
          const std::string key = "nodes." + id + "." + opt.first.as<std::string>();
          config.set(key, scalar_text(opt.second, yaml_where(file, opt.first), key), yaml_where(file, opt.first));
        }
      }
      continue;
    }
    if (!body.IsMap()) {
      throw_config_error(where, "unknown section \"" + name + "\"" +
                                    did_you_mean(name, {"engine", "memory", "resampling", "merge", "export", "metrics",
                                                        "database", "nodes"}));
    }
    for (const auto& entry : body) {
      const std::string key = name + "." + entry.first.as<std::string>();
      const std::string entry_where = yaml_where(file, entry.first);
      config.set(key, scalar_text(entry.second, entry_where, key), entry_where);
    }
  }
  return config;
}
}  // namespace

Config Config::load(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw_config_error(file.string(), "cannot read the configuration file");
  std::stringstream text;
  text << in.rdbuf();
  return parse(text.str(), file.string());
}

Config Config::parse(const std::string& yaml, const std::string& origin) {
  const std::filesystem::path file(origin);
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::ParserException& e) {
    throw_config_error(file.string() + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1),
                       "invalid YAML: " + e.msg);
  } catch (const YAML::Exception& e) {
    throw_config_error(file.string(), std::string("invalid YAML: ") + e.what());
  }
  Config config;
  try {
    config = parse_root(root, file);
  } catch (const YAML::Exception& e) {
    // Keys that are not plain values (e.g. a list used as a key) and other shapes yaml-cpp
    // cannot convert.
    throw_config_error(file.string() + (e.mark.line >= 0 ? ":" + std::to_string(e.mark.line + 1) : std::string{}),
                       std::string("unexpected YAML structure: ") + e.msg);
  }
  config.validate();
  return config;
}

void Config::validate() const {
  if (!(memory.warning_threshold < memory.critical_threshold)) {
    throw_config_error("configuration",
                       "key \"memory.warning_threshold\": " + std::to_string(memory.warning_threshold) +
                           " must be below memory.critical_threshold (" + std::to_string(memory.critical_threshold) +
                           ")");
  }
}

std::string Config::to_json() const {
  boost::json::object root;
  Config copy = *this;  // the binder reaches members through a non-const Config
  const KeyTable table(copy);
  for (std::size_t i = 0; i < table.binder.specs().size(); ++i) {
    const OptionSpec& spec = table.binder.specs()[i];
    const auto dot = spec.name.find('.');
    auto& sub = root[spec.name.substr(0, dot)];
    if (!sub.is_object()) sub = boost::json::object{};
    sub.as_object()[spec.name.substr(dot + 1)] = key_json(spec, table.binder.value(i));
  }
  if (!node_overrides.empty()) {
    boost::json::object nodes;
    for (const auto& [id, opts] : node_overrides) {
      boost::json::object o;
      for (const auto& [k, v] : opts) o[k] = v;
      nodes[id] = o;
    }
    root["nodes"] = nodes;
  }
  return boost::json::serialize(root);
}

}  // namespace rasterflow
