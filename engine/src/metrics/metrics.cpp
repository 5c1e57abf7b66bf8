#include "rasterflow/metrics.hpp"

#include <spdlog/spdlog.h>

#include "rasterflow/errors.hpp"
#include "rasterflow_sql.hpp"

namespace rasterflow {

const std::string& schema_sql() {
  static const std::string text = kSchemaSql;
  return text;
}
const std::string& views_sql() {
  static const std::string text = kViewsSql;
  return text;
}

std::string mask_password(const std::string& url) {
  std::string out = url;
  // libpq key=value strings, and ?password= in URLs: the value runs to a space or '&'. First,
  // so that a value containing '/' or '@' cannot change where a URL's authority ends below.
  for (const std::string key : {"password=", "PASSWORD="}) {
    for (std::size_t pos = out.find(key); pos != std::string::npos; pos = out.find(key, pos + 1)) {
      const std::size_t start = pos + key.size();
      const std::size_t end = std::min(out.size(), out.find_first_of(" &", start));
      out.replace(start, end - start, "***");
    }
  }
  // Every URL's userinfo: after "scheme://", the authority runs to the first '/', '?' or '#';
  // its userinfo ends at the last '@' and the password follows the first ':' in it (as libpq
  // reads it). Replacements stay inside authorities, so a second pass changes nothing.
  for (std::size_t scheme = out.find("://"); scheme != std::string::npos; scheme = out.find("://", scheme + 3)) {
    const std::size_t start = scheme + 3;
    const std::size_t end = std::min(out.size(), out.find_first_of("/?#", start));
    const std::size_t at = end == 0 ? std::string::npos : out.rfind('@', end - 1);
    if (at == std::string::npos || at < start) continue;
    const std::size_t colon = out.find(':', start);
    if (colon == std::string::npos || colon > at) continue;
    out.replace(colon + 1, at - colon - 1, "***");
  }
  return out;
}

void check_database_url(const std::string& url, const std::string& key) {
  if (url.empty()) return;
  const bool is_url = url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
  const bool is_conninfo = url.find("://") == std::string::npos && url.find('=') != std::string::npos;
  if (!is_url && !is_conninfo) {
    throw ConfigError(key + ": \"" + mask_password(url) +
                      "\" is not a PostgreSQL URL (expected postgresql://user@host:5432/db or host=... dbname=...)");
  }
  if (is_url) {
    const std::string rest = url.substr(url.find("://") + 3);
    if (rest.find_first_of(" \t\n") != std::string::npos) throw ConfigError(key + ": the URL contains spaces");
  }
}

MetricsRecorder::MetricsRecorder(Connect connect, ExperimentInfo info, std::size_t capacity)
    : connect_(std::move(connect)), info_(std::move(info)), capacity_(capacity) {}

MetricsRecorder::~MetricsRecorder() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::optional<std::int64_t> MetricsRecorder::experiment_id() const {
  std::lock_guard lock(mutex_);
  return experiment_;
}

bool MetricsRecorder::ensure_connected() {
  if (backend_ && experiment_) return true;
  if (std::chrono::steady_clock::now() < retry_at_) return false;
  try {
    if (!backend_) {
      backend_ = connect_();
      description_ = backend_->describe();
      if (!attached_) backend_->apply_schema();
    }
    if (!experiment_) experiment_ = backend_->create_experiment(info_);
    backoff_ = std::chrono::milliseconds(100);
    return true;
  } catch (const std::exception& e) {
    failed("the database is unreachable", e);
    return false;
  }
}

void MetricsRecorder::failed(const char* what, const std::exception& e) {
  backend_.reset();
  if (!warned_) {
    spdlog::warn("metrics: {} ({}); the run goes on, rows are kept while there is room and retried", what,
                 mask_password(e.what()));
    warned_ = true;
  }
  retry_at_ = std::chrono::steady_clock::now() + backoff_;
  backoff_ = std::min(backoff_ * 2, std::chrono::milliseconds(5000));
}

void MetricsRecorder::start(bool required) {
  try {
    backend_ = connect_();
    description_ = backend_->describe();
    backend_->apply_schema();
    experiment_ = backend_->create_experiment(info_);
  } catch (const std::exception& e) {
    backend_.reset();
    if (required) {
      throw ConfigError("metrics.required: the metrics database is unreachable: " + mask_password(e.what()));
    }
    spdlog::warn("metrics: the database is unreachable ({}); the run goes on and retries", mask_password(e.what()));
    warned_ = true;
  }
  thread_ = std::thread([this] { loop(); });
}

void MetricsRecorder::record(MetricRow row) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= capacity_) {
      dropped_.fetch_add(1);
      return;
    }
    queue_.push_back(std::move(row));
  }
  cv_.notify_one();
}

void MetricsRecorder::loop() {
  constexpr std::size_t kBatch = 500;
  std::unique_lock lock(mutex_);
  for (;;) {
    cv_.wait_for(lock, std::chrono::milliseconds(200),
                 [this] { return stopping_ || queue_.size() >= kBatch || (flushing_ && !queue_.empty()); });
    if (queue_.empty()) {
      if (stopping_) break;
      continue;
    }
    lock.unlock();
    const bool connected = ensure_connected();
    lock.lock();
    if (!connected) {
      if (stopping_) break;
      cv_.wait_for(lock, std::chrono::milliseconds(50),
                   [this] { return stopping_; });  // no busy retry while finish() waits
      continue;
    }
    const std::size_t n = std::min(kBatch, queue_.size());
    std::vector<MetricRow> batch(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    const std::int64_t first = next_row_;
    lock.unlock();
    bool ok = true;
    try {
      backend_->insert(*experiment_, batch, first);
    } catch (const std::exception& e) {
      ok = false;
      failed("writing to the database failed", e);
    }
    lock.lock();
    if (ok) {
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
      next_row_ += static_cast<std::int64_t>(n);
      written_.fetch_add(n);
    } else if (stopping_) {
      break;
    }
  }
  dropped_.fetch_add(queue_.size());
  queue_.clear();
}

void MetricsRecorder::attach(std::int64_t experiment, std::int64_t first_row) {
  {
    std::lock_guard lock(mutex_);
    experiment_ = experiment;
    next_row_ = first_row;
    attached_ = true;
  }
  thread_ = std::thread([this] { loop(); });
}

void MetricsRecorder::finish(const std::string& status, const std::string& error,
                             std::chrono::milliseconds flush_timeout, bool mark) {
  const auto deadline = std::chrono::steady_clock::now() + flush_timeout;
  // Let the writer drain while it makes progress, up to the deadline.
  {
    std::unique_lock lock(mutex_);
    flushing_ = true;
    while (!queue_.empty() && std::chrono::steady_clock::now() < deadline) {
      lock.unlock();
      cv_.notify_all();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      lock.lock();
    }
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (!mark) return;
  if (backend_ && experiment_) {
    try {
      backend_->finish_experiment(*experiment_, status, error, Clock::now());
    } catch (const std::exception& e) {
      spdlog::warn("metrics: could not mark the experiment {}: {}", status, mask_password(e.what()));
    }
  } else if (!backend_ && std::chrono::steady_clock::now() < deadline + flush_timeout) {
    // One last attempt to record how the run ended.
    retry_at_ = {};
    if (ensure_connected()) {
      try {
        backend_->finish_experiment(*experiment_, status, error, Clock::now());
      } catch (const std::exception&) {
      }
    }
  }
}

}  // namespace rasterflow
