#include "cli/commands.hpp"
#include "cli/run_command.hpp"
#include "cli/run_flags.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <unistd.h>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <iostream>

#include "app/run_request.hpp"
#include "app/sample_data.hpp"
#include "rasterflow/errors.hpp"
#include "rasterflow/graph.hpp"
#include "rasterflow/hpc/topology.hpp"
#include "rasterflow/memory.hpp"
#include "rasterflow/metrics.hpp"
#include "rasterflow/node/node_reference.hpp"
#include "rasterflow/node/registry.hpp"
#include "rasterflow/pipeline.hpp"
#include "rasterflow/report.hpp"
#include "rasterflow/size.hpp"

namespace rasterflow::cli {
namespace {

int cmd_validate(const app::RunRequest& a) {
  const Config config = app::make_config(a);
  const GraphSpec graph = app::make_graph(a, config);
  const Pipeline pipeline(graph, config, PlanOptions{});
  std::cout << a.graph << ": valid (" << graph.nodes.size() << " nodes, grid " << pipeline.plan().grid.width << " x "
            << pipeline.plan().grid.height << ")\n";
  return 0;
}

int cmd_plan(const app::RunRequest& a, const std::string& format, int ranks) {
  const Config config = app::make_config(a);
  const GraphSpec graph = app::make_graph(a, config);
  Pipeline pipeline(graph, config, app::make_options(a, config));
  if (ranks > 0) {
    // The bands an MPI run of `ranks` ranks would take, and each rank's share of this node's
    // memory if they all ran here.
    const auto bands = pipeline.plan().bands(ranks);
    const MemoryLimit node = app::node_memory_limit(a, config);
    const std::uint64_t node_limit = node.bytes;
    double total = 0;
    for (const auto& b : bands) total += b.work;
    std::cout << "ranks: " << ranks
              << " bands of rows, balanced by estimated work (input pixels read + 4 per cell written)\n";
    for (std::size_t r = 0; r < bands.size(); ++r) {
      const auto& b = bands[r];
      char line[256];
      std::snprintf(line, sizeof line,
                    "rank %zu: rows %lld-%lld (%lld rows, %lld cells), ~%.1f M input pixels, %.1f%% of the work", r,
                    static_cast<long long>(b.row0), static_cast<long long>(b.row0 + b.rows - 1),
                    static_cast<long long>(b.rows), static_cast<long long>(b.rows * pipeline.plan().grid.width),
                    b.input_pixels / 1e6, 100.0 * b.work / total);
      std::cout << line << "\n";
    }
    std::cout << "memory per rank: " << format_size(node_limit / static_cast<std::uint64_t>(ranks)) << " if all "
              << ranks << " ranks share this machine (" << format_size(node_limit) << ", " << node.source
              << "); ranks on one node split its limit\n";
    if (format == "text") return 0;
  }
  if (format == "json") {
    std::cout << pipeline.plan().json();
  } else if (format == "dot") {
    std::cout << pipeline.plan().dot();
  } else {
    for (const auto& line : pipeline.plan().text()) std::cout << line << "\n";
  }
  return 0;
}

// `rasterflow nodes [TYPE] [--markdown]`: the node reference, from the registry.
int cmd_nodes(const std::string& type, bool markdown) {
  const NodeRegistry& registry = NodeRegistry::instance();
  if (type.empty()) {
    const auto types = reference_order(registry);
    if (markdown) {
      std::cout << node_reference_markdown(types);
      return 0;
    }
    for (std::size_t i = 0; i < types.size(); ++i)
      std::cout << (i ? "\n" : "") << node_reference_text(*types[i], false);
    std::cout << "\n(rasterflow nodes TYPE adds a type's notes; rasterflow nodes --markdown prints docs/nodes.md)\n";
    return 0;
  }
  const NodeTypeInfo* info = registry.find(type);
  if (info == nullptr) {
    std::vector<std::string> known;
    for (const auto* t : reference_order(registry)) known.push_back(t->name);
    std::string list;
    for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
    throw UsageError("nodes: unknown node type \"" + type + "\"" + did_you_mean(type, known) + " (known: " + list +
                     ")");
  }
  std::cout << (markdown ? node_reference_markdown_section(*info) : node_reference_text(*info, true));
  return 0;
}

void print_table(const std::string& title, const QueryResult& r) {
  std::cout << "\n" << title << "\n";
  if (r.rows.empty()) {
    std::cout << "  (none)\n";
    return;
  }
  std::vector<std::size_t> width(r.columns.size());
  for (std::size_t c = 0; c < r.columns.size(); ++c) width[c] = r.columns[c].size();
  const auto cell = [](const std::optional<std::string>& v) {
    if (!v) return std::string("-");
    // Numbers with many digits are shortened for reading; the database keeps them whole.
    char* end = nullptr;
    const double d = std::strtod(v->c_str(), &end);
    if (end != v->c_str() && *end == '\0' && v->find('.') != std::string::npos) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.4g", d);
      return std::string(buf);
    }
    return *v;
  };
  for (const auto& row : r.rows) {
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], cell(row[c]).size());
  }
  const auto line = [&](const std::vector<std::string>& values) {
    std::cout << " ";
    for (std::size_t c = 0; c < values.size(); ++c)
      std::cout << " " << values[c] << std::string(width[c] - values[c].size(), ' ');
    std::cout << "\n";
  };
  line(r.columns);
  for (const auto& row : r.rows) {
    std::vector<std::string> values;
    for (const auto& v : row) values.push_back(cell(v));
    line(values);
  }
}

