// overflow._core.Solution: one run's Solution (integrate.hpp) as numpy arrays and numbers, under the
// names overflow.Result uses (the C++ fields' names). Converted once, when the run ends (the arrays
// own the core's buffers).
#pragma once
#include <cstdint>
#include <string>
#include <utility>

#include "arrays.hpp"
#include "overflow/integrate.hpp"
#include "overflow/status.hpp"
#include "overflow/tableau.hpp"

namespace overflow::python {

// The Python type of one run's result: its fields live in the instance's __dict__ (read as fast as
// a plain object's, which overflow.Result's 24 reads per integrate call notice against def_readonly
// properties), and setting or deleting one is refused.
struct SolutionArrays {};

inline py::object to_python(Solution&& sol, std::size_t dim, bool save_states, const Tableau& tab,
                            const Tableau* stiff) {
  py::object out = py::cast(SolutionArrays{});
  py::dict d = out.attr("__dict__");
  const auto T = static_cast<py::ssize_t>(sol.t.size()), n = static_cast<py::ssize_t>(dim);
  d["t"] = to_numpy(std::move(sol.t), {T});
  d["states"] = to_numpy(std::move(sol.states), {save_states ? T : 0, n});
  d["loss"] = to_numpy(std::move(sol.loss), {T});
  d["grad_norm"] = to_numpy(std::move(sol.grad_norm), {T});
  d["final_state"] = to_numpy(std::move(sol.final_state), {n});
  d["t_final"] = sol.t_final;
  d["final_loss"] = sol.final_loss;
  d["final_grad_norm"] = sol.final_grad_norm;
  d["status"] = sol.status;
  d["message"] = sol.message;
  d["nfev"] = sol.nfev;
  d["naccept"] = sol.naccept;
  d["nreject"] = sol.nreject;
  d["ndomain"] = sol.ndomain;
  d["njvp"] = sol.njvp;
  d["njev"] = sol.njev;
  d["nlu"] = sol.nlu;
  d["max_projection"] = sol.max_projection;
  d["nvalue"] = sol.nvalue;
  d["naccept_stiff"] = sol.naccept_stiff;
  d["nkink"] = sol.nkink;
  d["nslide"] = sol.nslide;
  py::dict steps;  // accepted steps by method
  steps[py::str(tab.name)] = sol.naccept - sol.naccept_stiff;
  if (stiff) steps[py::str(stiff->name)] = sol.naccept_stiff;
  d["method_steps"] = steps;
  d["switch_times"] = to_numpy(std::move(sol.switch_times), {static_cast<py::ssize_t>(sol.switch_times.size())});
  d["grad_norm_min"] = sol.grad_norm_min;
  auto [t_events, y_events] = event_arrays(std::move(sol.t_events), std::move(sol.y_events), n);
  d["t_events"] = t_events;
  d["y_events"] = y_events;
  d["stalled"] = sol.stalled;
  // (S + 1,) times and (S, d + 1, n) Lobatto-point values of the steps' interpolants (dense_nodes.hpp); a run
  // without them leaves the class's empty defaults (register_integrate.cpp), which cost a small run nothing.
  if (!sol.dense_t.empty()) {
    const auto times = static_cast<py::ssize_t>(sol.dense_t.size());
    d["dense_t"] = to_numpy(std::move(sol.dense_t), {times});
    d["dense_nodes"] = to_numpy(std::move(sol.dense_nodes), {times - 1, sol.dense_degree + 1, n});
    d["dense_degree"] = sol.dense_degree;
  }
  return out;
}

}  // namespace overflow::python
