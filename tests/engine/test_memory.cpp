#include <doctest/doctest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <mutex>

#include "rasterflow/memory.hpp"
#include "support/test_support.hpp"

using namespace rasterflow;

namespace {
// A memory source driven by the test.
class FakeMemory final : public MemorySource {
 public:
  MemorySample sample() override {
    std::lock_guard lock(mutex);
    return next;
  }
  std::uint64_t auto_limit() override { return 1000; }
  void set_rss(std::uint64_t rss) {
    std::lock_guard lock(mutex);
    next.process_rss = rss;
  }
  std::mutex mutex;
  MemorySample next{0, 10000, 1000, 9000, false};
};

struct Calls;
std::unique_ptr<MemoryMonitor> make_monitor(const std::shared_ptr<FakeMemory>& fake, Calls& calls);

struct Calls {
  int warning = 0, critical = 0, recovery = 0;
};

std::unique_ptr<MemoryMonitor> make_monitor(const std::shared_ptr<FakeMemory>& fake, Calls& calls) {
  MemoryThresholds t;
  t.warning = 0.8;
  t.critical = 0.9;
  t.recovery_margin = 0.05;
  t.recovery_samples = 3;
  auto m = std::make_unique<MemoryMonitor>(fake, 1000, t, std::chrono::milliseconds(10));
  m->register_warning_callback([&calls](PressureLevel, const MemorySample&, double) { ++calls.warning; });
  m->register_critical_callback([&calls](PressureLevel, const MemorySample&, double) { ++calls.critical; });
  m->register_recovery_callback([&calls](PressureLevel, const MemorySample&, double) { ++calls.recovery; });
  return m;
}

void make_file(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  test::write_text(path, text);
}
}  // namespace

TEST_CASE("Memory.Parse.ProcFiles") {
  CHECK(parse_meminfo_kib("MemTotal:       24683620 kB\nMemFree: 1 kB\nMemAvailable:   24331096 kB\n",
                          "MemAvailable") == 24331096ull * 1024);
  CHECK_FALSE(parse_meminfo_kib("MemTotal: 5 kB\n", "MemAvailable"));
  CHECK(parse_status_rss("Name:\tx\nVmPeak:\t  100 kB\nVmRSS:\t    2048 kB\n") == 2048ull * 1024);
  CHECK(parse_cgroup_limit("2147483648\n") == 2147483648ull);
  CHECK_FALSE(parse_cgroup_limit("max\n"));
  CHECK_FALSE(parse_cgroup_limit("9223372036854771712\n"));  // v1's "unlimited"
}

TEST_CASE("Memory.Pressure.HigherOfProcessAndSystem") {
  const MemorySample s{500, 10000, 9500, 500, false};
  CHECK(pressure_ratio(s, 1000) == doctest::Approx(0.95));  // the machine is the tighter one
  const MemorySample p{900, 10000, 1000, 9000, false};
  CHECK(pressure_ratio(p, 1000) == doctest::Approx(0.9));
}

TEST_CASE("Memory.Monitor.CallbacksOncePerCrossingWithHysteresis") {
  auto fake = std::make_shared<FakeMemory>();
  Calls calls;
  const auto holder = make_monitor(fake, calls);
  MemoryMonitor& m = *holder;
  fake->set_rss(500);
  CHECK(m.sample_now() == PressureLevel::normal);
  fake->set_rss(810);
  CHECK(m.sample_now() == PressureLevel::warning);
  m.sample_now();
  m.sample_now();
  CHECK(calls.warning == 1);  // once per crossing, not once per sample
  fake->set_rss(950);
  CHECK(m.sample_now() == PressureLevel::critical);
  m.sample_now();
  CHECK(calls.critical == 1);
  // Below warning but within the margin: no recovery.
  fake->set_rss(770);
  for (int i = 0; i < 5; ++i) CHECK(m.sample_now() == PressureLevel::critical);
  // Below warning - margin, but for fewer than 3 samples in a row: still no recovery.
  fake->set_rss(700);
  m.sample_now();
  m.sample_now();
  fake->set_rss(790);
  m.sample_now();
  CHECK(calls.recovery == 0);
  fake->set_rss(700);
  m.sample_now();
  m.sample_now();
  CHECK(m.sample_now() == PressureLevel::normal);
  CHECK(calls.recovery == 1);
  // A new crossing fires again.
  fake->set_rss(820);
  m.sample_now();
  CHECK(calls.warning == 2);
  CHECK(m.peak_rss() == 950);
}

