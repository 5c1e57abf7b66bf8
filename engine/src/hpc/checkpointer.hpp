#pragma once
// The run's checkpoints (rasterflow/hpc/checkpoint.hpp): the sinks' states after each tile, and, at
// most every checkpoint.interval_s and when the run stops, the sinks synced and the checkpoint
// file replaced atomically. Thread-safe: sinks' writers call written() and tile_done() from
// their threads. Private to engine/src.
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <vector>

#include "rasterflow/hpc/checkpoint.hpp"
#include "rasterflow/node/grid.hpp"

namespace rasterflow::detail {

class Checkpointer {
 public:
  // `base`: identity, experiment and, when resuming, the state continued from (next_row, sinks).
  // The states recorded are those after rows that are multiples of `row_multiple` or
  // `band_end` (where every sink can be resumed: detail::PipelineImpl::row_multiple()).
  Checkpointer(std::filesystem::path file, Checkpoint base, std::vector<std::string> sink_ids,
               std::vector<ResumableSink*> sinks, std::chrono::milliseconds interval, bool resumed,
               std::int64_t row_multiple = 1, std::int64_t band_end = 0);
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Sink k has written tile `seq` (its writer's thread).
  void written(std::size_t k, std::uint64_t seq);
  // Every sink has written `tile`: the latest state; the checkpoint is saved when it is due (a
  // failure to save is logged once, the previous checkpoint staying whole, and the run goes on).
  void tile_done(const TileRequest& tile);
  // Saves the latest state now. Returns false (and leaves the previous file) when it cannot.
  bool save() noexcept;
  // Whether this run wrote rows since it began (or resumed a run): then its partial outputs are
  // worth keeping when writing them fails.
  bool worth_keeping() const;
  std::int64_t next_row() const;
  // After the outputs were committed.
  void remove() noexcept;
  const std::filesystem::path& file() const { return file_; }

 private:
  void save_locked();

  std::filesystem::path file_;
  std::vector<ResumableSink*> sinks_;
  std::chrono::milliseconds interval_;
  bool resumed_;
  bool warned_ = false;
  mutable std::mutex mutex_;
  Checkpoint latest_;       // the state after the latest tile every sink has written
  std::int64_t saved_row_;  // next_row of the checkpoint on disk (-1: none)
  std::int64_t start_row_;
  std::int64_t row_multiple_;
  std::int64_t band_end_;
  std::chrono::steady_clock::time_point saved_at_;
  std::map<std::uint64_t, std::vector<ResumableSink::State>> pending_;  // per tile, each sink's state
};

}  // namespace rasterflow::detail
