#pragma once
// No crawling at the memory limit: the time a run spends at critical pressure with nothing left
// to shed (every size at its floor: one-row tiles, one tile in flight; pauses included), since
// the sizes last recovered. Once that time passes the bound and makes most of the stretch, the
// run is crawling (a tile now and then between pauses, as a too-small limit makes it) and should
// stop with its checkpoint instead of going on until the kernel or the batch system kills it.
// Not thread-safe: samples come from the monitor's thread and from the admitting thread
// (MemoryMonitor::sample_now), so the runner serialises its calls.
#include <chrono>
#include <optional>

namespace rasterflow::detail {

class CrawlWatch {
 public:
  using Time = std::chrono::steady_clock::time_point;
  // `bound`: the critical seconds that stop the run; `share`: the part of the stretch they must make.
  CrawlWatch(std::chrono::duration<double> bound, double share) : bound_(bound.count()), share_(share) {}

  // One monitor sample. Returns true once the run should stop.
  bool on_sample(Time now, bool critical, bool nothing_to_shed) {
    if (!nothing_to_shed) {  // the sizes recovered (or never reached their floor): a new stretch
      start_.reset();
      critical_s_ = 0;
      was_critical_ = false;
      return false;
    }
    if (!start_) {
      if (!critical) return false;
      start_ = now;
    } else if (was_critical_) {
      critical_s_ += std::chrono::duration<double>(now - last_).count();
    }
    last_ = now;
    was_critical_ = critical;
    const double stretch = std::chrono::duration<double>(now - *start_).count();
    return critical_s_ >= bound_ && critical_s_ >= share_ * stretch;
  }
  double critical_seconds() const { return critical_s_; }

 private:
  double bound_;
  double share_;
  std::optional<Time> start_;
  Time last_{};
  bool was_critical_ = false;
  double critical_s_ = 0;
};

}  // namespace rasterflow::detail
