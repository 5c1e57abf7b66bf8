// merge's cases: the drop rules and the column names (unit tests of merge go here too).
#include <doctest/doctest.h>

#include <string>

#include "support/test_support.hpp"
#include "support/tiny_graph.hpp"

using namespace rasterflow;
using rasterflow::test::kTinyGraph;
using rasterflow::test::write_tiny_sources;

TEST_CASE("EndToEnd.Tiny.DropRules") {
  test::TempDir dir;
  write_tiny_sources(dir);
  std::string graph = kTinyGraph;
  graph.replace(graph.find("\"inputs\": [\"a\", \"b\"] }"), 22,
                "\"inputs\": [\"a\", \"b\"], \"drop\": \"any_nodata\", \"columns\": [\"temp\", \"code\"] }");
  test::run_graph_json(dir.path(), graph);
  CHECK(test::read_text(dir / "out.csv") ==
        "x,y,temp,code\n"
        "1,3,4,10\n"
        "3,3,5.5,20\n"
        "1,1,11.5,30\n");
}
