#include "run/flow.hpp"

#include <algorithm>

namespace rasterflow::detail {

namespace flow = oneapi::tbb::flow;

std::optional<Bundle> TileGather::add(const Message& msg) {
  std::lock_guard lock(mutex_);
  Bundle& b = pending_[msg.tile.seq];
  if (b.inputs.empty()) {
    b.tile = msg.tile;
    b.inputs.resize(slots_.size());
  }
  for (std::size_t k = 0; k < slots_.size(); ++k) {
    if (slots_[k] == msg.producer) b.inputs[k] = msg.payload;
  }
  if (++arrived_[msg.tile.seq] != slots_.size()) return std::nullopt;
  std::optional<Bundle> complete = std::move(b);
  pending_.erase(msg.tile.seq);
  arrived_.erase(msg.tile.seq);
  return complete;
}

std::size_t TileGather::pending() const {
  std::lock_guard lock(mutex_);
  return pending_.size();
}

FlowBuilder::FlowBuilder(Shape shape, std::vector<std::unique_ptr<oneapi::tbb::task_arena>>& arenas, RunNode run_node,
                         Deliver deliver)
    : shape_(std::move(shape)), arenas_(arenas), run_node_(std::move(run_node)), deliver_(std::move(deliver)) {
  const std::size_t domains = arenas_.size();
  graphs_.resize(domains);
  entries_.resize(domains);
  outputs_.assign(domains, std::vector<flow::sender<Message>*>(shape_.nodes, nullptr));
  sequencers_.assign(shape_.sinks.size(), nullptr);
  for (std::size_t d = 0; d < domains; ++d) arenas_[d]->execute([&] { build_domain(d); });
  arenas_[0]->execute([&] { build_sinks(); });
  for (std::size_t d = 0; d < domains; ++d) arenas_[d]->execute([&] { connect_sinks(d); });
}

void FlowBuilder::build_domain(std::size_t d) {
  graphs_[d] = std::make_unique<flow::graph>();
  for (std::size_t i = 0; i < shape_.nodes; ++i) build_node(d, i);
}

void FlowBuilder::build_node(std::size_t d, std::size_t i) {
  using SourceBody = flow::function_node<TileRequest, Message>;
  using SingleBody = flow::function_node<Message, Message>;
  using MultiBody = flow::function_node<Bundle, Message>;
  using Gather = flow::multifunction_node<Message, std::tuple<Bundle>>;
  flow::graph& fg = *graphs_[d];
  const int domain = static_cast<int>(d);
  const auto& ins = shape_.inputs[i];
  RunNode& run = run_node_;
  if (ins.empty()) {
    auto body = std::make_unique<SourceBody>(fg, flow::unlimited,
                                             [&run, i, domain](const TileRequest& t) { return run(i, domain, t, {}); });
    entries_[d].push_back(body.get());
    outputs_[d][i] = body.get();
    owned_.push_back(std::move(body));
  } else if (ins.size() == 1) {
    auto body = std::make_unique<SingleBody>(fg, flow::unlimited, [&run, i, domain](const Message& msg) {
      const PayloadPtr inputs[1] = {msg.payload};
      return run(i, domain, msg.tile, inputs);
    });
    flow::make_edge(*outputs_[d][ins[0]], *body);
    outputs_[d][i] = body.get();
    owned_.push_back(std::move(body));
  } else {
    gathers_.push_back(std::make_unique<TileGather>(ins));
    TileGather* state = gathers_.back().get();
    auto gather =
        std::make_unique<Gather>(fg, flow::unlimited, [state](const Message& msg, Gather::output_ports_type& ports) {
          if (auto complete = state->add(msg)) std::get<0>(ports).try_put(std::move(*complete));
        });
    auto body = std::make_unique<MultiBody>(
        fg, flow::unlimited, [&run, i, domain](const Bundle& b) { return run(i, domain, b.tile, b.inputs); });
    for (const auto j : ins) flow::make_edge(*outputs_[d][j], *gather);
    flow::make_edge(flow::output_port<0>(*gather), *body);
    outputs_[d][i] = body.get();
    owned_.push_back(std::move(gather));
    owned_.push_back(std::move(body));
  }
}

void FlowBuilder::build_sinks() {
  using Writer = flow::function_node<Message, flow::continue_msg>;
  flow::graph& fg = *graphs_[0];
  for (std::size_t k = 0; k < shape_.sinks.size(); ++k) {
    auto sequencer =
        std::make_unique<Sequencer>(fg, [](const Message& msg) { return static_cast<std::size_t>(msg.tile.seq); });
    auto writer = std::make_unique<Writer>(fg, flow::serial, [this, k](const Message& msg) {
      deliver_(k, msg);
      return flow::continue_msg{};
    });
    flow::make_edge(*sequencer, *writer);
    sequencers_[k] = sequencer.get();
    owned_.push_back(std::move(sequencer));
    owned_.push_back(std::move(writer));
  }
}

void FlowBuilder::connect_sinks(std::size_t d) {
  using Handoff = flow::function_node<Message, flow::continue_msg>;
  for (std::size_t k = 0; k < shape_.sinks.size(); ++k) {
    const std::size_t s = shape_.sinks[k];
    flow::sender<Message>* feed = outputs_[d][s];
    if (d == 0) {
      flow::make_edge(*feed, *sequencers_[k]);
      continue;
    }
    Sequencer* target = sequencers_[k];
    auto handoff = std::make_unique<Handoff>(*graphs_[d], flow::unlimited, [target](const Message& msg) {
      target->try_put(msg);
      return flow::continue_msg{};
    });
    flow::make_edge(*feed, *handoff);
    owned_.push_back(std::move(handoff));
  }
}

FlowBuilder::~FlowBuilder() {
  for (const auto& g : gathers_) g->settle();
}

void FlowBuilder::feed(std::size_t domain, const TileRequest& tile) {
  for (auto* entry : entries_[domain]) entry->try_put(tile);
}

void FlowBuilder::wait_all(bool rethrow) {
  for (std::size_t d = graphs_.size(); d-- > 0;) {
    try {
      arenas_[d]->execute([&] { graphs_[d]->wait_for_all(); });
    } catch (...) {
      if (rethrow) throw;
    }
  }
}

}  // namespace rasterflow::detail