// `metrics --suggest`: the next job's size from the successful runs of the same graph (its
// text, as recorded): memory as sbatch --mem takes it, threads, time per input pixel.
struct SuggestRun {
  std::string id;
  double peak_gb = 0, seconds = 0, pixels = 0, threads = 0, cells = 0, gather = 0, ranks = 1, per_node = 1;
  bool resumed = false;
};

std::vector<SuggestRun> suggest_runs(MetricsBackend& db, const std::string& id) {
  const QueryResult r = db.query(
      "SELECT e.id, "
      "MAX(CASE WHEN m.metric_name = 'peak_rss_gb' THEN m.metric_value END), "
      "MAX(CASE WHEN m.metric_name = 'wall_seconds' THEN m.metric_value END), "
      "MAX(CASE WHEN m.metric_name = 'input_pixels' THEN m.metric_value END), "
      "MAX(CASE WHEN m.metric_name = 'threads' THEN m.metric_value END), "
      "MAX(CASE WHEN m.metric_name = 'cells' THEN m.metric_value END), "
      "MAX(e.resumed_from), "
      "MAX(CASE WHEN m.metric_name = 'gather_seconds' THEN m.metric_value END), "
      "MAX(CASE WHEN m.metric_name = 'ranks' THEN m.metric_value END), "
      "MAX(CASE WHEN m.metric_name = 'ranks_per_node' THEN m.metric_value END) "
      "FROM experiments e JOIN pipeline_metrics m ON m.experiment_id = e.id AND m.metric_type = 'run' "
      "WHERE e.status = 'succeeded' AND e.graph_json = (SELECT graph_json FROM experiments WHERE id = $1) "
      "GROUP BY e.id ORDER BY e.id",
      {id});
  std::vector<SuggestRun> runs;
  const auto number = [](const std::optional<std::string>& v, double otherwise = 0.0) {
    return v ? std::strtod(v->c_str(), nullptr) : otherwise;
  };
  for (const auto& row : r.rows) {
    runs.push_back({row[0].value_or("?"), number(row[1]), number(row[2]), number(row[3]), number(row[4]),
                    number(row[5]), number(row[7]), number(row[8], 1.0), number(row[9], 1.0), row[6].has_value()});
  }
  return runs;
}

// Memory: the highest peak working set (the process's peak RSS; under MPI the highest of the
// ranks') plus 25%; under MPI, per node: that per rank times the ranks on a node.
void suggest_memory(const std::vector<SuggestRun>& runs) {
  const SuggestRun& peak = *std::max_element(
      runs.begin(), runs.end(), [](const SuggestRun& a, const SuggestRun& b) { return a.peak_gb < b.peak_gb; });
  // SLURM's accounting counts the job's other processes (batch shell, srun): the limit rasterflow
  // takes from SLURM's variables is lowered by their headroom, which --mem must add back.
  const double bytes = peak.peak_gb * 1.25 * 1024.0 * 1024.0 * 1024.0;
  const auto headroom = static_cast<double>(kJobHeadroom);
  const std::string seen = format_size(static_cast<std::uint64_t>(peak.peak_gb * 1024.0 * 1024.0 * 1024.0));
  if (peak.ranks <= 1) {
    std::printf(
        "  memory:  #SBATCH --mem=%s   (peak working set %s in experiment %s, plus 25%%, plus %s for the job's other "
        "processes)\n",
        sbatch_mem(static_cast<std::uint64_t>(bytes + headroom)).c_str(), seen.c_str(), peak.id.c_str(),
        format_size(kJobHeadroom).c_str());
    return;
  }
  std::printf(
      "  memory:  #SBATCH --mem=%s   per node, for %.0f ranks per node (the largest rank's peak working set %s in "
      "experiment %s, a run of %.0f ranks, plus 25%%: %s per rank; --mem is per node, the ranks on a node share it)\n",
      sbatch_mem(static_cast<std::uint64_t>(bytes * peak.per_node + headroom)).c_str(), peak.per_node, seen.c_str(),
      peak.id.c_str(), peak.ranks, sbatch_mem(static_cast<std::uint64_t>(bytes)).c_str());
}

