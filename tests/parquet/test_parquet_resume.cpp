// parquet_sink's checkpoint and --resume (issue #32): runs stopped by SIGTERM or SIGKILL at
// random moments, then resumed, write the bytes of a run never stopped, alone and under mpirun
// (each rank resuming its band). The checkpoint keeps the written row groups' metadata; a
// resumed run cuts the partial file back to the last row group recorded and continues there.
#include <doctest/doctest.h>

#include <signal.h>

#include <filesystem>
#include <string>

#include "parquet/parquet_readers.hpp"
#include "support/resume_support.hpp"

namespace fs = std::filesystem;
using namespace rasterflow::test;

namespace {

// The demo graph on the medium data with a parquet_sink beside its csv_sink: row groups of 20
// grid rows of 1200 cells (30 in all).
Project parquet_project() {
  return Project(
      [](std::string& graph) {
        const std::string csv_node = R"("path": "merged.csv" })";
        const auto at = graph.find(csv_node);
        REQUIRE(at != std::string::npos);
        graph.insert(at + csv_node.size(), R"(,
    { "id": "pq", "type": "parquet_sink", "inputs": ["merged"], "path": "merged.parquet",
      "row_group_size": 24000 })");
      },
      "merged.parquet");
}

Output parquet_output() {
  Output output;
  output.name = "merged.parquet";
  output.also = {"merged.csv"};
  return output;
}

}  // namespace

TEST_CASE("ParquetSink.Resume.SigtermAndSigkillAtRandomPoints.SameBytes" * doctest::timeout(300)) {
  Project p = parquet_project();
  // The file every resumed run must equal, read by both readers against the CSV beside it.
  std::string report;
  CHECK_MESSAGE(check_with_readers(p.dir / "ref/merged.parquet", p.dir / "ref/merged.csv",
                                   std::string("{\"types\":{") + kDemoTypes + "}}", &report) == 0,
                report);
  const unsigned seed = test_seed();
  MESSAGE("seed " << seed << " (RASTERFLOW_TEST_SEED=" << seed << " repeats it)");
  const fs::path out = p.dir / "out";
  // Tiles of 8 rows: a checkpoint can be recorded every few tiles, after a row group (the first
  // about 0.2 s after the first checkpoint on an idle 2-core VM, the run ending about 2 s after).
  const std::string run = std::string(RASTERFLOW_CLI) + " run " + p.graph + " --output-dir " + out.string() +
                          " --threads 1 --set merge.chunk_size=8 --set checkpoint.interval_s=0.02 --progress never";
  int resumed_mid_run = 0;
  stop_and_resume(p, run, out, {"merged.csv.checkpoint"}, {{SIGTERM, Target::group}, {SIGKILL, Target::group}}, seed, 1,
                  40, 900, resumed_mid_run, parquet_output());
  stop_and_resume(p, run, out, {"merged.csv.checkpoint"},
                  {{SIGTERM, Target::group, true}, {SIGKILL, Target::group, true}}, seed + 1, 2, 150, 1500,
                  resumed_mid_run, parquet_output());
  CHECK_MESSAGE(resumed_mid_run >= 1, "seed " << seed);
}

#ifdef RASTERFLOW_MPIEXEC
// Under `mpirun -n 2`: the ranks' bands begin at a row group; each rank's checkpoint keeps its
// band's row groups, and the resumed ranks' bands are gathered into the bytes of one process.
TEST_CASE("ParquetSink.Resume.Mpi.TwoRanksResumeTheirBands" * doctest::timeout(300)) {
  Project p = parquet_project();
  const unsigned seed = test_seed();
  MESSAGE("seed " << seed << " (RASTERFLOW_TEST_SEED=" << seed << " repeats it)");
  const fs::path out = p.dir / "out";
  const std::string run = mpirun_rasterflow(2) + "run " + p.graph + " --output-dir " + out.string() +
                          " --threads 1 --set merge.chunk_size=8 --set checkpoint.interval_s=0.02 --progress never";
  int resumed_mid_run = 0;
  stop_and_resume(p, run, out, {"merged.csv.rank0.checkpoint", "merged.csv.rank1.checkpoint"},
                  {{SIGTERM, Target::ranks, true}, {SIGKILL, Target::job, true}}, seed, 2, 150, 1500, resumed_mid_run,
                  parquet_output());
  CHECK_MESSAGE(resumed_mid_run >= 1, "seed " << seed);
}
#endif
