#pragma once
// NUMA placement: which NUMA nodes a run uses, how many threads each gets, and which tiles go
// to which node, so that a tile's read, resample and merge run, and its buffers live, on one node.
#include <cstdint>
#include <string>
#include <vector>

#include "rasterflow/hpc/topology.hpp"

namespace rasterflow {

struct NumaDomain {
  unsigned os_index = 0;  // the NUMA node's OS number
  int tbb_id = -1;        // TBB's NUMA id for the arena's constraints; -1: the arena is not pinned
  int threads = 1;
};

struct NumaPlacement {
  std::string mode = "auto";           // engine.numa
  bool active = false;                 // two domains or more: one arena and one pool per domain
  bool arenas_pinned = false;          // TBB (tbbbind) binds each arena's threads to its node
  bool memory_bound = false;           // tile buffers are bound to their node with hwloc
  std::vector<NumaDomain> domains;     // empty when inactive
  std::string reason;                  // why placement is off, or what it does
  std::vector<std::string> fallbacks;  // what could not be done, and what is done instead

  std::string description() const;  // one line for the plan and the run summary
  // The domain of tile `seq`: a smooth weighted round robin over the domains' threads, so each
  // node gets tiles in proportion to its threads and the ordered sink never waits long on one.
  std::size_t domain_of(std::uint64_t seq) const;
};

// `tbb_numa_ids` is what oneapi::tbb::info::numa_nodes() reports ({-1} without libtbbbind).
NumaPlacement decide_placement(const std::string& mode, const TopologySummary& topology, int threads,
                               const std::vector<int>& tbb_numa_ids);
std::vector<int> tbb_numa_ids();

}  // namespace rasterflow
