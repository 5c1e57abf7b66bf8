// The rasterflow Python module's compiled part (rasterflow._core): the CLI's verbs over the
// application layer (app/: the run request and the run session the command line runs too), and
// the chunk stream. rasterflow/__init__.py holds the
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

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "app/run_request.hpp"
#include "app/run_session.hpp"
#include "python/chunk_sink.hpp"
#include "python/log_bridge.hpp"
#include "python/run_binding.hpp"
#include "rasterflow/errors.hpp"
#include "rasterflow/graph.hpp"
#include "rasterflow/metrics.hpp"
#include "rasterflow/node/registry.hpp"
#include "rasterflow/pipeline.hpp"

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

// The engine's run (`work`) on a thread of its own. The destructor cancels a run still going
// and waits for it, so no engine thread outlives its owner.
class EngineThread {
 public:
  EngineThread(std::function<void()> work, std::atomic<bool>& cancel, std::function<void()> on_end = {})
      : cancel_(cancel), thread_([this, work = std::move(work), end = std::move(on_end)] {
          try {
            work();
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
  // After join(): the run's error rethrown, if any.
  void check() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::atomic<bool>& cancel_;
  std::exception_ptr error_;
  std::mutex mutex_;
  std::condition_variable done_changed_;
  bool done_ = false;
  std::thread thread_;  // last: starts once everything above exists
};

using Seconds = std::function<double()>;  // since the call started

// True when a signal handler raised (Ctrl-C: KeyboardInterrupt is then set); needs the GIL.
bool signalled() { return PyErr_CheckSignals() != 0; }

py::dict live_dict(const Progress& live, double seconds) {
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

// Waits for the run, handing logs to Python and calling `progress`; Ctrl-C or the progress
// callable raising stops the run (its outputs removed) and marks the experiment.
void wait_for_run(EngineThread& engine, app::RunSession& session, const py::object& progress, Seconds seconds) {
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
        progress(live_dict(session.progress(), seconds()));
      }
    }
  } catch (py::error_already_set& e) {
    engine.stop();
    const std::string status = e.matches(PyExc_KeyboardInterrupt) ? "interrupted" : "failed", message = e.what();
    py::gil_scoped_release nogil;
    session.abandon(status, message);
    throw;
  }
  engine.join();
}

// rasterflow.run(): the run session of `rasterflow run`, without MPI, on an engine thread.
RunSummary run(app::RunRequest request, const py::object& progress) {
  const LogScope log;
  request.front = app::Front::python;
  std::atomic<bool> cancel{false};
  app::RunSession session(std::move(request), nullptr, &cancel);
  {
    py::gil_scoped_release nogil;
    session.start();
  }
  const auto start = std::chrono::steady_clock::now();
  const Seconds seconds = [start] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  EngineThread engine([&session] { session.run(); }, cancel);
  wait_for_run(engine, session, progress, seconds);
  RunSummary summary;
  {
    py::gil_scoped_release nogil;
    summary = session.finish();
  }
  if (!progress.is_none()) progress(live_dict(session.progress(), seconds()));  // the final figures
  return summary;
}

// rasterflow.validate(): `rasterflow validate`.
py::dict validate(app::RunRequest request) {
  const LogScope log;
  request.front = app::Front::python;
  std::size_t nodes = 0;
  Grid grid;
  {
    py::gil_scoped_release nogil;
    const Config config = app::make_config(request);
    const GraphSpec graph = app::make_graph(request, config);
    const Pipeline pipeline(graph, config, PlanOptions{});
    nodes = graph.nodes.size();
    grid = pipeline.plan().grid;
  }
  py::dict d;
  d["nodes"] = nodes;
  d["grid_width"] = grid.width;
  d["grid_height"] = grid.height;
  return d;
}

// rasterflow.plan(): `rasterflow plan --format json` (the text; __init__ parses it).
std::string plan(app::RunRequest request, const std::string& format) {
  const LogScope log;
  request.front = app::Front::python;
  py::gil_scoped_release nogil;
  const Config config = app::make_config(request);
  const GraphSpec graph = app::make_graph(request, config);
  const Pipeline pipeline(graph, config, app::make_options(request, config));
  if (format == "json") return pipeline.plan().json();
  if (format == "dot") return pipeline.plan().dot();
  std::string text;
  for (const auto& line : pipeline.plan().text()) text += line + "\n";
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
  Stream(app::RunRequest request, bool masked, const std::string& sink, int prefetch)
      : queue_(std::make_shared<ChunkQueue>(static_cast<std::size_t>(std::max(1, prefetch)))) {
    const LogScope log;
    request.front = app::Front::python;
    py::gil_scoped_release nogil;
    config_ = app::make_config(request);
    graph_ = with_chunk_sink(app::make_graph(request, config_), sink);
    PlanOptions options = app::make_options(request, config_);
    options.build_node = [this, masked](const NodeSpec& spec) -> std::unique_ptr<Node> {
      if (spec.type != kChunkSinkType) return nullptr;
      auto node = std::make_unique<ChunkSink>(spec, queue_, masked);
      sink_ = node.get();
      return node;
    };
    pipeline_ = std::make_unique<Pipeline>(graph_, config_, options);
    sink_->set_chunk_rows(pipeline_->plan().tile_rows);
  }
  ~Stream() { close(); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // The next chunk as (columns, nodata masks or None); raises StopIteration at the end.
  py::tuple next() {
    const LogScope log;
    if (!started_) {  // the run starts with the first chunk asked for
      started_ = true;
      engine_ = std::make_unique<EngineThread>(
          [this] {
            Run run;
            run.cancel = &cancel_;
            pipeline_->run(std::move(run));
          },
          cancel_, [q = queue_] { q->finish(); });
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
        engine->check();  // the run's error, if any
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
    const Grid& g = pipeline_->plan().grid;
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
  std::string plan_json() const { return pipeline_->plan().json(); }
  // The number of chunks the stream yields: one per planned tile (ChunkSink::set_chunk_rows).
  std::int64_t chunk_count() const {
    const std::int64_t rows = std::max<std::int64_t>(1, pipeline_->plan().tile_rows);
    return (static_cast<std::int64_t>(pipeline_->plan().grid.height) + rows - 1) / rows;
  }
  std::int64_t chunk_rows() const { return pipeline_->plan().tile_rows; }
  std::uint64_t memory_limit() const { return pipeline_->plan().memory_limit; }
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
      else if (c.dtype == 'Q')
        values[name] = view(c.i64, owner).attr("view")("uint64");
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

  bind_run_request(m);
  bind_run_summary(m);
  m.def("run", &run, py::arg("request"), py::arg("progress"));
  m.def("validate", &validate, py::arg("request"));
  m.def("plan", &plan, py::arg("request"), py::arg("format"));
  m.def("version", &rf::version);
  m.def("forward_logs", &forward_logs, "Hands the engine's queued messages to logging.getLogger(\"rasterflow\").");
  py::class_<Stream>(m, "Stream")
      .def(py::init<rf::app::RunRequest, bool, const std::string&, int>(), py::arg("request"), py::arg("masked"),
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
