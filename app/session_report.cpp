// The end of a run as people read it: the HTML report, the summary's log lines, describe().
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "app/session_state.hpp"
#include "rasterflow/report.hpp"
#include "rasterflow/size.hpp"

namespace rasterflow::app {
namespace {

std::vector<std::pair<std::string, std::string>> report_facts(const SessionState& s) {
  const RunSummary& sum = s.summary;
  char grid_text[128], time_text[64];
  std::snprintf(grid_text, sizeof grid_text, "%lld x %lld cells (%llu), %llu tiles, %d threads",
                static_cast<long long>(sum.grid_width), static_cast<long long>(sum.grid_height),
                static_cast<unsigned long long>(sum.cells), static_cast<unsigned long long>(sum.tiles), sum.threads);
  std::snprintf(time_text, sizeof time_text, "%.2f s wall, %.2f s CPU", sum.wall_seconds, sum.cpu_seconds);
  std::vector<std::pair<std::string, std::string>> facts = {
      {"graph", s.graph.file.string()},
      {"grid", grid_text},
      {"time", time_text},
      {"rows written", std::to_string(sum.rows_written)},
      {"peak RSS", format_size(sum.peak_rss_bytes)},
      {"memory limit", format_size(sum.memory_limit) + " (" + s.pipeline->plan().memory_limit_source + ")"},
      {"export", sum.streaming ? "streaming" : "in-memory"},
      {"NUMA placement", sum.placement},
      {"throttle events", std::to_string(sum.throttle_events.size())}};
  for (const auto& out : sum.outputs) facts.emplace_back("output", out.string());
  if (s.world)
    facts.emplace_back("MPI", "rank 0 of " + std::to_string(s.world->size()) + ": the figures are rank 0's band");
  return facts;
}

}  // namespace

// --report: the run's HTML report (rank 0's figures under MPI).
void RunSession::write_report() const {
  const SessionState& s = *s_;
  if (s.request.report.empty()) return;
  const RunSummary& sum = s.summary;
  ReportData report;
  report.title = s.request.experiment.empty() ? s.graph.name : s.request.experiment;
  report.facts = report_facts(s);
  for (std::size_t i = 0; i < sum.nodes.size(); ++i) {
    const auto& n = sum.nodes[i];
    report.nodes.push_back(ReportNode{n.id, n.type, s.graph.nodes[i].inputs, n.busy_seconds,
                                      static_cast<double>(n.cells), n.rss_peak_bytes / (1024.0 * 1024.0 * 1024.0)});
  }
  report.memory = sum.memory_timeline;
  report.throttles = sum.throttle_events;
  report.limit_bytes = static_cast<double>(sum.memory_limit);
  report.warning_threshold = s.config.memory.warning_threshold;
  report.critical_threshold = s.config.memory.critical_threshold;
  rasterflow::write_report(s.request.report, report);
  std::cout << "wrote " << s.request.report << "\n";
}

// Rank 0's end of a successful run: the figures logged, the outputs listed.
void RunSession::log_summary(bool list_outputs) const {
  const SessionState& s = *s_;
  const RunSummary& sum = s.summary;
  for (const auto& n : sum.nodes) {
    spdlog::debug("node {} ({}): {} tiles, {} cells, {:.3f} s busy", n.id, n.type, n.items, n.cells, n.busy_seconds);
  }
  spdlog::info(
      "done: {} rows ({} cells) in {:.2f} s wall, {:.2f} s CPU, {:.1f} Mcells/s, peak RSS {} (limit {}), {} throttle "
      "events",
      sum.rows_written, sum.cells, sum.wall_seconds, sum.cpu_seconds,
      static_cast<double>(sum.cells) / std::max(sum.wall_seconds, 1e-9) / 1e6, format_size(sum.peak_rss_bytes),
      format_size(sum.memory_limit), sum.throttle_events.size());
  std::string per_domain;
  for (const auto t : sum.tiles_per_domain) per_domain += (per_domain.empty() ? "" : "/") + std::to_string(t);
  spdlog::info("{}; tiles per domain {}", s.pipeline->plan().topology_line(), per_domain);
  if (list_outputs && !s.world) {
    for (const auto& out : sum.outputs) std::cout << "wrote " << out.string() << "\n";
  }
}

namespace {

// 20000 -> "20,000".
std::string grouped(std::uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

std::string describe(const RunSummary& s) {
  std::string outputs;
  for (const auto& o : s.outputs) outputs += (outputs.empty() ? "" : ", ") + o.string();
  char text[512];
  std::snprintf(text, sizeof text, "%s rows of %s cells (%lld x %lld) in %.2f s (%.2f s CPU), %llu tiles, %d threads",
                grouped(s.rows_written).c_str(), grouped(s.cells).c_str(), static_cast<long long>(s.grid_width),
                static_cast<long long>(s.grid_height), s.wall_seconds, s.cpu_seconds,
                static_cast<unsigned long long>(s.tiles), s.threads);
  std::string line = "RunSummary(" + std::string(text) + ", peak RSS " + format_size(s.peak_rss_bytes) + " (limit " +
                     format_size(s.memory_limit) + "), " + format_size(s.bytes_written) + " written to " +
                     (outputs.empty() ? "no file" : outputs);
  if (!s.throttle_events.empty()) line += ", " + std::to_string(s.throttle_events.size()) + " throttle events";
  return line + ")";
}

}  // namespace rasterflow::app
