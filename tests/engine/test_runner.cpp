// The runner's named pieces, each with fakes (no GeoTIFF): the tile gather, the flow builder
// (order, a failing node, cancellation) and the scheduler's admission (budget, stop, the pause
// at critical pressure).
#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "engine/src/run/flow.hpp"
#include "engine/src/run/scheduler.hpp"
#include "rasterflow/errors.hpp"

using namespace rasterflow;
using detail::Bundle;
using detail::Message;

namespace {

struct Number final : Payload {
  explicit Number(double v) : value(v) {}
  double value;
  std::size_t bytes() const noexcept override { return sizeof(double); }
};

double value_of(const PayloadPtr& p) { return static_cast<const Number&>(*p).value; }

TileRequest tile(std::uint64_t seq) { return TileRequest{seq, static_cast<std::int64_t>(seq), 1, 4}; }

}  // namespace

TEST_CASE("Runner.TileGather.CompletesEachTileWhenAllItsInputsArrivedInAnyOrder") {
  detail::TileGather gather({3, 5});  // inputs from nodes 3 and 5, in that order
  CHECK_FALSE(gather.add(Message{tile(1), std::make_shared<Number>(15), 5}));
  CHECK_FALSE(gather.add(Message{tile(0), std::make_shared<Number>(3), 3}));
  CHECK(gather.pending() == 2);
  const auto one = gather.add(Message{tile(1), std::make_shared<Number>(13), 3});
  REQUIRE(one);
  CHECK(one->tile.seq == 1);
  CHECK(value_of(one->inputs[0]) == 13);  // in the node's input order, not arrival order
  CHECK(value_of(one->inputs[1]) == 15);
  const auto zero = gather.add(Message{tile(0), std::make_shared<Number>(5), 5});
  REQUIRE(zero);
  CHECK(value_of(zero->inputs[0]) == 3);
  CHECK(gather.pending() == 0);
}

namespace {

// a (source) -> b (source) -> c = a + b -> sink 3: the flow builder on one or two domains.
struct Diamond {
  std::vector<std::unique_ptr<oneapi::tbb::task_arena>> arenas;
  std::mutex mutex;
  std::vector<std::pair<std::uint64_t, double>> delivered;
  std::atomic<int> runs{0};
  std::uint64_t fail_at = ~std::uint64_t{0};

  explicit Diamond(int domains) {
    for (int d = 0; d < domains; ++d) arenas.push_back(std::make_unique<oneapi::tbb::task_arena>(2));
  }
  Message run(std::size_t node, const TileRequest& t, std::span<const PayloadPtr> in) {
    ++runs;
    if (node == 2 && t.seq == fail_at) throw NodeError("node \"c\" (sum): failed on tile " + std::to_string(t.seq));
    if (node == 0) return {t, std::make_shared<Number>(static_cast<double>(t.seq)), node};
    if (node == 1) return {t, std::make_shared<Number>(1000.0 * static_cast<double>(t.seq)), node};
    if (node == 2) return {t, std::make_shared<Number>(value_of(in[0]) + value_of(in[1])), node};
    return {t, in[0], node};  // the sink's process(): passes the sum on
  }
  detail::FlowBuilder build() {
    detail::FlowBuilder::Shape shape{.nodes = 4, .inputs = {{}, {}, {0, 1}, {2}}, .sinks = {3}};
    return detail::FlowBuilder(
        shape, arenas,
        [this](std::size_t i, int, const TileRequest& t, std::span<const PayloadPtr> in) { return run(i, t, in); },
        [this](std::size_t, const Message& msg) {
          std::lock_guard lock(mutex);
          delivered.emplace_back(msg.tile.seq, value_of(msg.payload));
        });
  }
};

}  // namespace

