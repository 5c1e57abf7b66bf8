#include "run/plan.hpp"

#include <cstdio>

#include "rasterflow/size.hpp"

namespace rasterflow::detail {

namespace {

std::string node_line(const PlanModel::NodePlan& n) {
  std::string line = "node " + n.id + " (" + n.type + ")";
  if (!n.inputs.empty()) {
    line += " <- ";
    for (std::size_t k = 0; k < n.inputs.size(); ++k) line += (k ? ", " : "") + n.inputs[k];
  }
  line += ": ~" + format_size(n.bytes_per_tile) + " per tile";
  if (n.bytes_per_thread > 0) line += ", " + format_size(n.bytes_per_thread) + " per thread";
  return line;
}

std::string memory_line(const PlanModel::Memory& m) {
  return "memory: limit " + format_size(m.limit) + " (" + m.limit_source + "); in use " + format_size(m.in_use) +
         ", GDAL cache " + format_size(m.read_cache) + ", thread buffers " + format_size(m.thread_buffers) +
         " (state kept per thread " + format_size(m.thread_state) + ")" + ", decoded block rows " +
         format_size(m.held) + "; tiles in flight may hold " + format_size(m.tile_budget) + " (~" +
         format_size(m.per_tile) + " per tile)";
}

std::vector<std::string> head_lines(const PlanModel& p) {
  std::vector<std::string> lines;
  lines.push_back("graph " + p.graph_name + " (" + p.graph_file + ")");
  char buf[512];
  const Grid& g = p.grid;
  std::snprintf(buf, sizeof buf, "grid: %s, %lld x %lld cells (%.6g x %.6g), extent [%.12g, %.12g, %.12g, %.12g] (%s)",
                p.crs_label.c_str(), static_cast<long long>(g.width), static_cast<long long>(g.height), g.res_x,
                g.res_y, g.extent().xmin, g.extent().ymin, g.extent().xmax, g.extent().ymax, p.grid_origin.c_str());
  lines.emplace_back(buf);
  lines.push_back(p.topology_line);
  for (const auto& f : p.fallbacks) lines.push_back("    fallback: " + f);
  if (p.remote_ratio > 0) {
    std::snprintf(buf, sizeof buf, "    NUMA distances: remote access costs %.2fx local (hwloc distance matrix)",
                  p.remote_ratio);
    lines.emplace_back(buf);
  }
  const std::int64_t tiles = (g.height + p.tile_rows - 1) / p.tile_rows;
  std::snprintf(buf, sizeof buf, "tiles: about %lld bands of %lld rows (%lld cells), at most %d in flight; %d threads",
                static_cast<long long>(tiles), static_cast<long long>(p.tile_rows),
                static_cast<long long>(p.tile_rows * g.width), p.max_in_flight, p.threads);
  lines.emplace_back(buf);
  return lines;
}

std::string dot_escape(const std::string& text) {
  std::string out;
  for (const char ch : text) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out;
}

boost::json::object node_json(const PlanModel::NodePlan& n) {
  boost::json::object options;
  for (const auto& [name, text] : n.options) options[name] = text;
  boost::json::array inputs, notes;
  for (const auto& in : n.inputs) inputs.emplace_back(in);
  for (const auto& d : n.notes) notes.emplace_back(d);
  return {{"id", n.id},
          {"type", n.type},
          {"inputs", inputs},
          {"options", options},
          {"bytes_per_tile", n.bytes_per_tile},
          {"bytes_per_thread", n.bytes_per_thread},
          {"notes", notes}};
}

}  // namespace

std::vector<std::string> render_plan_text(const PlanModel& p) {
  std::vector<std::string> lines = head_lines(p);
  for (const auto& n : p.nodes) {
    lines.push_back(node_line(n));
    std::string options;
    for (const auto& [name, text] : n.options) options += (options.empty() ? "" : ", ") + name + "=" + text;
    if (!options.empty()) lines.push_back("    options: " + options);
    for (const auto& d : n.notes) lines.push_back("    " + d);
  }
  lines.push_back(memory_line(p.memory));
  if (p.streaming) {
    lines.push_back(
        "export: streaming; every buffer is bounded by the tiles admitted, so memory does not grow with the grid");
  } else {
    lines.push_back("export: in-memory; holds the merged grid, ~" + format_size(p.in_memory_bytes) +
                    ", then writes it");
  }
  return lines;
}

std::string render_plan_json(const PlanModel& p) {
  const Grid& g = p.grid;
  const Extent e = g.extent();
  const boost::json::object grid{{"crs", p.crs_label},
                                 {"width", g.width},
                                 {"height", g.height},
                                 {"resolution", boost::json::array{g.res_x, g.res_y}},
                                 {"extent", boost::json::array{e.xmin, e.ymin, e.xmax, e.ymax}},
                                 {"origin", p.grid_origin}};
  boost::json::array nodes;
  for (const auto& n : p.nodes) nodes.emplace_back(node_json(n));
  const auto& m = p.memory;
  const boost::json::object memory{{"limit", m.limit},
                                   {"limit_source", m.limit_source},
                                   {"in_use", m.in_use},
                                   {"gdal_cache", m.read_cache},
                                   {"thread_buffers", m.thread_buffers},
                                   {"thread_state", m.thread_state},
                                   {"decoded_block_rows", m.held},
                                   {"tile_budget", m.tile_budget},
                                   {"bytes_per_cell", m.bytes_per_cell}};
  const boost::json::object tiles{
      {"rows", p.tile_rows}, {"count", (g.height + p.tile_rows - 1) / p.tile_rows}, {"max_in_flight", p.max_in_flight}};
  const boost::json::object root{{"graph", p.graph_name},
                                 {"file", p.graph_file},
                                 {"grid", grid},
                                 {"tiles", tiles},
                                 {"threads", p.threads},
                                 {"threads_source", p.threads_source},
                                 {"topology", p.topology_json},
                                 {"nodes", nodes},
                                 {"memory", memory},
                                 {"export", p.streaming ? "streaming" : "in-memory"}};
  return boost::json::serialize(root) + "\n";
}

std::string render_plan_dot(const PlanModel& p) {
  const Grid& g = p.grid;
  char grid_text[256];
  std::snprintf(grid_text, sizeof grid_text,
                "grid %s, %lld x %lld cells of %.6g x %.6g; tiles of %lld rows; %d threads", p.crs_label.c_str(),
                static_cast<long long>(g.width), static_cast<long long>(g.height), g.res_x, g.res_y,
                static_cast<long long>(p.tile_rows), p.threads);
  std::string out = "digraph \"" + dot_escape(p.graph_name) + "\" {\n  rankdir=LR;\n  labelloc=t;\n  label=\"" +
                    dot_escape(p.graph_name + ": " + grid_text) +
                    "\";\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n";
  for (const auto& n : p.nodes) {
    std::string label = n.id + "\\n(" + n.type + ")";
    for (auto [name, text] : n.options) {
      if (text.size() > 40) text = "…" + text.substr(text.size() - 39);
      label += "\\n" + dot_escape(name + "=" + text);
    }
    out += "  \"" + dot_escape(n.id) + "\" [label=\"" + label + "\", shape=" + n.shape + "];\n";
  }
  for (const auto& n : p.nodes) {
    for (const auto& in : n.inputs) out += "  \"" + dot_escape(in) + "\" -> \"" + dot_escape(n.id) + "\";\n";
  }
  out += "}\n";
  return out;
}

}  // namespace rasterflow::detail
