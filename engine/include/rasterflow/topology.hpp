#pragma once
// How many threads a run may use, and what hardware it runs on, as an HPC job sees it.
#include <filesystem>
#include <optional>
#include <string>

namespace rasterflow {

// What the thread rules look at (read from the process, or given by tests).
struct ThreadInputs {
  std::optional<std::string> slurm_cpus_per_task;  // the SLURM_CPUS_PER_TASK variable
  std::optional<double> cgroup_cpu_quota;          // CPUs the cgroup's quota allows (cpu.max, cfs_quota/period)
  int affinity_cpus = 0;                           // CPUs in the affinity mask (sched_getaffinity)
};
ThreadInputs read_thread_inputs(const std::filesystem::path& proc_root = "/proc",
                                const std::filesystem::path& cgroup_root = "/sys/fs/cgroup");

struct ThreadDecision {
  int threads = 1;
  std::string source;  // "--threads", "engine.threads", "SLURM_CPUS_PER_TASK", "cgroup CPU quota", "affinity mask"
};
// In order: an explicit count (--threads, then engine.threads), SLURM_CPUS_PER_TASK, the cgroup
// CPU quota (rounded up), the affinity mask. Never more than the affinity mask allows.
ThreadDecision decide_threads(int explicit_threads, const std::string& explicit_source, const ThreadInputs& inputs);

struct TopologySummary {
  int packages = 0;
  int numa_nodes = 0;
  int cores = 0;
  int pus = 0;
  std::string description() const;  // "1 package, 1 NUMA node, 2 cores, 2 hardware threads"
};
// The machine as hwloc sees it, restricted to what this process may use; `synthetic` is an
// hwloc synthetic description (e.g. "pack:2 numa:2 core:4 pu:2") for tests.
TopologySummary read_topology(const std::string& synthetic = "");

}  // namespace rasterflow
