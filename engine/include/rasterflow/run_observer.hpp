#pragma once
// What happens while a graph runs, for whoever wants to watch it (as Taskflow's observers):
// the engine's own stage attribution, memory timeline, live figures, trace and metrics rows are
// observers of this interface, and an embedder adds its own through RunOptions::observers.
//
// Contract: the runner calls every observer in the order they were added (the engine's first,
// then RunOptions::observers in their order), from its threads: node events from the workers,
// writes and tile ends from the sinks' serial writer, samples from the memory monitor's thread.
// Implementations are thread-safe and never throw; they must not block (the run waits for them).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "rasterflow/memory.hpp"
#include "rasterflow/node/grid.hpp"

namespace rasterflow {

struct RunSummary;

using SteadyTime = std::chrono::steady_clock::time_point;

class RunObserver {
 public:
  virtual ~RunObserver() = default;
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
// the engine's observers updated the live figures: progress callbacks, tests that act mid-run.
std::shared_ptr<RunObserver> observe_tiles(std::function<void(const TileRequest&)> f);

}  // namespace rasterflow
