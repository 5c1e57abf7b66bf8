#include <doctest/doctest.h>

#include <boost/json.hpp>

#include "rasterflow/errors.hpp"
#include "rasterflow/graph.hpp"
#include "rasterflow/metrics.hpp"
#include "rasterflow/node/node_reference.hpp"
#include "rasterflow/node/option_binder.hpp"
#include "rasterflow/node/registry.hpp"
#include "rasterflow/observers.hpp"
#include "rasterflow/pipeline.hpp"
#include "support/test_support.hpp"

using namespace rasterflow;

namespace {

// One member of every kind an option can bind to.
struct Everything {
  std::string name;
  std::string method;
  std::int64_t count = 0;
  int band = 0;
  double scale = 0;
  bool verbose = true;
  std::vector<std::string> columns;
  std::optional<double> nodata;
  std::optional<std::string> comment;
  std::string input;
  std::string output;
  std::string url;
  void declare(OptionBinder& args) {
    args.add("name", "a required string", name);
    args.add("method", "a choice", method, "nearest").choices({"nearest", "average"});
    args.add("count", "an integer with bounds", count, 4).min(1).max(10);
    args.add("band", "an int", band, 1).min(1);
    args.add("scale", "a number", scale, 0.5);
    args.add("verbose", "a boolean", verbose, false);
    args.add("columns", "a list", columns, std::vector<std::string>{"a", "b"});
    args.add("nodata", "a number without default", nodata);
    args.add("comment", "a string without default", comment);
    args.add("input", "a file read", input, "in.tif").input_path();
    args.add("output", "a file written", output, "out.csv").output_path();
    args.add("url", "a database URL", url, "postgresql://localhost/db").secret();
  }
};

NodeSpec spec_with(std::initializer_list<std::pair<const char*, OptionValue>> values) {
  NodeSpec spec;
  spec.id = "e";
  spec.type = "everything";
  spec.graph_file = "graphs/g.json";
  for (const auto& [name, value] : values) spec.options.set(name, value);
  return spec;
}

std::string bind_error(const NodeSpec& spec) {
  try {
    bind_options<Everything>(spec);
  } catch (const GraphError& e) {
    return e.what();
  }
  return "(no error)";
}

const OptionSpec& find_option(const std::vector<OptionSpec>& specs, const std::string& name) {
  const auto it = std::find_if(specs.begin(), specs.end(), [&](const OptionSpec& o) { return o.name == name; });
  REQUIRE(it != specs.end());
  return *it;
}

}  // namespace

TEST_CASE("Options.Declare.MemberTypeDecidesTheOptionType") {
  const auto specs = declared_options<Everything>();
  REQUIRE(specs.size() == 12);
  CHECK(specs[0].name == "name");  // declaration order
  CHECK(find_option(specs, "name").type == OptionType::string);
  CHECK(find_option(specs, "name").required);
  CHECK(find_option(specs, "count").type == OptionType::integer);
  CHECK(find_option(specs, "band").type == OptionType::integer);
  CHECK(find_option(specs, "scale").type == OptionType::number);
  CHECK(find_option(specs, "verbose").type == OptionType::boolean);
  CHECK(find_option(specs, "columns").type == OptionType::string_list);
  CHECK(find_option(specs, "nodata").type == OptionType::number);
  CHECK(find_option(specs, "comment").type == OptionType::string);
  CHECK(find_option(specs, "input").type == OptionType::input_path);
  CHECK(find_option(specs, "output").type == OptionType::output_path);
  CHECK(find_option(specs, "url").type == OptionType::secret);
  // Defaults, as the graph loader binds them; optional members have none and are not required.
  CHECK(std::get<std::int64_t>(find_option(specs, "band").default_value) == 1);
  CHECK(std::get<std::string>(find_option(specs, "method").default_value) == "nearest");
  CHECK(std::get<double>(find_option(specs, "scale").default_value) == 0.5);
  CHECK(std::holds_alternative<std::monostate>(find_option(specs, "nodata").default_value));
  CHECK_FALSE(find_option(specs, "nodata").required);
  CHECK(find_option(specs, "method").choices == std::vector<std::string>{"nearest", "average"});
  CHECK(find_option(specs, "count").min == 1.0);
  CHECK(find_option(specs, "count").max == 10.0);
}

