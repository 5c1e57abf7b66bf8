// Checkpoint and resume through the binary (issue #21): runs stopped by SIGTERM or SIGKILL at
// random moments, then `--resume`, give the same bytes as a run never stopped; resume refuses
// whatever differs; a disk filling up during the resume leaves the checkpoint usable.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <thread>

#include "app/sample_data.hpp"
#include "support/resume_support.hpp"
#include "support/test_support.hpp"

namespace fs = std::filesystem;
using rasterflow::test::read_text;
using rasterflow::test::run_shell;

using rasterflow::test::after;
using rasterflow::test::checkpointed_bytes;
using rasterflow::test::g_linked;
using rasterflow::test::Output;
using rasterflow::test::Project;
using rasterflow::test::run_and_stop;
using rasterflow::test::run_job;
using rasterflow::test::Stop;
using rasterflow::test::stop_and_resume;
using rasterflow::test::Stopped;
using rasterflow::test::Target;
using rasterflow::test::test_seed;

TEST_CASE("Resume.SigtermAndSigkillAtRandomPoints.SameBytes" * doctest::timeout(240)) {
  Project p;
  const unsigned seed = test_seed();
  MESSAGE("seed " << seed << " (RASTERFLOW_TEST_SEED=" << seed << " repeats it)");
  const fs::path out = p.dir / "out";
  const std::string run = std::string(RASTERFLOW_CLI) + " run " + p.graph + " --output-dir " + out.string() +
                          " --threads 1 --set checkpoint.interval_s=0.02 --progress never";
  int resumed_mid_run = 0;
  // From the launch (before the handler is set, while setting up, while writing)...
  stop_and_resume(p, run, out, {"merged.csv.checkpoint"}, {{SIGTERM, Target::group}, {SIGKILL, Target::group}}, seed, 2,
                  40, 700, resumed_mid_run);
  // ... and from the first checkpoint, so that a loaded machine (or a sanitizer's slower
  // start) still stops a run while it writes.
  stop_and_resume(p, run, out, {"merged.csv.checkpoint"},
                  {{SIGTERM, Target::group, true}, {SIGKILL, Target::group, true}}, seed + 1, 1, 0, 400,
                  resumed_mid_run);
  // At least one stop came after rows were written (the runs write for about half a second here).
  CHECK_MESSAGE(resumed_mid_run >= 1, "seed " << seed);
  // The metrics record the interrupted run and link the resumed one to it (each resume checked).
  CHECK_MESSAGE(g_linked >= resumed_mid_run, "seed " << seed);
  CHECK(g_linked >= 1);
}

// Compressed CSV resumes the same way: each tile is one gzip member or zstd frame, the checkpoint
// records the compressed length after a tile, and the members or frames appended after the cut
// make one valid stream. zcat/zstdcat of the final file give the plain CSV of a run never
// stopped, and the compressed bytes are those of a compressed run never stopped.
TEST_CASE("Resume.CompressedCsv.SigtermAndSigkillAtRandomPoints.SameText" * doctest::timeout(240)) {
  Project p;
  const unsigned seed = test_seed();
  MESSAGE("seed " << seed << " (RASTERFLOW_TEST_SEED=" << seed << " repeats it)");
  for (const std::string ext : {"gz", "zst"}) {
    INFO(ext);
    const std::string tool = ext == "gz" ? "zcat" : "zstdcat";
    const std::string name = "merged.csv." + ext;
    // The default levels (gzip 3, ISA-L's igzip; zstd 3).
    const std::string args = " --threads 1 --progress never --set nodes.table.path=" + name;
    std::string text;
    const fs::path ref = p.dir / ("ref-" + ext);
    REQUIRE_MESSAGE(run_shell(std::string(RASTERFLOW_CLI) + " run " + p.graph + " --output-dir " + ref.string() + args +
                                  " --set metrics.backend=none",
                              &text) == 0,
                    text);
    const std::string compressed_reference = read_text(ref / name);
    Output output;
    output.name = name;
    output.text = [&p, tool, compressed_reference](const fs::path& file) {
      const fs::path plain = p.dir / "decompressed.csv";
      std::string out;
      // Valid as one stream (every member or frame whole), then its text; and the compressed
      // bytes those of a run never stopped (each tile's member or frame is the same).
      if (run_shell(tool + " " + file.string() + " > " + plain.string(), &out) != 0) return "invalid stream: " + out;
      if (read_text(file) != compressed_reference) return std::string("compressed bytes differ");
      return read_text(plain);
    };
    REQUIRE(output.text(ref / name) == p.reference);
    const fs::path out = p.dir / ("out-" + ext);
    const std::string run = std::string(RASTERFLOW_CLI) + " run " + p.graph + " --output-dir " + out.string() + args +
                            " --set checkpoint.interval_s=0.02";
    int resumed_mid_run = 0;
    // From the first checkpoint on (the run writing), so that a loaded machine still stops it
    // while it writes; the plain CSV's test covers stops from the launch.
    stop_and_resume(p, run, out, {name + ".checkpoint"},
                    {{SIGTERM, Target::group, true}, {SIGKILL, Target::group, true}}, seed + (ext == "gz" ? 0 : 1), 2,
                    0, 500, resumed_mid_run, output);
    CHECK_MESSAGE(resumed_mid_run >= 1, "seed " << seed);
  }
}

