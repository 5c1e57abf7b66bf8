#include <doctest/doctest.h>

#include "rasterflow/errors.hpp"
#include "rasterflow/graph.hpp"
#include "rasterflow/node/registry.hpp"

using namespace rasterflow;

namespace {
const char* const kValid = R"({
  "name": "t",
  "grid": { "crs": "EPSG:4326", "resolution": 0.5, "extent": "intersection" },
  "nodes": [
    { "id": "a_src", "type": "raster_source", "path": "a.tif" },
    { "id": "a", "type": "resample", "inputs": ["a_src"], "method": "average" },
    { "id": "m", "type": "merge", "inputs": ["a"] },
    { "id": "out", "type": "csv_sink", "inputs": ["m"], "path": "out.csv" }
  ]
})";

std::string graph_error(const std::string& json, const Config& config = {}) {
  try {
    parse_graph(json, "graphs/g.json", config);
  } catch (const GraphError& e) {
    return e.what();
  }
  return "(no error)";
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}
}  // namespace

TEST_CASE("Graph.Load.ValidGraphInTopologicalOrder") {
  const GraphSpec g = parse_graph(kValid, "graphs/g.json");
  CHECK(g.name == "t");
  REQUIRE(g.nodes.size() == 4);
  CHECK(g.nodes[0].id == "a_src");
  CHECK(g.nodes[3].id == "out");
  CHECK(g.grid.resolution.value()[0] == 0.5);
  // Input paths are relative to the graph file's folder; defaults are bound.
  CHECK(g.nodes[0].options.str("path") == "graphs/a.tif");
  CHECK(g.nodes[0].options.strings("band") == std::vector<std::string>{"1"});
  CHECK(g.nodes[2].options.str("drop") == "all_nodata");
}

TEST_CASE("Graph.Load.NodeOverridesFromSet") {
  Config c;
  c.set("nodes.a.method=max");
  const GraphSpec g = parse_graph(kValid, "graphs/g.json", c);
  CHECK(g.nodes[1].options.str("method") == "max");
  Config bad;
  bad.set("nodes.a.method=avg");
  CHECK(graph_error(kValid, bad).find("unknown value \"avg\"") != std::string::npos);
  Config missing;
  missing.set("nodes.nope.method=max");
  CHECK(graph_error(kValid, missing).find("no node with id \"nope\"") != std::string::npos);
}

TEST_CASE("Graph.Errors.MalformedJsonHasLineAndColumn") {
  const std::string e = graph_error("{\n  \"nodes\": [\n    { \"id\": \"a\", }\n  ]\n}");
  CHECK(e.find("graphs/g.json:3:") != std::string::npos);
  CHECK(e.find("invalid JSON") != std::string::npos);
}

TEST_CASE("Graph.Errors.UnknownTypeWithSuggestion") {
  const std::string e = graph_error(replace(kValid, "\"type\": \"resample\"", "\"type\": \"resampel\""));
  CHECK(e.find("node \"a\"") != std::string::npos);
  CHECK(e.find("unknown node type \"resampel\"") != std::string::npos);
  CHECK(e.find("did you mean \"resample\"") != std::string::npos);
}

TEST_CASE("Graph.Errors.UnknownOptionWithSuggestion") {
  const std::string e = graph_error(replace(kValid, "\"method\": \"average\"", "\"methd\": \"average\""));
  CHECK(e.find("graphs/g.json: node \"a\" (resample): unknown option \"methd\"") != std::string::npos);
  CHECK(e.find("did you mean \"method\"") != std::string::npos);
}

TEST_CASE("Graph.Errors.BadOptionValueListsChoices") {
  const std::string e = graph_error(replace(kValid, "\"method\": \"average\"", "\"method\": \"avg\""));
  CHECK(e.find("graphs/g.json: node \"a\" (resample): option \"method\": unknown value \"avg\" (expected one of: "
               "nearest,") != std::string::npos);
}

TEST_CASE("Graph.Errors.WrongOptionType") {
  CHECK(graph_error(replace(kValid, "\"path\": \"a.tif\"", "\"path\": \"a.tif\", \"band\": \"one\""))
            .find("option \"band\": expected an integer >= 1, a list of them or \"all\", got a string") !=
        std::string::npos);
  CHECK(graph_error(replace(kValid, "\"path\": \"a.tif\"", "\"path\": \"a.tif\", \"band\": 0"))
            .find("option \"band\": 0 is out of range") != std::string::npos);
  CHECK(graph_error(replace(kValid, "\"path\": \"a.tif\"", "\"path\": 3")).find("option \"path\": expected a string") !=
        std::string::npos);
}

TEST_CASE("Graph.Errors.DuplicateIds") {
  CHECK(graph_error(replace(kValid, "\"id\": \"m\"", "\"id\": \"a\"")).find("duplicate id") != std::string::npos);
}

