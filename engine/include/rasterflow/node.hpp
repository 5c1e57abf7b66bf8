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
#include <vector>

#include "rasterflow/config.hpp"
#include "rasterflow/grid.hpp"
#include "rasterflow/options.hpp"
#include "rasterflow/ranks.hpp"

namespace rasterflow {

struct NodeSpec {
  std::string id;
  std::string type;
  std::vector<std::string> inputs;
  Options options;
  std::filesystem::path graph_file;  // for messages
  // `<graph file>: node "<id>" (<type>)`: the prefix of every message about this node.
  std::string where() const;
};

// Data flowing between nodes for one tile. Immutable once sent; shared by cheap handles.
class Payload {
 public:
  virtual ~Payload() = default;
  // Bytes of memory this payload holds (for the byte budget and metrics).
  virtual std::size_t bytes() const noexcept = 0;
};
using PayloadPtr = std::shared_ptr<const Payload>;

// What a source tells the engine to build the grid.
struct SourceFootprint {
  std::string crs;                        // the source's CRS as WKT ("" when it has none)
  Extent extent;                          // in the grid's CRS
  std::optional<std::array<double, 2>> resolution;  // in the grid's CRS, when it is the same CRS
};

// Fixed facts of a run that nodes may consult.
struct RunContext {
  Grid grid;
  const Config* config = nullptr;
  std::filesystem::path output_dir;
  int threads = 1;
  std::uint64_t memory_limit = 0;  // bytes: memory.limit, or the limit found for the process
  std::string output_suffix;  // appended to output paths (MPI ranks' local files)
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

  // Sources only: CRS and extent in `grid_crs` (WKT; empty = the source's own CRS).
  virtual std::optional<SourceFootprint> footprint(const std::string& grid_crs) const {
    (void)grid_crs;
    return std::nullopt;
  }
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
  // Estimated bytes this node holds per tile of `cells` target cells (for the byte budget).
  virtual std::size_t estimate_bytes(std::int64_t cells) const {
    (void)cells;
    return 0;
  }
  // Working memory each thread may hold while running this node, whatever the tile size.
  virtual std::size_t per_thread_bytes() const { return 0; }
  // Memory this node holds for the whole run, shared by all threads, whatever the tile size
  // (e.g. the decoded rows of its source's blocks).
  virtual std::size_t held_bytes() const { return 0; }
  // Called before the run when the memory limit is too tight for held_bytes(): first
  // shrink_held_bytes(), where the node holds less at some cost in speed (called again while it
  // shrinks and the limit is still too tight: one step per call), then, if that was not
  // enough, forgo_held_bytes(), where it gives that memory up (working much slower). Each
  // returns true when it changed anything.
  virtual bool shrink_held_bytes() { return false; }
  virtual bool forgo_held_bytes() { return false; }
  // Tiles that start and end on these grid rows (phase + k * rows) read whole blocks of this
  // node's source in its native tiling, so no block is decoded twice by two threads' handles.
  // `weight` (source bytes per grid row) decides whose alignment wins; rows 0: no preference.
  struct RowAlignment {
    std::int64_t rows = 0;
    std::int64_t phase = 0;
    double weight = 0;
  };
  virtual RowAlignment row_alignment() const { return {}; }
  // GDAL block cache this node's reads reuse between the tiles of one thread (e.g. one row of
  // the source's blocks), so the cache is sized to what is reused rather than to the machine.
  virtual std::size_t reused_cache_bytes() const { return 0; }
  // Source pixels this node reads for grid rows [row0, row0 + rows) (work estimates for MPI bands).
  virtual double input_pixels(std::int64_t row0, std::int64_t rows) const {
    (void)row0;
    (void)rows;
    return 0;
  }

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
};

}  // namespace rasterflow
