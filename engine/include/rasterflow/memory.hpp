#pragma once
// Memory watching: what the process and its machine (or cgroup) use, the pressure level that
// follows, and a background MemoryMonitor that calls back on each crossing.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace rasterflow {

enum class PressureLevel { normal, warning, critical };
const char* to_string(PressureLevel level);

struct MemorySample {
  std::uint64_t process_rss = 0;   // bytes
  std::uint64_t system_total = 0;  // machine MemTotal, or the cgroup's limit when it has one
  std::uint64_t system_used = 0;   // MemTotal - MemAvailable, or the cgroup's working set (usage - inactive file cache)
  std::uint64_t system_available = 0;  // system_total - system_used
  bool in_cgroup = false;              // system_* describe a limited cgroup
};

// A memory limit and where it came from, for the plan and the run's first log line:
// "cgroup v1 /sys/fs/cgroup/memory/job_1 (memory.limit_in_bytes)", "RLIMIT_AS",
// "SLURM_MEM_PER_NODE=4096 (MiB)", "machine (MemTotal)", "--memory-limit", "memory.limit".
struct MemoryLimit {
  std::uint64_t bytes = 0;
  std::string source;
};

// Where samples come from. Injectable so that tests can drive the monitor.
class MemorySource {
 public:
  virtual ~MemorySource() = default;
  virtual MemorySample sample() = 0;
  // The smallest of the cgroup limit, RLIMIT_AS, SLURM's memory variables and the machine's memory.
  virtual std::uint64_t auto_limit() = 0;
  // The same with its source; sources that cannot tell say "auto".
  virtual MemoryLimit decide_limit() { return {auto_limit(), "auto"}; }
};

// The environment as a function (tests pass fixtures): a variable's value, nullopt when unset.
using Environment = std::function<std::optional<std::string>(const std::string& name)>;
Environment process_environment();

// A SLURM memory value: MiB unless suffixed K, M, G or T (binary units, as SLURM means them).
std::optional<std::uint64_t> parse_slurm_memory(const std::string& text);
// The limit SLURM states for this node's share of the job: SLURM_MEM_PER_NODE, or
// SLURM_MEM_PER_CPU times the CPUs the job has on this node (SLURM_CPUS_ON_NODE, else
// SLURM_CPUS_PER_TASK, else 1). nullopt outside SLURM or when the variables are unusable.
std::optional<MemoryLimit> slurm_memory_limit(const Environment& env);
// A limit that SLURM enforces by accounting (its memory variables, no cgroup) counts every
// process of the job step: the batch shell, srun, the launcher. Such a limit is lowered by a
// stated headroom for them (kJobHeadroom, or 1% when larger), named in its source; other limits
// are returned as they are (a cgroup's working set already counts the job's other processes).
inline constexpr std::uint64_t kJobHeadroom = std::uint64_t{16} << 20;
MemoryLimit with_job_headroom(MemoryLimit limit);

// Reads /proc and the cgroup files (v2 memory.current/memory.max, v1
// memory.usage_in_bytes/memory.limit_in_bytes). `proc_root` and `cgroup_root` default to
// /proc and /sys/fs/cgroup; tests point them at fixture folders.
class SystemMemorySource final : public MemorySource {
 public:
  explicit SystemMemorySource(std::filesystem::path proc_root = "/proc",
                              std::filesystem::path cgroup_root = "/sys/fs/cgroup", bool use_rlimit = true);
  MemorySample sample() override;
  std::uint64_t auto_limit() override { return decide_limit().bytes; }
  // The smallest of: the cgroup's limit, RLIMIT_AS (when use_rlimit), SLURM's memory variables
  // (from the environment), the machine's MemTotal; ties go to the first in that order.
  MemoryLimit decide_limit() override;
  // The environment SLURM's variables are read from (default: this process's).
  void set_environment(Environment env) { env_ = std::move(env); }
  // The cgroup memory files found ("" when none): for messages and tests.
  const std::filesystem::path& cgroup_dir() const { return cgroup_dir_; }
  int cgroup_version() const { return cgroup_version_; }

 private:
  // The cgroup's reclaimable file cache (memory.stat), 0 when not found.
  std::uint64_t inactive_file_bytes() const;
  std::filesystem::path proc_root_;
  std::filesystem::path cgroup_dir_;
  int cgroup_version_ = 0;  // 0: none, 1 or 2
  bool use_rlimit_;
  Environment env_ = process_environment();
};

// Parsers, exposed for tests: values in bytes, nullopt when absent or unlimited.
std::optional<std::uint64_t> parse_meminfo_kib(const std::string& meminfo, const std::string& key);
std::optional<std::uint64_t> parse_cgroup_limit(const std::string& text);
std::optional<std::uint64_t> parse_status_rss(const std::string& status);

struct MemoryThresholds {
  double warning = 0.80;
  double critical = 0.90;
  double recovery_margin = 0.05;  // recovery needs the ratio below warning - margin...
  int recovery_samples = 3;       // ...for this many samples in a row
};

// The pressure of one sample: the higher of RSS / limit and the machine's (cgroup's) used /
// total, compared with the thresholds.
double pressure_ratio(const MemorySample& sample, std::uint64_t limit);

// This process's resident set size now (/proc/self/statm): cheap enough to call per tile.
std::uint64_t current_rss();

// Samples in a background thread every `interval` and calls the callbacks from it: warning
// and critical once per upward crossing, recovery once when the level has stayed below
// warning - margin for `recovery_samples` samples. Callbacks must be quick and thread-safe.
class MemoryMonitor {
 public:
  using Callback = std::function<void(PressureLevel level, const MemorySample& sample, double ratio)>;

  MemoryMonitor(std::shared_ptr<MemorySource> source, std::uint64_t limit, MemoryThresholds thresholds,
                std::chrono::milliseconds interval);
  ~MemoryMonitor();
  MemoryMonitor(const MemoryMonitor&) = delete;
  MemoryMonitor& operator=(const MemoryMonitor&) = delete;

  void register_warning_callback(Callback cb);
  void register_critical_callback(Callback cb);
  void register_recovery_callback(Callback cb);
  // Called after every sample, whatever the level (metrics snapshots).
  void register_sample_callback(Callback cb);

  void start();
  void stop();
  // Takes a sample now (also called by the thread); returns the level after it.
  PressureLevel sample_now();

  PressureLevel level() const { return level_.load(); }
  double last_ratio() const { return last_ratio_.load(); }
  MemorySample last_sample() const;
  std::uint64_t limit() const { return limit_; }
  std::uint64_t peak_rss() const { return peak_rss_.load(); }

 private:
  void loop();

  std::shared_ptr<MemorySource> source_;
  std::uint64_t limit_;
  MemoryThresholds thresholds_;
  std::chrono::milliseconds interval_;
  std::vector<Callback> on_warning_, on_critical_, on_recovery_, on_sample_;
  std::atomic<PressureLevel> level_{PressureLevel::normal};
  std::atomic<double> last_ratio_{0.0};
  std::atomic<std::uint64_t> peak_rss_{0};
  int calm_samples_ = 0;
  mutable std::mutex mutex_;  // guards sampling and last_sample_
  MemorySample last_sample_;
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace rasterflow
