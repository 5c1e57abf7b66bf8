#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "cli/world.hpp"

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

#include "nodes/common/sample_data.hpp"
#include "rasterflow/errors.hpp"
#include "rasterflow/graph.hpp"
#include "rasterflow/memory.hpp"
#include "rasterflow/metrics.hpp"
#include "rasterflow/node_reference.hpp"
#include "rasterflow/pipeline.hpp"
#include "rasterflow/registry.hpp"
#include "rasterflow/report.hpp"
#include "rasterflow/size.hpp"
#include "rasterflow/topology.hpp"

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
  bool resume = false;
  std::vector<std::string> command;  // the command line as given (for the resume command)
};

// Inserts "rank":R at the front of a metric row's metadata object.
std::string with_rank(const std::string& metadata, int rank) {
  const std::string field = "\"rank\":" + std::to_string(rank);
  if (metadata.size() < 2 || metadata.front() != '{') return "{" + field + "}";
  return "{" + field + (metadata == "{}" ? "" : ",") + metadata.substr(1);
}

// One rank's run (the only one without MPI). Returns the summary; throws on failure.
RunSummary run_rank(const RunArgs& a, World* world, MetricsRecorder* recorder, Pipeline& pipeline) {
  const int rank = world ? world->rank() : 0;
  if (recorder)
    pipeline.set_metric_recorder([recorder, world, rank](MetricRow row) {
      if (world) row.metadata_json = with_rank(row.metadata_json, rank);
      recorder->record(std::move(row));
    });
  ProgressDisplay progress(pipeline, rank == 0 ? a.progress : "never");
  return pipeline.run();
}

// What the steps of `rasterflow run` share, from the setup to the summary. Declared in the order
// they are made, so they go in the reverse order (the recorder before the pipeline).
struct RunSession {
  RunSession(const RunArgs& a, World* w) : args(a), world(w), rank(w ? w->rank() : 0) {}
  RunSession(const RunSession&) = delete;
  RunSession& operator=(const RunSession&) = delete;

  const RunArgs& args;
  World* world;  // null without MPI
  const int rank;
  Config config;
  GraphSpec graph;
  RunOptions options;
  std::unique_ptr<Pipeline> pipeline;
  std::unique_ptr<MetricsRecorder> recorder;
  RunSummary summary;
  std::string failure;  // the run's error message; empty when it succeeded
  bool interrupted = false;
  bool memory_too_small = false;
  double gather_seconds = 0;  // MPI: the sinks' gather, after the run (rank 0's clock)  // interrupted because the
                              // memory limit is too small to go on
  std::optional<Checkpoint> resumed;  // the checkpoint a --resume run continues
  bool band_from_start = false;       // MPI --resume: this rank had no checkpoint (set_up)
  std::exception_ptr error;
};

// The configuration with the command line's overrides.
Config run_config(const RunArgs& a) {
  Config config = load_config(a.common);
  if (!a.memory_limit.empty()) config.set("memory.limit", a.memory_limit, "--memory-limit");
  if (a.threads > 0) config.set("engine.threads", std::to_string(a.threads), "--threads");
  if (a.streaming && a.in_memory) throw UsageError("--streaming and --in-memory exclude each other");
  if (a.streaming) config.merge.enable_streaming = true;
  if (a.in_memory) config.merge.enable_streaming = false;
  if (!a.database.empty()) {  // --database asks for PostgreSQL, whatever metrics.backend said
    config.set("database.url", a.database, "--database");
    config.metrics.backend = "postgresql";
  }
  return config;
}

// Where the configuration's memory.limit came from, when it was set.
std::string configured_limit_source(const RunArgs& a) {
  return a.memory_limit.empty() ? "memory.limit" : "--memory-limit";
}

// The node's memory limit and its source: memory.limit (or --memory-limit), else the smallest
// of the cgroup, RLIMIT_AS, SLURM's variables and the machine.
MemoryLimit node_memory_limit(const Config& config, const std::string& configured_source) {
  if (config.memory.limit > 0) return {config.memory.limit, configured_source};
  return with_job_headroom(SystemMemorySource().decide_limit());
}

