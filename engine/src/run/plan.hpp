#pragma once
// The plan of a run as one model, built once from the prepared pipeline, and its three
// renderings: text (`rasterflow plan`), JSON (tools, `--format json`) and Graphviz DOT. Private
// to engine/src.
#include <boost/json.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "rasterflow/node/grid.hpp"

namespace rasterflow::detail {

struct PlanModel {
  std::string graph_name;
  std::string graph_file;
  Grid grid;
  std::string crs_label;
  std::string grid_origin;
  std::string topology_line;
  std::vector<std::string> fallbacks;
  double remote_ratio = 0;
  boost::json::object topology_json;
  std::int64_t tile_rows = 1;
  int max_in_flight = 2;
  int threads = 1;
  std::string threads_source;
  struct NodePlan {
    std::string id;
    std::string type;
    std::vector<std::string> inputs;
    std::vector<std::pair<std::string, std::string>> options;  // shown: set ones, secrets masked
    std::uint64_t bytes_per_tile = 0;
    std::uint64_t bytes_per_thread = 0;
    std::vector<std::string> notes;
    const char* shape = "box";  // DOT: cylinder for sources, note for sinks
  };
  std::vector<NodePlan> nodes;
  struct Memory {
    std::uint64_t limit = 0;
    std::string limit_source;
    std::uint64_t in_use = 0;
    std::uint64_t read_cache = 0;
    std::uint64_t thread_buffers = 0;
    std::uint64_t thread_state = 0;  // of thread_buffers: what each thread keeps between tiles
    std::uint64_t held = 0;
    std::uint64_t tile_budget = 0;
    double bytes_per_cell = 0;
    std::uint64_t per_tile = 0;
  } memory;
  bool streaming = true;
  std::uint64_t in_memory_bytes = 0;  // the merged grid, when not streaming
};

std::vector<std::string> render_plan_text(const PlanModel& p);
std::string render_plan_json(const PlanModel& p);
std::string render_plan_dot(const PlanModel& p);

}  // namespace rasterflow::detail
