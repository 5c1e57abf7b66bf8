#pragma once
// What happens while a graph runs, for whoever wants to watch it (as Taskflow's observers):
// stage attribution, the memory timeline, progress figures, the trace and the metrics rows are
// observers of this interface (rasterflow/observers.hpp), listed with an embedder's own in
// Run::observers, where each can be added, left out or replaced.
//
// Contract: the runner calls every observer in the order of Run::observers, from its threads:
// node events from the workers, writes and tile ends from the sinks' serial writer, samples
// from the memory monitor's thread, on_start and on_finish from the thread calling run().
// Implementations are thread-safe and never throw; they must not block (the run waits for them).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rasterflow/memory.hpp"
#include "rasterflow/node/grid.hpp"

namespace rasterflow {

struct RunSummary;

using SteadyTime = std::chrono::steady_clock::time_point;

// A change of an adaptive setting (DESIGN.md's `throttle` metric).
struct ThrottleEvent {
  double seconds = 0;   // since the start of the run
  std::string setting;  // window_size | chunk_size | tiles_in_flight | gdal_cache_bytes
  double value = 0;
  double previous = 0;
  std::string level;  // normal | warning | critical
  std::string reason;
};

// What an observer may read of a run, from on_start to the end of the run (its functions may be
// called from any thread until run() returns, never after).
struct RunView {
  std::string graph_name;
  std::vector<std::string> ids;         // per node, in the graph's order
  std::vector<std::string> operations;  // per node: read, resample, merge, write
  SteadyTime start;
  std::uint64_t memory_limit = 0;
  std::uint64_t cells_total = 0;     // the cells of the run's band
  std::uint64_t cells_before = 0;    // of those, the ones a resumed run found written
  std::string topology_json;         // threads, NUMA domains and placement (a JSON object)
  int numa_domains = 1;              // the domains tiles are placed on (1 without placement)
  std::function<int()> window_size;  // the current adaptive settings
  std::function<int()> chunk_size;
  std::function<int()> tiles_in_flight;         // now
  std::function<std::uint64_t()> rows_written;  // by every sink so far
};

class RunObserver {
 public:
  virtual ~RunObserver() = default;
  // The run starts (before any other call); `view` stays valid until the run ends.
  virtual void on_start(const RunView& view) { (void)view; }
  // An adaptive setting changed (DESIGN.md's `throttle` metric).
  virtual void on_throttle(const ThrottleEvent& event) { (void)event; }
  // A memory monitor sample and the pressure level it sets.
  virtual void on_sample(PressureLevel level, const MemorySample& sample) {
    (void)level;
    (void)sample;
  }
  // Node `node` (its index in the graph's node order) starts a tile.
  virtual void on_node_begin(std::size_t node) { (void)node; }
  // A node processed a tile in [t0, t1); its output holds `bytes`.
  virtual void on_node_end(std::size_t node, const TileRequest& tile, SteadyTime t0, SteadyTime t1,
                           std::uint64_t bytes) {
    (void)node, (void)tile, (void)t0, (void)t1, (void)bytes;
  }
  // A sink wrote a tile in [t0, t1) (streaming export).
  virtual void on_write(std::size_t node, const TileRequest& tile, SteadyTime t0, SteadyTime t1) {
    (void)node, (void)tile, (void)t0, (void)t1;
  }
  // Every sink has written the tile.
  virtual void on_tile_done(const TileRequest& tile) { (void)tile; }
  // The run succeeded: fill in what this observer knows (summary.nodes are in node order).
  virtual void on_finish(RunSummary& summary) { (void)summary; }
};

// An observer that calls `f` once every sink has written a tile (on the writer's thread), after
// the observers before it in Run::observers: progress callbacks, tests that act mid-run.
std::shared_ptr<RunObserver> observe_tiles(std::function<void(const TileRequest&)> f);

}  // namespace rasterflow
