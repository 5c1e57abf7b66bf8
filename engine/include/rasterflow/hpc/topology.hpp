#pragma once
// How many threads a run may use, and what hardware it runs on, as an HPC job sees it.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

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

// One NUMA node this process may use.
struct NumaNodeInfo {
  unsigned os_index = 0;
  int pus = 0;                     // hardware threads of the node inside the process's cpuset
  std::uint64_t memory_bytes = 0;  // local memory (0 when hwloc does not know)
};

struct TopologySummary {
  int packages = 0;
  int numa_nodes = 0;
  int cores = 0;
  int pus = 0;
  std::vector<NumaNodeInfo> nodes;  // the usable NUMA nodes, by logical index
  // Relative latency between NUMA nodes (row-major, nodes.size() squared, local = the diagonal),
  // from the ACPI SLIT table through hwloc; empty when the machine does not publish one.
  std::vector<double> distances;
  bool this_system = true;              // false for synthetic or XML topologies: binding does nothing
  bool can_bind_threads = false;        // hwloc can bind this process's threads to a cpuset
  bool can_bind_memory = false;         // hwloc can bind an area of memory to a NUMA node
  std::string source = "this machine";  // or "HWLOC_SYNTHETIC=...", "HWLOC_XMLFILE=...", "synthetic ..."
  std::string description() const;      // "1 package, 1 NUMA node, 2 cores, 2 hardware threads"
  // The remote/local latency ratio (mean off-diagonal over mean diagonal), 0 without distances.
  double remote_ratio() const;
};
// The machine as hwloc sees it, restricted to what this process may use (hwloc's default drops
// disallowed CPUs and nodes: affinity, cgroup cpusets, SLURM binding). `synthetic` is an hwloc
// synthetic description (e.g. "pack:2 numa:2 core:4 pu:2") for tests; hwloc's own HWLOC_SYNTHETIC
// and HWLOC_XMLFILE variables are honoured too, by this reader and by TBB's tbbbind alike.
TopologySummary read_topology(const std::string& synthetic = "");

}  // namespace rasterflow
