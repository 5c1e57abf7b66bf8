// libFuzzer target: the graph JSON loader. Any input must give a graph or a GraphError.
#include <cstddef>
#include <cstdint>
#include <string>

#include "rasterflow/errors.hpp"
#include "rasterflow/graph.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    rasterflow::parse_graph(text, "fuzz.json");
  } catch (const rasterflow::GraphError&) {
  }
  return 0;
}
