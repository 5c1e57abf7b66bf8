#pragma once
// A graph made runnable, in two steps: planning (Pipeline's constructor, from PlanOptions:
// nodes built, grid resolved, memory planned; what it decided is a Plan) and running
// (Pipeline::run, each run one Run value: band, checkpoint, cancel flag, observers), on
// oneTBB's flow graph:
//   tile generator -> limiter -> node bodies (parallel) -> sequencer -> sink writer (serial)
// with the sink releasing the limiter, so tiles in flight are bounded by construction.
//
//   rasterflow::Pipeline pipeline(graph, config, plan_options);
//   std::cout << pipeline.plan().memory_limit;          // planning, no run
//   rasterflow::Run run;                               // the standard observers
//   run.observers.push_back(std::make_shared<rasterflow::TraceObserver>("trace.json"));
//   const rasterflow::RunSummary summary = pipeline.run(run);
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rasterflow/config.hpp"
#include "rasterflow/graph.hpp"
#include "rasterflow/hpc/checkpoint.hpp"
#include "rasterflow/memory.hpp"
#include "rasterflow/metrics.hpp"
#include "rasterflow/node/node.hpp"
#include "rasterflow/run_observer.hpp"

namespace rasterflow {

// What shapes a plan: where outputs go, threads, tiles, memory, this process's rank, the nodes
// an embedder builds itself. Given once, to the Pipeline's constructor (which plans).
struct PlanOptions {
  std::filesystem::path output_dir = ".";
  int threads = 0;                              // 0: engine.threads, then the machine
  std::string threads_source;                   // where `threads` came from, for the plan ("" : "--threads")
  std::int64_t tile_rows = 0;                   // 0: derived from resampling.window_size
  int max_tiles_in_flight = 0;                  // 0: 2 x threads
  std::shared_ptr<MemorySource> memory_source;  // null: /proc and the cgroup of this process
  // Where a memory.limit set in the configuration came from ("--memory-limit", "SLURM_MEM_PER_NODE
  // ... shared by 2 ranks"); "" says "memory.limit". Unused when memory.limit is auto.
  std::string memory_limit_source;
  // Appended to every sink's output path (".rank3": rank-local files an MPI run gathers).
  std::string output_suffix;
  // This process's rank among `ranks` (an MPI run's), for the checkpoint's identity. With
  // ranks > 1 a successful run leaves its checkpoint: the caller removes it (and the sinks'
  // band files) once every sink's gather() has put the output under its final name, as the
  // command line does, so that a job killed while gathering can still resume.
  int rank = 0;
  int ranks = 1;
  // Take every output's lock (rasterflow/hpc/output_lock.hpp) while planning, before anything
  // looks at a checkpoint or a partial file; otherwise the first find_checkpoint() or run() takes
  // them. Either way they are held for as long as the pipeline lives.
  bool claim_outputs = false;
  // An embedder's own implementation of some of the graph's nodes, e.g. a sink that hands each
  // tile's output to the embedding program instead of a file (the Python module's chunk
  // stream). Called for every node before its registered type's `create`, with the node's spec
  // (validated against that type); a null result leaves the node to the registry.
  std::function<std::unique_ptr<Node>(const NodeSpec&)> build_node;
};

// Grid rows [begin, end); end 0: to the last row. The default is the whole grid.
struct RowRange {
  std::int64_t begin = 0;
  std::int64_t end = 0;
};

// The standard observers a Run starts with: stage tracking (the nodes' memory in the summary)
// and the memory timeline (rasterflow/observers.hpp). Fresh instances on every call.
std::vector<std::shared_ptr<RunObserver>> standard_observers();

// Everything about one run that is not the plan: a value handed to Pipeline::run, so that no
// order of calls exists to get wrong.
struct Run {
  // Set (by a signal handler, another thread) to stop the run: Interrupted is thrown.
  const std::atomic<bool>* cancel = nullptr;
  // The grid rows to run (an MPI rank's band, Plan::bands); sinks then write only those rows
  // (the header with row 0).
  RowRange band;
  // Keep a checkpoint while writing, for a later resume (never over an existing one: run()
  // refuses). An embedder's interrupted run leaves nothing behind unless it asks for this.
  bool checkpoint = false;
  // Continue this checkpoint (Pipeline::find_checkpoint(band, true)) instead of starting at the
  // band's first row; implies `checkpoint`. run() refuses one that is not this run's.
  std::optional<Checkpoint> resume;
  // The metrics experiment the run records into, written into its checkpoints.
  std::optional<std::int64_t> experiment;
  std::string experiment_database;
  // The run's observers, called in this order (rasterflow/run_observer.hpp). Starts with the
  // standard ones; push_back to add (TraceObserver, MetricRowsObserver, ProgressObserver, your
  // own), assign to replace them. A Run is meant for one run: its observers keep that run's state.
  std::vector<std::shared_ptr<RunObserver>> observers = standard_observers();
};

// A contiguous band of grid rows and the work it is expected to take (input pixels read, plus
// the cells written), for splitting a run over MPI ranks.
struct RowBand {
  std::int64_t row0 = 0;
  std::int64_t rows = 0;
  double input_pixels = 0;
  double work = 0;
};

struct NodeStats {
  std::string id;
  std::string type;
  std::string operation;
  double rss_peak_bytes = 0;  // process RSS while the node was busy
  double rss_avg_bytes = 0;
  std::uint64_t items = 0;
  std::uint64_t cells = 0;
  std::uint64_t bytes = 0;
  double busy_seconds = 0;
  std::vector<std::pair<std::string, std::string>> tags;  // Node::metric_tags()
};

// One memory sample of the run (for reports).
struct MemoryPoint {
  double seconds = 0;
  double rss_bytes = 0;
  int window_size = 0;
  int tiles_in_flight = 0;
  std::string level;
};

struct RunSummary {
  std::int64_t resumed_at_row = -1;  // the row a resumed run continued from (-1: not resumed)
  std::int64_t grid_width = 0;
  std::int64_t grid_height = 0;
  std::uint64_t tiles = 0;
  std::uint64_t cells = 0;
  std::uint64_t rows_written = 0;
  std::uint64_t bytes_written = 0;
  double wall_seconds = 0;
  double cpu_seconds = 0;
  std::uint64_t peak_rss_bytes = 0;
  int threads = 0;
  std::string placement;                        // NUMA placement used (NumaPlacement::description)
  std::vector<std::uint64_t> tiles_per_domain;  // tiles run by each NUMA domain (one entry without placement)
  std::vector<std::filesystem::path> outputs;
  std::vector<NodeStats> nodes;
  std::vector<ThrottleEvent> throttle_events;
  std::vector<MemoryPoint> memory_timeline;  // every monitor sample (thinned past 4096 points)
  std::uint64_t memory_limit = 0;
  std::uint64_t tile_budget = 0;      // bytes that tiles in flight may hold
  std::uint64_t peak_tile_bytes = 0;  // most bytes reserved by tiles in flight at once
  int max_tiles_in_flight_seen = 0;
  double paused_seconds = 0;  // admission paused at critical pressure
  bool streaming = true;
  std::optional<std::int64_t> experiment_id;  // the metrics experiment (set by the run session)
};

namespace detail {
class Runner;
struct PipelineImpl;
}  // namespace detail

// What planning decided (Pipeline::plan()): the grid, threads, tiles, memory, the checkpoint,
// and the plan as `rasterflow plan` shows it. Valid, and unchanged, while its pipeline lives;
// not copyable (its methods read the pipeline's nodes).
class Plan {
 public:
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;

