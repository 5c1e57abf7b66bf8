#pragma once
// A graph made runnable: nodes built, grid resolved, then run on oneTBB's flow graph:
//   tile generator -> limiter -> node bodies (parallel) -> sequencer -> sink writer (serial)
// with the sink releasing the limiter, so tiles in flight are bounded by construction.
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

struct RunOptions {
  std::filesystem::path output_dir = ".";
  int threads = 0;                              // 0: engine.threads, then the machine
  std::string threads_source;                   // where `threads` came from, for the plan ("" : "--threads")
  std::int64_t tile_rows = 0;                   // 0: derived from resampling.window_size
  int max_tiles_in_flight = 0;                  // 0: 2 x threads
  const std::atomic<bool>* cancel = nullptr;    // set by a signal handler to stop the run
  std::shared_ptr<MemorySource> memory_source;  // null: /proc and the cgroup of this process
  // Where a memory.limit set in the configuration came from ("--memory-limit", "SLURM_MEM_PER_NODE
  // ... shared by 2 ranks"); "" says "memory.limit". Unused when memory.limit is auto.
  std::string memory_limit_source;
  // Receives the run's metric rows (memory snapshots every metrics.interval_ms, throttle events,
  // per-stage figures at the end). Must not block: a MetricsRecorder queues them.
  std::function<void(MetricRow)> record_metric;
  // When set, a Chrome trace-event JSON of the run is written there (one span per node per
  // tile, memory and tiles-in-flight counters), as <path>.partial then renamed.
  std::filesystem::path trace_file;
  // A band of grid rows [row_begin, row_end) instead of the whole grid (an MPI rank's share);
  // row_end 0: to the last row. Sinks then write only their band's rows (the header with row 0).
  std::int64_t row_begin = 0;
  std::int64_t row_end = 0;
  // Appended to every sink's output path (".rank3": rank-local files an MPI run gathers).
  std::string output_suffix;
  // This process's rank among `ranks` (an MPI run's), for the checkpoint's identity. With
  // ranks > 1 a successful run() leaves its checkpoint: the caller removes it (and the sinks'
  // band files) once every sink's gather() has put the output under its final name, as the
  // command line does, so that a job killed while gathering can still resume.
  int rank = 0;
  int ranks = 1;
  // Keep a checkpoint while writing, for a later resume (the command line asks for it; an
  // embedder's interrupted run leaves nothing behind unless it does too). Never over an existing one.
  bool checkpoint = false;
  // An embedder's own implementation of some of the graph's nodes, e.g. a sink that hands each
  // tile's output to the embedding program instead of a file (the Python module's chunk
  // stream). Called for every node before its registered type's `create`, with the node's spec
  // (validated against that type); a null result leaves the node to the registry.
  std::function<std::unique_ptr<Node>(const NodeSpec&)> build_node;
  // The embedder's observers of the run (rasterflow/run_observer.hpp), called after the
  // engine's own (stages, memory timeline, live figures, trace, metrics rows), in this order.
  std::vector<std::shared_ptr<RunObserver>> observers;
};

// A contiguous band of grid rows and the work it is expected to take (input pixels read, plus
// the cells written), for splitting a run over MPI ranks.
struct RowBand {
  std::int64_t row0 = 0;
  std::int64_t rows = 0;
  double input_pixels = 0;
  double work = 0;
};

// A change of an adaptive setting (DESIGN.md's `throttle` metric).
struct ThrottleEvent {
  double seconds = 0;   // since the start of the run
  std::string setting;  // window_size | chunk_size | tiles_in_flight | gdal_cache_bytes
  double value = 0;
  double previous = 0;
  std::string level;  // normal | warning | critical
  std::string reason;
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
}  // namespace detail

