// Pipeline::run: the tile scheduler feeding the flow graphs the flow builder made, its observers,
// and the sinks' commit. Each piece is a named member of Runner.
#include <spdlog/spdlog.h>

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <map>
#include <mutex>

#include "hpc/checkpointer.hpp"
#include "memory/crawl_watch.hpp"
#include "rasterflow/errors.hpp"
#include "rasterflow/node/hooks.hpp"
#include "rasterflow/node/registry.hpp"
#include "rasterflow/node/tile_memory.hpp"
#include "rasterflow/observers.hpp"
#include "rasterflow/size.hpp"
#include "run/adaptive.hpp"
#include "run/flow.hpp"
#include "run/pipeline_impl.hpp"
#include "run/scheduler.hpp"

namespace rasterflow {

namespace detail {

class Runner {
 public:
  Runner(detail::PipelineImpl& m, Run run);
  RunSummary run();

 private:
  void make_view();
  void watch_memory();
  void make_arenas();
  Message run_node(std::size_t i, int domain, const TileRequest& tile, std::span<const PayloadPtr> inputs);
  void deliver(std::size_t k, const Message& msg);
  void tile_done(const TileRequest& tile);
  // A signal, or the memory limit too small to go on (memory_stop_).
  bool cancelled() const { return memory_stop_.load() || (run_.cancel != nullptr && run_.cancel->load()); }
  TileRequest next_tile(std::uint64_t seq, std::int64_t row, std::int64_t band_end) const;
  void admit_tiles(FlowBuilder& flows);
  void execute();
  void export_held();
  void pause_timeout();
  void watch_crawl(PressureLevel level, const MemorySample& sample);
  [[noreturn]] void throw_interrupted();
  void abort_all() noexcept {
    for (auto* s : sinks_) s->abort();
  }
  void open_sinks();
  // On a failure or an interruption: the partial outputs and their checkpoint are kept when
  // they can be resumed (always after an interruption); otherwise removed. Returns whether they
  // were kept.
  // A failure keeps them only when this run resumed one, or when writing them failed after the
  // run got somewhere: a run that failed for its inputs would need other inputs, which --resume refuses.
  bool stop_sinks(bool interrupted, bool writing_failed = false) noexcept;
  RunSummary summarize() const;

