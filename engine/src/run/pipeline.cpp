#include "rasterflow/pipeline.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <algorithm>
#include <numeric>

#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/info.h>
#include <oneapi/tbb/task_arena.h>
#include <boost/json.hpp>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <map>
#include <mutex>

#include "memory/memory_planner.hpp"
#include "observe/stage_tracker.hpp"
#include "observe/trace.hpp"
#include "rasterflow/errors.hpp"
#include "rasterflow/hpc/placement.hpp"
#include "rasterflow/hpc/topology.hpp"
#include "rasterflow/node/hooks.hpp"
#include "rasterflow/node/registry.hpp"
#include "rasterflow/node/tile_memory.hpp"
#include "rasterflow/size.hpp"
#include "rasterflow_version.hpp"
#include "run/adaptive.hpp"
#include "run/pipeline_impl.hpp"
#include "run/plan.hpp"

namespace flow = oneapi::tbb::flow;

namespace rasterflow {
namespace {

constexpr double kMaxGridCells = 1099511627776.0;  // 2^40

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

namespace {
std::string comparable_path(const std::string& path) {
  std::error_code ec;
  const auto canonical = std::filesystem::weakly_canonical(path, ec);
  return ec ? std::filesystem::path(path).lexically_normal().string() : canonical.string();
}
}  // namespace

void detail::PipelineImpl::build_nodes() {
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
        throw_graph_error(spec.where(),
                          "option \"" + o.name + "\": " + out + " is also written by node \"" + it->second + "\"");
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
      std::unique_ptr<Node> node = options.build_node ? options.build_node(copy) : nullptr;
      nodes.push_back(node ? std::move(node) : info->create(std::move(copy)));
    } catch (const std::bad_alloc&) {
      throw_graph_error(spec.where(), "out of memory while setting the node up");
    }
    std::vector<std::size_t> ins;
    for (const auto& in : spec.inputs) ins.push_back(index.at(in));
    input_index.push_back(std::move(ins));
    if (info->is_sink) sinks.push_back(nodes.size() - 1);
  }
}

void detail::PipelineImpl::resolve_grid() {
  // The grid from the sources is the node library's business (their CRS, extent, resolution);
  // the engine checks only what any grid must hold.
  const std::string where = graph.file.string() + ": grid";
  const GridDecision decided = hooks().resolve_grid(graph.grid, where, node_ptrs());
  const Grid& grid = decided.grid;
  const double cells = static_cast<double>(grid.width) * static_cast<double>(grid.height);
  if (grid.width <= 0 || grid.height <= 0)
    throw_graph_error(where, "the grid has no cells (extent smaller than one cell?)");
  if (cells > kMaxGridCells) {
    throw_graph_error(where, "the grid would have " + std::to_string(grid.width) + " x " + std::to_string(grid.height) +
                                 " cells, more than 2^40; check \"resolution\" (in the units of the grid's CRS)");
  }
  grid_origin = decided.origin;
  context.grid = grid;
}

double detail::PipelineImpl::bytes_per_cell(bool sinks_too) const {
  double total = 0;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const bool is_sink = std::find(sinks.begin(), sinks.end(), i) != sinks.end();
    if (!is_sink || sinks_too) total += nodes[i]->resources().bytes_per_cell;
  }
  return total;
}

// The rows [begin, end) this pipeline runs: its band, or the whole grid.
std::pair<std::int64_t, std::int64_t> detail::PipelineImpl::band_of(RowRange rows) const {
  const std::int64_t h = context.grid.height;
  const std::int64_t end = rows.end > 0 ? std::min(rows.end, h) : h;
  return {std::clamp<std::int64_t>(rows.begin, 0, end), end};
}

std::int64_t detail::PipelineImpl::band_height() const {
  const auto [begin, end] = band();
  return end - begin;
}

std::int64_t detail::PipelineImpl::aligned_end(std::int64_t row, std::int64_t rows) const {
  // The last aligned row boundary in (row, row + rows], if any: tiles then read whole blocks.
  if (options.tile_rows > 0 || alignment.rows <= 1) return row + rows;
  const std::int64_t end = row + rows;
  const std::int64_t k = (end - alignment.phase) >= 0 ? (end - alignment.phase) / alignment.rows : -1;
  const std::int64_t boundary = alignment.phase + k * alignment.rows;
  return boundary > row && k >= 0 ? boundary : end;
}

std::int64_t detail::PipelineImpl::row_multiple() const {
  std::int64_t multiple = 1;
  for (const auto s : sinks) {
    const std::int64_t m = static_cast<const SinkNode*>(nodes[s].get())->row_multiple();
    if (m > 1) multiple = std::min(std::lcm(multiple, m), std::max<std::int64_t>(1, context.grid.height));
  }
  return multiple;
}

