#include <doctest/doctest.h>

#include <fstream>
#include <iterator>

#include "rasterflow/errors.hpp"
#include "rasterflow/metrics.hpp"
#include "support/postgres.hpp"
#include "support/test_support.hpp"

using namespace rasterflow;

namespace {

std::string value(const QueryResult& r, std::size_t row, const std::string& column) {
  for (std::size_t c = 0; c < r.columns.size(); ++c) {
    if (r.columns[c] == column) return r.rows.at(row).at(c).value_or("(null)");
  }
  return "(no column " + column + ")";
}
double number(const QueryResult& r, std::size_t row, const std::string& column) {
  return std::stod(value(r, row, column));
}

// The same checks on any backend: schema twice, experiments, rows, and every view on known data.
void check_backend(MetricsBackend& db) {
  db.apply_schema();
  db.apply_schema();  // idempotent
  ExperimentInfo info;
  info.name = "known";
  info.graph_json = "{}";
  info.config_json = "{}";
  info.host = "testhost";
  const std::int64_t a = db.create_experiment(info);
  const std::int64_t b = db.create_experiment(info);
  CHECK(b == a + 1);
  const auto t0 = Clock::now();
  const std::vector<MetricRow> rows = {
      {"memory", "process_rss_gb", 1.0,
       R"({"stage": "A", "level": "normal", "window_size": 2048, "chunk_size": 5000, "tiles_in_flight": 2, "system_percent": 10.5, "system_available_gb": 20, "limit_gb": 4, "operation": "read", "active_nodes": {"A": 100}})",
       t0},
      {"memory", "process_rss_gb", 3.0,
       R"({"stage": "A", "level": "warning", "window_size": 1024, "chunk_size": 2500, "tiles_in_flight": 1, "system_percent": 11, "system_available_gb": 19, "limit_gb": 4, "operation": "read", "active_nodes": {}})",
       t0 + std::chrono::seconds(1)},
      {"memory", "process_rss_gb", 2.0,
       R"({"stage": "B", "level": "normal", "window_size": 2048, "chunk_size": 5000, "tiles_in_flight": 2, "system_percent": 10, "system_available_gb": 20, "limit_gb": 4, "operation": "merge", "active_nodes": {}})",
       t0 + std::chrono::seconds(2)},
      {"throttle", "window_size", 1024,
       R"({"level": "warning", "previous": 2048, "reason": "memory at 81% of the limit"})",
       t0 + std::chrono::seconds(1)},
      {"stage", "memory_peak_gb", 0.5, R"({"stage": "t", "type": "resample"})", t0},
      {"stage", "items", 8, R"({"stage": "t", "type": "resample"})", t0},
      {"stage", "busy_seconds", 1.25, R"({"stage": "t", "type": "resample"})", t0},
  };
  db.insert(a, rows, 0);
  db.insert(b, std::span<const MetricRow>(rows).subspan(0, 1), 0);  // another experiment, not counted
  const std::vector<std::string> id{std::to_string(a)};

  const QueryResult by_stage = db.query(
      "SELECT stage, samples, avg_rss_gb, peak_rss_gb FROM v_memory_by_stage WHERE experiment_id = $1 ORDER BY stage",
      id);
  REQUIRE(by_stage.rows.size() == 2);
  CHECK(value(by_stage, 0, "stage") == "A");
  CHECK(number(by_stage, 0, "samples") == 2);
  CHECK(number(by_stage, 0, "avg_rss_gb") == doctest::Approx(2.0));
  CHECK(number(by_stage, 0, "peak_rss_gb") == doctest::Approx(3.0));
  CHECK(value(by_stage, 1, "stage") == "B");

  const QueryResult timeline = db.query(
      "SELECT process_rss_gb, level, window_size, tiles_in_flight, system_percent FROM v_memory_timeline WHERE "
      "experiment_id = $1 ORDER BY created_at",
      id);
  REQUIRE(timeline.rows.size() == 3);
  CHECK(value(timeline, 1, "level") == "warning");
  CHECK(number(timeline, 1, "window_size") == 1024);
  CHECK(number(timeline, 0, "system_percent") == doctest::Approx(10.5));

  const QueryResult throttle = db.query(
      "SELECT setting, new_value, previous_value, level, reason FROM v_throttle_events WHERE experiment_id = $1", id);
  REQUIRE(throttle.rows.size() == 1);
  CHECK(value(throttle, 0, "setting") == "window_size");
  CHECK(number(throttle, 0, "new_value") == 1024);
  CHECK(number(throttle, 0, "previous_value") == 2048);
  CHECK(value(throttle, 0, "reason") == "memory at 81% of the limit");

  const QueryResult stages = db.query(
      "SELECT stage, node_type, memory_peak_gb, items, busy_seconds, cells FROM v_stage_summary WHERE experiment_id = "
      "$1",
      id);
  REQUIRE(stages.rows.size() == 1);
  CHECK(value(stages, 0, "stage") == "t");
  CHECK(value(stages, 0, "node_type") == "resample");
  CHECK(number(stages, 0, "memory_peak_gb") == doctest::Approx(0.5));
  CHECK(number(stages, 0, "items") == 8);
  CHECK(value(stages, 0, "cells") == "(null)");

  // metadata->>'stage' works on the raw table too.
  const QueryResult raw =
      db.query("SELECT COUNT(*) AS n FROM pipeline_metrics WHERE metadata->>'stage' = 'A' AND experiment_id = $1", id);
  CHECK(number(raw, 0, "n") == 2);

  db.finish_experiment(a, "succeeded", "", Clock::now());
  const QueryResult e = db.query("SELECT status, host, finished_at FROM experiments WHERE id = $1", id);
  CHECK(value(e, 0, "status") == "succeeded");
  CHECK(value(e, 0, "host") == "testhost");
  CHECK(value(e, 0, "finished_at") != "(null)");
}

}  // namespace

