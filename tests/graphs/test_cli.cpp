#include <doctest/doctest.h>

#include "support/test_support.hpp"

using rasterflow::test::run_cli;

TEST_CASE("Cli.Version") {
  std::string out;
  CHECK(run_cli("--version", &out) == 0);
  CHECK(out.find("rasterflow 0.") != std::string::npos);
}

TEST_CASE("Cli.ExitCodes.BadUsageIsTwo") {
  std::string out;
  CHECK(run_cli("frobnicate", &out) == 2);
  CHECK(run_cli("run", &out) == 2);
  CHECK(run_cli("run /nonexistent/graph.json", &out) == 2);
  CHECK(out.find("/nonexistent/graph.json: cannot read the graph file (no such file)") != std::string::npos);
  CHECK(run_cli("sample-data /tmp/x --size huge", &out) == 2);
}

TEST_CASE("Cli.DemoGraph.RunsOnSampleData" * doctest::timeout(120)) {
  rasterflow::test::TempDir dir;
  std::string out;
  // The demo graph reads ../sample_data relative to its folder.
  rasterflow::test::make_demo_project(dir);
  CHECK(run_cli("validate " + (dir / "graphs/demo.json").string(), &out) == 0);
  CHECK(run_cli("plan " + (dir / "graphs/demo.json").string(), &out) == 0);
  CHECK(out.find("grid: EPSG:4326, 200 x 100 cells") != std::string::npos);
  CHECK(
      run_cli("run " + (dir / "graphs/demo.json").string() + " --output-dir " + (dir / "out").string() + " --threads 2",
              &out) == 0);
  CHECK(out.find("wrote " + (dir / "out/merged.csv").string()) != std::string::npos);
  CHECK(std::filesystem::exists(dir / "out/merged.csv"));
  // A bad override is a usage error naming the key.
  CHECK(run_cli("run " + (dir / "graphs/demo.json").string() + " --set merge.chunk_sise=3", &out) == 2);
  CHECK(out.find("unknown key \"merge.chunk_sise\"") != std::string::npos);
  CHECK(run_cli("run " + (dir / "graphs/demo.json").string() + " --set nodes.temperature.method=avg", &out) == 2);
  CHECK(out.find("node \"temperature\" (resample): option \"method\": unknown value \"avg\"") != std::string::npos);
  CHECK(run_cli("run " + (dir / "graphs/demo.json").string() + " --memory-limit 12 parsecs", &out) == 2);
}

TEST_CASE("Cli.Plan.JsonAndDot" * doctest::timeout(120)) {
  rasterflow::test::TempDir dir;
  std::string out;
  rasterflow::test::make_demo_project(dir);
  const std::string graph = (dir / "graphs/demo.json").string();
  REQUIRE(run_cli("plan " + graph + " --format json", &out) == 0);
  CHECK(out.find("\"graph\":\"demo_climate_merge\"") != std::string::npos);
  CHECK(out.find("\"width\":200") != std::string::npos);
  CHECK(out.find("\"id\":\"temperature\",\"type\":\"resample\",\"inputs\":[\"temperature_src\"]") != std::string::npos);
  CHECK(out.find("\"method\":\"average\"") != std::string::npos);
  CHECK(out.find("\"export\":\"streaming\"") != std::string::npos);
  REQUIRE(run_cli("plan " + graph + " --format dot", &out) == 0);
  CHECK(out.rfind("digraph \"demo_climate_merge\" {", 0) == 0);
  CHECK(out.find("\"temperature_src\" -> \"temperature\";") != std::string::npos);
  CHECK(out.find("\"temperature\", \"elevation\"") == std::string::npos);
  CHECK(out.find("\"merged\" -> \"table\";") != std::string::npos);
  CHECK(out.find("method=average") != std::string::npos);
  CHECK(out.find("grid EPSG:4326, 200 x 100 cells") != std::string::npos);
  CHECK(out.substr(out.size() - 2) == "}\n");
}

