// The catalogue of bad inputs (docs/bad-input.md, "Bad input"): each gets its exit code, a
// message naming the file, node and field, and leaves no file under the final name.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "app/sample_data.hpp"
#include "rasterflow/metrics.hpp"
#include "support/test_support.hpp"

using namespace rasterflow;

namespace {

std::string graph_with(const std::string& t_path = "data/temperature.tif", const std::string& extra_t = "",
                       const std::string& grid = R"({"resolution": 0.05})", const std::string& out = "out.csv") {
  return R"({"grid": )" + grid + R"(, "nodes": [
    {"id": "t_src", "type": "raster_source", "path": ")" +
         t_path + "\"" + extra_t + R"(},
    {"id": "e_src", "type": "raster_source", "path": "data/elevation.tif"},
    {"id": "temperature", "type": "resample", "inputs": ["t_src"], "method": "average"},
    {"id": "elevation", "type": "resample", "inputs": ["e_src"], "method": "max"},
    {"id": "m", "type": "merge", "inputs": ["temperature", "elevation"]},
    {"id": "table", "type": "csv_sink", "inputs": ["m"], "path": ")" +
         out + R"("}]})";
}

struct Case {
  test::TempDir dir;
  Case() { app::generate_sample_data(dir / "data", "small"); }
  // Runs `rasterflow run` on `graph` (+ args); returns the exit code and fills `out`.
  int run(const std::string& graph, const std::string& args, std::string& out) {
    test::write_text(dir / "graph.json", graph);
    return test::run_cli("run " + (dir / "graph.json").string() + " --output-dir " + (dir / "o").string() +
                             " --set metrics.backend=none " + args,
                         &out);
  }
  bool no_output() const {
    return !std::filesystem::exists(dir / "o/out.csv") && !std::filesystem::exists(dir / "o/out.csv.partial");
  }
};

#define EXPECT_REFUSED(code, graph, args, ...)                                      \
  do {                                                                              \
    std::string out_;                                                               \
    CHECK(c.run(graph, args, out_) == (code));                                      \
    for (const char* word : {__VA_ARGS__})                                          \
      CHECK_MESSAGE(out_.find(word) != std::string::npos, word << " in: " << out_); \
    CHECK(c.no_output());                                                           \
  } while (0)

}  // namespace

TEST_CASE("Catalogue.Sources" * doctest::timeout(120)) {
  Case c;
  EXPECT_REFUSED(2, graph_with("data/nope.tif"), "",
                 "graph.json: node \"t_src\" (raster_source): option \"path\": no such file");
  test::write_text(c.dir / "data/garbage.tif", "this is not a raster\n");
  EXPECT_REFUSED(2, graph_with("data/garbage.tif"), "", "node \"t_src\"", "option \"path\": GDAL cannot open");
  EXPECT_REFUSED(2, graph_with("data"), "", "node \"t_src\"", "is a folder");
  EXPECT_REFUSED(2, graph_with("data/temperature.tif", R"(, "band": 4)"), "", "node \"t_src\"",
                 "option \"band\": band 4 does not exist");
  EXPECT_REFUSED(2, graph_with("data/temperature.tif", R"(, "band": "two")"), "",
                 "option \"band\": expected an integer >= 1, a list of them or \"all\", got a string");
  EXPECT_REFUSED(2, graph_with("/vsicurl/http://example.com/t.tif"), "", "node \"t_src\"", "refused by default",
                 "engine.allow_vsi");
}

TEST_CASE("Catalogue.CorruptBlockMidRun" * doctest::timeout(120)) {
  Case c;
  // Overwrite a stretch in the middle of the compressed tiles: the header still opens, a block
  // fails to decode while running.
  const auto tif = c.dir / "data/temperature.tif";
  const auto size = std::filesystem::file_size(tif);
  {
    std::fstream f(tif, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size / 2));
    const std::string junk(size / 5, '\xAB');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  std::string out;
  CHECK(c.run(graph_with(), "", out) == 1);
  CHECK(out.find("node \"t_src\" (raster_source)") != std::string::npos);
  CHECK(out.find("temperature.tif") != std::string::npos);
  CHECK(c.no_output());
}

