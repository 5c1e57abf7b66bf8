#pragma once
// Runs stopped by signals at random moments and resumed (issue #21's tests, shared by the CSV
// and Parquet ones): jobs started in a session of their own, signalled, waited for with a
// deadline; the resumed output compared with a run never stopped.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "support/test_support.hpp"

namespace rasterflow::test {

// The demo graph on the medium sample data (1200 x 600 cells, a 24 MB CSV), edited by `edit`
// (its text, e.g. another sink), and `output`'s bytes from a run of it never stopped.
struct Project {
  TempDir dir;
  std::string graph;
  std::string reference;
  explicit Project(const std::function<void(std::string&)>& edit = {}, const std::string& output = "merged.csv");
};

extern int g_linked;  // resumed runs whose experiment links to the interrupted one

struct Stopped {
  int status = 0;  // exit code, or 128 + signal
  std::string output;
  std::string hung;  // what was still running at the deadline (then killed), "" when nothing
};

// Who gets the signal. Open MPI's mpirun puts each rank in its own process group (measured:
// pgid == pid), so a signal to mpirun's group reaches mpirun alone.
enum class Target {
  group,     // the command's process group (a single process)
  job,       // every process of the job (its session): what SLURM does at the time limit or scancel
  ranks,     // the ranks only, not mpirun (srun's tasks, or `kill` of the ranks)
  launcher,  // mpirun alone (a batch script passing SIGTERM on): mpirun sends it on to the ranks
};

// Runs `command` (through sh, in a session of its own) and, when `sig` is not 0, sends it to
// `target` after `after`. Waits at most `deadline` for the command and every process it started
// (orphaned MPI ranks included) to end; what is left then is killed and named in `hung`.
// With `started` files, `after` counts from the moment the first of them exists (a run's first
// checkpoint: the moment its writing starts, however slow the machine is today).
Stopped run_job(const std::string& command, const std::filesystem::path& log, int sig = 0,
                std::chrono::milliseconds after = std::chrono::milliseconds(0), Target target = Target::group,
                const std::vector<std::filesystem::path>& started = {},
                std::chrono::seconds deadline = std::chrono::seconds(90));

Stopped run_and_stop(const std::string& command, int sig, std::chrono::milliseconds after,
                     const std::filesystem::path& log);

// The rest of the line after `marker` in `text` ("" when it is not there).
std::string after(const std::string& text, const std::string& marker);

// The length of the first sink's partial output a checkpoint records (0 when it has none).
std::uint64_t checkpointed_bytes(const std::string& checkpoint);

struct Stop {
  int sig;
  Target target;
  bool after_start = false;  // the delay counts from the first checkpoint, not from the launch
};

// Stops `run` at random moments (from `seed`) with each of `stops`, resumes, compares.
// `checkpoints`: merged.csv.checkpoint, or every MPI rank's merged.csv.rank<R>.checkpoint.
// `output`: the final file's name in `out`, and `text` what it holds as CSV text (the file's
// bytes, or zcat's or zstdcat's output of it).
struct Output {
  std::string name = "merged.csv";
  std::vector<std::string> also;  // the run's other outputs (left in `out` with it)
  std::function<std::string(const std::filesystem::path&)> text = [](const std::filesystem::path& f) {
    return read_text(f);
  };
};

void stop_and_resume(Project& p, const std::string& run, const std::filesystem::path& out,
                     const std::vector<std::string>& checkpoints, const std::vector<Stop>& stops, unsigned seed,
                     int rounds, int min_ms, int max_ms, int& resumed_mid_run, const Output& output = Output{});

// RASTERFLOW_TEST_SEED, or a random seed.
unsigned test_seed();

}  // namespace rasterflow::test
