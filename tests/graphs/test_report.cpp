#include <doctest/doctest.h>

#include "app/sample_data.hpp"
#include "rasterflow/report.hpp"
#include "support/test_support.hpp"

using namespace rasterflow;

namespace {
ReportData known_report() {
  ReportData d;
  d.title = "known";
  d.facts = {{"grid", "10 x 10 cells"}};
  d.nodes = {{"src", "raster_source", {}, 0.1, 100, 0.1},
             {"r", "resample", {"src"}, 1.5, 100, 0.2},
             {"m", "merge", {"r"}, 0.2, 100, 0.2},
             {"out", "csv_sink", {"m"}, 0.4, 100, 0.25}};
  for (int i = 0; i <= 20; ++i) {
    d.memory.push_back(
        MemoryPoint{i * 0.5, (100.0 + 12.0 * i) * 1024 * 1024, i < 10 ? 2048 : 1024, 2, i < 10 ? "normal" : "warning"});
  }
  d.throttles = {{5.0, "window_size", 1024, 2048, "warning", "memory at 81% of the limit"},
                 {5.0, "tiles_in_flight", 2, 4, "warning", "memory at 81% of the limit"}};
  d.limit_bytes = 400.0 * 1024 * 1024;
  return d;
}

std::string chromium(const std::string& args) {
  const std::string cmd =
      "timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
      "--disable-background-networking --disable-component-update --disable-sync --user-data-dir=$(mktemp -d) " +
      args + " 2>/dev/null";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  std::size_t n = 0;
  while (pipe && (n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  if (pipe) ::pclose(pipe);
  return out;
}
}  // namespace

TEST_CASE("Report.Html.SelfContainedWithChart") {
  const std::string html = render_report(known_report());
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(html.find("http://www.w3.org/2000/svg") != std::string::npos);
  CHECK(html.find("<script") == std::string::npos);  // nothing to load, nothing to run
  CHECK(html.find("src=\"http") == std::string::npos);
  CHECK(html.find("href=\"http") == std::string::npos);
  CHECK(html.find("class=\"rss\"") != std::string::npos);
  CHECK(html.find("class=\"threshold limit\"") != std::string::npos);
  CHECK(html.find("class=\"threshold warning\"") != std::string::npos);
  CHECK(html.find("class=\"threshold critical\"") != std::string::npos);
  CHECK(html.find("class=\"window-size\"") != std::string::npos);
  CHECK(html.find("window_size 2048 → 1024") != std::string::npos);
  CHECK(html.find("<td>resample</td><td class=\"n\">1.500</td>") != std::string::npos);
}

TEST_CASE("Report.Browser.ChromiumRendersTheChart" * doctest::timeout(180)) {
  test::TempDir dir;
  write_report(dir / "report.html", known_report());
  // The page as the browser built it: the chart's polyline has all 21 points, markers exist.
  const std::string dom = chromium("--dump-dom file://" + (dir / "report.html").string());
  REQUIRE(dom.find("</html>") != std::string::npos);
  const auto rss = dom.find("class=\"rss\"");
  REQUIRE(rss != std::string::npos);
  const auto points = dom.find("points=\"", rss);
  const auto end = dom.find('"', points + 8);
  const std::string list = dom.substr(points + 8, end - points - 8);
  CHECK(std::count(list.begin(), list.end(), ',') == 21);
  std::size_t markers = 0;
  for (std::size_t at = dom.find("class=\"throttle\""); at != std::string::npos;
       at = dom.find("class=\"throttle\"", at + 1))
    ++markers;
  CHECK(markers == 2);
  // And a screenshot of it.
  chromium("--window-size=1000,1400 --screenshot=" + (dir / "report.png").string() + " file://" +
           (dir / "report.html").string());
  REQUIRE(std::filesystem::exists(dir / "report.png"));
  CHECK(std::filesystem::file_size(dir / "report.png") > 20000);
}

TEST_CASE("Report.Cli.RunAndMetricsReports" * doctest::timeout(120)) {
  test::TempDir dir;
  app::generate_sample_data(dir / "sample_data", "small");
  std::filesystem::create_directories(dir / "graphs");
  std::filesystem::copy_file(std::string(RASTERFLOW_SOURCE_DIR) + "/graphs/demo.json", dir / "graphs/demo.json");
  std::string out;
  REQUIRE(test::run_cli("run " + (dir / "graphs/demo.json").string() + " --output-dir " + (dir / "o").string() +
                            " --report " + (dir / "run.html").string() +
                            " --memory-limit 1GiB --set metrics.interval_ms=10",
                        &out) == 0);
  const std::string run = test::read_text(dir / "run.html");
  CHECK(run.find("rasterflow run: demo_climate_merge") != std::string::npos);
  CHECK(run.find("200 x 100 cells") != std::string::npos);
  CHECK(run.find("1.0 GiB (--memory-limit)") != std::string::npos);
  const bool limit_shown = run.find("class=\"threshold limit\"") != std::string::npos ||
                           run.find("class=\"threshold-note\"") != std::string::npos;
  CHECK(limit_shown);
  for (const char* id : {"temperature_src", "landcover", "merged", "table"})
    CHECK(run.find(std::string("<td>") + id + "</td>") != std::string::npos);
  REQUIRE(test::run_cli("metrics --sqlite " + (dir / "o/rasterflow_metrics.sqlite").string() + " --report " +
                            (dir / "db.html").string(),
                        &out) == 0);
  const std::string db = test::read_text(dir / "db.html");
  CHECK(db.find("rasterflow run: demo_climate_merge") != std::string::npos);
  CHECK(db.find("succeeded") != std::string::npos);
  CHECK(db.find("class=\"rss\"") != std::string::npos);
  CHECK(db.find("<td>temperature</td><td>resample</td>") != std::string::npos);
}