// Ranks on one node share its memory limit and its CPUs. Returns where the thread count came from;
// `limit_source` receives where the rank's share came from.
std::string share_node(Config& config, const World& world, const std::string& configured_source,
                       std::string& limit_source) {
  std::string threads_origin = "engine.threads";
  const MemoryLimit node = node_memory_limit(config, configured_source);
  const std::uint64_t node_limit = node.bytes;
  config.memory.limit = node_limit / static_cast<std::uint64_t>(world.local_size());
  limit_source =
      node.source + (world.local_size() > 1 ? ", shared by the node's " + std::to_string(world.local_size()) + " ranks"
                                            : std::string());
  if (config.engine.threads == 0 && std::getenv("SLURM_CPUS_PER_TASK") == nullptr) {
    const ThreadDecision t = decide_threads(0, "", read_thread_inputs());
    config.engine.threads = std::max(1, t.threads / world.local_size());
    threads_origin = t.source + " split between the node's " + std::to_string(world.local_size()) + " ranks";
  }
  spdlog::info("rank {} of {} on {} ({} ranks on this node): memory limit {} (the node's {} shared), {} threads",
               world.rank(), world.size(), world.node_name(), world.local_size(), format_size(config.memory.limit),
               format_size(node_limit),
               config.engine.threads == 0 ? std::string("auto") : std::to_string(config.engine.threads));
  return threads_origin;
}

// Configuration, graph and pipeline of this rank. Throws on any error.
void set_up(RunSession& session) {
  const RunArgs& a = session.args;
  World* world = session.world;
  session.config = run_config(a);
  std::string threads_origin = "engine.threads";
  std::string limit_source = configured_limit_source(a);
  if (world) threads_origin = share_node(session.config, *world, limit_source, limit_source);
  std::error_code ec;
  std::filesystem::create_directories(a.output_dir, ec);
  if (ec) throw UsageError("--output-dir: cannot create " + a.output_dir + ": " + ec.message());

  session.graph = load_graph(a.common.graph, session.config);
  RunOptions& options = session.options;
  options.output_dir = a.output_dir;
  options.threads = session.config.engine.threads;
  options.threads_source = a.threads > 0 ? "--threads" : threads_origin;
  options.memory_limit_source = limit_source;
  options.checkpoint = true;
  options.cancel = &g_cancel;
  if (world) options.output_suffix = ".rank" + std::to_string(session.rank);
  if (!a.trace.empty()) options.trace_file = world ? a.trace + ".rank" + std::to_string(session.rank) : a.trace;
  if (world) {
    options.rank = session.rank;
    options.ranks = world->size();
  }
  session.pipeline = std::make_unique<Pipeline>(session.graph, session.config, options);
  Pipeline& pipeline = *session.pipeline;
  // One writer per output, from before anything (checkpoint, partial file) is looked at.
  pipeline.claim_outputs();
  if (world) {
    for (const SinkNode* sink : pipeline.sinks()) sink->check_ranks(world->size());
    const auto bands = pipeline.bands(world->size());
    const RowBand& band = bands[static_cast<std::size_t>(session.rank)];
    pipeline.set_band(band.row0, band.row0 + band.rows);
    spdlog::info("band: rows {}-{} of {} (~{:.1f} M input pixels)", band.row0, band.row0 + band.rows - 1,
                 pipeline.grid().height, band.input_pixels / 1e6);
  }
  // Never over an interrupted run's checkpoint; with --resume, only over a matching one.
  // Under MPI a rank with no checkpoint of its own (a job killed before this rank saved its
  // first one, or while the ranks removed theirs) writes its band from its first row while the
  // others resume theirs: each band's bytes depend only on its rows. start_all_or_none()
  // refuses --resume when no rank has a checkpoint.
  std::error_code exists_ec;
  const std::filesystem::path checkpoint = pipeline.checkpoint_path();
  if (world && a.resume && !checkpoint.empty() && pipeline.checkpoint_refusal().empty() &&
      !std::filesystem::exists(checkpoint, exists_ec)) {
    session.resumed = pipeline.prepare_checkpoint(false);
    session.band_from_start = true;
    return;
  }
  session.resumed = pipeline.prepare_checkpoint(a.resume);
}

