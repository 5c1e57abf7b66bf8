// The run session (app/run_session.hpp) with fakes: a source of known values, a sink that fails
// or cancels the run on its first tile, and an in-process World standing for an MPI launch. The
// session is what both `rasterflow run` and rasterflow.run() call.
#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <set>
#include <stdexcept>

#include "app/run_request.hpp"
#include "app/run_session.hpp"
#include "rasterflow/errors.hpp"
#include "rasterflow/node/registry.hpp"
#include "support/test_support.hpp"

using namespace rasterflow;

namespace {

struct Cells final : Payload {
  std::vector<double> values;
  std::size_t bytes() const noexcept override { return values.size() * sizeof(double); }
};

// row * 1000 + column in every cell.
class CountingSource final : public Node {
 public:
  using Node::Node;
  PayloadPtr process(const TileRequest& tile, std::span<const PayloadPtr>) override {
    auto c = std::make_shared<Cells>();
    for (std::int64_t r = tile.row0; r < tile.row0 + tile.rows; ++r)
      for (std::int64_t col = 0; col < tile.width; ++col) c->values.push_back(static_cast<double>(r * 1000 + col));
    return c;
  }
  std::vector<std::string> describe() const override { return {"session test source"}; }
};

// What the sink does on its first tile: keep it, throw, or set the session's cancel flag.
enum class OnWrite { keep, fail, cancel };
std::atomic<OnWrite> g_on_write{OnWrite::keep};
std::atomic<bool>* g_cancel = nullptr;

class FakeSink final : public SinkNode {
 public:
  using SinkNode::SinkNode;
  PayloadPtr process(const TileRequest&, std::span<const PayloadPtr> inputs) override { return inputs[0]; }
  void write(const TileRequest& tile, const PayloadPtr&) override {
    if (g_on_write == OnWrite::fail) throw IoError("session_test_sink: the disk is full (a test)");
    if (g_on_write == OnWrite::cancel && g_cancel != nullptr) g_cancel->store(true);
    rows_ += static_cast<std::uint64_t>(tile.rows);
  }
  void open() override {}
  void commit() override {}
  void abort() noexcept override {}
  std::uint64_t rows_written() const override { return rows_; }

 private:
  std::uint64_t rows_ = 0;
};

[[maybe_unused]] const bool registered =
    NodeRegistry::instance().add(
        NodeTypeInfo{.name = "session_test_source",
                     .description = "Test source: row * 1000 + column in every cell.",
                     .options = {},
                     .min_inputs = 0,
                     .max_inputs = 0,
                     .input_kind = EdgeKind::none,
                     .output_kind = EdgeKind::user,
                     .is_sink = false,
                     .create = [](NodeSpec spec) { return std::make_unique<CountingSource>(std::move(spec)); },
                     .operation = "read"}) &&
    NodeRegistry::instance().add(
        NodeTypeInfo{.name = "session_test_sink",
                     .description = "Test sink: keeps nothing; fails or cancels the run when the test says so.",
                     .options = {},
                     .min_inputs = 1,
                     .max_inputs = 1,
                     .input_kind = EdgeKind::user,
                     .output_kind = EdgeKind::none,
                     .is_sink = true,
                     .create = [](NodeSpec spec) { return std::make_unique<FakeSink>(std::move(spec)); },
                     .operation = "write"});

// Rank 0 of two, alone in this process: the collectives answer as if the other rank agreed.
class FakeWorld final : public app::World {
 public:
  int rank() const override { return 0; }
  int size() const override { return 2; }
  std::int64_t broadcast(std::int64_t value) override { return value; }
  std::uint64_t concatenate(const std::filesystem::path&, const std::filesystem::path&) override {
    throw std::logic_error("FakeWorld: no concatenate in these tests");
  }
  int local_size() const override { return 1; }
  std::string node_name() const override { return "fake"; }
  void barrier() override {}
  void start_watch(std::atomic<bool>*) override {}
  bool end_watch() override { return false; }
  void notify_failure() override { ++notices; }
  int first_failed(bool failed) override { return failed ? 0 : -1; }
  bool any(bool mine) override { return mine; }
  int notices = 0;
};

// A request for a graph of 6 x 3000 cells (several tiles), metrics in dir's SQLite file.
app::RunRequest request_in(const test::TempDir& dir) {
  test::write_text(dir / "graph.json", R"({"name": "session_test", "grid": {"resolution": 1, "extent": [0, 0, 6, 3000]},
    "nodes": [{"id": "cells", "type": "session_test_source"},
              {"id": "out", "type": "session_test_sink", "inputs": ["cells"]}]})");
  app::RunRequest r;
  r.graph = (dir / "graph.json").string();
  r.output_dir = (dir / "out").string();
  r.threads = 2;
  return r;
}

