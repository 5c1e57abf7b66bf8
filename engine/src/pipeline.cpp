#include "rasterflow/pipeline.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/info.h>
#include <oneapi/tbb/task_arena.h>

#include <chrono>
#include <cmath>
#include <map>
#include <mutex>

#include "crs.hpp"
#include "rasterflow/errors.hpp"
#include "rasterflow/registry.hpp"
#include "rasterflow/size.hpp"
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
  std::int64_t tile_rows = 1;
  int threads = 1;
  int max_in_flight = 2;
  std::string grid_origin;  // how the grid was decided, for the plan

  void build_nodes();
  void resolve_grid();
  void run_graph(std::vector<Counters>& counters, bool& interrupted);
};

void Pipeline::Impl::build_nodes() {
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
    nodes.push_back(info->create(std::move(copy)));
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
    crs = detail::normalize_crs(*graph.grid.crs, where);
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

Pipeline::Pipeline(const GraphSpec& graph, const Config& config, RunOptions options) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.graph = graph;
  m.config = config;
  m.options = std::move(options);
  m.threads = m.options.threads > 0 ? m.options.threads
              : m.config.engine.threads > 0 ? m.config.engine.threads
                                             : static_cast<int>(oneapi::tbb::info::default_concurrency());
  m.build_nodes();
  m.resolve_grid();
  m.context.config = &m.config;
  m.context.output_dir = m.options.output_dir;
  m.context.threads = m.threads;
  // A tile is a band of whole rows: at most window_size^2 cells and at most merge.chunk_size rows...
  m.tile_rows = m.options.tile_rows > 0 ? m.options.tile_rows
                                        : std::min<std::int64_t>(band_rows(m.context.grid.width, m.config.resampling.window_size),
                                                                 m.config.merge.chunk_size);
  // ...and small enough that every thread gets about four tiles, so small grids run in parallel too.
  if (m.options.tile_rows <= 0) {
    const std::int64_t share = (m.context.grid.height + 4 * m.threads - 1) / (4 * m.threads);
    m.tile_rows = std::min(m.tile_rows, std::max<std::int64_t>(share, 16));
  }
  m.tile_rows = std::max<std::int64_t>(1, std::min(m.tile_rows, m.context.grid.height));
  m.max_in_flight = m.options.max_tiles_in_flight > 0 ? m.options.max_tiles_in_flight : std::max(2, 2 * m.threads);
  for (std::size_t i = 0; i < m.nodes.size(); ++i) {
    std::vector<Node*> inputs;
    for (const auto j : m.input_index[i]) inputs.push_back(m.nodes[j].get());
    m.nodes[i]->prepare(m.context, inputs);
  }
}

Pipeline::~Pipeline() = default;

const Grid& Pipeline::grid() const { return impl_->context.grid; }
int Pipeline::threads() const { return impl_->threads; }
std::int64_t Pipeline::tile_rows() const { return impl_->tile_rows; }

std::vector<std::string> Pipeline::plan() const {
  const Impl& m = *impl_;
  const Grid& g = m.context.grid;
  std::vector<std::string> lines;
  lines.push_back("graph " + m.graph.name + " (" + m.graph.file.string() + ")");
  char buf[512];
  std::snprintf(buf, sizeof buf, "grid: %s, %lld x %lld cells (%.6g x %.6g), extent [%.12g, %.12g, %.12g, %.12g] (%s)",
                detail::crs_label(g.crs).c_str(), static_cast<long long>(g.width), static_cast<long long>(g.height), g.res_x,
                g.res_y, g.extent().xmin, g.extent().ymin, g.extent().xmax, g.extent().ymax, m.grid_origin.c_str());
  lines.emplace_back(buf);
  const std::int64_t tiles = (g.height + m.tile_rows - 1) / m.tile_rows;
  std::snprintf(buf, sizeof buf, "tiles: %lld bands of %lld rows (%lld cells), at most %d in flight; %d threads",
                static_cast<long long>(tiles), static_cast<long long>(m.tile_rows), static_cast<long long>(m.tile_rows * g.width),
                m.max_in_flight, m.threads);
  lines.emplace_back(buf);
  std::size_t per_tile = 0;
  for (std::size_t i = 0; i < m.nodes.size(); ++i) {
    const Node& n = *m.nodes[i];
    std::string line = "node " + n.id() + " (" + n.type() + ")";
    if (!n.spec().inputs.empty()) {
      line += " <- ";
      for (std::size_t k = 0; k < n.spec().inputs.size(); ++k) line += (k ? ", " : "") + n.spec().inputs[k];
    }
    const std::size_t bytes = n.estimate_bytes(m.tile_rows * g.width);
    per_tile += bytes;
    line += ", ~" + format_size(bytes) + " per tile";
    lines.push_back(line);
    for (const auto& d : n.describe()) lines.push_back("    " + d);
  }
  lines.push_back("memory: ~" + format_size(per_tile) + " per tile, ~" + format_size(per_tile * static_cast<std::size_t>(m.max_in_flight)) +
                  " for the tiles in flight; streams in bounded memory");
  return lines;
}

