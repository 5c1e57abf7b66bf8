// Node option values are checked once (#27 item 6): when the graph loads (every node's values
// before any node opens a file), and the node's bind_options() then only converts them; a
// NodeSpec built by hand (an embedder's build_node, a test) is checked when it binds instead.
#include <doctest/doctest.h>

#include <string>

#include "rasterflow/errors.hpp"
#include "rasterflow/graph.hpp"
#include "rasterflow/node/option_binder.hpp"
#include "rasterflow/node/registry.hpp"

using namespace rasterflow;

namespace {

int g_checks = 0;  // how many times the option's own check has run

enum class Mode { fast, exact };
constexpr EnumChoice<Mode> kModes[] = {{"fast", Mode::fast}, {"exact", Mode::exact}};

struct CountedOptions {
  int level = 0;
  Mode mode = Mode::fast;
  std::optional<Mode> preferred;
  void declare(OptionBinder& args) {
    args.add("level", "an even level", level, 2).min(0).check([](const OptionValue& v) {
      ++g_checks;
      return std::get<std::int64_t>(v) % 2 == 0 ? std::string() : std::string("expected an even level");
    });
    args.add("mode", "how", mode, Mode::fast, kModes);
    args.add("preferred", "how, when it may choose (auto: either)", preferred, kModes);
  }
};

class Counted final : public Node {
 public:
  explicit Counted(NodeSpec spec) : Node(std::move(spec)), options_(bind_options<CountedOptions>(this->spec())) {}
  PayloadPtr process(const TileRequest&, std::span<const PayloadPtr> inputs) override { return inputs[0]; }
  const CountedOptions& options() const { return options_; }

 private:
  CountedOptions options_;
};
RASTERFLOW_REGISTER_NODE((NodeTypeInfo{.name = "test_counted",
                                       .description = "test double counting its option checks",
                                       .options = declared_options<CountedOptions>(),
                                       .min_inputs = 1,
                                       .max_inputs = 1,
                                       .input_kind = EdgeKind::raster,
                                       .output_kind = EdgeKind::raster,
                                       .create = create_node<Counted>}))

std::string graph_with(const std::string& counted_options) {
  return R"({"grid": {"crs": "EPSG:4326", "resolution": 0.5}, "nodes": [
    {"id": "a_src", "type": "raster_source", "path": "a.tif"},
    {"id": "a", "type": "resample", "inputs": ["a_src"]},
    {"id": "c", "type": "test_counted", "inputs": ["a"])" +
         counted_options + R"(},
    {"id": "m", "type": "merge", "inputs": ["c"]},
    {"id": "out", "type": "csv_sink", "inputs": ["m"], "path": "out.csv"}]})";
}

std::size_t occurrences(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("Options.CheckedOnce.WhenTheGraphLoadsNotAgainWhenTheNodeBinds") {
  g_checks = 0;
  const GraphSpec graph = parse_graph(graph_with(R"(, "level": 4, "mode": "exact", "preferred": "exact")"), "g.json");
  CHECK(g_checks == 1);  // checked when the graph loaded
  const NodeSpec& spec = graph.nodes.at(2);
  REQUIRE(spec.id == "c");
  CHECK(spec.options_checked);
  const auto node = NodeRegistry::instance().find("test_counted")->create(spec);
  CHECK(g_checks == 1);  // binding converted the values without checking them again
  const auto& options = dynamic_cast<const Counted&>(*node).options();
  CHECK(options.level == 4);
  CHECK(options.mode == Mode::exact);
  CHECK(options.preferred == Mode::exact);  // the enum itself reaches the node
}

TEST_CASE("Options.CheckedOnce.InvalidValueReportedOnceNamingNodeAndOption") {
  for (const std::string bad :
       {R"(, "level": 3)", R"(, "level": -2)", R"(, "mode": "slow")", R"(, "preferred": "slow")"}) {
    CAPTURE(bad);
    g_checks = 0;
    std::string message;
    try {
      parse_graph(graph_with(bad), "g.json");  // refused when the graph loads, before any node is built
    } catch (const GraphError& e) {
      message = e.what();
    }
    CHECK(message.find("g.json: node \"c\" (test_counted): option \"") != std::string::npos);
    CHECK(occurrences(message, "option \"") == 1);  // one report
    CHECK(g_checks <= 1);                           // the value's one check
  }
}

TEST_CASE("Options.CheckedOnce.HandBuiltSpecIsCheckedWhenItBinds") {
  // Not loaded from a graph: nothing checked it yet, so binding does, once.
  g_checks = 0;
  NodeSpec spec{.id = "c", .type = "test_counted", .graph_file = "g.json"};
  spec.options.set("level", std::int64_t{5});
  std::string message;
  try {
    NodeRegistry::instance().find("test_counted")->create(spec);
  } catch (const GraphError& e) {
    message = e.what();
  }
  CHECK(message == "g.json: node \"c\" (test_counted): option \"level\": expected an even level");
  CHECK(g_checks == 1);
  spec.options.set("level", std::int64_t{2});
  spec.options.set("preferred", std::string("slow"));
  CHECK_THROWS_WITH_AS(
      NodeRegistry::instance().find("test_counted")->create(spec),
      doctest::Contains("option \"preferred\": unknown value \"slow\" (expected one of: auto, fast, exact)"),
      GraphError);
}

TEST_CASE("Options.CheckedOnce.RasterSourceEnumsRefusedWhenTheGraphLoads") {
  // raster_source's enum options take their choices from their tables; a wrong name is refused
  // by the loader, before the source's file is opened (a.tif does not exist).
  const std::pair<std::string, std::string> cases[] = {
      {"overviews", "unknown value \"some\" (expected one of: none, auto)"},
      {"irregular_axes", "unknown value \"some\" (expected one of: coordinates, refuse, even)"},
      {"transformer", "unknown value \"some\" (expected one of: auto, geotransform, gcp_polynomial, gcp_tps, rpc)"},
      {"decoding",
       "unknown value \"some\" (expected one of: auto, block_rows, lean_block_rows, streams, small_streams, "
       "zlib_streams, gdal_cache)"}};
  for (const auto& [option, problem] : cases) {
    std::string graph = graph_with("");
    graph.replace(graph.find("\"a.tif\""), 7, "\"a.tif\", \"" + option + "\": \"some\"");
    CHECK_THROWS_WITH_AS(parse_graph(graph, "g.json"),
                         ("g.json: node \"a_src\" (raster_source): option \"" + option + "\": " + problem).c_str(),
                         GraphError);
  }
}
