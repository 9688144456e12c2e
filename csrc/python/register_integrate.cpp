// overflow._core.integrate_flow / integrate_reduced: one trajectory, the GIL released throughout.
#include <memory>
#include <string>

#include "arrays.hpp"
#include "overflow/flow_system.hpp"
#include "overflow/generic_system.hpp"
#include "overflow/integrate.hpp"
#include "overflow/reduced_vector.hpp"
#include "overflow/thread_team.hpp"
#include "register.hpp"
#include "run_options.hpp"

namespace overflow::python {

namespace {

template <class System>
py::dict run(System& sys, const Tableau& tab, const CArray& y0, double t0, double t1, const CArray& t_eval,
             const RunArgs& args) {
  const IntegrateOptions opt = make_options(args);
  std::vector<double> te(t_eval.data(), t_eval.data() + t_eval.size());
  Solution sol;
  {
    py::gil_scoped_release release;
    sol = integrate(sys, tab, t0, t1, y0.data(), te, opt);
  }
  const auto T = static_cast<py::ssize_t>(sol.t.size());
  const auto dim = static_cast<py::ssize_t>(sys.dim());
  py::dict out;
  out["t"] = to_numpy(std::move(sol.t), {T});
  out["states"] = to_numpy(std::move(sol.states), {args.save_states ? T : 0, dim});
  out["loss"] = to_numpy(std::move(sol.values), {T});
  out["grad_norm"] = to_numpy(std::move(sol.grad_norms), {T});
  out["y_final"] = to_numpy(std::move(sol.y_final), {dim});
  out["t_final"] = sol.t_final;
  out["loss_final"] = sol.value_final;
  out["grad_norm_final"] = sol.grad_norm_final;
  out["status"] = status_name(sol.status);
  out["message"] = sol.message;
  out["nfev"] = sol.nfev;
  out["naccept"] = sol.naccept;
  out["nreject"] = sol.nreject;
  out["ndomain"] = sol.ndomain;
  out["njvp"] = sol.njvp;
  out["max_projection"] = sol.max_projection;
  out["nvalue"] = sol.nvalue;
  out["naccept_stiff"] = sol.naccept_stiff;
  py::dict steps;  // accepted steps by method
  steps[py::str(tab.name)] = sol.naccept - sol.naccept_stiff;
  if (opt.stiff) steps[py::str(opt.stiff->name)] = sol.naccept_stiff;
  out["method_steps"] = steps;
  out["switch_times"] = to_numpy(std::move(sol.switch_times), {static_cast<py::ssize_t>(sol.switch_times.size())});
  out["grad_norm_min"] = sol.grad_norm_min;
  auto [t_events, y_events] = event_arrays(std::move(sol.t_events), std::move(sol.y_events), dim);
  out["t_events"] = t_events;
  out["y_events"] = y_events;
  out["stalled"] = sol.stalled;
  return out;
}

py::dict integrate_flow(std::vector<std::int64_t> dims, std::uintptr_t vg, std::uintptr_t hvp, const CArray& data,
                        const CArray& y0, double t0, double t1, const CArray& t_eval, const std::string& method,
                        double rtol, double atol, double first_step, double max_step, std::int64_t max_steps,
                        double gtol, double max_norm, bool save_states, const std::string& activation,
                        bool project, int threads, const EventArgs& events) {
  const Tableau& tab = method_tableau(method);
  Network net(dims);
  Flow flow(net, make_cost(vg, hvp, data, net.m(), net.n()), parse_activation(activation));
  require_size(y0, net.state_size(), "y0");
  if (threads < 1) throw std::invalid_argument("threads must be >= 1, got " + std::to_string(threads));
  std::unique_ptr<ThreadTeam> team;
  if (threads > 1) team = std::make_unique<ThreadTeam>(threads);
  FlowSystem sys(flow, team.get());
  return run(sys, tab, y0, t0, t1, t_eval,
             RunArgs{method, rtol, atol, first_step, max_step, max_steps, gtol, max_norm, save_states, project,
                     team.get(), events});
}

py::dict integrate_reduced(std::uintptr_t vg, const CArray& data, double z0, double imbalance, double t0, double t1,
                           const CArray& t_eval, const std::string& method, double rtol, double atol,
                           double first_step, double max_step, std::int64_t max_steps, double gtol,
                           double max_norm) {
  const Tableau& tab = method_tableau(method);
  if (!(imbalance >= 0.0)) throw std::invalid_argument("imbalance must be >= 0");
  ReducedVectorSystem sys(make_cost(vg, 0, data, 1, 1), imbalance);
  CArray y0(2);
  y0.mutable_at(0) = z0;
  y0.mutable_at(1) = 0.0;
  return run(sys, tab, y0, t0, t1, t_eval,
             RunArgs{method, rtol, atol, first_step, max_step, max_steps, gtol, max_norm, true});
}

py::dict integrate_rhs(std::uintptr_t rhs, const CArray& data, const CArray& y0, double t0, double t1,
                       const CArray& t_eval, const std::string& method, double rtol, double atol, double first_step,
                       double max_step, std::int64_t max_steps, double max_norm, bool save_states,
                       const EventArgs& events) {
  const Tableau& tab = method_tableau(method);
  if (y0.size() < 1) throw std::invalid_argument("y0 must have at least one entry");
  GenericSystem sys(as_function<of_rhs_fn>(rhs, "rhs"), const_cast<double*>(data.data()),
                    static_cast<std::size_t>(y0.size()));
  return run(sys, tab, y0, t0, t1, t_eval,
             RunArgs{method, rtol, atol, first_step, max_step, max_steps, 0.0, max_norm, save_states, false, nullptr,
                     events});
}

}  // namespace

void register_integrate(py::module_& m) {
  m.def("integrate_rhs", &integrate_rhs, py::arg("rhs_address"), py::arg("data"), py::arg("y0"), py::arg("t0"),
        py::arg("t1"), py::arg("t_eval"), py::arg("method"), py::arg("rtol"), py::arg("atol"), py::arg("first_step"),
        py::arg("max_step"), py::arg("max_steps"), py::arg("max_norm"), py::arg("save_states"),
        py::arg("events") = EventArgs{},
        "Integrate dy/dt = rhs(t, y) given as a C function pointer void(double, const double*, double*, void*).");
  m.def("integrate_flow", &integrate_flow, py::arg("dims"), py::arg("vg_address"), py::arg("hvp_address"),
        py::arg("data"), py::arg("y0"), py::arg("t0"), py::arg("t1"), py::arg("t_eval"), py::arg("method"),
        py::arg("rtol"), py::arg("atol"), py::arg("first_step"), py::arg("max_step"), py::arg("max_steps"),
        py::arg("gtol"), py::arg("max_norm"), py::arg("save_states"), py::arg("activation") = "none",
        py::arg("project") = false, py::arg("threads") = 1, py::arg("events") = EventArgs{},
        "Integrate the gradient flow (eq. 4) of a network; arguments are validated by overflow.integrate.");
  m.def("integrate_reduced", &integrate_reduced, py::arg("vg_address"), py::arg("data"), py::arg("z0"),
        py::arg("imbalance"), py::arg("t0"), py::arg("t1"), py::arg("t_eval"), py::arg("method"), py::arg("rtol"),
        py::arg("atol"), py::arg("first_step"), py::arg("max_step"), py::arg("max_steps"), py::arg("gtol"),
        py::arg("max_norm"),
        "Integrate the vector case's reduction (eq. 19): y = (z, F) with dz/dt = -f'(z) sqrt(c + 4 z^2), "
        "dF/dt = f'(z); states are (T, 2).");
}

}  // namespace overflow::python
