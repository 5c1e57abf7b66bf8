#include "python/run_binding.hpp"

#include <pybind11/stl.h>

#include <type_traits>
#include <variant>

#include "app/run_request.hpp"
#include "app/run_session.hpp"
#include "rasterflow/pipeline.hpp"

namespace py = pybind11;

namespace rasterflow::python {
namespace {

using app::RunFlag;
using app::RunRequest;

// A flag as a read-write property of RunRequest, typed as its member.
void bind_flag(py::class_<RunRequest>& cls, const RunFlag& flag) {
  std::visit(
      [&](auto member) {
        using T = std::remove_reference_t<decltype(std::declval<RunRequest&>().*member)>;
        cls.def_property(
            std::string(flag.name).c_str(), [member](const RunRequest& r) { return r.*member; },
            [member](RunRequest& r, const T& value) { r.*member = value; }, std::string(flag.help).c_str());
      },
      flag.target);
}

const char* fronts_name(app::Fronts fronts) {
  switch (fronts) {
    case app::Fronts::cli:
      return "cli";
    case app::Fronts::python:
      return "python";
    default:
      return "both";
  }
}

// The table as Python reads it: one dict per flag.
py::list flags_table() {
  py::list out;
  for (const RunFlag& f : app::run_flags()) {
    py::dict d;
    d["name"] = std::string(f.name);
    d["cli"] = std::string(f.cli);
    d["help"] = std::string(f.help);
    d["python_note"] = std::string(f.python_note);
    d["negation"] = std::string(f.negation);
    d["negation_help"] = std::string(f.negation_help);
    d["fronts"] = fronts_name(f.fronts);
    out.append(d);
  }
  return out;
}

}  // namespace

void bind_run_request(py::module_& m) {
  py::class_<RunRequest> cls(m, "RunRequest", "What a run is asked to do; one property per flag of run_flags().");
  cls.def(py::init<>());
  cls.def_readwrite("graph_json", &RunRequest::graph_json, "the graph's JSON text (a dict graph, serialised)");
  for (const RunFlag& f : app::run_flags())
    if (f.fronts != app::Fronts::cli) bind_flag(cls, f);
  m.def("run_flags", &flags_table, "The run's flags: name, cli, help, python_note, negation, negation_help, fronts.");
}

namespace {

py::list throttle_events(const RunSummary& s) {
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
  return events;
}

py::list outputs(const RunSummary& s) {
  py::list out;
  for (const auto& o : s.outputs) out.append(o.string());
  return out;
}

}  // namespace

void bind_run_summary(py::module_& m) {
  py::class_<RunSummary>(m, "RunSummary",
                         "What a run did (the figures `rasterflow run` logs at its end).\n\n"
                         "rows: rows written (kept cells); cells: cells of the grid; seconds: wall time;\n"
                         "peak_rss_bytes: the process's peak resident set size; throttle_events: the adaptive\n"
                         "settings' changes under memory pressure (dicts: seconds, setting, value, previous, level,\n"
                         "reason); outputs: the files written; experiment_id: the metrics experiment (None without\n"
                         "metrics); and the grid's size, tiles, CPU seconds, memory limit and threads used.")
      .def_readonly("rows", &RunSummary::rows_written)
      .def_readonly("rows_written", &RunSummary::rows_written)
      .def_readonly("cells", &RunSummary::cells)
      .def_readonly("seconds", &RunSummary::wall_seconds)
      .def_readonly("wall_seconds", &RunSummary::wall_seconds)
      .def_readonly("cpu_seconds", &RunSummary::cpu_seconds)
      .def_readonly("peak_rss_bytes", &RunSummary::peak_rss_bytes)
      .def_property_readonly("throttle_events", &throttle_events)
      .def_property_readonly("outputs", &outputs)
      .def_readonly("experiment_id", &RunSummary::experiment_id)
      .def_readonly("tiles", &RunSummary::tiles)
      .def_readonly("grid_width", &RunSummary::grid_width)
      .def_readonly("grid_height", &RunSummary::grid_height)
      .def_readonly("memory_limit", &RunSummary::memory_limit)
      .def_readonly("threads", &RunSummary::threads)
      .def_readonly("streaming", &RunSummary::streaming)
      .def_readonly("bytes_written", &RunSummary::bytes_written)
      .def_readonly("resumed_at_row", &RunSummary::resumed_at_row)
      .def("__repr__", &app::describe);
}

}  // namespace rasterflow::python
