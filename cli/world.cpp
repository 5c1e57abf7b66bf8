#include "cli/world.hpp"

#include <cstdlib>

namespace rasterflow::cli {
namespace {
int env_int(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::atoi(v) : 0;
}
}  // namespace

Launch detect_launch() {
  if (const int n = env_int("OMPI_COMM_WORLD_SIZE"); n > 0) return {n, "mpirun (Open MPI)"};
  if (const int n = env_int("PMI_SIZE"); n > 0) return {n, "mpiexec (PMI)"};
  if (std::getenv("PMIX_RANK") != nullptr) {
    if (const int n = env_int("SLURM_NTASKS"); n > 0) return {n, "srun (PMIx)"};
    return {1, "PMIx"};
  }
  if (std::getenv("SLURM_PROCID") != nullptr && std::getenv("SLURM_STEP_ID") != nullptr) {
    if (const int n = env_int("SLURM_STEP_NUM_TASKS"); n > 1) return {n, "srun"};
  }
  return {};
}

#ifndef RASTERFLOW_WITH_MPI
std::unique_ptr<World> make_mpi_world(int*, char***) { return nullptr; }
bool built_with_mpi() { return false; }
#endif

}  // namespace rasterflow::cli
