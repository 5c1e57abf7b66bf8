#include <doctest/doctest.h>

#include <boost/json.hpp>
#include <map>
#include <set>

#include "app/sample_data.hpp"
#include "rasterflow/observers.hpp"
#include "support/test_support.hpp"

using namespace rasterflow;

TEST_CASE("Trace.ChromeTraceEvents.SpansPerThreadAndCounters" * doctest::timeout(120)) {
  test::TempDir dir;
  app::generate_sample_data(dir / "data", "small");
  const std::string graph = R"({"grid": {"resolution": 0.02}, "nodes": [
    {"id": "t_src", "type": "raster_source", "path": "data/temperature.tif"},
    {"id": "temperature", "type": "resample", "inputs": ["t_src"], "method": "average"},
    {"id": "m", "type": "merge", "inputs": ["temperature"]},
    {"id": "out", "type": "csv_sink", "inputs": ["m"], "path": "out.csv"}]})";
  Run run;
  run.observers.push_back(std::make_shared<TraceObserver>(dir / "trace.json"));
  const RunSummary s = test::run_graph_json(dir.path(), graph, {}, {"merge.chunk_size=20"}, std::move(run));
  REQUIRE(std::filesystem::exists(dir / "trace.json"));
  CHECK_FALSE(std::filesystem::exists(dir / "trace.json.partial"));
  const boost::json::value root = boost::json::parse(test::read_text(dir / "trace.json"));  // valid JSON
  const auto& events = root.at("traceEvents").as_array();
  std::map<std::string, int> spans_per_node;
  std::map<std::int64_t, std::vector<std::pair<std::int64_t, std::int64_t>>> spans_per_thread;
  std::set<std::string> counters;
  for (const auto& e : events) {
    const auto& o = e.as_object();
    const std::string ph(o.at("ph").as_string());
    if (ph == "X") {
      ++spans_per_node[std::string(o.at("name").as_string())];
      spans_per_thread[o.at("tid").as_int64()].emplace_back(o.at("ts").as_int64(), o.at("dur").as_int64());
      CHECK(o.at("args").as_object().contains("tile"));
    } else if (ph == "C") {
      counters.insert(std::string(o.at("name").as_string()));
    }
  }
  // One span per node per tile; the sink has two: formatting (parallel) and its serial write.
  for (const char* id : {"t_src", "temperature", "m"}) CHECK(spans_per_node[id] == static_cast<int>(s.tiles));
  CHECK(spans_per_node["out"] == 2 * static_cast<int>(s.tiles));
  CHECK(s.tiles >= 5);
  // A thread runs one node at a time: its spans do not overlap.
  for (auto& [tid, spans] : spans_per_thread) {
    std::sort(spans.begin(), spans.end());
    for (std::size_t i = 1; i < spans.size(); ++i)
      CHECK(spans[i - 1].first + spans[i - 1].second <= spans[i].first + 1);
  }
  CHECK(counters.count("process RSS") == 1);
  CHECK(counters.count("tiles in flight") == 1);
}