std::int64_t detail::PipelineImpl::rows_for(int window_size, int chunk_size) const {
  const Grid& g = context.grid;
  if (options.tile_rows > 0) return std::min(options.tile_rows, g.height);
  // A tile is a band of whole rows: at most window_size^2 cells and at most merge.chunk_size
  // rows, at most kTileBytes of working memory (so that tiles in flight hold the same memory
  // whatever the grid's width), and small enough that every thread gets about four tiles.
  std::int64_t rows = std::min<std::int64_t>(band_rows(g.width, window_size), chunk_size);
  const double row_bytes = std::max(1.0, plan_bytes_per_cell * static_cast<double>(g.width));
  rows = std::min<std::int64_t>(
      rows, std::max<std::int64_t>(1, static_cast<std::int64_t>(static_cast<double>(kTileBytes) / row_bytes)));
  const std::int64_t share = (band_height() + 4 * threads - 1) / (4 * threads);
  rows = std::min(rows, std::max<std::int64_t>(share, 16));
  return std::max<std::int64_t>(1, std::min(rows, g.height));
}

std::vector<Node*> detail::PipelineImpl::node_ptrs() const {
  std::vector<Node*> out;
  for (const auto& n : nodes) out.push_back(n.get());
  return out;
}

void detail::PipelineImpl::size_memory() {
  // What is in use already: this process, or, when the limit is its cgroup's, the cgroup's
  // working set (the job's other processes count against the same limit).
  const MemorySample now = memory_source->sample();
  baseline_rss = now.process_rss;
  if (now.in_cgroup && now.system_total == limit) baseline_rss = std::max(baseline_rss, now.system_used);
  const Grid& g = context.grid;  // plan_bytes_per_cell: set once the nodes are prepared
  const auto one_row = static_cast<std::uint64_t>(plan_bytes_per_cell * static_cast<double>(g.width));
  const detail::MemoryPlanner planner({.limit = limit,
                                       .usable_fraction = config.memory.warning_threshold,
                                       .baseline_rss = baseline_rss,
                                       .threads = threads,
                                       .one_row = one_row,
                                       .row_cells = g.width,
                                       .cache_churn = kCacheChurn});
  const detail::MemoryPlan plan = planner.plan(node_ptrs());
  gdal_cache = plan.read_cache;
  fixed_bytes = plan.fixed;
  held_bytes = plan.held;
  thread_state_bytes = plan.thread_state;
  budget = plan.budget;
  if (!config.merge.enable_streaming) {
    const double usable = static_cast<double>(limit) * config.memory.warning_threshold;
    const auto whole = static_cast<std::uint64_t>(bytes_per_cell(false) * static_cast<double>(g.cells()));
    if (static_cast<double>(whole) > usable - plan.reserved) {
      throw ConfigError("merge.enable_streaming: false (--in-memory) would hold the whole merged grid, about " +
                        format_size(whole) + ", which does not fit in the memory limit of " + format_size(limit) +
                        " (" + format_size(baseline_rss) + " already in use); stream it instead (--streaming)");
    }
  }
}

Pipeline::Pipeline(const GraphSpec& graph, const Config& config, PlanOptions options)
    : impl_(std::make_unique<Impl>()) {
  detail::PipelineImpl& m = *impl_;
  m.graph = graph;
  m.config = config;
  m.options = std::move(options);
  // --threads, engine.threads, SLURM_CPUS_PER_TASK, the cgroup CPU quota, the affinity mask.
  const ThreadDecision threads =
      decide_threads(m.options.threads > 0 ? m.options.threads : m.config.engine.threads,
                     m.options.threads > 0 ? (m.options.threads_source.empty() ? "--threads" : m.options.threads_source)
                                           : "engine.threads",
                     read_thread_inputs());
  m.threads = threads.threads;
  m.threads_source = threads.source;
  m.topology = read_topology();
  // TBB's NUMA ids (it loads libtbbbind to find them: a few ms) only matter with two nodes or more.
  const bool several_nodes =
      std::count_if(m.topology.nodes.begin(), m.topology.nodes.end(), [](const auto& n) { return n.pus > 0; }) > 1;
  m.placement = decide_placement(m.config.engine.numa, m.topology, m.threads,
                                 several_nodes ? tbb_numa_ids() : std::vector<int>{});
  for (const auto& f : m.placement.fallbacks) spdlog::warn("NUMA placement: {}", f);
  m.build_nodes();
  m.resolve_grid();
  m.context.config = &m.config;
  m.context.output_dir = m.options.output_dir;
  m.context.threads = m.threads;
  m.memory_source = m.options.memory_source ? m.options.memory_source : std::make_shared<SystemMemorySource>();
  if (m.config.memory.limit > 0) {
    m.limit = m.config.memory.limit;
    m.limit_source = m.options.memory_limit_source.empty() ? "memory.limit" : m.options.memory_limit_source;
  } else {
    const MemoryLimit decided = with_job_headroom(m.memory_source->decide_limit());
    m.limit = decided.bytes;
    m.limit_source = decided.source;
  }
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
  m.alignment = hooks().tile_alignment(m.node_ptrs());
  m.tile_rows = m.aligned_end(m.alignment.phase, m.tile_rows) - m.alignment.phase;
  m.size_memory();
  m.fill_plan();
  if (m.options.claim_outputs) m.claim_outputs();
}

