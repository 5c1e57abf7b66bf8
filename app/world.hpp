#pragma once
// The processes of one run. Without MPI there is one; under mpirun or srun (a build with MPI)
// each rank runs its own flow graph over a band of rows, and the World is how they agree. The
// run session (app/run_session.hpp) takes one; the command line makes it (cli/world.hpp).
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "rasterflow/hpc/ranks.hpp"

namespace rasterflow::app {

// The Ranks that sinks gather their outputs through (rank, size, broadcast, concatenate).
class World : public Ranks {
 public:
  virtual int local_size() const = 0;  // ranks on this node (shared-memory communicator)
  virtual std::string node_name() const = 0;
  virtual void barrier() = 0;
  // Watches for a failure of another rank while this one runs; sets *cancel when one comes.
  virtual void start_watch(std::atomic<bool>* cancel) = 0;
  // Ends the watch; returns true when another rank's notice stopped this one.
  virtual bool end_watch() = 0;
  // Tells every other rank to stop (this rank failed or was interrupted on its own).
  virtual void notify_failure() = 0;
  // The lowest rank that failed (-1: none); collective.
  virtual int first_failed(bool failed) = 0;
  // Whether any rank passes true; collective (no failure notices involved).
  virtual bool any(bool mine) = 0;
  // concatenate(): the ranks create `shared` together with MPI-IO, each writing its bytes at
  // the offset of an exclusive scan of the sizes.
};

}  // namespace rasterflow::app
