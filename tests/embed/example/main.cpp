// An outside C++ program (an HPC job, say) that runs a graph through the installed library.
// It writes its own inputs by running a tiny graph over rasters it generates with the CLI-free
// API: here it only uses rasterflow's public headers.
#include <rasterflow/graph.hpp>
#include <rasterflow/observers.hpp>
#include <rasterflow/pipeline.hpp>

#include <cstdlib>
#include <fstream>
#include <iostream>

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  // Sample data through the installed CLI's library: the graph points at rasters made by
  // `rasterflow sample-data`, run from the same prefix.
  const std::filesystem::path cli = std::filesystem::path(RASTERFLOW_PREFIX) / "bin/rasterflow";
  if (std::system((cli.string() + " sample-data " + (dir / "data").string() + " --size small > /dev/null").c_str()) !=
      0)
    return 1;
  std::ofstream(dir / "graph.json") << R"({
    "grid": { "resolution": 0.05 },
    "nodes": [
      { "id": "t_src", "type": "raster_source", "path": "data/temperature.tif" },
      { "id": "t", "type": "resample", "inputs": ["t_src"], "method": "average" },
      { "id": "m", "type": "merge", "inputs": ["t"], "drop": "none" },
      { "id": "out", "type": "csv_sink", "inputs": ["m"], "path": "embedded.csv" }
    ]})";
  try {
    rasterflow::Config config;
    const auto graph = rasterflow::load_graph(dir / "graph.json", config);
    rasterflow::PlanOptions options;
    options.output_dir = dir;
    rasterflow::Pipeline pipeline(graph, config, options);
    // The run's own values: here, a progress observer beside the standard ones.
    rasterflow::Run run;
    auto progress = std::make_shared<rasterflow::ProgressObserver>();
    run.observers.push_back(progress);
    const auto summary = pipeline.run(run);
    const rasterflow::Progress done = progress->now();
    if (done.cells_done != done.cells_total || done.rows_written != summary.rows_written) return 1;
    std::cout << "rows=" << summary.rows_written << "\n";
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
