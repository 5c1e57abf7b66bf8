#pragma once
// A Chrome trace-event file of a run (opens in Perfetto or chrome://tracing): one complete
// span per node per tile on the thread that ran it, and counters for memory and tiles in flight.
// Spans are kept per thread without locks and written once at the end. Private to engine/src.
#include <oneapi/tbb/enumerable_thread_specific.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

namespace rasterflow::detail {

class TraceWriter {
 public:
  explicit TraceWriter(std::chrono::steady_clock::time_point start) : start_(start) {}

  void span(const std::string* name, const char* category, std::chrono::steady_clock::time_point begin,
            std::chrono::steady_clock::time_point end, std::uint64_t tile, std::int64_t rows);
  void counter(const char* name, const char* key, double value);
  // Writes the file as <path>.partial, then renames it. Throws IoError.
  void write(const std::filesystem::path& path, const std::string& graph_name) const;

 private:
  struct Span {
    const std::string* name;
    const char* category;
    std::int64_t begin_us, duration_us;
    std::uint64_t tile;
    std::int64_t rows;
  };
  struct ThreadSpans {
    int tid = 0;
    std::vector<Span> spans;
  };
  struct Counter {
    const char* name;
    const char* key;
    std::int64_t at_us;
    double value;
  };
  std::int64_t micros(std::chrono::steady_clock::time_point t) const {
    return std::chrono::duration_cast<std::chrono::microseconds>(t - start_).count();
  }

  std::chrono::steady_clock::time_point start_;
  std::atomic<int> next_tid_{1};
  mutable oneapi::tbb::enumerable_thread_specific<ThreadSpans> spans_;
  std::mutex counters_mutex_;
  std::vector<Counter> counters_;
};

}  // namespace rasterflow::detail
