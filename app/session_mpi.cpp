// The collectives of a run session under MPI, in the same order on every rank: first_failed
// (start), broadcast (experiment id, with metrics; session_metrics.cpp), first_failed (end; after
// a failure, any: a rank signalled, any: the checkpoints kept), each sink's gather, barrier.
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <iostream>

#include "app/session_state.hpp"
#include "rasterflow/errors.hpp"
#include "rasterflow/size.hpp"

namespace rasterflow::app {
namespace {

bool is_usage_error(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const UsageError&) {
    return true;
  } catch (...) {
    return false;
  }
}

// --resume: some rank's checkpoint, or nothing to resume (collective: any, on every rank).
void check_resume(SessionState& s) {
  if (s.request.resume && !s.world->any(s.resumed().has_value())) {
    throw UsageError("--resume: no checkpoint at " + s.pipeline->plan().checkpoint_file.string() +
                     " nor at any other rank's (the run finished, was never interrupted, or wrote its outputs "
                     "elsewhere: check --output-dir)");
  }
  if (s.band_from_start) {
    spdlog::warn(
        "--resume: no checkpoint at {}: this rank writes its band from its first row, the others "
        "resume theirs",
        s.pipeline->plan().checkpoint_file.string());
  }
}

}  // namespace

// set_up(); under MPI every rank starts, or none does (collective: first_failed).
void start_all_or_none(SessionState& s) {
  std::exception_ptr setup_error;
  try {
    set_up(s);
  } catch (...) {
    if (!s.world) throw;
    setup_error = std::current_exception();
  }
  if (!s.world) return;
  // A rank that could not start tells the others, as a rank failing while running does:
  // first_failed() receives one notice from every failed rank (without them it waits forever).
  if (setup_error) s.world->notify_failure();
  const int first = s.world->first_failed(setup_error != nullptr);
  // The ranks that could start exit as the one that could not: 2 for a usage error (a busy
  // output, a bad option), so that the job's exit code does not depend on which rank mpirun
  // hears from first (collective: any, on every rank).
  const bool usage = s.world->any(setup_error != nullptr && is_usage_error(setup_error));
  if (setup_error) std::rethrow_exception(setup_error);
  if (first >= 0) {
    const std::string text = "rank " + std::to_string(s.rank) + ": stopped because rank " + std::to_string(first) +
                             " could not start (its error is above)";
    if (usage) throw UsageError(text);
    throw RunError(text);
  }
  check_resume(s);
}

namespace {

// After the ranks agreed that rank `first` failed: this rank's error, as the job should exit.
[[noreturn]] void throw_agreed(const SessionState& s, int first, bool signalled, bool any_signalled, bool stops_all) {
  const std::string rank = "rank " + std::to_string(s.rank) + ": ";
  if (signalled && s.memory_too_small) throw MemoryTooSmall(rank + s.failure + resume_hint(s));
  if (signalled) throw Interrupted(rank + s.failure + resume_hint(s));
  if (s.interrupted && any_signalled)
    throw Interrupted(rank + "stopped because rank " + std::to_string(first) + " was interrupted or failed" +
                      resume_hint(s));
  if (stops_all) throw RunError(rank + s.failure + resume_hint(s));
  const std::string hint = resume_hint(s);
  throw RunError(rank + "stopped because rank " + std::to_string(first) + " failed (its error is above); " +
                 (hint.empty() ? "no output was written under its final name" : "the checkpoint is kept" + hint));
}

}  // namespace

// Under MPI: a rank that failed, or was interrupted by a signal of its own, stops every rank;
// one stopped by another rank's notice only follows (collective: first_failed). Throws when
// any rank failed, after removing this rank's band files.
void agree_on_failure(SessionState& s) {
  World& world = *s.world;
  const bool stopped_by_peer = world.end_watch() && s.interrupted;
  const bool stops_all = !s.failure.empty() && !stopped_by_peer;
  if (stops_all) world.notify_failure();
  const int first = world.first_failed(stops_all);
  if (first < 0) return;
  // Whether a signal stopped any rank (collective: any): then every rank exits as interrupted
  // (130); when ranks only failed, every rank exits 1, whichever rank's exit mpirun reports.
  const bool signalled = s.interrupted && !stopped_by_peer;
  const bool any_signalled = world.any(signalled);
  // A resume needs every rank's checkpoint: when one rank kept none, no rank keeps its own
  // (collective: any, on every rank that gets here, which is all or none).
  if (world.any(resume_hint(s).empty())) discard_checkpoint(s);
  // Every rank removes its band file; the output never appears under its final name.
  std::error_code ec;
  for (const auto& out : s.summary.outputs) std::filesystem::remove(out, ec);
  if (s.recorder) {
    s.recorder->finish(any_signalled ? "interrupted" : "failed",
                       "rank " + std::to_string(first) + (any_signalled ? " was interrupted" : " failed"),
                       std::chrono::seconds(5), s.rank == 0);
  }
  throw_agreed(s, first, signalled, any_signalled, stops_all);
}

namespace {

// Each sink's gather, timed; rank 0 says what it wrote.
void gather_each_sink(SessionState& s) {
  World& world = *s.world;
  for (SinkNode* sink : s.pipeline->sinks()) {
    const auto t0 = std::chrono::steady_clock::now();
    const SinkNode::Gathered out = sink->gather(world);
    s.gather_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s.rank == 0) {
      spdlog::info("gathered {} from {} ranks with MPI-IO in {:.2f} s (the run itself: {:.2f} s on rank 0)",
                   format_size(out.bytes), world.size(),
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                   s.summary.wall_seconds);
      std::cout << "wrote " << out.path.string() << " (" << out.bytes << " bytes from " << world.size() << " ranks)\n";
    }
  }
}

}  // namespace

// Under MPI: each sink combines its ranks' outputs as its output requires (collective: every
// sink's gather, in the pipeline's order). On an error the bands not gathered yet are removed.
void gather_outputs(SessionState& s) {
  const auto final_of = [&](const std::filesystem::path& band_file) {
    std::string path = band_file.string();
    path.resize(path.size() - s.options.output_suffix.size());
    return path;
  };
  const std::filesystem::path checkpoint = s.pipeline->plan().checkpoint_file;
  std::error_code ec;
  try {
    gather_each_sink(s);
  } catch (const std::exception& e) {
    for (const auto& out : s.summary.outputs) {  // the outputs not gathered yet
      std::filesystem::remove(out, ec);          // a band under its own name (raster_sink's raw rows)
      if (s.rank == 0) std::filesystem::remove(final_of(out) + ".partial", ec);
    }
    // The bands are complete: with this rank's checkpoint they are kept, and --resume gathers
    // them again without computing anything (a disk that filled up while gathering).
    const std::string hint = resume_hint(s);
    if (hint.empty()) discard_checkpoint(s);
    if (s.recorder) s.recorder->finish("failed", e.what(), std::chrono::seconds(5), s.rank == 0);
    if (hint.empty()) throw;
    throw RunError(std::string(e.what()) + hint);
  }
  // Every output is under its final name (rank 0 renamed them and every rank learned it in each
  // gather): the checkpoint first, then the band files it names, so that a job killed in
  // between never leaves a checkpoint naming a band file that is gone.
  std::filesystem::remove(checkpoint, ec);
  discard_checkpoint(s);
}

}  // namespace rasterflow::app
