#include <doctest/doctest.h>

#include "rasterflow/hpc/topology.hpp"
#include "support/test_support.hpp"

using namespace rasterflow;

namespace {
void make_file(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  test::write_text(path, text);
}
}  // namespace

TEST_CASE("Threads.Rules.InOrder") {
  ThreadInputs in;
  in.affinity_cpus = 16;
  in.slurm_cpus_per_task = "6";
  in.cgroup_cpu_quota = 3.5;
  CHECK(decide_threads(4, "--threads", in).threads == 4);
  CHECK(decide_threads(4, "--threads", in).source == "--threads");
  CHECK(decide_threads(0, "", in).threads == 6);
  CHECK(decide_threads(0, "", in).source == "SLURM_CPUS_PER_TASK");
  in.slurm_cpus_per_task = "lots";                // not a number: ignored
  CHECK(decide_threads(0, "", in).threads == 4);  // 3.5 CPUs of quota, rounded up
  CHECK(decide_threads(0, "", in).source == "cgroup CPU quota");
  in.cgroup_cpu_quota.reset();
  CHECK(decide_threads(0, "", in).threads == 16);
  CHECK(decide_threads(0, "", in).source == "affinity mask");
  in.affinity_cpus = 2;  // never more than the mask allows
  in.slurm_cpus_per_task = "8";
  CHECK(decide_threads(0, "", in).threads == 2);
}

TEST_CASE("Threads.Inputs.CgroupV2AndV1Fixtures") {
  test::TempDir dir;
  make_file(dir / "proc/self/cgroup", "0::/slurm/job_9\n");
  make_file(dir / "cg2/slurm/job_9/cpu.max", "250000 100000\n");
  CHECK(read_thread_inputs(dir / "proc", dir / "cg2").cgroup_cpu_quota.value() == doctest::Approx(2.5));
  make_file(dir / "cg2/slurm/job_9/cpu.max", "max 100000\n");
  CHECK_FALSE(read_thread_inputs(dir / "proc", dir / "cg2").cgroup_cpu_quota);
  make_file(dir / "proc1/self/cgroup", "3:cpu,cpuacct:/batch/j1\n0::/\n");
  make_file(dir / "cg1/cpu,cpuacct/batch/j1/cpu.cfs_quota_us", "300000\n");
  make_file(dir / "cg1/cpu,cpuacct/batch/j1/cpu.cfs_period_us", "100000\n");
  CHECK(read_thread_inputs(dir / "proc1", dir / "cg1").cgroup_cpu_quota.value() == doctest::Approx(3.0));
  make_file(dir / "cg1/cpu,cpuacct/batch/j1/cpu.cfs_quota_us", "-1\n");
  CHECK_FALSE(read_thread_inputs(dir / "proc1", dir / "cg1").cgroup_cpu_quota);
}

TEST_CASE("Threads.Inputs.SlurmVariableAndAffinity") {
  ::setenv("SLURM_CPUS_PER_TASK", "3", 1);
  const ThreadInputs in = read_thread_inputs();
  ::unsetenv("SLURM_CPUS_PER_TASK");
  CHECK(in.slurm_cpus_per_task.value() == "3");
  CHECK(in.affinity_cpus >= 1);
}

TEST_CASE("Topology.Synthetic.TwoPackagesTwoNumaNodesEach") {
  const TopologySummary t = read_topology("pack:2 numa:2 core:4 pu:2");
  CHECK(t.packages == 2);
  CHECK(t.numa_nodes == 4);
  CHECK(t.cores == 16);
  CHECK(t.pus == 32);
  CHECK(t.description() == "2 packages, 4 NUMA nodes, 16 cores, 32 hardware threads");
  const TopologySummary here = read_topology();
  CHECK(here.pus >= 1);
  CHECK(here.numa_nodes >= 1);
}
