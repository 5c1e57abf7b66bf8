// Files of 1 x 1 blocks (issue #29: a truncated 16,777,215-pixel file of 1 x 1 blocks once ran
// past 900 s ignoring SIGTERM): a truncated one fails cleanly and fast, and SIGTERM stops a run
// over a whole one within about a second, exit 130, leaving no output under its final name.
#include <doctest/doctest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <string>
#include <thread>

#include "support/test_support.hpp"
#include "support/tiff_builder.hpp"

using namespace rasterflow;

namespace {

constexpr std::uint32_t kSide = 4096;

std::string graph_of(const std::string& file) {
  return R"({"nodes": [
    {"id": "src", "type": "raster_source", "path": ")" +
         file + R"("},
    {"id": "v", "type": "resample", "inputs": ["src"], "method": "nearest"},
    {"id": "m", "type": "merge", "inputs": ["v"]},
    {"id": "table", "type": "csv_sink", "inputs": ["m"], "path": "out.csv"}]})";
}

struct Exit {
  int code = -1;
  double seconds = 0;        // from the start
  double after_signal = -1;  // from the signal to the exit
  std::string output;
};

// Runs `rasterflow run` on dir/graph.json; with `signal_after`, sends SIGTERM then.
Exit run(const test::TempDir& dir, std::optional<std::chrono::milliseconds> signal_after = {}) {
  const std::string log = (dir / "run.log").string();
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const std::string command = std::string("exec ") + RASTERFLOW_CLI + " run " + (dir / "graph.json").string() +
                                " --output-dir " + (dir / "o").string() +
                                " --set metrics.backend=none --set checkpoint.interval_s=0 > " + log + " 2>&1";
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  Exit e;
  std::chrono::steady_clock::time_point signalled{};
  if (signal_after) {
    // From the run's start ("running ..."), not the process's: opening and planning take a
    // machine-dependent time, and the file must still be being read when the signal lands.
    for (int i = 0; i < 3000 && test::read_text(log).find("running ") == std::string::npos; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::this_thread::sleep_for(*signal_after);
    signalled = std::chrono::steady_clock::now();
    ::kill(pid, SIGTERM);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  const auto end = std::chrono::steady_clock::now();
  e.seconds = std::chrono::duration<double>(end - t0).count();
  if (signal_after) e.after_signal = std::chrono::duration<double>(end - signalled).count();
  e.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  e.output = test::read_text(log);
  return e;
}

bool no_output(const test::TempDir& dir) {
  return !std::filesystem::exists(dir / "o/out.csv") && !std::filesystem::exists(dir / "o/out.csv.partial");
}

}  // namespace

TEST_CASE("OneByOneBlocks.TruncatedFileFailsCleanlyAndFast" * doctest::timeout(120)) {
  test::TempDir dir;
  // 4096 x 4096 pixels in 1 x 1 tiles: tables of 16,777,216 entries claimed, a few blocks stored.
  test::TiffBuild b{.width = kSide,
                    .height = kSide,
                    .block_width = 1,
                    .block_height = 1,
                    .claimed_blocks = std::uint64_t{kSide} * kSide};
  b.blocks = std::vector<std::string>(64, std::string(2, '\x01'));
  const std::string path = (dir / "cut.tif").string();
  test::write_tiff(path, b);
  test::write_text(dir / "graph.json", graph_of(path));
  const Exit e = run(dir);
  MESSAGE("truncated 1 x 1 blocks: exit " << e.code << " after " << e.seconds << " s");
  CAPTURE(e.output);
  CHECK((e.code == 1 || e.code == 2));
  CHECK(e.output.find(path) != std::string::npos);
  CHECK(e.seconds < 10);
  CHECK(no_output(dir));
}

TEST_CASE("OneByOneBlocks.SigtermStopsAWholeFileWithinASecondOrTwo" * doctest::timeout(180)) {
  test::TempDir dir;
  // 2048 x 2048 pixels in 4,194,304 tiles of 1 x 1, every one stored: a slow file to read.
  constexpr std::uint32_t side = 2048;
  test::TiffBuild b{.width = side, .height = side, .block_width = 1, .block_height = 1};
  b.blocks.reserve(std::size_t{side} * side);
  for (std::size_t i = 0; i < std::size_t{side} * side; ++i) b.blocks.emplace_back(std::string(1, char(i % 97)) + '\0');
  const std::string path = (dir / "ones.tif").string();
  test::write_tiff(path, b);
  b.blocks.clear();
  test::write_text(dir / "graph.json", graph_of(path));
  const Exit e = run(dir, std::chrono::milliseconds(300));
  MESSAGE("SIGTERM on 1 x 1 blocks: exit " << e.code << ", " << e.after_signal << " s after the signal, " << e.seconds
                                           << " s in all");
  CAPTURE(e.output);
  CHECK(e.code == 130);
  CHECK(e.after_signal < 2.0);
  CHECK(no_output(dir));
}
