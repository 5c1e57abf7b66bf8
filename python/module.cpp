// The rasterflow Python module's compiled part (rasterflow._core): the CLI's verbs over the
// engine API (rasterflow/pipeline.hpp), and the chunk stream. rasterflow/__init__.py holds the
// documented functions and turns keyword arguments into the plain values taken here.
//
// Threads: the engine always runs on a thread of its own; the calling thread waits for it with
// the GIL released, taking the GIL back a few times a second to check for signals (Ctrl-C is a
// KeyboardInterrupt that cancels the run) and to call the progress callable. No engine thread
// ever takes the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "python/chunk_sink.hpp"
#include "python/log_bridge.hpp"
#include "rasterflow/errors.hpp"
#include "rasterflow/graph.hpp"
#include "rasterflow/metrics.hpp"
#include "rasterflow/pipeline.hpp"
#include "rasterflow/registry.hpp"

namespace py = pybind11;

namespace rasterflow::python {
namespace {

constexpr int kPollMs = 100;             // how often the waiting thread checks for signals
constexpr double kProgressEvery = 0.25;  // seconds between progress calls (at most 4 a second)

// Exception classes, created at import (rasterflow.GraphError, ...).
struct Exceptions {
  PyObject* error = nullptr;
  PyObject* usage = nullptr;
  PyObject* config = nullptr;
  PyObject* graph = nullptr;
  PyObject* run = nullptr;
  PyObject* io = nullptr;
  PyObject* node = nullptr;
};
Exceptions g_exc;

// The arguments the verbs share, as rasterflow/__init__.py passes them.
struct Args {
  std::string graph_path;  // a graph file, or
  std::string graph_json;  // a graph given as a dict (serialised), its paths relative to base_dir
  std::string base_dir;
  std::string config;
  std::vector<std::string> sets;  // KEY=VALUE
  std::string output_dir = ".";
  std::string memory_limit;          // rasterflow's own budget: added to the process's RSS at the call
  std::string process_memory_limit;  // the whole process's limit (memory.limit as the command line takes it)
  int threads = 0;
  int streaming = -1;  // -1: the configuration's merge.enable_streaming
  std::string database;
  std::string experiment;
};

template <typename T>
T get(const py::dict& d, const char* key, T fallback) {
  if (!d.contains(key) || d[key].is_none()) return fallback;
  return d[key].cast<T>();
}

Args parse_args(const py::dict& d) {
  Args a;
  a.graph_path = get<std::string>(d, "graph_path", "");
  a.graph_json = get<std::string>(d, "graph_json", "");
  a.base_dir = get<std::string>(d, "base_dir", "");
  a.config = get<std::string>(d, "config", "");
  a.sets = get<std::vector<std::string>>(d, "set", {});
  a.output_dir = get<std::string>(d, "output_dir", ".");
  a.memory_limit = get<std::string>(d, "memory_limit", "");
  a.process_memory_limit = get<std::string>(d, "process_memory_limit", "");
  a.threads = get<int>(d, "threads", 0);
  a.streaming = get<int>(d, "streaming", -1);
  a.database = get<std::string>(d, "database", "");
  a.experiment = get<std::string>(d, "experiment", "");
  return a;
}

// The configuration with the arguments' overrides, as `rasterflow run` makes it.
Config make_config(const Args& a) {
  Config config = a.config.empty() ? Config{} : Config::load(a.config);
  for (const auto& s : a.sets) config.set(s);
  config.validate();
  if (!a.process_memory_limit.empty()) config.set("memory.limit", a.process_memory_limit, "process_memory_limit");
  if (!a.memory_limit.empty()) {
    // A notebook already holding gigabytes gives rasterflow its budget on top of them: the
    // engine's whole-process limit is the budget plus what the process holds now.
    config.set("memory.limit", a.memory_limit, "memory_limit");
    config.memory.limit += current_rss();
  }
  if (a.threads < 0) throw UsageError("threads: expected a positive number, got " + std::to_string(a.threads));
  if (a.threads > 0) config.set("engine.threads", std::to_string(a.threads), "threads");
  if (a.streaming >= 0) config.merge.enable_streaming = a.streaming == 1;
  if (!a.database.empty()) {
    config.set("database.url", a.database, "database");
    config.metrics.backend = "postgresql";
  }
  return config;
}

GraphSpec make_graph(const Args& a, const Config& config) {
  if (!a.graph_path.empty()) return load_graph(a.graph_path, config);
  // A dict has no file: its input paths resolve against base_dir (default: the current folder).
  const std::filesystem::path file =
      a.base_dir.empty() ? std::filesystem::path("<dict>") : std::filesystem::path(a.base_dir) / "<dict>";
  return parse_graph(a.graph_json, file, config);
}

// The engine's run on a thread of its own. The destructor cancels a run still going and
// waits for it, so no engine thread outlives its owner.
class EngineThread {
 public:
  EngineThread(Pipeline& pipeline, std::atomic<bool>& cancel, std::function<void()> on_end = {})
      : cancel_(cancel), thread_([this, &pipeline, end = std::move(on_end)] {
          try {
            summary_ = pipeline.run();
          } catch (const Error&) {
            error_ = std::current_exception();
          } catch (const std::bad_alloc&) {
            error_ = std::current_exception();
          } catch (const std::exception& e) {
            error_ = std::make_exception_ptr(RunError(e.what()));
          }
          if (end) end();
          std::lock_guard lock(mutex_);
          done_ = true;
          done_changed_.notify_all();
        }) {}
  ~EngineThread() { stop(); }
  EngineThread(const EngineThread&) = delete;
  EngineThread& operator=(const EngineThread&) = delete;