#ifdef RASTERFLOW_MPIEXEC
// Under `mpirun -n 2`: SIGTERM to the ranks (as srun's tasks get it), SIGTERM and SIGKILL to the
// whole job (what SLURM does at the time limit), SIGTERM to mpirun alone (a batch script passing
// it on: Open MPI 4.1 sends the ranks SIGCONT at once, SIGTERM 1 s later and SIGKILL 1 s after
// that, odls_base_sigkill_timeout), at random moments; then the same launch with --resume, each
// rank resuming its band: the CSV of a run never stopped. Every wait is bounded: a hang fails.
TEST_CASE("Resume.Mpi.TwoRanksResumeTheirBands" * doctest::timeout(240)) {
  Project p;
  const unsigned seed = test_seed();
  MESSAGE("seed " << seed << " (RASTERFLOW_TEST_SEED=" << seed << " repeats it)");
  const fs::path out = p.dir / "out";
  const std::string run = rasterflow::test::mpirun_rasterflow(2) + "run " + p.graph + " --output-dir " + out.string() +
                          " --threads 1 --set checkpoint.interval_s=0.02 --progress never";
  int resumed_mid_run = 0;
  const std::vector<std::string> checkpoints = {"merged.csv.rank0.checkpoint", "merged.csv.rank1.checkpoint"};
  // The ranks write for about 0.4 s on this 2-core VM, from their first checkpoint on (which
  // they save about 0.5 s after mpirun starts): stops within 450 ms of it land while they
  // write, gather or end, whatever the machine's load.
  stop_and_resume(p, run, out, checkpoints,
                  {{SIGTERM, Target::ranks, true}, {SIGKILL, Target::job, true}, {SIGTERM, Target::job, true}}, seed, 2,
                  0, 450, resumed_mid_run);
  // From the launch: before the ranks start or while they do, and through mpirun's relay.
  stop_and_resume(p, run, out, checkpoints, {{SIGKILL, Target::job}, {SIGTERM, Target::launcher}}, seed + 1, 1, 0, 700,
                  resumed_mid_run);
  CHECK_MESSAGE(resumed_mid_run >= 1, "seed " << seed);
}
#endif

