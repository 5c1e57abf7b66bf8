#include "rasterflow/pipeline.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <boost/json.hpp>
#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/info.h>
#include <oneapi/tbb/task_arena.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <map>
#include <mutex>

#include "adaptive.hpp"
#include "stage_tracker.hpp"
#include "trace.hpp"
#include "rasterflow/errors.hpp"
#include "rasterflow/hooks.hpp"
#include "rasterflow/registry.hpp"
#include "rasterflow/size.hpp"
#include "rasterflow/placement.hpp"
#include "rasterflow/tile_memory.hpp"
#include "rasterflow/topology.hpp"
#include "rasterflow_version.hpp"

namespace flow = oneapi::tbb::flow;

namespace rasterflow {
namespace {

// A node's output for one tile, tagged with the node that produced it.
struct Message {
  TileRequest tile;
  PayloadPtr payload;
  std::size_t producer = 0;
};

// Inputs of a node for one tile, in the order of its `inputs`.
struct Bundle {
  TileRequest tile;
  std::vector<PayloadPtr> inputs;
};

constexpr double kMaxGridCells = 1099511627776.0;  // 2^40

struct Counters {
  std::atomic<std::uint64_t> items{0};
  std::atomic<std::uint64_t> cells{0};
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::int64_t> busy_ns{0};
};

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
}

}  // namespace

std::uint64_t peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<std::uint64_t>(usage.ru_maxrss) * 1024u;
}

void set_log_level(const std::string& level) {
  const auto parsed = spdlog::level::from_str(level);
  if ((parsed == spdlog::level::off && level != "off") || level == "critical") {
    throw UsageError("--log-level: unknown level \"" + level + "\" (expected trace, debug, info, warn or error)");
  }
  spdlog::set_level(parsed);
}

std::string version() { return RASTERFLOW_VERSION_STRING; }

struct Pipeline::Impl {
  GraphSpec graph;
  Config config;
  RunOptions options;
  RunContext context;
  std::vector<std::unique_ptr<Node>> nodes;           // topological order, as graph.nodes
  std::vector<std::vector<std::size_t>> input_index;  // per node: indices of its inputs
  std::vector<std::size_t> sinks;
  std::int64_t tile_rows = 1;  // the first tiles' height (later ones follow the window size)
  static constexpr std::size_t kTileBytes = std::size_t{3} << 20;  // a tile's working memory, about
  static constexpr double kCacheChurn = 1.5;  // what GDAL's cache costs, per byte of it, when blocks churn through it
  int threads = 1;
  int max_in_flight = 2;
  std::string grid_origin;  // how the grid was decided, for the plan
  std::string threads_source;
  TopologySummary topology;
  NumaPlacement placement;
  // Memory
  std::shared_ptr<MemorySource> memory_source;
  std::uint64_t limit = 0;
  std::uint64_t baseline_rss = 0;
  std::uint64_t gdal_cache = 0;
  std::uint64_t fixed_bytes = 0;  // per-thread working buffers of all nodes, and held_bytes
  std::uint64_t held_bytes = 0;   // of which: memory the nodes hold for the whole run (decoded block rows)
  std::uint64_t budget = 0;       // what tiles in flight may hold
  double plan_bytes_per_cell = 0;
  // Live figures for progress displays.
  std::atomic<std::uint64_t> live_cells{0};
  std::atomic<std::uint64_t> live_rows{0};
  std::atomic<int> live_level{0};
  std::atomic<int> live_window{0};
  std::atomic<int> live_in_flight{0};

  void build_nodes();
  void resolve_grid();
  void size_memory();
  std::int64_t rows_for(int window_size, int chunk_size) const;
  std::int64_t aligned_end(std::int64_t row, std::int64_t rows) const;
  std::pair<std::int64_t, std::int64_t> band() const;
  std::int64_t band_height() const;
  Node::RowAlignment alignment;  // of the node whose source bytes per grid row are largest
  double bytes_per_cell(bool sinks_too) const;
};

namespace {
std::string comparable_path(const std::string& path) {
  std::error_code ec;
  const auto canonical = std::filesystem::weakly_canonical(path, ec);
  return ec ? std::filesystem::path(path).lexically_normal().string() : canonical.string();
}
}  // namespace

void Pipeline::Impl::build_nodes() {
  // No output may overwrite an input, nor another output: checked before anything runs.
  std::map<std::string, std::string> inputs_by_path, outputs_by_path;
  for (const auto& spec : graph.nodes) {
    for (const auto& o : NodeRegistry::instance().find(spec.type)->options) {
      if (!spec.options.has(o.name)) continue;
      if (o.type == OptionType::input_path) inputs_by_path[comparable_path(spec.options.str(o.name))] = spec.id;
    }
  }
  for (const auto& spec : graph.nodes) {
    for (const auto& o : NodeRegistry::instance().find(spec.type)->options) {
      if (o.type != OptionType::output_path || !spec.options.has(o.name)) continue;
      const std::filesystem::path p(spec.options.str(o.name));
      const std::string out = comparable_path((p.is_relative() ? options.output_dir / p : p).string());
      if (const auto it = inputs_by_path.find(out); it != inputs_by_path.end()) {
        throw_graph_error(spec.where(), "option \"" + o.name + "\": " + out + " is the input of node \"" + it->second +
                                            "\"; refusing to overwrite an input");
      }
      if (const auto it = outputs_by_path.find(out); it != outputs_by_path.end()) {
        throw_graph_error(spec.where(), "option \"" + o.name + "\": " + out + " is also written by node \"" + it->second + "\"");
      }
      outputs_by_path[out] = spec.id;
    }
  }
  std::map<std::string, std::size_t> index;
  for (const auto& spec : graph.nodes) {
    const NodeTypeInfo* info = NodeRegistry::instance().find(spec.type);
    NodeSpec copy = spec;
    for (const auto& o : info->options) {
      if (o.type == OptionType::output_path && copy.options.has(o.name)) {
        const std::filesystem::path p(copy.options.str(o.name));
        copy.options.set(o.name, (p.is_relative() ? options.output_dir / p : p).lexically_normal().string());
      }
    }
    index[spec.id] = nodes.size();
    try {
      nodes.push_back(info->create(std::move(copy)));
    } catch (const std::bad_alloc&) {
      throw_graph_error(spec.where(), "out of memory while setting the node up");
    }
    std::vector<std::size_t> ins;
    for (const auto& in : spec.inputs) ins.push_back(index.at(in));
    input_index.push_back(std::move(ins));
    if (info->is_sink) sinks.push_back(nodes.size() - 1);
  }
}