  // Waits up to `ms` (call without the GIL); true once the run has ended.
  bool wait_for(int ms) {
    std::unique_lock lock(mutex_);
    return done_changed_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return done_; });
  }
  // Cancels the run if still going and joins; releases the GIL meanwhile if this thread has it.
  void stop() noexcept {
    cancel_.store(true);
    join();
  }
  void join() noexcept {
    if (!thread_.joinable()) return;
    if (PyGILState_Check()) {
      py::gil_scoped_release nogil;
      thread_.join();
    } else {
      thread_.join();
    }
  }
  // After join(): the summary, or the run's error rethrown.
  const RunSummary& result() const {
    if (error_) std::rethrow_exception(error_);
    return summary_;
  }
  bool failed() const { return error_ != nullptr; }

 private:
  std::atomic<bool>& cancel_;
  RunSummary summary_;
  std::exception_ptr error_;
  std::mutex mutex_;
  std::condition_variable done_changed_;
  bool done_ = false;
  std::thread thread_;  // last: starts once everything above exists
};

// True when a signal handler raised (Ctrl-C: KeyboardInterrupt is then set); needs the GIL.
bool signalled() { return PyErr_CheckSignals() != 0; }

py::dict live_dict(const Pipeline& pipeline, double seconds) {
  const Pipeline::Live live = pipeline.live();
  py::dict d;
  d["cells_done"] = live.cells_done;
  d["cells_total"] = live.cells_total;
  d["rows_written"] = live.rows_written;
  d["level"] = to_string(live.level);
  d["window_size"] = live.window_size;
  d["tiles_in_flight"] = live.tiles_in_flight;
  d["seconds"] = seconds;
  return d;
}

// Metrics as `rasterflow run` records them: an experiment per run (metrics.backend "none": none).
std::unique_ptr<MetricsRecorder> open_metrics(const Config& config, const GraphSpec& graph, const Args& a) {
  if (config.metrics.backend == "none") return nullptr;
  ExperimentInfo info;
  info.name = a.experiment.empty() ? graph.name : a.experiment;
  info.graph_json = graph.json;
  info.config_json = masked_config_json(config, graph);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  info.host = host;
  const std::filesystem::path output_dir = a.output_dir;
  auto recorder = std::make_unique<MetricsRecorder>(
      [config, output_dir]() -> std::unique_ptr<MetricsBackend> {
        if (!config.database.url.empty() || config.metrics.backend == "postgresql")
          return open_postgresql_metrics(config.database.url);
        const std::filesystem::path file(config.metrics.sqlite_path);
        return open_sqlite_metrics(file.is_relative() ? output_dir / file : file);
      },
      info);
  recorder->start(config.metrics.required);
  return recorder;
}

