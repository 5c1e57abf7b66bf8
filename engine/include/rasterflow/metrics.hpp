#pragma once
// Metrics: experiments and their rows (memory snapshots, throttle events, per-stage figures)
// in SQLite (embedded default) or PostgreSQL. One interface, small backends; a recorder that
// never blocks the pipeline.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace rasterflow {

using Clock = std::chrono::system_clock;

struct MetricRow {
  std::string type;  // memory | throttle | stage
  std::string name;
  double value = 0;
  std::string metadata_json;  // a JSON object
  Clock::time_point at = Clock::now();
};

struct ExperimentInfo {
  std::string name;
  std::string graph_json;
  std::string config_json;  // with passwords masked
  std::string host;
  Clock::time_point started_at = Clock::now();
  // The interrupted experiment a --resume run continues (experiments.resumed_from); it is
  // marked 'interrupted' if it was still 'running' (killed without a word).
  std::optional<std::int64_t> resumed_from;
};

struct QueryResult {
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;
};

// One connection, used by one thread at a time. Every statement is parameterised.
class MetricsBackend {
 public:
  virtual ~MetricsBackend() = default;
  // "sqlite:PATH" or the URL with its password masked.
  virtual std::string describe() const = 0;
  // Applies sql/schema.sql and sql/memory_analysis_views.sql (idempotent).
  virtual void apply_schema() = 0;
  virtual std::int64_t create_experiment(const ExperimentInfo& info) = 0;
  // Inserts rows in one transaction; row ids are experiment * 2^32 + first_row + i.
  virtual void insert(std::int64_t experiment, std::span<const MetricRow> rows, std::int64_t first_row) = 0;
  virtual void finish_experiment(std::int64_t experiment, const std::string& status, const std::string& error,
                                 Clock::time_point at) = 0;
  // `sql` may use $1..$n for `params` (text).
  virtual QueryResult query(const std::string& sql, const std::vector<std::string>& params) = 0;
};

std::unique_ptr<MetricsBackend> open_sqlite_metrics(const std::filesystem::path& file);
// `url` is a postgresql:// URL or libpq key=value string; "" takes libpq's PG* variables.
std::unique_ptr<MetricsBackend> open_postgresql_metrics(const std::string& url);

// postgresql://user:secret@host/db -> postgresql://user:***@host/db; password=x -> password=***.
std::string mask_password(const std::string& url);
// Checks the shape of a database URL; throws ConfigError naming `key`.
void check_database_url(const std::string& url, const std::string& key);

// The schema and views, as shipped in sql/ (compiled in).
const std::string& schema_sql();
const std::string& views_sql();

// Hands rows to a writer thread through a bounded queue: record() never blocks and never
// throws. The writer inserts in batches inside transactions; when the database fails it logs
// one warning, keeps the rows while the queue has room (dropping and counting the rest),
// reconnects with backoff, and finish() reports what was lost.
class MetricsRecorder {
 public:
  using Connect = std::function<std::unique_ptr<MetricsBackend>()>;
  MetricsRecorder(Connect connect, ExperimentInfo info, std::size_t capacity = 20000);
  ~MetricsRecorder();
  MetricsRecorder(const MetricsRecorder&) = delete;
  MetricsRecorder& operator=(const MetricsRecorder&) = delete;

  // Connects, applies the schema and creates the experiment. With `required`, a failure
  // throws ConfigError; otherwise it is logged and the writer keeps trying.
  void start(bool required);
  // Writes into an experiment another process created (an MPI rank other than 0): no schema,
  // no new experiment; row ids start at `first_row` so ranks never collide.
  void attach(std::int64_t experiment, std::int64_t first_row);
  void record(MetricRow row);
  // Flushes (waiting at most `flush_timeout`), marks the experiment, stops the writer.
  // `mark`: false leaves the experiment's status to the process that created it.
  void finish(const std::string& status, const std::string& error, std::chrono::milliseconds flush_timeout,
              bool mark = true);

  std::uint64_t dropped() const { return dropped_.load(); }
  std::uint64_t written() const { return written_.load(); }
  std::optional<std::int64_t> experiment_id() const;
  std::string describe() const { return description_; }

 private:
  void loop();
  bool ensure_connected();
  // Drops the connection, warns once, and schedules the next attempt with backoff.
  void failed(const char* what, const std::exception& e);

  Connect connect_;
  ExperimentInfo info_;
  std::size_t capacity_;
  std::unique_ptr<MetricsBackend> backend_;
  std::string description_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<MetricRow> queue_;
  bool stopping_ = false;
  bool flushing_ = false;
  bool attached_ = false;  // writing into another process's experiment  // finish() waits for the queue: write whatever
                           // is queued at once
  std::optional<std::int64_t> experiment_;
  std::int64_t next_row_ = 0;
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> written_{0};
  bool warned_ = false;
  std::chrono::steady_clock::time_point retry_at_{};
  std::chrono::milliseconds backoff_{100};
  std::thread thread_;
};

}  // namespace rasterflow
