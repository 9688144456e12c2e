// overflow._core.RunOptions: the options of a run from Python, shared by the single-run, ensemble and
// stepping bindings.
#pragma once
#include <Python.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "overflow/integrate.hpp"
#include "overflow/tableau.hpp"

namespace overflow::python {

// Events as overflow.events passes them: (kind, function address, value, direction, terminal,
// the address of the function's data: where it records an exception it raised).
using EventArgs = std::vector<std::tuple<std::string, std::uintptr_t, double, int, int, std::uintptr_t>>;

inline std::vector<Event> make_events(const EventArgs& args) {
  std::vector<Event> events;
  for (const auto& [kind, address, value, direction, terminal, data] : args) {
    Event e;
    if (kind == "function") {
      e.kind = Event::Kind::function;
      if (address == 0) throw std::invalid_argument("an event function has a null address");
      e.fn = reinterpret_cast<EventFn>(address);
      e.data = reinterpret_cast<void*>(data);
    } else if (kind == "loss_below") {
      e.kind = Event::Kind::loss_below;
    } else if (kind == "grad_norm_below") {
      e.kind = Event::Kind::grad_norm_below;
    } else if (kind == "invariant_drift_above") {
      e.kind = Event::Kind::invariant_drift_above;
    } else {
      throw std::invalid_argument("unknown event kind '" + kind + "'");
    }
    e.value = value;
    e.direction = direction;
    e.terminal = terminal;
    events.push_back(e);
  }
  return events;
}

// The options of one run, as overflow._core.RunOptions (names and meaning as in overflow/_options.py,
// which checks them: the core takes them as given). Defaults are the core's (IntegrateOptions).
struct RunOptions {
  std::string method = "auto";
  double rtol = IntegrateOptions{}.rtol, atol = IntegrateOptions{}.atol;
  std::vector<double> rtol_components;                // empty: rtol for every component
  double first_step = IntegrateOptions{}.first_step;  // 0: Hairer's estimate
  double max_step = IntegrateOptions{}.max_step;
  double min_step = IntegrateOptions{}.min_step;
  std::int64_t max_steps = IntegrateOptions{}.max_steps;
  double gtol = IntegrateOptions{}.gtol;  // 0: no such stop
  double max_norm = IntegrateOptions{}.max_norm;
  bool save_states = IntegrateOptions{}.save_states;
  bool project = IntegrateOptions{}.project;
  bool record_dense = IntegrateOptions{}.record_dense;  // Solution.dense_t, dense_nodes, dense_degree
  int threads = 1;                                      // one trajectory's threads (integrate_flow only)
  EventArgs events = {};
};

// True once Ctrl-C (or another signal whose handler raises) reached Python; the error is cleared
// because the caller reports the interruption as a status.
inline bool python_interrupted() {
  pybind11::gil_scoped_acquire acquire;
  if (PyErr_CheckSignals() != 0) {
    PyErr_Clear();
    return true;
  }
  return false;
}

inline MethodChoice method_choice(const std::string& name) {
  MethodChoice choice;
  if (!parse_method_choice(name, choice)) throw std::invalid_argument("unknown method '" + name + "'");
  return choice;
}

// The tableau a run starts with ("auto": its explicit pair; make_options sets the stiff one).
inline const Tableau& method_tableau(const std::string& name) { return *method_choice(name).start; }

// The core's options for a run with `options`; team (not owned) splits one trajectory's work.
inline IntegrateOptions make_options(const RunOptions& a, ThreadTeam* team = nullptr) {
  IntegrateOptions opt;
  opt.rtol = a.rtol;
  opt.atol = a.atol;
  opt.rtol_components = a.rtol_components;
  opt.first_step = a.first_step;
  opt.max_step = a.max_step;
  opt.min_step = a.min_step;
  opt.max_steps = a.max_steps;
  opt.gtol = a.gtol;
  opt.max_norm = a.max_norm;
  opt.save_states = a.save_states;
  opt.project = a.project;
  opt.record_dense = a.record_dense;
  opt.team = team;
  opt.interrupted = python_interrupted;
  opt.stiff = method_choice(a.method).stiff;
  opt.events = make_events(a.events);
  return opt;
}

}  // namespace overflow::python