void Pipeline::Impl::run_graph(std::vector<Counters>& counters, bool& interrupted) {
  const Grid& g = context.grid;
  const std::size_t n = nodes.size();
  flow::graph fg;

  // Tile generator: bands of `tile_rows` rows in raster order; stops early on cancellation.
  std::uint64_t next_seq = 0;
  std::int64_t next_row = 0;
  const std::atomic<bool>* cancel = options.cancel;
  flow::input_node<TileRequest> generator(fg, [&](oneapi::tbb::flow_control& fc) -> TileRequest {
    if (next_row >= g.height) {
      fc.stop();
      return {};
    }
    if (cancel != nullptr && cancel->load()) {
      interrupted = true;
      fc.stop();
      return {};
    }
    TileRequest t{next_seq++, next_row, std::min(tile_rows, g.height - next_row), g.width};
    next_row += t.rows;
    return t;
  });
  flow::limiter_node<TileRequest> limiter(fg, static_cast<std::size_t>(max_in_flight));
  flow::make_edge(generator, limiter);

  // Runs one node on one tile and keeps its counters.
  auto run_node = [this, &counters](std::size_t i, const TileRequest& tile, std::span<const PayloadPtr> inputs) {
    const auto start = std::chrono::steady_clock::now();
    PayloadPtr out;
    try {
      out = nodes[i]->process(tile, inputs);
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw_node_error(nodes[i]->where(), e.what());
    }
    auto& c = counters[i];
    c.items.fetch_add(1, std::memory_order_relaxed);
    c.cells.fetch_add(static_cast<std::uint64_t>(tile.cells()), std::memory_order_relaxed);
    c.bytes.fetch_add(out ? out->bytes() : 0, std::memory_order_relaxed);
    c.busy_ns.fetch_add(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count(),
                        std::memory_order_relaxed);
    return Message{tile, std::move(out), i};
  };

  using SourceBody = flow::function_node<TileRequest, Message>;
  using SingleBody = flow::function_node<Message, Message>;
  using MultiBody = flow::function_node<Bundle, Message>;
  using Gather = flow::multifunction_node<Message, std::tuple<Bundle>>;
  std::vector<std::unique_ptr<flow::graph_node>> owned;
  std::vector<flow::sender<Message>*> outputs(n, nullptr);

  // Gathers the inputs of one tile for a node with several inputs. Bounded: at most
  // max_in_flight tiles are pending, because the limiter admits no more.
  struct PendingTiles {
    std::mutex mutex;
    std::map<std::uint64_t, Bundle> pending;
    std::map<std::uint64_t, std::size_t> arrived;
  };
  std::vector<std::unique_ptr<PendingTiles>> pendings;

  for (std::size_t i = 0; i < n; ++i) {
    const auto& ins = input_index[i];
    if (ins.empty()) {
      auto body = std::make_unique<SourceBody>(fg, flow::unlimited, [&run_node, i](const TileRequest& t) { return run_node(i, t, {}); });
      flow::make_edge(limiter, *body);
      outputs[i] = body.get();
      owned.push_back(std::move(body));
    } else if (ins.size() == 1) {
      auto body = std::make_unique<SingleBody>(fg, flow::unlimited, [&run_node, i](const Message& m) {
        const PayloadPtr inputs[1] = {m.payload};
        return run_node(i, m.tile, inputs);
      });
      flow::make_edge(*outputs[ins[0]], *body);
      outputs[i] = body.get();
      owned.push_back(std::move(body));
    } else {
      pendings.push_back(std::make_unique<PendingTiles>());
      PendingTiles* state = pendings.back().get();
      const std::vector<std::size_t> slots = ins;
      auto gather = std::make_unique<Gather>(fg, flow::unlimited, [state, slots](const Message& m, Gather::output_ports_type& ports) {
        std::optional<Bundle> complete;
        {
          std::lock_guard lock(state->mutex);
          Bundle& b = state->pending[m.tile.seq];
          if (b.inputs.empty()) {
            b.tile = m.tile;
            b.inputs.resize(slots.size());
          }
          for (std::size_t k = 0; k < slots.size(); ++k) {
            if (slots[k] == m.producer) b.inputs[k] = m.payload;
          }
          if (++state->arrived[m.tile.seq] == slots.size()) {
            complete = std::move(b);
            state->pending.erase(m.tile.seq);
            state->arrived.erase(m.tile.seq);
          }
        }
        if (complete) std::get<0>(ports).try_put(std::move(*complete));
      });
      auto body = std::make_unique<MultiBody>(fg, flow::unlimited, [&run_node, i](const Bundle& b) { return run_node(i, b.tile, b.inputs); });
      for (const auto j : ins) flow::make_edge(*outputs[j], *gather);
      flow::make_edge(flow::output_port<0>(*gather), *body);
      outputs[i] = body.get();
      owned.push_back(std::move(gather));
      owned.push_back(std::move(body));
    }
  }

  // Sinks: a sequencer restores raster order; a serial writer writes; when every sink has
  // written a tile, the limiter admits the next one.
  using Sequencer = flow::sequencer_node<Message>;
  using Writer = flow::multifunction_node<Message, std::tuple<flow::continue_msg>>;
  std::mutex done_mutex;
  std::map<std::uint64_t, std::size_t> done;
  const std::size_t sink_count = sinks.size();
  for (const auto s : sinks) {
    auto sequencer = std::make_unique<Sequencer>(fg, [](const Message& m) { return static_cast<std::size_t>(m.tile.seq); });
    auto* sink = static_cast<SinkNode*>(nodes[s].get());
    auto writer = std::make_unique<Writer>(fg, flow::serial, [&, sink, s](const Message& m, Writer::output_ports_type& ports) {
      const auto start = std::chrono::steady_clock::now();
      sink->write(m.tile, m.payload);
      counters[s].busy_ns.fetch_add(
          std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count(), std::memory_order_relaxed);
      bool release = false;
      {
        std::lock_guard lock(done_mutex);
        if (++done[m.tile.seq] == sink_count) {
          done.erase(m.tile.seq);
          release = true;
        }
      }
      if (release) std::get<0>(ports).try_put(flow::continue_msg{});
    });
    flow::make_edge(*outputs[s], *sequencer);
    flow::make_edge(*sequencer, *writer);
    flow::make_edge(flow::output_port<0>(*writer), limiter.decrementer());
    owned.push_back(std::move(sequencer));
    owned.push_back(std::move(writer));
  }

  generator.activate();
  fg.wait_for_all();
}

