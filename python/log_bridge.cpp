#include "python/log_bridge.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace py = pybind11;

namespace rasterflow::python {
namespace {

constexpr std::size_t kMaxQueued = 10000;  // records kept between two forwards; older ones dropped

struct Record {
  int level = 0;  // Python's logging level number
  std::string message;
};

int python_level(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return 5;  // below DEBUG: logging has no TRACE
    case spdlog::level::debug:
      return 10;
    case spdlog::level::info:
      return 20;
    case spdlog::level::warn:
      return 30;
    case spdlog::level::err:
      return 40;
    default:
      return 50;
  }
}

spdlog::level::level_enum spdlog_level(int python) {
  if (python <= 5) return spdlog::level::trace;
  if (python <= 10) return spdlog::level::debug;
  if (python <= 20) return spdlog::level::info;
  if (python <= 30) return spdlog::level::warn;
  if (python <= 40) return spdlog::level::err;
  return spdlog::level::critical;
}

class QueueSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::deque<Record> take() {
    std::lock_guard lock(mutex_);  // base_sink's, held by sink_it_ too
    std::deque<Record> out;
    out.swap(records_);
    if (dropped_ > 0) {
      out.push_front({30, std::to_string(dropped_) + " messages dropped (more than " + std::to_string(kMaxQueued) +
                              " between two hand-overs to Python's logging)"});
      dropped_ = 0;
    }
    return out;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {  // base_sink holds mutex_
    if (records_.size() >= kMaxQueued) {
      records_.pop_front();
      ++dropped_;
    }
    records_.push_back({python_level(msg.level), std::string(msg.payload.data(), msg.payload.size())});
  }
  void flush_() override {}

 private:
  std::deque<Record> records_;
  std::size_t dropped_ = 0;
};

std::shared_ptr<QueueSink>& sink() {
  static auto s = std::make_shared<QueueSink>();
  return s;
}

py::object python_logger() { return py::module_::import("logging").attr("getLogger")("rasterflow"); }

}  // namespace

void install_log_bridge() {
  auto logger = std::make_shared<spdlog::logger>("rasterflow-python", sink());
  logger->set_level(spdlog::level::trace);  // the level is spdlog's global one (sync_log_level)
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::warn);
}

void sync_log_level() {
  try {
    const int level = python_logger().attr("getEffectiveLevel")().cast<int>();
    spdlog::set_level(spdlog_level(level));
  } catch (py::error_already_set&) {
    // A broken logging setup leaves the level as it was.
  }
}

void forward_logs() {
  std::deque<Record> records = sink()->take();
  if (records.empty()) return;
  try {
    const py::object logger = python_logger();
    const py::object log = logger.attr("log");
    for (const auto& r : records) log(r.level, "%s", r.message);
  } catch (py::error_already_set& e) {
    e.discard_as_unraisable("rasterflow: forwarding the engine's messages to logging");
  }
}

}  // namespace rasterflow::python
