#include "cli/run_command.hpp"

#include <atomic>
#include <csignal>
#include <memory>

#include "app/run_session.hpp"
#include "cli/progress.hpp"
#include "cli/world.hpp"
#include "rasterflow/errors.hpp"

namespace rasterflow::cli {
namespace {

std::atomic<bool> g_cancel{false};

extern "C" void on_signal(int) { g_cancel.store(true); }

// One rank's run (the only one without MPI), with the progress display on rank 0.
int cmd_run(const app::RunRequest& request, World* world) {
  // From the start: a stop signal while the graph is set up stops the run before its first tile.
  // Every signal batch systems send to stop a job (SLURM --signal, PBS, LSF, Grid Engine's
  // notices and soft limits) stops cleanly: tiles in flight finished, checkpoint saved, exit 130.
  for (const int sig : {SIGINT, SIGTERM, SIGUSR1, SIGUSR2, SIGXCPU}) std::signal(sig, on_signal);
  const std::string mode = request.progress;
  app::RunSession session(request, world, &g_cancel, [mode](const ProgressObserver& progress, int rank) {
    return std::make_shared<ProgressDisplay>(progress, rank == 0 ? mode : "never");
  });
  session.start();
  session.run();
  session.finish();
  if (session.rank() != 0) return 0;
  session.write_report();
  session.log_summary(true);
  return 0;
}

}  // namespace

int launch_run(const app::RunRequest& request, int* argc, char*** argv, spdlog::logger& logger) {
  const Launch launch = detect_launch();
  if (launch.size > 1) {
    if (!built_with_mpi()) {
      throw UsageError("launched as " + std::to_string(launch.size) + " ranks by " + launch.by +
                       ", but this rasterflow was built without MPI: install libopenmpi-dev and rebuild "
                       "(scripts/bootstrap.sh does)");
    }
    // MPI is finalised when `world` goes, before the handlers of main() log an error.
    const auto world = make_mpi_world(argc, argv);
    logger.set_pattern("%^[%l]%$ [rank " + std::to_string(world->rank()) + "] %v");
    return cmd_run(request, world.get());
  }
  return cmd_run(request, nullptr);
}

}  // namespace rasterflow::cli