TEST_CASE("Options.Bind.FillsDefaultsAndGivenValues") {
  const Everything defaults = bind_options<Everything>(spec_with({{"name", std::string("n")}}));
  CHECK(defaults.name == "n");
  CHECK(defaults.method == "nearest");
  CHECK(defaults.count == 4);
  CHECK(defaults.band == 1);
  CHECK(defaults.scale == 0.5);
  CHECK(defaults.verbose == false);
  CHECK(defaults.columns == std::vector<std::string>{"a", "b"});
  CHECK_FALSE(defaults.nodata.has_value());
  CHECK_FALSE(defaults.comment.has_value());
  CHECK(defaults.url == "postgresql://localhost/db");

  const Everything given =
      bind_options<Everything>(spec_with({{"name", std::string("n")},
                                          {"method", std::string("average")},
                                          {"count", std::int64_t{7}},
                                          {"band", std::int64_t{3}},
                                          {"scale", std::int64_t{2}},  // integers convert to numbers
                                          {"verbose", true},
                                          {"columns", std::vector<std::string>{"x"}},
                                          {"nodata", -9999.0},
                                          {"comment", std::string("hi")}}));
  CHECK(given.method == "average");
  CHECK(given.count == 7);
  CHECK(given.band == 3);
  CHECK(given.scale == 2.0);
  CHECK(given.verbose == true);
  CHECK(given.columns == std::vector<std::string>{"x"});
  CHECK(given.nodata == -9999.0);
  CHECK(given.comment == "hi");
}

TEST_CASE("Options.Bind.ErrorsAreTheGraphLoadersMessages") {
  const std::string where = "graphs/g.json: node \"e\" (everything): ";
  CHECK(bind_error(spec_with({})) == where + "option \"name\": required (a required string)");
  CHECK(bind_error(spec_with({{"name", std::string("n")}, {"band", std::string("one")}})) ==
        where + "option \"band\": expected an integer, got a string");
  CHECK(bind_error(spec_with({{"name", std::string("n")}, {"scale", true}})) ==
        where + "option \"scale\": expected a number, got a boolean");
  CHECK(bind_error(spec_with({{"name", std::string("n")}, {"method", std::string("avg")}})) ==
        where + "option \"method\": unknown value \"avg\" (expected one of: nearest, average)");
  CHECK(bind_error(spec_with({{"name", std::string("n")}, {"count", std::int64_t{0}}})) ==
        where + "option \"count\": 0 is out of range (expected >= 1)");
  CHECK(bind_error(spec_with({{"name", std::string("n")}, {"count", std::int64_t{11}}})) ==
        where + "option \"count\": 11 is out of range (expected <= 10)");
  CHECK(bind_error(spec_with({{"name", std::string("n")}, {"band", std::int64_t{1} << 40}}))
            .find("option \"band\": 1099511627776 is out of range") != std::string::npos);
}

TEST_CASE("Options.Bind.TypeMismatchSameThroughTheRegistryAsThroughTheGraph") {
  // The graph loader refuses it first; a node created from a spec the loader did not check
  // refuses it with the same words when its options are bound.
  const char* const graph = R"({"nodes": [
    {"id": "a_src", "type": "raster_source", "path": "a.tif", "band": "one"},
    {"id": "a", "type": "resample", "inputs": ["a_src"]},
    {"id": "m", "type": "merge", "inputs": ["a"]},
    {"id": "out", "type": "csv_sink", "inputs": ["m"], "path": "out.csv"}]})";
  const std::string expected =
      "graphs/g.json: node \"a_src\" (raster_source): option \"band\": expected an integer >= 1, a list of them or "
      "\"all\", got a string";
  CHECK_THROWS_WITH_AS(parse_graph(graph, "graphs/g.json"), expected.c_str(), GraphError);
  NodeSpec spec;
  spec.id = "a_src";
  spec.type = "raster_source";
  spec.graph_file = "graphs/g.json";
  spec.options.set("path", std::string("a.tif"));
  spec.options.set("band", std::string("one"));
  CHECK_THROWS_WITH_AS(NodeRegistry::instance().find("raster_source")->create(spec), expected.c_str(), GraphError);
}

