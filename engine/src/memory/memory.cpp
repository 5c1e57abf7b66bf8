#include "rasterflow/memory.hpp"
#include "rasterflow/size.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace rasterflow {
namespace {

constexpr std::uint64_t kUnlimited = std::uint64_t{1} << 60;  // cgroup "no limit" is ~2^63

std::optional<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::optional<std::uint64_t> parse_number(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end == text.data()) return std::nullopt;
  return v;
}

}  // namespace

const char* to_string(PressureLevel level) {
  switch (level) {
    case PressureLevel::normal:
      return "normal";
    case PressureLevel::warning:
      return "warning";
    case PressureLevel::critical:
      return "critical";
  }
  return "?";
}

std::optional<std::uint64_t> parse_meminfo_kib(const std::string& meminfo, const std::string& key) {
  std::istringstream in(meminfo);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      const auto v = parse_number(std::string_view(line).substr(key.size() + 1));
      if (v) return *v * 1024;
    }
  }
  return std::nullopt;
}

std::optional<std::uint64_t> parse_status_rss(const std::string& status) { return parse_meminfo_kib(status, "VmRSS"); }

std::optional<std::uint64_t> parse_cgroup_limit(const std::string& text) {
  if (text.rfind("max", 0) == 0) return std::nullopt;
  const auto v = parse_number(text);
  if (!v || *v >= kUnlimited) return std::nullopt;
  return v;
}

SystemMemorySource::SystemMemorySource(std::filesystem::path proc_root, std::filesystem::path cgroup_root,
                                       bool use_rlimit)
    : proc_root_(std::move(proc_root)), use_rlimit_(use_rlimit) {
  // /proc/self/cgroup: "0::/path" for v2, "N:memory:/path" (or "N:...,memory,...:/path") for v1.
  const auto cgroups = read_file(proc_root_ / "self/cgroup");
  if (!cgroups) return;
  std::istringstream in(*cgroups);
  std::string line;
  std::string v1_path, v2_path;
  bool has_v2 = false;
  while (std::getline(in, line)) {
    const auto a = line.find(':');
    const auto b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1);
    const std::string path = line.substr(b + 1);
    if (line.rfind("0::", 0) == 0) {
      has_v2 = true;
      v2_path = path;
    } else if (("," + controllers + ",").find(",memory,") != std::string::npos) {
      v1_path = path;
    }
  }
  // A container often mounts its own cgroup as the root: try the full path, then the root.
  const auto pick = [&](const std::filesystem::path& base, const std::string& rel,
                        const char* probe) -> std::filesystem::path {
    const std::filesystem::path full = base / std::filesystem::path(rel).relative_path();
    if (std::filesystem::exists(full / probe)) return full;
    if (std::filesystem::exists(base / probe)) return base;
    return {};
  };
  if (!v1_path.empty()) {
    cgroup_dir_ = pick(cgroup_root / "memory", v1_path, "memory.limit_in_bytes");
    if (!cgroup_dir_.empty()) cgroup_version_ = 1;
  }
  if (cgroup_version_ == 0 && has_v2) {
    for (const auto& base : {cgroup_root, cgroup_root / "unified"}) {
      cgroup_dir_ = pick(base, v2_path, "memory.current");
      if (!cgroup_dir_.empty()) {
        cgroup_version_ = 2;
        break;
      }
    }
  }
}

MemorySample SystemMemorySource::sample() {
  MemorySample s;
  if (const auto status = read_file(proc_root_ / "self/status")) s.process_rss = parse_status_rss(*status).value_or(0);
  const auto meminfo = read_file(proc_root_ / "meminfo").value_or("");
  const std::uint64_t total = parse_meminfo_kib(meminfo, "MemTotal").value_or(0);
  const std::uint64_t available = parse_meminfo_kib(meminfo, "MemAvailable").value_or(total);
  s.system_total = total;
  s.system_used = total > available ? total - available : 0;
  if (cgroup_version_ != 0) {
    const auto limit = read_file(cgroup_dir_ / (cgroup_version_ == 2 ? "memory.max" : "memory.limit_in_bytes"));
    const auto usage = read_file(cgroup_dir_ / (cgroup_version_ == 2 ? "memory.current" : "memory.usage_in_bytes"));
    const auto limit_bytes = limit ? parse_cgroup_limit(*limit) : std::nullopt;
    const auto usage_bytes = usage ? parse_number(*usage) : std::nullopt;
    if (limit_bytes && usage_bytes && (*limit_bytes < total || total == 0)) {
      s.in_cgroup = true;
      s.system_total = *limit_bytes;
      // The working set, as Docker and the kubelet count it: the cgroup's usage includes the
      // page cache of every file read and written, of which the inactive part is reclaimed on
      // demand and is no pressure (v2 inactive_file, v1 total_inactive_file in memory.stat).
      const std::uint64_t reclaimable = inactive_file_bytes();
      const std::uint64_t working_set = *usage_bytes > reclaimable ? *usage_bytes - reclaimable : 0;
      s.system_used = std::min(working_set, *limit_bytes);
    }
  }
  s.system_available = s.system_total > s.system_used ? s.system_total - s.system_used : 0;
  return s;
}