TEST_CASE("Runner.FlowBuilder.DeliversEveryTileInRasterOrder" * doctest::timeout(30)) {
  for (const int domains : {1, 2}) {
    CAPTURE(domains);
    Diamond d(domains);
    auto flows = d.build();
    for (std::uint64_t seq = 0; seq < 200; ++seq) flows.feed(seq % static_cast<std::uint64_t>(domains), tile(seq));
    flows.wait_all(true);
    REQUIRE(d.delivered.size() == 200);
    for (std::uint64_t seq = 0; seq < 200; ++seq) {
      CHECK(d.delivered[seq].first == seq);
      CHECK(d.delivered[seq].second == 1001.0 * static_cast<double>(seq));
    }
    CHECK(d.runs == 800);
  }
}

TEST_CASE("Runner.FlowBuilder.AFailingNodeCancelsTheGraphAndComesOutOfWait" * doctest::timeout(30)) {
  Diamond d(1);
  d.fail_at = 37;
  auto flows = d.build();
  for (std::uint64_t seq = 0; seq < 100; ++seq) flows.feed(0, tile(seq));
  CHECK_THROWS_WITH_AS(flows.wait_all(true), doctest::Contains("failed on tile 37"), NodeError);
  // Nothing at or after the failed tile reached the sink, in order up to there.
  for (std::size_t k = 0; k < d.delivered.size(); ++k) CHECK(d.delivered[k].first == k);
  CHECK(d.delivered.size() <= 37);
  flows.wait_all(false);  // draining again after a failure does not throw
}

TEST_CASE("Runner.Admission.BudgetCountAndCancellation" * doctest::timeout(30)) {
  detail::Admission admission(100);
  double paused = 0;
  const auto never = [] { return false; };
  const auto two = [] { return 2; };
  const auto calm = [](int) { return false; };
  const auto timeout = [] { throw RunError("paused too long"); };
  CHECK(admission.acquire(0, 60, never, two, calm, timeout, std::chrono::milliseconds(1000), paused));
  CHECK(admission.in_flight_now() == 1);
  // 60 + 60 > 100: waits until tile 0 is released by another thread.
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    admission.release(0);
  });
  CHECK(admission.acquire(1, 60, never, two, calm, timeout, std::chrono::milliseconds(1000), paused));
  releaser.join();
  CHECK(admission.peak_used() == 60);
  // A stop (a failure or a signal) ends the wait with false.
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    stop = true;
    admission.wake();
  });
  CHECK_FALSE(admission.acquire(
      2, 60, [&] { return stop.load(); }, two, calm, timeout, std::chrono::milliseconds(1000), paused));
  stopper.join();
  // A tile larger than the budget is still admitted alone (nothing in flight).
  admission.release(1);
  CHECK(admission.acquire(3, 500, never, two, calm, timeout, std::chrono::milliseconds(1000), paused));
  CHECK(admission.peak_in_flight() == 1);
}

TEST_CASE("Runner.Admission.PauseAtCriticalPressure" * doctest::timeout(30)) {
  double paused = 0;
  const auto never = [] { return false; };
  const auto two = [] { return 2; };
  {
    // Critical with nothing in flight: admission waits while the pressure lasts, then goes on;
    // the time paused is counted.
    detail::Admission admission(100);
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(120);
    const auto critical = [&](int in_flight) { return in_flight == 0 && std::chrono::steady_clock::now() < until; };
    CHECK(admission.acquire(
        0, 10, never, two, critical, [] { throw RunError("paused too long"); }, std::chrono::seconds(5), paused));
    CHECK(paused >= 0.1);
  }
  {
    // Pressure that stays critical past the limit stops the run with the timeout's error.
    detail::Admission admission(100);
    CHECK_THROWS_WITH_AS(admission.acquire(
                             0, 10, never, two, [](int) { return true; },
                             [] { throw RunError("memory stayed critical"); }, std::chrono::milliseconds(100), paused),
                         "memory stayed critical", RunError);
  }
}

TEST_CASE("Runner.MeasuredBytes.PlanUntilTheFirstTileThenMeasuredWithAMargin") {
  detail::MeasuredBytes m;
  CHECK(m.per_cell(7.0) == 7.0);
  m.add(0, 400);
  m.add(0, 400);
  m.finish(0, 100);  // 8 bytes a cell
  CHECK(m.per_cell(7.0) == doctest::Approx(10.0));
}

#include "engine/src/memory/memory_planner.hpp"

