#pragma once
// The node model. A node type is one file pair in nodes/ that registers a NodeTypeInfo; the
// engine builds one Node per graph entry and runs it on every tile of the target grid.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "rasterflow/config.hpp"
#include "rasterflow/hpc/checkpoint.hpp"
#include "rasterflow/hpc/ranks.hpp"
#include "rasterflow/node/grid.hpp"
#include "rasterflow/node/options.hpp"

namespace rasterflow {

struct NodeSpec {
  std::string id;
  std::string type;
  std::vector<std::string> inputs;
  Options options;
  std::filesystem::path graph_file;  // for messages
  // Every option's value has been checked (the graph loader sets it, parse_graph): the node's
  // bind_options() then only converts them. A spec built otherwise is checked when it binds.
  bool options_checked = false;
  // `<graph file>: node "<id>" (<type>)`: the prefix of every message about this node.
  std::string where() const;
};

// What an edge of the graph carries, from a node type's output to another's input. The graph
// checks every edge's kinds once, when it loads; after that a node reads its inputs as their
// types (payload_as in rasterflow/node/payload.hpp).
enum class EdgeKind : std::uint8_t {
  none,    // no input (a source) or no output (a sink)
  source,  // a source's handle to its reader (raster_source -> resample)
  raster,  // one resampled band (Column) or several (Columns) over a tile
  table,   // the merged rows of a tile (Table)
  user,    // the embedder's own: a pair of its node types that share a payload type of its own
};
// "source", "raster", "table", "user"; "" for none (the reference and the graph's messages).
const char* edge_kind_name(EdgeKind kind) noexcept;

// The concrete type of a payload, as a tag the payload sets once: other for payload types that
// are not rasterflow's (a test's, an embedder's).
enum class PayloadType : std::uint8_t { other, source, column, columns, table };

// Data flowing between nodes for one tile. Immutable once sent; shared by cheap handles.
class Payload {
 public:
  Payload() noexcept = default;
  explicit Payload(PayloadType type) noexcept : type_(type) {}
  virtual ~Payload() = default;
  // Bytes of memory this payload holds (for the byte budget and metrics).
  virtual std::size_t bytes() const noexcept = 0;
  PayloadType type() const noexcept { return type_; }

 private:
  PayloadType type_ = PayloadType::other;
};
using PayloadPtr = std::shared_ptr<const Payload>;

// What a node needs of memory, for the planner: one value, not one virtual per figure.
struct ResourceNeeds {
  double bytes_per_cell = 0;     // held by its output, per cell of a tile in flight
  std::uint64_t per_thread = 0;  // working memory of a thread running it, whatever the tile size
  std::uint64_t held = 0;        // held for the whole run, shared by all threads
  std::uint64_t reused_cache =
      0;  // of the read cache sources go through (EngineHooks), reused between a thread's tiles
  // The steps the node can take to hold less, in order, each slower than the one before; the
  // planner takes them one at a time (take_step()) while the memory limit is too tight, first
  // the steps that only hold less, then those that give the held memory up.
  struct Step {
    std::string what;
    bool gives_up = false;
    double cost = 1.0;  // the CPU after the step over the CPU before (the cheapest steps are taken first)
  };
  std::vector<Step> steps;
  // What the node reads, for the memory planner's refusals ("claims.tif: 1048576 x 1048576
  // Int16 in blocks of 64 x 64"); empty when it reads no file.
  std::string source;
  // What a thread keeps between tiles once it has run the node (its thread_local buffers, its
  // per-thread handles and transformers), declared by name. Nodes that share one state (a
  // function's thread_local serves every node calling it) declare the same name: the planner
  // counts each name once per thread, at its largest, for every thread (DuckDB's local states).
  struct ThreadState {
    std::string what;  // "resample: source strip", "<node id>: geolocation transformer"
    std::uint64_t bytes = 0;
  };
  std::vector<ThreadState> thread_state;
};

// Fixed facts of a run that nodes may consult.
struct RunContext {
  Grid grid;
  const Config* config = nullptr;
  std::filesystem::path output_dir;
  int threads = 1;
  std::uint64_t memory_limit = 0;  // bytes: memory.limit, or the limit found for the process
  std::string output_suffix;       // appended to output paths (MPI ranks' local files)
};

class Node {
 public:
  explicit Node(NodeSpec spec) : spec_(std::move(spec)) {}
  virtual ~Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const NodeSpec& spec() const { return spec_; }
  const std::string& id() const { return spec_.id; }
  const std::string& type() const { return spec_.type; }
  std::string where() const { return spec_.where(); }

