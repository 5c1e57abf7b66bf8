#pragma once
// How this process was launched, and the MPI world of the command line (cli/mpi_world.cpp; the
// engine library and the Python module never link MPI).
#include <memory>
#include <string>

#include "app/world.hpp"

namespace rasterflow::cli {

using app::World;

// What the environment says about how this process was launched: Open MPI (OMPI_COMM_WORLD_SIZE),
// PMIx (PMIX_RANK with a size), MPICH/Hydra (PMI_SIZE), SLURM's srun (SLURM_NTASKS > 1 with
// SLURM_PROCID). `size` 0 when not launched as several ranks.
struct Launch {
  int size = 0;
  std::string by;  // "mpirun (Open MPI)", "srun", ...
};
Launch detect_launch();

// Initialises MPI and returns the world; null when this build has no MPI.
std::unique_ptr<World> make_mpi_world(int* argc, char*** argv);
bool built_with_mpi();

}  // namespace rasterflow::cli