// The command that resumes this run: the command line as given, with --resume.
std::string resume_command(const RunSession& session) {
  std::string text;
  bool has_resume = false;
  for (const auto& arg : session.args.command) {
    has_resume = has_resume || arg == "--resume";
    const bool plain = !arg.empty() && arg.find_first_not_of(
                                           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                           "0123456789-_./=:,@%+") == std::string::npos;
    std::string quoted = "'";
    for (const char ch : arg) quoted += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
    text += (text.empty() ? "" : " ") + (plain ? arg : quoted + "'");
  }
  if (!has_resume) text += " --resume";
  if (session.world)
    return "the same launch of " + std::to_string(session.world->size()) + " ranks (mpirun -n " +
           std::to_string(session.world->size()) + " / srun) of: " + text;
  return text;
}

// Removes this run's checkpoint and partial outputs (another MPI rank kept none to resume with).
void discard_checkpoint(const RunSession& session) {
  if (!session.pipeline) return;
  std::error_code ec;
  const std::filesystem::path checkpoint = session.pipeline->checkpoint_path();
  if (!checkpoint.empty()) {
    std::filesystem::remove(checkpoint, ec);
    std::filesystem::remove(checkpoint.string() + ".tmp", ec);  // a killed run's temporary
  }
  for (SinkNode* sink : session.pipeline->sinks()) {
    if (const ResumableSink* r = sink->resumable()) std::filesystem::remove(r->written().partial, ec);
  }
}

// After a failure or an interruption: when the checkpoint was kept, the way to continue.
std::string resume_hint(const RunSession& session) {
  if (!session.pipeline) return "";
  const std::filesystem::path file = session.pipeline->checkpoint_path();
  std::error_code ec;
  if (file.empty() || !std::filesystem::exists(file, ec)) return "";
  return "\nresume with: " + resume_command(session);
}

bool is_usage_error(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const UsageError&) {
    return true;
  } catch (...) {
    return false;
  }
}

// set_up(); under MPI every rank starts, or none does (collective: first_failed).
void start_all_or_none(RunSession& session) {
  std::exception_ptr setup_error;
  try {
    set_up(session);
  } catch (...) {
    if (!session.world) throw;
    setup_error = std::current_exception();
  }
  if (session.world) {
    // A rank that could not start tells the others, as a rank failing while running does:
    // first_failed() receives one notice from every failed rank (without them it waits forever).
    if (setup_error) session.world->notify_failure();
    const int first = session.world->first_failed(setup_error != nullptr);
    // The ranks that could start exit as the one that could not: 2 for a usage error (a busy
    // output, a bad option), so that the job's exit code does not depend on which rank mpirun
    // hears from first (collective: any, on every rank).
    const bool usage = session.world->any(setup_error != nullptr && is_usage_error(setup_error));
    if (setup_error) std::rethrow_exception(setup_error);
    if (first >= 0) {
      const std::string text = "rank " + std::to_string(session.rank) + ": stopped because rank " +
                               std::to_string(first) + " could not start (its error is above)";
      if (usage) throw UsageError(text);
      throw RunError(text);
    }
    // --resume: some rank's checkpoint, or nothing to resume (collective: any, on every rank).
    if (session.args.resume && !session.world->any(session.resumed.has_value())) {
      throw UsageError("--resume: no checkpoint at " + session.pipeline->checkpoint_path().string() +
                       " nor at any other rank's (the run finished, was never interrupted, or wrote its outputs "
                       "elsewhere: check --output-dir)");
    }
    if (session.band_from_start) {
      spdlog::warn(
          "--resume: no checkpoint at {}: this rank writes its band from its first row, the others "
          "resume theirs",
          session.pipeline->checkpoint_path().string());
    }
  }
}

