#pragma once
// The run configuration (config.yml). Every key is declared once, with the option binder that
// declares node options (option_binder.hpp): its name, help and constraints in config.cpp, its
// default the member's initialiser below. Loading, --set overrides, validation, the reference
// and to_json() all go through that declaration.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "rasterflow/node/options.hpp"

namespace rasterflow {

struct EngineSettings {
  int threads = 0;            // 0 = auto
  std::string numa = "auto";  // auto | on | off
  // GDAL virtual file systems (/vsicurl/, /vsizip/, ...) and URLs as input paths: refused
  // unless allowed, since graphs may come from other people.
  bool allow_vsi = false;
};
struct MemorySettings {
  std::uint64_t limit = 0;  // bytes; 0 = auto
  double warning_threshold = 0.80;
  double critical_threshold = 0.90;
  int sample_interval_ms = 200;
  // How long a run may stay at critical pressure with every size at its minimum (pauses
  // included) before it stops as a signal would, checkpoint kept (MemoryTooSmall, exit 75).
  int critical_pause_s = 30;
};
struct ResamplingSettings {
  int window_size = 2048;  // tile area upper bound: window_size^2 target cells
};
struct MergeSettings {
  bool enable_streaming = true;
  int chunk_size = 5000;  // CSV rows formatted per chunk
  int streaming_chunk_size = 5000;
};
struct ExportSettings {
  std::string nodata;  // text written for a nodata cell
};
struct MetricsSettings {
  std::string backend = "sqlite";  // sqlite | postgresql | none
  std::string sqlite_path = "rasterflow_metrics.sqlite";
  int interval_ms = 1000;
  bool required = false;
};
struct DatabaseSettings {
  std::string url;
};
struct CheckpointSettings {
  // Seconds between checkpoints of a streaming run whose sinks can resume (0: no checkpoint).
  double interval_s = 5;
};

struct Config {
  EngineSettings engine;
  MemorySettings memory;
  ResamplingSettings resampling;
  MergeSettings merge;
  ExportSettings export_;
  MetricsSettings metrics;
  DatabaseSettings database;
  CheckpointSettings checkpoint;
  // `nodes.<id>.<option>` overrides, kept as text and bound by the node's option schema.
  std::map<std::string, std::map<std::string, std::string>> node_overrides;

  // Loads a YAML file over the defaults. Errors name the file, line and key.
  static Config load(const std::filesystem::path& file);
  // The same from YAML text; `origin` names it in messages.
  static Config parse(const std::string& yaml, const std::string& origin);
  // Applies `key=value` (dotted key), as from --set. Errors name the key.
  void set(const std::string& assignment);
  void set(const std::string& key, const std::string& value, const std::string& origin);
  // Cross-key checks (warning < critical, ...). Throws ConfigError.
  void validate() const;
  // The effective configuration as JSON text (for the experiment record and `plan`).
  std::string to_json() const;
};

// Every known dotted key, in table order, with its default and help (for docs and errors).
struct ConfigKeyInfo {
  std::string key;
  std::string default_text;
  std::string help;
};
const std::vector<ConfigKeyInfo>& config_keys();
// The same keys as option specs (type, default, bounds, choices), as node options are described.
const std::vector<OptionSpec>& config_options();

}  // namespace rasterflow
