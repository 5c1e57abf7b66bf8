#pragma once
// TableSink: the base of every sink that writes the merged table (csv_sink, parquet_sink,
// raster_sink, postgres_sink), as spdlog's base_sink: the engine's entry points (prepare,
// process, open, write, commit, abort) are final here and do the shared work, and a sink author
// writes two steps:
//   format(): one tile's table into the sink's own payload; parallel, any tile order.
//   emit():   that payload into the output; serial, in tile order (seq 0, 1, 2, ...).
// and, when the output needs them, begin() (after open), finish() (before commit) and
// discard() (on abort). The base does:
//   - the table producer: prepare() finds it (or names the input that is not one) and hands
//     it to prepare_table(); process() hands format() the tile's Table;
//   - row and byte accounting (write_bytes(), count()), read by progress displays;
//   - atomic output: a file output is written as `<path>.partial`, renamed to `<path>` by
//     commit() once complete and removed by abort() or a failed commit, so that nothing ever
//     stands under the final name unless whole;
//   - the output folder's checks (exists, writable) and the output lock (claim_output()'s
//     default: the engine locks output_path());
//   - the MPI default: under MPI each rank writes its band to a rank-local file, kept as
//     `<band>.partial` at commit, and gather() concatenates the bands in rank order (right for
//     output whose bands are byte ranges of the whole: CSV text, Parquet's row groups); a sink
//     with no file refuses MPI (check_ranks), a sink whose bands are not byte ranges overrides
//     gather();
//   - resume for Output::stream (ResumableSink): the partial file cut back to a checkpoint's
//     length; a sink offers it by returning `this` from resumable().
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rasterflow/node/node.hpp"
#include "rasterflow/node/payload.hpp"

namespace rasterflow {
namespace sinks {
class AtomicFile;
}

class TableSink : public SinkNode, public ResumableSink {
 public:
  // What the sink writes.
  enum class Output {
    stream,  // bytes appended in tile order (write_bytes()) to `<path>.partial`, which the base holds
    file,    // a file (or a folder) the sink makes itself at partial_path() (a GDAL dataset); under MPI a stream
    none,    // no file (a database table): no partial, no rename, no MPI
  };
  ~TableSink() override;

  void prepare(const RunContext& ctx, std::span<Node* const> inputs) final;
  PayloadPtr process(const TileRequest& tile, std::span<const PayloadPtr> inputs) final;
  void open() final;
  void write(const TileRequest& tile, const PayloadPtr& data) final;
  void commit() final;
  void abort() noexcept final;
  std::uint64_t rows_written() const final { return rows_.load(); }
  std::uint64_t bytes_written() const final { return bytes_.load(); }
  // The file this process writes: the output, or under MPI this rank's band of it.
  std::filesystem::path output_path() const final { return target_; }
  void check_ranks(int ranks) const override;
  Gathered gather(Ranks& ranks) override;

  // ResumableSink (Output::stream only; offered by returning `this` from resumable()).
  State written() const override;
  void sync() override;
  void reopen(const State& state) override;
  void suspend() noexcept override;

 protected:
  // `path`: the output (the bound output_path option), empty for Output::none; `may_be_folder`:
  // the output is a folder (Zarr), which replaces the folder there at commit.
  TableSink(NodeSpec spec, Output output, std::filesystem::path path = {}, bool may_be_folder = false);

  // Once, with the table producer upstream: its columns' names, types and metadata.
  virtual void prepare_table(const RunContext& ctx, const nodes::TableProducer& table) = 0;
  // One tile's table as the sink's payload. Called concurrently for different tiles.
  virtual PayloadPtr format(const TileRequest& tile, const nodes::Table& table) const = 0;
  // The payload format() made, into the output. Serial, in tile order.
  virtual void emit(const TileRequest& tile, const Payload& data) = 0;
  // After the partial file is opened (Output::stream) or removed if stale (Output::file).
  virtual void begin() {}
  // Before the output takes its final name: what it needs after the last tile (a footer, a
  // dataset closed, a transaction committed). A throw aborts the output.
  virtual void finish() {}
  // On abort: what the sink holds of its own (a dataset, a transaction, temporary files).
  virtual void discard() noexcept {}
  // Files beside the output that follow it: `<partial><suffix>` is renamed to
  // `<path><suffix>` by commit and removed by abort (GDAL's ".aux.xml").
  virtual std::vector<std::string> companions() const { return {}; }
  // Rank 0, in gather(), once every band is in `partial` (`bytes` long) and before it takes its
  // final name: what the whole file needs after the bands (Parquet's footer). Returns the
  // file's size; throws (every rank then fails the gather).
  virtual std::uint64_t complete_gathered(const std::filesystem::path& partial, std::uint64_t bytes);

  // Output::stream: appends bytes to the partial file; throws IoError (disk full, ...) naming the
  // node and file. `rows`: the rows these bytes complete.
  void write_bytes(std::string_view bytes, std::uint64_t rows);
  // The rows and bytes an emit() wrote by other means than write_bytes().
  void count(std::uint64_t rows, std::uint64_t bytes);
  // Output::file: syncs the partial output and renames it (and its companions) to the final
  // path; the output's bytes become its size on disk. commit() does it after finish(); a sink
  // that writes the whole output elsewhere (raster_sink's gather) calls it itself.
  void publish();
  // Removes the partial output and its companions.
  void remove_partial() const noexcept;

  Output output() const { return output_; }
  // Under MPI: the output is this rank's band of final_path(), which gather() completes.
  bool is_band() const { return !final_.empty(); }
  const std::filesystem::path& final_path() const { return is_band() ? final_ : target_; }
  // Under MPI, once committed: the band file gather() reads (`<band>.partial` when the sink is
  // resumable, as its checkpoint names it; else `<band>`).
  const std::filesystem::path& committed_band() const { return band_; }
  // The output's partial name (Output::file): `<final_path()>.partial`.
  std::filesystem::path partial_path() const { return final_path().string() + ".partial"; }

 private:
  void check_folder() const;
  bool streams() const { return output_ == Output::stream || (output_ == Output::file && is_band()); }

  Output output_;
  bool may_be_folder_;
  std::filesystem::path target_;  // the file this process writes (the output, or its band)
  std::filesystem::path final_;   // under MPI: the run's output, which the bands make
  std::filesystem::path band_;    // under MPI, once committed: the band file
  std::unique_ptr<sinks::AtomicFile> file_;
  // Written by the sink's serial writer, read by progress displays: atomics.
  std::atomic<std::uint64_t> rows_{0};
  std::atomic<std::uint64_t> bytes_{0};
};

}  // namespace rasterflow
