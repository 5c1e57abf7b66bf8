#pragma once
// The processes of an MPI run as a sink sees them when it combines their outputs. The command
// line provides it (its MPI world); a sink decides what combining means for its output (the CSV
// sink concatenates its ranks' bands in rank order; a sink that cannot combine refuses MPI
// before anything runs, see SinkNode::check_ranks).
#include <cstdint>
#include <filesystem>

namespace rasterflow {

class Ranks {
 public:
  virtual ~Ranks() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Rank 0's value, on every rank. Collective.
  virtual std::int64_t broadcast(std::int64_t value) = 0;
  // Every rank's `local` file, in rank order, into the one file `shared` (each rank writes its
  // bytes at its offset). Collective; throws IoError on this rank's failure or another's.
  // Returns the total size.
  virtual std::uint64_t concatenate(const std::filesystem::path& local, const std::filesystem::path& shared) = 0;
};

}  // namespace rasterflow
