#pragma once
// One error hierarchy rooted in std::runtime_error. Messages start with where the problem is
// (file, node, field), PDAL-style, and say what was expected.
#include <stdexcept>
#include <string>
#include <vector>

namespace rasterflow {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad usage, configuration or graph: found before anything runs (exit code 2).
class UsageError : public Error {
 public:
  using Error::Error;
};
class ConfigError final : public UsageError {
 public:
  using UsageError::UsageError;
};
class GraphError final : public UsageError {
 public:
  using UsageError::UsageError;
};
// Another process writes the same output (rasterflow/hpc/output_lock.hpp): nothing was touched.
class OutputBusy final : public UsageError {
 public:
  using UsageError::UsageError;
};

// Failures while running (exit code 1).
class RunError : public Error {
 public:
  using Error::Error;
};
class IoError final : public RunError {
 public:
  using RunError::RunError;
};
class NodeError final : public RunError {
 public:
  using RunError::RunError;
};
// The run was cancelled by a signal (exit code 130).
class Interrupted : public Error {
 public:
  using Error::Error;
};
// The run stopped as an interruption does (checkpoint kept) because critical memory pressure
// lasted with nothing left to shed: the memory limit is below what the run needs (exit code
// kExitMemoryTooSmall, docs/command-line.md).
class MemoryTooSmall final : public Interrupted {
 public:
  using Interrupted::Interrupted;
};
inline constexpr int kExitMemoryTooSmall = 75;  // EX_TEMPFAIL: retry with more memory

[[noreturn]] void throw_config_error(const std::string& where, const std::string& what);
[[noreturn]] void throw_graph_error(const std::string& where, const std::string& what);
[[noreturn]] void throw_io_error(const std::string& where, const std::string& what);
[[noreturn]] void throw_node_error(const std::string& where, const std::string& what);

// `did you mean "x"?` for the closest candidate within a small edit distance, or "".
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace rasterflow