std::uint64_t SystemMemorySource::inactive_file_bytes() const {
  const auto stat = read_file(cgroup_dir_ / "memory.stat");
  if (!stat) return 0;
  const std::string key = cgroup_version_ == 2 ? "inactive_file " : "total_inactive_file ";
  std::size_t at = 0;
  while ((at = stat->find(key, at)) != std::string::npos) {
    if (at == 0 || (*stat)[at - 1] == '\n')
      return parse_number(stat->substr(at + key.size(), stat->find('\n', at) - at - key.size())).value_or(0);
    at += key.size();
  }
  return 0;
}

Environment process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    return v != nullptr ? std::optional<std::string>(v) : std::nullopt;
  };
}

std::optional<std::uint64_t> parse_slurm_memory(const std::string& text) {
  std::uint64_t v = 0;
  const char* begin = text.data();
  const char* end = begin + text.size();
  const auto [at, ec] = std::from_chars(begin, end, v);
  if (ec != std::errc{} || at == begin || v == 0) return std::nullopt;
  std::uint64_t unit = 1ull << 20;  // MiB unless suffixed
  if (at != end) {
    if (at + 1 != end) return std::nullopt;
    switch (*at) {
      case 'K':
      case 'k':
        unit = 1ull << 10;
        break;
      case 'M':
      case 'm':
        unit = 1ull << 20;
        break;
      case 'G':
      case 'g':
        unit = 1ull << 30;
        break;
      case 'T':
      case 't':
        unit = 1ull << 40;
        break;
      default:
        return std::nullopt;
    }
  }
  if (v > kUnlimited / unit) return std::nullopt;
  return v * unit;
}

namespace {
// " MiB" after a SLURM value without a unit of its own.
std::string slurm_unit(const std::string& text) {
  return !text.empty() && text.back() >= '0' && text.back() <= '9' ? " MiB" : "";
}
}  // namespace

std::optional<MemoryLimit> slurm_memory_limit(const Environment& env) {
  if (const auto per_node = env("SLURM_MEM_PER_NODE")) {
    if (const auto bytes = parse_slurm_memory(*per_node))
      return MemoryLimit{*bytes, "SLURM_MEM_PER_NODE=" + *per_node + slurm_unit(*per_node)};
  }
  const auto per_cpu = env("SLURM_MEM_PER_CPU");
  if (!per_cpu) return std::nullopt;
  const auto bytes = parse_slurm_memory(*per_cpu);
  if (!bytes) return std::nullopt;
  // SLURM_CPUS_ON_NODE: the CPUs the job holds on this node (SLURM_CPUS_PER_TASK when absent).
  std::uint64_t cpus = 1;
  std::string cpus_from = "1 CPU";
  for (const char* name : {"SLURM_CPUS_ON_NODE", "SLURM_CPUS_PER_TASK"}) {
    const auto text = env(name);
    if (!text) continue;
    const auto n = parse_number(*text);
    if (!n || *n == 0) continue;
    cpus = *n;
    cpus_from = std::string(name) + "=" + *text;
    break;
  }
  return MemoryLimit{*bytes * cpus, "SLURM_MEM_PER_CPU=" + *per_cpu + slurm_unit(*per_cpu) + " x " + cpus_from};
}

MemoryLimit with_job_headroom(MemoryLimit limit) {
  if (limit.source.rfind("SLURM_MEM_", 0) != 0) return limit;
  const std::uint64_t headroom = std::max(kJobHeadroom, limit.bytes / 100);
  if (limit.bytes <= 2 * headroom) return limit;  // too small to share: the plan says so
  limit.bytes -= headroom;
  limit.source += " less " + format_size(headroom) + " for the job's other processes (batch shell, srun)";
  return limit;
}

