#pragma once
// The state a Pipeline keeps between its construction (nodes built, grid resolved, memory
// planned) and its run, shared by pipeline.cpp (planning) and runner.cpp (the run). Private to
// engine/src.
#include <sys/resource.h>
#include <boost/json.hpp>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rasterflow/hpc/output_lock.hpp"
#include "rasterflow/hpc/placement.hpp"
#include "rasterflow/hpc/topology.hpp"
#include "rasterflow/node/hooks.hpp"
#include "rasterflow/pipeline.hpp"
#include "run/plan.hpp"

namespace rasterflow {

namespace detail {

struct Counters {
  std::atomic<std::uint64_t> items{0};
  std::atomic<std::uint64_t> cells{0};
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::int64_t> busy_ns{0};
};

inline double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
}

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
inline std::string json_text(const boost::json::object& o) { return boost::json::serialize(o); }
boost::json::object topology_json(const TopologySummary& t, const NumaPlacement& p, int threads,
                                  const std::string& threads_source);

struct PipelineImpl {
  PipelineImpl() : plan(*this) {}
  PipelineImpl(const PipelineImpl&) = delete;
  PipelineImpl& operator=(const PipelineImpl&) = delete;

  // One writer per output (claim_outputs): declared first, so released after the nodes are gone.
  std::vector<OutputLock> output_locks;
  bool outputs_claimed = false;
  GraphSpec graph;
  Config config;
  PlanOptions options;
  Plan plan;  // its figures set at the end of planning (Pipeline's constructor)
  RunContext context;
  std::vector<std::unique_ptr<Node>> nodes;           // topological order, as graph.nodes
  std::vector<std::vector<std::size_t>> input_index;  // per node: indices of its inputs
  std::vector<std::size_t> sinks;
  std::int64_t tile_rows = 1;  // the first tiles' height (later ones follow the window size)
  static constexpr std::size_t kTileBytes = std::size_t{3} << 20;  // a tile's working memory, about
  static constexpr double kCacheChurn = 1.5;  // what GDAL's cache costs, per byte of it, when blocks churn through it
  int threads = 1;
  int max_in_flight = 2;
  std::string grid_origin;  // how the grid was decided, for the plan
  std::string threads_source;
  TopologySummary topology;
  NumaPlacement placement;
  // Memory
  std::shared_ptr<MemorySource> memory_source;
  std::uint64_t limit = 0;
  std::string limit_source;  // where `limit` came from (MemoryLimit::source, --memory-limit, memory.limit)
  std::uint64_t baseline_rss = 0;
  std::uint64_t gdal_cache = 0;
  std::uint64_t fixed_bytes = 0;  // per-thread working buffers of all nodes, and held_bytes
  std::uint64_t held_bytes = 0;   // of which: memory the nodes hold for the whole run (decoded block rows)
  std::uint64_t budget = 0;       // what tiles in flight may hold
  // Of fixed_bytes, per thread: what each thread keeps between tiles (the nodes' thread state).
  std::uint64_t thread_state_bytes = 0;
  double plan_bytes_per_cell = 0;
  // The rows the current run covers (Run::band; the whole grid while planning): tiles are sized
  // for it.
  RowRange run_band;
  // Checkpoint and resume (engine/src/hpc/resume.cpp).
  std::vector<ResumableSink*> resumable_sinks() const;  // empty when a sink cannot resume
  std::filesystem::path checkpoint_file() const;
  std::string checkpoint_refusal() const;  // of the plan, whatever the run asks
  RunIdentity run_identity(RowRange rows) const;
  void claim_outputs();
  std::optional<Checkpoint> find_checkpoint(RowRange rows, bool resume);
  void fill_plan();  // Plan's figures, once planned

  void build_nodes();
  std::vector<Node*> node_ptrs() const;
  detail::PlanModel plan_model() const;
  void resolve_grid();
  void size_memory();
  std::int64_t rows_for(int window_size, int chunk_size) const;
  std::int64_t aligned_end(std::int64_t row, std::int64_t rows) const;
  // The least common multiple of the sinks' row_multiple() (1: any row), at most the grid's height.
  std::int64_t row_multiple() const;
  // Rows [begin, end) of `rows` within the grid; band(): of the current run's.
  std::pair<std::int64_t, std::int64_t> band_of(RowRange rows) const;
  std::pair<std::int64_t, std::int64_t> band() const { return band_of(run_band); }
  std::int64_t band_height() const;
  TileAlignment alignment;  // the tiling the sources prefer (their blocks)
  double bytes_per_cell(bool sinks_too) const;
};

}  // namespace detail

}  // namespace rasterflow
