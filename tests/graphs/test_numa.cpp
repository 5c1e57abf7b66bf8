#include <doctest/doctest.h>

#include <stdlib.h>

#include <filesystem>

#include "support/test_support.hpp"

using rasterflow::test::run_cli;

namespace {
// Runs the CLI with hwloc (and through it TBB's tbbbind) seeing `synthetic` instead of this
// machine. Binding does nothing on such a topology, but arenas, tile routing, per-domain pools
// and the gathering sink all run as they would on that many NUMA nodes.
int run_with_topology(const std::string& synthetic, const std::string& args, std::string* out) {
  if (!synthetic.empty()) ::setenv("HWLOC_SYNTHETIC", synthetic.c_str(), 1);
  const int code = run_cli(args, out);
  ::unsetenv("HWLOC_SYNTHETIC");
  return code;
}

}  // namespace

TEST_CASE("Numa.SyntheticNodes.CsvIdenticalWithPlacementOnAndOff" * doctest::timeout(240)) {
  rasterflow::test::TempDir dir;
  std::string out;
  const std::string graph = rasterflow::test::make_demo_project(dir);
  // Small tiles, so every domain gets many.
  const std::string common = " --set merge.chunk_size=4";

  REQUIRE(run_with_topology(
              "", "run " + graph + common + " --threads 2 --set engine.numa=off --output-dir " + (dir / "off").string(),
              &out) == 0);
  CHECK(out.find("NUMA placement off (engine.numa: off)") != std::string::npos);
  const std::string reference = rasterflow::test::read_text(dir / "off/merged.csv");
  REQUIRE(reference.size() > 1000);

  struct Case {
    const char* topology;
    int threads;
    const char* expect;
    const char* export_mode;
  };
  const Case cases[] = {
      {"pack:2 numa:1 core:1 pu:1", 2, "NUMA placement on, 2 domains (node 0: 1 thread, node 1: 1 thread)",
       "--streaming"},
      {"pack:3 numa:1 core:2 pu:1", 3, "NUMA placement on, 3 domains", "--streaming"},
      {"pack:2 numa:2 core:2 pu:1", 4, "NUMA placement on, 4 domains", "--in-memory"},
  };
  for (const auto& c : cases) {
    const std::string outdir = (dir / ("on" + std::to_string(c.threads))).string();
    const int code = run_with_topology(c.topology,
                                       "run " + graph + common + " --threads " + std::to_string(c.threads) + " " +
                                           c.export_mode + " --output-dir " + outdir,
                                       &out);
    REQUIRE_MESSAGE(code == 0, out);
    CHECK_MESSAGE(out.find(c.expect) != std::string::npos, out);
    // The fallbacks are logged (once each) and the run goes on.
#ifdef RASTERFLOW_SANITIZED
    CHECK(out.find("(libtbbbind missing?): one arena per node, not pinned") != std::string::npos);
#else
    CHECK(out.find("is not this machine: arenas are not pinned") != std::string::npos);
#endif
    // Every domain ran tiles.
    const auto at = out.find("tiles per domain ");
    REQUIRE(at != std::string::npos);
    const std::string counts = out.substr(at + 17, out.find('\n', at) - at - 17);
    CHECK_MESSAGE(counts.find("/0") == std::string::npos, counts);
    CHECK_MESSAGE(counts.rfind("0/", 0) != 0, counts);
    CHECK_MESSAGE(rasterflow::test::read_text(outdir + "/merged.csv") == reference, c.topology);
    // The metrics record the topology and the placement.
    CHECK(rasterflow::test::sqlite_number(
              outdir + "/rasterflow_metrics.sqlite",
              "SELECT count(*) FROM pipeline_metrics WHERE metric_type='topology' AND metric_value=" +
                  std::to_string(c.threads == 4 ? 4 : c.threads) +
                  " AND json_extract(metadata, '$.placement.active') = 1") == 1);
  }
  // The plan shows the placement and its fallbacks.
  REQUIRE(run_with_topology("pack:2 numa:1 core:1 pu:1", "plan " + graph + " --set engine.threads=2", &out) == 0);
  CHECK(out.find("topology: 2 packages, 2 NUMA nodes, 2 cores, 2 hardware threads (HWLOC_SYNTHETIC=pack:2 numa:1 "
                 "core:1 pu:1)") != std::string::npos);
  CHECK(out.find("    fallback: topology from HWLOC_SYNTHETIC=pack:2 numa:1 core:1 pu:1 is not this machine: tile "
                 "buffers are not bound") != std::string::npos);
  REQUIRE(run_with_topology("pack:2 numa:1 core:1 pu:1", "plan " + graph + " --set engine.threads=2 --format json",
                            &out) == 0);
  CHECK(out.find(R"("placement":{"mode":"auto","active":true)") != std::string::npos);
}

TEST_CASE("Numa.FailureOnOneDomain.NoFinalFile" * doctest::timeout(120)) {
  // A source that fails halfway: its tiles fail on whichever domain runs them; every graph is
  // drained, and nothing is left under the final name.
  rasterflow::test::TempDir dir;
  std::string out;
  rasterflow::test::make_demo_project(dir);
  // Truncate the temperature raster: its header still opens, its later blocks cannot be read.
  const auto tif = dir / "sample_data/temperature.tif";
  std::filesystem::resize_file(tif, std::filesystem::file_size(tif) / 2);
  const int code = run_with_topology("pack:2 numa:1 core:1 pu:1",
                                     "run " + (dir / "graphs/demo.json").string() +
                                         " --threads 2 --set merge.chunk_size=4 --output-dir " + (dir / "out").string(),
                                     &out);
  CHECK(code != 0);
  CHECK(out.find("temperature") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "out/merged.csv"));
  CHECK_FALSE(std::filesystem::exists(dir / "out/merged.csv.partial"));
}
