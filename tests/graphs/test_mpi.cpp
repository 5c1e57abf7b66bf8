#include <doctest/doctest.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "rasterflow/graph.hpp"
#include "rasterflow/size.hpp"
#include "support/test_support.hpp"

using rasterflow::test::run_cli;

TEST_CASE("Mpi.Plan.BandsBalancedByWork") {
  rasterflow::test::TempDir dir;
  rasterflow::test::make_demo_project(dir);
  std::string out;
  REQUIRE(run_cli("plan " + (dir / "graphs/demo.json").string() + " --ranks 3 --set memory.limit=3GiB", &out) == 0);
  CHECK(out.find("ranks: 3 bands of rows") != std::string::npos);
  CHECK(out.find("rank 0: rows 0-") != std::string::npos);
  CHECK(out.find("rank 2: rows ") != std::string::npos);
  CHECK(out.find("-99 (") != std::string::npos);  // the last band ends on the grid's last row (100 rows)
  CHECK(out.find("memory per rank: 1.0 GiB if all 3 ranks share this machine") != std::string::npos);
  REQUIRE(run_cli("plan " + (dir / "graphs/demo.json").string() + " --ranks 101", &out) == 2);
  CHECK(out.find("101 ranks for a grid of 100 rows") != std::string::npos);
}

TEST_CASE("Mpi.Bands.FollowInputPixelsNotRows") {
  // A fine raster (100 x 50 pixels) over the northern half of a 10 x 10 degree grid and a coarse
  // one (10 x 10) over all of it: the north holds almost all the input pixels, so with 2 ranks
  // the northern band is the shorter one.
  rasterflow::test::TempDir dir;
  rasterflow::test::RasterSpec fine;
  fine.width = 100;
  fine.height = 50;
  fine.gt = {0, 0.1, 0, 10, 0, -0.1};
  rasterflow::test::write_raster(dir / "fine.tif", fine, {std::vector<double>(5000, 1.0)});
  rasterflow::test::RasterSpec coarse;
  coarse.width = 10;
  coarse.height = 10;
  coarse.gt = {0, 1, 0, 10, 0, -1};
  rasterflow::test::write_raster(dir / "coarse.tif", coarse, {std::vector<double>(100, 2.0)});
  rasterflow::test::write_text(dir / "graph.json", R"({
    "grid": { "resolution": 0.5, "extent": "union" },
    "nodes": [
      { "id": "f_src", "type": "raster_source", "path": "fine.tif" },
      { "id": "c_src", "type": "raster_source", "path": "coarse.tif" },
      { "id": "f", "type": "resample", "inputs": ["f_src"], "method": "average" },
      { "id": "c", "type": "resample", "inputs": ["c_src"], "method": "nearest" },
      { "id": "m", "type": "merge", "inputs": ["f", "c"] },
      { "id": "out", "type": "csv_sink", "inputs": ["m"], "path": "out.csv" } ] })");
  const rasterflow::Config config;
  rasterflow::PlanOptions options;
  options.output_dir = dir.path();
  rasterflow::Pipeline pipeline(rasterflow::load_graph(dir / "graph.json", config), config, options);
  REQUIRE(pipeline.plan().grid.height == 20);
  const auto bands = pipeline.plan().bands(2);
  REQUIRE(bands.size() == 2);
  CHECK(bands[0].row0 == 0);
  CHECK(bands[0].rows + bands[1].rows == 20);
  CHECK(bands[0].rows < 10);  // the north is dearer
  // A northern row reads 20 cells x 25 fine pixels and 20 x 0.25 coarse ones.
  CHECK(bands[0].input_pixels == doctest::Approx(static_cast<double>(bands[0].rows) * 505.0));
  CHECK(bands[0].rows == 6);
  CHECK(bands[0].work == doctest::Approx(bands[1].work).epsilon(0.25));
  const auto many = pipeline.plan().bands(20);
  for (const auto& b : many) CHECK(b.rows == 1);
}

