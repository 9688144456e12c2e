// overflow._core.integrate_flow / integrate_reduced / integrate_rhs: one trajectory, the GIL released
// throughout; each returns a Solution (solution.hpp). overflow/_options.py has checked the options.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "arrays.hpp"
#include "bound_flow.hpp"
#include "overflow/flow_system.hpp"
#include "overflow/generic_system.hpp"
#include "overflow/integrate.hpp"
#include "overflow/thread_team.hpp"
#include "reduced_vector.hpp"
#include "register.hpp"
#include "rhs_system.hpp"
#include "run_options.hpp"
#include "solution.hpp"

namespace overflow::python {

namespace {

template <class System>
py::object run(System& sys, const CArray& y0, double t0, double t1, const CArray& t_eval, const RunOptions& options,
               ThreadTeam* team = nullptr) {
  const Tableau& tab = method_tableau(options.method);
  const IntegrateOptions opt = make_options(options, team);
  require_size(y0, sys.dim(), "y0");  // the core reads dim() doubles from it
  std::vector<double> te(t_eval.data(), t_eval.data() + t_eval.size());
  Solution sol;
  {
    py::gil_scoped_release release;
    sol = integrate(sys, tab, t0, t1, y0.data(), te, opt);
  }
  return to_python(std::move(sol), sys.dim(), opt.save_states, tab, opt.stiff);
}

py::object integrate_flow(std::vector<std::int64_t> dims, std::uintptr_t vg, std::uintptr_t hvp, const CArray& data,
                          const std::string& activation, const CArray& y0, double t0, double t1, const CArray& t_eval,
                          const RunOptions& options, const py::object& inputs, bool bias, double leaky_slope) {
  const BoundFlow bound(std::move(dims), vg, hvp, data, activation, inputs, bias, leaky_slope);
  std::unique_ptr<ThreadTeam> team;
  if (options.threads > 1) team = std::make_unique<ThreadTeam>(options.threads);
  FlowSystem sys(bound.flow(), team.get());
  return run(sys, y0, t0, t1, t_eval, options, team.get());
}

py::object integrate_reduced(std::uintptr_t vg, const CArray& data, double z0, double imbalance, double t0, double t1,
                             const CArray& t_eval, const RunOptions& options) {
  ReducedVectorSystem sys(make_cost(vg, 0, data, 1, 1), imbalance);
  CArray y0(2);
  y0.mutable_at(0) = z0;
  y0.mutable_at(1) = 0.0;
  return run(sys, y0, t0, t1, t_eval, options);
}

// In the user's coordinates (rhs_system.hpp): t0, t1, t_eval, y0 and everything in the result.
py::object integrate_rhs(std::uintptr_t rhs, const CArray& data, const CArray& y0, double t0, double t1,
                         const CArray& t_eval, const RunOptions& options, const py::kwargs& kwargs) {
  const auto n = static_cast<std::size_t>(y0.size());
  const RhsKeywords k = rhs_keywords(kwargs, "integrate_rhs");
  GenericSystem sys = make_rhs_system(rhs, k.jac, data, n, k.scale, k.direction, options.atol);
  require_ahead(sys, t0, t1, "t0", "t1");
  const Tableau& tab = method_tableau(options.method);
  IntegrateOptions opt = make_options(options);
  UserEvents user_events;
  opt.events = user_events.wrap(std::move(opt.events), sys);
  std::vector<double> te(t_eval.data(), t_eval.data() + t_eval.size()), z0(n);
  for (double& t : te) t = sys.core_time(t);
  sys.to_core(y0.data(), z0.data());
  Solution sol;
  {
    py::gil_scoped_release release;
    sol = integrate(sys, tab, sys.core_time(t0), sys.core_time(t1), z0.data(), te, opt);
  }
  to_user(sol, sys);
  return to_python(std::move(sol), n, opt.save_states, tab, opt.stiff);
}

[[noreturn]] void read_only(const py::str& name) {
  throw py::attribute_error("Solution is read-only: cannot set or delete '" + std::string(name) + "'");
}

}  // namespace

void register_integrate(py::module_& m) {
  py::class_<SolutionArrays>(
      m, "Solution", py::dynamic_attr(),
      "One run's result (read-only): t, states, loss, grad_norm, final_state, t_final, "
      "final_loss, final_grad_norm, status (a Status), message, nfev, naccept, nreject, "
      "ndomain, njvp, njev, nlu, max_projection, nvalue, naccept_stiff, nkink, nslide, method_steps, switch_times, "
      "grad_norm_min, t_events, y_events, stalled; with RunOptions.record_dense dense_t, dense_nodes, "
      "dense_degree (empty and 0 without).")
      .def("__setattr__", [](py::handle, py::str name, py::handle) { read_only(name); })
      .def("__delattr__", [](py::handle, py::str name) { read_only(name); });
  // A run without RunOptions.record_dense reads these class-level defaults (read-only empty arrays).
  py::object solution = m.attr("Solution");
  auto empty = [](std::vector<py::ssize_t> shape) {
    py::array_t<double> a(shape);
    a.attr("flags").attr("writeable") = false;
    return a;
  };
  py::setattr(solution, "dense_t", empty({0}));
  py::setattr(solution, "dense_nodes", empty({0, 0, 0}));
  py::setattr(solution, "dense_degree", py::int_(0));
  m.def("integrate_rhs", &integrate_rhs, py::arg("rhs_address"), py::arg("data"), py::arg("y0"), py::arg("t0"),
        py::arg("t1"), py::arg("t_eval"), py::arg("options"),
        "integrate_rhs(rhs_address, data, y0, t0, t1, t_eval, options, *, jac_address=0, scale=None, direction=1)\n\n"
        "Integrate dy/dt = rhs(t, y) given as a C function pointer void(double t, const double* y, double* dy, "
        "void* data), from t0 to t1 (< t0 with direction = -1). jac_address: 0, or a function of the same "
        "signature writing J = df/dy (n x n, column-major) into its third argument (0: forward differences). "
        "scale: None, or (n,) > 0: the core integrates y / scale, as a per-component atol = options.atol * "
        "scale (max_norm applies to y / scale). Times, states, events and dense output are all in the user's t and "
        "y; an event's direction counts along the integration (scipy's meaning); nfev counts every call of rhs.");
  m.def("integrate_flow", &integrate_flow, py::arg("dims"), py::arg("vg_address"), py::arg("hvp_address"),
        py::arg("data"), py::arg("activation"), py::arg("y0"), py::arg("t0"), py::arg("t1"), py::arg("t_eval"),
        py::arg("options"), py::kw_only(), py::arg("inputs") = py::none(), py::arg("bias") = false,
        py::arg("leaky_slope") = 0.01,
        "Integrate the gradient flow (eq. 4) of a network, on data X with inputs = X (n x samples); the options "
        "are checked by overflow/_options.py.");
  m.def("integrate_reduced", &integrate_reduced, py::arg("vg_address"), py::arg("data"), py::arg("z0"),
        py::arg("imbalance"), py::arg("t0"), py::arg("t1"), py::arg("t_eval"), py::arg("options"),
        "Integrate the vector case's reduction (eq. 19): y = (z, F) with dz/dt = -f'(z) sqrt(c + 4 z^2), "
        "dF/dt = f'(z); states are (T, 2).");
}

}  // namespace overflow::python