TEST_CASE("Resume.RefusedWhenAnythingDiffers" * doctest::timeout(180)) {
  Project p;
  const fs::path out = p.dir / "out";
  const std::string cli = RASTERFLOW_CLI;
  const std::string args = " --output-dir " + out.string() + " --threads 1 --progress never";
  const std::string run = cli + " run " + p.graph + args;
  // An interrupted run whose checkpoint records rows: SIGTERM some time after its first
  // checkpoint (written before any row), later when a stop came before any row was written
  // (a loaded machine), sooner when the run finished first.
  const auto interrupt = [&] {
    Stopped s;
    int ms = 150;
    for (int attempt = 0; attempt < 30; ++attempt) {
      fs::remove_all(out);
      s = run_job(run + " --set checkpoint.interval_s=0.02", p.dir / "log.txt", SIGTERM, std::chrono::milliseconds(ms),
                  Target::group, {out / "merged.csv.checkpoint"});
      if (s.status == 130 && fs::exists(out / "merged.csv.checkpoint") &&
          checkpointed_bytes(read_text(out / "merged.csv.checkpoint")) > 100)
        return;
      ms = s.status == 0 ? ms / 2 : ms + 100;
    }
    FAIL("no SIGTERM landed while rows were being written: " << s.output);
  };
  std::string text;
  interrupt();
  const std::string checkpoint = read_text(out / "merged.csv.checkpoint");
  const auto partial_size = fs::file_size(out / "merged.csv.partial");

  // Without --resume: the checkpoint is named and left alone.
  CHECK(run_shell(run, &text) == 2);
  CHECK(text.find((out / "merged.csv.checkpoint").string() + ": a checkpoint of an interrupted run") !=
        std::string::npos);
  CHECK(read_text(out / "merged.csv.checkpoint") == checkpoint);
  CHECK(fs::file_size(out / "merged.csv.partial") == partial_size);

  // A configuration key that shapes the output.
  CHECK(run_shell(run + " --set export.nodata=NA --resume", &text) == 2);
  CHECK(text.find("configuration key export.nodata changed") != std::string::npos);
  // ... but not one that only changes how it runs (memory, threads).
  // The graph.
  std::string graph = read_text(p.graph);
  const fs::path other = p.dir / "graphs/other.json";
  graph.replace(graph.find("\"average\" }"), 11, "\"max\" }");
  rasterflow::test::write_text(p.dir / "graphs/demo.json.bak", read_text(p.graph));
  rasterflow::test::write_text(p.graph, graph);
  CHECK(run_shell(run + " --resume", &text) == 2);
  CHECK(text.find("the graph changed") != std::string::npos);
  fs::copy_file(p.dir / "graphs/demo.json.bak", p.graph, fs::copy_options::overwrite_existing);
  CHECK(run_shell(run + " --set nodes.temperature.method=max --resume", &text) == 2);
  CHECK(text.find("the graph changed") != std::string::npos);
  // An input file (touched: same bytes, another modification time).
  const fs::path input = p.dir / "sample_data/elevation.tif";
  const auto mtime = fs::last_write_time(input);
  fs::last_write_time(input, mtime + std::chrono::seconds(5));
  CHECK(run_shell(run + " --resume", &text) == 2);
  CHECK(text.find("input " + input.string() + " of node \"elevation_src\" changed") != std::string::npos);
  fs::last_write_time(input, mtime);
  // The binary: a copy of it with one byte more (the same version, other bytes).
  const fs::path copy = p.dir / "rasterflow-copy";
  fs::copy_file(cli, copy);
  { std::ofstream(copy, std::ios::app) << '\0'; }
  CHECK(run_shell(copy.string() + " run " + p.graph + args + " --resume", &text) == 2);
  CHECK(text.find("the rasterflow binary or its libraries changed") != std::string::npos);
  // Every refusal left the checkpoint and the partial output as they were.
  CHECK(read_text(out / "merged.csv.checkpoint") == checkpoint);
  CHECK(fs::file_size(out / "merged.csv.partial") == partial_size);

  // A checkpoint from another run is never applied: one of another graph's run put in its place...
  const fs::path out2 = p.dir / "out2";
  rasterflow::test::write_text(other, graph);
  fs::remove_all(out2);
  Stopped s;
  for (int ms = 300; ms < 3000 && s.status != 130; ms += 200) {
    fs::remove_all(out2);
    s = run_and_stop(cli + " run " + other.string() + " --output-dir " + out2.string() +
                         " --threads 1 --progress never --set checkpoint.interval_s=0.02",
                     SIGTERM, std::chrono::milliseconds(ms), p.dir / "log2.txt");
  }
  REQUIRE(s.status == 130);
  fs::copy_file(out2 / "merged.csv.checkpoint", out / "merged.csv.checkpoint", fs::copy_options::overwrite_existing);
  CHECK(run_shell(run + " --resume", &text) == 2);
  CHECK(text.find("does not match this run") != std::string::npos);
  CHECK(text.find("the graph changed") != std::string::npos);
  // ... and a partial output that is not the one the checkpoint saw: other bytes in the last
  // 64 KiB before its checkpointed length (what the checkpoint's hash covers).
  rasterflow::test::write_text(out / "merged.csv.checkpoint", checkpoint);
  const auto checkpointed = checkpointed_bytes(checkpoint);
  REQUIRE(checkpointed > 100);
  {
    std::fstream f(out / "merged.csv.partial", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(checkpointed - 100));
    f.put('#');
  }
  CHECK(run_shell(run + " --resume", &text) == 2);
  CHECK(text.find("does not hold the bytes the checkpoint recorded") != std::string::npos);
  CHECK(fs::exists(out / "merged.csv.checkpoint"));

  // --resume without a checkpoint, and with a sink-less or in-memory run.
  fs::remove_all(out);
  CHECK(run_shell(run + " --resume", &text) == 2);
  CHECK(text.find("--resume: no checkpoint at " + (out / "merged.csv.checkpoint").string()) != std::string::npos);
  CHECK(run_shell(run + " --in-memory --resume", &text) == 2);
  CHECK(text.find("an in-memory export writes only at the end") != std::string::npos);
}

