#pragma once
// The settings that memory pressure changes during a run: window size, chunk size, tiles in
// flight and GDAL's cache. Starts from the run's configuration (never mutated) and records
// every change as a ThrottleEvent. Thread-safe: the monitor's callbacks write, the admission
// loop reads.
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <vector>

#include "rasterflow/memory.hpp"
#include "rasterflow/pipeline.hpp"

namespace rasterflow::detail {

struct AdaptiveLimits {
  int window_size = 2048;
  int chunk_size = 5000;
  int tiles_in_flight = 4;
  std::uint64_t gdal_cache_bytes = 64u << 20;
};

class AdaptiveSettings {
 public:
  static constexpr int kMinWindowAtWarning = 512;
  static constexpr int kWindowAtCritical = 256;
  static constexpr int kMinChunk = 1000;

  AdaptiveSettings(AdaptiveLimits base, std::chrono::steady_clock::time_point start);

  // Warning: window and chunk halve (not below 512 / 1000), tiles in flight halve, GDAL's cache
  // halves. Critical: window 256, chunk halves, one tile in flight, cache to a quarter, freed
  // heap handed back. Recovery: everything back to the configured values.
  void on_pressure(PressureLevel level, double ratio);

  int window_size() const { return window_.load(); }
  int chunk_size() const { return chunk_.load(); }
  int tiles_in_flight() const { return tiles_.load(); }
  // Every size at its floor: nothing more to shrink, only waiting helps.
  bool at_minimum() const;
  std::vector<ThrottleEvent> events() const;
  // Called (outside the lock) for every change, e.g. to record it as a metric.
  void on_event(std::function<void(const ThrottleEvent&)> callback) { callback_ = std::move(callback); }

 private:
  void change(std::atomic<int>& field, int value, const char* name, PressureLevel level, const std::string& reason);
  void change_cache(std::uint64_t value, PressureLevel level, const std::string& reason);

  AdaptiveLimits base_;
  std::chrono::steady_clock::time_point start_;
  std::atomic<int> window_, chunk_, tiles_;
  std::uint64_t cache_;
  mutable std::mutex mutex_;
  std::vector<ThrottleEvent> events_;
  std::function<void(const ThrottleEvent&)> callback_;
};

}  // namespace rasterflow::detail
