#pragma once
// The flow builder: the run's oneTBB flow graphs, one per NUMA domain (one on the plain path).
// A tile's nodes run in its domain's graph, each node a parallel function_node (a node with
// several inputs behind a TileGather); every sink has one sequencer in domain 0's graph that
// restores raster order before the sink's serial delivery (the other domains hand their
// messages over to it). fgbzip2's shape: read -> process in parallel -> sequencer -> serial
// writer. Private to engine/src.
#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/task_arena.h>

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "rasterflow/node/node.hpp"

namespace rasterflow::detail {

// A node's output for one tile, tagged with the node that produced it.
struct Message {
  TileRequest tile;
  PayloadPtr payload;
  std::size_t producer = 0;
};

// Inputs of a node for one tile, in the order of its `inputs`.
struct Bundle {
  TileRequest tile;
  std::vector<PayloadPtr> inputs;
};

// Gathers the inputs of one tile for a node with several inputs: holds at most the tiles
// admitted. Thread-safe.
class TileGather {
 public:
  // `slots`: the producers of the node's inputs, in order.
  explicit TileGather(std::vector<std::size_t> slots) : slots_(std::move(slots)) {}
  // Adds one input; returns the tile's bundle once all its inputs have arrived.
  std::optional<Bundle> add(const Message& msg);
  std::size_t pending() const;
  // Takes and releases the lock once: after the graph's wait, what the workers wrote under it
  // is visibly ordered before the caller (ThreadSanitizer cannot see oneTBB's own ordering).
  void settle() const { std::lock_guard lock(mutex_); }

 private:
  std::vector<std::size_t> slots_;
  mutable std::mutex mutex_;
  std::map<std::uint64_t, Bundle> pending_;
  std::map<std::uint64_t, std::size_t> arrived_;
};

class FlowBuilder {
 public:
  // Runs node `node` on a tile in `domain`'s graph (may throw: the graph is cancelled).
  using RunNode =
      std::function<Message(std::size_t node, int domain, const TileRequest& tile, std::span<const PayloadPtr> inputs)>;
  // Hands sink `k` (its position in `sinks`) a message, serially for that sink, in tile order.
  using Deliver = std::function<void(std::size_t k, const Message& msg)>;
  struct Shape {
    std::size_t nodes = 0;
    std::vector<std::vector<std::size_t>> inputs;  // per node, its inputs' indices
    std::vector<std::size_t> sinks;                // the sink nodes' indices
  };
  FlowBuilder(Shape shape, std::vector<std::unique_ptr<oneapi::tbb::task_arena>>& arenas, RunNode run_node,
              Deliver deliver);
  ~FlowBuilder();
  FlowBuilder(const FlowBuilder&) = delete;
  FlowBuilder& operator=(const FlowBuilder&) = delete;

  // Puts a tile into `domain`'s graph (its source nodes).
  void feed(std::size_t domain, const TileRequest& tile);
  // Waits for every domain's graph, the sinks' graph (domain 0) last: the others hand it tiles.
  // After a failure every graph is drained whichever of them threw (`rethrow` false).
  void wait_all(bool rethrow);

 private:
  using Sequencer = oneapi::tbb::flow::sequencer_node<Message>;
  void build_domain(std::size_t d);
  void build_node(std::size_t d, std::size_t i);
  void build_sinks();
  void connect_sinks(std::size_t d);

  Shape shape_;
  std::vector<std::unique_ptr<oneapi::tbb::task_arena>>& arenas_;
  RunNode run_node_;
  Deliver deliver_;
  std::vector<std::unique_ptr<oneapi::tbb::flow::graph>> graphs_;
  std::vector<std::unique_ptr<oneapi::tbb::flow::graph_node>> owned_;
  std::vector<std::unique_ptr<TileGather>> gathers_;
  std::vector<std::vector<oneapi::tbb::flow::receiver<TileRequest>*>> entries_;
  std::vector<std::vector<oneapi::tbb::flow::sender<Message>*>> outputs_;  // per domain, per node
  std::vector<Sequencer*> sequencers_;                                     // per sink, in domain 0's graph
};

}  // namespace rasterflow::detail