  detail::PipelineImpl& m_;
  const Run run_;
  const Grid& g_;
  const std::size_t n_;
  const bool streaming_;
  const SteadyTime start_ = std::chrono::steady_clock::now();
  const double cpu_start_ = cpu_seconds();
  std::vector<Counters> counters_;
  AdaptiveSettings adaptive_;
  MemoryMonitor monitor_;
  Admission admission_;
  MeasuredBytes measured_;
  RunView view_;
  std::vector<std::shared_ptr<RunObserver>> observers_;  // Run::observers, the null ones left out
  std::vector<SinkNode*> sinks_;
  std::atomic<bool> failed_{false};
  std::atomic<bool> writing_failed_{false};  // a sink could not write its output
  bool interrupted_ = false;
  // No crawling: critical pressure with nothing left to shed for memory.critical_pause_s stops
  // the run as a signal would (checkpoint kept), with MemoryTooSmall.
  CrawlWatch crawl_;
  std::mutex crawl_mutex_;
  std::atomic<bool> memory_stop_{false};
  std::atomic<std::uint64_t> peak_working_set_{0};  // the most the run (or its cgroup) held at once
  double paused_seconds_ = 0;
  std::vector<std::unique_ptr<oneapi::tbb::task_arena>> arenas_;
  std::vector<std::uint64_t> tiles_per_domain_;
  // In-memory mode: every tile's table, per sink. Written by the sinks' serial deliveries, read
  // after the graph; the mutex makes that hand-over visible to ThreadSanitizer too (oneTBB's
  // wait_for_all orders it, but TBB is not instrumented).
  std::vector<std::vector<std::pair<TileRequest, PayloadPtr>>> held_;
  std::mutex held_mutex_;
  std::mutex done_mutex_;
  std::map<std::uint64_t, std::size_t> done_;   // sinks that have written each tile
  std::unique_ptr<Checkpointer> checkpointer_;  // null: no checkpoint for this run
  std::int64_t checkpoint_rows_ = 0;            // > 1: tiles end at every multiple of it
  // The band's first row, or where a resumed run goes on.
  const std::int64_t start_row_ = run_.resume ? run_.resume->next_row : m_.band().first;
};

namespace {
MemoryThresholds thresholds_of(const Config& c) {
  MemoryThresholds t;
  t.warning = c.memory.warning_threshold;
  t.critical = c.memory.critical_threshold;
  return t;
}
}  // namespace

Runner::Runner(detail::PipelineImpl& m, Run run)
    : m_(m),
      run_(std::move(run)),
      g_(m.context.grid),
      n_(m.nodes.size()),
      streaming_(m.config.merge.enable_streaming),
      counters_(n_),
      adaptive_({m.config.resampling.window_size, m.config.merge.chunk_size, m.max_in_flight, m.gdal_cache}, start_),
      monitor_(m.memory_source, m.limit, thresholds_of(m.config),
               std::chrono::milliseconds(m.config.memory.sample_interval_ms)),
      admission_(m.budget),
      crawl_(std::chrono::seconds(m.config.memory.critical_pause_s), 0.5) {
  for (const auto s : m_.sinks) sinks_.push_back(static_cast<SinkNode*>(m_.nodes[s].get()));
  held_.resize(sinks_.size());
  for (const auto& o : run_.observers)
    if (o) observers_.push_back(o);
  make_view();
  adaptive_.on_event([this](const ThrottleEvent& e) {
    for (auto& o : observers_) o->on_throttle(e);
  });
  for (auto& o : observers_) o->on_start(view_);
  watch_memory();
}

void Runner::make_view() {
  view_.graph_name = m_.graph.name;
  for (const auto& node : m_.nodes) {
    view_.ids.push_back(node->id());
    view_.operations.push_back(NodeRegistry::instance().find(node->type())->operation);
  }
  view_.start = start_;
  view_.memory_limit = m_.limit;
  const auto [first, end] = m_.band();
  view_.cells_total = static_cast<std::uint64_t>((end - first) * g_.width);
  view_.cells_before = static_cast<std::uint64_t>((start_row_ - first) * g_.width);
  view_.topology_json = json_text(topology_json(m_.topology, m_.placement, m_.threads, m_.threads_source));
  view_.numa_domains = m_.placement.active ? static_cast<int>(m_.placement.domains.size()) : 1;
  view_.window_size = [this] { return adaptive_.window_size(); };
  view_.chunk_size = [this] { return adaptive_.chunk_size(); };
  view_.tiles_in_flight = [this] { return admission_.in_flight_now(); };
  view_.rows_written = [this] {
    std::uint64_t rows = 0;
    for (auto* sink : sinks_) rows += sink->rows_written();
    return rows;
  };
}

void Runner::watch_memory() {
  const auto react = [this](PressureLevel level, const MemorySample&, double ratio) {
    adaptive_.on_pressure(level, ratio);
    if (level == PressureLevel::critical) tile_memory::trim();  // pooled pages back to the system
  };
  monitor_.register_warning_callback(react);
  monitor_.register_critical_callback(react);
  monitor_.register_recovery_callback(react);
  monitor_.register_sample_callback([this](PressureLevel level, const MemorySample& sample, double) {
    for (auto& o : observers_) o->on_sample(level, sample);
    watch_crawl(level, sample);
  });
}

void Runner::make_arenas() {
  // One arena per NUMA domain (one on the plain path), its tile buffers from that domain's pool.
  const NumaPlacement& placement = m_.placement;
  tile_memory::Layout layout;
  layout.pool_cap = m_.budget;
  if (placement.active) {
    layout.nodes.clear();
    for (const auto& d : placement.domains) {
      layout.nodes.push_back(d.os_index);
      if (d.tbb_id >= 0) {
        arenas_.push_back(std::make_unique<oneapi::tbb::task_arena>(
            oneapi::tbb::task_arena::constraints{}.set_numa_id(d.tbb_id).set_max_concurrency(d.threads), 0));
      } else {  // TBB cannot pin it: a plain arena of the domain's threads
        arenas_.push_back(std::make_unique<oneapi::tbb::task_arena>(d.threads, 0));
      }
    }
    layout.bind = placement.memory_bound;
  } else {
    arenas_.push_back(std::make_unique<oneapi::tbb::task_arena>(m_.threads, 0));
  }
  const std::string refused = tile_memory::configure(layout);
  if (!refused.empty()) spdlog::warn("NUMA placement: {}", refused);
  tiles_per_domain_.assign(arenas_.size(), 0);
}

namespace {
// In-memory export: a sink's inputs for one tile, held until the whole grid is done (their bytes
// are their producers').
struct HeldInputs final : Payload {
  std::vector<PayloadPtr> inputs;
  std::size_t bytes() const noexcept override { return 0; }
};
}  // namespace

Message Runner::run_node(std::size_t i, int domain, const TileRequest& tile, std::span<const PayloadPtr> inputs) {
  // Runs one node on one tile and keeps its counters. A failure stops admission at once. In
  // in-memory mode a sink's inputs (however many) are only gathered here, and written after.
  if (!streaming_ && std::find(m_.sinks.begin(), m_.sinks.end(), i) != m_.sinks.end()) {
    auto held = std::make_shared<HeldInputs>();
    held->inputs.assign(inputs.begin(), inputs.end());
    return Message{tile, std::move(held), i};
  }
  const tile_memory::DomainScope scope(domain);
  const auto t0 = std::chrono::steady_clock::now();
  PayloadPtr out;
  for (auto& o : observers_) o->on_node_begin(i);
  try {
    try {
      out = m_.nodes[i]->process(tile, inputs);
    } catch (const Error&) {
      throw;
    } catch (const std::bad_alloc&) {
      throw_node_error(m_.nodes[i]->where(),
                       "out of memory (an allocation failed while processing tile " + std::to_string(tile.seq) + ")");
    } catch (const std::exception& e) {
      throw_node_error(m_.nodes[i]->where(), e.what());
    }
  } catch (...) {
    failed_.store(true);
    admission_.wake();
    throw;
  }
  const std::uint64_t bytes = out ? out->bytes() : 0;
  measured_.add(tile.seq, bytes);
  const auto t1 = std::chrono::steady_clock::now();
  for (auto& o : observers_) o->on_node_end(i, tile, t0, t1, bytes);
  auto& c = counters_[i];
  c.items.fetch_add(1, std::memory_order_relaxed);
  c.cells.fetch_add(static_cast<std::uint64_t>(tile.cells()), std::memory_order_relaxed);
  c.bytes.fetch_add(bytes, std::memory_order_relaxed);
  c.busy_ns.fetch_add(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count(),
      std::memory_order_relaxed);
  return Message{tile, std::move(out), i};
}

void Runner::deliver(std::size_t k, const Message& msg) {
  // Sinks receive their messages in raster order, serially: streaming sinks write their own
  // formatted chunks; in-memory mode keeps every tile's table and writes after the graph.
  if (!streaming_) {
    {
      std::lock_guard lock(held_mutex_);
      held_[k].emplace_back(msg.tile, msg.payload);
    }
    tile_done(msg.tile);
    return;
  }
  const std::size_t s = m_.sinks[k];
  const auto t0 = std::chrono::steady_clock::now();
  try {
    sinks_[k]->write(msg.tile, msg.payload);
  } catch (const IoError&) {
    writing_failed_.store(true);  // disk full, quota...: fixable outside the run
    failed_.store(true);
    admission_.wake();
    throw;
  } catch (...) {
    failed_.store(true);
    admission_.wake();
    throw;
  }
  const auto t1 = std::chrono::steady_clock::now();
  if (checkpointer_) checkpointer_->written(k, msg.tile.seq);
  for (auto& o : observers_) o->on_write(s, msg.tile, t0, t1);
  counters_[s].busy_ns.fetch_add(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count(),
      std::memory_order_relaxed);
  tile_done(msg.tile);
}

void Runner::tile_done(const TileRequest& tile) {
  {
    std::lock_guard lock(done_mutex_);
    if (++done_[tile.seq] != sinks_.size()) return;
    done_.erase(tile.seq);
  }
  measured_.finish(tile.seq, tile.cells());
  if (checkpointer_) checkpointer_->tile_done(tile);
  admission_.release(tile.seq);
  for (auto& o : observers_) o->on_tile_done(tile);
}

void Runner::pause_timeout() {
  // Admission paused that long with nothing in flight: stop as a signal would (admit_tiles sees it).
  if (!memory_stop_.exchange(true))
    spdlog::warn("memory stayed critical for {} s with every tile at its smallest and nothing in flight: stopping",
                 m_.config.memory.critical_pause_s);
}

void Runner::watch_crawl(PressureLevel level, const MemorySample& sample) {
  // The job's working set: the cgroup's (the job's other processes too) where it has one.
  const std::uint64_t held = std::max(sample.process_rss, sample.in_cgroup ? sample.system_used : 0);
  std::uint64_t peak = peak_working_set_.load();
  while (held > peak && !peak_working_set_.compare_exchange_weak(peak, held)) {
  }
  std::lock_guard lock(crawl_mutex_);  // samples come from the monitor and the admitting thread
  if (crawl_.on_sample(std::chrono::steady_clock::now(), level == PressureLevel::critical, adaptive_.at_minimum()) &&
      !memory_stop_.exchange(true)) {
    spdlog::warn(
        "memory critical for {:.0f} s with every tile at its smallest (one-row tiles, one in flight): "
        "stopping instead of crawling",
        crawl_.critical_seconds());
  }
}

TileRequest Runner::next_tile(std::uint64_t seq, std::int64_t row, std::int64_t band_end) const {
  // Sized by the current window and chunk sizes, then split until every thread can have a tile
  // of that size within the budget (one tile over it would leave the other threads idle), or
  // the tile is one row; its end aligned with the sources' blocks.
  std::int64_t rows = std::min(m_.rows_for(adaptive_.window_size(), adaptive_.chunk_size()), band_end - row);
  const double per_cell = measured_.per_cell(m_.plan_bytes_per_cell);
  auto bytes = static_cast<std::uint64_t>(per_cell * static_cast<double>(rows * g_.width));
  const auto sharing = static_cast<std::uint64_t>(std::max(1, std::min(m_.threads, adaptive_.tiles_in_flight())));
  while (bytes * sharing > m_.budget && rows > 1) {
    rows = std::max<std::int64_t>(1, rows / 2);
    bytes = static_cast<std::uint64_t>(per_cell * static_cast<double>(rows * g_.width));
  }
  rows = m_.aligned_end(row, rows) - row;
  if (checkpoint_rows_ > 1) rows = std::min(rows, (row / checkpoint_rows_ + 1) * checkpoint_rows_ - row);
  return TileRequest{seq, row, rows, g_.width};
}

void Runner::admit_tiles(FlowBuilder& flows) {
  // Admission: one tile at a time, in raster order, each admitted when its bytes fit the budget.
  std::uint64_t seq = 0;
  std::int64_t row = start_row_;
  const std::int64_t band_end = m_.band().second;
  while (row < band_end) {
    if (cancelled()) {
      interrupted_ = true;
      break;
    }
    if (failed_.load()) break;
    monitor_.sample_now();
    const TileRequest tile = next_tile(seq, row, band_end);
    const auto bytes =
        static_cast<std::uint64_t>(measured_.per_cell(m_.plan_bytes_per_cell) * static_cast<double>(tile.cells()));
    const bool admitted = admission_.acquire(
        seq, bytes, [&] { return failed_.load() || cancelled(); }, [&] { return adaptive_.tiles_in_flight(); },
        [&](int in_flight) {
          return in_flight == 0 && monitor_.sample_now() == PressureLevel::critical && adaptive_.at_minimum();
        },
        [this] { pause_timeout(); }, std::chrono::seconds(m_.config.memory.critical_pause_s), paused_seconds_);
    if (!admitted) continue;  // the loop head sees why
    const std::size_t domain = m_.placement.domain_of(seq);
    ++tiles_per_domain_[domain];
    flows.feed(domain, tile);
    ++seq;
    row += tile.rows;
  }
}

void Runner::execute() {
  // The flow graphs run while this thread admits tiles; a failure anywhere drains every graph
  // and aborts the sinks (nothing under a final name).
  oneapi::tbb::global_control parallelism(oneapi::tbb::global_control::max_allowed_parallelism,
                                          static_cast<std::size_t>(m_.threads) + 1);
  make_arenas();
  FlowBuilder flows(
      {.nodes = n_, .inputs = m_.input_index, .sinks = m_.sinks}, arenas_,
      [this](std::size_t i, int domain, const TileRequest& t, std::span<const PayloadPtr> in) {
        return run_node(i, domain, t, in);
      },
      [this](std::size_t k, const Message& msg) { deliver(k, msg); });
  try {
    open_sinks();
    monitor_.start();
    admit_tiles(flows);
    flows.wait_all(true);
    monitor_.stop();
  } catch (...) {
    failed_.store(true);
    monitor_.stop();
    flows.wait_all(false);
    if (stop_sinks(false, writing_failed_.load())) {
      spdlog::error(
          "the partial outputs and the checkpoint {} are kept (rows up to {} written): once the cause is "
          "fixed, the run continues with --resume",
          checkpointer_->file().string(), checkpointer_->next_row());
    }
    throw;
  }
}

void Runner::open_sinks() {
  // A resumed run reopens its partial outputs cut back to the checkpoint; a checkpointed run
  // saves its first checkpoint at once, so that --resume works from any moment on.
  const std::vector<ResumableSink*> resumable = m_.resumable_sinks();
  const std::optional<Checkpoint>& resume = run_.resume;
  if (resume) {
    for (std::size_t k = 0; k < resumable.size(); ++k) resumable[k]->reopen(resume->sinks[k].state);
    if (start_row_ > m_.band().first) {
      spdlog::info("resuming from {}: rows {}-{} were written, continuing at row {}", m_.checkpoint_file().string(),
                   m_.band().first, start_row_ - 1, start_row_);
    } else {
      spdlog::info("resuming from {}: no row was written yet, continuing at row {}", m_.checkpoint_file().string(),
                   start_row_);
    }
  } else {
    // Never over an interrupted run's checkpoint (the command line says so before running;
    // embedders get the same guarantee here).
    std::error_code ec;
    if (!m_.checkpoint_file().empty() && std::filesystem::exists(m_.checkpoint_file(), ec)) {
      throw UsageError(m_.checkpoint_file().string() + ": a checkpoint of an interrupted run of these outputs " +
                       "exists; continue it with --resume, or delete it (and its .partial output) to start again");
    }
    for (auto* s : sinks_) s->open();
  }
  if (!run_.checkpoint && !resume) {
    spdlog::debug("no checkpoint: not asked for (Run::checkpoint)");
    return;
  }
  if (!m_.plan.checkpoint_refusal.empty()) {
    spdlog::debug("no checkpoint: {}", m_.plan.checkpoint_refusal);
    return;
  }
  Checkpoint base = resume ? *resume : Checkpoint{};
  base.identity = m_.run_identity(run_.band);
  base.next_row = start_row_;
  base.experiment = run_.experiment;
  base.database = run_.experiment_database;
  std::vector<std::string> ids;
  for (auto* s : sinks_) ids.push_back(s->id());
  checkpointer_ = std::make_unique<Checkpointer>(
      m_.checkpoint_file(), std::move(base), ids, resumable,
      std::chrono::milliseconds(static_cast<std::int64_t>(m_.config.checkpoint.interval_s * 1000)), resume.has_value(),
      m_.row_multiple(), m_.band().second);
  // A checkpoint records only the rows after a multiple of the sinks' row multiple: tiles end at
  // least at every multiple of a period of it about eight tiles long (one tile more per eight).
  if (const std::int64_t multiple = m_.row_multiple(); multiple > 1)
    checkpoint_rows_ = multiple * std::max<std::int64_t>(1, (8 * m_.tile_rows + multiple - 1) / multiple);
  if (!resume && !checkpointer_->save()) throw IoError("cannot write the checkpoint " + m_.checkpoint_file().string());
}

bool Runner::stop_sinks(bool interrupted, bool writing_failed) noexcept {
  const bool keep =
      checkpointer_ && (interrupted || run_.resume.has_value() || (writing_failed && checkpointer_->worth_keeping()));
  if (keep && checkpointer_->save()) {
    for (auto* r : m_.resumable_sinks()) r->suspend();
    return true;
  }
  abort_all();
  if (checkpointer_) checkpointer_->remove();
  return false;
}

void Runner::export_held() {
  // In-memory export: the whole merged grid is held; format and write it in order now.
  std::lock_guard lock(held_mutex_);
  for (std::size_t k = 0; k < sinks_.size(); ++k) {
    for (auto& [tile, held] : held_[k]) {
      const PayloadPtr text = sinks_[k]->process(tile, static_cast<const HeldInputs&>(*held).inputs);
      sinks_[k]->write(tile, text);
      held.reset();
    }
  }
}

RunSummary Runner::summarize() const {
  RunSummary summary;
  summary.grid_width = g_.width;
  summary.grid_height = g_.height;
  summary.cells = static_cast<std::uint64_t>((m_.band().second - start_row_) * g_.width);
  if (run_.resume) summary.resumed_at_row = start_row_;
  summary.threads = m_.threads;
  summary.placement = m_.placement.description();
  summary.tiles_per_domain = tiles_per_domain_;
  if (const std::string refused = tile_memory::refusal(); !refused.empty()) summary.placement += "; " + refused;
  for (std::size_t i = 0; i < n_; ++i) {
    NodeStats st;
    st.id = m_.nodes[i]->id();
    st.type = m_.nodes[i]->type();
    st.items = counters_[i].items.load();
    st.cells = counters_[i].cells.load();
    st.bytes = counters_[i].bytes.load();
    st.busy_seconds = static_cast<double>(counters_[i].busy_ns.load()) * 1e-9;
    st.operation = view_.operations[i];
    st.tags = m_.nodes[i]->metric_tags();
    summary.nodes.push_back(st);
    if (m_.input_index[i].empty()) summary.tiles = std::max<std::uint64_t>(summary.tiles, st.items);
  }
  for (auto* s : sinks_) {
    summary.rows_written += s->rows_written();
    summary.bytes_written += s->bytes_written();
    summary.outputs.push_back(s->output_path());
  }
  summary.throttle_events = adaptive_.events();
  summary.memory_limit = m_.limit;
  summary.tile_budget = m_.budget;
  summary.peak_tile_bytes = admission_.peak_used();
  summary.max_tiles_in_flight_seen = admission_.peak_in_flight();
  summary.paused_seconds = paused_seconds_;
  summary.streaming = streaming_;
  return summary;
}

void Runner::throw_interrupted() {
  std::string what = "interrupted: the run was cancelled; no output was written under its final name";
  if (stop_sinks(true)) {
    const std::int64_t first = m_.band().first;
    const std::int64_t next = checkpointer_->next_row();
    const std::string band = std::to_string(first) + "-" + std::to_string(m_.band().second - 1);
    what = "interrupted: " +
           (next > first
                ? "rows " + std::to_string(first) + "-" + std::to_string(next - 1) + " of " + band + " are written"
                : "none of rows " + band + " is written yet") +
           "; the checkpoint " + checkpointer_->file().string() + " and the partial outputs are kept for --resume";
  }
  if (!memory_stop_.load()) throw Interrupted(what);
  // The measured need: the most the run held at once with the smallest tiles, a floor of what it
  // needs; the next job's size from it as `metrics --suggest` makes one (plus 25%).
  const std::uint64_t need = std::max(peak_working_set_.load(), peak_rss_bytes());
  throw MemoryTooSmall(
      "memory limit too small: critical pressure (" +
      std::to_string(static_cast<int>(m_.config.memory.critical_threshold * 100)) + "% of " + format_size(m_.limit) +
      ", " + m_.limit_source + ") lasted " + std::to_string(m_.config.memory.critical_pause_s) +
      " s with nothing left to shed (one-row tiles, one tile in flight, lean decoding); the run held " +
      format_size(need) + " at its smallest and needs more than that\n" + what +
      "\ngive the next job more memory: #SBATCH --mem=" +
      sbatch_mem(static_cast<std::uint64_t>(static_cast<double>(need) * 1.25) + kJobHeadroom) +
      " (the measured need plus 25% and the job's other processes' headroom, as metrics --suggest sizes it) or "
      "--memory-limit " +
      format_size(static_cast<std::uint64_t>(static_cast<double>(need) * 1.25)));
}

RunSummary Runner::run() {
  {
    // Pooled tile buffers are unmapped when the run ends, after the last payload is freed.
    struct TrimPool {
      ~TrimPool() { tile_memory::trim(); }
    } trim_pool;
    execute();
    // Cancelled after the last tile was admitted counts too: nothing is committed once asked to stop.
    if (interrupted_ || cancelled()) throw_interrupted();
    try {
      if (!streaming_) export_held();
      for (auto* s : sinks_) s->commit();
    } catch (...) {
      abort_all();
      if (checkpointer_) checkpointer_->remove();
      throw;
    }
    // The outputs are under their final names: the checkpoint has served. Under MPI the bands
    // are complete but not yet gathered: the caller removes the checkpoint once every sink's
    // gather() has put the output under its final name (a job killed while gathering resumes
    // with nothing left to compute and gathers again).
    if (checkpointer_ && m_.options.ranks <= 1) checkpointer_->remove();
  }
  RunSummary summary = summarize();
  for (auto& o : observers_) o->on_finish(summary);
  summary.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  summary.cpu_seconds = cpu_seconds() - cpu_start_;
  summary.peak_rss_bytes = peak_rss_bytes();
  hooks().set_read_cache_bytes(m_.gdal_cache);
  return summary;
}

}  // namespace detail

RunSummary Pipeline::run(Run run) {
  detail::PipelineImpl& m = *impl_;
  m.claim_outputs();
  if (run.resume) {
    if (!m.plan.checkpoint_refusal.empty())
      throw UsageError("Run::resume: this run cannot resume: " + m.plan.checkpoint_refusal);
    const std::vector<std::string> differences = identity_differences(run.resume->identity, m.run_identity(run.band));
    if (!differences.empty())
      throw UsageError("Run::resume: the checkpoint is not this run's (" + differences.front() + ")");
  }
  m.run_band = run.band;
  struct WholeGrid {  // tiles are planned for the whole grid again after the run
    detail::PipelineImpl& m;
    ~WholeGrid() { m.run_band = {}; }
  } restore{m};
  return detail::Runner(m, std::move(run)).run();
}

}  // namespace rasterflow