TEST_CASE("Catalogue.Grids" * doctest::timeout(120)) {
  Case c;
  test::RasterSpec spec{.width = 4, .height = 4, .gt = {0.0, 1.0, 0.0, 44.0, 0.0, -1.0}, .crs = ""};
  test::write_raster(c.dir / "data/nocrs.tif", spec, {std::vector<double>(16, 1.0)});
  EXPECT_REFUSED(2, graph_with("data/nocrs.tif", "", R"({"crs": "EPSG:4326", "resolution": 0.05})"), "",
                 "node \"t_src\"", "has no CRS");
  spec.crs = "IAU_2015:49900";
  test::write_raster(c.dir / "data/mars.tif", spec, {std::vector<double>(16, 1.0)});
  EXPECT_REFUSED(2, graph_with("data/mars.tif", "", R"({"crs": "EPSG:4326", "resolution": 0.05})"), "",
                 "node \"t_src\"", "cannot transform");
  spec.crs = "EPSG:4326";
  spec.gt = {100.0, 1.0, 0.0, 4.0, 0.0, -1.0};
  test::write_raster(c.dir / "data/far.tif", spec, {std::vector<double>(16, 1.0)});
  EXPECT_REFUSED(2, graph_with("data/far.tif"), "", "grid: field \"extent\": the sources do not overlap");
  EXPECT_REFUSED(2, graph_with("data/temperature.tif", "", R"({"resolution": 0.0000001})"), "", "more than 2^40");
  EXPECT_REFUSED(2, graph_with("data/temperature.tif", "", R"({"resolution": 0})"), "",
                 "field \"resolution\": must be greater than 0");
  EXPECT_REFUSED(2, graph_with("data/temperature.tif", "", R"({"resolution": -0.5})"), "", "must be greater than 0");
  EXPECT_REFUSED(2, graph_with("data/temperature.tif", "", R"({"resolution": 0.05, "extent": [5, 5, 5, 6]})"), "",
                 "xmin < xmax");
}

