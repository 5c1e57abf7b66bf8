#include "cli/progress.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace rasterflow::cli {

ProgressDisplay::ProgressDisplay(const ProgressObserver& progress, const std::string& mode) : progress_(progress) {
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  enabled_ = mode != "never";
  bar_ = mode == "always" || (mode == "auto" && tty);
  if (enabled_) thread_ = std::thread([this] { loop(); });
}

ProgressDisplay::~ProgressDisplay() { stop(); }

std::string ProgressDisplay::line() const {
  const Progress l = progress_.now();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double fraction = l.cells_total ? static_cast<double>(l.cells_done) / static_cast<double>(l.cells_total) : 0.0;
  // The rate and ETA count this run's work only: after --resume, not the rows found written.
  const std::uint64_t this_run = l.cells_done - std::min(l.cells_before, l.cells_done);
  const double rate = seconds > 0 ? static_cast<double>(this_run) / seconds : 0.0;
  const double eta = rate > 0 ? static_cast<double>(l.cells_total - l.cells_done) / rate : 0.0;
  char buf[384];
  std::snprintf(
      buf, sizeof buf,
      "%5.1f%% %llu/%llu cells, %llu rows, %.2f Mcells/s, ETA %.0f s, memory %s, window %d, %d tiles in flight",
      100.0 * fraction, static_cast<unsigned long long>(l.cells_done), static_cast<unsigned long long>(l.cells_total),
      static_cast<unsigned long long>(l.rows_written), rate / 1e6, eta, to_string(l.level), l.window_size,
      l.tiles_in_flight);
  std::string text = buf;
  if (l.cells_before > 0) {
    std::snprintf(buf, sizeof buf, " (resumed at %llu cells: this run %llu cells in %.2f s)",
                  static_cast<unsigned long long>(l.cells_before), static_cast<unsigned long long>(this_run), seconds);
    text += buf;
  }
  return text;
}

void ProgressDisplay::loop() {
  const auto period = bar_ ? std::chrono::milliseconds(250) : std::chrono::milliseconds(10000);
  std::unique_lock lock(mutex_);
  while (!cv_.wait_for(lock, period, [this] { return stopping_; })) {
    if (bar_) {
      std::fprintf(stderr, "\r%s\033[K", line().c_str());
      std::fflush(stderr);
    } else {
      spdlog::info("progress: {}", line());
    }
  }
  // The last state, once, in either form.
  if (bar_) {
    std::fprintf(stderr, "\r%s\033[K\n", line().c_str());
    std::fflush(stderr);
  } else {
    spdlog::info("progress: {}", line());
  }
}

void ProgressDisplay::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace rasterflow::cli