RunSummary Pipeline::run() {
  Impl& m = *impl_;
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = cpu_seconds();
  std::vector<Counters> counters(m.nodes.size());
  bool interrupted = false;

  std::vector<SinkNode*> sinks;
  for (const auto s : m.sinks) sinks.push_back(static_cast<SinkNode*>(m.nodes[s].get()));
  const auto abort_all = [&] {
    for (auto* s : sinks) s->abort();
  };
  try {
    for (auto* s : sinks) s->open();
    oneapi::tbb::global_control limit(oneapi::tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(m.threads));
    oneapi::tbb::task_arena arena(m.threads);
    arena.execute([&] { m.run_graph(counters, interrupted); });
  } catch (...) {
    abort_all();
    throw;
  }
  if (interrupted) {
    abort_all();
    throw Interrupted("interrupted: the run was cancelled; no output was written under its final name");
  }
  try {
    for (auto* s : sinks) s->commit();
  } catch (...) {
    abort_all();
    throw;
  }

  RunSummary summary;
  const Grid& g = m.context.grid;
  summary.grid_width = g.width;
  summary.grid_height = g.height;
  summary.cells = static_cast<std::uint64_t>(g.cells());
  summary.threads = m.threads;
  summary.tiles = static_cast<std::uint64_t>((g.height + m.tile_rows - 1) / m.tile_rows);
  for (auto* s : sinks) {
    summary.rows_written += s->rows_written();
    summary.bytes_written += s->bytes_written();
    summary.outputs.push_back(s->output_path());
  }
  for (std::size_t i = 0; i < m.nodes.size(); ++i) {
    NodeStats st;
    st.id = m.nodes[i]->id();
    st.type = m.nodes[i]->type();
    st.items = counters[i].items.load();
    st.cells = counters[i].cells.load();
    st.bytes = counters[i].bytes.load();
    st.busy_seconds = static_cast<double>(counters[i].busy_ns.load()) * 1e-9;
    summary.nodes.push_back(st);
  }
  summary.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  summary.cpu_seconds = cpu_seconds() - cpu_start;
  summary.peak_rss_bytes = peak_rss_bytes();
  return summary;
}

}  // namespace rasterflow