// Metrics: an experiment per run, rows through a recorder that never blocks the run. Under
// MPI rank 0 creates the experiment and every rank writes its rows (with its rank) into it
// (collective: broadcast of the experiment id).
void open_metrics(RunSession& session) {
  const Config& config = session.config;
  if (config.metrics.backend == "none") return;
  const int rank = session.rank;
  ExperimentInfo info;
  info.name = session.args.experiment.empty() ? session.graph.name : session.args.experiment;
  info.graph_json = session.graph.json;
  info.config_json = masked_config_json(config, session.graph);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  info.host = host;
  if (session.resumed) info.resumed_from = session.resumed->experiment;
  const std::filesystem::path output_dir = session.args.output_dir;
  auto& recorder = session.recorder;
  recorder = std::make_unique<MetricsRecorder>(
      [config, output_dir]() -> std::unique_ptr<MetricsBackend> {
        if (!config.database.url.empty() || config.metrics.backend == "postgresql")
          return open_postgresql_metrics(config.database.url);
        const std::filesystem::path file(config.metrics.sqlite_path);
        return open_sqlite_metrics(file.is_relative() ? output_dir / file : file);
      },
      info);
  if (rank == 0) recorder->start(config.metrics.required);
  if (session.world) {
    const std::int64_t id = session.world->broadcast(rank == 0 ? recorder->experiment_id().value_or(-1) : -1);
    if (rank != 0) {
      if (id >= 0)
        recorder->attach(id, static_cast<std::int64_t>(rank) << 24);
      else
        recorder.reset();  // rank 0 has no experiment: nothing to attach to
    }
  }
  if (recorder) session.pipeline->set_checkpoint_experiment(recorder->experiment_id(), recorder->describe());
}

// The run itself, stoppable by SIGINT/SIGTERM (and, under MPI, by another rank's failure). Its
// error is kept in the session, not thrown.
void run_with_signals(RunSession& session) {
  Pipeline& pipeline = *session.pipeline;
  const Grid& g = pipeline.grid();
  if (session.rank == 0) {
    spdlog::info("running {}: grid {} x {} ({} cells), {} threads, tiles of {} rows, memory limit {} ({})",
                 session.graph.name, g.width, g.height, g.cells(), pipeline.threads(), pipeline.tile_rows(),
                 format_size(pipeline.memory_limit()), pipeline.memory_limit_source());
  }
  if (session.world) session.world->start_watch(&g_cancel);
  try {
    session.summary = run_rank(session.args, session.world, session.recorder.get(), pipeline);
  } catch (const Interrupted& e) {
    session.interrupted = true;
    session.memory_too_small = dynamic_cast<const MemoryTooSmall*>(&e) != nullptr;
    session.failure = e.what();
    session.error = std::current_exception();
  } catch (const std::exception& e) {
    session.failure = e.what();
    session.error = std::current_exception();
  }
}

// Under MPI: a rank that failed, or was interrupted by a signal of its own, stops every rank;
// one stopped by another rank's notice only follows (collective: first_failed). Throws when
// any rank failed, after removing this rank's band files.
void agree_on_failure(RunSession& session) {
  World& world = *session.world;
  const int rank = session.rank;
  const bool stopped_by_peer = world.end_watch() && session.interrupted;
  const bool stops_all = !session.failure.empty() && !stopped_by_peer;
  if (stops_all) world.notify_failure();
  const int first = world.first_failed(stops_all);
  if (first < 0) return;
  // Whether a signal stopped any rank (collective: any): then every rank exits as interrupted
  // (130); when ranks only failed, every rank exits 1, whichever rank's exit mpirun reports.
  const bool signalled = session.interrupted && !stopped_by_peer;
  const bool any_signalled = world.any(signalled);
  // A resume needs every rank's checkpoint: when one rank kept none, no rank keeps its own
  // (collective: any, on every rank that gets here, which is all or none).
  if (world.any(resume_hint(session).empty())) discard_checkpoint(session);
  // Every rank removes its band file; the output never appears under its final name.
  std::error_code ec;
  for (const auto& out : session.summary.outputs) std::filesystem::remove(out, ec);
  if (session.recorder) {
    session.recorder->finish(any_signalled ? "interrupted" : "failed",
                             "rank " + std::to_string(first) + (any_signalled ? " was interrupted" : " failed"),
                             std::chrono::seconds(5), rank == 0);
  }
  if (signalled && session.memory_too_small)
    throw MemoryTooSmall("rank " + std::to_string(rank) + ": " + session.failure + resume_hint(session));
  if (signalled) throw Interrupted("rank " + std::to_string(rank) + ": " + session.failure + resume_hint(session));
  if (session.interrupted && any_signalled)
    throw Interrupted("rank " + std::to_string(rank) + ": stopped because rank " + std::to_string(first) +
                      " was interrupted or failed" + resume_hint(session));
  if (stops_all) throw RunError("rank " + std::to_string(rank) + ": " + session.failure + resume_hint(session));
  const std::string hint = resume_hint(session);
  throw RunError("rank " + std::to_string(rank) + ": stopped because rank " + std::to_string(first) +
                 " failed (its error is above); " +
                 (hint.empty() ? "no output was written under its final name" : "the checkpoint is kept" + hint));
}