namespace {

// A node with given memory prices and steps: each step to hold less leaves `held_after[k]`.
class PricedNode final : public Node {
 public:
  PricedNode(std::uint64_t held, std::vector<std::uint64_t> shrink_to, std::uint64_t per_thread = 0)
      : Node(NodeSpec{.id = "priced", .type = "test"}),
        held_(held),
        shrink_to_(std::move(shrink_to)),
        per_thread_(per_thread) {}
  PayloadPtr process(const TileRequest&, std::span<const PayloadPtr>) override { return nullptr; }
  ResourceNeeds resources() const override {
    ResourceNeeds r{.bytes_per_cell = 8,
                    .per_thread = per_thread_,
                    .held = gave_up_ ? 0 : held_,
                    .reused_cache = gave_up_ ? (1u << 20) : 0};
    for (std::size_t k = next_; k < shrink_to_.size(); ++k) r.steps.push_back({"smaller", false});
    if (!gave_up_) r.steps.push_back({"give up", true});
    return r;
  }
  bool take_step() override {
    if (next_ < shrink_to_.size()) {
      held_ = shrink_to_[next_++];
      return true;
    }
    gave_up_ = true;
    return true;
  }
  std::uint64_t held_;
  std::vector<std::uint64_t> shrink_to_;
  std::uint64_t per_thread_;
  std::size_t next_ = 0;
  bool gave_up_ = false;
};

constexpr std::uint64_t kMiB = 1u << 20;

}  // namespace

TEST_CASE("Runner.MemoryPlanner.TakesTheFastestStrategyThatFits") {
  const auto inputs = [](std::uint64_t limit) {
    return detail::MemoryInputs{.limit = limit,
                                .usable_fraction = 0.8,
                                .baseline_rss = 20 * kMiB,
                                .threads = 2,
                                .one_row = 4 * kMiB,
                                .row_cells = 1000};
  };
  {
    // Plenty: nothing changes; budget = 0.8 * limit - baseline - held - cache (8 MiB least).
    PricedNode a(40 * kMiB, {30 * kMiB, 20 * kMiB});
    Node* nodes[] = {&a};
    const auto p = detail::MemoryPlanner(inputs(1024 * kMiB)).plan(nodes);
    CHECK(p.steps_taken == 0);
    CHECK(a.held_ == 40 * kMiB);
    CHECK(p.held == 40 * kMiB);
    CHECK(p.budget == static_cast<std::uint64_t>(0.8 * 1024 * kMiB) - 20 * kMiB - 40 * kMiB - 8 * kMiB);
  }
  {
    // Tight: one smaller step is enough (usable 72 MiB: 20 + 40 + 8 of cache leave 4 MiB, one row;
    // with 30 MiB held, 14 MiB: two rows fit).
    PricedNode a(40 * kMiB, {30 * kMiB, 20 * kMiB});
    Node* nodes[] = {&a};
    const auto p = detail::MemoryPlanner(inputs(90 * kMiB)).plan(nodes);
    CHECK(p.steps_taken == 1);
    CHECK(a.held_ == 30 * kMiB);
    CHECK_FALSE(p.gave_up);
  }
  {
    // Tighter: every smaller step, then giving up (the held memory becomes cache reads).
    PricedNode a(40 * kMiB, {30 * kMiB, 20 * kMiB});
    Node* nodes[] = {&a};
    const auto p = detail::MemoryPlanner(inputs(60 * kMiB)).plan(nodes);
    CHECK(a.next_ == 2);
    CHECK(a.gave_up_);
    CHECK(p.gave_up);
    CHECK(p.held == 0);
    CHECK(p.budget >= 4 * kMiB);
  }
  {
    // Too small for even one grid row: refused with what is needed.
    PricedNode a(40 * kMiB, {}, 16 * kMiB);
    Node* nodes[] = {&a};
    CHECK_THROWS_WITH_AS(detail::MemoryPlanner(inputs(40 * kMiB)).plan(nodes),
                         doctest::Contains("is too small for this graph"), ConfigError);
  }
}