namespace {
struct BoundOnAString {
  std::string s;
  void declare(OptionBinder& args) { args.add("s", "", s, "x").min(1); }
};
struct PathOnAnInteger {
  std::int64_t i = 0;
  void declare(OptionBinder& args) { args.add("i", "", i, 1).input_path(); }
};
struct DeclaredTwice {
  std::string a, b;
  void declare(OptionBinder& args) {
    args.add("a", "", a, "x");
    args.add("a", "", b, "y");
  }
};
}  // namespace

// A member whose type cannot hold an option does not compile: add() requires an OptionMember.
static_assert(OptionMember<std::string> && OptionMember<int> && OptionMember<std::optional<std::int64_t>>);
static_assert(!OptionMember<float> && !OptionMember<std::vector<int>> && !OptionMember<std::optional<float>>);

TEST_CASE("Options.Declare.ConstraintsThatDoNotFitTheMemberAreRefused") {
  CHECK_THROWS_AS(declared_options<BoundOnAString>(), std::logic_error);
  CHECK_THROWS_AS(declared_options<PathOnAnInteger>(), std::logic_error);
  CHECK_THROWS_WITH(declared_options<DeclaredTwice>(), "option \"a\" declared twice");
}

TEST_CASE("Options.Secret.MaskedText") {
  CHECK(mask_secret("postgresql://user:hunter2@db.example/metrics") == "postgresql://user:***@db.example/metrics");
  CHECK(mask_secret("host=db password=hunter2") == "host=db password=***");
  CHECK(mask_secret("hunter2") == "***");  // nothing that looks like a password: all of it
  CHECK(mask_secret("") == "");
}

namespace {
// A test-only node type with secret options: passes its raster input through.
struct SecretOptions {
  std::string url;
  std::optional<std::string> token;
  std::string label;
  void declare(OptionBinder& args) {
    args.add("url", "where the node would connect, with its password", url).secret();
    args.add("token", "an access token", token).secret();
    args.add("label", "shown as is", label, "visible");
  }
};
class SecretPassthrough final : public Node {
 public:
  explicit SecretPassthrough(NodeSpec spec)
      : Node(std::move(spec)), options_(bind_options<SecretOptions>(this->spec())) {}
  PayloadPtr process(const TileRequest&, std::span<const PayloadPtr> inputs) override { return inputs[0]; }

 private:
  SecretOptions options_;
};
RASTERFLOW_REGISTER_NODE((NodeTypeInfo{.name = "test_secret",
                                       .description = "test double with secret options",
                                       .options = declared_options<SecretOptions>(),
                                       .min_inputs = 1,
                                       .max_inputs = 1,
                                       .input_kind = EdgeKind::raster,
                                       .output_kind = EdgeKind::raster,
                                       .create = create_node<SecretPassthrough>}))

const char* const kSecretGraph = R"({
  "nodes": [
    { "id": "a_src", "type": "raster_source", "path": "a.tif" },
    { "id": "a", "type": "resample", "inputs": ["a_src"] },
    { "id": "s", "type": "test_secret", "inputs": ["a"], "url": "postgresql://user:hunter2@db.example/x" },
    { "id": "m", "type": "merge", "inputs": ["s"] },
    { "id": "out", "type": "csv_sink", "inputs": ["m"], "path": "out.csv" }
  ]
})";

void write_secret_project(const test::TempDir& dir) {
  test::RasterSpec a;
  a.width = 4;
  a.height = 4;
  a.gt = {0, 1, 0, 4, 0, -1};
  test::write_raster(dir / "a.tif", a, {std::vector<double>(16, 1.0)});
  test::write_text(dir / "graph.json", kSecretGraph);
}
}  // namespace