Pipeline::~Pipeline() = default;

void detail::PipelineImpl::fill_plan() {
  plan.grid = context.grid;
  plan.threads = threads;
  plan.tile_rows = tile_rows;
  plan.memory_limit = limit;
  plan.memory_limit_source = limit_source;
  plan.tile_budget = budget;
  plan.checkpoint_file = checkpoint_file();
  plan.checkpoint_refusal = checkpoint_refusal();
}

void detail::PipelineImpl::claim_outputs() {
  detail::PipelineImpl& m = *this;
  if (m.outputs_claimed) return;
  const std::string& suffix = m.options.output_suffix;
  for (const auto s : m.sinks) {
    auto* sink = static_cast<SinkNode*>(m.nodes[s].get());
    const std::filesystem::path out = sink->output_path();
    if (!out.empty()) {
      m.output_locks.emplace_back(out, sink->where());
      // Rank 0 gathers every band into the final output: a run of another shape on it (one
      // process, another rank count) meets this lock.
      const std::string text = out.string();
      if (m.options.rank == 0 && !suffix.empty() && text.size() > suffix.size() && text.ends_with(suffix))
        m.output_locks.emplace_back(text.substr(0, text.size() - suffix.size()), sink->where());
    }
    sink->claim_output();
  }
  m.outputs_claimed = true;
}

const Plan& Pipeline::plan() const { return impl_->plan; }

std::vector<SinkNode*> Pipeline::sinks() const {
  std::vector<SinkNode*> out;
  for (const auto s : impl_->sinks) out.push_back(static_cast<SinkNode*>(impl_->nodes[s].get()));
  return out;
}

namespace {

// The sinks whose output is cut every few rows, as "node \"pq\" (parquet_sink): 12 rows".
std::string row_multiple_sinks(const detail::PipelineImpl& m) {
  std::string text;
  for (const auto s : m.sinks) {
    const auto* sink = static_cast<const SinkNode*>(m.nodes[s].get());
    if (sink->row_multiple() > 1)
      text += (text.empty() ? "" : ", ") + sink->where() + ": " + std::to_string(sink->row_multiple()) + " rows";
  }
  return text;
}

// The ends of `count` bands but the last (prefix[r]: the work of rows [0, r)): each at the
// multiple of `step` nearest to k/count of the total work, every band at least `step` rows.
std::vector<std::int64_t> band_ends(const std::vector<double>& prefix, int count, std::int64_t step,
                                    std::int64_t height) {
  const double total = prefix.back();
  const std::int64_t steps = (height + step - 1) / step;
  std::vector<std::int64_t> ends;
  for (int k = 1; k < count; ++k) {
    const double target = total * k / count;
    auto e = static_cast<std::int64_t>(std::lower_bound(prefix.begin(), prefix.end(), target) - prefix.begin());
    // The multiples of `step` on either side of the row where the target falls; the nearer one.
    const std::int64_t above = std::min((e + step - 1) / step * step, height);
    const std::int64_t below = e > 0 ? (e - 1) / step * step : above;
    e = target - prefix[static_cast<std::size_t>(below)] < prefix[static_cast<std::size_t>(above)] - target ? below
                                                                                                            : above;
    const std::int64_t lowest = ends.empty() ? step : ends.back() + step;
    ends.push_back(std::clamp<std::int64_t>(e, lowest, (steps - (count - k)) * step));
  }
  return ends;
}

}  // namespace