TEST_CASE("Memory.Monitor.BackgroundThreadSamples" * doctest::timeout(10)) {
  auto fake = std::make_shared<FakeMemory>();
  Calls calls;
  const auto holder = make_monitor(fake, calls);
  MemoryMonitor& m = *holder;
  m.start();
  fake->set_rss(930);
  for (int i = 0; i < 200 && m.level() != PressureLevel::critical; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(m.level() == PressureLevel::critical);
  m.stop();
  CHECK(calls.critical == 1);
}

TEST_CASE("Memory.Source.CgroupV2Fixture") {
  test::TempDir dir;
  make_file(dir / "proc/self/cgroup", "0::/slurm/job_42\n");
  make_file(dir / "proc/self/status", "VmRSS:\t  102400 kB\n");
  make_file(dir / "proc/meminfo", "MemTotal: 16000000 kB\nMemAvailable: 12000000 kB\n");
  make_file(dir / "cgroup/slurm/job_42/memory.current", "1073741824\n");
  make_file(dir / "cgroup/slurm/job_42/memory.max", "2147483648\n");
  SystemMemorySource src(dir / "proc", dir / "cgroup", false);
  CHECK(src.cgroup_version() == 2);
  const MemorySample s = src.sample();
  CHECK(s.in_cgroup);
  CHECK(s.process_rss == 100ull << 20);
  CHECK(s.system_total == 2ull << 30);
  CHECK(s.system_used == 1ull << 30);
  CHECK(src.auto_limit() == 2ull << 30);
  // Page cache the kernel reclaims on demand is no pressure: the working set counts.
  make_file(dir / "cgroup/slurm/job_42/memory.stat",
            "anon 104857600\nfile 943718400\nactive_file 104857600\ninactive_file 838860800\n");
  CHECK(src.sample().system_used == (1ull << 30) - 838860800ull);
  // memory.max "max": the machine decides.
  make_file(dir / "cgroup/slurm/job_42/memory.max", "max\n");
  const MemorySample unlimited = src.sample();
  CHECK_FALSE(unlimited.in_cgroup);
  CHECK(unlimited.system_total == 16000000ull * 1024);
  CHECK(unlimited.system_used == 4000000ull * 1024);
}

TEST_CASE("Memory.Source.CgroupV1Fixture") {
  test::TempDir dir;
  make_file(dir / "proc/self/cgroup", "9:name=systemd:/\n4:memory:/batch/job7\n3:cpuset:/\n0::/\n");
  make_file(dir / "proc/self/status", "VmRSS:\t 2048 kB\n");
  make_file(dir / "proc/meminfo", "MemTotal: 16000000 kB\nMemAvailable: 15000000 kB\n");
  make_file(dir / "cgroup/memory/batch/job7/memory.limit_in_bytes", "536870912\n");
  make_file(dir / "cgroup/memory/batch/job7/memory.usage_in_bytes", "268435456\n");
  SystemMemorySource src(dir / "proc", dir / "cgroup", false);
  CHECK(src.cgroup_version() == 1);
  const MemorySample s = src.sample();
  CHECK(s.in_cgroup);
  CHECK(s.system_total == 512ull << 20);
  CHECK(s.system_used == 256ull << 20);
  CHECK(src.auto_limit() == 512ull << 20);
  // v1: total_inactive_file (the hierarchy's), not the cgroup's own inactive_file.
  make_file(dir / "cgroup/memory/batch/job7/memory.stat",
            "cache 200000000\ninactive_file 5\ntotal_inactive_file 134217728\n");
  CHECK(src.sample().system_used == 128ull << 20);
  // More cache than usage (stale counters): never below zero.
  make_file(dir / "cgroup/memory/batch/job7/memory.stat", "total_inactive_file 999999999999\n");
  CHECK(src.sample().system_used == 0);
}

TEST_CASE("Memory.Source.ContainerMountsItsCgroupAsRoot") {
  // /proc/self/cgroup names a path the container cannot see; the files are at the mount root.
  test::TempDir dir;
  make_file(dir / "proc/self/cgroup", "4:memory:/process_api/abc\n0::/\n");
  make_file(dir / "proc/self/status", "VmRSS:\t 2048 kB\n");
  make_file(dir / "proc/meminfo", "MemTotal: 1000 kB\nMemAvailable: 500 kB\n");
  make_file(dir / "cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
  make_file(dir / "cgroup/memory/memory.usage_in_bytes", "1000\n");
  SystemMemorySource src(dir / "proc", dir / "cgroup", false);
  CHECK(src.cgroup_version() == 1);
  const MemorySample s = src.sample();
  CHECK_FALSE(s.in_cgroup);  // unlimited: the machine's figures
  CHECK(s.system_total == 1000ull * 1024);
}

TEST_CASE("Memory.Source.ThisMachine") {
  SystemMemorySource src;
  const MemorySample s = src.sample();
  CHECK(s.process_rss > 0);
  CHECK(s.system_total > 0);
  CHECK(src.auto_limit() > 0);
}

namespace {
// An environment made of fixed variables (SLURM's, as a job step sees them).
Environment fixture_env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}
// A machine of 16 GB without a cgroup limit.
void make_machine(const test::TempDir& dir) {
  make_file(dir / "proc/self/cgroup", "0::/\n");
  make_file(dir / "proc/self/status", "VmRSS:\t 2048 kB\n");
  make_file(dir / "proc/meminfo", "MemTotal: 16000000 kB\nMemAvailable: 15000000 kB\n");
}
}  // namespace

TEST_CASE("Memory.Slurm.Units") {
  CHECK(parse_slurm_memory("4096") == 4096ull << 20);  // MiB unless suffixed
  CHECK(parse_slurm_memory("4096M") == 4096ull << 20);
  CHECK(parse_slurm_memory("4G") == 4ull << 30);
  CHECK(parse_slurm_memory("1T") == 1ull << 40);
  CHECK(parse_slurm_memory("512K") == 512ull << 10);
  CHECK_FALSE(parse_slurm_memory("0"));
  CHECK_FALSE(parse_slurm_memory("4GB"));
  CHECK_FALSE(parse_slurm_memory("lots"));
  CHECK_FALSE(parse_slurm_memory(""));
}

TEST_CASE("Memory.Slurm.PerNodeAndPerCpu") {
  CHECK_FALSE(slurm_memory_limit(fixture_env({})));
  CHECK_FALSE(slurm_memory_limit(fixture_env({{"SLURM_CPUS_PER_TASK", "4"}})));  // threads only
  const auto node = slurm_memory_limit(fixture_env({{"SLURM_MEM_PER_NODE", "8000"}, {"SLURM_CPUS_ON_NODE", "4"}}));
  REQUIRE(node);
  CHECK(node->bytes == 8000ull << 20);
  CHECK(node->source == "SLURM_MEM_PER_NODE=8000 MiB");
  // Per CPU: times the CPUs the job holds on this node; SLURM_CPUS_ON_NODE before SLURM_CPUS_PER_TASK.
  const auto on_node = slurm_memory_limit(
      fixture_env({{"SLURM_MEM_PER_CPU", "2G"}, {"SLURM_CPUS_ON_NODE", "8"}, {"SLURM_CPUS_PER_TASK", "2"}}));
  REQUIRE(on_node);
  CHECK(on_node->bytes == 16ull << 30);
  CHECK(on_node->source == "SLURM_MEM_PER_CPU=2G x SLURM_CPUS_ON_NODE=8");
  const auto per_task = slurm_memory_limit(fixture_env({{"SLURM_MEM_PER_CPU", "1500"}, {"SLURM_CPUS_PER_TASK", "3"}}));
  REQUIRE(per_task);
  CHECK(per_task->bytes == 4500ull << 20);
  const auto one_cpu = slurm_memory_limit(fixture_env({{"SLURM_MEM_PER_CPU", "1500"}}));
  REQUIRE(one_cpu);
  CHECK(one_cpu->bytes == 1500ull << 20);
  CHECK(one_cpu->source == "SLURM_MEM_PER_CPU=1500 MiB x 1 CPU");
  // An unusable value is no limit (the machine decides), never zero.
  CHECK_FALSE(slurm_memory_limit(fixture_env({{"SLURM_MEM_PER_NODE", "0"}})));
}

TEST_CASE("Memory.Limit.SmallestSourceWins") {
  test::TempDir dir;
  make_machine(dir);
  SystemMemorySource machine(dir / "proc", dir / "cgroup", false);
  machine.set_environment(fixture_env({}));
  CHECK(machine.decide_limit().bytes == 16000000ull * 1024);
  CHECK(machine.decide_limit().source == "machine (MemTotal)");
  // SLURM's figure below the machine's: SLURM's.
  SystemMemorySource slurm(dir / "proc", dir / "cgroup", false);
  slurm.set_environment(fixture_env({{"SLURM_MEM_PER_NODE", "4096"}}));
  CHECK(slurm.decide_limit().bytes == 4ull << 30);
  CHECK(slurm.decide_limit().source == "SLURM_MEM_PER_NODE=4096 MiB");
  CHECK(slurm.auto_limit() == 4ull << 30);
  // SLURM asking more than the machine has: the machine.
  slurm.set_environment(fixture_env({{"SLURM_MEM_PER_NODE", "64G"}}));
  CHECK(slurm.decide_limit().source == "machine (MemTotal)");

  // A cgroup (v1) limit below SLURM's: the cgroup, with its path and file.
  test::TempDir job;
  make_file(job / "proc/self/cgroup", "4:memory:/slurm/uid_0/job_9\n0::/\n");
  make_file(job / "proc/self/status", "VmRSS:\t 2048 kB\n");
  make_file(job / "proc/meminfo", "MemTotal: 16000000 kB\nMemAvailable: 15000000 kB\n");
  make_file(job / "cgroup/memory/slurm/uid_0/job_9/memory.limit_in_bytes", "2147483648\n");
  make_file(job / "cgroup/memory/slurm/uid_0/job_9/memory.usage_in_bytes", "1000\n");
  SystemMemorySource cgroup(job / "proc", job / "cgroup", false);
  cgroup.set_environment(fixture_env({{"SLURM_MEM_PER_CPU", "1G"}, {"SLURM_CPUS_ON_NODE", "4"}}));
  CHECK(cgroup.decide_limit().bytes == 2ull << 30);
  CHECK(cgroup.decide_limit().source ==
        "cgroup v1 " + (job / "cgroup/memory/slurm/uid_0/job_9").string() + " (memory.limit_in_bytes)");
  // SLURM's below the cgroup's: SLURM's; equal: the cgroup (enforced) is named.
  cgroup.set_environment(fixture_env({{"SLURM_MEM_PER_CPU", "256"}, {"SLURM_CPUS_ON_NODE", "4"}}));
  CHECK(cgroup.decide_limit().bytes == 1ull << 30);
  CHECK(cgroup.decide_limit().source == "SLURM_MEM_PER_CPU=256 MiB x SLURM_CPUS_ON_NODE=4");
  cgroup.set_environment(fixture_env({{"SLURM_MEM_PER_NODE", "2G"}}));
  CHECK(cgroup.decide_limit().source.rfind("cgroup v1 ", 0) == 0);
  // v2: memory.max.
  test::TempDir v2;
  make_file(v2 / "proc/self/cgroup", "0::/system.slice/job\n");
  make_file(v2 / "proc/self/status", "VmRSS:\t 2048 kB\n");
  make_file(v2 / "proc/meminfo", "MemTotal: 16000000 kB\nMemAvailable: 15000000 kB\n");
  make_file(v2 / "cgroup/system.slice/job/memory.max", "1073741824\n");
  make_file(v2 / "cgroup/system.slice/job/memory.current", "1000\n");
  SystemMemorySource unified(v2 / "proc", v2 / "cgroup", false);
  unified.set_environment(fixture_env({}));
  CHECK(unified.decide_limit().source == "cgroup v2 " + (v2 / "cgroup/system.slice/job").string() + " (memory.max)");
}

TEST_CASE("Memory.Limit.RlimitAs") {
  // RLIMIT_AS of a child process (a fork keeps the test's own limit untouched).
  test::TempDir dir;
  make_machine(dir);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    rlimit rl{};
    rl.rlim_cur = rl.rlim_max = std::uint64_t{1} << 30;  // 1 GiB, below SLURM's 2 GiB and the 16 GB machine
    if (::setrlimit(RLIMIT_AS, &rl) != 0) ::_exit(3);
    SystemMemorySource src(dir / "proc", dir / "cgroup", true);
    src.set_environment(fixture_env({{"SLURM_MEM_PER_NODE", "2G"}}));
    const MemoryLimit l = src.decide_limit();
    ::_exit(l.bytes == (std::uint64_t{1} << 30) && l.source == "RLIMIT_AS" ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