TEST_CASE("Catalogue.GraphStructure" * doctest::timeout(120)) {
  Case c;
  EXPECT_REFUSED(2, "{\n  \"nodes\": [\n    {\"id\": \"a\",, }\n  ]\n}", "", "graph.json:3:", "invalid JSON");
  std::string g = graph_with();
  const auto swap = [&](const std::string& from, const std::string& to) {
    std::string s = g;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  EXPECT_REFUSED(2, swap("\"type\": \"merge\"", "\"type\": \"merj\""), "", "node \"m\"", "unknown node type \"merj\"",
                 "did you mean \"merge\"");
  EXPECT_REFUSED(2, swap("\"method\": \"average\"", "\"metod\": \"average\""), "",
                 "node \"temperature\" (resample): unknown option \"metod\"", "did you mean \"method\"");
  EXPECT_REFUSED(2, swap("\"inputs\": [\"temperature\", \"elevation\"]", "\"inputs\": [\"temperature\", \"elevaton\"]"),
                 "", "node \"m\" (merge): field \"inputs\": no node with id \"elevaton\"",
                 "did you mean \"elevation\"");
  EXPECT_REFUSED(2, swap("\"id\": \"e_src\"", "\"id\": \"t_src\""), "", "node \"t_src\"", "duplicate id");
  EXPECT_REFUSED(2, swap("\"inputs\": [\"m\"], ", ""), "",
                 "node \"table\" (csv_sink): field \"inputs\": 0 given, expected 1");
  EXPECT_REFUSED(2, swap("\"inputs\": [\"t_src\"]", "\"inputs\": [\"temperature\"]"), "", "node \"temperature\"",
                 "own input (cycle)");
}

TEST_CASE("Catalogue.Outputs" * doctest::timeout(120)) {
  Case c;
  std::string out;
  test::write_text(c.dir / "afile", "x");
  CHECK(test::run_cli("run " + (c.dir / "graph.json").string() + " --output-dir " + (c.dir / "afile/sub").string(),
                      &out) == 2);
  EXPECT_REFUSED(2, graph_with("data/temperature.tif", "", R"({"resolution": 0.05})", "missing/out.csv"), "",
                 "node \"table\" (csv_sink)", "option \"path\": the output folder", "does not exist");
  EXPECT_REFUSED(
      2, graph_with("data/temperature.tif", "", R"({"resolution": 0.05})", (c.dir / "data/temperature.tif").string()),
      "", "node \"table\" (csv_sink)", "refusing to overwrite an input");
  CHECK(std::filesystem::file_size(c.dir / "data/temperature.tif") > 1000);
}

TEST_CASE("Catalogue.Configuration" * doctest::timeout(120)) {
  Case c;
  const auto with_config = [&](const std::string& yaml) {
    test::write_text(c.dir / "config.yml", yaml);
    return "--config " + (c.dir / "config.yml").string();
  };
  EXPECT_REFUSED(2, graph_with(), with_config("memory:\n  limit: [1G\n"), "config.yml:", "invalid YAML");
  EXPECT_REFUSED(2, graph_with(), with_config("memory:\n  limt: 1G\n"), "config.yml:2", "unknown key \"memory.limt\"",
                 "did you mean");
  EXPECT_REFUSED(2, graph_with(), with_config("memory:\n  warning_threshold: 0.95\n"),
                 "must be below memory.critical_threshold");
  EXPECT_REFUSED(2, graph_with(), with_config("memory:\n  critical_threshold: 1.2\n"), "\"memory.critical_threshold\"",
                 "(0, 1]");
  EXPECT_REFUSED(2, graph_with(), with_config("memory:\n  warning_threshold: 0\n"), "\"memory.warning_threshold\"");
  EXPECT_REFUSED(2, graph_with(), "--memory-limit 12parsecs", "memory.limit", "invalid value \"12parsecs\"");
  EXPECT_REFUSED(2, graph_with(), "--set memory.limit=-3G", "memory.limit");
  EXPECT_REFUSED(2, graph_with(), "--database mysql://u:secret@h/db", "not a PostgreSQL URL");
  EXPECT_REFUSED(2, graph_with(),
                 "--database postgresql://postgres@/postgres?host=/nonexistent-dir --set metrics.required=true",
                 "metrics.required", "unreachable");
}

TEST_CASE("Reliability.DiskFullRemovesThePartialFile" * doctest::timeout(120)) {
  Case c;
  std::filesystem::create_directories(c.dir / "o");
  // The partial file is a link to /dev/full: every write fails with ENOSPC.
  std::filesystem::create_symlink("/dev/full", c.dir / "o/out.csv.partial");
  std::string out;
  CHECK(c.run(graph_with(), "", out) == 1);
  CHECK(out.find("node \"table\" (csv_sink)") != std::string::npos);
  CHECK(out.find("No space left on device") != std::string::npos);
  CHECK(c.no_output());
}

namespace {
// Starts the CLI on a long run, sends `sig` after `after`, returns the exit status.
// `checkpoint`: "0" runs without checkpoints (an interrupted run then leaves nothing behind).
int run_and_signal(Case& c, int sig, std::chrono::milliseconds after, const std::string& checkpoint = "5") {
  test::write_text(c.dir / "graph.json", graph_with("data/temperature.tif", "", R"({"resolution": 0.001})"));
  const pid_t pid = ::fork();
  if (pid == 0) {
    const std::string graph = (c.dir / "graph.json").string(), out = (c.dir / "o").string();
    const std::string db = "metrics.sqlite_path=" + (c.dir / "m.sqlite").string();
    const std::string interval = "checkpoint.interval_s=" + checkpoint;
    ::execl(RASTERFLOW_CLI, RASTERFLOW_CLI, "run", graph.c_str(), "--output-dir", out.c_str(), "--set", db.c_str(),
            "--set", interval.c_str(), "--log-level", "error", "--threads", "1", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::this_thread::sleep_for(after);
  ::kill(pid, sig);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
}  // namespace

TEST_CASE("Reliability.SigintAndSigtermCancelCleanly" * doctest::timeout(180)) {
  for (const int sig : {SIGINT, SIGTERM}) {
    Case c;
    CHECK(run_and_signal(c, sig, std::chrono::milliseconds(1500), "0") == 130);
    CHECK(c.no_output());
    auto db = open_sqlite_metrics(c.dir / "m.sqlite");
    const QueryResult r = db->query("SELECT status, error FROM experiments ORDER BY id DESC LIMIT 1", {});
    REQUIRE(r.rows.size() == 1);
    CHECK(r.rows[0][0].value() == "interrupted");
    const QueryResult rows = db->query("SELECT COUNT(*) FROM pipeline_metrics", {});
    CHECK(std::stoi(rows.rows[0][0].value()) >= 1);  // flushed before exiting
  }
}

TEST_CASE("Reliability.SigkillLeavesNoFinalFile" * doctest::timeout(180)) {
  Case c;
  CHECK(run_and_signal(c, SIGKILL, std::chrono::milliseconds(1500)) == 128 + SIGKILL);
  CHECK_FALSE(std::filesystem::exists(c.dir / "o/out.csv"));
}