#ifdef RASTERFLOW_MPIEXEC
using rasterflow::test::mpirun_rasterflow;

TEST_CASE("Mpi.TwoAndThreeRanks.SameBytesAsOneProcess" * doctest::timeout(300)) {
  rasterflow::test::TempDir dir;
  const std::string graph = rasterflow::test::make_demo_project(dir);
  std::string out;
  REQUIRE(run_cli("run " + graph + " --output-dir " + (dir / "one").string() + " --set merge.chunk_size=8", &out) == 0);
  const std::string reference = rasterflow::test::read_text(dir / "one/merged.csv");
  REQUIRE(reference.size() > 1000);
  for (const int ranks : {2, 3}) {
    const auto outdir = dir / ("ranks" + std::to_string(ranks));
    const int code = rasterflow::test::run_shell(mpirun_rasterflow(ranks) + "run " + graph + " --output-dir " +
                                                     outdir.string() + " --set merge.chunk_size=8 --memory-limit 3GiB",
                                                 &out);
    REQUIRE_MESSAGE(code == 0, out);
    CHECK_MESSAGE(rasterflow::test::read_text(outdir / "merged.csv") == reference, "ranks=" << ranks);
    CHECK(out.find("from " + std::to_string(ranks) + " ranks") != std::string::npos);
    // Ranks on one node share its memory limit.
    CHECK_MESSAGE(out.find("(" + std::to_string(ranks) + " ranks on this node): memory limit " +
                           (ranks == 2 ? "1.5 GiB" : "1.0 GiB") + " (the node's 3.0 GiB shared)") != std::string::npos,
                  out);
    // Nothing else is left in the folder: no band file, no .partial.
    for (const auto& entry : std::filesystem::directory_iterator(outdir)) {
      const std::string name = entry.path().filename().string();
      CHECK_MESSAGE((name == "merged.csv" || name.rfind("rasterflow_metrics.sqlite", 0) == 0), name);
    }
    // One experiment; every rank's stage rows carry its rank.
    const auto db = outdir / "rasterflow_metrics.sqlite";
    CHECK(rasterflow::test::sqlite_number(db, "SELECT count(*) FROM experiments") == 1);
    CHECK(rasterflow::test::sqlite_number(db, "SELECT count(*) FROM experiments WHERE status = 'succeeded'") == 1);
    CHECK(rasterflow::test::sqlite_number(
              db, "SELECT count(DISTINCT metadata->>'rank') FROM pipeline_metrics WHERE metric_type = 'stage'") ==
          ranks);
    CHECK(rasterflow::test::sqlite_number(db, "SELECT count(DISTINCT rank) FROM v_stage_by_rank") == ranks);
    // The stage summary adds the ranks up: every cell of the grid once.
    CHECK(rasterflow::test::sqlite_number(
              db, "SELECT CAST(cells AS INTEGER) FROM v_stage_summary WHERE stage = 'merged'") == 200 * 100);
    REQUIRE(run_cli("metrics --sqlite " + db.string(), &out) == 0);
    CHECK(out.find("stages by rank (v_stage_by_rank)") != std::string::npos);
    // Every rank records its peak working set, and --suggest sizes a node by the largest.
    CHECK(rasterflow::test::sqlite_number(
              db, "SELECT count(DISTINCT metadata->>'rank') FROM pipeline_metrics WHERE metric_name = 'peak_rss_gb'") ==
          ranks);
    const double largest = rasterflow::test::sqlite_number(
        db,
        "SELECT CAST(MAX(metric_value) * 1073741824 AS INTEGER) FROM pipeline_metrics WHERE metric_name = "
        "'peak_rss_gb'");
    REQUIRE(run_cli("metrics --sqlite " + db.string() + " --suggest", &out) == 0);
    CHECK_MESSAGE(out.find("the largest rank's peak working set " +
                           rasterflow::format_size(static_cast<std::uint64_t>(largest))) != std::string::npos,
                  out);
  }
}