// Under MPI: each sink combines its ranks' outputs as its output requires (collective: every
// sink's gather, in the pipeline's order). On an error the bands not gathered yet are removed.
void gather_outputs(RunSession& session) {
  World& world = *session.world;
  const int rank = session.rank;
  const RunSummary& s = session.summary;
  const auto final_of = [&](const std::filesystem::path& band_file) {
    std::string path = band_file.string();
    path.resize(path.size() - session.options.output_suffix.size());
    return path;
  };
  const std::filesystem::path checkpoint = session.pipeline->checkpoint_path();
  std::error_code ec;
  try {
    for (SinkNode* sink : session.pipeline->sinks()) {
      const auto t0 = std::chrono::steady_clock::now();
      const SinkNode::Gathered out = sink->gather(world);
      session.gather_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (rank == 0) {
        spdlog::info("gathered {} from {} ranks with MPI-IO in {:.2f} s (the run itself: {:.2f} s on rank 0)",
                     format_size(out.bytes), world.size(),
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), s.wall_seconds);
        std::cout << "wrote " << out.path.string() << " (" << out.bytes << " bytes from " << world.size()
                  << " ranks)\n";
      }
    }
  } catch (const std::exception& e) {
    for (const auto& out : s.outputs) {  // the outputs not gathered yet
      std::filesystem::remove(out, ec);  // a band under its own name (raster_sink's raw rows)
      if (rank == 0) std::filesystem::remove(final_of(out) + ".partial", ec);
    }
    // The bands are complete: with this rank's checkpoint they are kept, and --resume gathers
    // them again without computing anything (a disk that filled up while gathering).
    const std::string hint = resume_hint(session);
    if (hint.empty()) discard_checkpoint(session);
    if (session.recorder) session.recorder->finish("failed", e.what(), std::chrono::seconds(5), rank == 0);
    if (hint.empty()) throw;
    throw RunError(std::string(e.what()) + hint);
  }
  // Every output is under its final name (rank 0 renamed them and every rank learned it in each
  // gather): the checkpoint first, then the band files it names, so that a job killed in
  // between never leaves a checkpoint naming a band file that is gone.
  std::filesystem::remove(checkpoint, ec);
  discard_checkpoint(session);
}

// --report: the run's HTML report (rank 0's figures under MPI).
void write_run_report(const RunSession& session) {
  const RunSummary& s = session.summary;
  const GraphSpec& graph = session.graph;
  const Config& config = session.config;
  ReportData report;
  report.title = session.args.experiment.empty() ? graph.name : session.args.experiment;
  char grid_text[128], time_text[64];
  std::snprintf(grid_text, sizeof grid_text, "%lld x %lld cells (%llu), %llu tiles, %d threads",
                static_cast<long long>(s.grid_width), static_cast<long long>(s.grid_height),
                static_cast<unsigned long long>(s.cells), static_cast<unsigned long long>(s.tiles), s.threads);
  std::snprintf(time_text, sizeof time_text, "%.2f s wall, %.2f s CPU", s.wall_seconds, s.cpu_seconds);
  report.facts = {{"graph", graph.file.string()},
                  {"grid", grid_text},
                  {"time", time_text},
                  {"rows written", std::to_string(s.rows_written)},
                  {"peak RSS", format_size(s.peak_rss_bytes)},
                  {"memory limit", format_size(s.memory_limit) + " (" + session.pipeline->memory_limit_source() + ")"},
                  {"export", s.streaming ? "streaming" : "in-memory"},
                  {"NUMA placement", s.placement},
                  {"throttle events", std::to_string(s.throttle_events.size())}};
  for (const auto& out : s.outputs) report.facts.emplace_back("output", out.string());
  if (session.world)
    report.facts.emplace_back("MPI",
                              "rank 0 of " + std::to_string(session.world->size()) + ": the figures are rank 0's band");
  for (std::size_t i = 0; i < s.nodes.size(); ++i) {
    const auto& n = s.nodes[i];
    report.nodes.push_back(ReportNode{n.id, n.type, graph.nodes[i].inputs, n.busy_seconds, static_cast<double>(n.cells),
                                      n.rss_peak_bytes / (1024.0 * 1024.0 * 1024.0)});
  }
  report.memory = s.memory_timeline;
  report.throttles = s.throttle_events;
  report.limit_bytes = static_cast<double>(s.memory_limit);
  report.warning_threshold = config.memory.warning_threshold;
  report.critical_threshold = config.memory.critical_threshold;
  write_report(session.args.report, report);
  std::cout << "wrote " << session.args.report << "\n";
}

