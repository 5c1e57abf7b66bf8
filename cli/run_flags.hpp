#pragma once
// The run flags of app/run_request.hpp as CLI11 options: `rasterflow run` takes all the
// command line's, `rasterflow plan` those that shape a plan.
#include <CLI/CLI.hpp>
#include <initializer_list>
#include <string_view>

#include "app/run_request.hpp"

namespace rasterflow::cli {

// Binds the flags named (Python names, app::run_flags()) to `request`; every flag the command
// line takes when `names` is empty.
void bind_run_flags(CLI::App* command, app::RunRequest& request, std::initializer_list<std::string_view> names = {});

}  // namespace rasterflow::cli