TEST_CASE("Mpi.CompressedCsv.MembersAndFramesConcatenate" * doctest::timeout(300)) {
  rasterflow::test::TempDir dir;
  const std::string graph = rasterflow::test::make_demo_project(dir);
  std::string out;
  REQUIRE(run_cli("run " + graph + " --output-dir " + (dir / "one").string() + " --set merge.chunk_size=8", &out) == 0);
  const std::string reference = rasterflow::test::read_text(dir / "one/merged.csv");
  for (const std::string ext : {"gz", "zst"}) {
    const auto outdir = dir / ("ranks_" + ext);
    const int code =
        rasterflow::test::run_shell(mpirun_rasterflow(2) + "run " + graph + " --output-dir " + outdir.string() +
                                        " --set merge.chunk_size=8 --set nodes.table.path=merged.csv." + ext,
                                    &out);
    REQUIRE_MESSAGE(code == 0, out);
    const auto file = outdir / ("merged.csv." + ext);
    const std::string tool = ext == "gz" ? "zcat" : "zstdcat";
    REQUIRE(rasterflow::test::run_shell(tool + " " + file.string() + " > " + (outdir / "plain.csv").string(), &out) ==
            0);
    CHECK_MESSAGE(rasterflow::test::read_text(outdir / "plain.csv") == reference, ext);
    CHECK(std::filesystem::file_size(file) < reference.size() / 2);
    for (const auto& entry : std::filesystem::directory_iterator(outdir)) {
      const std::string name = entry.path().filename().string();
      CHECK_MESSAGE(
          (name == "merged.csv." + ext || name == "plain.csv" || name.rfind("rasterflow_metrics.sqlite", 0) == 0),
          name);
    }
  }
}

TEST_CASE("Mpi.SetUpError.EveryRankExitsTwoWithoutWaiting" * doctest::timeout(120)) {
  // An error found while setting up (here on every rank) ends the run at once with exit 2:
  // each failing rank tells the others, as a rank failing while running does.
  rasterflow::test::TempDir dir;
  const std::string graph = rasterflow::test::make_demo_project(dir);
  std::string out;
  const int code =
      rasterflow::test::run_shell("timeout 60 " + mpirun_rasterflow(2) + "run " + graph + " --output-dir " +
                                      (dir / "o").string() + " --set nodes.table.path=missing/m.csv",
                                  &out);
  CHECK_MESSAGE(code == 2, out);
  CHECK(out.find("[rank 0] ") != std::string::npos);
  CHECK(out.find(R"(node "table" (csv_sink): option "path": the output folder)") != std::string::npos);
}

TEST_CASE("Mpi.BusyOutput.EveryRankExitsTwo" * doctest::timeout(120)) {
  // Only rank 0 locks the final output: when another writer holds it, rank 0 is refused (exit 2)
  // and the rank that could start exits 2 as well, not 1, so the job's code does not depend on
  // which rank mpirun hears from first. The holder is a POSIX record lock, which conflicts with
  // rasterflow's OFD lock.
  rasterflow::test::TempDir dir;
  const std::string graph = rasterflow::test::make_demo_project(dir);
  std::filesystem::create_directories(dir / "o");
  const std::string lock = (dir / "o" / "merged.csv.lock").string();
  std::string out;
  const int code = rasterflow::test::run_shell(
      "(/usr/bin/python3 -c \"import fcntl, time; f = open('" + lock +
          "', 'w'); fcntl.lockf(f, fcntl.LOCK_EX); time.sleep(20)\" &) ; sleep 1; timeout 60 " + mpirun_rasterflow(2) +
          "run " + graph + " --output-dir " + (dir / "o").string() + " --set metrics.backend=none",
      &out);
  CHECK_MESSAGE(code == 2, out);
  CHECK(out.find("[rank 0] ") != std::string::npos);
  CHECK(out.find("is being written by another run") != std::string::npos);
  CHECK(out.find("rank 1: stopped because rank 0 could not start") != std::string::npos);
  CHECK_MESSAGE(out.find("Exit code:    1") == std::string::npos, out);
  CHECK_FALSE(std::filesystem::exists(dir / "o" / "merged.csv"));
}