// Rank 0's end of a successful run: the experiment marked, the figures logged, the outputs listed.
void print_summary(RunSession& session) {
  const RunSummary& s = session.summary;
  if (session.recorder) {
    MetricsRecorder& recorder = *session.recorder;
    // The run's figures that `metrics --suggest` sizes the next job from. Under MPI they are rank
    // 0's, with the ranks (per node) to size a node from, the wall time including the gather;
    // every other rank records its own peak_rss_gb too (cmd_run), and --suggest takes the highest.
    const int ranks = session.world ? session.world->size() : 1;
    const int per_node = session.world ? session.world->local_size() : 1;
    std::string meta = "{\"resumed\":" + std::string(s.resumed_at_row >= 0 ? "true" : "false") +
                       ",\"ranks\":" + std::to_string(ranks) + ",\"ranks_per_node\":" + std::to_string(per_node) + "}";
    if (session.world) meta = with_rank(meta, 0);
    recorder.record(MetricRow{"run", "peak_rss_gb", static_cast<double>(s.peak_rss_bytes) / (1024.0 * 1024.0 * 1024.0),
                              meta, Clock::now()});
    recorder.record(MetricRow{"run", "wall_seconds", s.wall_seconds + session.gather_seconds, meta, Clock::now()});
    recorder.record(MetricRow{"run", "gather_seconds", session.gather_seconds, meta, Clock::now()});
    recorder.record(MetricRow{"run", "ranks", static_cast<double>(ranks), meta, Clock::now()});
    recorder.record(MetricRow{"run", "ranks_per_node", static_cast<double>(per_node), meta, Clock::now()});
    recorder.record(MetricRow{"run", "threads", static_cast<double>(s.threads), meta, Clock::now()});
    recorder.record(MetricRow{"run", "input_pixels", session.pipeline->input_pixels(), meta, Clock::now()});
    recorder.record(MetricRow{"run", "cells", static_cast<double>(s.cells), meta, Clock::now()});
    recorder.finish("succeeded", "", std::chrono::seconds(10));
    const auto id = recorder.experiment_id();
    spdlog::info("metrics: experiment {} in {}: {} rows written, {} dropped", id ? std::to_string(*id) : "(none)",
                 recorder.describe(), recorder.written(), recorder.dropped());
  }
  for (const auto& n : s.nodes) {
    spdlog::debug("node {} ({}): {} tiles, {} cells, {:.3f} s busy", n.id, n.type, n.items, n.cells, n.busy_seconds);
  }
  spdlog::info(
      "done: {} rows ({} cells) in {:.2f} s wall, {:.2f} s CPU, {:.1f} Mcells/s, peak RSS {} (limit {}), {} throttle "
      "events",
      s.rows_written, s.cells, s.wall_seconds, s.cpu_seconds,
      static_cast<double>(s.cells) / std::max(s.wall_seconds, 1e-9) / 1e6, format_size(s.peak_rss_bytes),
      format_size(s.memory_limit), s.throttle_events.size());
  std::string per_domain;
  for (const auto t : s.tiles_per_domain) per_domain += (per_domain.empty() ? "" : "/") + std::to_string(t);
  spdlog::info("{}; tiles per domain {}", session.pipeline->topology_line(), per_domain);
  if (!session.world) {
    for (const auto& out : s.outputs) std::cout << "wrote " << out.string() << "\n";
  }
}

