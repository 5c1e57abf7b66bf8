#pragma once
// One run, for every front end (`rasterflow run`, rasterflow.run()): configuration, graph and
// pipeline from a RunRequest; under MPI the rank's band and the agreement that every rank
// starts or none does; the checkpoint; the metrics experiment; the run; under MPI the
// agreement on failure and each sink's gather; the experiment's end, the report and the summary.
//
//   RunSession session(request, world, &cancel);
//   session.start();              // throws UsageError & co. before anything ran
//   session.run();                // blocking, on any thread; its error is kept
//   const RunSummary& s = session.finish();  // throws the run's error (with the way to resume)
#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "app/run_request.hpp"
#include "app/world.hpp"
#include "rasterflow/observers.hpp"
#include "rasterflow/pipeline.hpp"

namespace rasterflow::app {

struct SessionState;

class RunSession {
 public:
  // Something that watches the run while it goes (the command line's progress display); made
  // just before the run, destroyed just after it.
  using Watcher = std::function<std::shared_ptr<void>(const ProgressObserver& progress, int rank)>;

  // `world` null without MPI; `cancel` stops the run when set (a signal handler, Ctrl-C in Python).
  RunSession(RunRequest request, World* world, std::atomic<bool>* cancel, Watcher watcher = {});
  ~RunSession();
  RunSession(const RunSession&) = delete;
  RunSession& operator=(const RunSession&) = delete;

  // Configuration, graph, pipeline, band, checkpoint and metrics experiment. Under MPI every
  // rank starts or none does (collective). Throws.
  void start();
  // The run itself (after start()); its error is kept for finish(), never thrown.
  void run();
  // After run(): under MPI the ranks agree and each sink gathers; the experiment gets the run's
  // figures and its status. Throws the run's error, with the way to resume when a checkpoint was
  // kept. Returns this rank's summary (experiment_id set when metrics are recorded).
  const RunSummary& finish();
  // The front end stopped the run on its own (Python: Ctrl-C, a progress callable that raised),
  // after run() returned: the experiment is marked `status` ("interrupted", "failed").
  void abandon(const std::string& status, const std::string& message);

  // Rank 0, after finish(): the HTML report (request.report) and the summary's log lines, with
  // the outputs listed on stdout when `list_outputs`.
  void write_report() const;
  void log_summary(bool list_outputs) const;

  int rank() const;
  Progress progress() const;  // the run's live figures, from any thread
  const RunRequest& request() const;

 private:
  std::unique_ptr<SessionState> s_;
};

// A run summary as people read it: "RunSummary(20,000 rows of 20,000 cells (200 x 100) in 0.14 s
// (0.31 s CPU), 4 tiles, 2 threads, peak RSS 66.0 MiB (limit 1.0 GiB), 312.5 KiB written to
// out/merged.csv)" (Python's repr).
std::string describe(const RunSummary& summary);

}  // namespace rasterflow::app