void Pipeline::Impl::resolve_grid() {
  const std::string where = graph.file.string() + ": grid";
  std::string crs;
  if (graph.grid.crs) {
    crs = hooks().normalize_crs(*graph.grid.crs, where);
  } else {
    for (const auto& node : nodes) {
      if (const auto fp = node->footprint("")) {
        if (fp->crs.empty()) throw_graph_error(node->where(), "the source has no CRS; give the grid a \"crs\" and the source a CRS");
        crs = fp->crs;
        break;
      }
    }
    if (crs.empty()) throw_graph_error(where, "no source node to take the CRS from; set grid.crs");
  }
  std::optional<Extent> extent;
  std::optional<std::array<double, 2>> finest;
  std::vector<std::pair<std::string, Extent>> footprints;
  for (const auto& node : nodes) {
    const auto fp = node->footprint(crs);
    if (!fp) continue;
    footprints.emplace_back(node->id(), fp->extent);
    if (fp->resolution) {
      if (!finest) finest = fp->resolution;
      else finest = std::array<double, 2>{std::min((*finest)[0], (*fp->resolution)[0]), std::min((*finest)[1], (*fp->resolution)[1])};
    }
    if (!extent) {
      extent = fp->extent;
    } else if (graph.grid.extent_mode == ExtentMode::union_) {
      extent = unite(*extent, fp->extent);
    } else {
      extent = intersect(*extent, fp->extent);
    }
  }
  if (graph.grid.extent_mode == ExtentMode::explicit_) {
    extent = graph.grid.extent;
    grid_origin = "explicit extent";
  } else {
    if (!extent) throw_graph_error(where, "no source to derive the extent from; give \"extent\": [xmin, ymin, xmax, ymax]");
    if (extent->empty()) {
      std::string list;
      for (const auto& [id, e] : footprints) {
        list += "\n  " + id + ": [" + std::to_string(e.xmin) + ", " + std::to_string(e.ymin) + ", " + std::to_string(e.xmax) + ", " + std::to_string(e.ymax) + "]";
      }
      throw_graph_error(where, "field \"extent\": the sources do not overlap, so their intersection is empty (use \"union\" or an explicit extent):" + list);
    }
    grid_origin = graph.grid.extent_mode == ExtentMode::union_ ? "union of the sources" : "intersection of the sources";
  }
  std::array<double, 2> res{};
  if (graph.grid.resolution) {
    res = *graph.grid.resolution;
  } else if (finest) {
    res = *finest;
    grid_origin += ", finest source resolution";
  } else {
    throw_graph_error(where, "field \"resolution\": required when the sources are not in the grid's CRS");
  }
  Grid grid = snap_grid(*extent, res[0], res[1], crs);
  const double cells = static_cast<double>(grid.width) * static_cast<double>(grid.height);
  if (grid.width <= 0 || grid.height <= 0) throw_graph_error(where, "the grid has no cells (extent smaller than one cell?)");
  if (cells > kMaxGridCells) {
    throw_graph_error(where, "the grid would have " + std::to_string(grid.width) + " x " + std::to_string(grid.height) +
                                 " cells, more than 2^40; check \"resolution\" (in the units of the grid's CRS)");
  }
  context.grid = grid;
}


double Pipeline::Impl::bytes_per_cell(bool sinks_too) const {
  constexpr std::int64_t kCells = 1 << 20;
  double total = 0;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const bool is_sink = std::find(sinks.begin(), sinks.end(), i) != sinks.end();
    if (!is_sink || sinks_too) total += static_cast<double>(nodes[i]->estimate_bytes(kCells));
  }
  return total / static_cast<double>(kCells);
}

// The rows [begin, end) this pipeline runs: its band, or the whole grid.
std::pair<std::int64_t, std::int64_t> Pipeline::Impl::band() const {
  const std::int64_t h = context.grid.height;
  const std::int64_t end = options.row_end > 0 ? std::min(options.row_end, h) : h;
  return {std::clamp<std::int64_t>(options.row_begin, 0, end), end};
}

std::int64_t Pipeline::Impl::band_height() const {
  const auto [begin, end] = band();
  return end - begin;
}

std::int64_t Pipeline::Impl::aligned_end(std::int64_t row, std::int64_t rows) const {
  // The last aligned row boundary in (row, row + rows], if any: tiles then read whole blocks.
  if (options.tile_rows > 0 || alignment.rows <= 1) return row + rows;
  const std::int64_t end = row + rows;
  const std::int64_t k = (end - alignment.phase) >= 0 ? (end - alignment.phase) / alignment.rows : -1;
  const std::int64_t boundary = alignment.phase + k * alignment.rows;
  return boundary > row && k >= 0 ? boundary : end;
}

std::int64_t Pipeline::Impl::rows_for(int window_size, int chunk_size) const {
  const Grid& g = context.grid;
  if (options.tile_rows > 0) return std::min(options.tile_rows, g.height);
  // A tile is a band of whole rows: at most window_size^2 cells and at most merge.chunk_size
  // rows, at most kTileBytes of working memory (so that tiles in flight hold the same memory
  // whatever the grid's width), and small enough that every thread gets about four tiles.
  std::int64_t rows = std::min<std::int64_t>(band_rows(g.width, window_size), chunk_size);
  const double row_bytes = std::max(1.0, plan_bytes_per_cell * static_cast<double>(g.width));
  rows = std::min<std::int64_t>(rows, std::max<std::int64_t>(1, static_cast<std::int64_t>(static_cast<double>(kTileBytes) / row_bytes)));
  const std::int64_t share = (band_height() + 4 * threads - 1) / (4 * threads);
  rows = std::min(rows, std::max<std::int64_t>(share, 16));
  return std::max<std::int64_t>(1, std::min(rows, g.height));
}

void Pipeline::Impl::size_memory() {
  baseline_rss = memory_source->sample().process_rss;
  const Grid& g = context.grid;  // plan_bytes_per_cell: set once the nodes are prepared
  const auto one_row = static_cast<std::uint64_t>(plan_bytes_per_cell * static_cast<double>(g.width));
  const double usable = static_cast<double>(limit) * config.memory.warning_threshold;
  double reserved = 0;
  const auto reserve = [&] {
    // GDAL's block cache holds what is read again through it (the fast path reads decoded block
    // rows shared by all threads instead, see held_bytes): per thread (each has its own dataset
    // handles, and GDAL caches blocks per handle), plus a quarter. More would only keep blocks
    // no tile reads again; never more than a quarter of the limit.
    // A thread runs one node at a time: it needs the largest working buffer of any node.
    std::uint64_t per_thread = 0;
    for (const auto& n : nodes) per_thread = std::max<std::uint64_t>(per_thread, n->per_thread_bytes());
    held_bytes = 0;
    for (const auto& n : nodes) held_bytes += n->held_bytes();
    fixed_bytes = per_thread * static_cast<std::uint64_t>(threads) + held_bytes;
    std::uint64_t reused = 0;
    for (const auto& n : nodes) reused += n->reused_cache_bytes();
    const auto need = static_cast<std::uint64_t>(1.25 * static_cast<double>(reused * static_cast<std::uint64_t>(threads))) + (4u << 20);
    std::uint64_t cap = std::max<std::uint64_t>(8u << 20, limit / 4);
    // A cache that blocks churn through costs more than its size: evicted blocks are freed on
    // one thread and allocated on another, and the allocator does not give every freed page
    // back at once (large read through a 28 MiB cache under 112 MiB peaked at 108-116 MiB, 90
    // planned). Counted kChurn times, and no larger than what leaves two grid rows for tiles.
    // Under a tight limit it may go down to 4 MiB (from GDAL's usual 8 MiB at least).
    const double churn = reused > 0 ? kCacheChurn : 1.0;
    std::uint64_t least = 8u << 20;
    if (reused > 0) {
      const double left = usable - static_cast<double>(baseline_rss + fixed_bytes + 2 * one_row);
      cap = std::min(cap, std::max<std::uint64_t>(4u << 20, static_cast<std::uint64_t>(std::max(0.0, left) / churn)));
      least = std::min(least, cap);
    }
    gdal_cache = std::clamp<std::uint64_t>(need, least, cap);
    reserved = static_cast<double>(baseline_rss + fixed_bytes) + churn * static_cast<double>(gdal_cache);
    budget = usable > reserved ? static_cast<std::uint64_t>(usable - reserved) : 0;
  };
  reserve();
  // Decoded block rows that leave tiles less than two grid rows are first shrunk (sources
  // decoded in the smallest streams their files allow), then given up: the sources are then
  // read through GDAL's cache (bounded by the limit; much slower, as blocks are decoded again
  // for every tile) rather than refusing the run. Thin tiles with the rows held are still
  // faster than decoding again, so they are kept whenever two rows fit.
  // Each call shrinks them one step (smaller units, then smaller inflate states).
  for (bool shrunk = true; budget < 2 * one_row && shrunk;) {
    shrunk = false;
    for (const auto& n : nodes) shrunk = n->shrink_held_bytes() || shrunk;
    if (shrunk) {
      reserve();
      spdlog::info("memory.limit {}: sources decoded in smaller streams to fit ({} of decoded rows)", format_size(limit), format_size(held_bytes));
    }
  }
  if (budget < 2 * one_row) {
    bool gave_up = false;
    for (const auto& n : nodes) gave_up = n->forgo_held_bytes() || gave_up;
    if (gave_up) {
      reserve();
      spdlog::info("memory.limit {}: the sources' decoded block rows do not fit; reading through GDAL's cache instead", format_size(limit));
    }
  }
  if (budget < one_row) {
    throw ConfigError("memory.limit: " + format_size(limit) + " is too small for this graph: the process already uses " +
                      format_size(baseline_rss) + ", GDAL's cache, the decoded block rows and the working buffers of " + std::to_string(threads) +
                      " threads need " + format_size(static_cast<std::uint64_t>(reserved) - baseline_rss) + ", and one row of the grid (" +
                      std::to_string(g.width) + " cells) needs " + format_size(one_row) + "; at least " +
                      format_size(static_cast<std::uint64_t>((reserved + static_cast<double>(one_row)) / config.memory.warning_threshold)) +
                      " is needed");
  }
  if (!config.merge.enable_streaming) {
    const auto whole = static_cast<std::uint64_t>(bytes_per_cell(false) * static_cast<double>(g.cells()));
    if (static_cast<double>(whole) > usable - reserved) {
      throw ConfigError("merge.enable_streaming: false (--in-memory) would hold the whole merged grid, about " + format_size(whole) +
                        ", which does not fit in the memory limit of " + format_size(limit) + " (" + format_size(baseline_rss) +
                        " already in use); stream it instead (--streaming)");
    }
  }
}

