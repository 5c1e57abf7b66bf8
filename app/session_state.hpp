#pragma once
// What the steps of a run session share (app/run_session.cpp and its session_*.cpp), from the
// setup to the summary. Declared in the order they are made, so they go in the reverse order
// (the recorder before the pipeline).
#include <atomic>
#include <exception>
#include <memory>
#include <optional>
#include <string>

#include "app/run_request.hpp"
#include "app/run_session.hpp"
#include "app/world.hpp"
#include "rasterflow/config.hpp"
#include "rasterflow/graph.hpp"
#include "rasterflow/hpc/checkpoint.hpp"
#include "rasterflow/metrics.hpp"
#include "rasterflow/observers.hpp"
#include "rasterflow/pipeline.hpp"

namespace rasterflow::app {

struct SessionState {
  SessionState(RunRequest r, World* w, std::atomic<bool>* c, RunSession::Watcher watch)
      : request(std::move(r)), world(w), rank(w ? w->rank() : 0), cancel(c), watcher(std::move(watch)) {}

  const RunRequest request;
  World* const world;  // null without MPI
  const int rank;
  std::atomic<bool>* const cancel;
  const RunSession::Watcher watcher;
  Config config;
  GraphSpec graph;
  PlanOptions options;
  std::unique_ptr<Pipeline> pipeline;
  // The run to make: this rank's band, the checkpoint to keep or resume, the experiment and the
  // observers (the session's progress and stage tracking kept apart, for the watcher and the
  // metrics rows). Handed to Pipeline::run by value.
  Run run;
  std::shared_ptr<ProgressObserver> progress = std::make_shared<ProgressObserver>();  // set_up: the band's total
  std::shared_ptr<StageObserver> stages = std::make_shared<StageObserver>();
  std::unique_ptr<MetricsRecorder> recorder;
  RunSummary summary;
  std::string failure;  // the run's error message; empty when it succeeded
  bool interrupted = false;
  bool memory_too_small = false;  // interrupted because the memory limit is too small to go on
  double gather_seconds = 0;      // MPI: the sinks' gather, after the run (rank 0's clock)
  const std::optional<Checkpoint>& resumed() const { return run.resume; }  // what a --resume run continues
  bool band_from_start = false;  // MPI --resume: this rank had no checkpoint (set_up)
  std::exception_ptr error;
};

// app/session_setup.cpp
void set_up(SessionState& s);
// app/session_mpi.cpp: the collectives of a run under MPI.
void start_all_or_none(SessionState& s);
void agree_on_failure(SessionState& s);
void gather_outputs(SessionState& s);
// app/session_metrics.cpp
std::string with_rank(const std::string& metadata, int rank);
void open_metrics(SessionState& s);
void record_run_figures(SessionState& s);
// app/session_checkpoint.cpp
std::string resume_hint(const SessionState& s);
void discard_checkpoint(const SessionState& s);

}  // namespace rasterflow::app
