// The Python module's chunk sink (python/chunk_sink.*) without Python: the engine runs a graph
// whose sink is replaced by it (PlanOptions::build_node), and a consumer thread drains its
// bounded queue, slowly or not at all. Here so that the sanitizer builds (which cannot load the
// Python module) check its threads too; tests/python/ checks the module itself.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "python/chunk_sink.hpp"
#include "rasterflow/errors.hpp"
#include "rasterflow/pipeline.hpp"
#include "support/test_support.hpp"

using namespace rasterflow;

namespace {

struct ChunkRun {
  std::shared_ptr<python::ChunkQueue> queue = std::make_shared<python::ChunkQueue>(2);
  std::atomic<bool> cancel{false};
  std::unique_ptr<Pipeline> pipeline;
  std::exception_ptr error;
  std::thread engine;

  ChunkRun(GraphSpec graph, bool masked) {
    graph.nodes.back().type = python::kChunkSinkType;  // the csv_sink's place
    PlanOptions options;
    options.tile_rows = 4;
    options.threads = 2;
    options.build_node = [this, masked](const NodeSpec& s) -> std::unique_ptr<Node> {
      if (s.type != python::kChunkSinkType) return nullptr;
      return std::make_unique<python::ChunkSink>(s, queue, masked);
    };
    pipeline = std::make_unique<Pipeline>(graph, Config{}, options);
    engine = std::thread([this] {
      try {
        Run run;
        run.cancel = &cancel;
        pipeline->run(std::move(run));
      } catch (...) {
        error = std::current_exception();
      }
      queue->finish();
    });
  }
  ~ChunkRun() {
    if (engine.joinable()) engine.join();
  }
};

std::vector<std::vector<std::string>> csv_rows(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> fields;
    std::string field;
    std::istringstream l(line);
    while (std::getline(l, field, ',')) fields.push_back(field);
    if (!line.empty() && line.back() == ',') fields.emplace_back();
    rows.push_back(fields);
  }
  return rows;
}

}  // namespace

TEST_CASE("Seams.ChunkSinkHandsTheCsvRowsInOrderToASlowConsumer" * doctest::timeout(120)) {
  test::TempDir dir;
  const std::string graph_file = test::make_demo_project(dir);
  const GraphSpec graph = load_graph(graph_file);
  PlanOptions csv_options;
  csv_options.tile_rows = 4;
  csv_options.output_dir = dir / "out";
  std::filesystem::create_directories(csv_options.output_dir);
  Pipeline(graph, Config{}, csv_options).run();
  const auto rows = csv_rows(test::read_text(dir / "out" / "merged.csv"));
  REQUIRE(rows.size() > 1000);

  for (const bool masked : {false, true}) {
    CAPTURE(masked);
    ChunkRun run(graph, masked);
    std::size_t i = 0;
    std::int64_t last_row0 = -1;
    int chunks = 0;
    while (!run.queue->finished_and_empty()) {
      const python::ChunkPtr chunk = run.queue->pop(100);
      if (!chunk) continue;
      ++chunks;
      CHECK(chunk->row0 > last_row0);  // raster order
      last_row0 = chunk->row0;
      REQUIRE(chunk->columns.size() == 3);
      for (std::size_t k = 0; k < chunk->x.size(); ++k, ++i) {
        REQUIRE(i < rows.size());
        const auto& r = rows[i];
        CHECK(chunk->x[k] == std::strtod(r[0].c_str(), nullptr));
        CHECK(chunk->y[k] == std::strtod(r[1].c_str(), nullptr));
        for (std::size_t c = 0; c < 3; ++c) {
          const python::Chunk::Values& v = chunk->columns[c];
          const std::string& text = r[2 + c];
          if (masked) {
            CHECK((v.nodata[k] == 1) == text.empty());
          } else if (text.empty()) {
            CHECK(std::isnan(v.dtype == 'f' ? v.f32[k] : v.f64[k]));
          }
          if (text.empty()) continue;
          const double expected = std::strtod(text.c_str(), nullptr);
          if (v.dtype == 'f') {
            CHECK(v.f32[k] == static_cast<float>(expected));
          } else if (v.dtype == 'q') {
            CHECK(v.i64[k] == static_cast<std::int64_t>(expected));
          } else {
            CHECK(v.f64[k] == expected);
          }
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));  // a slow consumer: the engine waits
    }
    run.engine.join();
    CHECK_FALSE(run.error);
    CHECK(i == rows.size());
    CHECK(chunks > 10);
  }
}

TEST_CASE("Seams.ChunkSinkStopsTheRunWhenTheConsumerCloses" * doctest::timeout(120)) {
  test::TempDir dir;
  const GraphSpec graph = load_graph(test::make_demo_project(dir));
  ChunkRun run(graph, false);
  int taken = 0;
  while (taken < 2) {
    if (run.queue->pop(100)) ++taken;
  }
  // What rasterflow.chunks() does when the loop is left: close the queue (the blocked writer
  // drops its chunk and returns), cancel, join.
  run.queue->close();
  run.cancel.store(true);
  run.engine.join();
  REQUIRE(run.error);
  CHECK_THROWS_AS(std::rethrow_exception(run.error), Interrupted);
  CHECK(run.queue->pop(10) == nullptr);
}
