// overflow._core.Solution: one run's Solution (integrate.hpp) as numpy arrays and numbers, under the
// names overflow.Result uses. Converted once, when the run ends (the arrays own the core's buffers).
#pragma once
#include <cstdint>
#include <string>
#include <utility>

#include "arrays.hpp"
#include "overflow/integrate.hpp"
#include "overflow/status.hpp"
#include "overflow/tableau.hpp"

namespace overflow::python {

struct SolutionArrays {
  py::array t, states, loss, grad_norm, final_state, switch_times;
  double t_final = 0.0, final_loss = 0.0, final_grad_norm = 0.0, max_projection = 0.0, grad_norm_min = 0.0;
  Status status = Status::failed;
  std::string message;
  std::int64_t nfev = 0, naccept = 0, nreject = 0, ndomain = 0, njvp = 0, nvalue = 0, naccept_stiff = 0;
  py::dict method_steps;  // accepted steps by method
  py::list t_events, y_events;
  bool stalled = false;
};

// sol of a run of method `tab` ("auto": with opt.stiff) on a state of `dim` entries.
inline SolutionArrays to_python(Solution&& sol, std::size_t dim, bool save_states, const Tableau& tab,
                                const Tableau* stiff) {
  SolutionArrays out;
  const auto T = static_cast<py::ssize_t>(sol.t.size()), d = static_cast<py::ssize_t>(dim);
  out.t = to_numpy(std::move(sol.t), {T});
  out.states = to_numpy(std::move(sol.states), {save_states ? T : 0, d});
  out.loss = to_numpy(std::move(sol.loss), {T});
  out.grad_norm = to_numpy(std::move(sol.grad_norm), {T});
  out.final_state = to_numpy(std::move(sol.final_state), {d});
  out.switch_times = to_numpy(std::move(sol.switch_times), {static_cast<py::ssize_t>(sol.switch_times.size())});
  out.t_final = sol.t_final;
  out.final_loss = sol.final_loss;
  out.final_grad_norm = sol.final_grad_norm;
  out.max_projection = sol.max_projection;
  out.grad_norm_min = sol.grad_norm_min;
  out.status = sol.status;
  out.message = std::move(sol.message);
  out.nfev = sol.nfev;
  out.naccept = sol.naccept;
  out.nreject = sol.nreject;
  out.ndomain = sol.ndomain;
  out.njvp = sol.njvp;
  out.nvalue = sol.nvalue;
  out.naccept_stiff = sol.naccept_stiff;
  out.method_steps[py::str(tab.name)] = sol.naccept - sol.naccept_stiff;
  if (stiff) out.method_steps[py::str(stiff->name)] = sol.naccept_stiff;
  std::tie(out.t_events, out.y_events) = event_arrays(std::move(sol.t_events), std::move(sol.y_events), d);
  out.stalled = sol.stalled;
  return out;
}

}  // namespace overflow::python
