#include "observe/trace.hpp"

#include <boost/json.hpp>
#include <fstream>

#include "rasterflow/errors.hpp"

namespace rasterflow::detail {

void TraceWriter::span(const std::string* name, const char* category, std::chrono::steady_clock::time_point begin,
                       std::chrono::steady_clock::time_point end, std::uint64_t tile, std::int64_t rows) {
  ThreadSpans& mine = spans_.local();
  if (mine.tid == 0) mine.tid = next_tid_.fetch_add(1);
  mine.spans.push_back(
      {name, category, micros(begin), std::max<std::int64_t>(1, micros(end) - micros(begin)), tile, rows});
}

void TraceWriter::counter(const char* name, const char* key, double value) {
  const std::int64_t at = micros(std::chrono::steady_clock::now());
  std::lock_guard lock(counters_mutex_);
  counters_.push_back({name, key, at, value});
}

void TraceWriter::write(const std::filesystem::path& path, const std::string& graph_name) const {
  boost::json::array events;
  events.push_back(boost::json::object{
      {"name", "process_name"}, {"ph", "M"}, {"pid", 1}, {"args", {{"name", "rasterflow " + graph_name}}}});
  for (const ThreadSpans& t : spans_) {
    events.push_back(boost::json::object{{"name", "thread_name"},
                                         {"ph", "M"},
                                         {"pid", 1},
                                         {"tid", t.tid},
                                         {"args", {{"name", "worker " + std::to_string(t.tid)}}}});
    for (const Span& s : t.spans) {
      events.push_back(boost::json::object{{"name", *s.name},
                                           {"cat", s.category},
                                           {"ph", "X"},
                                           {"pid", 1},
                                           {"tid", t.tid},
                                           {"ts", s.begin_us},
                                           {"dur", s.duration_us},
                                           {"args", {{"tile", s.tile}, {"rows", s.rows}}}});
    }
  }
  for (const Counter& c : counters_) {
    events.push_back(
        boost::json::object{{"name", c.name}, {"ph", "C"}, {"pid", 1}, {"ts", c.at_us}, {"args", {{c.key, c.value}}}});
  }
  const boost::json::object root{{"traceEvents", std::move(events)}, {"displayTimeUnit", "ms"}};
  std::filesystem::path partial = path;
  partial += ".partial";
  {
    std::ofstream out(partial, std::ios::binary);
    out << boost::json::serialize(root);
    if (!out) throw IoError("--trace: cannot write " + partial.string());
  }
  std::error_code ec;
  std::filesystem::rename(partial, path, ec);
  if (ec) throw IoError("--trace: cannot rename " + partial.string() + ": " + ec.message());
}

}  // namespace rasterflow::detail
