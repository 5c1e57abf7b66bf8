// Runs a graph that ends in ndjson_sink (ndjson_sink.cpp, registered when this program starts)
// next to csv_sink on the same merged table, and checks that both wrote the same rows.
#include <rasterflow/graph.hpp>
#include <rasterflow/pipeline.hpp>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

namespace {

std::uint64_t count_lines(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::uint64_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: embed_sink <work dir>\n";
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  // The sample rasters, made by the installed command line.
  const std::filesystem::path cli = std::filesystem::path(RASTERFLOW_PREFIX) / "bin/rasterflow";
  const std::string make_data = cli.string() + " sample-data " + (dir / "data").string() + " --size small > /dev/null";
  if (std::system(make_data.c_str()) != 0) return 1;
  std::ofstream(dir / "graph.json") << R"({
    "grid": { "resolution": 0.05 },
    "nodes": [
      { "id": "t_src", "type": "raster_source", "path": "data/temperature.tif" },
      { "id": "t", "type": "resample", "inputs": ["t_src"], "method": "average" },
      { "id": "m", "type": "merge", "inputs": ["t"] },
      { "id": "lines", "type": "ndjson_sink", "inputs": ["m"], "path": "cells.ndjson" },
      { "id": "csv", "type": "csv_sink", "inputs": ["m"], "path": "cells.csv" }
    ]})";
  try {
    rasterflow::Config config;
    const auto graph = rasterflow::load_graph(dir / "graph.json", config);
    rasterflow::PlanOptions options;
    options.output_dir = dir;
    rasterflow::Pipeline pipeline(graph, config, options);
    pipeline.run();
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  const std::uint64_t lines = count_lines(dir / "cells.ndjson");
  const std::uint64_t csv_rows = count_lines(dir / "cells.csv") - 1;  // less its header
  std::cout << "ndjson_lines=" << lines << " csv_rows=" << csv_rows << "\n";
  return lines > 0 && lines == csv_rows ? 0 : 1;
}