py::dict summary_dict(const RunSummary& s, std::optional<std::int64_t> experiment) {
  py::dict d;
  d["rows"] = s.rows_written;
  d["cells"] = s.cells;
  d["tiles"] = s.tiles;
  d["grid_width"] = s.grid_width;
  d["grid_height"] = s.grid_height;
  d["seconds"] = s.wall_seconds;
  d["cpu_seconds"] = s.cpu_seconds;
  d["peak_rss_bytes"] = s.peak_rss_bytes;
  d["memory_limit"] = s.memory_limit;
  d["threads"] = s.threads;
  d["streaming"] = s.streaming;
  d["bytes_written"] = s.bytes_written;
  py::list outputs;
  for (const auto& o : s.outputs) outputs.append(o.string());
  d["outputs"] = outputs;
  py::list events;
  for (const auto& e : s.throttle_events) {
    py::dict ev;
    ev["seconds"] = e.seconds;
    ev["setting"] = e.setting;
    ev["value"] = e.value;
    ev["previous"] = e.previous;
    ev["level"] = e.level;
    ev["reason"] = e.reason;
    events.append(ev);
  }
  d["throttle_events"] = events;
  d["experiment_id"] = experiment ? py::cast(*experiment) : py::none();
  return d;
}

// rasterflow.run(): `rasterflow run` without MPI.
py::dict run(const py::dict& args, const py::object& progress) {
  const LogScope log;
  const Args a = parse_args(args);
  std::atomic<bool> cancel{false};
  Config config;
  GraphSpec graph;
  std::unique_ptr<Pipeline> pipeline;
  std::unique_ptr<MetricsRecorder> recorder;
  {
    py::gil_scoped_release nogil;
    config = make_config(a);
    std::error_code ec;
    std::filesystem::create_directories(a.output_dir, ec);
    if (ec) throw UsageError("output_dir: cannot create " + a.output_dir + ": " + ec.message());
    graph = make_graph(a, config);
    RunOptions options;
    options.output_dir = a.output_dir;
    options.threads = config.engine.threads;
    options.threads_source = a.threads > 0 ? "threads" : "engine.threads";
    options.cancel = &cancel;
    pipeline = std::make_unique<Pipeline>(graph, config, options);
    recorder = open_metrics(config, graph, a);
    if (recorder) pipeline->set_metric_recorder([r = recorder.get()](MetricRow row) { r->record(std::move(row)); });
  }
  const auto finish_metrics = [&](const char* status, const std::string& error) {
    if (!recorder) return;
    py::gil_scoped_release nogil;
    recorder->finish(status, error, std::chrono::seconds(status[0] == 's' ? 10 : 5));
  };
  const auto start = std::chrono::steady_clock::now();
  const auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  EngineThread engine(*pipeline, cancel);
  double next_progress = 0;
  try {
    for (;;) {
      bool done = false;
      {
        py::gil_scoped_release nogil;
        done = engine.wait_for(kPollMs);
      }
      forward_logs();
      if (done) break;
      if (signalled()) throw py::error_already_set();
      if (!progress.is_none() && seconds() >= next_progress) {
        next_progress = seconds() + kProgressEvery;
        progress(live_dict(*pipeline, seconds()));
      }
    }
  } catch (py::error_already_set& e) {
    // Ctrl-C or the progress callable raised: the run stops, its outputs are removed.
    engine.stop();
    finish_metrics(e.matches(PyExc_KeyboardInterrupt) ? "interrupted" : "failed", e.what());
    throw;
  }
  engine.join();
  if (engine.failed()) {
    try {
      engine.result();
    } catch (const std::exception& e) {
      finish_metrics(dynamic_cast<const Interrupted*>(&e) ? "interrupted" : "failed", e.what());
      throw;
    }
  }
  const RunSummary& summary = engine.result();
  finish_metrics("succeeded", "");
  if (!progress.is_none()) progress(live_dict(*pipeline, seconds()));  // the final figures
  return summary_dict(summary, recorder ? recorder->experiment_id() : std::nullopt);
}

// rasterflow.validate(): `rasterflow validate`.
py::dict validate(const py::dict& args) {
  const LogScope log;
  const Args a = parse_args(args);
  std::size_t nodes = 0;
  Grid grid;
  {
    py::gil_scoped_release nogil;
    const Config config = make_config(a);
    const GraphSpec graph = make_graph(a, config);
    const Pipeline pipeline(graph, config, RunOptions{});
    nodes = graph.nodes.size();
    grid = pipeline.grid();
  }
  py::dict d;
  d["nodes"] = nodes;
  d["grid_width"] = grid.width;
  d["grid_height"] = grid.height;
  return d;
}

