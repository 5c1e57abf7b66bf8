#include "rasterflow/hpc/placement.hpp"

#include <oneapi/tbb/info.h>

#include <algorithm>
#include <numeric>

namespace rasterflow {

std::vector<int> tbb_numa_ids() {
#ifdef RASTERFLOW_SANITIZED
  return {-1};  // loading libtbbbind (RTLD_DEEPBIND) would abort under the sanitizers
#else
  std::vector<int> ids;
  for (const auto id : oneapi::tbb::info::numa_nodes()) ids.push_back(static_cast<int>(id));
  return ids;
#endif
}

std::string NumaPlacement::description() const {
  if (!active) return "off (" + reason + ")";
  std::string text = "on, " + std::to_string(domains.size()) + " domains (";
  for (std::size_t d = 0; d < domains.size(); ++d) {
    text += (d ? ", " : "") + std::string("node ") + std::to_string(domains[d].os_index) + ": " +
            std::to_string(domains[d].threads) + (domains[d].threads == 1 ? " thread" : " threads");
  }
  text += std::string("); arenas ") + (arenas_pinned ? "pinned" : "not pinned") + ", tile buffers " +
          (memory_bound ? "bound to their node" : "placed by first touch");
  return text;
}

std::size_t NumaPlacement::domain_of(std::uint64_t seq) const {
  if (domains.size() < 2) return 0;
  int total = 0;
  for (const auto& d : domains) total += d.threads;
  // Smooth weighted round robin: each step every domain gains its weight, the richest is
  // chosen and pays the total. The cycle repeats every `total` tiles.
  std::vector<int> credit(domains.size(), 0);
  std::size_t chosen = 0;
  const std::uint64_t step = seq % static_cast<std::uint64_t>(total);
  for (std::uint64_t s = 0; s <= step; ++s) {
    for (std::size_t d = 0; d < domains.size(); ++d) credit[d] += domains[d].threads;
    chosen = static_cast<std::size_t>(std::max_element(credit.begin(), credit.end()) - credit.begin());
    credit[chosen] -= total;
  }
  return chosen;
}

namespace {

// One domain per usable node, at most one per thread (the nodes with the most hardware
// threads first, in node order among equals), threads split in proportion to hardware threads.
std::vector<NumaDomain> split_threads(std::vector<NumaNodeInfo> usable, int threads) {
  if (static_cast<int>(usable.size()) > threads) {
    std::stable_sort(usable.begin(), usable.end(),
                     [](const NumaNodeInfo& a, const NumaNodeInfo& b) { return a.pus > b.pus; });
    usable.resize(static_cast<std::size_t>(threads));
    std::stable_sort(usable.begin(), usable.end(),
                     [](const NumaNodeInfo& a, const NumaNodeInfo& b) { return a.os_index < b.os_index; });
  }
  std::vector<NumaDomain> domains;
  const int pus =
      std::accumulate(usable.begin(), usable.end(), 0, [](int s, const NumaNodeInfo& n) { return s + n.pus; });
  std::vector<double> remainder;
  int given = 0;
  for (const auto& n : usable) {
    const double share = static_cast<double>(threads) * n.pus / pus;
    NumaDomain d;
    d.os_index = n.os_index;
    d.threads = std::max(1, static_cast<int>(share));
    given += d.threads;
    remainder.push_back(share - static_cast<double>(d.threads));
    domains.push_back(d);
  }
  while (given < threads) {  // largest remainders first
    const auto k = static_cast<std::size_t>(std::max_element(remainder.begin(), remainder.end()) - remainder.begin());
    ++domains[k].threads;
    remainder[k] -= 1.0;
    ++given;
  }
  while (given > threads) {  // only when every domain needed its one thread: take from the largest
    auto it = std::max_element(domains.begin(), domains.end(),
                               [](const NumaDomain& a, const NumaDomain& b) { return a.threads < b.threads; });
    --it->threads;
    --given;
  }
  return domains;
}

// Whether the domains' arenas are pinned and their tile buffers bound, with a fallback for
// each that cannot be.
void decide_binding(NumaPlacement& p, const TopologySummary& topology, const std::vector<int>& tbb_numa_ids) {
  // Arenas: TBB's NUMA ids are the nodes' OS numbers when libtbbbind is loaded, {-1} without it.
  bool ids_known = true;
  for (auto& d : p.domains) {
    if (std::find(tbb_numa_ids.begin(), tbb_numa_ids.end(), static_cast<int>(d.os_index)) == tbb_numa_ids.end())
      ids_known = false;
  }
  if (ids_known) {
    for (auto& d : p.domains) d.tbb_id = static_cast<int>(d.os_index);
  } else {
    p.fallbacks.push_back("TBB does not know these NUMA nodes (libtbbbind missing?): one arena per node, not pinned");
  }
  p.arenas_pinned = ids_known && topology.this_system && topology.can_bind_threads;
  if (ids_known && !p.arenas_pinned) {
    p.fallbacks.push_back(topology.this_system
                              ? "thread binding unsupported here: arenas are not pinned"
                              : "topology from " + topology.source + " is not this machine: arenas are not pinned");
  }
  p.memory_bound = topology.this_system && topology.can_bind_memory;
  if (!p.memory_bound) {
    p.fallbacks.push_back(
        topology.this_system ? "memory binding unsupported here: tile buffers are placed by first touch"
                             : "topology from " + topology.source + " is not this machine: tile buffers are not bound");
  }
}

}  // namespace

NumaPlacement decide_placement(const std::string& mode, const TopologySummary& topology, int threads,
                               const std::vector<int>& tbb_numa_ids) {
  NumaPlacement p;
  p.mode = mode;
  std::vector<NumaNodeInfo> usable;
  for (const auto& n : topology.nodes) {
    if (n.pus > 0) usable.push_back(n);
  }
  if (mode == "off") {
    p.reason = "engine.numa: off";
    return p;
  }
  if (usable.size() < 2) {
    p.reason = usable.size() == 1 ? "one usable NUMA node" : "no NUMA node reported";
    if (mode == "on") p.fallbacks.push_back("engine.numa: on, but " + p.reason + ": the plain path runs");
    return p;
  }
  if (threads < 2) {
    p.reason = "one thread";
    if (mode == "on")
      p.fallbacks.push_back("engine.numa: on, but one thread cannot be split over NUMA nodes: the plain path runs");
    return p;
  }
  p.domains = split_threads(std::move(usable), threads);
  p.active = true;
  decide_binding(p, topology, tbb_numa_ids);
  p.reason = std::to_string(p.domains.size()) + " NUMA nodes";
  return p;
}

}  // namespace rasterflow
