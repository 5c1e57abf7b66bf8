#include "app/run_request.hpp"

#include <array>
#include <stdexcept>

#include "rasterflow/errors.hpp"
#include "rasterflow/memory.hpp"

namespace rasterflow::app {
namespace {

using R = RunRequest;

// The run's flags, each declared once. `help` is what both `rasterflow run --help` and
// help(rasterflow.run) print; `python_note` says how Python gives the value.
const std::array<RunFlag, 16> kRunFlags{{
    {"graph", "graph", "graph JSON file", &R::graph, Fronts::both,
     "(its input paths relative to its folder), or a dict in the graph JSON format (its input paths relative to "
     "``base_dir``) whose values may be Python ones: paths (os.PathLike), NumPy numbers, CRS objects (anything "
     "with ``to_wkt()``); ``merge_graph()`` makes one. chunks(), to_pandas() and to_xarray() take dict graphs "
     "without a sink."},
    {"config", "--config", "configuration file (config.yml)", &R::config, Fronts::both, "None: the defaults."},
    {"set", "--set", "override a config key or nodes.<id>.<option>: KEY=VALUE", &R::sets, Fronts::both,
     "A dict ``{\"merge.chunk_size\": 2000, \"nodes.temperature.method\": \"max\"}`` or a list of "
     "``\"KEY=VALUE\"`` strings."},
    {"base_dir", "", "the folder a dict graph's input paths are relative to (default: the current folder)",
     &R::base_dir, Fronts::python, "Ignored for a graph file."},
    {"output_dir", "--output-dir",
     "folder for the outputs (the sinks' relative paths) and the SQLite metrics file, created if missing (default: "
     "the current folder)",
     &R::output_dir, Fronts::both},
    {"memory_limit", "",
     "rasterflow's own memory budget, on top of what the process already holds when called (a notebook holding 2 "
     "GiB can run with \"256MiB\")",
     &R::budget, Fronts::python,
     "``\"512MiB\"``, ``\"4GiB\"``, or a number of bytes; None: ``memory.limit`` (auto: the cgroup's, RLIMIT_AS "
     "or the machine's, for the whole process)."},
    {"process_memory_limit", "--memory-limit",
     "memory limit of the whole process, e.g. 512MiB, 4GiB (default: memory.limit; auto: the cgroup's, RLIMIT_AS, "
     "SLURM's or the machine's)",
     &R::memory_limit, Fronts::both, "What ``memory_limit`` meant before #31; give one of the two. None: the default."},
    {"threads", "--threads", "worker threads (default: engine.threads; auto: the CPUs this process may use)",
     &R::threads, Fronts::both, "None: the default."},
    {"streaming",
     "--streaming",
     "stream chunks to the sinks (the default)",
     &R::streaming,
     Fronts::both,
     "None: the configuration's ``merge.enable_streaming``.",
     {},
     "--in-memory",
     "materialise the merged grid before export"},
    {"database", "--database", "metrics database URL (postgresql://...)", &R::database, Fronts::both,
     "None: ``metrics.backend`` (SQLite ``rasterflow_metrics.sqlite`` in output_dir by default; ``set="
     "{\"metrics.backend\": \"none\"}`` records none)."},
    {"experiment", "--experiment", "experiment name for the metrics (default: the graph's name)", &R::experiment},
    {"progress", "--progress", "progress display", &R::progress, Fronts::cli, {}, {"auto", "always", "never"}},
    {"log_level", "--log-level", "trace, debug, info, warn or error", &R::log_level, Fronts::cli},
    {"trace", "--trace", "write a Chrome trace of the run", &R::trace, Fronts::cli},
    {"report", "--report", "write an HTML run report", &R::report, Fronts::cli},
    {"resume", "--resume",
     "continue an interrupted run from its checkpoint (<first output>.checkpoint), after checking that graph, "
     "configuration, inputs and rasterflow are the same",
     &R::resume, Fronts::cli},
}};

}  // namespace

std::span<const RunFlag> run_flags() { return kRunFlags; }

const RunFlag& run_flag(std::string_view name) {
  for (const RunFlag& f : kRunFlags)
    if (f.name == name) return f;
  throw std::out_of_range("no run flag \"" + std::string(name) + "\"");
}

std::string flag_name(Front front, std::string_view name) {
  const RunFlag& f = run_flag(name);
  return std::string(front == Front::cli && !f.cli.empty() ? f.cli : f.name);
}

Config make_config(const RunRequest& r) {
  Config config = r.config.empty() ? Config{} : Config::load(r.config);
  for (const auto& s : r.sets) config.set(s);
  config.validate();
  if (!r.memory_limit.empty()) config.set("memory.limit", r.memory_limit, flag_name(r.front, "process_memory_limit"));
  if (!r.budget.empty()) {
    // A notebook already holding gigabytes gives rasterflow its budget on top of them: the
    // engine's whole-process limit is the budget plus what the process holds now.
    config.set("memory.limit", r.budget, flag_name(r.front, "memory_limit"));
    config.memory.limit += current_rss();
  }
  const std::string threads = flag_name(r.front, "threads");
  if (r.threads < 0) throw UsageError(threads + ": expected a positive number, got " + std::to_string(r.threads));
  if (r.threads > 0) config.set("engine.threads", std::to_string(r.threads), threads);
  if (r.streaming >= 0) config.merge.enable_streaming = r.streaming == 1;
  if (!r.database.empty()) {  // a database asks for PostgreSQL, whatever metrics.backend said
    config.set("database.url", r.database, flag_name(r.front, "database"));
    config.metrics.backend = "postgresql";
  }
  return config;
}

GraphSpec make_graph(const RunRequest& r, const Config& config) {
  if (r.graph_json.empty()) return load_graph(r.graph, config);
  // A dict has no file: its input paths resolve against base_dir (default: the current folder).
  const std::filesystem::path file =
      r.base_dir.empty() ? std::filesystem::path("<dict>") : std::filesystem::path(r.base_dir) / "<dict>";
  return parse_graph(r.graph_json, file, config);
}

PlanOptions make_options(const RunRequest& r, const Config& config) {
  PlanOptions options;
  options.output_dir = r.output_dir;
  options.threads = config.engine.threads;
  options.threads_source = r.threads > 0 ? flag_name(r.front, "threads") : "engine.threads";
  if (!r.budget.empty())
    options.memory_limit_source = flag_name(r.front, "memory_limit");
  else if (!r.memory_limit.empty())
    options.memory_limit_source = flag_name(r.front, "process_memory_limit");
  return options;
}

MemoryLimit node_memory_limit(const RunRequest& r, const Config& config) {
  if (config.memory.limit > 0) {
    const PlanOptions options = make_options(r, config);
    return {config.memory.limit, options.memory_limit_source.empty() ? "memory.limit" : options.memory_limit_source};
  }
  return with_job_headroom(SystemMemorySource().decide_limit());
}

}  // namespace rasterflow::app