// The MPI collectives, in the same order on every rank: first_failed (start), broadcast
// (experiment id, with metrics), first_failed (end; after a failure, any: a rank signalled, any:
// the checkpoints kept),
// each sink's gather, barrier.
int cmd_run(const RunArgs& a, World* world) {
  // From the start: a stop signal while the graph is set up stops the run before its first tile.
  // Every signal batch systems send to stop a job (SLURM --signal, PBS, LSF, Grid Engine's
  // notices and soft limits) stops cleanly: tiles in flight finished, checkpoint saved, exit 130.
  for (const int sig : {SIGINT, SIGTERM, SIGUSR1, SIGUSR2, SIGXCPU}) std::signal(sig, on_signal);
  RunSession session(a, world);
  start_all_or_none(session);
  open_metrics(session);
  run_with_signals(session);
  if (world) {
    agree_on_failure(session);
    gather_outputs(session);
    if (session.recorder && session.rank != 0) {
      // Each rank's own peak, so that --suggest sizes a node by its largest rank, not rank 0's.
      session.recorder->record(MetricRow{
          "run", "peak_rss_gb", static_cast<double>(session.summary.peak_rss_bytes) / (1024.0 * 1024.0 * 1024.0),
          with_rank("{}", session.rank), Clock::now()});
      session.recorder->finish("succeeded", "", std::chrono::seconds(10), false);
    }
    world->barrier();  // every rank's rows are in before rank 0 marks the experiment
  } else if (!session.failure.empty()) {
    if (session.recorder)
      session.recorder->finish(session.interrupted ? "interrupted" : "failed", session.failure,
                               std::chrono::seconds(5));
    const std::string hint = resume_hint(session);
    if (hint.empty()) std::rethrow_exception(session.error);
    if (session.memory_too_small) throw MemoryTooSmall(session.failure + hint);
    if (session.interrupted) throw Interrupted(session.failure + hint);
    spdlog::error("{}", session.failure);
    throw RunError("the run failed" + hint);
  }
  if (session.rank != 0) return 0;
  if (!a.report.empty()) write_run_report(session);
  print_summary(session);
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

int cmd_plan(const RunArgs& a, const std::string& format, int ranks) {
  const Config config = run_config(a);
  const GraphSpec graph = load_graph(a.common.graph, config);
  RunOptions options;
  options.threads = config.engine.threads;
  options.threads_source = a.threads > 0 ? "--threads" : "engine.threads";
  options.memory_limit_source = configured_limit_source(a);
  Pipeline pipeline(graph, config, options);
  if (ranks > 0) {
    // The bands an MPI run of `ranks` ranks would take, and each rank's share of this node's
    // memory if they all ran here.
    const auto bands = pipeline.bands(ranks);
    const MemoryLimit node = node_memory_limit(config, configured_limit_source(a));
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
                    static_cast<long long>(b.rows), static_cast<long long>(b.rows * pipeline.grid().width),
                    b.input_pixels / 1e6, 100.0 * b.work / total);
      std::cout << line << "\n";
    }
    std::cout << "memory per rank: " << format_size(node_limit / static_cast<std::uint64_t>(ranks)) << " if all "
              << ranks << " ranks share this machine (" << format_size(node_limit) << ", " << node.source
              << "); ranks on one node split its limit\n";
    if (format == "text") return 0;
  }
  if (format == "json") {
    std::cout << pipeline.plan_json();
  } else if (format == "dot") {
    std::cout << pipeline.plan_dot();
  } else {
    for (const auto& line : pipeline.plan()) std::cout << line << "\n";
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
  for (const auto& f : nodes::generate_sample_data(dir, size)) {
    std::cout << f.path.string() << ": " << f.description << "\n";
  }
  return 0;
}