// rasterflow.plan(): `rasterflow plan --format json` (the text; __init__ parses it).
std::string plan(const py::dict& args, const std::string& format) {
  const LogScope log;
  const Args a = parse_args(args);
  py::gil_scoped_release nogil;
  const Config config = make_config(a);
  const GraphSpec graph = make_graph(a, config);
  const Pipeline pipeline(graph, config, RunOptions{});
  if (format == "json") return pipeline.plan_json();
  if (format == "dot") return pipeline.plan_dot();
  std::string text;
  for (const auto& line : pipeline.plan()) text += line + "\n";
  return text;
}

// The graph with its sinks replaced by one chunk sink reading what they read (or what `sink`
// reads).
GraphSpec with_chunk_sink(GraphSpec graph, const std::string& sink) {
  const NodeRegistry& registry = NodeRegistry::instance();
  std::vector<NodeSpec> kept;
  std::string input, id = "chunks";
  std::vector<std::string> sinks;
  for (const auto& n : graph.nodes) {
    if (!registry.find(n.type)->is_sink) {
      kept.push_back(n);
      continue;
    }
    sinks.push_back(n.id);
    if (!sink.empty() && n.id != sink) continue;
    if (!input.empty() && n.inputs.at(0) != input) {
      throw UsageError(graph.file.string() + ": the graph's sinks read different nodes (\"" + input + "\" and \"" +
                       n.inputs.at(0) + "\"); give sink=ID to choose the one whose table chunks() yields");
    }
    input = n.inputs.at(0);
    id = n.id;
  }
  if (!sink.empty() && input.empty()) {
    std::string list;
    for (const auto& s : sinks) list += (list.empty() ? "" : ", ") + s;
    throw UsageError(graph.file.string() + ": sink=\"" + sink + "\": no such sink in the graph" +
                     did_you_mean(sink, sinks) + " (sinks: " + (list.empty() ? "none" : list) + ")");
  }
  if (input.empty())  // the graph loader refuses graphs without a sink; kept for graphs built otherwise
    throw UsageError(graph.file.string() + ": the graph has no sink; chunks() streams what a sink reads");
  NodeSpec chunk_node;
  chunk_node.id = id;
  chunk_node.type = kChunkSinkType;
  chunk_node.inputs = {input};
  chunk_node.graph_file = graph.file;
  kept.push_back(chunk_node);
  graph.nodes = std::move(kept);
  return graph;
}

template <typename T>
py::array view(const std::vector<T>& v, const py::object& owner) {
  // The array's memory is the chunk's, kept alive by `owner` (a capsule holding the chunk).
  return py::array_t<T>({static_cast<py::ssize_t>(v.size())}, {static_cast<py::ssize_t>(sizeof(T))}, v.data(), owner);
}