  // Once, after the grid is fixed and before any tile; `inputs` are the upstream nodes in the
  // order of the graph's `inputs`. Throws UsageError for anything that makes the run pointless.
  virtual void prepare(const RunContext& ctx, std::span<Node* const> inputs) {
    (void)ctx;
    (void)inputs;
  }
  // Processes one tile. Called concurrently for different tiles: implementations are
  // thread-safe. `inputs` holds one payload per input, in order.
  virtual PayloadPtr process(const TileRequest& tile, std::span<const PayloadPtr> inputs) = 0;
  // Human-readable facts for `rasterflow plan` (one line each).
  virtual std::vector<std::string> describe() const { return {}; }
  // Key/value tags the node adds to the metadata of its stage rows in the metrics database
  // (a resample node's units, for one), once prepared.
  virtual std::vector<std::pair<std::string, std::string>> metric_tags() const { return {}; }
  // Its memory needs, once prepared (the planner's input).
  virtual ResourceNeeds resources() const { return {}; }
  // Takes the first step of resources().steps; returns whether the node now holds less.
  virtual bool take_step() { return false; }

 private:
  NodeSpec spec_;
};

// A node that ends the graph: process() runs in parallel (e.g. formatting), then write() is
// called serially in tile order (seq 0, 1, 2...). open() before the first tile, commit() after
// the last; abort() on any failure or interruption must leave no file under the final name.
class SinkNode : public Node {
 public:
  using Node::Node;
  virtual void open() = 0;
  virtual void write(const TileRequest& tile, const PayloadPtr& data) = 0;
  virtual void commit() = 0;
  virtual void abort() noexcept = 0;
  // Rows and bytes written so far (for the summary).
  virtual std::uint64_t rows_written() const { return 0; }
  virtual std::uint64_t bytes_written() const { return 0; }
  virtual std::filesystem::path output_path() const { return {}; }
  // One writer per output: the engine locks output_path() itself (rasterflow/hpc/output_lock.hpp);
  // a sink whose output is elsewhere (a database table) takes its own lock here, held until the
  // sink is destroyed. Called once, before anything touches the output; throws OutputBusy naming
  // the output and the holder.
  virtual void claim_output() {}

  // Under MPI each rank runs a band of rows and its sinks commit that band; the sink decides
  // how the ranks' outputs become one. check_ranks() runs before anything runs and throws
  // UsageError when this sink cannot combine `ranks` processes' outputs (the default: no sink
  // combines unless it says how). gather() runs on every rank once all committed (collective);
  // it returns the final output and its size, or throws (leaving nothing under the final name).
  struct Gathered {
    std::filesystem::path path;
    std::uint64_t bytes = 0;
  };
  virtual void check_ranks(int ranks) const;
  virtual Gathered gather(Ranks& ranks);
  // The grid rows the sink's output is cut at (Parquet's row groups of whole grid rows): an MPI
  // band begins at a multiple of it, and a checkpoint records only the state after one (or at
  // the band's end). 0 or 1: any row.
  virtual std::int64_t row_multiple() const { return 0; }

  // Checkpoint and resume (rasterflow/hpc/checkpoint.hpp): a sink that can continue its partial
  // output after an interruption returns itself here. The default, null, means the sink cannot:
  // a run with it writes no checkpoint, and --resume refuses it.
  virtual ResumableSink* resumable() { return nullptr; }
};

}  // namespace rasterflow
