// overflow._core.integrate_ensemble: many initial states of one network over a pool of threads,
// the GIL released throughout (overflow.monte_carlo checks the arguments). Returns an
// EnsembleSolution: per-trajectory arrays under overflow.MCResult's names.
#include <string>
#include <utility>
#include <vector>

#include "arrays.hpp"
#include "bound_flow.hpp"
#include "overflow/ensemble.hpp"
#include "overflow/flow_system.hpp"
#include "register.hpp"
#include "run_options.hpp"

namespace overflow::python {

namespace {

struct EnsembleArrays {
  py::array status;  // Status codes (int8); -1: never started (an interrupted run)
  py::array t_final, final_loss, final_grad_norm, nfev, naccept, nreject, naccept_stiff, nkink, nslide, stalled;
  py::array event_first;  // (count, events): each event's first crossing, NaN for none
  py::array final_state, loss_at, states_at;
  bool interrupted = false;
};

// Each worker builds its own FlowSystem (its own workspace); the Flow is shared read-only.
EnsembleArrays integrate_ensemble(std::vector<std::int64_t> dims, std::uintptr_t vg, std::uintptr_t hvp,
                                  const CArray& data, const std::string& activation, const CArray& y0s, double t0,
                                  double t1, const CArray& t_eval, const RunOptions& options, int workers,
                                  const py::object& inputs, bool bias, double leaky_slope) {
  const Tableau& tab = method_tableau(options.method);
  const BoundFlow bound(std::move(dims), vg, hvp, data, activation, inputs, bias, leaky_slope);
  const Flow& flow = bound.flow();
  const std::size_t dim = flow.dim();
  // The core reads count x dim doubles from y0s.
  if (y0s.ndim() != 2 || static_cast<std::size_t>(y0s.shape(1)) != dim)
    throw std::invalid_argument("y0s must have shape (count, " + std::to_string(dim) + ")");
  const auto count = static_cast<std::size_t>(y0s.shape(0));
  const std::vector<double> te(t_eval.data(), t_eval.data() + t_eval.size());
  const IntegrateOptions opt = make_options(options);
  EnsembleOptions eopt;
  eopt.workers = workers;
  eopt.keep_states = options.save_states;
  eopt.interrupted = python_interrupted;
  EnsembleResult r;
  {
    py::gil_scoped_release release;
    r = overflow::integrate_ensemble([&flow] { return FlowSystem(flow); }, tab, t0, t1, y0s.data(), count, dim, te, opt,
                                     eopt);
  }
  const auto n = static_cast<py::ssize_t>(count), T = static_cast<py::ssize_t>(te.size()),
             d = static_cast<py::ssize_t>(dim);
  EnsembleArrays out;
  out.status = to_numpy(std::move(r.status), {n});
  out.t_final = to_numpy(std::move(r.t_final), {n});
  out.final_loss = to_numpy(std::move(r.final_loss), {n});
  out.final_grad_norm = to_numpy(std::move(r.final_grad_norm), {n});
  out.nfev = to_numpy(std::move(r.nfev), {n});
  out.naccept = to_numpy(std::move(r.naccept), {n});
  out.nreject = to_numpy(std::move(r.nreject), {n});
  out.naccept_stiff = to_numpy(std::move(r.naccept_stiff), {n});
  out.nkink = to_numpy(std::move(r.nkink), {n});
  out.nslide = to_numpy(std::move(r.nslide), {n});
  out.stalled = to_numpy(std::move(r.stalled), {n});
  out.event_first = to_numpy(std::move(r.event_first), {n, static_cast<py::ssize_t>(opt.events.size())});
  out.final_state = to_numpy(std::move(r.final_state), {n, d});
  out.loss_at = to_numpy(std::move(r.loss_at), {n, T});
  out.states_at = to_numpy(std::move(r.states_at), {eopt.keep_states ? n : 0, T, d});
  out.interrupted = r.interrupted;
  return out;
}

}  // namespace

void register_ensemble(py::module_& m) {
  using E = EnsembleArrays;
  py::class_<E>(m, "EnsembleSolution", "An ensemble's per-trajectory results (read-only), one row per start.")
      .def_readonly("status", &E::status, "Status codes (int(overflow._core.Status)); -1: never started")
      .def_readonly("t_final", &E::t_final)
      .def_readonly("final_loss", &E::final_loss)
      .def_readonly("final_grad_norm", &E::final_grad_norm)
      .def_readonly("nfev", &E::nfev)
      .def_readonly("naccept", &E::naccept)
      .def_readonly("nreject", &E::nreject)
      .def_readonly("naccept_stiff", &E::naccept_stiff)
      .def_readonly("nkink", &E::nkink, "kinks located (relu-family networks on data; 0 otherwise)")
      .def_readonly("nslide", &E::nslide, "pre-activation entries that began to slide along a kink")
      .def_readonly("stalled", &E::stalled)
      .def_readonly("event_first", &E::event_first, "(count, events): each event's first crossing (NaN: none)")
      .def_readonly("final_state", &E::final_state)
      .def_readonly("loss_at", &E::loss_at, "(count, len(t_eval)): the loss at t_eval, NaN after an early stop")
      .def_readonly("states_at", &E::states_at, "(count, len(t_eval), dim) with save_states, else (0, T, dim)")
      .def_readonly("interrupted", &E::interrupted);
  m.def("integrate_ensemble", &integrate_ensemble, py::arg("dims"), py::arg("vg_address"), py::arg("hvp_address"),
        py::arg("data"), py::arg("activation"), py::arg("y0s"), py::arg("t0"), py::arg("t1"), py::arg("t_eval"),
        py::arg("options"), py::arg("workers"), py::kw_only(), py::arg("inputs") = py::none(), py::arg("bias") = false,
        py::arg("leaky_slope") = 0.01,
        "Integrate the flow from each row of y0s (count x dim) on `workers` threads (options.save_states keeps "
        "the states at t_eval).");
}

}  // namespace overflow::python
