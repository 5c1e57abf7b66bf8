#include "rasterflow/report.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>

#include "rasterflow/errors.hpp"

namespace rasterflow {
namespace {

std::string esc(const std::string& text) {
  std::string out;
  for (const char ch : text) {
    switch (ch) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

std::string num(double v, int decimals = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

constexpr double kMiB = 1024.0 * 1024.0;

// The graph: nodes in columns by depth (sources left, sinks right), edges as lines.
std::string graph_svg(const std::vector<ReportNode>& nodes) {
  std::map<std::string, int> depth;
  std::map<int, int> per_column;
  std::map<std::string, std::pair<double, double>> at;
  for (const auto& n : nodes) {
    int d = 0;
    for (const auto& in : n.inputs) d = std::max(d, depth[in] + 1);
    depth[n.id] = d;
    const int row = per_column[d]++;
    at[n.id] = {20.0 + d * 190.0, 20.0 + row * 60.0};
  }
  int rows = 1, columns = 1;
  for (const auto& [d, count] : per_column) {
    rows = std::max(rows, count);
    columns = std::max(columns, d + 1);
  }
  std::string svg = "<svg class=\"graph\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                    num(40 + columns * 190.0, 0) + "\" height=\"" + num(30 + rows * 60.0, 0) + "\">";
  for (const auto& n : nodes) {
    for (const auto& in : n.inputs) {
      const auto [x1, y1] = at[in];
      const auto [x2, y2] = at[n.id];
      svg += "<line x1=\"" + num(x1 + 150) + "\" y1=\"" + num(y1 + 20) + "\" x2=\"" + num(x2) + "\" y2=\"" +
             num(y2 + 20) + "\" stroke=\"#888\" marker-end=\"url(#arrow)\"/>";
    }
  }
  svg +=
      "<defs><marker id=\"arrow\" markerWidth=\"8\" markerHeight=\"8\" refX=\"8\" refY=\"4\" orient=\"auto\"><path "
      "d=\"M0,0 L8,4 L0,8 z\" fill=\"#888\"/></marker></defs>";
  for (const auto& n : nodes) {
    const auto [x, y] = at[n.id];
    svg += "<g class=\"node\"><rect x=\"" + num(x) + "\" y=\"" + num(y) +
           "\" width=\"150\" height=\"40\" rx=\"6\" fill=\"#eef3fb\" stroke=\"#4a6fa5\"/>" + "<text x=\"" +
           num(x + 75) + "\" y=\"" + num(y + 17) + "\" text-anchor=\"middle\" font-size=\"12\">" + esc(n.id) +
           "</text>" + "<text x=\"" + num(x + 75) + "\" y=\"" + num(y + 32) +
           "\" text-anchor=\"middle\" font-size=\"10\" fill=\"#666\">" + esc(n.type) + "</text></g>";
  }
  return svg + "</svg>";
}

// The memory chart's frame (pixels), and its scales: seconds across, MiB up.
constexpr double kChartWidth = 860, kChartHeight = 300, kChartLeft = 60, kChartRight = 20, kChartTop = 20,
                 kChartBottom = 40;

struct MemoryScale {
  double t_max = 1e-3;
  double rss_max = 1;
  double limit = 0;             // MiB, 0 without a limit
  bool limit_in_scale = false;  // the limit lines fit a readable scale; otherwise they are named
  double y_max = 1;
  double x(double t) const { return kChartLeft + (kChartWidth - kChartLeft - kChartRight) * t / t_max; }
  double y(double mib) const { return kChartTop + (kChartHeight - kChartTop - kChartBottom) * (1.0 - mib / y_max); }
};

MemoryScale memory_scale(const ReportData& d) {
  MemoryScale s;
  for (const auto& p : d.memory) {
    s.t_max = std::max(s.t_max, p.seconds);
    s.rss_max = std::max(s.rss_max, p.rss_bytes / kMiB);
  }
  for (const auto& e : d.throttles) s.t_max = std::max(s.t_max, e.seconds);
  s.limit = d.limit_bytes / kMiB;
  // The limit lines are drawn when they fit a readable scale; otherwise they are named.
  s.limit_in_scale = s.limit > 0 && s.limit <= 4 * s.rss_max;
  s.y_max = s.limit_in_scale ? std::max(s.rss_max, s.limit) * 1.05 : s.rss_max * 1.2;
  return s;
}

// The frame, the ticks of both axes and the unit.
std::string memory_axes(const MemoryScale& s) {
  const double width = kChartWidth, height = kChartHeight, left = kChartLeft, right = kChartRight, top = kChartTop,
               bottom = kChartBottom;
  std::string svg = "<rect x=\"" + num(left) + "\" y=\"" + num(top) + "\" width=\"" + num(width - left - right) +
                    "\" height=\"" + num(height - top - bottom) + "\" fill=\"#fafafa\" stroke=\"#ccc\"/>";
  for (int i = 0; i <= 4; ++i) {
    const double v = s.y_max * i / 4;
    svg += "<text x=\"" + num(left - 6) + "\" y=\"" + num(s.y(v) + 4) + "\" text-anchor=\"end\" font-size=\"10\">" +
           num(v, 0) + "</text>";
    const double t = s.t_max * i / 4;
    svg += "<text x=\"" + num(s.x(t)) + "\" y=\"" + num(height - bottom + 16) +
           "\" text-anchor=\"middle\" font-size=\"10\">" + num(t, 1) + " s</text>";
  }
  svg += "<text x=\"12\" y=\"" + num(top + 10) + "\" font-size=\"10\">MiB</text>";
  return svg;
}

// The limit, critical and warning lines, or a note naming them when they are above the scale.
std::string memory_limits(const ReportData& d, const MemoryScale& s) {
  const double width = kChartWidth, right = kChartRight, top = kChartTop, left = kChartLeft;
  const double limit = s.limit;
  std::string svg;
  if (s.limit_in_scale) {
    const std::pair<const char*, double> lines[] = {
        {"limit", 1.0}, {"critical", d.critical_threshold}, {"warning", d.warning_threshold}};
    const char* colours[] = {"#c00", "#e67e00", "#d4b000"};
    for (int i = 0; i < 3; ++i) {
      const double v = limit * lines[i].second;
      svg += "<line class=\"threshold " + std::string(lines[i].first) + "\" x1=\"" + num(left) + "\" x2=\"" +
             num(width - right) + "\" y1=\"" + num(s.y(v)) + "\" y2=\"" + num(s.y(v)) + "\" stroke=\"" + colours[i] +
             "\" stroke-dasharray=\"6,4\"/>";
      svg += "<text x=\"" + num(width - right - 4) + "\" y=\"" + num(s.y(v) - 4) +
             "\" text-anchor=\"end\" font-size=\"10\" fill=\"" + colours[i] + "\">" + lines[i].first + " " + num(v, 0) +
             " MiB</text>";
    }
  } else if (limit > 0) {
    svg += "<text class=\"threshold-note\" x=\"" + num(width - right - 4) + "\" y=\"" + num(top + 14) +
           "\" text-anchor=\"end\" font-size=\"11\" fill=\"#c00\">limit " + num(limit, 0) + " MiB, warning " +
           num(limit * d.warning_threshold, 0) + ", critical " + num(limit * d.critical_threshold, 0) +
           " (above this scale)</text>";
  }
  return svg;
}

// The RSS line and a dot per throttle event.
std::string memory_line_and_events(const ReportData& d, const MemoryScale& s) {
  std::string points;
  for (const auto& p : d.memory) points += num(s.x(p.seconds), 1) + "," + num(s.y(p.rss_bytes / kMiB), 1) + " ";
  std::string svg =
      "<polyline class=\"rss\" fill=\"none\" stroke=\"#1f5fbf\" stroke-width=\"2\" points=\"" + points + "\"/>";
  for (const auto& e : d.throttles) {
    svg += "<circle class=\"throttle\" cx=\"" + num(s.x(e.seconds)) + "\" cy=\"" + num(kChartTop + 8) +
           "\" r=\"5\" fill=\"" +
           (e.level == "critical"  ? "#c00"
            : e.level == "warning" ? "#e67e00"
                                   : "#2a2") +
           "\"><title>" +
           esc(num(e.seconds, 2) + " s: " + e.setting + " " + num(e.previous, 0) + " → " + num(e.value, 0) + " (" +
               e.level + ", " + e.reason + ")") +
           "</title></circle>";
  }
  return svg;
}

// Window size over time, on the memory chart's time scale.
std::string window_svg(const ReportData& d, const MemoryScale& s) {
  const double width = kChartWidth, left = kChartLeft;
  double w_max = 1;
  for (const auto& p : d.memory) w_max = std::max(w_max, static_cast<double>(p.window_size));
  const double h2 = 120;
  std::string wpoints;
  for (const auto& p : d.memory) {
    wpoints += num(s.x(p.seconds), 1) + "," + num(10 + (h2 - 40) * (1.0 - p.window_size / (w_max * 1.1)), 1) + " ";
  }
  std::string svg = "<svg class=\"window\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(width, 0) +
                    "\" height=\"" + num(h2, 0) + "\">";
  svg += "<text x=\"12\" y=\"20\" font-size=\"10\">window</text><text x=\"" + num(left - 6) + "\" y=\"" +
         num(10 + (h2 - 40) * (1.0 - 1 / 1.1) + 4) + "\" text-anchor=\"end\" font-size=\"10\">" + num(w_max, 0) +
         "</text>";
  svg += "<polyline class=\"window-size\" fill=\"none\" stroke=\"#7a3fbf\" stroke-width=\"2\" points=\"" + wpoints +
         "\"/></svg>";
  return svg;
}

// Process RSS over time, with the limit lines and the throttle events; the window size below.
std::string memory_svg(const ReportData& d) {
  const MemoryScale s = memory_scale(d);
  return "<svg class=\"memory\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(kChartWidth, 0) + "\" height=\"" +
         num(kChartHeight, 0) + "\">" + memory_axes(s) + memory_limits(d, s) + memory_line_and_events(d, s) + "</svg>" +
         window_svg(d, s);
}

}  // namespace

std::string render_report(const ReportData& d) {
  std::string html =
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>rasterflow: " + esc(d.title) +
      "</title><style>"
      "body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:8px 0 20px}"
      "td,th{border:1px solid #ddd;padding:4px 10px;text-align:left}th{background:#f3f3f3}"
      "td.n{text-align:right}h2{margin-top:28px}</style></head><body>\n";
  html += "<h1>rasterflow run: " + esc(d.title) + "</h1>\n<h2>Run</h2><table>";
  for (const auto& [k, v] : d.facts) html += "<tr><th>" + esc(k) + "</th><td>" + esc(v) + "</td></tr>";
  html += "</table>\n<h2>Graph</h2>" + graph_svg(d.nodes) +
          "\n<h2>Nodes</h2><table><tr><th>node</th><th>type</th><th>busy s</th><th>cells</th>"
          "<th>Mcells/s while busy</th><th>peak RSS while busy (MiB)</th></tr>";
  for (const auto& n : d.nodes) {
    html += "<tr><td>" + esc(n.id) + "</td><td>" + esc(n.type) + "</td><td class=\"n\">" + num(n.busy_seconds, 3) +
            "</td><td class=\"n\">" + num(n.cells, 0) + "</td><td class=\"n\">" +
            (n.busy_seconds > 0 ? num(n.cells / n.busy_seconds / 1e6, 2) : std::string("-")) + "</td><td class=\"n\">" +
            num(n.memory_peak_gb * 1024.0, 1) + "</td></tr>";
  }
  html +=
      "</table>\n<h2>Memory</h2><p>Process RSS over time; dots mark throttle events (orange: warning, red: critical, "
      "green: "
      "recovery; hover for details). Below: the resampling window size.</p>" +
      memory_svg(d) +
      "\n<h2>Throttle "
      "events</h2><table><tr><th>s</th><th>setting</th><th>from</th><th>to</th><th>level</th><th>reason</th></tr>";
  for (const auto& e : d.throttles) {
    html += "<tr><td class=\"n\">" + num(e.seconds, 2) + "</td><td>" + esc(e.setting) + "</td><td class=\"n\">" +
            num(e.previous, 0) + "</td><td class=\"n\">" + num(e.value, 0) + "</td><td>" + esc(e.level) + "</td><td>" +
            esc(e.reason) + "</td></tr>";
  }
  if (d.throttles.empty()) html += "<tr><td colspan=\"6\">none</td></tr>";
  html += "</table>\n</body></html>\n";
  return html;
}

namespace {
// Seconds since the epoch of "YYYY-MM-DD HH:MM:SS[.ffffff]" (UTC), as both backends print.
double timestamp_seconds(const std::string& text) {
  std::tm tm{};
  double seconds = 0;
  if (std::sscanf(text.c_str(), "%d-%d-%d %d:%d:%lf", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                  &seconds) != 6)
    return 0;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  tm.tm_sec = 0;
  return static_cast<double>(timegm(&tm)) + seconds;
}
double number_or(const std::optional<std::string>& v, double fallback) {
  if (!v) return fallback;
  char* end = nullptr;
  const double d = std::strtod(v->c_str(), &end);
  return end != v->c_str() ? d : fallback;
}
}  // namespace

namespace {
// Each reader below fills its part of `d` for one experiment; times are seconds since
// `started`. The JSON readers stop without an error where the stored JSON does not parse or
// lacks a field (the graph keeps the nodes read until then).

// The memory thresholds, from the stored configuration.
void read_thresholds(const std::string& config_json, ReportData& d) {
  try {
    const auto config = boost::json::parse(config_json).as_object();
    if (const auto* mem = config.if_contains("memory"); mem && mem->is_object()) {
      if (const auto* w = mem->as_object().if_contains("warning_threshold"); w && w->is_number())
        d.warning_threshold = w->to_number<double>();
      if (const auto* c = mem->as_object().if_contains("critical_threshold"); c && c->is_number())
        d.critical_threshold = c->to_number<double>();
    }
  } catch (const std::exception&) {
  }
}

// The nodes and the graph's edges, from the stored graph JSON.
void read_graph(const std::string& graph_json, ReportData& d) {
  std::map<std::string, std::vector<std::string>> inputs;
  try {
    const auto graph = boost::json::parse(graph_json).as_object();
    for (const auto& n : graph.at("nodes").as_array()) {
      const auto& o = n.as_object();
      auto& list = inputs[std::string(o.at("id").as_string())];
      if (const auto* in = o.if_contains("inputs"); in && in->is_array()) {
        for (const auto& i : in->as_array()) list.emplace_back(i.as_string());
      }
      d.nodes.push_back(
          ReportNode{std::string(o.at("id").as_string()), std::string(o.at("type").as_string()), list, 0, 0, 0});
    }
  } catch (const std::exception&) {
  }
}

// Busy time, cells and peak memory per stage; stages not in the graph are added.
void read_stages(MetricsBackend& db, const std::string& id, ReportData& d) {
  const QueryResult stages = db.query(
      "SELECT stage, node_type, busy_seconds, cells, memory_peak_gb FROM v_stage_summary WHERE experiment_id = $1",
      {id});
  for (const auto& r : stages.rows) {
    const std::string stage = r[0].value_or("");
    auto it = std::find_if(d.nodes.begin(), d.nodes.end(), [&](const ReportNode& n) { return n.id == stage; });
    if (it == d.nodes.end()) {
      d.nodes.push_back(ReportNode{stage, r[1].value_or(""), {}, 0, 0, 0});
      it = d.nodes.end() - 1;
    }
    it->busy_seconds = number_or(r[2], 0);
    it->cells = number_or(r[3], 0);
    it->memory_peak_gb = number_or(r[4], 0);
  }
}

// The memory timeline and the limit (the last sample's).
void read_timeline(MetricsBackend& db, const std::string& id, double started, ReportData& d) {
  const QueryResult timeline = db.query(
      "SELECT created_at, process_rss_gb, window_size, tiles_in_flight, level, limit_gb FROM v_memory_timeline WHERE "
      "experiment_id = $1 "
      "ORDER BY created_at",
      {id});
  for (const auto& r : timeline.rows) {
    d.memory.push_back(MemoryPoint{timestamp_seconds(r[0].value_or("")) - started,
                                   number_or(r[1], 0) * 1024.0 * 1024.0 * 1024.0, static_cast<int>(number_or(r[2], 0)),
                                   static_cast<int>(number_or(r[3], 0)), r[4].value_or("")});
    d.limit_bytes = number_or(r[5], 0) * 1024.0 * 1024.0 * 1024.0;
  }
}

void read_throttles(MetricsBackend& db, const std::string& id, double started, ReportData& d) {
  const QueryResult throttles = db.query(
      "SELECT created_at, setting, new_value, previous_value, level, reason FROM v_throttle_events WHERE experiment_id "
      "= $1 ORDER BY created_at",
      {id});
  for (const auto& r : throttles.rows) {
    d.throttles.push_back(ThrottleEvent{timestamp_seconds(r[0].value_or("")) - started, r[1].value_or(""),
                                        number_or(r[2], 0), number_or(r[3], 0), r[4].value_or(""), r[5].value_or("")});
  }
}
}  // namespace

ReportData report_from_database(MetricsBackend& db, const std::string& id) {
  ReportData d;
  const QueryResult e = db.query(
      "SELECT name, status, host, started_at, finished_at, graph_json, config_json, error FROM experiments WHERE id = "
      "$1",
      {id});
  if (e.rows.empty()) throw UsageError("metrics --report: no experiment " + id + " in " + db.describe());
  const auto& row = e.rows[0];
  d.title = row[0].value_or("experiment " + id);
  const double started = timestamp_seconds(row[3].value_or(""));
  d.facts = {{"experiment", id + " in " + db.describe()},
             {"status", row[1].value_or("?")},
             {"host", row[2].value_or("?")},
             {"started", row[3].value_or("?")},
             {"finished", row[4].value_or("(running)")}};
  if (row[7] && !row[7]->empty()) d.facts.emplace_back("error", *row[7]);
  read_thresholds(row[6].value_or("{}"), d);
  read_graph(row[5].value_or("{}"), d);
  read_stages(db, id, d);
  read_timeline(db, id, started, d);
  read_throttles(db, id, started, d);
  d.facts.emplace_back("memory samples", std::to_string(d.memory.size()));
  return d;
}

void write_report(const std::filesystem::path& path, const ReportData& data) {
  std::filesystem::path partial = path;
  partial += ".partial";
  {
    std::ofstream out(partial, std::ios::binary);
    out << render_report(data);
    if (!out) throw IoError("--report: cannot write " + partial.string());
  }
  std::error_code ec;
  std::filesystem::rename(partial, path, ec);
  if (ec) throw IoError("--report: cannot rename " + partial.string() + ": " + ec.message());
}

}  // namespace rasterflow
