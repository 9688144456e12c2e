// What the two stepping-session bindings (register_solver.cpp's FlowSolver, register_rhs_solver.cpp's
// RhsSolver) return alike: a step's status name and the solver's statistics.
#pragma once
#include <pybind11/pybind11.h>

#include <cstddef>
#include <vector>

#include "overflow/solver.hpp"
#include "overflow/status.hpp"

namespace overflow::python {

namespace py = pybind11;

// The Status names (status_name) as Python strings, made once: step() returns one per step of a
// small problem, where a new object (or an enum object and its .name) is a measurable share.
inline py::object status_str(Status status) {
  static const std::vector<py::object>* names = [] {
    auto* all = new std::vector<py::object>;  // kept for the life of the process, like the module
    for (int code = 0; code <= static_cast<int>(Status::stepped); ++code)
      all->push_back(py::str(status_name(static_cast<Status>(code))));
    return all;
  }();
  return (*names)[static_cast<std::size_t>(status)];
}

// The statistics since init (nfev, naccept, nreject, njvp, njev, nlu, naccept_stiff, nkink, nslide,
// switch_times, method_now), in the core's time: a caller in other coordinates maps switch_times itself.
template <class System>
py::dict solver_stats(const Solver<System>& solver) {
  py::dict d;
  d["nfev"] = solver.nfev();
  d["naccept"] = solver.naccept();
  d["nreject"] = solver.nreject();
  d["njvp"] = solver.njvp();
  d["njev"] = solver.njev();
  d["nlu"] = solver.nlu();
  d["naccept_stiff"] = solver.naccept_stiff();
  d["nkink"] = solver.nkink();
  d["nslide"] = solver.nslide();
  d["switch_times"] = solver.switch_times();
  d["method_now"] = solver.current_tableau().name;
  return d;
}

}  // namespace overflow::python