MemoryLimit SystemMemorySource::decide_limit() {
  const auto meminfo = read_file(proc_root_ / "meminfo").value_or("");
  MemoryLimit best{parse_meminfo_kib(meminfo, "MemTotal").value_or(0), "machine (MemTotal)"};
  std::vector<MemoryLimit> candidates;
  if (cgroup_version_ != 0) {
    const char* file = cgroup_version_ == 2 ? "memory.max" : "memory.limit_in_bytes";
    const auto text = read_file(cgroup_dir_ / file);
    if (const auto v = text ? parse_cgroup_limit(*text) : std::nullopt) {
      candidates.push_back(
          {*v, "cgroup v" + std::to_string(cgroup_version_) + " " + cgroup_dir_.string() + " (" + file + ")"});
    }
  }
  if (use_rlimit_) {
    rlimit rl{};
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
      candidates.push_back({rl.rlim_cur, "RLIMIT_AS"});
  }
  if (env_) {
    if (auto slurm = slurm_memory_limit(env_)) candidates.push_back(std::move(*slurm));
  }
  // The first of the smallest wins: a cgroup limit equal to SLURM's is reported as the cgroup.
  for (auto it = candidates.rbegin(); it != candidates.rend(); ++it) {
    if (best.bytes == 0 || it->bytes <= best.bytes) best = *it;
  }
  return best;
}

double pressure_ratio(const MemorySample& s, std::uint64_t limit) {
  const double process = limit > 0 ? static_cast<double>(s.process_rss) / static_cast<double>(limit) : 0.0;
  const double system =
      s.system_total > 0 ? static_cast<double>(s.system_used) / static_cast<double>(s.system_total) : 0.0;
  return std::max(process, system);
}

MemoryMonitor::MemoryMonitor(std::shared_ptr<MemorySource> source, std::uint64_t limit, MemoryThresholds thresholds,
                             std::chrono::milliseconds interval)
    : source_(std::move(source)), limit_(limit), thresholds_(thresholds), interval_(interval) {}

MemoryMonitor::~MemoryMonitor() { stop(); }

void MemoryMonitor::register_warning_callback(Callback cb) { on_warning_.push_back(std::move(cb)); }
void MemoryMonitor::register_critical_callback(Callback cb) { on_critical_.push_back(std::move(cb)); }
void MemoryMonitor::register_recovery_callback(Callback cb) { on_recovery_.push_back(std::move(cb)); }
void MemoryMonitor::register_sample_callback(Callback cb) { on_sample_.push_back(std::move(cb)); }

std::uint64_t current_rss() {
  static const long page = sysconf(_SC_PAGESIZE);
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long long size = 0, resident = 0;
  const int n = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  return n == 2 ? resident * static_cast<std::uint64_t>(page) : 0;
}

MemorySample MemoryMonitor::last_sample() const {
  std::lock_guard lock(mutex_);
  return last_sample_;
}

PressureLevel MemoryMonitor::sample_now() {
  std::vector<Callback>* fire = nullptr;
  MemorySample s;
  double ratio = 0;
  PressureLevel next;
  {
    std::lock_guard lock(mutex_);
    s = source_->sample();
    last_sample_ = s;
    ratio = pressure_ratio(s, limit_);
    last_ratio_.store(ratio);
    std::uint64_t peak = peak_rss_.load();
    while (s.process_rss > peak && !peak_rss_.compare_exchange_weak(peak, s.process_rss)) {
    }
    const PressureLevel current = level_.load();
    next = current;
    if (ratio >= thresholds_.critical) {
      next = PressureLevel::critical;
      calm_samples_ = 0;
    } else if (ratio >= thresholds_.warning) {
      // Down from critical only through recovery; up from normal to warning at once.
      if (current == PressureLevel::normal) next = PressureLevel::warning;
      calm_samples_ = 0;
    } else if (current != PressureLevel::normal) {
      if (ratio < thresholds_.warning - thresholds_.recovery_margin) {
        if (++calm_samples_ >= thresholds_.recovery_samples) {
          next = PressureLevel::normal;
          calm_samples_ = 0;
        }
      } else {
        calm_samples_ = 0;
      }
    }
    if (next != current) {
      level_.store(next);
      fire = next == PressureLevel::critical  ? &on_critical_
             : next == PressureLevel::warning ? &on_warning_
                                              : &on_recovery_;
    }
  }
  if (fire != nullptr) {
    for (auto& cb : *fire) cb(next, s, ratio);
  }
  for (auto& cb : on_sample_) cb(next, s, ratio);
  return next;
}

void MemoryMonitor::start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = false;
  }
  sample_now();
  thread_ = std::thread([this] { loop(); });
}

void MemoryMonitor::stop() {
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void MemoryMonitor::loop() {
  std::unique_lock lock(stop_mutex_);
  while (!stop_cv_.wait_for(lock, interval_, [this] { return stopping_; })) {
    lock.unlock();
    try {
      sample_now();
    } catch (...) {
      // A failing sample never stops the run; the next one may succeed.
    }
    lock.lock();
  }
}

}  // namespace rasterflow
