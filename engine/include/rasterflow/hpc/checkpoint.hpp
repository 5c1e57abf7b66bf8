#pragma once
// Checkpoint and resume (docs/hpc.md, "Surviving the walltime"). While a streaming run writes,
// its checkpoint (a small JSON file beside the first sink's output) says which run it belongs to
// (hashes of the graph, the output-shaping configuration, the inputs and the binary), the first
// grid row not yet written, and each sink's partial output length at that row. `rasterflow run
// --resume` checks all of it, cuts the partial outputs back to those lengths and continues from
// that row.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rasterflow {

// The capability a sink offers to be resumed (SinkNode::resumable(); none by default, and a run
// with a sink without it neither checkpoints nor resumes). Called serially with the sink's
// write(), but for sync(), which another sink's writer thread may call while this one writes.
class ResumableSink {
 public:
  struct State {
    std::filesystem::path partial;  // the file being written
    std::uint64_t bytes = 0;        // its length after the last tile written
    std::uint64_t rows = 0;         // rows written up to there
    std::string data;               // what else the sink needs to resume (checkpoint_data())
  };
  virtual ~ResumableSink() = default;
  // What is written so far, after the last write().
  virtual State written() const = 0;
  // Makes every byte written so far durable (fdatasync). Throws IoError.
  virtual void sync() = 0;
  // Instead of open(): reopens `state.partial`, cut back to `state.bytes`, to append after it.
  // Throws IoError when the file is missing or shorter.
  virtual void reopen(const State& state) = 0;
  // Instead of abort(), when the run stops to be resumed: closes the partial output, keeps it.
  virtual void suspend() noexcept = 0;
  // Text the checkpoint keeps with `state` (a state written() returned), handed back to
  // reopen() in State::data: what the sink needs beyond the file to continue it (Parquet's
  // written row groups for its footer). Called when the checkpoint is saved, from any thread.
  virtual std::string checkpoint_data(const State& state) const {
    (void)state;
    return {};
  }
};

// An input file as a checkpoint identifies it: its path, size and modification time (not a
// content hash: reading every input again at each resume would cost a pass over the data).
struct InputIdentity {
  std::string node;        // the node whose option names it
  std::string path;        // as resolved; "" parts of GDAL names (NETCDF:"f.nc":v) reduced to the file
  std::int64_t size = -1;  // -1: not a file rasterflow could stat (a /vsicurl/ URL, ...)
  std::int64_t mtime_ns = 0;
};

// What a run's output depends on. Two runs with the same identity write the same bytes.
struct RunIdentity {
  std::string graph;                          // SHA-256 of the graph as loaded and its nodes.* overrides
  std::map<std::string, std::string> config;  // output-shaping key -> SHA-256 of its value
  std::vector<InputIdentity> inputs;
  std::string version;         // rasterflow's version
  std::string binary;          // SHA-256 of the executable and rasterflow's two libraries
  std::int64_t row_begin = 0;  // the band this process writes (the grid, or an MPI rank's band)
  std::int64_t row_end = 0;
  std::int64_t grid_width = 0;
  std::int64_t grid_height = 0;
  int rank = 0;
  int ranks = 1;
};

struct Checkpoint {
  RunIdentity identity;
  std::int64_t next_row = 0;  // the first row not yet written
  struct Sink {
    std::string id;
    ResumableSink::State state;
    std::string tail_sha256;  // of the last (up to) 64 KiB before state.bytes
  };
  std::vector<Sink> sinks;
  // The metrics experiment of the run that wrote it (the resumed run's links to it).
  std::optional<std::int64_t> experiment;
  std::string database;  // MetricsBackend::describe() of that experiment's database
};

// What differs between a checkpoint and the run about to resume, one line each ("" none).
std::vector<std::string> identity_differences(const RunIdentity& saved, const RunIdentity& now);

// JSON text and back; read_checkpoint throws UsageError naming the file when it is not one.
std::string checkpoint_json(const Checkpoint& c);
Checkpoint read_checkpoint(const std::filesystem::path& file);
// Atomically: written beside as `<file>.tmp`, fsynced, renamed over `file`, the folder fsynced.
// Throws IoError; the previous checkpoint stays whole when any step fails.
void write_checkpoint(const std::filesystem::path& file, const Checkpoint& c);

// SHA-256 (OpenSSL's libcrypto) of text, of a file's bytes, and of a file's last `tail` bytes
// before `end`, as lowercase hex; "" when the file cannot be read.
std::string sha256_hex(const std::string& text);
std::string file_sha256(const std::filesystem::path& file);
std::string tail_sha256(const std::filesystem::path& file, std::uint64_t end, std::uint64_t tail = 64 << 10);

// The identity of this rasterflow build: SHA-256 of /proc/self/exe and of the core and nodes
// libraries (found by dladdr), computed once per process.
const std::string& binary_identity();

}  // namespace rasterflow
