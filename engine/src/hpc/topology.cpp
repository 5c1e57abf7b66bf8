#include "rasterflow/hpc/topology.hpp"

#include <hwloc.h>
#include <sched.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace rasterflow {
namespace {

std::optional<std::string> read_first_line(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  return line;
}

// The cgroup CPU quota in CPUs: v2 "cpu.max" ("max 100000" or "200000 100000"), v1
// cpu.cfs_quota_us / cpu.cfs_period_us (-1: none). Tries the process's own cgroup path, then
// the mount root (containers).
std::optional<double> read_cpu_quota(const std::filesystem::path& proc_root, const std::filesystem::path& cgroup_root) {
  std::ifstream cgroups(proc_root / "self/cgroup");
  std::string line, v1_path, v2_path;
  while (std::getline(cgroups, line)) {
    const auto a = line.find(':');
    const auto b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = "," + line.substr(a + 1, b - a - 1) + ",";
    if (line.rfind("0::", 0) == 0)
      v2_path = line.substr(b + 1);
    else if (controllers.find(",cpu,") != std::string::npos)
      v1_path = line.substr(b + 1);
  }
  const auto rel = [](const std::string& p) { return std::filesystem::path(p).relative_path(); };
  for (const auto& dir : {cgroup_root / rel(v2_path), cgroup_root}) {
    if (const auto max = read_first_line(dir / "cpu.max")) {
      std::istringstream in(*max);
      std::string quota;
      double period = 0;
      in >> quota >> period;
      if (quota == "max" || period <= 0) return std::nullopt;
      return std::atof(quota.c_str()) / period;
    }
  }
  for (const auto& dir :
       {cgroup_root / "cpu" / rel(v1_path), cgroup_root / "cpu,cpuacct" / rel(v1_path), cgroup_root / "cpu"}) {
    const auto quota = read_first_line(dir / "cpu.cfs_quota_us");
    const auto period = read_first_line(dir / "cpu.cfs_period_us");
    if (quota && period) {
      const double q = std::atof(quota->c_str());
      const double p = std::atof(period->c_str());
      if (q <= 0 || p <= 0) return std::nullopt;
      return q / p;
    }
  }
  return std::nullopt;
}

}  // namespace

ThreadInputs read_thread_inputs(const std::filesystem::path& proc_root, const std::filesystem::path& cgroup_root) {
  ThreadInputs in;
  if (const char* slurm = std::getenv("SLURM_CPUS_PER_TASK")) in.slurm_cpus_per_task = slurm;
  in.cgroup_cpu_quota = read_cpu_quota(proc_root, cgroup_root);
  cpu_set_t set;
  CPU_ZERO(&set);
  in.affinity_cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
  return in;
}

ThreadDecision decide_threads(int explicit_threads, const std::string& explicit_source, const ThreadInputs& in) {
  const int cap = std::max(1, in.affinity_cpus);
  if (explicit_threads > 0) return {explicit_threads, explicit_source};
  if (in.slurm_cpus_per_task) {
    char* end = nullptr;
    const long n = std::strtol(in.slurm_cpus_per_task->c_str(), &end, 10);
    if (end != in.slurm_cpus_per_task->c_str() && *end == '\0' && n > 0)
      return {static_cast<int>(std::min<long>(n, cap)), "SLURM_CPUS_PER_TASK"};
  }
  if (in.cgroup_cpu_quota && *in.cgroup_cpu_quota > 0) {
    return {std::min(cap, std::max(1, static_cast<int>(std::ceil(*in.cgroup_cpu_quota - 1e-9)))), "cgroup CPU quota"};
  }
  return {cap, "affinity mask"};
}

std::string TopologySummary::description() const {
  const auto plural = [](int n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
  };
  return plural(packages, "package", "packages") + ", " + plural(numa_nodes, "NUMA node", "NUMA nodes") + ", " +
         plural(cores, "core", "cores") + ", " + plural(pus, "hardware thread", "hardware threads");
}

double TopologySummary::remote_ratio() const {
  const std::size_t n = nodes.size();
  if (n < 2 || distances.size() != n * n) return 0;
  double local = 0, remote = 0;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) (i == j ? local : remote) += distances[i * n + j];
  }
  local /= static_cast<double>(n);
  remote /= static_cast<double>(n * (n - 1));
  return local > 0 ? remote / local : 0;
}

TopologySummary read_topology(const std::string& synthetic) {
  TopologySummary t;
  hwloc_topology_t topo = nullptr;
  if (hwloc_topology_init(&topo) != 0) return t;
  if (!synthetic.empty()) {
    hwloc_topology_set_synthetic(topo, synthetic.c_str());
    t.source = "synthetic " + synthetic;
  } else if (const char* xml = std::getenv("HWLOC_XMLFILE")) {
    t.source = std::string("HWLOC_XMLFILE=") + xml;
  } else if (const char* syn = std::getenv("HWLOC_SYNTHETIC")) {
    t.source = std::string("HWLOC_SYNTHETIC=") + syn;
  }
  if (hwloc_topology_load(topo) == 0) {
    t.packages = std::max(1, hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE));
    t.numa_nodes = std::max(1, hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE));
    t.cores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
    t.pus = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
    const int count = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
    for (int i = 0; i < count; ++i) {
      const hwloc_obj_t node = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, static_cast<unsigned>(i));
      NumaNodeInfo info;
      info.os_index = node->os_index;
      info.pus = node->cpuset ? hwloc_bitmap_weight(node->cpuset) : 0;
      info.memory_bytes = node->attr ? node->attr->numanode.local_memory : 0;
      t.nodes.push_back(info);
    }
    unsigned nr = 1;
    hwloc_distances_s* dist = nullptr;
    if (count > 1 &&
        hwloc_distances_get_by_type(topo, HWLOC_OBJ_NUMANODE, &nr, &dist, HWLOC_DISTANCES_KIND_MEANS_LATENCY, 0) == 0 &&
        nr == 1 && dist != nullptr) {
      if (dist->nbobjs == static_cast<unsigned>(count)) {
        t.distances.assign(static_cast<std::size_t>(count) * static_cast<std::size_t>(count), 0.0);
        for (unsigned i = 0; i < dist->nbobjs; ++i) {
          for (unsigned j = 0; j < dist->nbobjs; ++j) {
            t.distances[dist->objs[i]->logical_index * static_cast<std::size_t>(count) + dist->objs[j]->logical_index] =
                static_cast<double>(dist->values[i * dist->nbobjs + j]);
          }
        }
      }
      hwloc_distances_release(topo, dist);
    }
    t.this_system = hwloc_topology_is_thissystem(topo) != 0;
    const hwloc_topology_support* support = hwloc_topology_get_support(topo);
    t.can_bind_threads = t.this_system && support->cpubind->set_thisthread_cpubind;
    t.can_bind_memory = t.this_system && support->membind->set_area_membind && support->membind->bind_membind;
  }
  hwloc_topology_destroy(topo);
  return t;
}

}  // namespace rasterflow