#include "engine/src/run/adaptive.hpp"
#include "engine/src/run/plan.hpp"
#include "rasterflow/observers.hpp"

TEST_CASE("Runner.PlanModel.OneModelThreeRenderings") {
  detail::PlanModel p;
  p.graph_name = "g \"quoted\"";
  p.graph_file = "g.json";
  p.grid = Grid{.x0 = 0, .y0 = 10, .res_x = 1, .res_y = 1, .width = 10, .height = 10};
  p.crs_label = "(none)";
  p.grid_origin = "explicit extent";
  p.topology_line = "topology: test";
  p.tile_rows = 4;
  p.nodes.push_back({.id = "src",
                     .type = "test_constant",
                     .options = {{"secret", "***"}},
                     .bytes_per_tile = 320,
                     .shape = "cylinder"});
  p.nodes.push_back(
      {.id = "out", .type = "test_capture", .inputs = {"src"}, .notes = {"keeps values"}, .shape = "note"});
  p.memory = {.limit = 1u << 30, .limit_source = "memory.limit", .tile_budget = 1u << 20};
  const auto text = detail::render_plan_text(p);
  REQUIRE(text.size() == 10);
  CHECK(text[0] == "graph g \"quoted\" (g.json)");
  CHECK(text[3] == "tiles: about 3 bands of 4 rows (40 cells), at most 2 in flight; 1 threads");
  CHECK(text[4] == "node src (test_constant): ~320 B per tile");
  CHECK(text[5] == "    options: secret=***");
  CHECK(text[6] == "node out (test_capture) <- src: ~0 B per tile");
  CHECK(text[7] == "    keeps values");
  const auto json = boost::json::parse(detail::render_plan_json(p));
  CHECK(json.at("nodes").as_array().size() == 2);
  CHECK(json.at("nodes").at(1).at("inputs").at(0).as_string() == "src");
  CHECK(json.at("memory").at("tile_budget").as_int64() == (1 << 20));
  CHECK(json.at("tiles").at("count").as_int64() == 3);
  const std::string dot = detail::render_plan_dot(p);
  CHECK(dot.find("digraph \"g \\\"quoted\\\"\"") == 0);
  CHECK(dot.find("\"src\" -> \"out\";") != std::string::npos);
  CHECK(dot.find("shape=cylinder") != std::string::npos);
}

TEST_CASE("Runner.Observers.ProgressFiguresAndTimeline") {
  detail::AdaptiveSettings adaptive({2048, 5000, 4, 8u << 20}, std::chrono::steady_clock::now());
  detail::Admission admission(100);
  RunView view;
  view.ids = {"a"};
  view.operations = {"read"};
  view.start = std::chrono::steady_clock::now();
  view.memory_limit = 1u << 30;
  view.cells_total = 50;
  view.window_size = [&] { return adaptive.window_size(); };
  view.chunk_size = [&] { return adaptive.chunk_size(); };
  view.tiles_in_flight = [&] { return admission.in_flight_now(); };
  view.rows_written = [] { return std::uint64_t{7}; };
  ProgressObserver progress;
  TimelineObserver timeline;
  progress.on_start(view);
  timeline.on_start(view);
  MemorySample sample;
  sample.process_rss = 1234;
  for (int k = 0; k < 5000; ++k) {
    progress.on_sample(PressureLevel::warning, sample);
    timeline.on_sample(PressureLevel::warning, sample);
  }
  progress.on_tile_done(TileRequest{0, 0, 2, 5});
  progress.on_tile_done(TileRequest{1, 2, 2, 5});
  const Progress now = progress.now();
  CHECK(now.cells_done == 20);
  CHECK(now.cells_total == 50);
  CHECK(now.rows_written == 7);
  CHECK(now.level == PressureLevel::warning);
  CHECK(now.window_size == 2048);
  RunSummary s;
  timeline.on_finish(s);
  CHECK(s.memory_timeline.size() <= 4096);  // thinned, shape kept
  CHECK(s.memory_timeline.size() > 2000);
  CHECK(s.memory_timeline.back().rss_bytes == 1234);
  CHECK(s.memory_timeline.back().level == "warning");
}