TEST_CASE("Cli.Progress.TerminalBarAndLogLines" * doctest::timeout(120)) {
  rasterflow::test::TempDir dir;
  std::string out;
  rasterflow::test::make_demo_project(dir);
  const std::string run = std::string(RASTERFLOW_CLI) + " run " + (dir / "graphs/demo.json").string() +
                          " --output-dir " + (dir / "o").string() + " --set metrics.backend=none";
  // Through a pseudo-terminal (script(1)): the refreshed bar, carriage returns, the final 100%.
  FILE* pipe = ::popen(("script -qfec '" + run + "' /dev/null 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string tty;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) tty.append(buf, n);
  CHECK(::pclose(pipe) == 0);
  CHECK(tty.find("\r100.0% 20000/20000 cells") != std::string::npos);
  CHECK(tty.find("memory normal, window 2048") != std::string::npos);
  // Not a terminal: plain log lines, no carriage returns.
  CHECK(run_cli("run " + (dir / "graphs/demo.json").string() + " --output-dir " + (dir / "o").string() +
                    " --set metrics.backend=none",
                &out) == 0);
  CHECK(out.find("progress: 100.0% 20000/20000 cells") != std::string::npos);
  CHECK(out.find('\r') == std::string::npos);
  // Forced either way.
  CHECK(run_cli("run " + (dir / "graphs/demo.json").string() + " --output-dir " + (dir / "o").string() +
                    " --set metrics.backend=none --progress never",
                &out) == 0);
  CHECK(out.find("progress") == std::string::npos);
  CHECK(run_cli("run " + (dir / "graphs/demo.json").string() + " --output-dir " + (dir / "o").string() +
                    " --set metrics.backend=none --progress always",
                &out) == 0);
  CHECK(out.find("\r100.0%") != std::string::npos);
}

TEST_CASE("Cli.Nodes.ListsEveryTypeWithItsOptions") {
  std::string out;
  REQUIRE(run_cli("nodes", &out) == 0);
  for (const char* type : {"raster_source:", "resample:", "merge:", "csv_sink:"})
    CHECK(out.find(type) != std::string::npos);
  CHECK(out.find("inputs: 1 (source, from raster_source)") != std::string::npos);
  CHECK(out.find("band                  integer, list or \"all\", default 1") != std::string::npos);
  CHECK(out.find("path                  input path, required") != std::string::npos);
  CHECK(out.find("drop            string, default \"all_nodata\"; one of: all_nodata, any_nodata, none") !=
        std::string::npos);
  CHECK(out.find("columns         list of strings, optional") != std::string::npos);
  CHECK(out.find("path               output path, required") != std::string::npos);  // csv_sink's
  for (const char* type : {"raster_sink:", "postgres_sink:"}) CHECK(out.find(type) != std::string::npos);
  REQUIRE(run_cli("nodes resample", &out) == 0);
  CHECK(out.rfind("resample: Resamples one raster_source", 0) == 0);
  CHECK(out.find("method          string, default \"nearest\"; one of: nearest, bilinear, cubic, average,") !=
        std::string::npos);
  CHECK(out.find("implementation  string, default \"auto\"; one of: auto, fast, warper") != std::string::npos);
  CHECK(out.find("gdalwarp resampling method") != std::string::npos);
  CHECK(out.find("notes:") != std::string::npos);
  CHECK(out.find("csv_sink") == std::string::npos);
}

TEST_CASE("Cli.Nodes.UnknownTypeIsTwoWithSuggestion") {
  std::string out;
  CHECK(run_cli("nodes resampel", &out) == 2);
  CHECK(out.find("nodes: unknown node type \"resampel\" (did you mean \"resample\"?) (known: raster_source, resample, "
                 "merge, csv_sink, parquet_sink, postgres_sink, raster_sink)") != std::string::npos);
  CHECK(run_cli("nodes resampel --markdown", &out) == 2);
}

TEST_CASE("Cli.Nodes.MarkdownMatchesDocs") {
  // docs/nodes.md is generated: it must be exactly what `rasterflow nodes --markdown` prints.
  std::string out;
  REQUIRE(run_cli("nodes --markdown", &out) == 0);
  const std::string committed = rasterflow::test::read_text(std::string(RASTERFLOW_SOURCE_DIR) + "/docs/nodes.md");
  std::size_t line = 1;
  for (std::size_t i = 0; i < std::min(out.size(), committed.size()) && out[i] == committed[i]; ++i)
    line += out[i] == '\n';
  const bool same = out == committed;
  CHECK_MESSAGE(same, "docs/nodes.md differs from `rasterflow nodes --markdown` from line "
                          << line << "; regenerate it with: build/rasterflow nodes --markdown > docs/nodes.md");
  REQUIRE(run_cli("nodes merge --markdown", &out) == 0);
  CHECK(out.rfind("## `merge`\n", 0) == 0);
  CHECK(committed.find(out) != std::string::npos);
}

TEST_CASE("Cli.Plan.MemoryLimitSource" * doctest::timeout(120)) {
  // The plan (text and JSON) and the run's first line say which limit applies and where it came from.
  rasterflow::test::TempDir dir;
  const std::string graph = rasterflow::test::make_demo_project(dir);
  const std::string cli =
      std::string("env -u SLURM_MEM_PER_NODE -u SLURM_MEM_PER_CPU -u SLURM_CPUS_ON_NODE ") + "-u SLURM_CPUS_PER_TASK ";
  std::string out;
  REQUIRE(rasterflow::test::run_shell(cli + "SLURM_MEM_PER_NODE=300 " + RASTERFLOW_CLI + " plan " + graph, &out) == 0);
  // SLURM's accounting counts the job's other processes: 16 MiB (or 1%) is kept for them (#33).
  CHECK(out.find("memory: limit 284.0 MiB (SLURM_MEM_PER_NODE=300 MiB less 16.0 MiB for the job's other processes "
                 "(batch shell, srun))") != std::string::npos);
  // 2 x 150 MiB: room for the demo's plan under ASan too (its process alone holds 95 MiB there).
  REQUIRE(rasterflow::test::run_shell(cli + "SLURM_MEM_PER_CPU=150 SLURM_CPUS_ON_NODE=2 " + RASTERFLOW_CLI + " plan " +
                                          graph + " --format json",
                                      &out) == 0);
  CHECK(out.find("\"limit\":297795584,\"limit_source\":\"SLURM_MEM_PER_CPU=150 MiB x SLURM_CPUS_ON_NODE=2 less 16.0 "
                 "MiB for the job's other processes (batch shell, srun)\"") != std::string::npos);
  // Without SLURM: the machine, the cgroup or RLIMIT_AS, never "auto".
  REQUIRE(rasterflow::test::run_shell(cli + RASTERFLOW_CLI + " plan " + graph, &out) == 0);
  CHECK(out.find("(auto)") == std::string::npos);
  CHECK((out.find("(machine (MemTotal))") != std::string::npos || out.find("(cgroup v") != std::string::npos ||
         out.find("(RLIMIT_AS)") != std::string::npos));
  // The configuration's limit names its key or option; the run's first line says the same.
  REQUIRE(run_cli("plan " + graph + " --set memory.limit=1GiB", &out) == 0);
  CHECK(out.find("memory: limit 1.0 GiB (memory.limit)") != std::string::npos);
  REQUIRE(run_cli("run " + graph + " --output-dir " + (dir / "o").string() +
                      " --memory-limit 900MiB --set metrics.backend=none --progress never",
                  &out) == 0);
  CHECK(out.find("memory limit 900.0 MiB (--memory-limit)") != std::string::npos);
  REQUIRE(rasterflow::test::run_shell(cli + "SLURM_MEM_PER_NODE=2G " + RASTERFLOW_CLI + " run " + graph +
                                          " --output-dir " + (dir / "o").string() +
                                          " --set metrics.backend=none --progress never",
                                      &out) == 0);
  CHECK(out.find("memory limit 2.0 GiB (SLURM_MEM_PER_NODE=2G less 20.5 MiB for the job's other processes") !=
        std::string::npos);
}

TEST_CASE("Cli.Plan.TakesTheRunOptionsThatShapeAPlan" * doctest::timeout(120)) {
  // `plan` takes --memory-limit, --threads, --streaming and --in-memory as `run` does (each
  // declared once for both), and plans what that run would do.
  rasterflow::test::TempDir dir;
  const std::string graph = rasterflow::test::make_demo_project(dir);
  std::string out;
  REQUIRE(run_cli("plan " + graph + " --memory-limit 900MiB --threads 1 --in-memory", &out) == 0);
  CHECK(out.find("memory: limit 900.0 MiB (--memory-limit)") != std::string::npos);
  CHECK(out.find("1 thread (--threads)") != std::string::npos);
  CHECK(out.find("export: in-memory") != std::string::npos);
  REQUIRE(run_cli("plan " + graph + " --streaming --format json", &out) == 0);
  CHECK(out.find("\"export\":\"streaming\"") != std::string::npos);
  // As for run: the two modes exclude each other, and a limit below the graph's need is refused.
  CHECK(run_cli("plan " + graph + " --streaming --in-memory", &out) == 2);
  CHECK(out.find("--streaming and --in-memory exclude each other") != std::string::npos);
  CHECK(run_cli("plan " + graph + " --memory-limit 16MiB", &out) != 0);
  CHECK(out.find("is too small for this graph") != std::string::npos);
}
