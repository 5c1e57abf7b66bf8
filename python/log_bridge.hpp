#pragma once
// The engine's messages into Python's `logging` (logger "rasterflow"): spdlog's default logger
// writes into a queue (any thread, no GIL), and the thread that waits for the engine hands the
// queued records to logging.getLogger("rasterflow") whenever it holds the GIL (its polls, and
// when a call returns). Nothing is written to a file descriptor by the module.
#include <pybind11/pybind11.h>

namespace rasterflow::python {

// Makes a queue-backed logger spdlog's default (at import).
void install_log_bridge();

// Sets spdlog's level from the "rasterflow" logger's effective level (needs the GIL).
void sync_log_level();

// Hands the queued records to logging (needs the GIL; Python errors in handlers are reported
// through logging's own handleError, never raised into the engine).
void forward_logs();

// For a call into the engine: syncs the level on entry, forwards the records on exit (declare it
// before any gil_scoped_release, so that its destructor runs with the GIL held).
class LogScope {
 public:
  LogScope() { sync_log_level(); }
  ~LogScope() { forward_logs(); }
  LogScope(const LogScope&) = delete;
  LogScope& operator=(const LogScope&) = delete;
};

}  // namespace rasterflow::python
