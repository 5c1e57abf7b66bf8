#include "observe/observers.hpp"

#include "run/pipeline_impl.hpp"

namespace rasterflow::detail {

namespace {
double since(SteadyTime start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

void StageObserver::on_node_end(std::size_t node, const TileRequest& tile, SteadyTime, SteadyTime,
                                std::uint64_t bytes) {
  tracker_.end(node, tile.seq, bytes, current_rss());
}

void StageObserver::on_finish(RunSummary& summary) {
  for (std::size_t i = 0; i < summary.nodes.size(); ++i) {
    summary.nodes[i].rss_peak_bytes = tracker_.rss_peak(i);
    summary.nodes[i].rss_avg_bytes = tracker_.rss_avg(i);
  }
}

void TimelineObserver::on_sample(PressureLevel level, const MemorySample& sample) {
  std::lock_guard lock(mutex_);
  if (timeline_.size() >= 4096) {  // keep every other point: the chart needs the shape
    std::vector<MemoryPoint> thinned;
    for (std::size_t k = 0; k < timeline_.size(); k += 2) thinned.push_back(timeline_[k]);
    timeline_.swap(thinned);
  }
  timeline_.push_back({since(view_.start), static_cast<double>(sample.process_rss), view_.adaptive->window_size(),
                       view_.admission->in_flight_now(), to_string(level)});
}

void TimelineObserver::on_finish(RunSummary& summary) {
  std::lock_guard lock(mutex_);
  summary.memory_timeline = timeline_;
}

void LiveObserver::on_sample(PressureLevel level, const MemorySample&) {
  live_.level->store(static_cast<int>(level));
  live_.window->store(view_.adaptive->window_size());
}

void LiveObserver::on_tile_done(const TileRequest& tile) {
  live_.cells->fetch_add(static_cast<std::uint64_t>(tile.cells()));
  live_.rows->store(rows_written_());
  live_.in_flight->store(view_.admission->in_flight_now());
}

void TraceObserver::on_sample(PressureLevel, const MemorySample& sample) {
  writer_.counter("process RSS", "MiB", static_cast<double>(sample.process_rss) / (1024.0 * 1024.0));
  writer_.counter("tiles in flight", "tiles", view_.admission->in_flight_now());
  writer_.counter("window size", "cells", view_.adaptive->window_size());
}

void TraceObserver::on_node_end(std::size_t node, const TileRequest& tile, SteadyTime t0, SteadyTime t1,
                                std::uint64_t) {
  writer_.span(&view_.ids[node], view_.operations[node].c_str(), t0, t1, tile.seq, tile.rows);
}

void TraceObserver::on_write(std::size_t node, const TileRequest& tile, SteadyTime t0, SteadyTime t1) {
  writer_.span(&view_.ids[node], "serial write", t0, t1, tile.seq, tile.rows);
}

void TraceObserver::on_finish(RunSummary&) { writer_.write(file_, graph_name_); }

void MetricsObserver::on_sample(PressureLevel level, const MemorySample& sample) {
  {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (now < next_) return;
    next_ = now + every_;
  }
  const auto stage = stages_.tracker().snapshot();
  boost::json::object meta{{"system_percent", sample.system_total ? 100.0 * static_cast<double>(sample.system_used) /
                                                                        static_cast<double>(sample.system_total)
                                                                  : 0.0},
                           {"system_available_gb", static_cast<double>(sample.system_available) / kGiB},
                           {"limit_gb", static_cast<double>(view_.limit) / kGiB},
                           {"level", to_string(level)},
                           {"stage", stage.stage},
                           {"operation", stage.operation},
                           {"active_nodes", boost::json::parse(stage.active_nodes_json)},
                           {"window_size", view_.adaptive->window_size()},
                           {"chunk_size", view_.adaptive->chunk_size()},
                           {"tiles_in_flight", view_.admission->in_flight_now()}};
  record_(MetricRow{"memory", "process_rss_gb", static_cast<double>(sample.process_rss) / kGiB, json_text(meta),
                    Clock::now()});
}

void MetricsObserver::on_finish(RunSummary& summary) {
  for (const NodeStats& st : summary.nodes) {
    boost::json::object meta{{"stage", st.id}, {"type", st.type}, {"operation", st.operation}};
    for (const auto& [key, value] : st.tags) meta[key] = value;
    const std::string meta_text = json_text(meta);
    const std::pair<const char*, double> figures[] = {
        {"memory_peak_gb", st.rss_peak_bytes / kGiB}, {"memory_avg_gb", st.rss_avg_bytes / kGiB},
        {"items", static_cast<double>(st.items)},     {"cells", static_cast<double>(st.cells)},
        {"bytes", static_cast<double>(st.bytes)},     {"busy_seconds", st.busy_seconds}};
    for (const auto& [name, value] : figures) record_(MetricRow{"stage", name, value, meta_text, Clock::now()});
  }
}

}  // namespace rasterflow::detail

namespace rasterflow {
namespace {

class TileCallback final : public RunObserver {
 public:
  explicit TileCallback(std::function<void(const TileRequest&)> f) : f_(std::move(f)) {}
  void on_tile_done(const TileRequest& tile) override { f_(tile); }

 private:
  std::function<void(const TileRequest&)> f_;
};

}  // namespace

std::shared_ptr<RunObserver> observe_tiles(std::function<void(const TileRequest&)> f) {
  return std::make_shared<TileCallback>(std::move(f));
}

}  // namespace rasterflow
