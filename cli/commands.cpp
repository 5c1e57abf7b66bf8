#include "cli/commands.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <iostream>

#include "nodes/common/sample_data.hpp"
#include "rasterflow/errors.hpp"
#include "rasterflow/pipeline.hpp"
#include "rasterflow/registry.hpp"
#include "rasterflow/size.hpp"

namespace rasterflow::cli {
namespace {

std::atomic<bool> g_cancel{false};

extern "C" void on_signal(int) { g_cancel.store(true); }

struct CommonArgs {
  std::string graph;
  std::string config;
  std::vector<std::string> sets;
};

Config load_config(const CommonArgs& a) {
  Config config = a.config.empty() ? Config{} : Config::load(a.config);
  for (const auto& s : a.sets) config.set(s);
  config.validate();
  return config;
}

struct RunArgs {
  CommonArgs common;
  std::string output_dir = ".";
  std::string memory_limit;
  int threads = 0;
  bool streaming = false;
  bool in_memory = false;
  std::string database;
  std::string experiment;
  std::string progress = "auto";
  std::string log_level = "info";
  std::string trace;
  std::string report;
};

int cmd_run(const RunArgs& a) {
  Config config = load_config(a.common);
  if (!a.memory_limit.empty()) config.set("memory.limit", a.memory_limit, "--memory-limit");
  if (a.threads > 0) config.set("engine.threads", std::to_string(a.threads), "--threads");
  if (a.streaming && a.in_memory) throw UsageError("--streaming and --in-memory exclude each other");
  if (a.streaming) config.merge.enable_streaming = true;
  if (a.in_memory) config.merge.enable_streaming = false;
  if (!a.database.empty()) config.set("database.url", a.database, "--database");
  if (!a.trace.empty()) throw UsageError("--trace: not implemented yet in this version of rasterflow");
  if (!a.report.empty()) throw UsageError("--report: not implemented yet in this version of rasterflow");
  std::error_code ec;
  std::filesystem::create_directories(a.output_dir, ec);
  if (ec) throw UsageError("--output-dir: cannot create " + a.output_dir + ": " + ec.message());

  const GraphSpec graph = load_graph(a.common.graph, config);
  RunOptions options;
  options.output_dir = a.output_dir;
  options.threads = config.engine.threads;
  options.cancel = &g_cancel;
  Pipeline pipeline(graph, config, options);
  if (config.metrics.backend != "none") {
    spdlog::info("metrics recording is not implemented yet in this version: no {} database is written", config.metrics.backend);
  }
  const Grid& g = pipeline.grid();
  spdlog::info("running {}: grid {} x {} ({} cells), {} threads, tiles of {} rows", graph.name, g.width, g.height, g.cells(),
               pipeline.threads(), pipeline.tile_rows());
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  const RunSummary s = pipeline.run();
  for (const auto& n : s.nodes) {
    spdlog::debug("node {} ({}): {} tiles, {} cells, {:.3f} s busy", n.id, n.type, n.items, n.cells, n.busy_seconds);
  }
  spdlog::info("done: {} rows ({} cells) in {:.2f} s wall, {:.2f} s CPU, {:.1f} Mcells/s, peak RSS {} (limit {}), {} throttle events",
               s.rows_written, s.cells, s.wall_seconds, s.cpu_seconds, static_cast<double>(s.cells) / std::max(s.wall_seconds, 1e-9) / 1e6,
               format_size(s.peak_rss_bytes), format_size(s.memory_limit), s.throttle_events.size());
  for (const auto& out : s.outputs) std::cout << "wrote " << out.string() << "\n";
  return 0;
}

int cmd_validate(const CommonArgs& a) {
  const Config config = load_config(a);
  const GraphSpec graph = load_graph(a.graph, config);
  RunOptions options;
  Pipeline pipeline(graph, config, options);
  std::cout << a.graph << ": valid (" << graph.nodes.size() << " nodes, grid " << pipeline.grid().width << " x "
            << pipeline.grid().height << ")\n";
  return 0;
}

int cmd_plan(const CommonArgs& a, const std::string& format) {
  if (format != "text") throw UsageError("plan --format " + format + ": not implemented yet in this version (text is)");
  const Config config = load_config(a);
  const GraphSpec graph = load_graph(a.graph, config);
  Pipeline pipeline(graph, config, RunOptions{});
  for (const auto& line : pipeline.plan()) std::cout << line << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto logger = spdlog::stderr_color_mt("rasterflow");
  logger->set_pattern("%^[%l]%$ %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::info);

  CLI::App app{"rasterflow " + version() + ": resample rasters onto one grid, merge them cell by cell, export one table"};
  app.set_version_flag("--version", "rasterflow " + version());
  app.require_subcommand(1);

  RunArgs run;
  auto* run_cmd = app.add_subcommand("run", "run a graph");
  run_cmd->add_option("graph", run.common.graph, "graph JSON file")->required();
  run_cmd->add_option("--config", run.common.config, "configuration file (config.yml)");
  run_cmd->add_option("--set", run.common.sets, "override a config key or nodes.<id>.<option>: KEY=VALUE");
  run_cmd->add_option("--output-dir", run.output_dir, "folder for outputs (default: current folder)");
  run_cmd->add_option("--memory-limit", run.memory_limit, "memory limit, e.g. 512MiB, 4GiB");
  run_cmd->add_option("--threads", run.threads, "worker threads")->check(CLI::Range(1, 4096));
  run_cmd->add_flag("--streaming", run.streaming, "stream chunks to the sinks (default)");
  run_cmd->add_flag("--in-memory", run.in_memory, "materialise the merged grid before export");
  run_cmd->add_option("--database", run.database, "metrics database URL (postgresql://...)");
  run_cmd->add_option("--experiment", run.experiment, "experiment name for the metrics");
  run_cmd->add_option("--progress", run.progress, "progress display")->check(CLI::IsMember({"auto", "always", "never"}));
  run_cmd->add_option("--log-level", run.log_level, "trace, debug, info, warn or error");
  run_cmd->add_option("--trace", run.trace, "write a Chrome trace of the run");
  run_cmd->add_option("--report", run.report, "write an HTML run report");

  CommonArgs validate;
  auto* validate_cmd = app.add_subcommand("validate", "check a graph and its configuration without running it");
  validate_cmd->add_option("graph", validate.graph, "graph JSON file")->required();
  validate_cmd->add_option("--config", validate.config, "configuration file");
  validate_cmd->add_option("--set", validate.sets, "override KEY=VALUE");

  CommonArgs plan;
  std::string plan_format = "text";
  auto* plan_cmd = app.add_subcommand("plan", "show the grid, tiles, nodes and memory estimate");
  plan_cmd->add_option("graph", plan.graph, "graph JSON file")->required();
  plan_cmd->add_option("--config", plan.config, "configuration file");
  plan_cmd->add_option("--set", plan.sets, "override KEY=VALUE");
  plan_cmd->add_option("--format", plan_format, "text, json or dot")->check(CLI::IsMember({"text", "json", "dot"}));

  auto* metrics_cmd = app.add_subcommand("metrics", "show recorded memory and stage metrics");
  std::string metrics_db, metrics_sqlite, metrics_experiment;
  metrics_cmd->add_option("--database", metrics_db, "PostgreSQL URL");
  metrics_cmd->add_option("--sqlite", metrics_sqlite, "SQLite file");
  metrics_cmd->add_option("--experiment", metrics_experiment, "experiment id (default: latest)");

  std::string sample_dir, sample_size = "small";
  auto* sample_cmd = app.add_subcommand("sample-data", "write deterministic sample rasters");
  sample_cmd->add_option("dir", sample_dir, "output folder")->required();
  sample_cmd->add_option("--size", sample_size, "small, medium or large")->check(CLI::IsMember({"small", "medium", "large"}));

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }

  try {
    set_log_level(run.log_level);
    if (*run_cmd) return cmd_run(run);
    if (*validate_cmd) return cmd_validate(validate);
    if (*plan_cmd) return cmd_plan(plan, plan_format);
    if (*metrics_cmd) throw UsageError("metrics: not implemented yet in this version of rasterflow (no metrics are recorded yet)");
    if (*sample_cmd) {
      for (const auto& f : nodes::generate_sample_data(sample_dir, sample_size)) {
        std::cout << f.path.string() << ": " << f.description << "\n";
      }
      return 0;
    }
  } catch (const Interrupted& e) {
    spdlog::error("{}", e.what());
    return 130;
  } catch (const UsageError& e) {
    spdlog::error("{}", e.what());
    return 2;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  return 2;
}

}  // namespace rasterflow::cli
