// Proof that the engine's seams hold: a node type and a sink type defined here, in tests/,
// registered like any other and run through a real graph by the real runner. No line of engine/
// knows them (the engine names no node type).
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <mutex>

#include "rasterflow/errors.hpp"
#include "rasterflow/node/registry.hpp"
#include "support/fake_nodes.hpp"
#include "support/test_support.hpp"

using namespace rasterflow;
using rasterflow::test::captured;
using rasterflow::test::reset_captured;
using rasterflow::test::Values;

namespace {

std::string graph(double offset) {
  return R"({"grid": {"resolution": 1, "extent": [0, 0, 7, 50]}, "nodes": [
    {"id": "values", "type": "test_constant", "width": 7, "height": 50, "offset": )" +
         std::to_string(offset) + R"(},
    {"id": "capture", "type": "test_capture", "inputs": ["values"]}]})";
}

}  // namespace

TEST_CASE("Seams.TestNodeAndSinkRunEndToEnd" * doctest::timeout(60)) {
  REQUIRE(NodeRegistry::instance().find("test_constant") != nullptr);
  REQUIRE(NodeRegistry::instance().find("test_capture") != nullptr);
  test::TempDir dir;
  reset_captured();
  PlanOptions options;
  options.tile_rows = 4;
  options.threads = 2;
  const RunSummary s = test::run_graph_json(dir.path(), graph(0.5), options, {"metrics.backend=none"});
  CHECK(s.grid_width == 7);
  CHECK(s.grid_height == 50);
  CHECK(s.rows_written == 50);
  std::lock_guard lock(captured().mutex);
  CHECK(captured().opened);
  CHECK(captured().committed);
  CHECK_FALSE(captured().aborted);
  // Written in tile order, every cell once, with the source's values.
  REQUIRE(captured().seqs.size() == 13);
  for (std::size_t i = 0; i < captured().seqs.size(); ++i) CHECK(captured().seqs[i] == i);
  REQUIRE(captured().cells.size() == 350);
  for (std::int64_t r = 0; r < 50; ++r) {
    for (std::int64_t c = 0; c < 7; ++c)
      CHECK(captured().cells[static_cast<std::size_t>(r * 7 + c)] == r * 1000 + c + 0.5);
  }
}

TEST_CASE("Seams.TestSourceFailureAbortsTheTestSink" * doctest::timeout(60)) {
  test::TempDir dir;
  reset_captured();
  PlanOptions options;
  options.tile_rows = 4;
  CHECK_THROWS_WITH_AS(
      test::run_graph_json(dir.path(), graph(-1), options, {"metrics.backend=none"}),
      doctest::Contains("node \"values\" (test_constant): a negative offset fails past the first tile"), RunError);
  std::lock_guard lock(captured().mutex);
  CHECK(captured().aborted);
  CHECK_FALSE(captured().committed);
}

TEST_CASE("Seams.ASinkWithoutAGatherRefusesRanks") {
  // Under MPI a sink must say how ranks combine its output; one that does not is refused before
  // anything runs, naming it.
  NodeSpec spec;
  spec.id = "capture";
  spec.type = "test_capture";
  spec.graph_file = "g.json";
  const std::unique_ptr<Node> node = NodeRegistry::instance().find("test_capture")->create(spec);
  const auto& sink = static_cast<const SinkNode&>(*node);
  CHECK_NOTHROW(sink.check_ranks(1));
  CHECK_THROWS_WITH_AS(
      sink.check_ranks(2),
      doctest::Contains("node \"capture\" (test_capture): this sink cannot combine the outputs of 2 MPI ranks"),
      UsageError);
}

TEST_CASE("Seams.EngineNamesNoNodeType") {
  // The registry's types come from their own files; engine/ never spells one (checked on the
  // sources, so that a new engine line naming a type fails here; "merge" is also a config
  // section's name, so it is left out).
  const std::string engine_dir = std::string(RASTERFLOW_SOURCE_DIR) + "/engine";
  std::string out;
  const int found = test::run_shell(
      "grep -rlE '\"(raster_source|resample|csv_sink|test_constant|test_capture)\"' " + engine_dir, &out);
  CHECK_MESSAGE(found == 1, out);  // grep: 1 = no line matched
}

TEST_CASE("Seams.ASinkWithTwoInputsInBothExportModes" * doctest::timeout(60)) {
  // The in-memory mode holds every input of a sink, not only its first.
  const std::string two = R"({"grid": {"resolution": 1, "extent": [0, 0, 7, 50]}, "nodes": [
    {"id": "a", "type": "test_constant", "width": 7, "height": 50, "offset": 0.25},
    {"id": "b", "type": "test_constant", "width": 7, "height": 50, "offset": 100},
    {"id": "capture", "type": "test_capture", "inputs": ["a", "b"]}]})";
  for (const bool streaming : {true, false}) {
    CAPTURE(streaming);
    test::TempDir dir;
    reset_captured();
    PlanOptions options;
    options.tile_rows = 4;
    test::run_graph_json(
        dir.path(), two, options,
        {"metrics.backend=none", std::string("merge.enable_streaming=") + (streaming ? "true" : "false")});
    std::lock_guard lock(captured().mutex);
    REQUIRE(captured().cells.size() == 350);
    for (std::int64_t r = 0; r < 50; ++r) {
      for (std::int64_t c = 0; c < 7; ++c)
        CHECK(captured().cells[static_cast<std::size_t>(r * 7 + c)] ==
              2.0 * static_cast<double>(r * 1000 + c) + 100.25);
    }
  }
}