// Time: the slowest complete run's seconds per input pixel (a resumed run did only part; an MPI
// run's include its gather), plus 50%, plus the signal's lead and the 60 s by which SLURM may
// deliver a --signal early, so that the signal comes well after the expected end.
void suggest_time(const std::vector<SuggestRun>& runs) {
  const SuggestRun* slowest = nullptr;
  for (const SuggestRun& run : runs) {
    if (run.resumed || run.pixels <= 0) continue;
    if (slowest == nullptr || run.seconds / run.pixels > slowest->seconds / slowest->pixels) slowest = &run;
  }
  if (slowest == nullptr) {
    std::cout << "  time:    no complete (not resumed) run recorded its input pixels\n";
    return;
  }
  constexpr double kLead = 60;   // --signal's lead: stopping takes the tiles in flight and a checkpoint
  constexpr double kEarly = 60;  // SLURM checks signals about once a minute: up to 60 s early
  const double per_pixel = slowest->seconds / slowest->pixels;
  const double latest_pixels = runs.back().pixels > 0 ? runs.back().pixels : slowest->pixels;
  const double expected = latest_pixels * per_pixel * 1.5;
  const double seconds = std::ceil((expected + kLead + kEarly) / 60.0) * 60.0;
  const auto minutes = static_cast<long long>(seconds / 60.0);
  const std::string gather = slowest->ranks > 1
                                 ? ", of which " + std::to_string(static_cast<int>(std::lround(slowest->gather))) +
                                       " s gathering the ranks' outputs"
                                 : std::string();
  std::printf(
      "  time:    %.3g ns per input pixel (experiment %s: %.1f s for %.4g input pixels, %.0f threads%s); "
      "#SBATCH --time=%lld:%02lld:00 for %.4g input pixels: %.0f s expected with 50%% to spare, then "
      "#SBATCH --signal=B:TERM@%.0f (--signal=TERM@%.0f under srun/MPI) comes at least %.0f s after that (SLURM may "
      "send it up to %.0f s early) with --resume: docs/hpc.md\n",
      per_pixel * 1e9, slowest->id.c_str(), slowest->seconds, slowest->pixels, slowest->threads, gather.c_str(),
      minutes / 60, minutes % 60, latest_pixels, expected, kLead, kLead, seconds - kLead - kEarly - expected, kEarly);
}

int suggest_job(MetricsBackend& db, const std::string& id) {
  const QueryResult name = db.query("SELECT name FROM experiments WHERE id = $1", {id});
  if (name.rows.empty()) throw UsageError("metrics: no experiment " + id + " in " + db.describe());
  const std::vector<SuggestRun> runs = suggest_runs(db, id);
  if (runs.empty()) {
    throw UsageError("metrics --suggest: no successful run of the graph of experiment " + id + " (\"" +
                     name.rows[0][0].value_or("") + "\") in " + db.describe() + " recorded its figures");
  }
  std::cout << "suggestion from " << runs.size() << " successful run" << (runs.size() == 1 ? "" : "s")
            << " of the graph of experiment " << id << " (\"" << name.rows[0][0].value_or("")
            << "\", same graph text) in " << db.describe() << ":\n";
  suggest_memory(runs);
  suggest_time(runs);
  // Threads: the count of the run that took the least time per input pixel.
  const SuggestRun* fastest = nullptr;
  for (const SuggestRun& run : runs) {
    if (run.resumed || run.pixels <= 0) continue;
    if (fastest == nullptr || run.seconds / run.pixels < fastest->seconds / fastest->pixels) fastest = &run;
  }
  if (fastest != nullptr) {
    std::printf("  threads: #SBATCH --cpus-per-task=%.0f   (the fastest run per input pixel, experiment %s)\n",
                fastest->threads, fastest->id.c_str());
  }
  return 0;
}