TEST_CASE("Resume.DiskFullDuringTheResumeKeepsTheCheckpoint" * doctest::timeout(180)) {
  // RLIMIT_FSIZE as the full disk: a write past the limit fails with EFBIG (SIGXFSZ ignored), as
  // ENOSPC would, with no tmpfs to mount.
  Project p;
  const fs::path out = p.dir / "out";
  const std::string run = std::string(RASTERFLOW_CLI) + " run " + p.graph + " --output-dir " + out.string() +
                          " --threads 1 --progress never --set checkpoint.interval_s=0.02";
  Stopped s;
  for (int ms = 200; ms < 3000 && s.status != 130; ms += 150) {
    fs::remove_all(out);
    s = run_and_stop(run, SIGTERM, std::chrono::milliseconds(ms), p.dir / "log.txt");
  }
  REQUIRE_MESSAGE(s.status == 130, s.output);
  const std::string checkpoint = read_text(out / "merged.csv.checkpoint");
  const auto written = fs::file_size(out / "merged.csv.partial");
  REQUIRE(written < p.reference.size());
  // The resume may write 1 MiB more than the partial output holds, then the "disk" is full.
  const std::uint64_t limit = written + (1u << 20);
  std::string text;
  const int code =
      run_shell("trap '' XFSZ; exec prlimit --fsize=" + std::to_string(limit) + " " + run + " --resume", &text);
  INFO(text);
  CHECK(code == 1);
  CHECK(text.find("File too large") != std::string::npos);
  CHECK(text.find("resume with: ") != std::string::npos);
  REQUIRE(fs::exists(out / "merged.csv.checkpoint"));
  CHECK(fs::exists(out / "merged.csv.partial"));
  // The checkpoint still resumes (it moved on, or stayed where it was), to the same bytes.
  REQUIRE(run_shell(run + " --resume", &text) == 0);
  CHECK(read_text(out / "merged.csv") == p.reference);
  (void)checkpoint;
}

