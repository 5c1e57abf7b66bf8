#include "app/run_session.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

#include "app/session_state.hpp"
#include "rasterflow/errors.hpp"
#include "rasterflow/size.hpp"

namespace rasterflow::app {

RunSession::RunSession(RunRequest request, World* world, std::atomic<bool>* cancel, Watcher watcher)
    : s_(std::make_unique<SessionState>(std::move(request), world, cancel, std::move(watcher))) {}

RunSession::~RunSession() = default;

void RunSession::start() {
  start_all_or_none(*s_);
  open_metrics(*s_);
}

// The run itself, stoppable through the cancel flag (and, under MPI, by another rank's failure).
void RunSession::run() {
  SessionState& s = *s_;
  const Plan& plan = s.pipeline->plan();
  const Grid& g = plan.grid;
  if (s.rank == 0) {
    spdlog::info("running {}: grid {} x {} ({} cells), {} threads, tiles of {} rows, memory limit {} ({})",
                 s.graph.name, g.width, g.height, g.cells(), plan.threads, plan.tile_rows,
                 format_size(plan.memory_limit), plan.memory_limit_source);
  }
  if (s.world) s.world->start_watch(s.cancel);
  try {
    const std::shared_ptr<void> watch = s.watcher ? s.watcher(*s.progress, s.rank) : nullptr;
    s.summary = s.pipeline->run(s.run);
  } catch (const Interrupted& e) {
    s.interrupted = true;
    s.memory_too_small = dynamic_cast<const MemoryTooSmall*>(&e) != nullptr;
    s.failure = e.what();
    s.error = std::current_exception();
  } catch (const Error& e) {
    s.failure = e.what();
    s.error = std::current_exception();
  } catch (const std::bad_alloc& e) {
    s.failure = e.what();
    s.error = std::current_exception();
  } catch (const std::exception& e) {  // every other failure is the run's
    s.failure = e.what();
    s.error = std::make_exception_ptr(RunError(e.what()));
  }
}

namespace {

// Without MPI: the experiment marked and the run's error thrown, with the way to resume when
// the checkpoint was kept.
[[noreturn]] void throw_failure(SessionState& s) {
  if (s.recorder) s.recorder->finish(s.interrupted ? "interrupted" : "failed", s.failure, std::chrono::seconds(5));
  const std::string hint = resume_hint(s);
  if (hint.empty()) std::rethrow_exception(s.error);
  if (s.memory_too_small) throw MemoryTooSmall(s.failure + hint);
  if (s.interrupted) throw Interrupted(s.failure + hint);
  spdlog::error("{}", s.failure);
  throw RunError("the run failed" + hint);
}

}  // namespace

const RunSummary& RunSession::finish() {
  SessionState& s = *s_;
  if (s.world) {
    agree_on_failure(s);
    gather_outputs(s);
  } else if (!s.failure.empty()) {
    throw_failure(s);
  }
  if (s.rank != 0) record_run_figures(s);
  if (s.world) s.world->barrier();  // every rank's rows are in before rank 0 marks the experiment
  if (s.rank == 0) record_run_figures(s);
  if (s.recorder) s.summary.experiment_id = s.recorder->experiment_id();
  return s.summary;
}

void RunSession::abandon(const std::string& status, const std::string& message) {
  if (s_->recorder) s_->recorder->finish(status, message, std::chrono::seconds(5));
}

int RunSession::rank() const { return s_->rank; }
Progress RunSession::progress() const { return s_->progress->now(); }
const RunRequest& RunSession::request() const { return s_->request; }

}  // namespace rasterflow::app
