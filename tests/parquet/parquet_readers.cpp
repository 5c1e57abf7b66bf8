#include "parquet/parquet_readers.hpp"

#include <doctest/doctest.h>

#include "support/test_support.hpp"

namespace rasterflow::test {

int check_with_readers(const std::filesystem::path& parquet, const std::filesystem::path& csv, const std::string& spec,
                       std::string* report) {
  const std::filesystem::path spec_file = parquet.string() + ".spec.json";
  write_text(spec_file, spec);
  return run_shell(std::string("node ") + RASTERFLOW_SOURCE_DIR + "/tests/parquet/check_parquet.mjs " +
                       RASTERFLOW_PARQUET_READERS + " " + parquet.string() + " " + csv.string() + " " +
                       spec_file.string(),
                   report);
}

const char* const kDemoTypes =
    R"("x":["DOUBLE","Float64"],"y":["DOUBLE","Float64"],"temperature":["FLOAT","Float32"],)"
    R"("elevation":["DOUBLE","Float64"],"landcover":["UTINYINT","Uint8"],"geometry":["GEOMETRY","Binary"])";

std::string demo_with_parquet(const TempDir& dir, const std::string& pq_options) {
  const std::string graph = make_demo_project(dir);
  std::string text = read_text(graph);
  const std::string csv_node = R"("path": "merged.csv" })";
  const auto at = text.find(csv_node);
  REQUIRE(at != std::string::npos);
  text.insert(at + csv_node.size(), R"(,
    { "id": "pq", "type": "parquet_sink", "inputs": ["merged"], "path": "merged.parquet")" +
                                        pq_options + " }");
  write_text(graph, text);
  return graph;
}

void check_demo_run(const std::filesystem::path& out, const std::string& spec_extra) {
  CHECK_FALSE(std::filesystem::exists(out / "merged.parquet.partial"));
  std::string report;
  CHECK_MESSAGE(check_with_readers(out / "merged.parquet", out / "merged.csv",
                                   std::string("{\"types\":{") + kDemoTypes +
                                       "},\"kv\":[\"rasterflow.version\",\"rasterflow.graph\","
                                       "\"rasterflow.grid\"]" +
                                       spec_extra + "}",
                                   &report) == 0,
                out.string() << ": " << report);
}

}  // namespace rasterflow::test
