// The session's setup: configuration, graph and pipeline of this rank, its band and checkpoint.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "app/session_state.hpp"
#include "rasterflow/errors.hpp"
#include "rasterflow/hpc/topology.hpp"
#include "rasterflow/size.hpp"

namespace rasterflow::app {
namespace {

// Ranks on one node share its memory limit and its CPUs. Returns where the thread count came from;
// `limit_source` receives where the rank's share came from.
std::string share_node(const RunRequest& r, Config& config, const World& world, std::string& limit_source) {
  std::string threads_origin = "engine.threads";
  const MemoryLimit node = node_memory_limit(r, config);
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

// The options of this rank's pipeline: the request's, and under MPI its rank's file names.
void set_options(SessionState& s, const std::string& threads_origin, const std::string& limit_source) {
  const RunRequest& r = s.request;
  PlanOptions& options = s.options;
  options = make_options(r, s.config);
  if (r.threads <= 0) options.threads_source = threads_origin;
  if (s.world) options.memory_limit_source = limit_source;
  if (s.world) options.output_suffix = ".rank" + std::to_string(s.rank);
  options.claim_outputs = true;  // one writer per output, before anything looks at a checkpoint
  if (s.world) {
    options.rank = s.rank;
    options.ranks = s.world->size();
  }
}

// The run's cancel flag and observers: stage tracking, the memory timeline, progress, the trace.
void set_run(SessionState& s) {
  const RunRequest& r = s.request;
  const Grid& g = s.pipeline->plan().grid;
  const std::int64_t end = s.run.band.end > 0 ? std::min(s.run.band.end, g.height) : g.height;
  s.progress = std::make_shared<ProgressObserver>(static_cast<std::uint64_t>((end - s.run.band.begin) * g.width));
  s.run.cancel = s.cancel;
  s.run.observers = {s.stages, std::make_shared<TimelineObserver>(), s.progress};
  if (!r.trace.empty()) {
    const std::string trace = s.world ? r.trace + ".rank" + std::to_string(s.rank) : r.trace;
    s.run.observers.push_back(std::make_shared<TraceObserver>(trace));
  }
}

// Under MPI: this rank's band of rows, balanced by estimated work.
void take_band(SessionState& s) {
  const Plan& plan = s.pipeline->plan();
  for (const SinkNode* sink : s.pipeline->sinks()) sink->check_ranks(s.world->size());
  const auto bands = plan.bands(s.world->size());
  const RowBand& band = bands[static_cast<std::size_t>(s.rank)];
  s.run.band = {band.row0, band.row0 + band.rows};
  spdlog::info("band: rows {}-{} of {} (~{:.1f} M input pixels)", band.row0, band.row0 + band.rows - 1,
               plan.grid.height, band.input_pixels / 1e6);
}

// Never over an interrupted run's checkpoint; with --resume, only over a matching one. Under MPI
// a rank with no checkpoint of its own (a job killed before this rank saved its first one, or
// while the ranks removed theirs) writes its band from its first row while the others resume
// theirs: each band's bytes depend only on its rows. start_all_or_none() refuses --resume when
// no rank has a checkpoint.
void prepare_checkpoint(SessionState& s) {
  Pipeline& pipeline = *s.pipeline;
  const bool resume = s.request.resume;
  s.run.checkpoint = true;
  std::error_code exists_ec;
  const std::filesystem::path checkpoint = pipeline.plan().checkpoint_file;
  if (s.world && resume && !checkpoint.empty() && pipeline.plan().checkpoint_refusal.empty() &&
      !std::filesystem::exists(checkpoint, exists_ec)) {
    s.run.resume = pipeline.find_checkpoint(s.run.band, false);
    s.band_from_start = true;
    return;
  }
  s.run.resume = pipeline.find_checkpoint(s.run.band, resume);
}

}  // namespace

// Configuration, graph and pipeline of this rank. Throws on any error.
void set_up(SessionState& s) {
  const RunRequest& r = s.request;
  s.config = make_config(r);
  std::string threads_origin = "engine.threads";
  std::string limit_source;
  if (s.world) threads_origin = share_node(r, s.config, *s.world, limit_source);
  std::error_code ec;
  std::filesystem::create_directories(r.output_dir, ec);
  if (ec) throw UsageError(flag_name(r.front, "output_dir") + ": cannot create " + r.output_dir + ": " + ec.message());
  s.graph = make_graph(r, s.config);
  set_options(s, threads_origin, limit_source);
  s.pipeline = std::make_unique<Pipeline>(s.graph, s.config, s.options);
  if (s.world) take_band(s);
  set_run(s);
  if (r.checkpoint) prepare_checkpoint(s);
}

}  // namespace rasterflow::app
