#include "support/resume_support.hpp"

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "app/sample_data.hpp"

namespace rasterflow::test {
namespace fs = std::filesystem;

Project::Project(const std::function<void(std::string&)>& edit, const std::string& output) {
  rasterflow::app::generate_sample_data(dir / "sample_data", "medium");
  fs::create_directories(dir / "graphs");
  std::string text = read_text(std::string(RASTERFLOW_SOURCE_DIR) + "/graphs/demo.json");
  if (edit) edit(text);
  write_text(dir / "graphs/demo.json", text);
  graph = (dir / "graphs/demo.json").string();
  std::string out;
  if (run_shell(std::string(RASTERFLOW_CLI) + " run " + graph + " --output-dir " + (dir / "ref").string() +
                    " --set metrics.backend=none --progress never",
                &out) != 0)
    throw std::runtime_error("reference run failed: " + out);
  reference = read_text(dir / "ref" / output);
}

int g_linked = 0;

namespace {

// The processes of session `sid` (/proc/<pid>/stat's sixth field).
std::vector<pid_t> session_members(pid_t sid) {
  std::vector<pid_t> pids;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat;
    std::getline(in, stat);
    const auto paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream fields(stat.substr(paren + 2));
    std::string state;
    long ppid = 0, pgrp = 0, session = 0;
    fields >> state >> ppid >> pgrp >> session;
    if (session == sid && state != "Z") pids.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return pids;
}

std::string describe_processes(const std::vector<pid_t>& pids) {
  std::string text;
  for (const pid_t p : pids) {
    std::string cmd = read_text("/proc/" + std::to_string(p) + "/cmdline");
    std::replace(cmd.begin(), cmd.end(), '\0', ' ');
    text += std::to_string(p) + ": " + cmd.substr(0, 120) + "\n";
  }
  return text;
}

}  // namespace

Stopped run_job(const std::string& command, const fs::path& log, int sig, std::chrono::milliseconds after,
                Target target, const std::vector<fs::path>& started, std::chrono::seconds deadline) {
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setsid();
    ::execl("/bin/sh", "sh", "-c", ("exec " + command + " > " + log.string() + " 2>&1").c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  bool reaped = false;
  if (sig != 0) {
    const auto has_started = [&] {
      for (const auto& f : started)
        if (fs::exists(f)) return true;
      return started.empty();
    };
    while (!has_started() && !reaped && std::chrono::steady_clock::now() - start < deadline) {
      reaped = ::waitpid(pid, &status, WNOHANG) == pid;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (!reaped) std::this_thread::sleep_for(after);
    reaped = reaped || ::waitpid(pid, &status, WNOHANG) == pid;
    if (!reaped) {
      switch (target) {
        case Target::group:
          ::kill(-pid, sig);
          break;
        case Target::launcher:
          ::kill(pid, sig);
          break;
        case Target::job:
        case Target::ranks:
          for (const pid_t p : session_members(pid))
            if (target == Target::job || p != pid) ::kill(p, sig);
          break;
      }
    }
  }
  const auto over = [&] { return std::chrono::steady_clock::now() - start > deadline; };
  while (!reaped && !over()) {
    reaped = ::waitpid(pid, &status, WNOHANG) == pid;
    if (!reaped) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Stopped s;
  // Every process of the job ends too before the next step looks at the files (ranks that
  // outlive a killed mpirun go on for a second or two before Open MPI ends them).
  std::vector<pid_t> left = session_members(pid);
  while (!left.empty() && !over()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    left = session_members(pid);
  }
  if (!left.empty()) {
    s.hung = describe_processes(left);
    for (const pid_t p : left) ::kill(p, SIGKILL);
  }
  if (!reaped) ::waitpid(pid, &status, 0);
  for (int i = 0; i < 500 && !session_members(pid).empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  s.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  s.output = read_text(log);
  return s;
}

Stopped run_and_stop(const std::string& command, int sig, std::chrono::milliseconds after, const fs::path& log) {
  return run_job(command, log, sig, after, Target::group);
}

std::string after(const std::string& text, const std::string& marker) {
  const auto at = text.find(marker);
  if (at == std::string::npos) return "";
  const auto end = text.find('\n', at);
  return text.substr(at + marker.size(), end == std::string::npos ? std::string::npos : end - at - marker.size());
}

// The length of the first sink's partial output a checkpoint records (0 when it has none).
std::uint64_t checkpointed_bytes(const std::string& checkpoint) {
  const auto at = checkpoint.find("\"bytes\":");
  return at == std::string::npos ? 0 : std::stoull(checkpoint.substr(at + 8));
}

void stop_and_resume(Project& p, const std::string& run, const fs::path& out,
                     const std::vector<std::string>& checkpoints, const std::vector<Stop>& stops, unsigned seed,
                     int rounds, int min_ms, int max_ms, int& resumed_mid_run, const Output& output) {
  const fs::path final_file = out / output.name;
  const bool mpi = checkpoints.size() > 1;
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> delay(min_ms, max_ms);
  for (int round = 0; round < rounds; ++round) {
    for (const Stop stop : stops) {
      const int sig = stop.sig;
      const int ms = delay(random);
      INFO("seed " << seed << ", round " << round << ", signal " << sig << " to target "
                   << static_cast<int>(stop.target) << " after " << ms << " ms"
                   << (stop.after_start ? " from the first checkpoint" : ""));
      fs::remove_all(out);
      std::vector<fs::path> started;
      if (stop.after_start)
        for (const auto& c : checkpoints) started.push_back(out / c);
      const Stopped s = run_job(run, p.dir / "log.txt", sig, std::chrono::milliseconds(ms), stop.target, started);
      INFO(s.output);
      REQUIRE_MESSAGE(s.hung.empty(), "still running " << 90 << " s after the signal:\n" << s.hung);
      bool any_checkpoint = false;
      for (const auto& c : checkpoints) any_checkpoint = any_checkpoint || fs::exists(out / c);
      const auto trace = [&](const std::string& what) {
        if (std::getenv("RASTERFLOW_TEST_VERBOSE"))
          std::fprintf(stderr, "signal %d to target %d after %d ms: exit %d, %s\n", sig, static_cast<int>(stop.target),
                       ms, s.status, what.c_str());
      };
      if (s.status == 0) {  // finished first
        trace("finished");
        CHECK(output.text(final_file) == p.reference);
        CHECK_FALSE(any_checkpoint);
        continue;
      }
      // SIGTERM before main() set its handler (the first few tens of ms) kills as SIGKILL does.
      if (!any_checkpoint && (s.status == 128 + SIGKILL || s.status == 128 + SIGTERM || mpi)) {
        // Killed before the first checkpoint (or, under mpirun, before the ranks started, or
        // after they finished while mpirun was ending): nothing to resume, nothing in the way.
        trace(fs::exists(final_file) ? "no checkpoint, output complete" : "no checkpoint, nothing written");
        if (fs::exists(final_file)) CHECK(output.text(final_file) == p.reference);
        continue;
      }
      std::string resume = run + " --resume";
      if (sig == SIGTERM && s.status == 130) {
        // The command it printed resumes it (under MPI: the same launch of as many ranks).
        const std::string printed = after(s.output, "resume with: ");
        REQUIRE_MESSAGE(!printed.empty(), s.output);
        CHECK(printed.find("--resume") != std::string::npos);
        if (!mpi) resume = printed;
      } else if (sig == SIGTERM && !mpi) {
        CHECK(s.status == 130);
      }
      REQUIRE(any_checkpoint);
      const Stopped resumed = run_job(resume, p.dir / "resume.txt");
      REQUIRE_MESSAGE(resumed.hung.empty(), "the resumed run still ran after 90 s:\n" << resumed.hung);
      REQUIRE_MESSAGE(resumed.status == 0, resumed.output);
      const bool mid_run = resumed.output.find("were written, continuing at row") != std::string::npos;
      if (mid_run) ++resumed_mid_run;
      trace(std::string("resumed ") + (mid_run ? "mid-run" : "from the start") + ", output " +
            (output.text(final_file) == p.reference ? "same" : "DIFFERENT"));
      CHECK_MESSAGE(output.text(final_file) == p.reference, "seed " << seed);
      if (rasterflow::test::sqlite_number(out / "rasterflow_metrics.sqlite",
                                          "SELECT count(*) FROM experiments e JOIN experiments f ON f.id = "
                                          "e.resumed_from WHERE f.status = 'interrupted' AND e.status = "
                                          "'succeeded'") >= 1)
        ++g_linked;
      for (const auto& entry : fs::directory_iterator(out)) {
        const std::string name = entry.path().filename().string();
        const bool also = std::find(output.also.begin(), output.also.end(), name) != output.also.end();
        CHECK_MESSAGE((name == output.name || also || name.rfind("rasterflow_metrics", 0) == 0), name);
      }
    }
  }
}

unsigned test_seed() {
  if (const char* s = std::getenv("RASTERFLOW_TEST_SEED")) return static_cast<unsigned>(std::stoul(s));
  return static_cast<unsigned>(std::random_device{}());
}

}  // namespace rasterflow::test
