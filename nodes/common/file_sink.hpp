#pragma once
// The shared work of sinks that write one file: the file is created as `<path>.partial`,
// written serially in tile order, and renamed to `<path>` only by commit(); abort() removes
// it. Byte and row accounting for the run summary live here too.
#include <atomic>
#include <filesystem>
#include <string_view>

#include "rasterflow/node.hpp"

namespace rasterflow::nodes {

class FileSink : public SinkNode {
 public:
  // `path`: the file the sink writes (its bound output_path option).
  FileSink(NodeSpec spec, std::filesystem::path path);
  ~FileSink() override;

  void prepare(const RunContext& ctx, std::span<Node* const> inputs) override;
  void open() override;
  void commit() override;
  void abort() noexcept override;
  std::uint64_t rows_written() const override { return rows_; }
  std::uint64_t bytes_written() const override { return bytes_; }
  std::filesystem::path output_path() const override { return path_; }

 protected:
  // Appends bytes to the partial file; throws IoError (disk full, ...) naming the node and file.
  void write_bytes(std::string_view bytes, std::uint64_t rows);

 private:
  std::filesystem::path path_;
  std::filesystem::path final_;  // the run's output when path_ is a rank-local file (MPI)
  std::filesystem::path partial_;
  int fd_ = -1;
  std::uint64_t flushed_ = 0;  // bytes whose write-back was started (sync_file_range)
  // Written by the sink's serial writer, read by progress displays: atomics.
  std::atomic<std::uint64_t> rows_{0};
  std::atomic<std::uint64_t> bytes_{0};
};

}  // namespace rasterflow::nodes