namespace {

// A sink an embedder builds itself (PlanOptions::build_node): counts what it is given, and can
// ask the run to stop while writing a given tile.
class EmbedderSink final : public SinkNode {
 public:
  EmbedderSink(NodeSpec spec, std::atomic<bool>* cancel_at_last, std::uint64_t last_seq)
      : SinkNode(std::move(spec)), cancel_(cancel_at_last), last_seq_(last_seq) {}
  PayloadPtr process(const TileRequest&, std::span<const PayloadPtr> inputs) override { return inputs[0]; }
  void open() override {}
  void write(const TileRequest& tile, const PayloadPtr& data) override {
    cells_ += dynamic_cast<const Values&>(*data).cells.size();
    if (cancel_ != nullptr && tile.seq == last_seq_) cancel_->store(true);
  }
  void commit() override { committed_ = true; }
  void abort() noexcept override { aborted_ = true; }
  std::uint64_t rows_written() const override { return cells_ / 7; }

  std::uint64_t cells_ = 0;
  bool committed_ = false;
  bool aborted_ = false;

 private:
  std::atomic<bool>* cancel_;
  std::uint64_t last_seq_;
};

[[maybe_unused]] const bool embedded_registered =
    NodeRegistry::instance().add(NodeTypeInfo{.name = "test_embedded",
                                              .description = "Test sink only an embedder builds.",
                                              .min_inputs = 1,
                                              .max_inputs = 1,
                                              .input_kind = EdgeKind::user,
                                              .is_sink = true,
                                              .create = [](NodeSpec spec) -> std::unique_ptr<Node> {
                                                throw_graph_error(spec.where(), "built only by the embedder");
                                              },
                                              .operation = "write",
                                              .embedded = true});

}  // namespace

TEST_CASE("Seams.AnEmbedderBuildsAGraphsSinkItself" * doctest::timeout(60)) {
  // The graph's sink is the registered test_capture; the embedder's builder supplies its own in
  // its place, and the registered one is never made.
  test::TempDir dir;
  reset_captured();
  test::write_text(dir / "graph.json", graph(0.5));
  const GraphSpec spec = load_graph(dir / "graph.json");
  EmbedderSink* mine = nullptr;
  PlanOptions options;
  options.tile_rows = 4;
  options.output_dir = dir.path();
  options.build_node = [&mine](const NodeSpec& s) -> std::unique_ptr<Node> {
    if (s.id != "capture") return nullptr;  // the others from the registry
    auto node = std::make_unique<EmbedderSink>(s, nullptr, 0);
    mine = node.get();
    return node;
  };
  Pipeline pipeline(spec, Config{}, options);
  const RunSummary s = pipeline.run();
  REQUIRE(mine != nullptr);
  CHECK(mine->cells_ == 350);
  CHECK(mine->committed_);
  CHECK(s.rows_written == 50);
  std::lock_guard lock(captured().mutex);
  CHECK_FALSE(captured().opened);
}

TEST_CASE("Seams.AnEmbeddedTypeIsNotForGraphs" * doctest::timeout(60)) {
  const auto names = NodeRegistry::instance().names();
  CHECK(std::find(names.begin(), names.end(), "test_embedded") == names.end());
  CHECK(std::find(names.begin(), names.end(), "test_capture") != names.end());
  const std::string named = R"({"grid": {"resolution": 1, "extent": [0, 0, 7, 50]}, "nodes": [
    {"id": "values", "type": "test_constant", "width": 7, "height": 50},
    {"id": "mine", "type": "test_embedded", "inputs": ["values"]}]})";
  CHECK_THROWS_WITH_AS(parse_graph(named, "g.json"),
                       doctest::Contains("g.json: node \"mine\": field \"type\": unknown node type \"test_embedded\""),
                       GraphError);
  // An embedder puts it in a graph it loaded, and builds it.
  GraphSpec spec = parse_graph(graph(0), "g.json");
  spec.nodes.back().type = "test_embedded";
  std::atomic<bool> cancel{false};
  EmbedderSink* mine = nullptr;
  PlanOptions options;
  options.tile_rows = 4;
  options.build_node = [&mine, &cancel](const NodeSpec& s) -> std::unique_ptr<Node> {
    if (s.type != "test_embedded") return nullptr;
    auto node = std::make_unique<EmbedderSink>(s, &cancel, 12);  // 13 tiles of 4 rows: seq 12 is the last
    mine = node.get();
    return node;
  };
  // Cancelled while the last tile is written, after every tile was admitted: the run still
  // counts as interrupted and aborts its sinks instead of committing them.
  Pipeline pipeline(spec, Config{}, options);
  Run run;
  run.cancel = &cancel;
  CHECK_THROWS_AS(pipeline.run(std::move(run)), Interrupted);
  REQUIRE(mine != nullptr);
  CHECK(mine->cells_ == 350);
  CHECK(mine->aborted_);
  CHECK_FALSE(mine->committed_);
}
