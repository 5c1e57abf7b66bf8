#pragma once
// One self-contained HTML page about a run (no network, no CDN): the graph, the grid, the
// summary, per-node busy time and throughput, and an SVG chart of process RSS over time with
// the limit, the warning and critical lines, the throttle events and the window size.
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "rasterflow/metrics.hpp"
#include "rasterflow/pipeline.hpp"

namespace rasterflow {

struct ReportNode {
  std::string id, type;
  std::vector<std::string> inputs;
  double busy_seconds = 0;
  double cells = 0;
  double memory_peak_gb = 0;
};

struct ReportData {
  std::string title;                                       // graph / experiment name
  std::vector<std::pair<std::string, std::string>> facts;  // grid, summary, host...
  std::vector<ReportNode> nodes;                           // in topological order
  std::vector<MemoryPoint> memory;                         // the timeline
  std::vector<ThrottleEvent> throttles;
  double limit_bytes = 0;
  double warning_threshold = 0.8;
  double critical_threshold = 0.9;
};

std::string render_report(const ReportData& data);
// The same data for an experiment recorded in a metrics database (`rasterflow metrics --report`).
ReportData report_from_database(MetricsBackend& db, const std::string& experiment_id);
// Writes the page as <path>.partial, then renames it. Throws IoError.
void write_report(const std::filesystem::path& path, const ReportData& data);

}  // namespace rasterflow