TEST_CASE("Options.Secret.MaskedInPlans" * doctest::timeout(60)) {
  test::TempDir dir;
  write_secret_project(dir);
  Config config;
  config.set("nodes.s.token=tok-hunter3");
  const GraphSpec graph = load_graph(dir / "graph.json", config);
  PlanOptions options;
  options.output_dir = dir.path();
  Pipeline pipeline(graph, config, options);
  std::string text;
  for (const auto& line : pipeline.plan().text()) text += line + "\n";
  CHECK(text.find("options: url=postgresql://user:***@db.example/x, token=***, label=visible") != std::string::npos);
  const std::string json = pipeline.plan().json();
  const auto s = boost::json::parse(json).at("nodes").as_array()[2].as_object();
  CHECK(s.at("options").at("url").as_string() == "postgresql://user:***@db.example/x");
  CHECK(s.at("options").at("token").as_string() == "***");
  const std::string dot = pipeline.plan().dot();
  CHECK(dot.find("token=***") != std::string::npos);
  for (const std::string& shown : {text, json, dot}) {
    CHECK(shown.find("hunter2") == std::string::npos);
    CHECK(shown.find("hunter3") == std::string::npos);
  }
  // The node itself gets the secret whole.
  CHECK(graph.nodes[2].options.str("url") == "postgresql://user:hunter2@db.example/x");
  // `rasterflow nodes`' text shows its kind.
  const std::string reference = node_reference_text(*NodeRegistry::instance().find("test_secret"), false);
  CHECK(reference.find("url             secret, required") != std::string::npos);
}

TEST_CASE("Options.Secret.MaskedInStoredMetrics" * doctest::timeout(60)) {
  test::TempDir dir;
  write_secret_project(dir);
  Config config;
  config.set("nodes.s.token=tok-hunter3");
  const GraphSpec graph = load_graph(dir / "graph.json", config);
  PlanOptions options;
  options.output_dir = dir.path();
  Pipeline pipeline(graph, config, options);
  ExperimentInfo info;  // as `rasterflow run` fills it
  info.name = "secret";
  info.graph_json = graph.json;
  info.config_json = masked_config_json(config, graph);
  const auto file = dir / "metrics.sqlite";
  MetricsRecorder recorder([file] { return open_sqlite_metrics(file); }, info);
  recorder.start(true);
  Run run;
  run.observers.push_back(
      std::make_shared<MetricRowsObserver>([&recorder](MetricRow row) { recorder.record(std::move(row)); },
                                           std::chrono::milliseconds(config.metrics.interval_ms)));
  pipeline.run(std::move(run));
  recorder.finish("succeeded", "", std::chrono::seconds(10));
  const QueryResult e = open_sqlite_metrics(file)->query("SELECT graph_json, config_json FROM experiments", {});
  REQUIRE(e.rows.size() == 1);
  const std::string stored_graph = e.rows[0][0].value();
  const std::string stored_config = e.rows[0][1].value();
  CHECK(stored_graph.find("postgresql://user:***@db.example/x") != std::string::npos);
  CHECK(stored_config.find("\"token\":\"***\"") != std::string::npos);
  for (const std::string& stored : {stored_graph, stored_config}) {
    CHECK(stored.find("hunter2") == std::string::npos);
    CHECK(stored.find("hunter3") == std::string::npos);
  }
  // A graph without secrets is kept byte for byte.
  const std::string plain = R"({"nodes": [
    {"id": "a_src", "type": "raster_source", "path": "a.tif"},
    {"id": "a", "type": "resample", "inputs": ["a_src"]},
    {"id": "m", "type": "merge", "inputs": ["a"]},
    {"id": "out", "type": "csv_sink", "inputs": ["m"], "path": "out.csv"}]})";
  CHECK(parse_graph(plain, "g.json").json == plain);
}