Pipeline::Pipeline(const GraphSpec& graph, const Config& config, RunOptions options) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.graph = graph;
  m.config = config;
  m.options = std::move(options);
  // --threads, engine.threads, SLURM_CPUS_PER_TASK, the cgroup CPU quota, the affinity mask.
  const ThreadDecision threads = decide_threads(m.options.threads > 0 ? m.options.threads : m.config.engine.threads,
                                                m.options.threads > 0 ? (m.options.threads_source.empty() ? "--threads" : m.options.threads_source)
                                                                      : "engine.threads",
                                                read_thread_inputs());
  m.threads = threads.threads;
  m.threads_source = threads.source;
  m.topology = read_topology();
  m.placement = decide_placement(m.config.engine.numa, m.topology, m.threads, tbb_numa_ids());
  for (const auto& f : m.placement.fallbacks) spdlog::warn("NUMA placement: {}", f);
  m.build_nodes();
  m.resolve_grid();
  m.context.config = &m.config;
  m.context.output_dir = m.options.output_dir;
  m.context.threads = m.threads;
  m.memory_source = m.options.memory_source ? m.options.memory_source : std::make_shared<SystemMemorySource>();
  m.limit = m.config.memory.limit > 0 ? m.config.memory.limit : m.memory_source->auto_limit();
  m.context.memory_limit = m.limit;
  m.context.output_suffix = m.options.output_suffix;
  m.max_in_flight = m.options.max_tiles_in_flight > 0 ? m.options.max_tiles_in_flight : std::max(2, 2 * m.threads);
  for (std::size_t i = 0; i < m.nodes.size(); ++i) {
    std::vector<Node*> inputs;
    for (const auto j : m.input_index[i]) inputs.push_back(m.nodes[j].get());
    try {
      m.nodes[i]->prepare(m.context, inputs);
    } catch (const std::bad_alloc&) {
      throw_graph_error(m.nodes[i]->where(), "out of memory while preparing the node");
    }
  }
  m.plan_bytes_per_cell = m.bytes_per_cell(true);
  m.tile_rows = m.rows_for(m.config.resampling.window_size, m.config.merge.chunk_size);
  for (const auto& node : m.nodes) {
    const Node::RowAlignment a = node->row_alignment();
    if (a.rows > 0 && a.weight > m.alignment.weight) m.alignment = a;
  }
  m.tile_rows = m.aligned_end(m.alignment.phase, m.tile_rows) - m.alignment.phase;
  m.size_memory();
}

Pipeline::~Pipeline() = default;

const Grid& Pipeline::grid() const { return impl_->context.grid; }
int Pipeline::threads() const { return impl_->threads; }
std::int64_t Pipeline::tile_rows() const { return impl_->tile_rows; }
std::uint64_t Pipeline::memory_limit() const { return impl_->limit; }

Pipeline::Live Pipeline::live() const {
  const Impl& m = *impl_;
  Live l;
  l.cells_done = m.live_cells.load();
  l.cells_total = static_cast<std::uint64_t>(m.band_height() * m.context.grid.width);
  l.rows_written = m.live_rows.load();
  l.level = static_cast<PressureLevel>(m.live_level.load());
  l.window_size = m.live_window.load();
  l.tiles_in_flight = m.live_in_flight.load();
  return l;
}
void Pipeline::set_metric_recorder(std::function<void(MetricRow)> record) { impl_->options.record_metric = std::move(record); }
std::uint64_t Pipeline::tile_budget() const { return impl_->budget; }

std::vector<RowBand> Pipeline::bands(int count) const {
  const Impl& m = *impl_;
  const Grid& g = m.context.grid;
  if (count < 1) throw UsageError("the number of ranks must be at least 1");
  if (count > g.height) {
    throw UsageError(std::to_string(count) + " ranks for a grid of " + std::to_string(g.height) + " rows: each rank needs at least one row");
  }
  // Work of every row: the source pixels the resampling nodes read for it, plus its cells
  // (formatting and writing a cell costs about as much as decoding a few pixels).
  constexpr double kCellWork = 4.0;
  std::vector<double> pixels(static_cast<std::size_t>(g.height), 0.0);
  for (const auto& node : m.nodes) {
    for (std::int64_t r = 0; r < g.height; ++r) pixels[static_cast<std::size_t>(r)] += node->input_pixels(r, 1);
  }
  // prefix[r]: the work of rows [0, r). Band k ends at the row boundary nearest to k/count of
  // the total, keeping at least one row in every band.
  std::vector<double> prefix(static_cast<std::size_t>(g.height) + 1, 0.0);
  for (std::int64_t r = 0; r < g.height; ++r) {
    prefix[static_cast<std::size_t>(r) + 1] = prefix[static_cast<std::size_t>(r)] + pixels[static_cast<std::size_t>(r)] + kCellWork * static_cast<double>(g.width);
  }
  const double total = prefix.back();
  std::vector<std::int64_t> ends;
  for (int k = 1; k < count; ++k) {
    const double target = total * k / count;
    auto e = static_cast<std::int64_t>(std::lower_bound(prefix.begin(), prefix.end(), target) - prefix.begin());
    if (e > 0 && target - prefix[static_cast<std::size_t>(e) - 1] < prefix[static_cast<std::size_t>(e)] - target) --e;
    const std::int64_t lowest = ends.empty() ? 1 : ends.back() + 1;
    ends.push_back(std::clamp<std::int64_t>(e, lowest, g.height - (count - k)));
  }
  ends.push_back(g.height);
  std::vector<RowBand> out;
  std::int64_t row = 0;
  for (const std::int64_t end : ends) {
    RowBand band;
    band.row0 = row;
    band.rows = end - row;
    for (std::int64_t r = row; r < end; ++r) band.input_pixels += pixels[static_cast<std::size_t>(r)];
    band.work = prefix[static_cast<std::size_t>(end)] - prefix[static_cast<std::size_t>(row)];
    out.push_back(band);
    row = end;
  }
  return out;
}

