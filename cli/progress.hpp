#pragma once
// Progress of a run: on a terminal, one line refreshed four times a second (cells done of the
// total, rate, ETA, memory level, window size); otherwise a plain log line every 10 seconds and
// one at the end, for batch jobs' log files. Reads the run's ProgressObserver only: it never slows the run.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "rasterflow/observers.hpp"

namespace rasterflow::cli {

class ProgressDisplay {
 public:
  // mode: auto (a bar when stderr is a terminal, log lines otherwise), always (a bar), never.
  ProgressDisplay(const ProgressObserver& progress, const std::string& mode);
  ~ProgressDisplay();
  ProgressDisplay(const ProgressDisplay&) = delete;
  ProgressDisplay& operator=(const ProgressDisplay&) = delete;
  void stop();

 private:
  void loop();
  std::string line() const;

  const ProgressObserver& progress_;
  bool bar_ = false;
  bool enabled_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace rasterflow::cli
