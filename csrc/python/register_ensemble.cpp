// overflow._core.integrate_ensemble: many initial states of one network over a pool of threads,
// the GIL released throughout (overflow.monte_carlo validates the arguments).
#include <algorithm>

#include "arrays.hpp"
#include "overflow/ensemble.hpp"
#include "overflow/flow_system.hpp"
#include "register.hpp"
#include "run_options.hpp"

namespace overflow::python {

namespace {

// Each worker builds its own FlowSystem (its own workspace); the Flow is shared read-only.
py::dict integrate_ensemble(std::vector<std::int64_t> dims, std::uintptr_t vg, std::uintptr_t hvp,
                            const CArray& data, const CArray& y0s, double t0, double t1, const CArray& t_eval,
                            const std::string& method, double rtol, double atol, double first_step,
                            double max_step, std::int64_t max_steps, double gtol, double max_norm,
                            const std::string& activation, int workers, bool keep_states, bool project,
                            const EventArgs& events) {
  const Tableau& tab = method_tableau(method);
  Network net(dims);
  Flow flow(net, make_cost(vg, hvp, data, net.m(), net.n()), parse_activation(activation));
  const std::size_t dim = net.state_size();
  if (y0s.ndim() != 2 || static_cast<std::size_t>(y0s.shape(1)) != dim)
    throw std::invalid_argument("y0s must have shape (count, " + std::to_string(dim) + ")");
  if (workers < 1) throw std::invalid_argument("workers must be >= 1");
  const auto count = static_cast<std::size_t>(y0s.shape(0));
  const std::vector<double> te(t_eval.data(), t_eval.data() + t_eval.size());
  const IntegrateOptions opt =
      make_options(RunArgs{method, rtol, atol, first_step, max_step, max_steps, gtol, max_norm, keep_states, project,
                           nullptr, events});
  EnsembleOptions eopt;
  eopt.workers = workers;
  eopt.keep_states = keep_states;
  eopt.interrupted = python_interrupted;
  EnsembleResult r;
  {
    py::gil_scoped_release release;
    r = integrate_ensemble([&flow] { return FlowSystem(flow); }, tab, t0, t1, y0s.data(), count, dim, te, opt,
                           eopt);
  }
  const auto n = static_cast<py::ssize_t>(count), T = static_cast<py::ssize_t>(te.size()),
             d = static_cast<py::ssize_t>(dim);
  py::dict out;
  out["status"] = to_numpy(std::move(r.status), {n});
  out["t_final"] = to_numpy(std::move(r.t_final), {n});
  out["loss_final"] = to_numpy(std::move(r.value_final), {n});
  out["grad_norm_final"] = to_numpy(std::move(r.grad_norm_final), {n});
  out["nfev"] = to_numpy(std::move(r.nfev), {n});
  out["naccept"] = to_numpy(std::move(r.naccept), {n});
  out["nreject"] = to_numpy(std::move(r.nreject), {n});
  out["naccept_stiff"] = to_numpy(std::move(r.naccept_stiff), {n});
  out["stalled"] = to_numpy(std::move(r.stalled), {n});
  out["event_first"] = to_numpy(std::move(r.event_first), {n, static_cast<py::ssize_t>(events.size())});
  out["y_final"] = to_numpy(std::move(r.y_final), {n, d});
  out["loss_at"] = to_numpy(std::move(r.values_at), {n, T});
  out["states_at"] = to_numpy(std::move(r.states_at), {keep_states ? n : 0, T, d});
  out["interrupted"] = r.interrupted;
  return out;
}

std::vector<std::string> status_names() {
  std::vector<std::string> names;
  for (int s = 0; s <= static_cast<int>(Status::interrupted); ++s) names.emplace_back(status_name(static_cast<Status>(s)));
  return names;
}

}  // namespace

void register_ensemble(py::module_& m) {
  m.def("integrate_ensemble", &integrate_ensemble, py::arg("dims"), py::arg("vg_address"), py::arg("hvp_address"),
        py::arg("data"), py::arg("y0s"), py::arg("t0"), py::arg("t1"), py::arg("t_eval"), py::arg("method"),
        py::arg("rtol"), py::arg("atol"), py::arg("first_step"), py::arg("max_step"), py::arg("max_steps"),
        py::arg("gtol"), py::arg("max_norm"), py::arg("activation"), py::arg("workers"), py::arg("keep_states"), py::arg("project") = false,
        py::arg("events") = EventArgs{},
        "Integrate the flow from each row of y0s (count x dim) on `workers` threads; returns per-trajectory "
        "summaries (status codes index status_names(), -1 = not started).");
  m.def("status_names", &status_names, "The status names, indexed by the codes integrate_ensemble returns.");
}

}  // namespace overflow::python