TEST_CASE("Metrics.Sqlite.SchemaTwiceAndViewsOnKnownRows") {
  test::TempDir dir;
  auto db = open_sqlite_metrics(dir / "m.sqlite");
  check_backend(*db);
  const QueryResult wal = db->query("PRAGMA journal_mode", {});
  CHECK(value(wal, 0, "journal_mode") == "wal");
}

TEST_CASE("Metrics.Postgres.SchemaTwiceAndViewsOnKnownRows" * doctest::timeout(120)) {
  REQUIRE(test::TestPostgres::available());
  test::TestPostgres server;
  auto db = open_postgresql_metrics(server.url());
  check_backend(*db);
  CHECK(db->describe().find("postgresql://postgres@") == 0);
}

TEST_CASE("Metrics.Urls.MaskedAndChecked") {
  CHECK(mask_password("postgresql://user:secret@db.example:5432/metrics") ==
        "postgresql://user:***@db.example:5432/metrics");
  CHECK(mask_password("postgresql://user@host/db?password=secret&sslmode=require") ==
        "postgresql://user@host/db?password=***&sslmode=require");
  CHECK(mask_password("host=db user=u password=secret dbname=m") == "host=db user=u password=*** dbname=m");
  CHECK(mask_password("postgresql://user@host/db") == "postgresql://user@host/db");
  // Fuzzer input (fuzz/corpus/parsers/regression-password-to-end): a password that runs to the
  // end of the text is masked whole.
  std::string long_secret = "x:://epassword=//epasswo" + std::string(59, '\xa4') + "rd=";
  CHECK(mask_password(long_secret) == "x:://epassword=***");
  CHECK(mask_password(mask_password(long_secret)) == mask_password(long_secret));
  // Fuzzer input (fuzz/corpus/parsers/regression-mask-idempotent): several URLs and keys mixed;
  // masking twice must change nothing more.
  for (const char* name : {"regression-mask-idempotent", "regression-mask-idempotent-2"}) {
    std::ifstream seed(std::string(RASTERFLOW_SOURCE_DIR) + "/fuzz/corpus/parsers/" + name, std::ios::binary);
    const std::string mixed((std::istreambuf_iterator<char>(seed)), std::istreambuf_iterator<char>());
    REQUIRE(!mixed.empty());
    CHECK_MESSAGE(mask_password(mask_password(mixed)) == mask_password(mixed), name);
  }
  CHECK(mask_password("postgresql://u:a@b@host/db") == "postgresql://u:***@host/db");
  CHECK(mask_password("postgresql://u:secret@host/db?password=other") == "postgresql://u:***@host/db?password=***");
  CHECK_NOTHROW(check_database_url("postgresql://u@h/db", "database.url"));
  CHECK_NOTHROW(check_database_url("host=/tmp dbname=x", "database.url"));
  CHECK_THROWS_WITH_AS(check_database_url("mysql://u:secret@h/db", "database.url"),
                       doctest::Contains("not a PostgreSQL URL"), ConfigError);
  try {
    check_database_url("mysql://u:secret@h/db", "database.url");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()).find("secret") == std::string::npos);
  }
  Config c;
  c.set("database.url=postgresql://u:secret@h/db");
  CHECK(c.to_json().find("secret") == std::string::npos);
  CHECK(c.to_json().find("u:***@h") != std::string::npos);
  CHECK_THROWS_AS(c.set("database.url=not a url"), ConfigError);
}

TEST_CASE("Metrics.Recorder.UnreachableDatabase" * doctest::timeout(60)) {
  ExperimentInfo info;
  info.name = "x";
  const auto bad = [] {
    return open_postgresql_metrics("postgresql://postgres@/postgres?host=/nonexistent-socket-dir");
  };
  {
    MetricsRecorder required(bad, info);
    CHECK_THROWS_WITH_AS(required.start(true), doctest::Contains("metrics.required"), ConfigError);
  }
  MetricsRecorder optional(bad, info, 10);
  optional.start(false);
  for (int i = 0; i < 25; ++i) optional.record(MetricRow{"memory", "process_rss_gb", 1.0, "{}", Clock::now()});
  optional.finish("succeeded", "", std::chrono::milliseconds(300));
  CHECK(optional.dropped() == 25);  // 15 over the queue's room, 10 never written
  CHECK_FALSE(optional.experiment_id());
}