TEST_CASE("Mpi.OneRankFails.NoOutputAndTheRankIsNamed" * doctest::timeout(300)) {
  rasterflow::test::TempDir dir;
  rasterflow::test::make_demo_project(dir);
  // The land cover is read through a VRT mosaic of two halves; the southern half is not a
  // raster. GDAL opens the mosaic without opening its parts, so only the rank whose band
  // reaches the south fails, while reading.
  std::string out;
  const std::string data = (dir / "sample_data").string();
  REQUIRE(std::system(
              ("gdal_translate -q -srcwin 0 0 150 75 " + data + "/landcover.tif " + data + "/north.tif").c_str()) == 0);
  std::ofstream(data + "/south.tif") << "this is not a GeoTIFF";
  REQUIRE(std::system(("gdal_translate -q -of VRT " + data + "/landcover.tif " + data + "/mosaic.vrt").c_str()) == 0);
  {
    // Point the VRT's single source at the two halves.
    std::string vrt = rasterflow::test::read_text(data + "/mosaic.vrt");
    const auto open = vrt.find("<SimpleSource>");
    const auto close = vrt.find("</SimpleSource>") + std::string("</SimpleSource>").size();
    REQUIRE(open != std::string::npos);
    const std::string part =
        R"(<SimpleSource><SourceFilename relativeToVRT="1">%s</SourceFilename><SourceBand>1</SourceBand>
      <SrcRect xOff="0" yOff="0" xSize="150" ySize="75"/><DstRect xOff="0" yOff="%d" xSize="150" ySize="75"/></SimpleSource>)";
    char north[512], south[512];
    std::snprintf(north, sizeof north, part.c_str(), "north.tif", 0);
    std::snprintf(south, sizeof south, part.c_str(), "south.tif", 75);
    vrt = vrt.substr(0, open) + north + south + vrt.substr(close);
    rasterflow::test::write_text(data + "/mosaic.vrt", vrt);
  }
  std::string graph = rasterflow::test::read_text(dir / "graphs/demo.json");
  graph.replace(graph.find("landcover.tif"), std::string("landcover.tif").size(), "mosaic.vrt");
  rasterflow::test::write_text(dir / "graphs/mosaic.json", graph);
  const std::string outdir = (dir / "out").string();
  const int code = rasterflow::test::run_shell(mpirun_rasterflow(2) + "run " + (dir / "graphs/mosaic.json").string() +
                                                   " --output-dir " + outdir + " --set merge.chunk_size=4",
                                               &out);
  CHECK(code == 1);
  CHECK_MESSAGE(out.find("[rank 1] ") != std::string::npos, out);
  CHECK_MESSAGE(out.find("rank 1: ") != std::string::npos, out);
  CHECK_MESSAGE(out.find("south.tif") != std::string::npos, out);
  // "failed", or "was interrupted or failed" when rank 0 hears of it while agreeing on checkpoints.
  CHECK_MESSAGE(out.find("stopped because rank 1 ") != std::string::npos, out);
  for (const auto& entry : std::filesystem::directory_iterator(outdir)) {
    const std::string name = entry.path().filename().string();
    CHECK_MESSAGE(name.rfind("merged.csv", 0) != 0, name);  // no final file, no .partial, no band file
  }
  CHECK(rasterflow::test::sqlite_number(std::filesystem::path(outdir) / "rasterflow_metrics.sqlite",
                                        "SELECT count(*) FROM experiments WHERE status = 'failed'") == 1);
}
#else
TEST_CASE("Mpi.NotBuilt.LaunchUnderMpiIsAClearError") {
  ::setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
  std::string out;
  const int code = run_cli("run /nonexistent.json", &out);
  ::unsetenv("OMPI_COMM_WORLD_SIZE");
  CHECK(code == 2);
  CHECK(out.find("built without MPI") != std::string::npos);
}
#endif