// Every stop signal batch systems send (SLURM's --signal notices, PBS, LSF, Grid Engine: USR1,
// USR2, XCPU besides TERM and INT) stops a run as SIGTERM does (issue #33): exit 130, the
// interrupted line with the resume command, the checkpoint kept; resumed, the same bytes.
TEST_CASE("Resume.BatchStopSignals.Usr1Usr2XcpuStopCheckpointAndResume" * doctest::timeout(240)) {
  Project p;
  const fs::path out = p.dir / "out";
  const std::string run = std::string(RASTERFLOW_CLI) + " run " + p.graph + " --output-dir " + out.string() +
                          " --threads 1 --progress never --set checkpoint.interval_s=0.02";
  for (const int sig : {SIGUSR1, SIGUSR2, SIGXCPU}) {
    INFO("signal " << sig);
    Stopped s;
    int ms = 150;
    // Until the signal lands while rows are written (the run may finish first, or be stopped
    // before its first row on a loaded machine: then later).
    for (int attempt = 0; attempt < 30; ++attempt) {
      fs::remove_all(out);
      s = run_job(run, p.dir / "log.txt", sig, std::chrono::milliseconds(ms), Target::group,
                  {out / "merged.csv.checkpoint"});
      if (s.status != 0 && fs::exists(out / "merged.csv.checkpoint") &&
          checkpointed_bytes(read_text(out / "merged.csv.checkpoint")) > 100)
        break;
      ms = s.status == 0 ? ms / 2 : ms + 100;
    }
    INFO(s.output);
    REQUIRE(s.status == 130);  // not 128 + the signal: it did not kill the process
    CHECK(s.output.find("interrupted: rows 0-") != std::string::npos);
    const std::string printed = after(s.output, "resume with: ");
    REQUIRE(printed.find("--resume") != std::string::npos);
    CHECK_FALSE(fs::exists(out / "merged.csv"));
    // The printed command, with progress lines: after --resume they count this run's work only.
    std::string command = printed;
    command.replace(command.find("--progress never"), 16, "--progress always");
    const Stopped resumed = run_job(command, p.dir / "resume.txt");
    INFO(resumed.output);
    REQUIRE(resumed.status == 0);
    CHECK(resumed.output.find("were written, continuing at row") != std::string::npos);
    CHECK(read_text(out / "merged.csv") == p.reference);
    // The last progress line: "... N/T cells, ..., R Mcells/s, ... (resumed at B cells: this run
    // K cells in S s)": K = T - B, and the rate is K over S, not N over S.
    const auto at = resumed.output.rfind("(resumed at ");
    REQUIRE_MESSAGE(at != std::string::npos, resumed.output);
    unsigned long long before = 0, this_run = 0;
    double seconds = 0;
    REQUIRE(std::sscanf(resumed.output.c_str() + at, "(resumed at %llu cells: this run %llu cells in %lf s)", &before,
                        &this_run, &seconds) == 3);
    const auto line_start = resumed.output.rfind('\r', at) + 1;
    const std::string line = resumed.output.substr(line_start, at - line_start);
    const auto rate_at = line.rfind(" Mcells/s");
    REQUIRE(rate_at != std::string::npos);
    const double rate = std::stod(line.substr(line.rfind(' ', rate_at - 1) + 1));
    CHECK(before > 0);
    CHECK(before + this_run == 1200ull * 600ull);
    const double expected = static_cast<double>(this_run) / seconds / 1e6;
    CHECK_MESSAGE(std::abs(rate - expected) <= 0.006 + 0.01 * expected, line);  // printed with 2 decimals
  }
}

