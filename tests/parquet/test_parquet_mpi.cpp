// parquet_sink under mpirun (Open MPI, 2 and 3 ranks): each rank writes its band's row groups,
// rank 0 the one footer; the file is the bytes of a one-process run (cmp), and DuckDB and
// Arrow's reader agree with the CSV of the same run. Bands begin at a row group.
#include <doctest/doctest.h>

#include <filesystem>
#include <regex>
#include <string>

#include "parquet/parquet_readers.hpp"
#include "support/test_support.hpp"

using rasterflow::test::run_cli;
using rasterflow::test::run_shell;

namespace {

// Two sources with a gap of 8 grid rows between them (all their cells dropped) and the south
// east quarter empty: row groups of 2 grid rows hold 40, 20 or no rows (an empty one is not
// written). 20 x 20 cells of 0.5 degrees.
std::string gapped_graph(const rasterflow::test::TempDir& dir) {
  std::vector<double> north(20 * 6);
  std::vector<double> south(10 * 6);
  for (std::size_t i = 0; i < north.size(); ++i) north[i] = static_cast<double>(i % 17) + 0.25;
  for (std::size_t i = 0; i < south.size(); ++i) south[i] = static_cast<double>(i % 5);
  rasterflow::test::write_raster(dir / "north.tif", {.width = 20, .height = 6, .gt = {0, 0.5, 0, 10, 0, -0.5}},
                                 {north});
  rasterflow::test::write_raster(dir / "south.tif", {.width = 10, .height = 6, .gt = {0, 0.5, 0, 3, 0, -0.5}}, {south});
  rasterflow::test::write_text(dir / "gapped.json", R"({"name":"gapped","grid":{"resolution":0.5,"extent":"union"},
    "nodes":[{"id":"n_src","type":"raster_source","path":"north.tif"},
             {"id":"s_src","type":"raster_source","path":"south.tif"},
             {"id":"n","type":"resample","inputs":["n_src"],"method":"nearest"},
             {"id":"s","type":"resample","inputs":["s_src"],"method":"nearest"},
             {"id":"m","type":"merge","inputs":["n","s"]},
             {"id":"table","type":"csv_sink","inputs":["m"],"path":"merged.csv"},
             {"id":"pq","type":"parquet_sink","inputs":["m"],"path":"merged.parquet","row_group_size":50,
              "geometry":"point","bbox":true}]})");
  return (dir / "gapped.json").string();
}

// Every "band: rows A-B" a run logged begins at a multiple of `rows`; returns how many.
int bands_at_multiples(const std::string& log, int rows) {
  const std::regex band("band: rows ([0-9]+)-([0-9]+)");
  int count = 0;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), band); it != std::sregex_iterator(); ++it) {
    CHECK_MESSAGE(std::stoi((*it)[1]) % rows == 0, it->str());
    ++count;
  }
  return count;
}

}  // namespace

#ifdef RASTERFLOW_MPIEXEC
TEST_CASE("ParquetSink.Mpi.TwoAndThreeRanksSameBytesAsOneProcess" * doctest::timeout(300)) {
  rasterflow::test::TempDir dir;
  // Row groups of 5 grid rows (1000 cells), GeoParquet with its bbox (the extent of all ranks'
  // rows), and the gapped graph whose groups differ in size or are empty.
  const std::string demo =
      rasterflow::test::demo_with_parquet(dir, R"(, "row_group_size": 1000, "geometry": "point", "bbox": true)");
  const std::string gapped = gapped_graph(dir);
  std::string out;
  for (const auto& pair : {std::pair{demo, 5}, std::pair{gapped, 2}}) {
    // Not a structured binding: clang 14 cannot capture one (INFO is a lambda).
    const std::string& graph = pair.first;
    const int multiple = pair.second;
    const auto one = dir / "one";
    std::filesystem::remove_all(one);
    REQUIRE_MESSAGE(run_cli("run " + graph + " --output-dir " + one.string() + " --set merge.chunk_size=3", &out) == 0,
                    out);
    for (const int ranks : {2, 3}) {
      INFO(graph << ", " << ranks << " ranks");
      const auto outdir = dir / ("ranks" + std::to_string(ranks));
      std::filesystem::remove_all(outdir);
      REQUIRE_MESSAGE(run_shell(rasterflow::test::mpirun_rasterflow(ranks) + "run " + graph + " --output-dir " +
                                    outdir.string() + " --set merge.chunk_size=3 --memory-limit 3GiB",
                                &out) == 0,
                      out);
      CHECK(bands_at_multiples(out, multiple) == ranks);
      CHECK_MESSAGE(
          run_shell("cmp " + (one / "merged.parquet").string() + " " + (outdir / "merged.parquet").string(), &out) == 0,
          out);
      if (graph == demo) {
        rasterflow::test::check_demo_run(outdir, ",\"geometry\":true,\"bbox\":true,\"row_groups\":[" +
                                                     std::string("1000,1000,1000,1000,1000,1000,1000,1000,1000,1000,") +
                                                     "1000,1000,1000,1000,1000,1000,1000,1000,1000,1000]");
      } else {
        std::string report;
        CHECK_MESSAGE(rasterflow::test::check_with_readers(
                          outdir / "merged.parquet", outdir / "merged.csv",
                          R"({"types":{"x":["DOUBLE","Float64"],"y":["DOUBLE","Float64"],"n":["FLOAT","Float32"],)"
                          R"("s":["FLOAT","Float32"]},"geometry":true,"bbox":true,)"
                          R"("row_groups":[40,40,40,20,20,20]})",
                          &report) == 0,
                      report);
      }
      // Nothing else is left: no band, no row groups' file, no .partial.
      for (const auto& entry : std::filesystem::directory_iterator(outdir)) {
        const std::string name = entry.path().filename().string();
        CHECK_MESSAGE((name == "merged.csv" || name == "merged.parquet" || name.rfind("rasterflow_metrics", 0) == 0 ||
                       name.ends_with(".spec.json")),
                      name);
      }
    }
  }
}
#endif

TEST_CASE("ParquetSink.Mpi.BandsBeginAtRowGroups") {
  // `plan --ranks`: the bands an MPI run would take begin at multiples of the row groups' 5 grid
  // rows; more ranks than row groups (20) is refused, naming the sink.
  rasterflow::test::TempDir dir;
  const std::string graph = rasterflow::test::demo_with_parquet(dir, R"(, "row_group_size": 1000)");
  std::string out;
  REQUIRE_MESSAGE(run_cli("plan " + graph + " --ranks 3 --set memory.limit=3GiB", &out) == 0, out);
  const std::regex rank("rank [0-9]+: rows ([0-9]+)-");
  int bands = 0;
  for (auto it = std::sregex_iterator(out.begin(), out.end(), rank); it != std::sregex_iterator(); ++it, ++bands)
    CHECK_MESSAGE(std::stoi((*it)[1]) % 5 == 0, it->str());
  CHECK(bands == 3);
  REQUIRE(run_cli("plan " + graph, &out) == 0);
  CHECK_MESSAGE(
      out.find("MPI: each rank's band begins at a row group (a multiple of 5 grid rows)") != std::string::npos, out);
  REQUIRE(run_cli("plan " + graph + " --ranks 20", &out) == 0);
  CHECK(run_cli("plan " + graph + " --ranks 21", &out) == 2);
  CHECK_MESSAGE(
      out.find("21 ranks for a grid of 100 rows whose sinks cut their output every 5 rows (") != std::string::npos,
      out);
  CHECK(out.find("node \"pq\" (parquet_sink): 5 rows") != std::string::npos);
}
