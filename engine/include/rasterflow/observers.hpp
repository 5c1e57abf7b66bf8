#pragma once
// The observers a run is usually watched with, each one concern (rasterflow/run_observer.hpp's
// contract: thread-safe, never throwing, never blocking). Run::observers starts with the
// standard ones (StageObserver, TimelineObserver); the run session adds ProgressObserver,
// TraceObserver and MetricRowsObserver. An embedder lists the ones it wants, in the order it
// wants them called, with its own beside them or instead of them.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "rasterflow/metrics.hpp"
#include "rasterflow/pipeline.hpp"
#include "rasterflow/run_observer.hpp"

namespace rasterflow {

namespace detail {
class StageTracker;
class TraceWriter;
}  // namespace detail

// Which node is busy or holds the most bytes, and the process RSS seen while each node worked
// (RunSummary::nodes' rss_peak_bytes and rss_avg_bytes: 0 without this observer).
class StageObserver final : public RunObserver {
 public:
  StageObserver();
  ~StageObserver() override;
  void on_start(const RunView& view) override;
  void on_sample(PressureLevel level, const MemorySample& sample) override;
  void on_node_begin(std::size_t node) override;
  void on_node_end(std::size_t node, const TileRequest& tile, SteadyTime t0, SteadyTime t1,
                   std::uint64_t bytes) override;
  void on_tile_done(const TileRequest& tile) override;
  void on_finish(RunSummary& summary) override;

  struct Snapshot {
    std::string stage = "idle";  // the node holding the most tracked bytes (or busy)
    std::string operation = "idle";
    std::string active_nodes_json = "{}";  // {"id": bytes, ...} for busy or holding nodes
  };
  // Now, from any thread (the idle snapshot before the run starts).
  Snapshot snapshot() const;

 private:
  std::shared_ptr<detail::StageTracker> tracker_;  // made by on_start
};

// Every memory monitor sample as a point of RunSummary::memory_timeline (thinned past 4096
// points; the timeline stays empty without this observer).
class TimelineObserver final : public RunObserver {
 public:
  void on_start(const RunView& view) override;
  void on_sample(PressureLevel level, const MemorySample& sample) override;
  void on_finish(RunSummary& summary) override;

 private:
  const RunView* view_ = nullptr;
  std::mutex mutex_;
  std::vector<MemoryPoint> timeline_;
};

// What a progress display shows (ProgressObserver::now()).
struct Progress {
  std::uint64_t cells_done = 0;
  std::uint64_t cells_before = 0;  // of cells_done, those a resumed run found written
  std::uint64_t cells_total = 0;   // before the run starts: the one given to the observer
  std::uint64_t rows_written = 0;
  PressureLevel level = PressureLevel::normal;
  int window_size = 0;
  int tiles_in_flight = 0;
};

// The live figures of a run, for a progress display reading them from another thread.
class ProgressObserver final : public RunObserver {
 public:
  // `cells_total`: what now() says of the total before the run starts (a display made before
  // it, as the run session's); the run's own band replaces it at the start.
  explicit ProgressObserver(std::uint64_t cells_total = 0) : cells_total_(cells_total) {}
  void on_start(const RunView& view) override;
  void on_sample(PressureLevel level, const MemorySample& sample) override;
  void on_tile_done(const TileRequest& tile) override;
  // Safe from any thread, before, during and after the run.
  Progress now() const;

 private:
  const RunView* view_ = nullptr;
  std::atomic<std::uint64_t> cells_{0};
  std::atomic<std::uint64_t> cells_before_{0};
  std::atomic<std::uint64_t> cells_total_{0};
  std::atomic<std::uint64_t> rows_{0};
  std::atomic<int> level_{0};
  std::atomic<int> window_{0};
  std::atomic<int> in_flight_{0};
};

// A Chrome trace-event JSON of the run (opens in Perfetto or chrome://tracing): one span per
// node per tile, memory and tiles-in-flight counters; written when the run succeeds, as
// <file>.partial then renamed.
class TraceObserver final : public RunObserver {
 public:
  explicit TraceObserver(std::filesystem::path file);
  ~TraceObserver() override;
  void on_start(const RunView& view) override;
  void on_sample(PressureLevel level, const MemorySample& sample) override;
  void on_node_end(std::size_t node, const TileRequest& tile, SteadyTime t0, SteadyTime t1,
                   std::uint64_t bytes) override;
  void on_write(std::size_t node, const TileRequest& tile, SteadyTime t0, SteadyTime t1) override;
  void on_finish(RunSummary& summary) override;

 private:
  const RunView* view_ = nullptr;
  std::filesystem::path file_;
  std::vector<std::string> ids_;  // the spans point at these
  std::unique_ptr<detail::TraceWriter> writer_;
};

// The run's metric rows (DESIGN.md's metrics): the topology at the start, throttle events, a
// memory snapshot every `every`, and per-stage figures at the end, handed to `record` (which
// must not block: a MetricsRecorder queues them). With `stages`, memory rows name the stage,
// operation and active nodes; without it they leave those fields out.
class MetricRowsObserver final : public RunObserver {
 public:
  MetricRowsObserver(std::function<void(MetricRow)> record, std::chrono::milliseconds every,
                     std::shared_ptr<const StageObserver> stages = nullptr);
  void on_start(const RunView& view) override;
  void on_throttle(const ThrottleEvent& event) override;
  void on_sample(PressureLevel level, const MemorySample& sample) override;
  void on_finish(RunSummary& summary) override;

 private:
  const RunView* view_ = nullptr;
  std::function<void(MetricRow)> record_;
  std::chrono::milliseconds every_;
  std::shared_ptr<const StageObserver> stages_;
  std::mutex mutex_;
  SteadyTime next_;
};

}  // namespace rasterflow
