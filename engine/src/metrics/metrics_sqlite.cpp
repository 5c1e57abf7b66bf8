#include <sqlite3.h>

#include <ctime>

#include "metrics/metrics_common.hpp"
#include "rasterflow/errors.hpp"

namespace rasterflow {
namespace detail {

std::string timestamp_text(Clock::time_point at) {
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(at.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(micros / 1000000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%06lld", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(micros % 1000000));
  return buf;
}

}  // namespace detail

namespace {

class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK)
      throw IoError(std::string("SQLite: ") + sqlite3_errmsg(db));
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  int index(int n) const { return sqlite3_bind_parameter_index(stmt_, ("$" + std::to_string(n)).c_str()); }
  void bind(int n, const std::string& text) {
    sqlite3_bind_text(stmt_, index(n), text.c_str(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  void bind(int n, std::int64_t v) { sqlite3_bind_int64(stmt_, index(n), v); }
  void bind(int n, double v) { sqlite3_bind_double(stmt_, index(n), v); }
  // Steps once; true while a row is available.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw IoError(std::string("SQLite: ") + sqlite3_errmsg(db_));
  }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

class SqliteMetrics final : public MetricsBackend {
 public:
  explicit SqliteMetrics(const std::filesystem::path& file) : file_(file) {
    if (sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK) {
      const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw IoError("SQLite " + file.string() + ": " + msg);
    }
    sqlite3_busy_timeout(db_, 5000);
    exec("PRAGMA journal_mode=WAL");
  }
  ~SqliteMetrics() override { sqlite3_close(db_); }

  std::string describe() const override { return "sqlite:" + file_.string(); }

  void apply_schema() override {
    exec(schema_sql());
    if (query("SELECT COUNT(*) FROM pragma_table_info('experiments') WHERE name = 'resumed_from'", {}).rows[0][0] ==
        "0")
      exec(detail::kAddResumedFromSqliteSql);
    exec(views_sql());
  }

  std::int64_t create_experiment(const ExperimentInfo& info) override {
    Statement s(db_, detail::kCreateExperimentSql);
    s.bind(1, info.name);
    s.bind(2, info.graph_json);
    s.bind(3, info.config_json);
    s.bind(4, info.host);
    s.bind(5, detail::timestamp_text(info.started_at));
    s.bind(6, detail::resumed_text(info));
    if (!s.step()) throw IoError("SQLite: creating the experiment returned no id");
    const std::int64_t id = sqlite3_column_int64(s.get(), 0);
    s.reset();
    if (info.resumed_from) {
      Statement mark(db_, detail::kMarkResumedSql);
      mark.bind(1, detail::resumed_text(info));
      mark.bind(2, "stopped without a word (killed?); resumed by experiment " + std::to_string(id));
      mark.step();
    }
    return id;
  }

  void insert(std::int64_t experiment, std::span<const MetricRow> rows, std::int64_t first_row) override {
    exec("BEGIN");
    try {
      Statement s(db_, detail::kInsertMetricSql);
      for (std::size_t i = 0; i < rows.size(); ++i) {
        const MetricRow& r = rows[i];
        s.bind(1, detail::row_id(experiment, first_row + static_cast<std::int64_t>(i)));
        s.bind(2, experiment);
        s.bind(3, r.type);
        s.bind(4, r.name);
        s.bind(5, r.value);
        s.bind(6, r.metadata_json);
        s.bind(7, detail::timestamp_text(r.at));
        s.step();
        s.reset();
      }
      exec("COMMIT");
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

  void finish_experiment(std::int64_t experiment, const std::string& status, const std::string& error,
                         Clock::time_point at) override {
    Statement s(db_, detail::kFinishExperimentSql);
    s.bind(1, status);
    s.bind(2, error);
    s.bind(3, detail::timestamp_text(at));
    s.bind(4, experiment);
    s.step();
  }

  QueryResult query(const std::string& sql, const std::vector<std::string>& params) override {
    Statement s(db_, sql.c_str());
    for (std::size_t i = 0; i < params.size(); ++i) s.bind(static_cast<int>(i + 1), params[i]);
    QueryResult out;
    const int n = sqlite3_column_count(s.get());
    for (int c = 0; c < n; ++c) out.columns.emplace_back(sqlite3_column_name(s.get(), c));
    while (s.step()) {
      std::vector<std::optional<std::string>> row;
      for (int c = 0; c < n; ++c) {
        const auto* text = sqlite3_column_text(s.get(), c);
        row.push_back(text ? std::optional<std::string>(reinterpret_cast<const char*>(text)) : std::nullopt);
      }
      out.rows.push_back(std::move(row));
    }
    return out;
  }

 private:
  void exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      const std::string msg = err ? err : "error";
      sqlite3_free(err);
      throw IoError("SQLite " + file_.string() + ": " + msg);
    }
  }

  std::filesystem::path file_;
  sqlite3* db_ = nullptr;
};

}  // namespace

std::unique_ptr<MetricsBackend> open_sqlite_metrics(const std::filesystem::path& file) {
  return std::make_unique<SqliteMetrics>(file);
}

}  // namespace rasterflow
