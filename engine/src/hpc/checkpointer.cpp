#include "hpc/checkpointer.hpp"

#include <spdlog/spdlog.h>

#include "rasterflow/errors.hpp"

namespace rasterflow::detail {

Checkpointer::Checkpointer(std::filesystem::path file, Checkpoint base, std::vector<std::string> sink_ids,
                           std::vector<ResumableSink*> sinks, std::chrono::milliseconds interval, bool resumed,
                           std::int64_t row_multiple, std::int64_t band_end)
    : file_(std::move(file)),
      sinks_(std::move(sinks)),
      interval_(interval),
      resumed_(resumed),
      latest_(std::move(base)),
      saved_row_(resumed ? latest_.next_row : -1),
      start_row_(latest_.next_row),
      row_multiple_(std::max<std::int64_t>(1, row_multiple)),
      band_end_(band_end),
      saved_at_(std::chrono::steady_clock::now()) {
  if (!resumed_) {
    latest_.sinks.clear();
    for (std::size_t k = 0; k < sinks_.size(); ++k) latest_.sinks.push_back({sink_ids[k], sinks_[k]->written(), ""});
  }
}

void Checkpointer::written(std::size_t k, std::uint64_t seq) {
  const ResumableSink::State state = sinks_[k]->written();
  std::lock_guard lock(mutex_);
  auto& states = pending_[seq];
  states.resize(sinks_.size());
  states[k] = state;
}

void Checkpointer::tile_done(const TileRequest& tile) {
  std::lock_guard lock(mutex_);
  const auto it = pending_.find(tile.seq);
  if (it == pending_.end()) return;
  const std::int64_t end = tile.row0 + tile.rows;
  const bool resumable_here = end % row_multiple_ == 0 || end == band_end_;
  if (end > latest_.next_row && resumable_here) {
    latest_.next_row = end;
    for (std::size_t k = 0; k < sinks_.size(); ++k) latest_.sinks[k].state = it->second[k];
  }
  pending_.erase(pending_.begin(), std::next(it));
  if (std::chrono::steady_clock::now() - saved_at_ < interval_) return;
  try {
    save_locked();
  } catch (const std::exception& e) {
    // The run goes on (it may still finish); the previous checkpoint stays whole.
    if (!warned_) spdlog::warn("checkpoint: {} (the previous checkpoint, if any, is kept)", e.what());
    warned_ = true;
    saved_at_ = std::chrono::steady_clock::now();
  }
}

void Checkpointer::save_locked() {
  if (latest_.next_row == saved_row_) return;
  // The outputs first: a checkpoint never records bytes that are not on disk.
  for (auto* s : sinks_) s->sync();
  for (std::size_t k = 0; k < sinks_.size(); ++k) {
    auto& s = latest_.sinks[k];
    s.tail_sha256 = tail_sha256(s.state.partial, s.state.bytes);
    s.state.data = sinks_[k]->checkpoint_data(s.state);
  }
  write_checkpoint(file_, latest_);
  saved_row_ = latest_.next_row;
  saved_at_ = std::chrono::steady_clock::now();
}

bool Checkpointer::save() noexcept {
  std::lock_guard lock(mutex_);
  try {
    save_locked();
    return true;
  } catch (const std::exception& e) {
    spdlog::warn("checkpoint: {} (the previous checkpoint, if any, is kept)", e.what());
    return saved_row_ >= 0;
  }
}

bool Checkpointer::worth_keeping() const {
  std::lock_guard lock(mutex_);
  return resumed_ || latest_.next_row > start_row_;
}

std::int64_t Checkpointer::next_row() const {
  std::lock_guard lock(mutex_);
  return latest_.next_row;
}

void Checkpointer::remove() noexcept {
  std::error_code ec;
  std::filesystem::remove(file_, ec);
  // A checkpoint being written when an earlier run was killed (write_checkpoint's temporary).
  std::filesystem::remove(file_.string() + ".tmp", ec);
}

}  // namespace rasterflow::detail
