#pragma once
// `rasterflow run`: the run session (app/run_session.hpp) on one rank, or on the ranks of an MPI
// launch, stoppable by the signals batch systems send.
#include <spdlog/logger.h>

#include "app/run_request.hpp"

namespace rasterflow::cli {

int launch_run(const app::RunRequest& request, int* argc, char*** argv, spdlog::logger& logger);

}  // namespace rasterflow::cli