void Pipeline::set_band(std::int64_t row_begin, std::int64_t row_end) {
  impl_->options.row_begin = row_begin;
  impl_->options.row_end = row_end;
}

std::string Pipeline::topology_line() const {
  const Impl& m = *impl_;
  return "topology: " + m.topology.description() + (m.topology.source == "this machine" ? "" : " (" + m.topology.source + ")") + "; " +
         std::to_string(m.threads) + (m.threads == 1 ? " thread (" : " threads (") + m.threads_source + "); NUMA placement " + m.placement.description();
}

namespace {
boost::json::object topology_json(const TopologySummary& t, const NumaPlacement& p, int threads, const std::string& threads_source) {
  boost::json::array domains, fallbacks, distances;
  for (const auto& d : p.domains) domains.emplace_back(boost::json::object{{"node", d.os_index}, {"tbb_numa_id", d.tbb_id}, {"threads", d.threads}});
  for (const auto& f : p.fallbacks) fallbacks.emplace_back(f);
  for (const auto v : t.distances) distances.emplace_back(v);
  return boost::json::object{{"packages", t.packages},
                             {"numa_nodes", t.numa_nodes},
                             {"cores", t.cores},
                             {"pus", t.pus},
                             {"source", t.source},
                             {"threads", threads},
                             {"threads_source", threads_source},
                             {"numa_distances", distances},
                             {"remote_ratio", t.remote_ratio()},
                             {"placement", boost::json::object{{"mode", p.mode},
                                                               {"active", p.active},
                                                               {"reason", p.reason},
                                                               {"arenas_pinned", p.arenas_pinned},
                                                               {"memory_bound", p.memory_bound},
                                                               {"domains", domains},
                                                               {"fallbacks", fallbacks}}}};
}

// A node's options as plans show them: in declaration order, set ones only, secrets masked.
std::vector<std::pair<std::string, std::string>> shown_options(const Node& n) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& o : NodeRegistry::instance().find(n.type())->options) {
    const auto it = n.spec().options.all().find(o.name);
    if (it == n.spec().options.all().end() || std::holds_alternative<std::monostate>(it->second)) continue;
    out.emplace_back(o.name, option_display_text(o, it->second));
  }
  return out;
}

}  // namespace

std::vector<std::string> Pipeline::plan() const {
  const Impl& m = *impl_;
  const Grid& g = m.context.grid;
  std::vector<std::string> lines;
  lines.push_back("graph " + m.graph.name + " (" + m.graph.file.string() + ")");
  char buf[512];
  std::snprintf(buf, sizeof buf, "grid: %s, %lld x %lld cells (%.6g x %.6g), extent [%.12g, %.12g, %.12g, %.12g] (%s)",
                hooks().crs_label(g.crs).c_str(), static_cast<long long>(g.width), static_cast<long long>(g.height), g.res_x,
                g.res_y, g.extent().xmin, g.extent().ymin, g.extent().xmax, g.extent().ymax, m.grid_origin.c_str());
  lines.emplace_back(buf);
  lines.push_back(topology_line());
  for (const auto& f : m.placement.fallbacks) lines.push_back("    fallback: " + f);
  if (const double ratio = m.topology.remote_ratio(); ratio > 0) {
    std::snprintf(buf, sizeof buf, "    NUMA distances: remote access costs %.2fx local (hwloc distance matrix)", ratio);
    lines.emplace_back(buf);
  }
  const std::int64_t tiles = (g.height + m.tile_rows - 1) / m.tile_rows;
  std::snprintf(buf, sizeof buf, "tiles: about %lld bands of %lld rows (%lld cells), at most %d in flight; %d threads",
                static_cast<long long>(tiles), static_cast<long long>(m.tile_rows), static_cast<long long>(m.tile_rows * g.width),
                m.max_in_flight, m.threads);
  lines.emplace_back(buf);
  for (std::size_t i = 0; i < m.nodes.size(); ++i) {
    const Node& n = *m.nodes[i];
    std::string line = "node " + n.id() + " (" + n.type() + ")";
    if (!n.spec().inputs.empty()) {
      line += " <- ";
      for (std::size_t k = 0; k < n.spec().inputs.size(); ++k) line += (k ? ", " : "") + n.spec().inputs[k];
    }
    line += ": ~" + format_size(n.estimate_bytes(m.tile_rows * g.width)) + " per tile";
    if (n.per_thread_bytes() > 0) line += ", " + format_size(n.per_thread_bytes()) + " per thread";
    lines.push_back(line);
    std::string options;
    for (const auto& [name, text] : shown_options(n)) options += (options.empty() ? "" : ", ") + name + "=" + text;
    if (!options.empty()) lines.push_back("    options: " + options);
    for (const auto& d : n.describe()) lines.push_back("    " + d);
  }
  const auto per_tile = static_cast<std::uint64_t>(m.plan_bytes_per_cell * static_cast<double>(m.tile_rows * g.width));
  lines.push_back("memory: limit " + format_size(m.limit) + " (" + (m.config.memory.limit > 0 ? "memory.limit" : "auto") + "); in use " +
                  format_size(m.baseline_rss) + ", GDAL cache " + format_size(m.gdal_cache) + ", thread buffers " +
                  format_size(m.fixed_bytes - m.held_bytes) + ", decoded block rows " + format_size(m.held_bytes) + "; tiles in flight may hold " + format_size(m.budget) + " (~" + format_size(per_tile) +
                  " per tile)");
  if (m.config.merge.enable_streaming) {
    lines.push_back("export: streaming; every buffer is bounded by the tiles admitted, so memory does not grow with the grid");
  } else {
    lines.push_back("export: in-memory; holds the merged grid, ~" +
                    format_size(static_cast<std::uint64_t>(m.bytes_per_cell(false) * static_cast<double>(g.cells()))) +
                    ", then writes it");
  }
  return lines;
}

std::string Pipeline::plan_json() const {
  const Impl& m = *impl_;
  const Grid& g = m.context.grid;
  const Extent e = g.extent();
  boost::json::object grid{{"crs", hooks().crs_label(g.crs)},    {"width", g.width},   {"height", g.height},
                           {"resolution", boost::json::array{g.res_x, g.res_y}},
                           {"extent", boost::json::array{e.xmin, e.ymin, e.xmax, e.ymax}}, {"origin", m.grid_origin}};
  boost::json::array nodes;
  for (const auto& n : m.nodes) {
    boost::json::object options;
    for (const auto& [name, text] : shown_options(*n)) options[name] = text;
    boost::json::array inputs, notes;
    for (const auto& in : n->spec().inputs) inputs.emplace_back(in);
    for (const auto& d : n->describe()) notes.emplace_back(d);
    nodes.emplace_back(boost::json::object{{"id", n->id()},
                                           {"type", n->type()},
                                           {"inputs", inputs},
                                           {"options", options},
                                           {"bytes_per_tile", n->estimate_bytes(m.tile_rows * g.width)},
                                           {"bytes_per_thread", n->per_thread_bytes()},
                                           {"notes", notes}});
  }
  const boost::json::object memory{{"limit", m.limit},           {"limit_source", m.config.memory.limit > 0 ? "memory.limit" : "auto"},
                                   {"in_use", m.baseline_rss},   {"gdal_cache", m.gdal_cache},
                                   {"thread_buffers", m.fixed_bytes - m.held_bytes}, {"decoded_block_rows", m.held_bytes}, {"tile_budget", m.budget},
                                   {"bytes_per_cell", m.plan_bytes_per_cell}};
  const boost::json::object root{{"graph", m.graph.name},
                                 {"file", m.graph.file.string()},
                                 {"grid", grid},
                                 {"tiles", boost::json::object{{"rows", m.tile_rows},
                                                               {"count", (g.height + m.tile_rows - 1) / m.tile_rows},
                                                               {"max_in_flight", m.max_in_flight}}},
                                 {"threads", m.threads},
                                 {"threads_source", m.threads_source},
                                 {"topology", topology_json(m.topology, m.placement, m.threads, m.threads_source)},
                                 {"nodes", nodes},
                                 {"memory", memory},
                                 {"export", m.config.merge.enable_streaming ? "streaming" : "in-memory"}};
  return boost::json::serialize(root) + "\n";
}

