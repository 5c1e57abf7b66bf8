#pragma once
// The shared work of sinks that write one file: an AtomicFile (`<path>.partial`, renamed to
// `<path>` only by commit(), removed by abort()), written serially in tile order, with byte and
// row accounting for the run summary. Under MPI each rank writes its band to a rank-local file
// and gather() concatenates the bands in rank order: right for any output whose bands are
// byte ranges of the whole (CSV text); sinks whose files are not override gather(). A band is
// committed by syncing it, not renaming it: it stays `<band>.partial`, the file its checkpoint
// names, until the caller removes both once every sink has gathered (docs/hpc.md).
#include <atomic>
#include <filesystem>
#include <string_view>

#include "nodes/common/atomic_file.hpp"
#include "rasterflow/node.hpp"

namespace rasterflow::nodes {

class FileSink : public SinkNode, public ResumableSink {
 public:
  // `path`: the file the sink writes (its bound output_path option).
  FileSink(NodeSpec spec, std::filesystem::path path);

  void prepare(const RunContext& ctx, std::span<Node* const> inputs) override;
  void open() override;
  void commit() override;
  void abort() noexcept override;
  void check_ranks(int ranks) const override;
  Gathered gather(Ranks& ranks) override;
  std::uint64_t rows_written() const override { return rows_; }
  std::uint64_t bytes_written() const override { return bytes_; }
  std::filesystem::path output_path() const override { return file_.path(); }

  // ResumableSink, for sinks whose output resumes by cutting its file back to a length (plain
  // text written in tile order). FileSink does not offer it by itself: a sink says so by
  // returning `this` from resumable().
  State written() const override;
  void sync() override;
  void reopen(const State& state) override;
  void suspend() noexcept override;

 protected:
  // Appends bytes to the partial file; throws IoError (disk full, ...) naming the node and file.
  void write_bytes(std::string_view bytes, std::uint64_t rows);
  // Under MPI: the file is this rank's band of `final_path()`, which gather() writes.
  bool is_band() const { return !final_.empty(); }
  const std::filesystem::path& final_path() const { return is_band() ? final_ : file_.path(); }
  // Rank 0, in gather(), once every band is in `partial` (`bytes` long) and before it takes its
  // final name: what the whole file needs after the bands (Parquet's footer). Returns the
  // file's size; throws (every rank then fails the gather).
  virtual std::uint64_t complete_gathered(const std::filesystem::path& /*partial*/, std::uint64_t bytes) {
    return bytes;
  }

 private:
  AtomicFile file_;
  std::filesystem::path final_;  // the run's output when the file is a rank-local band (MPI)
  // Written by the sink's serial writer, read by progress displays: atomics.
  std::atomic<std::uint64_t> rows_{0};
  std::atomic<std::uint64_t> bytes_{0};
};

}  // namespace rasterflow::nodes
