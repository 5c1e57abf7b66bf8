#include "run/adaptive.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>

#include <malloc.h>

#include "rasterflow/node/hooks.hpp"
#include "rasterflow/size.hpp"

namespace rasterflow::detail {

AdaptiveSettings::AdaptiveSettings(AdaptiveLimits base, std::chrono::steady_clock::time_point start)
    : base_(base),
      start_(start),
      window_(base.window_size),
      chunk_(base.chunk_size),
      tiles_(base.tiles_in_flight),
      cache_(base.gdal_cache_bytes) {
  hooks().set_read_cache_bytes(cache_);
}

bool AdaptiveSettings::at_minimum() const {
  return window_.load() <= kWindowAtCritical && tiles_.load() <= 1 &&
         chunk_.load() <= std::min(kMinChunk, base_.chunk_size);
}

void AdaptiveSettings::change(std::atomic<int>& field, int value, const char* name, PressureLevel level,
                              const std::string& reason) {
  const int previous = field.exchange(value);
  if (previous == value) return;
  spdlog::warn("memory {}: {} {} -> {} ({})", to_string(level), name, previous, value, reason);
  const ThrottleEvent event{std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(),
                            name,
                            static_cast<double>(value),
                            static_cast<double>(previous),
                            to_string(level),
                            reason};
  {
    std::lock_guard lock(mutex_);
    events_.push_back(event);
  }
  if (callback_) callback_(event);
}

void AdaptiveSettings::change_cache(std::uint64_t value, PressureLevel level, const std::string& reason) {
  std::uint64_t previous = 0;
  ThrottleEvent event;
  {
    std::lock_guard lock(mutex_);
    previous = cache_;
    if (previous == value) return;
    cache_ = value;
    event = {std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(),
             "gdal_cache_bytes",
             static_cast<double>(value),
             static_cast<double>(previous),
             to_string(level),
             reason};
    events_.push_back(event);
  }
  if (callback_) callback_(event);
  hooks().set_read_cache_bytes(value);
  spdlog::warn("memory {}: GDAL cache {} -> {} ({})", to_string(level), format_size(previous), format_size(value),
               reason);
}

void AdaptiveSettings::on_pressure(PressureLevel level, double ratio) {
  char reason[96];
  std::snprintf(reason, sizeof reason, "memory at %.0f%% of the limit", ratio * 100.0);
  switch (level) {
    case PressureLevel::warning:
      change(window_, std::max(kMinWindowAtWarning, window_.load() / 2), "window_size", level, reason);
      change(chunk_, std::max(std::min(kMinChunk, base_.chunk_size), chunk_.load() / 2), "chunk_size", level, reason);
      change(tiles_, std::max(1, tiles_.load() / 2), "tiles_in_flight", level, reason);
      change_cache(std::max<std::uint64_t>(4u << 20, base_.gdal_cache_bytes / 2), level, reason);
      break;
    case PressureLevel::critical:
      change(window_, kWindowAtCritical, "window_size", level, reason);
      change(chunk_, std::max(std::min(kMinChunk, base_.chunk_size), chunk_.load() / 2), "chunk_size", level, reason);
      change(tiles_, 1, "tiles_in_flight", level, reason);
      change_cache(std::max<std::uint64_t>(4u << 20, base_.gdal_cache_bytes / 4), level, reason);
      malloc_trim(0);  // freed heap handed back to the system
      break;
    case PressureLevel::normal: {
      const std::string why = std::string("recovered: ") + reason;
      change(window_, base_.window_size, "window_size", level, why);
      change(chunk_, base_.chunk_size, "chunk_size", level, why);
      change(tiles_, base_.tiles_in_flight, "tiles_in_flight", level, why);
      change_cache(base_.gdal_cache_bytes, level, why);
      break;
    }
  }
}

std::vector<ThrottleEvent> AdaptiveSettings::events() const {
  std::lock_guard lock(mutex_);
  return events_;
}

}  // namespace rasterflow::detail
