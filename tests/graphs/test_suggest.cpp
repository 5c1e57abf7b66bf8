// `rasterflow metrics --suggest` (issue #21): the next job's size from the runs of the same graph.
#include <doctest/doctest.h>

#include <sqlite3.h>
#include <cmath>

#include "support/test_support.hpp"

TEST_CASE("Metrics.Suggest.FromRunsOfTheSameGraph" * doctest::timeout(180)) {
  rasterflow::test::TempDir dir;
  const std::string graph = rasterflow::test::make_demo_project(dir);
  const std::string out = (dir / "o").string();
  const std::string db = (dir / "o/rasterflow_metrics.sqlite").string();
  std::string text;
  // Two runs of the demo graph (1 and 2 threads) and one of another graph into the same database.
  REQUIRE(rasterflow::test::run_cli("run " + graph + " --output-dir " + out + " --threads 1 --progress never", &text) ==
          0);
  REQUIRE(rasterflow::test::run_cli("run " + graph + " --output-dir " + out + " --threads 2 --progress never", &text) ==
          0);
  std::string other = rasterflow::test::read_text(graph);
  other.replace(other.find("\"average\" }"), 11, "\"max\" }");
  rasterflow::test::write_text(dir / "graphs/other.json", other);
  REQUIRE(rasterflow::test::run_cli(
              "run " + (dir / "graphs/other.json").string() + " --output-dir " + out + " --threads 2 --progress never",
              &text) == 0);
  // Of the demo graph's experiment 2: runs 1 and 2 only.
  REQUIRE(rasterflow::test::run_cli("metrics --sqlite " + db + " --experiment 2 --suggest", &text) == 0);
  INFO(text);
  CHECK(text.find("suggestion from 2 successful runs of the graph of experiment 2 (\"demo_climate_merge\"") !=
        std::string::npos);
  // Memory: the highest recorded peak plus 25%, in MiB as sbatch --mem reads it.
  sqlite3* conn = nullptr;
  REQUIRE(sqlite3_open_v2(db.c_str(), &conn, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(conn,
                             "SELECT MAX(metric_value) FROM pipeline_metrics WHERE metric_type = 'run' AND "
                             "metric_name = 'peak_rss_gb' AND experiment_id IN (1, 2)",
                             -1, &stmt, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  const double peak_gb = sqlite3_column_double(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(conn);
  REQUIRE(peak_gb > 0);
  // ... plus the 16 MiB headroom rasterflow keeps for the job's other processes under SLURM.
  const auto mib = static_cast<long long>(std::ceil(peak_gb * 1024.0 * 1.25 + 16.0));
  CHECK(text.find("#SBATCH --mem=" + std::to_string(mib) + "M") != std::string::npos);
  CHECK(text.find("ns per input pixel") != std::string::npos);
  // Seconds of work: with 50% to spare, the signal's lead (60 s) and the 60 s SLURM may deliver
  // a --signal early on top, three minutes; the signal comes at least a minute after the end.
  CHECK(text.find("#SBATCH --time=0:03:00") != std::string::npos);
  CHECK(text.find("#SBATCH --signal=B:TERM@60 (--signal=TERM@60 under srun/MPI)") != std::string::npos);
  CHECK(text.find("up to 60 s early") != std::string::npos);
  CHECK(text.find("#SBATCH --cpus-per-task=") != std::string::npos);
  // The other graph's experiment counts alone.
  REQUIRE(rasterflow::test::run_cli("metrics --sqlite " + db + " --experiment 3 --suggest", &text) == 0);
  CHECK(text.find("suggestion from 1 successful run of the graph of experiment 3") != std::string::npos);
  CHECK(rasterflow::test::run_cli("metrics --sqlite " + db + " --experiment 9 --suggest", &text) == 2);
  CHECK(text.find("no experiment 9") != std::string::npos);
}
