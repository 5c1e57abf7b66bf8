#pragma once
// What a front end asks of a run (`rasterflow run`, rasterflow.run()), and the one table that
// declares its flags: name, help and target, bound by CLI11 (cli/run_flags.cpp) and by pybind11
// (python/run_binding.cpp), so that `rasterflow run --help` and help(rasterflow.run) print the
// same text (tests/python/test_python.py: RunFlagsHelpIsTheCommandLines).
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "rasterflow/config.hpp"
#include "rasterflow/graph.hpp"
#include "rasterflow/memory.hpp"
#include "rasterflow/pipeline.hpp"

namespace rasterflow::app {

// Which front end made the request: names the flags in messages ("--threads" or "threads").
enum class Front { cli, python };

struct RunRequest {
  Front front = Front::cli;
  std::string graph;       // a graph JSON file, or
  std::string graph_json;  // a graph's text (a Python dict), its paths relative to base_dir
  std::string base_dir;
  std::string config;
  std::vector<std::string> sets;  // KEY=VALUE
  std::string output_dir = ".";
  std::string memory_limit;  // the whole process's limit (memory.limit)
  std::string budget;        // rasterflow's own: added to the process's RSS when the run is set up
  int threads = 0;           // 0: engine.threads
  int streaming = -1;        // 1 streaming, 0 in memory, -1 the configuration's merge.enable_streaming
  std::string database;
  std::string experiment;
  std::string progress = "auto";
  std::string log_level = "info";
  std::string trace;
  std::string report;
  bool resume = false;
  bool checkpoint = false;           // keep a checkpoint while writing (the command line does)
  std::vector<std::string> command;  // the command line as given (for the resume command)
};

// Which front ends take a flag.
enum class Fronts { both, cli, python };

// One flag of a run: declared once, bound by each front end from this table.
struct RunFlag {
  using Target = std::variant<std::string RunRequest::*, std::vector<std::string> RunRequest::*, int RunRequest::*,
                              bool RunRequest::*>;
  std::string_view name;  // the Python keyword argument (and the RunRequest member's meaning)
  std::string_view cli;   // "--threads"; "graph" for the positional; "" when Python only
  std::string_view help;  // the text both fronts print
  Target target;
  Fronts fronts = Fronts::both;
  std::string_view python_note = {};  // how Python gives it (a dict, None...), after the help
  std::vector<std::string_view> choices = {};
  std::string_view negation = {};  // streaming: "--in-memory" (Python: False)
  std::string_view negation_help = {};
};

// Every run flag, in the order `--help` lists them.
std::span<const RunFlag> run_flags();
// The flag of this name (Python's); throws std::out_of_range when there is none.
const RunFlag& run_flag(std::string_view name);
// How `front` names a flag in messages: "--threads" or "threads".
std::string flag_name(Front front, std::string_view name);

// The configuration with the request's overrides, as every front end runs it.
Config make_config(const RunRequest& request);
// The graph file, or the graph's text with paths relative to base_dir (default: the current folder).
GraphSpec make_graph(const RunRequest& request, const Config& config);
// The plan options the request sets (output folder, threads and where they and the limit came from).
PlanOptions make_options(const RunRequest& request, const Config& config);
// The node's memory limit and its source: memory.limit (or the flag that set it), else the
// smallest of the cgroup, RLIMIT_AS, SLURM's variables and the machine.
MemoryLimit node_memory_limit(const RunRequest& request, const Config& config);

}  // namespace rasterflow::app
