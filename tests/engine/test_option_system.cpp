// One option system (#27 item 6): configuration keys and node options are declared with the one
// binder, enum options carry their choices from one table, and cross-option rules sit in one
// validate() per options struct.
#include <doctest/doctest.h>

#include <algorithm>

#include "rasterflow/config.hpp"
#include "rasterflow/errors.hpp"
#include "rasterflow/node/option_binder.hpp"

using namespace rasterflow;

namespace {

const OptionSpec& config_option(const std::string& key) {
  const auto& all = config_options();
  const auto it = std::find_if(all.begin(), all.end(), [&](const OptionSpec& s) { return s.name == key; });
  REQUIRE(it != all.end());
  return *it;
}

// A node's options as a node author declares them: the same binder and constraints as a key.
struct TileOptions {
  int window = 0;
  std::uint64_t buffer = 0;
  void declare(OptionBinder& args) {
    args.add("window", "tile size bound", window, 2048).min(256);
    args.add("buffer", "bytes held", buffer, std::uint64_t{16} << 20).min(1 << 20);
  }
};

enum class Shape { square, round, triangle };
constexpr EnumChoice<Shape> kShapes[] = {
    {"square", Shape::square}, {"round", Shape::round}, {"triangle", Shape::triangle}, {"tri", Shape::triangle}};

struct ShapeOptions {
  Shape shape;
  int corners = 0;
  void declare(OptionBinder& args) {
    args.add("shape", "the tile's shape", shape, Shape::square, kShapes);
    args.add("corners", "rounded corners (square only)", corners, 0).min(0);
  }
  void validate(const std::string& where) const {
    if (corners > 0 && shape != Shape::square)
      throw_graph_error(where, "option \"corners\": applies to shape square only, not " +
                                   std::string(enum_name<Shape>(kShapes, shape)));
  }
};

NodeSpec spec_with(Options options) {
  NodeSpec spec{.id = "t", .type = "tile", .options = std::move(options), .graph_file = "g.json"};
  return spec;
}

}  // namespace

TEST_CASE("Options.OneSystem.ConfigKeysAreOptionSpecsOfTheBinder") {
  // A key's type, default and bounds are declared as a node option's are.
  const OptionSpec& warning = config_option("memory.warning_threshold");
  CHECK(warning.type == OptionType::number);
  CHECK(std::get<double>(warning.default_value) == Config{}.memory.warning_threshold);
  CHECK(warning.min == 0.0);
  CHECK(warning.min_exclusive);
  CHECK(warning.max == 1.0);
  const OptionSpec& limit = config_option("memory.limit");
  CHECK(limit.type == OptionType::size);
  CHECK(limit.zero_is_auto);
  CHECK(config_option("metrics.backend").choices == std::vector<std::string>{"sqlite", "postgresql", "none"});
  CHECK(config_option("database.url").type == OptionType::secret);
  // Every key of config_keys() is one of them, in the same order.
  REQUIRE(config_keys().size() == config_options().size());
  for (std::size_t i = 0; i < config_keys().size(); ++i) CHECK(config_keys()[i].key == config_options()[i].name);
}

TEST_CASE("Options.OneSystem.ConfigKeyAndNodeOptionThroughOnePath") {
  // The same text parser and the same check: a window of 100 is refused by both with one reason.
  const OptionSpec& key = config_option("resampling.window_size");
  const std::vector<OptionSpec> tile_specs = declared_options<TileOptions>();
  const OptionSpec& option = tile_specs.front();
  const auto key_value = parse_option_text(key, "100");
  const auto option_value = parse_option_text(option, "100");
  REQUIRE(key_value);
  REQUIRE(option_value);
  CHECK(option_value_problem(key, *key_value) == "100 is out of range (expected >= 256)");
  CHECK(option_value_problem(option, *option_value) == option_value_problem(key, *key_value));
  Config c;
  CHECK_THROWS_WITH_AS(c.set("resampling.window_size", "100", "--set"), doctest::Contains(">= 256"), ConfigError);
  Options small;
  small.set("window", std::int64_t{100});
  CHECK_THROWS_WITH_AS(bind_options<TileOptions>(spec_with(small)),
                       doctest::Contains("option \"window\": 100 is out of range (expected >= 256)"), GraphError);
  // Sizes: one parser for a key and an option ("auto" only where 0 means auto).
  c.set("memory.limit", "2GiB", "--set");
  CHECK(c.memory.limit == std::uint64_t{2} << 30);
  CHECK(std::get<std::int64_t>(*parse_option_text(tile_specs[1], "2GiB")) == std::int64_t{2} << 30);
  c.set("memory.limit", "auto", "--set");
  CHECK(c.memory.limit == 0);
  CHECK_THROWS_WITH_AS(c.set("memory.limit", "0", "--set"), doctest::Contains("auto or a size of at least"),
                       ConfigError);
  CHECK_THROWS_WITH_AS(c.set("engine.threads", "0", "--set"), doctest::Contains("auto or an integer from 1 to 4096"),
                       ConfigError);
  // Read back through the binder: the JSON of the configuration.
  c.engine.threads = 3;
  CHECK(c.to_json().find("\"threads\":3") != std::string::npos);
  CHECK(c.to_json().find("\"limit\":\"auto\"") != std::string::npos);
  Options o;
  o.set("buffer", std::int64_t{1} << 21);
  CHECK(bind_options<TileOptions>(spec_with(o)).buffer == std::uint64_t{1} << 21);
}

TEST_CASE("Options.Enum.ChoicesFromOneTableReachTheStructAsTheEnum") {
  const std::vector<OptionSpec> specs = declared_options<ShapeOptions>();
  const OptionSpec& shape = specs.front();
  CHECK(shape.type == OptionType::string);
  CHECK(shape.choices == std::vector<std::string>{"square", "round", "triangle", "tri"});
  CHECK(std::get<std::string>(shape.default_value) == "square");
  Options o;
  o.set("shape", std::string("tri"));
  CHECK(bind_options<ShapeOptions>(spec_with(o)).shape == Shape::triangle);
  CHECK(std::string(enum_name<Shape>(kShapes, Shape::triangle)) == "triangle");  // the first name, not the alias
  CHECK(bind_options<ShapeOptions>(spec_with({})).shape == Shape::square);
  o.set("shape", std::string("oval"));
  CHECK_THROWS_WITH_AS(bind_options<ShapeOptions>(spec_with(o)),
                       doctest::Contains("g.json: node \"t\" (tile): option \"shape\": unknown value \"oval\" "
                                         "(expected one of: square, round, triangle, tri)"),
                       GraphError);
}

TEST_CASE("Options.Validate.CrossOptionRuleRunsOnceTheStructIsFilled") {
  Options o;
  o.set("corners", std::int64_t{2});
  CHECK(bind_options<ShapeOptions>(spec_with(o)).corners == 2);  // square: allowed
  o.set("shape", std::string("round"));
  CHECK_THROWS_WITH_AS(bind_options<ShapeOptions>(spec_with(o)),
                       doctest::Contains("node \"t\" (tile): option \"corners\": applies to shape square only, not "
                                         "round"),
                       GraphError);
}