namespace {
std::string dot_escape(const std::string& text) {
  std::string out;
  for (const char ch : text) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out;
}
}  // namespace

std::string Pipeline::plan_dot() const {
  const Impl& m = *impl_;
  const Grid& g = m.context.grid;
  char grid_text[256];
  std::snprintf(grid_text, sizeof grid_text, "grid %s, %lld x %lld cells of %.6g x %.6g; tiles of %lld rows; %d threads",
                hooks().crs_label(g.crs).c_str(), static_cast<long long>(g.width), static_cast<long long>(g.height), g.res_x, g.res_y,
                static_cast<long long>(m.tile_rows), m.threads);
  std::string out = "digraph \"" + dot_escape(m.graph.name) + "\" {\n  rankdir=LR;\n  labelloc=t;\n  label=\"" +
                    dot_escape(m.graph.name + ": " + grid_text) + "\";\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n";
  for (const auto& n : m.nodes) {
    std::string label = n->id() + "\\n(" + n->type() + ")";
    for (auto [name, text] : shown_options(*n)) {
      if (text.size() > 40) text = "…" + text.substr(text.size() - 39);
      label += "\\n" + dot_escape(name + "=" + text);
    }
    const auto* info = NodeRegistry::instance().find(n->type());
    const char* shape = info->is_sink ? "note" : n->spec().inputs.empty() ? "cylinder" : "box";
    out += "  \"" + dot_escape(n->id()) + "\" [label=\"" + label + "\", shape=" + shape + "];\n";
  }
  for (const auto& n : m.nodes) {
    for (const auto& in : n->spec().inputs) out += "  \"" + dot_escape(in) + "\" -> \"" + dot_escape(n->id()) + "\";\n";
  }
  out += "}\n";
  return out;
}

namespace {

// Admission of tiles into the flow graph: at most `tiles_in_flight` tiles and `budget` bytes
// reserved at once. The engine's limiter: a tbb::flow::limiter_node counts items but cannot
// wait on bytes, so the graph is fed from the calling thread, which may block here without
// taking a worker away from the tiles in flight.
class Admission {
 public:
  explicit Admission(std::uint64_t budget) : budget_(budget) {}

  // Waits until a tile of `bytes` fits (or nothing is in flight), `stop()` returns true, or
  // `paused(in_flight)` holds for longer than `pause_limit`. The predicates run under the lock. Returns false when stopped; throws RunError
  // through `on_pause_timeout` when the pause lasts too long.
  template <typename Stop, typename Limit, typename Paused, typename Timeout>
  bool acquire(std::uint64_t seq, std::uint64_t bytes, Stop stop, Limit tiles_allowed, Paused paused, Timeout on_pause_timeout,
               std::chrono::milliseconds pause_limit, double& paused_seconds) {
    std::unique_lock lock(mutex_);
    std::optional<std::chrono::steady_clock::time_point> pause_start;
    for (;;) {
      if (stop()) return false;
      const bool is_paused = paused(in_flight_);
      if (is_paused) {
        if (!pause_start) pause_start = std::chrono::steady_clock::now();
        if (std::chrono::steady_clock::now() - *pause_start > pause_limit) on_pause_timeout();
      } else if (pause_start) {
        paused_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - *pause_start).count();
        pause_start.reset();
      }
      const bool fits = in_flight_ == 0 || (in_flight_ < tiles_allowed() && used_ + bytes <= budget_);
      if (!is_paused && fits) break;
      cv_.wait_for(lock, std::chrono::milliseconds(20));
    }
    if (pause_start) paused_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - *pause_start).count();
    ++in_flight_;
    in_flight_now_.store(in_flight_);
    used_ += bytes;
    reserved_[seq] = bytes;
    peak_used_ = std::max(peak_used_, used_);
    peak_in_flight_ = std::max(peak_in_flight_, in_flight_);
    return true;
  }

  void release(std::uint64_t seq) {
    {
      std::lock_guard lock(mutex_);
      const auto it = reserved_.find(seq);
      if (it == reserved_.end()) return;
      used_ -= it->second;
      reserved_.erase(it);
      --in_flight_;
      in_flight_now_.store(in_flight_);
    }
    cv_.notify_all();
  }

  void wake() { cv_.notify_all(); }
  int in_flight_now() const { return in_flight_now_.load(); }
  std::uint64_t peak_used() const { return peak_used_; }
  int peak_in_flight() const { return peak_in_flight_; }

 private:
  std::uint64_t budget_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  int in_flight_ = 0;
  std::uint64_t used_ = 0;
  std::uint64_t peak_used_ = 0;
  int peak_in_flight_ = 0;
  std::atomic<int> in_flight_now_{0};
  std::map<std::uint64_t, std::uint64_t> reserved_;
};

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

std::string json_text(const boost::json::object& o) { return boost::json::serialize(o); }

// Bytes each tile's payloads actually held, summed over the nodes, to correct the estimate.
class MeasuredBytes {
 public:
  void add(std::uint64_t seq, std::uint64_t bytes) {
    std::lock_guard lock(mutex_);
    per_tile_[seq] += bytes;
  }
  void finish(std::uint64_t seq, std::int64_t cells) {
    std::lock_guard lock(mutex_);
    const auto it = per_tile_.find(seq);
    if (it == per_tile_.end() || cells <= 0) return;
    const double per_cell = static_cast<double>(it->second) / static_cast<double>(cells);
    per_tile_.erase(it);
    per_cell_ = samples_ == 0 ? per_cell : std::max(per_cell, 0.8 * per_cell_ + 0.2 * per_cell);
    ++samples_;
  }
  // Measured bytes per cell with a 25% margin, or `plan` before the first tile completes.
  double per_cell(double plan) const {
    std::lock_guard lock(mutex_);
    return samples_ == 0 ? plan : 1.25 * per_cell_;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::uint64_t, std::uint64_t> per_tile_;
  double per_cell_ = 0;
  int samples_ = 0;
};

}  // namespace