long long experiments(const test::TempDir& dir, const std::string& status) {
  return test::sqlite_number(dir / "out" / "rasterflow_metrics.sqlite",
                             "SELECT COUNT(*) FROM experiments WHERE status = '" + status + "'");
}

}  // namespace

TEST_CASE("Session.RunsRecordsAndDescribesTheRun" * doctest::timeout(60)) {
  test::TempDir dir;
  g_on_write = OnWrite::keep;
  std::atomic<bool> cancel{false};
  app::RunSession session(request_in(dir), nullptr, &cancel);
  session.start();
  session.run();
  const RunSummary s = session.finish();
  CHECK(s.rows_written == 3000);
  CHECK(s.cells == 18000);
  CHECK(s.tiles > 1);
  REQUIRE(s.experiment_id.has_value());
  CHECK(experiments(dir, "succeeded") == 1);
  // The run's figures that `metrics --suggest` reads, from every front end.
  CHECK(test::sqlite_number(dir / "out" / "rasterflow_metrics.sqlite",
                            "SELECT COUNT(*) FROM pipeline_metrics WHERE metric_type = 'run' AND metric_name = "
                            "'cells' AND metric_value = 18000") == 1);
  const std::string text = app::describe(s);
  CHECK(text.rfind("RunSummary(3,000 rows of 18,000 cells (6 x 3000) in ", 0) == 0);
  CHECK(text.find("MiB (limit ") != std::string::npos);
}

TEST_CASE("Session.AFailingSinkFailsTheRunAndItsExperiment" * doctest::timeout(60)) {
  test::TempDir dir;
  g_on_write = OnWrite::fail;
  std::atomic<bool> cancel{false};
  app::RunSession session(request_in(dir), nullptr, &cancel);
  session.start();
  CHECK_NOTHROW(session.run());  // the error is kept for finish()
  CHECK_THROWS_WITH_AS(session.finish(), doctest::Contains("the disk is full (a test)"), RunError);
  CHECK(experiments(dir, "failed") == 1);
  CHECK(experiments(dir, "succeeded") == 0);
  g_on_write = OnWrite::keep;
}

TEST_CASE("Session.CancellationInterruptsTheRun" * doctest::timeout(60)) {
  test::TempDir dir;
  g_on_write = OnWrite::cancel;
  std::atomic<bool> cancel{false};
  g_cancel = &cancel;
  app::RunSession session(request_in(dir), nullptr, &cancel);
  session.start();
  session.run();
  CHECK_THROWS_AS(session.finish(), Interrupted);
  CHECK(experiments(dir, "interrupted") == 1);
  g_cancel = nullptr;
  g_on_write = OnWrite::keep;
}

TEST_CASE("Session.UnderMpiASinkThatCannotGatherIsRefusedBeforeTheRun" * doctest::timeout(60)) {
  test::TempDir dir;
  g_on_write = OnWrite::keep;
  std::atomic<bool> cancel{false};
  FakeWorld world;
  app::RunRequest r = request_in(dir);
  r.checkpoint = true;
  app::RunSession session(r, &world, &cancel);
  CHECK_THROWS_WITH_AS(session.start(),
                       doctest::Contains("node \"out\" (session_test_sink): this sink cannot combine the outputs of 2 "
                                         "MPI ranks"),
                       UsageError);
  CHECK(world.notices == 1);  // the other ranks are told, so that none starts
  CHECK_FALSE(std::filesystem::exists(dir / "out" / "rasterflow_metrics.sqlite"));
}

TEST_CASE("Session.RunFlagsAreDeclaredOnce") {
  // Every flag has help, and the names the two front ends use are each unique.
  std::set<std::string_view> names, cli;
  for (const app::RunFlag& f : app::run_flags()) {
    CHECK_MESSAGE(!f.help.empty(), f.name);
    CHECK_MESSAGE(names.insert(f.name).second, f.name);
    if (!f.cli.empty()) CHECK_MESSAGE(cli.insert(f.cli).second, f.cli);
  }
  CHECK(app::flag_name(app::Front::cli, "process_memory_limit") == "--memory-limit");
  CHECK(app::flag_name(app::Front::python, "process_memory_limit") == "process_memory_limit");
  // Both fronts build the same configuration from the same request.
  app::RunRequest r;
  r.threads = -1;
  r.front = app::Front::python;
  CHECK_THROWS_WITH_AS(app::make_config(r), "threads: expected a positive number, got -1", UsageError);
  r.front = app::Front::cli;
  CHECK_THROWS_WITH_AS(app::make_config(r), "--threads: expected a positive number, got -1", UsageError);
}