// The chunk stream behind rasterflow.chunks(): the graph is checked and the pipeline built at
// construction; the first next() starts the engine on its own thread, its chunk sink blocking
// on a bounded queue that next() drains.
class Stream {
 public:
  Stream(const py::dict& args, bool masked, const std::string& sink, int prefetch)
      : queue_(std::make_shared<ChunkQueue>(static_cast<std::size_t>(std::max(1, prefetch)))) {
    const LogScope log;
    const Args a = parse_args(args);
    py::gil_scoped_release nogil;
    config_ = make_config(a);
    graph_ = with_chunk_sink(make_graph(a, config_), sink);
    RunOptions options;
    options.output_dir = a.output_dir;
    options.threads = config_.engine.threads;
    options.threads_source = a.threads > 0 ? "threads" : "engine.threads";
    options.cancel = &cancel_;
    options.build_node = [this, masked](const NodeSpec& spec) -> std::unique_ptr<Node> {
      if (spec.type != kChunkSinkType) return nullptr;
      auto node = std::make_unique<ChunkSink>(spec, queue_, masked);
      sink_ = node.get();
      return node;
    };
    pipeline_ = std::make_unique<Pipeline>(graph_, config_, options);
    sink_->set_chunk_rows(pipeline_->tile_rows());
  }
  ~Stream() { close(); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // The next chunk as (columns, nodata masks or None); raises StopIteration at the end.
  py::tuple next() {
    const LogScope log;
    if (!started_) {  // the run starts with the first chunk asked for
      started_ = true;
      engine_ = std::make_unique<EngineThread>(*pipeline_, cancel_, [q = queue_] { q->finish(); });
    }
    if (!engine_) throw py::stop_iteration();
    for (;;) {
      ChunkPtr chunk;
      {
        py::gil_scoped_release nogil;
        chunk = queue_->pop(kPollMs);
      }
      forward_logs();
      if (chunk) return to_python(chunk);
      if (queue_->finished_and_empty()) {
        engine_->join();
        const auto engine = std::move(engine_);
        engine->result();  // the run's error, if any
        throw py::stop_iteration();
      }
      if (signalled()) {
        close();
        throw py::error_already_set();
      }
    }
  }

  // Stops the run (if still going) and waits for its threads; nothing is left running.
  void close() {
    started_ = true;
    queue_->close();
    if (engine_) engine_->stop();
    engine_.reset();
  }

  std::vector<std::string> columns() const { return sink_->column_names(); }
  std::vector<std::string> column_types() const { return sink_->column_types(); }
  // One dict per column: units, standard_name, long_name, variable (the node that made it),
  // time (the step's stored value, or None), time_units, time_calendar (#30).
  py::list column_metadata() const {
    py::list out;
    for (const auto& m : sink_->column_metadata()) {
      py::dict d;
      d["units"] = m.units;
      d["standard_name"] = m.standard_name;
      d["long_name"] = m.long_name;
      d["variable"] = m.variable;
      d["time"] = m.time ? py::cast(*m.time) : py::none();
      d["time_units"] = m.time_units;
      d["time_calendar"] = m.time_calendar;
      out.append(d);
    }
    return out;
  }
  py::array x_coords() const { return py::array_t<double>(sink_->x_coords().size(), sink_->x_coords().data()); }
  py::array y_coords() const { return py::array_t<double>(sink_->y_coords().size(), sink_->y_coords().data()); }
  py::dict grid() const {
    const Grid& g = pipeline_->grid();
    py::dict d;
    d["crs"] = g.crs;
    d["x0"] = g.x0;
    d["y0"] = g.y0;
    d["res_x"] = g.res_x;
    d["res_y"] = g.res_y;
    d["width"] = g.width;
    d["height"] = g.height;
    return d;
  }
  std::string plan_json() const { return pipeline_->plan_json(); }
  // The number of chunks the stream yields: one per planned tile (ChunkSink::set_chunk_rows).
  std::int64_t chunk_count() const {
    const std::int64_t rows = std::max<std::int64_t>(1, pipeline_->tile_rows());
    return (static_cast<std::int64_t>(pipeline_->grid().height) + rows - 1) / rows;
  }
  std::int64_t chunk_rows() const { return pipeline_->tile_rows(); }
  std::uint64_t memory_limit() const { return pipeline_->memory_limit(); }
  double warning_threshold() const { return config_.memory.warning_threshold; }

 private:
  static py::tuple to_python(const ChunkPtr& chunk) {
    py::capsule owner(new ChunkPtr(chunk), [](void* p) { delete static_cast<ChunkPtr*>(p); });
    py::dict values, masks;
    values["x"] = view(chunk->x, owner);
    values["y"] = view(chunk->y, owner);
    values["_row"] = view(chunk->row, owner);
    values["_col"] = view(chunk->col, owner);
    for (const auto& c : chunk->columns) {
      const py::str name(c.name);
      if (c.dtype == 'f')
        values[name] = view(c.f32, owner);
      else if (c.dtype == 'q')
        values[name] = view(c.i64, owner);
      else
        values[name] = view(c.f64, owner);
      if (chunk->masked) masks[name] = view(c.nodata, owner).attr("view")("bool");
    }
    return py::make_tuple(values, chunk->masked ? py::object(masks) : py::object(py::none()));
  }

  std::atomic<bool> cancel_{false};
  std::shared_ptr<ChunkQueue> queue_;
  Config config_;
  GraphSpec graph_;
  ChunkSink* sink_ = nullptr;  // owned by the pipeline
  std::unique_ptr<Pipeline> pipeline_;
  bool started_ = false;
  std::unique_ptr<EngineThread> engine_;  // null before the first next() and once closed or finished
};

PyObject* make_exception(py::module_& m, const char* name, std::initializer_list<PyObject*> bases, const char* doc) {
  py::tuple b(bases.size());
  std::size_t i = 0;
  for (PyObject* base : bases) b[i++] = py::reinterpret_borrow<py::object>(base);
  const std::string full = std::string("rasterflow.") + name;
  PyObject* type = PyErr_NewExceptionWithDoc(full.c_str(), doc, b.ptr(), nullptr);
  if (type == nullptr) throw py::error_already_set();
  m.attr(name) = py::reinterpret_borrow<py::object>(type);
  return type;  // the module holds a reference; kept for the process's life
}

void translate(std::exception_ptr p) {
  try {
    if (p) std::rethrow_exception(p);
  } catch (const GraphError& e) {
    PyErr_SetString(g_exc.graph, e.what());
  } catch (const ConfigError& e) {
    PyErr_SetString(g_exc.config, e.what());
  } catch (const UsageError& e) {
    PyErr_SetString(g_exc.usage, e.what());
  } catch (const IoError& e) {
    PyErr_SetString(g_exc.io, e.what());
  } catch (const NodeError& e) {
    PyErr_SetString(g_exc.node, e.what());
  } catch (const Interrupted& e) {
    PyErr_SetString(PyExc_KeyboardInterrupt, e.what());
  } catch (const Error& e) {
    PyErr_SetString(g_exc.run, e.what());
  }
}

}  // namespace
}  // namespace rasterflow::python

