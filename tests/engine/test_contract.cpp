// The public data contract (rasterflow/node/payload.hpp): payload types read by their tag, edge
// kinds as an enum, and the per-thread state nodes declare, priced by the memory planner (#27).
#include <doctest/doctest.h>

#include "engine/src/memory/memory_planner.hpp"
#include "rasterflow/errors.hpp"
#include "rasterflow/node/payload.hpp"
#include "rasterflow/node/registry.hpp"

using namespace rasterflow;

namespace {

constexpr std::uint64_t kMiB = 1u << 20;

struct Opaque final : Payload {  // an embedder's own payload type
  std::size_t bytes() const noexcept override { return 0; }
};

// A node that only declares memory.
class StateNode final : public Node {
 public:
  StateNode(std::uint64_t per_thread, std::vector<ResourceNeeds::ThreadState> state)
      : Node(NodeSpec{.id = "n", .type = "test"}), per_thread_(per_thread), state_(std::move(state)) {}
  PayloadPtr process(const TileRequest&, std::span<const PayloadPtr>) override { return nullptr; }
  ResourceNeeds resources() const override { return {.per_thread = per_thread_, .thread_state = state_}; }

 private:
  std::uint64_t per_thread_;
  std::vector<ResourceNeeds::ThreadState> state_;
};

}  // namespace

TEST_CASE("Contract.PayloadAsReadsTheTypeTag") {
  const PayloadPtr table = std::make_shared<Table>();
  const PayloadPtr column = std::make_shared<Column>();
  const PayloadPtr columns = std::make_shared<Columns>();
  const PayloadPtr opaque = std::make_shared<Opaque>();
  CHECK(table->type() == PayloadType::table);
  CHECK(opaque->type() == PayloadType::other);
  CHECK(payload_as<Table>(table).get() == table.get());
  CHECK(payload_as<Column>(column).get() == column.get());
  CHECK(payload_as<Columns>(columns).get() == columns.get());
  CHECK(payload_as<Table>(column) == nullptr);
  CHECK(payload_as<Column>(columns) == nullptr);
  CHECK(payload_as<Columns>(table) == nullptr);
  CHECK(payload_as<Table>(opaque) == nullptr);
  CHECK(payload_as<Table>(PayloadPtr{}) == nullptr);
}

TEST_CASE("Contract.EdgeKindsOfTheNodeTypes") {
  const auto kinds = [](const char* type) {
    const NodeTypeInfo* info = NodeRegistry::instance().find(type);
    REQUIRE(info != nullptr);
    return std::make_pair(info->input_kind, info->output_kind);
  };
  CHECK(kinds("raster_source") == std::make_pair(EdgeKind::none, EdgeKind::source));
  CHECK(kinds("resample") == std::make_pair(EdgeKind::source, EdgeKind::raster));
  CHECK(kinds("merge") == std::make_pair(EdgeKind::raster, EdgeKind::table));
  CHECK(kinds("csv_sink") == std::make_pair(EdgeKind::table, EdgeKind::none));
  CHECK(std::string(edge_kind_name(EdgeKind::raster)) == "raster");
  CHECK(std::string(edge_kind_name(EdgeKind::none)).empty());
}

TEST_CASE("Contract.MemoryPlanner.PricesDeclaredThreadStateForEveryThread") {
  // One state shared by two nodes (a function's thread_local) counts once, at its largest; the
  // states of different names add up, and stay while a thread runs other nodes.
  StateNode a(3 * kMiB, {{"shared strip", 4 * kMiB}, {"a: transformer", 1 * kMiB}});
  StateNode b(5 * kMiB, {{"shared strip", 6 * kMiB}});
  Node* nodes[] = {&a, &b};
  CHECK(detail::thread_state_bytes(nodes) == 7 * kMiB);
  CHECK(detail::thread_state_of(a.resources()) == 5 * kMiB);
  const detail::MemoryInputs in{
      .limit = 1024 * kMiB, .baseline_rss = 0, .threads = 4, .one_row = kMiB, .row_cells = 10};
  const auto p = detail::MemoryPlanner(in).reserve(nodes);
  CHECK(p.thread_state == 7 * kMiB);
  CHECK(p.fixed == (5 + 7) * kMiB * 4);  // the largest working memory and every state, per thread
  // A limit that the state makes too small is refused, naming the node that asks the most.
  const detail::MemoryInputs tight{.limit = 40 * kMiB, .threads = 4, .one_row = kMiB, .row_cells = 10};
  CHECK_THROWS_WITH_AS(detail::MemoryPlanner(tight).plan(nodes), doctest::Contains("per thread 11.0 MiB"), ConfigError);
}
