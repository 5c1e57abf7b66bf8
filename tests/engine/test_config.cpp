#include <doctest/doctest.h>

#include "rasterflow/config.hpp"
#include "rasterflow/errors.hpp"
#include "support/test_support.hpp"

using namespace rasterflow;

namespace {
std::string config_error(const std::string& yaml) {
  test::TempDir dir;
  test::write_text(dir / "config.yml", yaml);
  try {
    Config::load(dir / "config.yml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST_CASE("Config.Defaults.TopLevelFileMatchesBuiltIn") {
  const Config file = Config::load(std::string(RASTERFLOW_SOURCE_DIR) + "/config.yml");
  CHECK(file.to_json() == Config{}.to_json());
  CHECK(file.memory.warning_threshold == 0.80);
  CHECK(file.resampling.window_size == 2048);
  CHECK(file.merge.chunk_size == 5000);
  CHECK(file.merge.enable_streaming);
  CHECK(file.metrics.backend == "sqlite");
  // Every documented key is in the file.
  const std::string text = test::read_text(std::string(RASTERFLOW_SOURCE_DIR) + "/config.yml");
  for (const auto& key : config_keys()) {
    CHECK_MESSAGE(text.find(key.key.substr(key.key.find('.') + 1) + ":") != std::string::npos, key.key);
  }
}

TEST_CASE("Config.Load.ValuesAndSizes") {
  test::TempDir dir;
  test::write_text(
      dir / "c.yml",
      "memory:\n  limit: 512MiB\n  warning_threshold: 0.7\nengine:\n  threads: 3\nexport:\n  nodata: NA\n");
  const Config c = Config::load(dir / "c.yml");
  CHECK(c.memory.limit == 512ull << 20);
  CHECK(c.memory.warning_threshold == 0.7);
  CHECK(c.engine.threads == 3);
  CHECK(c.export_.nodata == "NA");
}

TEST_CASE("Config.Set.DottedKeysAndNodeOptions") {
  Config c;
  c.set("merge.chunk_size=2000");
  c.set("nodes.temperature.method=max");
  CHECK(c.merge.chunk_size == 2000);
  CHECK(c.node_overrides.at("temperature").at("method") == "max");
  CHECK_THROWS_WITH_AS(c.set("merge.chunk=2"), doctest::Contains("unknown key \"merge.chunk\""), ConfigError);
  CHECK_THROWS_WITH_AS(c.set("merge.chunk_size"), doctest::Contains("expected KEY=VALUE"), ConfigError);
  CHECK_THROWS_WITH_AS(c.set("nodes.temperature=3"), doctest::Contains("nodes.<id>.<option>"), ConfigError);
}

TEST_CASE("Config.Errors.UnknownKeyNamesFileLineAndSuggestion") {
  const std::string e = config_error("memory:\n  limt: 2G\n");
  CHECK(e.find("config.yml:2") != std::string::npos);
  CHECK(e.find("unknown key \"memory.limt\"") != std::string::npos);
  CHECK(e.find("did you mean \"memory.limit\"") != std::string::npos);
}

TEST_CASE("Config.Errors.UnknownSection") {
  CHECK(config_error("memroy:\n  limit: 2G\n").find("did you mean \"memory.limit\"") != std::string::npos);
}

TEST_CASE("Config.Errors.BadYamlHasLine") {
  const std::string e = config_error("memory:\n  limit: [2G\nengine: {\n");
  CHECK(e.find("invalid YAML") != std::string::npos);
  CHECK(e.find("config.yml:") != std::string::npos);
}

TEST_CASE("Config.Errors.OutOfRangeAndMalformedValues") {
  CHECK(config_error("memory:\n  warning_threshold: 1.5\n").find("(0, 1]") != std::string::npos);
  CHECK(config_error("memory:\n  warning_threshold: 0\n").find("\"memory.warning_threshold\"") != std::string::npos);
  CHECK(config_error("memory:\n  warning_threshold: 0.95\n").find("must be below memory.critical_threshold") !=
        std::string::npos);
  CHECK(config_error("memory:\n  limit: lots\n").find("\"memory.limit\": invalid value \"lots\"") != std::string::npos);
  CHECK(config_error("engine:\n  threads: -2\n").find("\"engine.threads\"") != std::string::npos);
  CHECK(config_error("resampling:\n  window_size: 100\n").find(">= 256") != std::string::npos);
  CHECK(config_error("merge:\n  enable_streaming: maybe\n").find("true or false") != std::string::npos);
  CHECK(config_error("metrics:\n  backend: mysql\n").find("sqlite, postgresql, none") != std::string::npos);
  CHECK(config_error("export:\n  formatz: [csv]\n").find("unknown key \"export.formatz\"") != std::string::npos);
}

TEST_CASE("Config.Removed.ExportFormatsIsIgnoredWithAWarning") {
  // 0.1's export.formats meant nothing (outputs are sink nodes): an old file still loads.
  CHECK(config_error("export:\n  formats: [csv]\n  nodata: NA\n") == "(no error)");
}

TEST_CASE("Config.Errors.MissingFile") {
  CHECK_THROWS_WITH_AS(Config::load("/nonexistent/config.yml"), doctest::Contains("cannot read"), ConfigError);
}

TEST_CASE("Config.Errors.ListUsedAsAKey") {
  // Regression: a non-scalar key made yaml-cpp throw a bare conversion error.
  CHECK(config_error("memory:\n  ? [a, b]\n  : 1\n").find("unexpected YAML structure") != std::string::npos);
  CHECK(config_error("? {x: 1}\n: 2\n").find("config.yml") != std::string::npos);
}