std::vector<RowBand> Plan::bands(int count) const {
  const detail::PipelineImpl& m = impl_;
  const Grid& g = m.context.grid;
  if (count < 1) throw UsageError("the number of ranks must be at least 1");
  if (count > g.height) {
    throw UsageError(std::to_string(count) + " ranks for a grid of " + std::to_string(g.height) +
                     " rows: each rank needs at least one row");
  }
  // Work of every row: the source pixels the resampling nodes read for it, plus its cells
  // (formatting and writing a cell costs about as much as decoding a few pixels).
  constexpr double kCellWork = 4.0;
  std::vector<double> pixels(static_cast<std::size_t>(g.height), 0.0);
  const std::vector<Node*> nodes = m.node_ptrs();
  for (std::int64_t r = 0; r < g.height; ++r) pixels[static_cast<std::size_t>(r)] += hooks().input_pixels(nodes, r, 1);
  // prefix[r]: the work of rows [0, r). Band k ends at the row boundary nearest to k/count of
  // the total, keeping at least one row in every band.
  std::vector<double> prefix(static_cast<std::size_t>(g.height) + 1, 0.0);
  for (std::int64_t r = 0; r < g.height; ++r) {
    prefix[static_cast<std::size_t>(r) + 1] = prefix[static_cast<std::size_t>(r)] +
                                              pixels[static_cast<std::size_t>(r)] +
                                              kCellWork * static_cast<double>(g.width);
  }
  // A band begins at a multiple of the sinks' row multiple (Parquet's row groups), so ends are
  // chosen among the multiples: the one nearest to the target, at least one multiple per band.
  const std::int64_t step = m.row_multiple();
  const std::int64_t steps = (g.height + step - 1) / step;
  if (count > steps) {
    throw UsageError(std::to_string(count) + " ranks for a grid of " + std::to_string(g.height) + " rows whose " +
                     "sinks cut their output every " + std::to_string(step) + " rows (" + row_multiple_sinks(m) +
                     "): each rank needs at least one such band of rows, so at most " + std::to_string(steps) +
                     " ranks (or lower the row_group_size)");
  }
  std::vector<std::int64_t> ends = band_ends(prefix, count, step, g.height);
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

double Plan::input_pixels(RowRange band) const {
  const auto [begin, end] = impl_.band_of(band);
  return hooks().input_pixels(impl_.node_ptrs(), begin, end - begin);
}

std::string Plan::topology_line() const {
  const detail::PipelineImpl& m = impl_;
  return "topology: " + m.topology.description() +
         (m.topology.source == "this machine" ? "" : " (" + m.topology.source + ")") + "; " +
         std::to_string(m.threads) + (m.threads == 1 ? " thread (" : " threads (") + m.threads_source +
         "); NUMA placement " + m.placement.description();
}

namespace detail {
boost::json::object topology_json(const TopologySummary& t, const NumaPlacement& p, int threads,
                                  const std::string& threads_source) {
  boost::json::array domains, fallbacks, distances;
  for (const auto& d : p.domains)
    domains.emplace_back(boost::json::object{{"node", d.os_index}, {"tbb_numa_id", d.tbb_id}, {"threads", d.threads}});
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

}  // namespace detail

namespace {
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

detail::PlanModel detail::PipelineImpl::plan_model() const {
  const Grid& g = context.grid;
  detail::PlanModel p;
  p.graph_name = graph.name;
  p.graph_file = graph.file.string();
  p.grid = g;
  p.crs_label = hooks().crs_label(g.crs);
  p.grid_origin = grid_origin;
  p.fallbacks = placement.fallbacks;
  p.remote_ratio = topology.remote_ratio();
  p.topology_json = detail::topology_json(topology, placement, threads, threads_source);
  p.tile_rows = tile_rows;
  p.max_in_flight = max_in_flight;
  p.threads = threads;
  p.threads_source = threads_source;
  const auto tile_cells = static_cast<double>(tile_rows * g.width);
  for (const auto& n : nodes) {
    const ResourceNeeds needs = n->resources();
    const auto* info = NodeRegistry::instance().find(n->type());
    p.nodes.push_back({.id = n->id(),
                       .type = n->type(),
                       .inputs = n->spec().inputs,
                       .options = shown_options(*n),
                       .bytes_per_tile = static_cast<std::uint64_t>(needs.bytes_per_cell * tile_cells),
                       .bytes_per_thread = needs.per_thread + detail::thread_state_of(needs),
                       .notes = n->describe(),
                       .shape = info->is_sink              ? "note"
                                : n->spec().inputs.empty() ? "cylinder"
                                                           : "box"});
  }
  p.memory = {.limit = limit,
              .limit_source = limit_source,
              .in_use = baseline_rss,
              .read_cache = gdal_cache,
              .thread_buffers = fixed_bytes - held_bytes,
              .thread_state = thread_state_bytes,
              .held = held_bytes,
              .tile_budget = budget,
              .bytes_per_cell = plan_bytes_per_cell,
              .per_tile = static_cast<std::uint64_t>(plan_bytes_per_cell * tile_cells)};
  p.streaming = config.merge.enable_streaming;
  p.in_memory_bytes = static_cast<std::uint64_t>(bytes_per_cell(false) * static_cast<double>(g.cells()));
  return p;
}

std::vector<std::string> Plan::text() const {
  detail::PlanModel p = impl_.plan_model();
  p.topology_line = topology_line();
  return detail::render_plan_text(p);
}

std::string Plan::json() const { return detail::render_plan_json(impl_.plan_model()); }

std::string Plan::dot() const { return detail::render_plan_dot(impl_.plan_model()); }

}  // namespace rasterflow
