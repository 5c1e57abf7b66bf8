#include "observe/stage_tracker.hpp"

#include <boost/json.hpp>
#include <memory>

namespace rasterflow::detail {

StageTracker::StageTracker(std::vector<std::string> ids, std::vector<std::string> operations)
    : ids_(std::move(ids)), operations_(std::move(operations)) {
  for (std::size_t i = 0; i < ids_.size(); ++i) nodes_.push_back(std::make_unique<NodeState>());
}

void StageTracker::add_rss(NodeState& n, std::uint64_t rss) {
  std::lock_guard lock(n.mutex);
  n.rss_sum += static_cast<double>(rss);
  n.rss_peak = std::max(n.rss_peak, static_cast<double>(rss));
  ++n.rss_samples;
}

void StageTracker::begin(std::size_t node) { nodes_[node]->active.fetch_add(1); }

void StageTracker::end(std::size_t node, std::uint64_t seq, std::uint64_t bytes, std::uint64_t rss) {
  NodeState& n = *nodes_[node];
  add_rss(n, rss);
  n.held.fetch_add(static_cast<std::int64_t>(bytes));
  n.active.fetch_sub(1);
  std::lock_guard lock(held_mutex_);
  held_by_tile_[seq].emplace_back(node, bytes);
}

void StageTracker::release(std::uint64_t seq) {
  std::vector<std::pair<std::size_t, std::uint64_t>> held;
  {
    std::lock_guard lock(held_mutex_);
    const auto it = held_by_tile_.find(seq);
    if (it == held_by_tile_.end()) return;
    held = std::move(it->second);
    held_by_tile_.erase(it);
  }
  for (const auto& [node, bytes] : held) nodes_[node]->held.fetch_sub(static_cast<std::int64_t>(bytes));
}

void StageTracker::observe(std::uint64_t rss) {
  for (auto& n : nodes_) {
    if (n->active.load() > 0) add_rss(*n, rss);
  }
}

StageTracker::Snapshot StageTracker::snapshot() const {
  Snapshot s;
  boost::json::object active;
  std::int64_t most = -1;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const int busy = nodes_[i]->active.load();
    const std::int64_t held = nodes_[i]->held.load();
    if (busy == 0 && held <= 0) continue;
    active[ids_[i]] = held;
    // The stage holding the most bytes; a busy node wins over an idle one holding as much.
    const std::int64_t weight = held * 2 + (busy > 0 ? 1 : 0);
    if (weight > most) {
      most = weight;
      s.stage = ids_[i];
      s.operation = operations_[i];
    }
  }
  s.active_nodes_json = boost::json::serialize(active);
  return s;
}

double StageTracker::rss_peak(std::size_t node) const {
  std::lock_guard lock(nodes_[node]->mutex);
  return nodes_[node]->rss_peak;
}

double StageTracker::rss_avg(std::size_t node) const {
  std::lock_guard lock(nodes_[node]->mutex);
  const auto& n = *nodes_[node];
  return n.rss_samples ? n.rss_sum / static_cast<double>(n.rss_samples) : 0.0;
}

}  // namespace rasterflow::detail
