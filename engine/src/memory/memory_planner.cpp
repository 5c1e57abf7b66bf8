#include "memory/memory_planner.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

#include "rasterflow/errors.hpp"
#include "rasterflow/size.hpp"

namespace rasterflow::detail {

std::uint64_t thread_state_of(const ResourceNeeds& needs) {
  std::uint64_t total = 0;
  for (const auto& s : needs.thread_state) total += s.bytes;
  return total;
}

std::uint64_t thread_state_bytes(std::span<Node* const> nodes) {
  std::map<std::string, std::uint64_t> largest;  // one state shared by several nodes counts once
  for (const Node* n : nodes) {
    for (const auto& s : n->resources().thread_state) largest[s.what] = std::max(largest[s.what], s.bytes);
  }
  std::uint64_t total = 0;
  for (const auto& [what, bytes] : largest) total += bytes;
  return total;
}

MemoryPlan MemoryPlanner::reserve(std::span<Node* const> nodes) const {
  // The read cache holds what is read again through it (nodes that keep decoded rows shared by
  // all threads hold them instead, see held): per thread (each has its own dataset handles, and
  // GDAL caches blocks per handle), plus a quarter. More would only keep blocks no tile reads
  // again; never more than a quarter of the limit. A thread runs one node at a time: it needs
  // the largest working buffer of any node.
  MemoryPlan p;
  std::uint64_t per_thread = 0;
  std::uint64_t reused = 0;
  for (const Node* n : nodes) {
    const ResourceNeeds r = n->resources();
    per_thread = std::max<std::uint64_t>(per_thread, r.per_thread);
    p.held += r.held;
    reused += r.reused_cache;
  }
  // What a thread keeps between tiles stays while it runs other nodes: every state counts.
  p.thread_state = thread_state_bytes(nodes);
  const auto threads = static_cast<std::uint64_t>(in_.threads);
  p.fixed = (per_thread + p.thread_state) * threads + p.held;
  const double usable = static_cast<double>(in_.limit) * in_.usable_fraction;
  const auto need = static_cast<std::uint64_t>(1.25 * static_cast<double>(reused * threads)) + (4u << 20);
  std::uint64_t cap = std::max<std::uint64_t>(8u << 20, in_.limit / 4);
  // A cache that blocks churn through costs more than its size: evicted blocks are freed on one
  // thread and allocated on another, and the allocator does not give every freed page back at
  // once. Counted cache_churn times, and no larger than what leaves two grid rows for tiles;
  // under a tight limit it may go down to 4 MiB (from GDAL's usual 8 MiB at least).
  const double churn = reused > 0 ? in_.cache_churn : 1.0;
  std::uint64_t least = 8u << 20;
  if (reused > 0) {
    const double left = usable - static_cast<double>(in_.baseline_rss + p.fixed + 2 * in_.one_row);
    cap = std::min(cap, std::max<std::uint64_t>(4u << 20, static_cast<std::uint64_t>(std::max(0.0, left) / churn)));
    least = std::min(least, cap);
  }
  p.read_cache = std::clamp<std::uint64_t>(need, least, cap);
  p.reserved = static_cast<double>(in_.baseline_rss + p.fixed) + churn * static_cast<double>(p.read_cache);
  p.budget = usable > p.reserved ? static_cast<std::uint64_t>(usable - p.reserved) : 0;
  return p;
}

bool MemoryPlanner::take_steps(std::span<Node* const> nodes, bool give_up) const {
  // Steps that keep held memory (a smaller way to decode) are taken one node at a time, the
  // cheapest step in CPU first and, among equally cheap ones, the node holding the most, so that
  // a limit costs only the steps it needs; giving up is taken by every node at once (the last
  // resort).
  if (give_up) {
    bool took = false;
    for (Node* n : nodes) {
      const ResourceNeeds r = n->resources();
      if (!r.steps.empty() && r.steps.front().gives_up) took = n->take_step() || took;
    }
    return took;
  }
  struct Candidate {
    double cost;
    std::size_t held;
    Node* node;
  };
  std::vector<Candidate> candidates;
  for (Node* n : nodes) {
    const ResourceNeeds r = n->resources();
    if (!r.steps.empty() && !r.steps.front().gives_up) candidates.push_back({r.steps.front().cost, r.held, n});
  }
  std::stable_sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    return a.cost != b.cost ? a.cost < b.cost : a.held > b.held;
  });
  for (const auto& candidate : candidates) {
    if (candidate.node->take_step()) return true;
  }
  return false;
}