  Grid grid;
  int threads = 1;
  std::int64_t tile_rows = 1;  // the first tiles' height (later ones follow the window size)
  std::uint64_t memory_limit = 0;
  // Where the memory limit came from: "cgroup v2 /sys/fs/cgroup/... (memory.max)", "RLIMIT_AS",
  // "SLURM_MEM_PER_NODE=...", "machine (MemTotal)", "--memory-limit", "memory.limit"...
  std::string memory_limit_source;
  std::uint64_t tile_budget = 0;  // bytes that tiles in flight may hold
  // The run's checkpoint file, beside its first sink's output (`<output>.checkpoint`); "" when
  // the graph has no sink. Why no run of this plan can keep one ("" when it can):
  // checkpoint.interval_s 0, in-memory export, or a sink that cannot resume.
  std::filesystem::path checkpoint_file;
  std::string checkpoint_refusal;

  // Text lines for `rasterflow plan`; the same for tools (JSON) and as a picture (Graphviz DOT:
  // nodes with their type and options, edges, the grid and memory in the label).
  std::vector<std::string> text() const;
  std::string json() const;
  std::string dot() const;
  // "topology: 2 packages, ...; 4 threads (affinity mask); NUMA placement on, 2 domains (...)"
  std::string topology_line() const;
  // The grid cut into `count` bands of equal estimated work (input pixels read by the
  // resampling nodes for those rows, plus the cells written). Throws UsageError when there are
  // more bands than rows.
  std::vector<RowBand> bands(int count) const;
  // The source pixels the resampling nodes read for rows `band`.
  double input_pixels(RowRange band) const;
  // What a run of rows `band` depends on (the checkpoint's identity).
  RunIdentity identity(RowRange band) const;

 private:
  friend struct detail::PipelineImpl;
  explicit Plan(const detail::PipelineImpl& impl) : impl_(impl) {}
  const detail::PipelineImpl& impl_;
};

// A graph made runnable. Constructing it plans (nodes built, grid resolved, memory planned);
// run(Run) runs it, as often as wanted, each run described by its own value.
class Pipeline {
 public:
  Pipeline(const GraphSpec& graph, const Config& config, PlanOptions options = {});
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  const Plan& plan() const;
  // The graph's sinks, in the graph's order (an MPI run gathers each).
  std::vector<SinkNode*> sinks() const;
  // The checkpoint a run of rows `band` would meet (rasterflow/hpc/checkpoint.hpp, docs/hpc.md),
  // with the outputs claimed first. Without `resume`: throws UsageError when one exists (never
  // overwritten) and returns nothing. With it: loads it, checks that everything matches
  // (UsageError listing what differs) and that each partial output still holds what it
  // recorded, and returns it, for Run::resume.
  std::optional<Checkpoint> find_checkpoint(RowRange band, bool resume);
  // Runs every tile of `run.band` through the graph. Throws RunError (outputs removed),
  // Interrupted, or OutputBusy (another process writes an output).
  RunSummary run(Run run = {});

 private:
  friend class detail::Runner;  // the run (engine/src/run/runner.cpp)
  using Impl = detail::PipelineImpl;
  std::unique_ptr<Impl> impl_;
};

// Peak resident set size of this process so far (getrusage), in bytes.
std::uint64_t peak_rss_bytes();
// "trace" | "debug" | "info" | "warn" | "error"; throws UsageError for anything else.
void set_log_level(const std::string& level);
std::string version();

}  // namespace rasterflow