PYBIND11_MODULE(_core, m) {
  using namespace rasterflow::python;
  namespace rf = rasterflow;
  m.doc() = "rasterflow's compiled core; use the rasterflow package's functions.";
  install_log_bridge();
  g_exc.error = make_exception(m, "Error", {PyExc_Exception}, "Base of rasterflow's errors.");
  g_exc.usage = make_exception(m, "UsageError", {g_exc.error, PyExc_ValueError},
                               "Bad usage, configuration or graph, found before anything ran (the CLI's exit 2).");
  g_exc.config = make_exception(m, "ConfigError", {g_exc.usage}, "A configuration key or value is wrong.");
  g_exc.graph = make_exception(m, "GraphError", {g_exc.usage}, "The graph is wrong (file, node and field named).");
  g_exc.run = make_exception(m, "RunError", {g_exc.error, PyExc_RuntimeError},
                             "A failure while running (the CLI's exit 1); no output is left under its final name.");
  g_exc.io = make_exception(m, "IoError", {g_exc.run}, "Reading or writing a file failed while running.");
  g_exc.node = make_exception(m, "NodeError", {g_exc.run}, "A node failed on a tile while running.");
  py::register_exception_translator(&translate);

  m.def("run", &run, py::arg("args"), py::arg("progress"));
  m.def("validate", &validate, py::arg("args"));
  m.def("plan", &plan, py::arg("args"), py::arg("format"));
  m.def("version", &rf::version);
  m.def("forward_logs", &forward_logs, "Hands the engine's queued messages to logging.getLogger(\"rasterflow\").");
  py::class_<Stream>(m, "Stream")
      .def(py::init<const py::dict&, bool, const std::string&, int>(), py::arg("args"), py::arg("masked"),
           py::arg("sink"), py::arg("prefetch"))
      .def("next", &Stream::next)
      .def("close", &Stream::close)
      .def_property_readonly("columns", &Stream::columns)
      .def_property_readonly("column_types", &Stream::column_types)
      .def_property_readonly("column_metadata", &Stream::column_metadata)
      .def_property_readonly("x_coords", &Stream::x_coords)
      .def_property_readonly("y_coords", &Stream::y_coords)
      .def_property_readonly("grid", &Stream::grid)
      .def_property_readonly("plan_json", &Stream::plan_json)
      .def_property_readonly("chunk_count", &Stream::chunk_count)
      .def_property_readonly("chunk_rows", &Stream::chunk_rows)
      .def_property_readonly("memory_limit", &Stream::memory_limit)
      .def_property_readonly("warning_threshold", &Stream::warning_threshold);
}
