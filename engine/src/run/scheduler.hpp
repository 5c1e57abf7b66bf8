#pragma once
// The tile scheduler's parts: admission of tiles by count and bytes (with the pause at critical
// pressure), and the bytes tiles were measured to hold, which correct the planned estimate.
// Private to engine/src.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>

namespace rasterflow::detail {

// Admission of tiles into the flow graph: at most `tiles_in_flight` tiles and `budget` bytes
// reserved at once. The engine's limiter: a tbb::flow::limiter_node counts items but cannot
// wait on bytes, so the graph is fed from the calling thread, which may block here without
// taking a worker away from the tiles in flight.
class Admission {
 public:
  explicit Admission(std::uint64_t budget) : budget_(budget) {}

  // Waits until a tile of `bytes` fits (or nothing is in flight), `stop()` returns true, or
  // `paused(in_flight)` holds for longer than `pause_limit`. The predicates run under the lock. Returns false when
  // stopped; throws RunError through `on_pause_timeout` when the pause lasts too long.
  template <typename Stop, typename Limit, typename Paused, typename Timeout>
  bool acquire(std::uint64_t seq, std::uint64_t bytes, Stop stop, Limit tiles_allowed, Paused paused,
               Timeout on_pause_timeout, std::chrono::milliseconds pause_limit, double& paused_seconds) {
    std::unique_lock lock(mutex_);
    std::optional<std::chrono::steady_clock::time_point> pause_start;
    for (;;) {
      if (stop()) return false;
      const bool is_paused = paused(in_flight_);
      if (is_paused) {
        if (!pause_start) pause_start = std::chrono::steady_clock::now();
        if (std::chrono::steady_clock::now() - *pause_start > pause_limit) on_pause_timeout();
      } else if (pause_start) {
        paused_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - *pause_start).count();
        pause_start.reset();
      }
      const bool fits = in_flight_ == 0 || (in_flight_ < tiles_allowed() && used_ + bytes <= budget_);
      if (!is_paused && fits) break;
      cv_.wait_for(lock, std::chrono::milliseconds(20));
    }
    if (pause_start)
      paused_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - *pause_start).count();
    ++in_flight_;
    in_flight_now_.store(in_flight_);
    used_ += bytes;
    reserved_[seq] = bytes;
    peak_used_ = std::max(peak_used_, used_);
    peak_in_flight_ = std::max(peak_in_flight_, in_flight_);
    return true;
  }

  void release(std::uint64_t seq) {
    {
      std::lock_guard lock(mutex_);
      const auto it = reserved_.find(seq);
      if (it == reserved_.end()) return;
      used_ -= it->second;
      reserved_.erase(it);
      --in_flight_;
      in_flight_now_.store(in_flight_);
    }
    cv_.notify_all();
  }

  void wake() { cv_.notify_all(); }
  int in_flight_now() const { return in_flight_now_.load(); }
  std::uint64_t peak_used() const { return peak_used_; }
  int peak_in_flight() const { return peak_in_flight_; }

 private:
  std::uint64_t budget_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  int in_flight_ = 0;
  std::uint64_t used_ = 0;
  std::uint64_t peak_used_ = 0;
  int peak_in_flight_ = 0;
  std::atomic<int> in_flight_now_{0};
  std::map<std::uint64_t, std::uint64_t> reserved_;
};

// Bytes each tile's payloads actually held, summed over the nodes, to correct the estimate.
class MeasuredBytes {
 public:
  void add(std::uint64_t seq, std::uint64_t bytes) {
    std::lock_guard lock(mutex_);
    per_tile_[seq] += bytes;
  }
  void finish(std::uint64_t seq, std::int64_t cells) {
    std::lock_guard lock(mutex_);
    const auto it = per_tile_.find(seq);
    if (it == per_tile_.end() || cells <= 0) return;
    const double per_cell = static_cast<double>(it->second) / static_cast<double>(cells);
    per_tile_.erase(it);
    per_cell_ = samples_ == 0 ? per_cell : std::max(per_cell, 0.8 * per_cell_ + 0.2 * per_cell);
    ++samples_;
  }
  // Measured bytes per cell with a 25% margin, or `plan` before the first tile completes.
  double per_cell(double plan) const {
    std::lock_guard lock(mutex_);
    return samples_ == 0 ? plan : 1.25 * per_cell_;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::uint64_t, std::uint64_t> per_tile_;
  double per_cell_ = 0;
  int samples_ = 0;
};

}  // namespace rasterflow::detail