int cmd_metrics(const std::string& database, const std::string& sqlite, const std::string& experiment,
                const std::string& report, bool suggest) {
  if (!database.empty() && !sqlite.empty()) throw UsageError("metrics: give --database or --sqlite, not both");
  std::unique_ptr<MetricsBackend> db;
  if (!database.empty()) {
    check_database_url(database, "--database");
    db = open_postgresql_metrics(database);
  } else {
    const std::filesystem::path file = sqlite.empty() ? "rasterflow_metrics.sqlite" : sqlite;
    if (!std::filesystem::exists(file))
      throw UsageError("metrics: no metrics database at " + file.string() + " (give --sqlite FILE or --database URL)");
    db = open_sqlite_metrics(file);
  }
  std::string id = experiment;
  if (id.empty()) {
    const QueryResult latest = db->query("SELECT id FROM experiments ORDER BY id DESC LIMIT 1", {});
    if (latest.rows.empty() || !latest.rows[0][0])
      throw UsageError("metrics: " + db->describe() + " holds no experiment yet");
    id = *latest.rows[0][0];
  } else if (id.find_first_not_of("0123456789") != std::string::npos) {
    throw UsageError("metrics: --experiment: expected an experiment id (a number), got \"" + id + "\"");
  }
  if (suggest) return suggest_job(*db, id);
  if (!report.empty()) {
    write_report(report, report_from_database(*db, id));
    std::cout << "wrote " << report << "\n";
    return 0;
  }
  const QueryResult e =
      db->query("SELECT id, name, status, host, started_at, finished_at, error FROM experiments WHERE id = $1", {id});
  if (e.rows.empty()) throw UsageError("metrics: no experiment " + id + " in " + db->describe());
  const auto& row = e.rows[0];
  std::cout << "experiment " << id << " \"" << row[1].value_or("") << "\": " << row[2].value_or("?") << " on "
            << row[3].value_or("?") << ", " << row[4].value_or("?") << " to " << row[5].value_or("(running)") << " ("
            << db->describe() << ")\n";
  if (row[6] && !row[6]->empty()) std::cout << "error: " << *row[6] << "\n";
  print_table("memory by stage (v_memory_by_stage)",
              db->query("SELECT stage, samples, avg_rss_gb, peak_rss_gb FROM v_memory_by_stage WHERE experiment_id = "
                        "$1 ORDER BY peak_rss_gb DESC",
                        {id}));
  print_table("throttle events (v_throttle_events)",
              db->query("SELECT created_at, setting, previous_value, new_value, level, reason FROM v_throttle_events "
                        "WHERE experiment_id = $1 "
                        "ORDER BY created_at",
                        {id}));
  print_table("stage summary (v_stage_summary)",
              db->query("SELECT stage, node_type, items, cells, bytes, busy_seconds, memory_avg_gb, memory_peak_gb "
                        "FROM v_stage_summary "
                        "WHERE experiment_id = $1 ORDER BY busy_seconds DESC",
                        {id}));
  const QueryResult by_rank = db->query(
      "SELECT rank, stage, items, cells, busy_seconds, memory_peak_gb FROM v_stage_by_rank WHERE experiment_id = $1 "
      "ORDER BY rank, busy_seconds DESC",
      {id});
  if (!by_rank.rows.empty()) print_table("stages by rank (v_stage_by_rank)", by_rank);
  return 0;
}

int cmd_sample_data(const std::string& dir, const std::string& size) {
  for (const auto& f : app::generate_sample_data(dir, size)) {
    std::cout << f.path.string() << ": " << f.description << "\n";
  }
  return 0;
}

// Every subcommand's arguments, bound to the CLI11 options that fill them (so never moved).
struct CommandArgs {
  app::RunRequest run;
  app::RunRequest validate;  // its graph and configuration
  app::RunRequest plan;      // its graph, configuration and the run options that shape a plan
  std::string plan_format = "text";
  int plan_ranks = 0;
  std::string metrics_db, metrics_sqlite, metrics_experiment, metrics_report;
  bool metrics_suggest = false;
  std::string nodes_type;
  bool nodes_markdown = false;
  std::string sample_dir, sample_size = "small";
};

CLI::App* add_run_command(CLI::App& app, app::RunRequest& run) {
  auto* run_cmd = app.add_subcommand("run", "run a graph");
  bind_run_flags(run_cmd, run);
  return run_cmd;
}