TEST_CASE("Graph.Errors.DanglingInput") {
  const std::string e = graph_error(replace(kValid, "\"inputs\": [\"a\"]", "\"inputs\": [\"b\"]"));
  CHECK(e.find("node \"m\" (merge): field \"inputs\": no node with id \"b\"") != std::string::npos);
}

namespace {
// A test double: a node that passes rasters through, so that cycles of matching kinds exist.
class Passthrough final : public Node {
 public:
  using Node::Node;
  PayloadPtr process(const TileRequest&, std::span<const PayloadPtr> inputs) override { return inputs[0]; }
};
RASTERFLOW_REGISTER_NODE((NodeTypeInfo{.name = "test_passthrough",
                                       .description = "test double",
                                       .min_inputs = 1,
                                       .max_inputs = 1,
                                       .input_kind = EdgeKind::raster,
                                       .output_kind = EdgeKind::raster,
                                       .create = create_node<Passthrough>}))
}  // namespace

TEST_CASE("Graph.Errors.Cycle") {
  const std::string cyclic = R"({"nodes": [
    { "id": "s", "type": "raster_source", "path": "a.tif" },
    { "id": "r", "type": "resample", "inputs": ["s"] },
    { "id": "p1", "type": "test_passthrough", "inputs": ["p2"] },
    { "id": "p2", "type": "test_passthrough", "inputs": ["p1"] },
    { "id": "m", "type": "merge", "inputs": ["r", "p2"] },
    { "id": "out", "type": "csv_sink", "inputs": ["m"], "path": "o.csv" }]})";
  CHECK(graph_error(cyclic).find("the graph has a cycle through nodes \"p1\", \"p2\"") != std::string::npos);
  CHECK(graph_error(replace(kValid, "\"inputs\": [\"a\"]", "\"inputs\": [\"m\"]")).find("cannot be its own input") !=
        std::string::npos);
}

TEST_CASE("Graph.Errors.InputOfTheWrongKind") {
  // merge takes rasters; a merge produces a table.
  const std::string wrong = R"({"nodes": [
    { "id": "s", "type": "raster_source", "path": "a.tif" },
    { "id": "r", "type": "resample", "inputs": ["s"] },
    { "id": "m1", "type": "merge", "inputs": ["r"] },
    { "id": "m2", "type": "merge", "inputs": ["m1"] },
    { "id": "out", "type": "csv_sink", "inputs": ["m2"], "path": "o.csv" }]})";
  CHECK(graph_error(wrong).find(
            "node \"m2\" (merge): field \"inputs\": \"m1\" (merge) produces table, but merge takes raster") !=
        std::string::npos);
}

TEST_CASE("Graph.Errors.SinkWithoutInputAndNoSink") {
  CHECK(graph_error(replace(kValid, "\"inputs\": [\"m\"], ", ""))
            .find("node \"out\" (csv_sink): field \"inputs\": 0 given, expected 1") != std::string::npos);
  const std::string no_sink = R"({"nodes": [
    { "id": "s", "type": "raster_source", "path": "a.tif" },
    { "id": "r", "type": "resample", "inputs": ["s"] },
    { "id": "m", "type": "merge", "inputs": ["r"] }]})";
  CHECK(graph_error(no_sink).find("used by no node") != std::string::npos);
}

TEST_CASE("Graph.Errors.GridFields") {
  CHECK(graph_error(replace(kValid, "\"resolution\": 0.5", "\"resolution\": 0"))
            .find("\"resolution\": must be greater than 0") != std::string::npos);
  CHECK(graph_error(replace(kValid, "\"resolution\": 0.5", "\"resolution\": -1")).find("greater than 0") !=
        std::string::npos);
  CHECK(graph_error(replace(kValid, "\"extent\": \"intersection\"", "\"extent\": \"intersect\""))
            .find("\"extent\": unknown value") != std::string::npos);
  CHECK(graph_error(replace(kValid, "\"extent\": \"intersection\"", "\"extent\": [1, 2, 0, 3]")).find("xmin < xmax") !=
        std::string::npos);
  CHECK(
      graph_error(replace(kValid, "\"crs\": \"EPSG:4326\"", "\"crss\": \"EPSG:4326\"")).find("did you mean \"crs\"") !=
      std::string::npos);
}

TEST_CASE("Graph.Errors.UnknownTopLevelField") {
  CHECK(graph_error(replace(kValid, "\"name\": \"t\"", "\"nmae\": \"t\""))
            .find("unknown field \"nmae\" (did you mean \"name\"?)") != std::string::npos);
}

TEST_CASE("Graph.Errors.MissingFile") {
  CHECK_THROWS_WITH_AS(load_graph("/nonexistent/g.json"), doctest::Contains("no such file"), GraphError);
}

TEST_CASE("Registry.Nodes.EveryExpectedTypeIsRegistered") {
  for (const char* name :
       {"raster_source", "resample", "merge", "csv_sink", "raster_sink", "postgres_sink", "parquet_sink"}) {
    CHECK_MESSAGE(NodeRegistry::instance().find(name) != nullptr, name);
  }
}
