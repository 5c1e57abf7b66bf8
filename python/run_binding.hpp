#pragma once
// The run request and the run summary as Python classes (rasterflow._core.RunRequest,
// rasterflow.RunSummary), bound from app/run_request.hpp's flag table: rasterflow/__init__.py
// fills a RunRequest from run()'s keyword arguments and writes their help from run_flags().
#include <pybind11/pybind11.h>

namespace rasterflow::python {

void bind_run_request(pybind11::module_& m);
void bind_run_summary(pybind11::module_& m);

}  // namespace rasterflow::python
