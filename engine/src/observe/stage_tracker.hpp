#pragma once
// Stage and operation attribution in a concurrent graph: which nodes are working, how many
// bytes their outputs hold while their tiles are in flight, and the process RSS seen while each
// node was busy. Private to engine/src.
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace rasterflow::detail {

class StageTracker {
 public:
  explicit StageTracker(std::vector<std::string> ids, std::vector<std::string> operations);

  void begin(std::size_t node);
  // Ends a node's work on a tile: its output holds `bytes` until the tile is released.
  void end(std::size_t node, std::uint64_t seq, std::uint64_t bytes, std::uint64_t rss);
  void release(std::uint64_t seq);
  // Records `rss` for every node busy now.
  void observe(std::uint64_t rss);

  struct Snapshot {
    std::string stage = "idle";  // the node holding the most tracked bytes (or busy)
    std::string operation = "idle";
    std::string active_nodes_json = "{}";  // {"id": bytes, ...} for busy or holding nodes
  };
  Snapshot snapshot() const;
  double rss_peak(std::size_t node) const;
  double rss_avg(std::size_t node) const;

 private:
  struct NodeState {
    std::atomic<int> active{0};
    std::atomic<std::int64_t> held{0};
    std::mutex mutex;
    double rss_sum = 0;
    double rss_peak = 0;
    std::uint64_t rss_samples = 0;
  };
  void add_rss(NodeState& n, std::uint64_t rss);

  std::vector<std::string> ids_;
  std::vector<std::string> operations_;
  std::vector<std::unique_ptr<NodeState>> nodes_;
  std::mutex held_mutex_;
  std::map<std::uint64_t, std::vector<std::pair<std::size_t, std::uint64_t>>> held_by_tile_;
};

}  // namespace rasterflow::detail