RunSummary Pipeline::run() {
  Impl& m = *impl_;
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = cpu_seconds();
  const Grid& g = m.context.grid;
  const std::size_t n = m.nodes.size();
  const bool streaming = m.config.merge.enable_streaming;
  std::vector<Counters> counters(n);
  m.live_cells.store(0);
  m.live_rows.store(0);
  m.live_window.store(m.config.resampling.window_size);

  detail::AdaptiveSettings adaptive({m.config.resampling.window_size, m.config.merge.chunk_size, m.max_in_flight, m.gdal_cache}, start);
  MemoryThresholds thresholds;
  thresholds.warning = m.config.memory.warning_threshold;
  thresholds.critical = m.config.memory.critical_threshold;
  MemoryMonitor monitor(m.memory_source, m.limit, thresholds, std::chrono::milliseconds(m.config.memory.sample_interval_ms));
  const auto react = [&adaptive](PressureLevel level, const MemorySample&, double ratio) {
    adaptive.on_pressure(level, ratio);
    if (level == PressureLevel::critical) tile_memory::trim();  // pooled pages back to the system
  };
  monitor.register_warning_callback(react);
  monitor.register_critical_callback(react);
  monitor.register_recovery_callback(react);

  std::vector<std::string> ids, operations;
  for (const auto& node : m.nodes) {
    ids.push_back(node->id());
    operations.push_back(NodeRegistry::instance().find(node->type())->operation);
  }
  detail::StageTracker tracker(ids, operations);
  std::unique_ptr<detail::TraceWriter> trace;
  if (!m.options.trace_file.empty()) trace = std::make_unique<detail::TraceWriter>(start);
  const auto& record = m.options.record_metric;
  if (record) {
    adaptive.on_event([&record](const ThrottleEvent& e) {
      boost::json::object meta{{"level", e.level}, {"previous", e.previous}, {"reason", e.reason}};
      record(MetricRow{"throttle", e.setting, e.value, json_text(meta), Clock::now()});
    });
  }

  if (record) {
    const boost::json::object meta = topology_json(m.topology, m.placement, m.threads, m.threads_source);
    record(MetricRow{"topology", "numa_domains", static_cast<double>(m.placement.active ? m.placement.domains.size() : 1), json_text(meta),
                     Clock::now()});
  }
  Admission admission(m.budget);
  MeasuredBytes measured;
  // Every sample feeds the stage attribution and the timeline; every metrics.interval_ms one
  // becomes a row.
  std::mutex timeline_mutex;
  std::vector<MemoryPoint> timeline;
  std::mutex snapshot_mutex;
  auto next_snapshot = std::chrono::steady_clock::now();
  const auto snapshot_every = std::chrono::milliseconds(m.config.metrics.interval_ms);
  monitor.register_sample_callback([&](PressureLevel level, const MemorySample& sample, double) {
    tracker.observe(sample.process_rss);
    {
      std::lock_guard lock(timeline_mutex);
      if (timeline.size() >= 4096) {  // keep every other point: the chart needs the shape
        std::vector<MemoryPoint> thinned;
        for (std::size_t k = 0; k < timeline.size(); k += 2) thinned.push_back(timeline[k]);
        timeline.swap(thinned);
      }
      timeline.push_back({std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                          static_cast<double>(sample.process_rss), adaptive.window_size(), admission.in_flight_now(), to_string(level)});
    }
    m.live_level.store(static_cast<int>(level));
    m.live_window.store(adaptive.window_size());
    if (trace) {
      trace->counter("process RSS", "MiB", static_cast<double>(sample.process_rss) / (1024.0 * 1024.0));
      trace->counter("tiles in flight", "tiles", admission.in_flight_now());
      trace->counter("window size", "cells", adaptive.window_size());
    }
    if (!record) return;
    {
      std::lock_guard lock(snapshot_mutex);
      const auto now = std::chrono::steady_clock::now();
      if (now < next_snapshot) return;
      next_snapshot = now + snapshot_every;
    }
    const auto stage = tracker.snapshot();
    boost::json::object meta{
        {"system_percent", sample.system_total ? 100.0 * static_cast<double>(sample.system_used) / static_cast<double>(sample.system_total) : 0.0},
        {"system_available_gb", static_cast<double>(sample.system_available) / kGiB},
        {"limit_gb", static_cast<double>(m.limit) / kGiB},
        {"level", to_string(level)},
        {"stage", stage.stage},
        {"operation", stage.operation},
        {"active_nodes", boost::json::parse(stage.active_nodes_json)},
        {"window_size", adaptive.window_size()},
        {"chunk_size", adaptive.chunk_size()},
        {"tiles_in_flight", admission.in_flight_now()}};
    record(MetricRow{"memory", "process_rss_gb", static_cast<double>(sample.process_rss) / kGiB, json_text(meta), Clock::now()});
  });
  std::atomic<bool> failed{false};
  bool interrupted = false;
  double paused_seconds = 0;

  std::vector<SinkNode*> sinks;
  for (const auto s : m.sinks) sinks.push_back(static_cast<SinkNode*>(m.nodes[s].get()));
  // In-memory mode: every tile's table, per sink. Written by the sinks' serial collectors,
  // read after the graph; the mutex makes that hand-over visible to ThreadSanitizer too
  // (oneTBB's wait_for_all orders it, but TBB is not instrumented).
  // Pooled tile buffers are unmapped when the run ends, after the last payload below is freed.
  struct TrimPool {
    ~TrimPool() { tile_memory::trim(); }
  } trim_pool;
  std::vector<std::vector<std::pair<TileRequest, PayloadPtr>>> held(sinks.size());
  std::mutex held_mutex;

  // Runs one node on one tile and keeps its counters. A failure stops admission at once.
  // `domain`: the NUMA domain whose graph runs it (its tile buffers come from that domain's pool).
  auto run_node = [&](std::size_t i, int domain, const TileRequest& tile, std::span<const PayloadPtr> inputs) {
    const tile_memory::DomainScope scope(domain);
    const auto t0 = std::chrono::steady_clock::now();
    PayloadPtr out;
    tracker.begin(i);
    try {
      try {
        out = m.nodes[i]->process(tile, inputs);
      } catch (const Error&) {
        throw;
      } catch (const std::bad_alloc&) {
        throw_node_error(m.nodes[i]->where(), "out of memory (an allocation failed while processing tile " + std::to_string(tile.seq) + ")");
      } catch (const std::exception& e) {
        throw_node_error(m.nodes[i]->where(), e.what());
      }
    } catch (...) {
      failed.store(true);
      admission.wake();
      throw;
    }
    const std::uint64_t bytes = out ? out->bytes() : 0;
    measured.add(tile.seq, bytes);
    tracker.end(i, tile.seq, bytes, current_rss());
    if (trace) trace->span(&ids[i], operations[i].c_str(), t0, std::chrono::steady_clock::now(), tile.seq, tile.rows);
    auto& c = counters[i];
    c.items.fetch_add(1, std::memory_order_relaxed);
    c.cells.fetch_add(static_cast<std::uint64_t>(tile.cells()), std::memory_order_relaxed);
    c.bytes.fetch_add(bytes, std::memory_order_relaxed);
    c.busy_ns.fetch_add(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count(),
                        std::memory_order_relaxed);
    return Message{tile, std::move(out), i};
  };

  std::mutex done_mutex;
  std::map<std::uint64_t, std::size_t> done;
  const auto tile_done = [&](const TileRequest& tile) {
    {
      std::lock_guard lock(done_mutex);
      if (++done[tile.seq] != sinks.size()) return;
      done.erase(tile.seq);
    }
    measured.finish(tile.seq, tile.cells());
    tracker.release(tile.seq);
    admission.release(tile.seq);
    m.live_cells.fetch_add(static_cast<std::uint64_t>(tile.cells()));
    std::uint64_t rows = 0;
    for (auto* sink : sinks) rows += sink->rows_written();
    m.live_rows.store(rows);
    m.live_in_flight.store(admission.in_flight_now());
    if (m.options.on_tile_written) m.options.on_tile_written(tile);
  };

  // One arena and one flow graph per NUMA domain (one of each on the plain path). A tile's
  // read, resample and merge run in its domain's graph; the sinks' sequencers and writers live in
  // domain 0's graph and gather the tables of every domain in raster order.
  const NumaPlacement& placement = m.placement;
  const std::size_t domains = placement.active ? placement.domains.size() : 1;
  oneapi::tbb::global_control parallelism(oneapi::tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(m.threads) + 1);
  std::vector<std::unique_ptr<oneapi::tbb::task_arena>> arenas;
  {
    tile_memory::Layout layout;
    layout.pool_cap = m.budget;
    if (placement.active) {
      layout.nodes.clear();
      for (const auto& d : placement.domains) {
        layout.nodes.push_back(d.os_index);
        if (d.tbb_id >= 0) {
          arenas.push_back(std::make_unique<oneapi::tbb::task_arena>(
              oneapi::tbb::task_arena::constraints{}.set_numa_id(d.tbb_id).set_max_concurrency(d.threads), 0));
        } else {  // TBB cannot pin it: a plain arena of the domain's threads
          arenas.push_back(std::make_unique<oneapi::tbb::task_arena>(d.threads, 0));
        }
      }
      layout.bind = placement.memory_bound;
    } else {
      arenas.push_back(std::make_unique<oneapi::tbb::task_arena>(m.threads, 0));
    }
    const std::string refused = tile_memory::configure(layout);
    if (!refused.empty()) spdlog::warn("NUMA placement: {}", refused);
  }
  std::vector<std::uint64_t> tiles_per_domain(domains, 0);
  std::vector<std::unique_ptr<flow::graph>> graphs(domains);
  std::vector<std::unique_ptr<flow::graph_node>> owned;
  std::vector<std::vector<flow::receiver<TileRequest>*>> entries(domains);

  using SourceBody = flow::function_node<TileRequest, Message>;
  using SingleBody = flow::function_node<Message, Message>;
  using MultiBody = flow::function_node<Bundle, Message>;
  using Gather = flow::multifunction_node<Message, std::tuple<Bundle>>;
  using Sequencer = flow::sequencer_node<Message>;
  using Handoff = flow::function_node<Message, flow::continue_msg>;
  // Gathers the inputs of one tile for a node with several inputs; holds at most the tiles
  // admitted.
  struct PendingTiles {
    std::mutex mutex;
    std::map<std::uint64_t, Bundle> pending;
    std::map<std::uint64_t, std::size_t> arrived;
  };
  std::vector<std::unique_ptr<PendingTiles>> pendings;
  // The sinks' sequencers, in domain 0's graph; per domain, the node feeding each sink.
  std::vector<Sequencer*> sequencers(m.sinks.size(), nullptr);
  std::vector<std::vector<flow::sender<Message>*>> outputs(domains, std::vector<flow::sender<Message>*>(n, nullptr));

  for (std::size_t d = 0; d < domains; ++d) {
    const int domain = static_cast<int>(d);
    arenas[d]->execute([&] {
      graphs[d] = std::make_unique<flow::graph>();
      flow::graph& fg = *graphs[d];
      for (std::size_t i = 0; i < n; ++i) {
        const auto& ins = m.input_index[i];
        const bool is_sink = std::find(m.sinks.begin(), m.sinks.end(), i) != m.sinks.end();
        // In-memory sinks run after the graph; streaming ones format here (in parallel) and
        // write in domain 0's graph, below.
        if (is_sink && !streaming) continue;
        if (ins.empty()) {
          auto body = std::make_unique<SourceBody>(fg, flow::unlimited, [&run_node, i, domain](const TileRequest& t) {
            return run_node(i, domain, t, {});
          });
          entries[d].push_back(body.get());
          outputs[d][i] = body.get();
          owned.push_back(std::move(body));
        } else if (ins.size() == 1) {
          auto body = std::make_unique<SingleBody>(fg, flow::unlimited, [&run_node, i, domain](const Message& msg) {
            const PayloadPtr inputs[1] = {msg.payload};
            return run_node(i, domain, msg.tile, inputs);
          });
          flow::make_edge(*outputs[d][ins[0]], *body);
          outputs[d][i] = body.get();
          owned.push_back(std::move(body));
        } else {
          pendings.push_back(std::make_unique<PendingTiles>());
          PendingTiles* state = pendings.back().get();
          const std::vector<std::size_t> slots = ins;
          auto gather = std::make_unique<Gather>(fg, flow::unlimited, [state, slots](const Message& msg, Gather::output_ports_type& ports) {
            std::optional<Bundle> complete;
            {
              std::lock_guard lock(state->mutex);
              Bundle& b = state->pending[msg.tile.seq];
              if (b.inputs.empty()) {
                b.tile = msg.tile;
                b.inputs.resize(slots.size());
              }
              for (std::size_t k = 0; k < slots.size(); ++k) {
                if (slots[k] == msg.producer) b.inputs[k] = msg.payload;
              }
              if (++state->arrived[msg.tile.seq] == slots.size()) {
                complete = std::move(b);
                state->pending.erase(msg.tile.seq);
                state->arrived.erase(msg.tile.seq);
              }
            }
            if (complete) std::get<0>(ports).try_put(std::move(*complete));
          });
          auto body = std::make_unique<MultiBody>(fg, flow::unlimited, [&run_node, i, domain](const Bundle& b) {
            return run_node(i, domain, b.tile, b.inputs);
          });
          for (const auto j : ins) flow::make_edge(*outputs[d][j], *gather);
          flow::make_edge(flow::output_port<0>(*gather), *body);
          outputs[d][i] = body.get();
          owned.push_back(std::move(gather));
          owned.push_back(std::move(body));
        }
      }
    });
  }
  arenas[0]->execute([&] {
    flow::graph& fg = *graphs[0];
    // Sinks: a sequencer restores raster order before one serial writer per sink (streaming);
    // in-memory mode keeps every tile's table instead and writes after the graph.
    using Writer = flow::function_node<Message, flow::continue_msg>;
    for (std::size_t k = 0; k < m.sinks.size(); ++k) {
      const std::size_t s = m.sinks[k];
      SinkNode* sink = sinks[k];
      auto sequencer = std::make_unique<Sequencer>(fg, [](const Message& msg) { return static_cast<std::size_t>(msg.tile.seq); });
      std::unique_ptr<Writer> writer;
      if (streaming) {
        writer = std::make_unique<Writer>(fg, flow::serial, [&, sink, s](const Message& msg) {
          const auto t0 = std::chrono::steady_clock::now();
          try {
            sink->write(msg.tile, msg.payload);
            if (trace) trace->span(&ids[s], "serial write", t0, std::chrono::steady_clock::now(), msg.tile.seq, msg.tile.rows);
          } catch (...) {
            failed.store(true);
            admission.wake();
            throw;
          }
          counters[s].busy_ns.fetch_add(
              std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count(), std::memory_order_relaxed);
          tile_done(msg.tile);
          return flow::continue_msg{};
        });
      } else {
        auto* keep = &held[k];
        writer = std::make_unique<Writer>(fg, flow::serial, [&, keep](const Message& msg) {
          {
            std::lock_guard lock(held_mutex);
            keep->emplace_back(msg.tile, msg.payload);
          }
          tile_done(msg.tile);
          return flow::continue_msg{};
        });
      }
      flow::make_edge(*sequencer, *writer);
      sequencers[k] = sequencer.get();
      owned.push_back(std::move(sequencer));
      owned.push_back(std::move(writer));
    }
  });
  // Each domain feeds the sinks' sequencers: its formatted chunks (streaming) or merged tables
  // (in-memory). Domain 0 by edges; the others hand their messages over to domain 0's graph.
  for (std::size_t d = 0; d < domains; ++d) {
    arenas[d]->execute([&] {
      for (std::size_t k = 0; k < m.sinks.size(); ++k) {
        const std::size_t s = m.sinks[k];
        flow::sender<Message>* feed = outputs[d][streaming ? s : m.input_index[s][0]];
        if (d == 0) {
          flow::make_edge(*feed, *sequencers[k]);
          continue;
        }
        Sequencer* target = sequencers[k];
        auto handoff = std::make_unique<Handoff>(*graphs[d], flow::unlimited, [target](const Message& msg) {
          target->try_put(msg);
          return flow::continue_msg{};
        });
        flow::make_edge(*feed, *handoff);
        owned.push_back(std::move(handoff));
      }
    });
  }
  // Waits for every domain's graph, the sinks' graph (domain 0) last: the others hand it tiles.
  // After a failure every graph is drained whichever of them threw (`rethrow` false).
  const auto wait_all = [&](bool rethrow) {
    for (std::size_t d = domains; d-- > 0;) {
      try {
        arenas[d]->execute([&] { graphs[d]->wait_for_all(); });
      } catch (...) {
        if (rethrow) throw;
      }
    }
  };

  const auto abort_all = [&] {
    for (auto* s : sinks) s->abort();
  };
  const auto pause_timeout = [&] {
    const MemorySample s = monitor.last_sample();
    throw RunError("memory stayed critical for " + std::to_string(m.config.memory.critical_pause_s) +
                   " s with every tile size at its minimum (process RSS " + format_size(s.process_rss) + " of a limit of " +
                   format_size(m.limit) + "; " + (s.in_cgroup ? "cgroup" : "machine") + " uses " + format_size(s.system_used) + " of " +
                   format_size(s.system_total) + "); stopped before the kernel kills the process. Free memory or raise --memory-limit");
  };
  try {
    for (auto* s : sinks) s->open();
    monitor.start();
    // Admission: one tile at a time, in raster order, each sized by the current window and
    // chunk sizes and split until it fits the byte budget.
    std::uint64_t seq = 0;
    auto [row, band_end] = m.band();
    while (row < band_end) {
      if (m.options.cancel != nullptr && m.options.cancel->load()) {
        interrupted = true;
        break;
      }
      if (failed.load()) break;
      monitor.sample_now();
      std::int64_t rows = std::min(m.rows_for(adaptive.window_size(), adaptive.chunk_size()), band_end - row);
      const double per_cell = measured.per_cell(m.plan_bytes_per_cell);
      auto bytes = static_cast<std::uint64_t>(per_cell * static_cast<double>(rows * g.width));
      // Split until every thread can have a tile of that size within the budget (one tile
      // over it would leave the other threads idle), or the tile is one row.
      const auto sharing = static_cast<std::uint64_t>(std::max(1, std::min(m.threads, adaptive.tiles_in_flight())));
      while (bytes * sharing > m.budget && rows > 1) {
        rows = std::max<std::int64_t>(1, rows / 2);
        bytes = static_cast<std::uint64_t>(per_cell * static_cast<double>(rows * g.width));
      }
      rows = m.aligned_end(row, rows) - row;
      bytes = static_cast<std::uint64_t>(per_cell * static_cast<double>(rows * g.width));
      const TileRequest tile{seq, row, rows, g.width};
      const bool admitted = admission.acquire(
          seq, bytes,
          [&] { return failed.load() || (m.options.cancel != nullptr && m.options.cancel->load()); },
          [&] { return adaptive.tiles_in_flight(); },
          [&](int in_flight) { return in_flight == 0 && monitor.sample_now() == PressureLevel::critical && adaptive.at_minimum(); },
          pause_timeout, std::chrono::seconds(m.config.memory.critical_pause_s), paused_seconds);
      if (!admitted) continue;  // the loop head sees why
      const std::size_t domain = placement.domain_of(seq);
      ++tiles_per_domain[domain];
      for (auto* entry : entries[domain]) entry->try_put(tile);
      ++seq;
      row += rows;
    }
    wait_all(true);
    monitor.stop();
  } catch (...) {
    failed.store(true);
    monitor.stop();
    wait_all(false);
    abort_all();
    throw;
  }
  if (interrupted) {
    abort_all();
    throw Interrupted("interrupted: the run was cancelled; no output was written under its final name");
  }
  try {
    if (!streaming) {
      // In-memory export: the whole merged grid is held; format and write it in order now.
      std::lock_guard lock(held_mutex);
      for (std::size_t k = 0; k < sinks.size(); ++k) {
        for (auto& [tile, table] : held[k]) {
          const PayloadPtr inputs[1] = {table};
          const PayloadPtr text = sinks[k]->process(tile, inputs);
          sinks[k]->write(tile, text);
          table.reset();
        }
      }
    }
    for (auto* s : sinks) s->commit();
  } catch (...) {
    abort_all();
    throw;
  }

  RunSummary summary;
  summary.grid_width = g.width;
  summary.grid_height = g.height;
  summary.cells = static_cast<std::uint64_t>(m.band_height() * g.width);
  summary.threads = m.threads;
  summary.placement = m.placement.description();
  summary.tiles_per_domain = tiles_per_domain;
  if (const std::string refused = tile_memory::refusal(); !refused.empty()) summary.placement += "; " + refused;
  for (std::size_t i = 0; i < n; ++i) {
    NodeStats st;
    st.id = m.nodes[i]->id();
    st.type = m.nodes[i]->type();
    st.items = counters[i].items.load();
    st.cells = counters[i].cells.load();
    st.bytes = counters[i].bytes.load();
    st.busy_seconds = static_cast<double>(counters[i].busy_ns.load()) * 1e-9;
    st.operation = operations[i];
    st.rss_peak_bytes = tracker.rss_peak(i);
    st.rss_avg_bytes = tracker.rss_avg(i);
    summary.nodes.push_back(st);
    if (record) {
      const boost::json::object meta{{"stage", st.id}, {"type", st.type}, {"operation", st.operation}};
      const std::string meta_text = json_text(meta);
      const std::pair<const char*, double> figures[] = {{"memory_peak_gb", st.rss_peak_bytes / kGiB},
                                                         {"memory_avg_gb", st.rss_avg_bytes / kGiB},
                                                         {"items", static_cast<double>(st.items)},
                                                         {"cells", static_cast<double>(st.cells)},
                                                         {"bytes", static_cast<double>(st.bytes)},
                                                         {"busy_seconds", st.busy_seconds}};
      for (const auto& [name, value] : figures) record(MetricRow{"stage", name, value, meta_text, Clock::now()});
    }
    if (m.input_index[i].empty()) summary.tiles = std::max<std::uint64_t>(summary.tiles, st.items);
  }
  for (auto* s : sinks) {
    summary.rows_written += s->rows_written();
    summary.bytes_written += s->bytes_written();
    summary.outputs.push_back(s->output_path());
  }
  summary.throttle_events = adaptive.events();
  {
    std::lock_guard lock(timeline_mutex);
    summary.memory_timeline = timeline;
  }
  summary.memory_limit = m.limit;
  summary.tile_budget = m.budget;
  summary.peak_tile_bytes = admission.peak_used();
  summary.max_tiles_in_flight_seen = admission.peak_in_flight();
  summary.paused_seconds = paused_seconds;
  summary.streaming = streaming;
  summary.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  summary.cpu_seconds = cpu_seconds() - cpu_start;
  summary.peak_rss_bytes = peak_rss_bytes();
  hooks().set_read_cache_bytes(m.gdal_cache);
  if (trace) trace->write(m.options.trace_file, m.graph.name);
  return summary;
}

}  // namespace rasterflow
