#pragma once
// Cross-cutting concerns of a run plug in as observers of it, as Taskflow's observers do: the
// stage attribution, the memory timeline, the live figures of progress displays, the Chrome
// trace and the metrics rows. The runner calls them in the order they were added, from its
// threads (node events from workers, writes from the sinks' serial writers, samples from the
// monitor's thread): implementations are thread-safe and never throw. The interface is public
// (rasterflow/run_observer.hpp); the engine's own observers here are private to engine/src.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "observe/stage_tracker.hpp"
#include "observe/trace.hpp"
#include "rasterflow/memory.hpp"
#include "rasterflow/metrics.hpp"
#include "rasterflow/pipeline.hpp"
#include "rasterflow/run_observer.hpp"
#include "run/adaptive.hpp"
#include "run/scheduler.hpp"

namespace rasterflow::detail {

using rasterflow::RunObserver;  // public: rasterflow/run_observer.hpp
using rasterflow::SteadyTime;

// What observers may read of the run while it goes.
struct RunView {
  std::vector<std::string> ids;         // per node
  std::vector<std::string> operations;  // per node: read, resample, merge, write
  SteadyTime start;
  const AdaptiveSettings* adaptive = nullptr;
  const Admission* admission = nullptr;
  std::uint64_t limit = 0;
};

// Which node is busy or holds the most bytes, and the RSS seen while each node worked.
class StageObserver final : public RunObserver {
 public:
  explicit StageObserver(const RunView& view) : tracker_(view.ids, view.operations) {}
  void on_sample(PressureLevel, const MemorySample& sample) override { tracker_.observe(sample.process_rss); }
  void on_node_begin(std::size_t node) override { tracker_.begin(node); }
  void on_node_end(std::size_t node, const TileRequest& tile, SteadyTime, SteadyTime, std::uint64_t bytes) override;
  void on_tile_done(const TileRequest& tile) override { tracker_.release(tile.seq); }
  void on_finish(RunSummary& summary) override;
  const StageTracker& tracker() const { return tracker_; }

 private:
  StageTracker tracker_;
};

// Every monitor sample as a point of the memory timeline (thinned past 4096 points).
class TimelineObserver final : public RunObserver {
 public:
  explicit TimelineObserver(const RunView& view) : view_(view) {}
  void on_sample(PressureLevel level, const MemorySample& sample) override;
  void on_finish(RunSummary& summary) override;

 private:
  const RunView& view_;
  std::mutex mutex_;
  std::vector<MemoryPoint> timeline_;
};

// The figures a progress display reads while the run goes (Pipeline::live()).
struct LiveFigures {
  std::atomic<std::uint64_t>* cells;
  std::atomic<std::uint64_t>* rows;
  std::atomic<int>* level;
  std::atomic<int>* window;
  std::atomic<int>* in_flight;
};
class LiveObserver final : public RunObserver {
 public:
  LiveObserver(const RunView& view, LiveFigures live, std::function<std::uint64_t()> rows_written)
      : view_(view), live_(live), rows_written_(std::move(rows_written)) {}
  void on_sample(PressureLevel level, const MemorySample& sample) override;
  void on_tile_done(const TileRequest& tile) override;

 private:
  const RunView& view_;
  LiveFigures live_;
  std::function<std::uint64_t()> rows_written_;
};

// A Chrome trace-event JSON: one span per node per tile, memory and tiles-in-flight counters.
class TraceObserver final : public RunObserver {
 public:
  TraceObserver(const RunView& view, std::filesystem::path file, std::string graph_name)
      : view_(view), writer_(view.start), file_(std::move(file)), graph_name_(std::move(graph_name)) {}
  void on_sample(PressureLevel level, const MemorySample& sample) override;
  void on_node_end(std::size_t node, const TileRequest& tile, SteadyTime t0, SteadyTime t1,
                   std::uint64_t bytes) override;
  void on_write(std::size_t node, const TileRequest& tile, SteadyTime t0, SteadyTime t1) override;
  void on_finish(RunSummary& summary) override;

 private:
  const RunView& view_;
  TraceWriter writer_;
  std::filesystem::path file_;
  std::string graph_name_;
};

// The run's metric rows: the topology at the start, throttle events, a memory snapshot every
// metrics.interval_ms, and per-stage figures at the end.
class MetricsObserver final : public RunObserver {
 public:
  MetricsObserver(const RunView& view, std::function<void(MetricRow)> record, std::chrono::milliseconds every,
                  const StageObserver& stages)
      : view_(view),
        record_(std::move(record)),
        every_(every),
        next_(std::chrono::steady_clock::now()),
        stages_(stages) {}
  void on_sample(PressureLevel level, const MemorySample& sample) override;
  void on_finish(RunSummary& summary) override;

 private:
  const RunView& view_;
  std::function<void(MetricRow)> record_;
  std::chrono::milliseconds every_;
  std::mutex mutex_;
  SteadyTime next_;
  const StageObserver& stages_;
};

}  // namespace rasterflow::detail
