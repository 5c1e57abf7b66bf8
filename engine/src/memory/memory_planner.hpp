#pragma once
// The memory planner: from the limit, what the process already uses and the nodes' resource
// needs, what the read cache may hold, what the nodes hold for the run and per thread, and what
// tiles in flight may hold (the budget). When that leaves tiles less than two grid rows, the
// nodes take their steps to hold less, one at a time: first those that only hold less (smaller
// decoding streams), then those that give the memory up (reading through the cache: much
// slower), rather than refusing the run. Private to engine/src.
#include <cstdint>
#include <span>
#include <string>

#include "rasterflow/node/node.hpp"

namespace rasterflow::detail {

struct MemoryPlan {
  std::uint64_t read_cache = 0;  // bytes of the read cache (GDAL's)
  std::uint64_t fixed = 0;       // per-thread working memory of all threads, and held
  std::uint64_t held = 0;        // of which: held by the nodes for the whole run
  std::uint64_t budget = 0;      // what tiles in flight may hold
  double reserved = 0;           // baseline + fixed + the cache (counted with its churn)
  int steps_taken = 0;           // steps the nodes took to hold less
  bool gave_up = false;          // whether a node gave held memory up
  // Of fixed, per thread: what one thread keeps between tiles (ResourceNeeds::thread_state).
  std::uint64_t thread_state = 0;
};

struct MemoryInputs {
  std::uint64_t limit = 0;
  double usable_fraction = 0.8;  // the warning threshold: the plan stays below it
  std::uint64_t baseline_rss = 0;
  int threads = 1;
  std::uint64_t one_row = 0;   // what one grid row of tiles holds
  std::int64_t row_cells = 0;  // the cells of a grid row (for messages)
  double cache_churn = 1.5;    // what the read cache costs per byte when blocks churn through it
};

// What one thread keeps between tiles for these nodes: each declared state once, at its largest.
std::uint64_t thread_state_bytes(std::span<Node* const> nodes);
// What one thread keeps between tiles for one node (its declared states added up).
std::uint64_t thread_state_of(const ResourceNeeds& needs);

class MemoryPlanner {
 public:
  explicit MemoryPlanner(MemoryInputs in) : in_(in) {}
  // Plans, taking the nodes' steps as needed (the nodes change). Throws ConfigError when even
  // one grid row does not fit, with what is needed.
  MemoryPlan plan(std::span<Node* const> nodes) const;
  // The plan for the nodes as they are now, without steps.
  MemoryPlan reserve(std::span<Node* const> nodes) const;

 private:
  bool take_steps(std::span<Node* const> nodes, bool give_up) const;
  // For a refusal: the node that asks the most memory before any tile, how much and what it reads.
  std::string largest_need(std::span<Node* const> nodes) const;
  MemoryInputs in_;
};

}  // namespace rasterflow::detail