CLI::App* add_validate_command(CLI::App& app, app::RunRequest& validate) {
  auto* validate_cmd = app.add_subcommand("validate", "check a graph and its configuration without running it");
  bind_run_flags(validate_cmd, validate, {"graph", "config", "set"});
  return validate_cmd;
}

// `plan` takes the run options that shape a plan, declared once for `run` and `plan` (a plan
// for the limit one will run under is the first thing one plans for).
CLI::App* add_plan_command(CLI::App& app, CommandArgs& c) {
  auto* plan_cmd = app.add_subcommand("plan", "show the grid, tiles, nodes and memory estimate");
  bind_run_flags(plan_cmd, c.plan, {"graph", "config", "set", "process_memory_limit", "threads", "streaming"});
  plan_cmd->add_option("--format", c.plan_format, "text, json or dot")->check(CLI::IsMember({"text", "json", "dot"}));
  plan_cmd->add_option("--ranks", c.plan_ranks, "show the row bands of an MPI run of N ranks")
      ->check(CLI::Range(1, 1 << 20));
  return plan_cmd;
}

CLI::App* add_metrics_command(CLI::App& app, CommandArgs& c) {
  auto* metrics_cmd = app.add_subcommand("metrics", "show recorded memory and stage metrics");
  metrics_cmd->add_option("--database", c.metrics_db, "PostgreSQL URL");
  metrics_cmd->add_option("--sqlite", c.metrics_sqlite, "SQLite file");
  metrics_cmd->add_option("--experiment", c.metrics_experiment, "experiment id (default: latest)");
  metrics_cmd->add_option("--report", c.metrics_report, "write the experiment's HTML report to this file");
  metrics_cmd->add_flag("--suggest", c.metrics_suggest,
                        "size the next job from the successful runs of the experiment's graph: sbatch --mem, "
                        "--cpus-per-task, --time");
  return metrics_cmd;
}

CLI::App* add_nodes_command(CLI::App& app, CommandArgs& c) {
  auto* nodes_cmd = app.add_subcommand("nodes", "list the node types with their inputs and options");
  nodes_cmd->add_option("type", c.nodes_type, "one node type (default: all)");
  nodes_cmd->add_flag("--markdown", c.nodes_markdown, "print the reference as Markdown (docs/nodes.md)");
  return nodes_cmd;
}

CLI::App* add_sample_data_command(CLI::App& app, CommandArgs& c) {
  auto* sample_cmd = app.add_subcommand("sample-data", "write deterministic sample rasters");
  sample_cmd->add_option("dir", c.sample_dir, "output folder")->required();
  sample_cmd->add_option("--size", c.sample_size, "small, medium or large")
      ->check(CLI::IsMember({"small", "medium", "large"}));
  return sample_cmd;
}

// `rasterflow run`: on one rank, or on the ranks of an MPI launch.
}  // namespace

int main(int argc, char** argv) {
  auto logger = spdlog::stderr_color_mt("rasterflow");
  logger->set_pattern("%^[%l]%$ %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::info);

  CLI::App app{"rasterflow " + version() +
               ": resample rasters onto one grid, merge them cell by cell, export one table"};
  app.set_version_flag("--version", "rasterflow " + version());
  app.require_subcommand(1);
  CommandArgs c;
  const CLI::App* run_cmd = add_run_command(app, c.run);
  const CLI::App* validate_cmd = add_validate_command(app, c.validate);
  const CLI::App* plan_cmd = add_plan_command(app, c);
  const CLI::App* metrics_cmd = add_metrics_command(app, c);
  const CLI::App* nodes_cmd = add_nodes_command(app, c);
  const CLI::App* sample_cmd = add_sample_data_command(app, c);

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
    set_log_level(c.run.log_level);
    if (*run_cmd) {
      c.run.command.assign(argv, argv + argc);
      c.run.checkpoint = true;
      return launch_run(c.run, &argc, &argv, *logger);
    }
    if (*validate_cmd) return cmd_validate(c.validate);
    if (*plan_cmd) return cmd_plan(c.plan, c.plan_format, c.plan_ranks);
    if (*nodes_cmd) return cmd_nodes(c.nodes_type, c.nodes_markdown);
    if (*metrics_cmd)
      return cmd_metrics(c.metrics_db, c.metrics_sqlite, c.metrics_experiment, c.metrics_report, c.metrics_suggest);
    if (*sample_cmd) return cmd_sample_data(c.sample_dir, c.sample_size);
  } catch (const MemoryTooSmall& e) {
    spdlog::error("{}", e.what());
    return kExitMemoryTooSmall;
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