// One writer per output (issue #33): while a run writes an output (held stopped with SIGSTOP
// after it wrote rows, so it is certainly in the middle), a second run and a second --resume on
// it are refused before they touch anything (exit 2, naming the output and the holder's pid and
// host); the first then finishes with the bytes of a run never disturbed. A SIGKILLed writer's
// lock is gone with it: its output resumes. The same for a compressed CSV.
TEST_CASE("Resume.OneWriterPerOutput.SecondRunRefusedKilledWriterResumes" * doctest::timeout(240)) {
  Project p;
  const fs::path out = p.dir / "out";
  const std::string cli = RASTERFLOW_CLI;
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  struct Case {
    std::string name;  // the output file
    std::string sets;
  };
  for (const Case& c : {Case{"merged.csv", ""}, Case{"merged.csv.zst", " --set nodes.table.path=merged.csv.zst"}}) {
    INFO(c.name);
    const std::string run = cli + " run " + p.graph + " --output-dir " + out.string() +
                            " --threads 1 --progress never --set checkpoint.interval_s=0.02" + c.sets;
    std::string reference;
    {
      const fs::path ref = p.dir / "ref-lock";
      std::string text;
      REQUIRE(run_shell(cli + " run " + p.graph + " --output-dir " + ref.string() +
                            " --threads 1 --progress never --set metrics.backend=none" + c.sets,
                        &text) == 0);
      reference = read_text(ref / c.name);
      fs::remove_all(ref);
    }
    fs::remove_all(out);
    // The first writer, stopped (SIGSTOP) once its checkpoint records rows.
    const pid_t first = ::fork();
    if (first == 0) {
      ::setpgid(0, 0);
      ::execl("/bin/sh", "sh", "-c", ("exec " + run + " > " + (p.dir / "first.txt").string() + " 2>&1").c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    bool writing = false;
    for (int i = 0; i < 30000 && !writing; ++i) {
      const fs::path cp = out / (c.name + ".checkpoint");
      writing = fs::exists(cp) && checkpointed_bytes(read_text(cp)) > 0;
      if (!writing) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    ::kill(first, SIGSTOP);
    int status = 0;
    const bool finished_first = ::waitpid(first, &status, WNOHANG) == first;
    if (finished_first || !writing) {
      ::kill(first, SIGCONT);
      if (!finished_first) ::waitpid(first, &status, 0);
      FAIL_CHECK("the first run ended before it could be held in the middle: " << read_text(p.dir / "first.txt"));
      continue;
    }
    const std::string checkpoint = read_text(out / (c.name + ".checkpoint"));
    const auto partial = fs::file_size(out / (c.name + ".partial"));
    for (const std::string extra : {"", " --resume"}) {
      INFO("second run" << extra);
      std::string text;
      CHECK(run_shell(run + extra, &text) == 2);
      INFO(text);
      CHECK(text.find("the output " + (out / c.name).string() + " is being written by another run (pid " +
                      std::to_string(first) + " on host " + host) != std::string::npos);
      // Nothing touched: the checkpoint and the partial output as the first run left them.
      CHECK(read_text(out / (c.name + ".checkpoint")) == checkpoint);
      CHECK(fs::file_size(out / (c.name + ".partial")) == partial);
      CHECK_FALSE(fs::exists(out / c.name));
    }
    ::kill(first, SIGCONT);
    REQUIRE(::waitpid(first, &status, 0) == first);
    REQUIRE_MESSAGE((WIFEXITED(status) && WEXITSTATUS(status) == 0), read_text(p.dir / "first.txt"));
    CHECK(read_text(out / c.name) == reference);
    CHECK_FALSE(fs::exists(out / (c.name + ".lock")));

    // A SIGKILLed writer: its lock file stays, its lock does not; --resume goes on.
    fs::remove_all(out);
    Stopped killed;
    int ms = 100;
    for (int attempt = 0; attempt < 30; ++attempt) {
      fs::remove_all(out);
      killed = run_job(run, p.dir / "log.txt", SIGKILL, std::chrono::milliseconds(ms), Target::group,
                       {out / (c.name + ".checkpoint")});
      if (killed.status == 128 + SIGKILL && fs::exists(out / (c.name + ".checkpoint"))) break;
      ms = killed.status == 0 ? ms / 2 : ms + 50;
    }
    REQUIRE(killed.status == 128 + SIGKILL);
    CHECK(fs::exists(out / (c.name + ".lock")));
    std::string text;
    REQUIRE_MESSAGE(run_shell(run + " --resume", &text) == 0, text);
    CHECK(read_text(out / c.name) == reference);
  }
}
