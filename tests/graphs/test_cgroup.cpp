// rasterflow inside a real memory cgroup whose limit the page cache of its reads and writes fills
// (issue #21): the cache is no pressure, so no critical event, and the same bytes as outside.
#include <doctest/doctest.h>

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "support/test_support.hpp"

namespace {

std::string file_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// This process's memory cgroup folder (v1 memory controller, else v2), "" when none is found.
std::filesystem::path own_memory_cgroup(int& version) {
  std::istringstream in(file_text("/proc/self/cgroup"));
  std::string line;
  while (std::getline(in, line)) {
    const auto a = line.find(':');
    const auto b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = "," + line.substr(a + 1, b - a - 1) + ",";
    const std::filesystem::path rel = std::filesystem::path(line.substr(b + 1)).relative_path();
    if (controllers.find(",memory,") != std::string::npos &&
        std::filesystem::exists("/sys/fs/cgroup/memory" / rel / "memory.limit_in_bytes")) {
      version = 1;
      return "/sys/fs/cgroup/memory" / rel;
    }
    if (line.rfind("0::", 0) == 0 && std::filesystem::exists("/sys/fs/cgroup" / rel / "memory.max")) {
      version = 2;
      return "/sys/fs/cgroup" / rel;
    }
  }
  return {};
}

// A child cgroup under the test's own, removed when the test ends (its processes have exited).
class ChildCgroup {
 public:
  ChildCgroup(const std::filesystem::path& parent, int version, std::uint64_t limit, std::string& why) {
    dir_ = parent / ("rasterflow-test-" + std::to_string(::getpid()));
    std::error_code ec;
    if (!std::filesystem::create_directory(dir_, ec)) {
      why = "cannot create " + dir_.string() + ": " + (ec ? ec.message() : "it exists");
      dir_.clear();
      return;
    }
    limit_file_ = dir_ / (version == 1 ? "memory.limit_in_bytes" : "memory.max");
    std::ofstream(limit_file_) << limit;
    if (std::stoull(file_text(limit_file_)) != limit) why = "cannot set " + limit_file_.string();
    peak_file_ = dir_ / (version == 1 ? "memory.max_usage_in_bytes" : "memory.peak");
  }
  ~ChildCgroup() {
    if (dir_.empty()) return;
    ::rmdir(dir_.c_str());
  }
  const std::filesystem::path& dir() const { return dir_; }
  // The most the cgroup was charged (v2 memory.peak exists from Linux 5.19: 0 when absent).
  std::uint64_t peak() const {
    const std::string text = file_text(peak_file_);
    return text.empty() ? 0 : std::stoull(text);
  }

 private:
  std::filesystem::path dir_, limit_file_, peak_file_;
};

}  // namespace

TEST_CASE("Cgroup.PageCacheIsNoPressure" * doctest::timeout(180)) {
  int version = 0;
  const std::filesystem::path parent = own_memory_cgroup(version);
  if (parent.empty()) {
    MESSAGE("skipped: no memory cgroup (v1 memory controller or v2 memory.max) found for this process");
    return;
  }
  constexpr std::uint64_t kLimit = 160ull << 20;
  std::string why;
  ChildCgroup cgroup(parent, version, kLimit, why);
  if (!why.empty()) {
    MESSAGE("skipped: " << why);
    return;
  }
  rasterflow::test::TempDir dir;
  std::filesystem::create_directories(dir / "graphs");
  std::filesystem::copy_file(std::string(RASTERFLOW_SOURCE_DIR) + "/graphs/demo.json", dir / "graphs/demo.json");
  const std::string cli = RASTERFLOW_CLI;
  const std::string graph = (dir / "graphs/demo.json").string();
  const std::string run = cli + " run " + graph + " --set metrics.backend=none --progress never" +
                          " --set memory.sample_interval_ms=20 --log-level debug --output-dir ";
  // Inside the cgroup: the medium sample data written (57 MB) and 96 MiB of filler, then the
  // inputs read and a 24 MB CSV written, all charged to the cgroup as page cache on top of the
  // process's own memory.
  std::string inside;
  const int rc =
      rasterflow::test::run_shell("sh -c 'echo $$ > " + (cgroup.dir() / "cgroup.procs").string() + " && " + cli +
                                      " sample-data " + (dir / "sample_data").string() +
                                      " --size medium > /dev/null && dd if=/dev/zero of=" + (dir / "filler").string() +
                                      " bs=1M count=96 status=none && exec " + run + (dir / "inside").string() + "'",
                                  &inside);
  INFO(inside);
  REQUIRE(rc == 0);
  // The premise: the cgroup's charge reached its limit (the page cache filled it), well past the
  // critical threshold (0.90) that usage / limit would have crossed.
  const std::uint64_t peak = cgroup.peak();
  if (peak == 0) {
    MESSAGE("the kernel reports no peak for the cgroup (memory.peak needs Linux 5.19); premise not checked");
  } else {
    CHECK(peak >= kLimit * 95 / 100);
  }
  CHECK(inside.find("memory limit 160.0 MiB (cgroup v" + std::to_string(version) + " " + cgroup.dir().string()) !=
        std::string::npos);
  CHECK(inside.find("critical") == std::string::npos);
  CHECK(inside.find("0 throttle events") != std::string::npos);
  // Outside it: the same bytes.
  std::string outside;
  REQUIRE(rasterflow::test::run_shell(run + (dir / "outside").string(), &outside) == 0);
  const std::string a = rasterflow::test::read_text(dir / "inside/merged.csv");
  CHECK(a.size() > (20u << 20));
  CHECK(a == rasterflow::test::read_text(dir / "outside/merged.csv"));
}