// Every subcommand's arguments, bound to the CLI11 options that fill them (so never moved).
struct CommandArgs {
  RunArgs run;
  CommonArgs validate;
  RunArgs plan;  // its graph, configuration and the run options that shape a plan
  std::string plan_format = "text";
  int plan_ranks = 0;
  std::string metrics_db, metrics_sqlite, metrics_experiment, metrics_report;
  bool metrics_suggest = false;
  std::string nodes_type;
  bool nodes_markdown = false;
  std::string sample_dir, sample_size = "small";
};

// The run options that shape a plan, declared once for `run` and `plan` (a plan for the limit
// one will run under is the first thing one plans for).
void add_plan_shaping_options(CLI::App* cmd, RunArgs& args) {
  cmd->add_option("--memory-limit", args.memory_limit, "memory limit, e.g. 512MiB, 4GiB");
  cmd->add_option("--threads", args.threads, "worker threads")->check(CLI::Range(1, 4096));
  cmd->add_flag("--streaming", args.streaming, "stream chunks to the sinks (default)");
  cmd->add_flag("--in-memory", args.in_memory, "materialise the merged grid before export");
}

CLI::App* add_run_command(CLI::App& app, RunArgs& run) {
  auto* run_cmd = app.add_subcommand("run", "run a graph");
  run_cmd->add_option("graph", run.common.graph, "graph JSON file")->required();
  run_cmd->add_option("--config", run.common.config, "configuration file (config.yml)");
  run_cmd->add_option("--set", run.common.sets, "override a config key or nodes.<id>.<option>: KEY=VALUE");
  run_cmd->add_option("--output-dir", run.output_dir, "folder for outputs (default: current folder)");
  add_plan_shaping_options(run_cmd, run);
  run_cmd->add_option("--database", run.database, "metrics database URL (postgresql://...)");
  run_cmd->add_option("--experiment", run.experiment, "experiment name for the metrics");
  run_cmd->add_option("--progress", run.progress, "progress display")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  run_cmd->add_option("--log-level", run.log_level, "trace, debug, info, warn or error");
  run_cmd->add_option("--trace", run.trace, "write a Chrome trace of the run");
  run_cmd->add_option("--report", run.report, "write an HTML run report");
  run_cmd->add_flag("--resume", run.resume,
                    "continue an interrupted run from its checkpoint (<first output>.checkpoint), after checking "
                    "that graph, configuration, inputs and rasterflow are the same");
  return run_cmd;
}

CLI::App* add_validate_command(CLI::App& app, CommonArgs& validate) {
  auto* validate_cmd = app.add_subcommand("validate", "check a graph and its configuration without running it");
  validate_cmd->add_option("graph", validate.graph, "graph JSON file")->required();
  validate_cmd->add_option("--config", validate.config, "configuration file");
  validate_cmd->add_option("--set", validate.sets, "override KEY=VALUE");
  return validate_cmd;
}

CLI::App* add_plan_command(CLI::App& app, CommandArgs& c) {
  auto* plan_cmd = app.add_subcommand("plan", "show the grid, tiles, nodes and memory estimate");
  plan_cmd->add_option("graph", c.plan.common.graph, "graph JSON file")->required();
  plan_cmd->add_option("--config", c.plan.common.config, "configuration file");
  plan_cmd->add_option("--set", c.plan.common.sets, "override KEY=VALUE");
  add_plan_shaping_options(plan_cmd, c.plan);
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
int launch_run(const RunArgs& run, int* argc, char*** argv, spdlog::logger& logger) {
  const Launch launch = detect_launch();
  if (launch.size > 1) {
    if (!built_with_mpi()) {
      throw UsageError("launched as " + std::to_string(launch.size) + " ranks by " + launch.by +
                       ", but this rasterflow was built without MPI: install libopenmpi-dev and rebuild "
                       "(scripts/bootstrap.sh does)");
    }
    // MPI is finalised when `world` goes, before the handlers of main() log an error.
    const auto world = make_mpi_world(argc, argv);
    logger.set_pattern("%^[%l]%$ [rank " + std::to_string(world->rank()) + "] %v");
    return cmd_run(run, world.get());
  }
  return cmd_run(run, nullptr);
}

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