std::string MemoryPlanner::largest_need(std::span<Node* const> nodes) const {
  // What each node asks before any tile, as the planner counts it: held for the run, a
  // thread's working memory and kept state for every thread, its read cache reused by every thread (with a
  // quarter more), and its cells of one grid row.
  const auto threads = static_cast<double>(in_.threads);
  const Node* largest = nullptr;
  ResourceNeeds needs;
  double most = -1, per_thread = 0;
  for (const Node* n : nodes) {
    const ResourceNeeds r = n->resources();
    const auto state = static_cast<double>(thread_state_of(r));
    const double asks = static_cast<double>(r.held) + threads * (static_cast<double>(r.per_thread) + state) +
                        1.25 * threads * static_cast<double>(r.reused_cache) +
                        r.bytes_per_cell * static_cast<double>(in_.row_cells);
    if (asks > most) {
      most = asks;
      largest = n;
      needs = r;
      per_thread = static_cast<double>(r.per_thread) + state;
    }
  }
  if (largest == nullptr) return {};
  const auto size = [](double b) { return format_size(static_cast<std::uint64_t>(b)); };
  return "; the most for node \"" + largest->id() + "\" (" + largest->type() + "): " + size(most) + " (held " +
         size(static_cast<double>(needs.held)) + ", per thread " + size(per_thread) + ", read cache per thread " +
         size(static_cast<double>(needs.reused_cache)) + ", one grid row " +
         size(needs.bytes_per_cell * static_cast<double>(in_.row_cells)) + ")" +
         (needs.source.empty() ? std::string() : ", reading " + needs.source);
}

MemoryPlan MemoryPlanner::plan(std::span<Node* const> nodes) const {
  MemoryPlan p = reserve(nodes);
  // Held memory that leaves tiles less than two grid rows is first made smaller, then given up:
  // thin tiles with the rows held are still faster than decoding again, so they are kept
  // whenever two rows fit.
  while (p.budget < 2 * in_.one_row && take_steps(nodes, false)) {
    const int steps = p.steps_taken + 1;
    p = reserve(nodes);
    p.steps_taken = steps;
    spdlog::info("memory.limit {}: sources decoded with less memory to fit, one step down ({} of decoded rows)",
                 format_size(in_.limit), format_size(p.held));
  }
  if (p.budget < 2 * in_.one_row && take_steps(nodes, true)) {
    const int steps = p.steps_taken + 1;
    p = reserve(nodes);
    p.steps_taken = steps;
    p.gave_up = true;
    spdlog::info("memory.limit {}: the sources' decoded block rows do not fit; reading through GDAL's cache instead",
                 format_size(in_.limit));
  }
  if (p.budget < in_.one_row) {
    throw ConfigError(
        "memory.limit: " + format_size(in_.limit) + " is too small for this graph: the process already uses " +
        format_size(in_.baseline_rss) + ", GDAL's cache, the decoded block rows and the working buffers of " +
        std::to_string(in_.threads) + " threads need " +
        format_size(static_cast<std::uint64_t>(p.reserved) - in_.baseline_rss) + ", and one row of the grid (" +
        std::to_string(in_.row_cells) + " cells) needs " + format_size(in_.one_row) + "; at least " +
        format_size(static_cast<std::uint64_t>((p.reserved + static_cast<double>(in_.one_row)) / in_.usable_fraction)) +
        " is needed" + largest_need(nodes));
  }
  return p;
}

}  // namespace rasterflow::detail