class Pipeline {
 public:
  Pipeline(const GraphSpec& graph, const Config& config, RunOptions options);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  const Grid& grid() const;
  int threads() const;
  std::int64_t tile_rows() const;
  std::uint64_t memory_limit() const;
  // Where the memory limit came from: "cgroup v2 /sys/fs/cgroup/... (memory.max)", "RLIMIT_AS",
  // "SLURM_MEM_PER_NODE=...", "machine (MemTotal)", "--memory-limit", "memory.limit"...
  const std::string& memory_limit_source() const;
  std::uint64_t tile_budget() const;
  // Where the run's metric rows go (after construction: the experiment is created only once
  // the graph has been validated).
  void set_metric_recorder(std::function<void(MetricRow)> record);
  // Text lines for `rasterflow plan`.
  std::vector<std::string> plan() const;
  // "topology: 2 packages, ...; 4 threads (affinity mask); NUMA placement on, 2 domains (...)"
  std::string topology_line() const;
  // The grid cut into `count` bands of equal estimated work (input pixels read by the
  // resampling nodes for those rows, plus the cells written). Throws UsageError when there are
  // more bands than rows.
  std::vector<RowBand> bands(int count) const;
  // The source pixels the resampling nodes read for this run's rows (its band, or the grid).
  double input_pixels() const;
  // Runs only grid rows [row_begin, row_end) (before run()).
  void set_band(std::int64_t row_begin, std::int64_t row_end);
  // The same plan for tools (JSON) and as a picture (Graphviz DOT: nodes with their type and
  // options, edges, the grid and memory in the label).
  std::string plan_json() const;
  std::string plan_dot() const;
  // Runs every tile through the graph. Throws RunError (outputs removed) or Interrupted.
  RunSummary run();
  // The graph's sinks, in the graph's order (an MPI run gathers each).
  std::vector<SinkNode*> sinks() const;

  // One writer per output (rasterflow/hpc/output_lock.hpp): locks every sink's output (and, on an MPI
  // rank 0, the final output its band is gathered into) and lets each sink claim what else it
  // writes (SinkNode::claim_output), for as long as the pipeline lives. Throws OutputBusy
  // naming the output and its holder, before anything touched it. Called by prepare_checkpoint()
  // and run() when the caller did not; calling it again does nothing.
  void claim_outputs();

  // Checkpoint and resume (rasterflow/hpc/checkpoint.hpp, docs/hpc.md). The run's checkpoint file,
  // beside its first sink's output (`<output>.checkpoint`); "" when the graph has no sink.
  std::filesystem::path checkpoint_path() const;
  // Why this run writes no checkpoint ("" when it does): checkpoint.interval_s 0, in-memory
  // export, or a sink that cannot resume.
  std::string checkpoint_refusal() const;
  // What this run's output depends on (after set_band).
  RunIdentity identity() const;
  // Before run(), after set_band(). Without `resume`: throws UsageError when a checkpoint of
  // this run's outputs exists (never overwritten). With it: loads the checkpoint, checks that
  // everything matches (UsageError listing what differs) and that each partial output still
  // holds what it recorded; the run then continues from its next row. Returns it when resuming.
  std::optional<Checkpoint> prepare_checkpoint(bool resume);
  // The metrics experiment this run records into, written into its checkpoints.
  void set_checkpoint_experiment(std::optional<std::int64_t> experiment, std::string database);

  // What a progress display shows; safe to read from any thread while run() works.
  struct Live {
    std::uint64_t cells_done = 0;
    std::uint64_t cells_before = 0;  // of cells_done, those a resumed run found written
    std::uint64_t cells_total = 0;
    std::uint64_t rows_written = 0;
    PressureLevel level = PressureLevel::normal;
    int window_size = 0;
    int tiles_in_flight = 0;
  };
  Live live() const;

 private:
  friend class detail::Runner;  // the run (engine/src/run/runner.cpp)
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Peak resident set size of this process so far (getrusage), in bytes.
std::uint64_t peak_rss_bytes();
// "trace" | "debug" | "info" | "warn" | "error"; throws UsageError for anything else.
void set_log_level(const std::string& level);
std::string version();

}  // namespace rasterflow
