#include "rasterflow/config.hpp"

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
#include "rasterflow/size.hpp"

namespace rasterflow {
namespace {

// One row per key: how to set it from text and how to read it back. The only place a config
// key is named.
struct KeyBinding {
  ConfigKeyInfo info;
  std::function<void(Config&, const std::string& value, const std::string& where)> set;
  std::function<boost::json::value(const Config&)> get;
};

[[noreturn]] void bad_value(const std::string& where, const std::string& key, const std::string& value,
                            const std::string& expected) {
  throw_config_error(where, "key \"" + key + "\": invalid value \"" + value + "\" (expected " + expected + ")");
}

template <typename T>
bool parse_number(const std::string& text, T& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

template <typename Field>
KeyBinding int_key(std::string key, std::string default_text, std::string help, int min, Field field) {
  return KeyBinding{{key, default_text, help},
                    [key, min, field](Config& c, const std::string& v, const std::string& where) {
                      int n = 0;
                      if (!parse_number(v, n) || n < min)
                        bad_value(where, key, v, "an integer >= " + std::to_string(min));
                      field(c) = n;
                    },
                    [field](const Config& c) { return boost::json::value(field(const_cast<Config&>(c))); }};
}

template <typename Field>
KeyBinding ratio_key(std::string key, std::string default_text, std::string help, Field field) {
  return KeyBinding{{key, default_text, help},
                    [key, field](Config& c, const std::string& v, const std::string& where) {
                      double d = 0;
                      if (!parse_number(v, d) || !(d > 0.0 && d <= 1.0)) bad_value(where, key, v, "a number in (0, 1]");
                      field(c) = d;
                    },
                    [field](const Config& c) { return boost::json::value(field(const_cast<Config&>(c))); }};
}

template <typename Field>
KeyBinding bool_key(std::string key, std::string default_text, std::string help, Field field) {
  return KeyBinding{{key, default_text, help},
                    [key, field](Config& c, const std::string& v, const std::string& where) {
                      if (v == "true" || v == "yes" || v == "on") {
                        field(c) = true;
                      } else if (v == "false" || v == "no" || v == "off") {
                        field(c) = false;
                      } else {
                        bad_value(where, key, v, "true or false");
                      }
                    },
                    [field](const Config& c) { return boost::json::value(field(const_cast<Config&>(c))); }};
}

template <typename Field>
KeyBinding choice_key(std::string key, std::string default_text, std::string help, std::vector<std::string> choices,
                      Field field) {
  return KeyBinding{{key, default_text, help},
                    [key, choices, field](Config& c, const std::string& v, const std::string& where) {
                      if (!choices.empty() && std::find(choices.begin(), choices.end(), v) == choices.end()) {
                        std::string list;
                        for (const auto& s : choices) list += (list.empty() ? "" : ", ") + s;
                        bad_value(where, key, v, "one of: " + list);
                      }
                      field(c) = v;
                    },
                    [field](const Config& c) { return boost::json::value(field(const_cast<Config&>(c))); }};
}

const std::vector<KeyBinding>& bindings() {
  static const std::vector<KeyBinding> table = [] {
    std::vector<KeyBinding> t;
    t.push_back(KeyBinding{{"engine.threads", "auto", "worker threads: auto or a number >= 1"},
                           [](Config& c, const std::string& v, const std::string& where) {
                             if (v == "auto") {
                               c.engine.threads = 0;
                               return;
                             }
                             int n = 0;
                             if (!parse_number(v, n) || n < 1 || n > 4096)
                               bad_value(where, "engine.threads", v, "auto or an integer from 1 to 4096");
                             c.engine.threads = n;
                           },
                           [](const Config& c) {
                             return c.engine.threads == 0 ? boost::json::value("auto")
                                                          : boost::json::value(c.engine.threads);
                           }});
    t.push_back(choice_key("engine.numa", "auto", "NUMA placement: auto, on or off", {"auto", "on", "off"},
                           [](Config& c) -> std::string& { return c.engine.numa; }));
    t.push_back(bool_key("engine.allow_vsi", "false", "allow GDAL virtual file systems and URLs as input paths",
                         [](Config& c) -> bool& { return c.engine.allow_vsi; }));
    t.push_back(
        KeyBinding{{"memory.limit", "auto", "memory limit: auto (cgroup, RLIMIT_AS, machine) or a size such as 2GiB"},
                   [](Config& c, const std::string& v, const std::string& where) {
                     if (v == "auto") {
                       c.memory.limit = 0;
                       return;
                     }
                     const auto bytes = parse_size(v);
                     if (!bytes || *bytes < (16u << 20))
                       bad_value(where, "memory.limit", v, "auto or a size of at least 16MiB such as 512MiB, 4GiB, 2G");
                     c.memory.limit = *bytes;
                   },
                   [](const Config& c) {
                     return c.memory.limit == 0 ? boost::json::value("auto") : boost::json::value(c.memory.limit);
                   }});
    t.push_back(ratio_key("memory.warning_threshold", "0.80", "pressure level that starts throttling",
                          [](Config& c) -> double& { return c.memory.warning_threshold; }));
    t.push_back(ratio_key("memory.critical_threshold", "0.90", "pressure level of the strongest throttling",
                          [](Config& c) -> double& { return c.memory.critical_threshold; }));
    t.push_back(int_key("memory.sample_interval_ms", "200", "memory monitor sampling period", 10,
                        [](Config& c) -> int& { return c.memory.sample_interval_ms; }));
    t.push_back(int_key("memory.critical_pause_s", "30",
                        "seconds at critical pressure with nothing left to shed before the run stops (checkpoint "
                        "kept, exit 75)",
                        1, [](Config& c) -> int& { return c.memory.critical_pause_s; }));
    t.push_back(int_key("resampling.window_size", "2048",
                        "tile size bound: a tile holds at most window_size^2 target cells", 256,
                        [](Config& c) -> int& { return c.resampling.window_size; }));
    t.push_back(bool_key("merge.enable_streaming", "true", "stream chunks to the sinks (false: materialise first)",
                         [](Config& c) -> bool& { return c.merge.enable_streaming; }));
    t.push_back(int_key("merge.chunk_size", "5000", "rows formatted per output chunk", 1,
                        [](Config& c) -> int& { return c.merge.chunk_size; }));
    t.push_back(int_key("merge.streaming_chunk_size", "5000", "rows per chunk in streaming mode", 1,
                        [](Config& c) -> int& { return c.merge.streaming_chunk_size; }));
    t.push_back(choice_key("export.nodata", "\"\"", "text written for a nodata cell", {},
                           [](Config& c) -> std::string& { return c.export_.nodata; }));
    t.push_back(choice_key("metrics.backend", "sqlite", "metrics database: sqlite, postgresql or none",
                           {"sqlite", "postgresql", "none"},
                           [](Config& c) -> std::string& { return c.metrics.backend; }));
    t.push_back(choice_key("metrics.sqlite_path", "rasterflow_metrics.sqlite", "SQLite file (relative to --output-dir)",
                           {}, [](Config& c) -> std::string& { return c.metrics.sqlite_path; }));
    t.push_back(int_key("metrics.interval_ms", "1000", "memory snapshot period", 10,
                        [](Config& c) -> int& { return c.metrics.interval_ms; }));
    t.push_back(bool_key("metrics.required", "false", "fail before running when the database is unreachable",
                         [](Config& c) -> bool& { return c.metrics.required; }));
    t.push_back(KeyBinding{{"database.url", "\"\"", "postgresql://... selects PostgreSQL"},
                           [](Config& c, const std::string& v, const std::string& where) {
                             try {
                               check_database_url(v, "key \"database.url\"");
                             } catch (const ConfigError& e) {
                               throw_config_error(where, e.what());
                             }
                             c.database.url = v;
                           },
                           // Never stored or logged with its password.
                           [](const Config& c) { return boost::json::value(mask_password(c.database.url)); }});
    t.push_back(KeyBinding{
        {"checkpoint.interval_s", "5", "seconds between checkpoints of a streaming run (0: none); see run --resume"},
        [](Config& c, const std::string& v, const std::string& where) {
          double d = 0;
          if (!parse_number(v, d) || !(d >= 0.0 && d <= 86400.0))
            bad_value(where, "checkpoint.interval_s", v, "a number of seconds from 0 to 86400");
          c.checkpoint.interval_s = d;
        },
        [](const Config& c) { return boost::json::value(c.checkpoint.interval_s); }});
    return t;
  }();
  return table;
}

const KeyBinding* find_binding(const std::string& key) {
  for (const auto& b : bindings()) {
    if (b.info.key == key) return &b;
  }
  return nullptr;
}

std::vector<std::string> key_names() {
  std::vector<std::string> names;
  for (const auto& b : bindings()) names.push_back(b.info.key);
  return names;
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

const std::vector<ConfigKeyInfo>& config_keys() {
  static const std::vector<ConfigKeyInfo> keys = [] {
    std::vector<ConfigKeyInfo> k;
    for (const auto& b : bindings()) k.push_back(b.info);
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
  const KeyBinding* binding = find_binding(key);
  if (binding == nullptr) {
    throw_config_error(origin, "unknown key \"" + key + "\"" + did_you_mean(key, key_names()));
  }
  binding->set(*this, value, origin);
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
  for (const auto& b : bindings()) {
    const auto dot = b.info.key.find('.');
    const std::string section = b.info.key.substr(0, dot);
    auto& sub = root[section];
    if (!sub.is_object()) sub = boost::json::object{};
    sub.as_object()[b.info.key.substr(dot + 1)] = b.get(*this);
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
