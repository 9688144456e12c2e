// overflow._core.integrate_flow: one trajectory of the gradient flow, the GIL released throughout.
#include <Python.h>

#include "arrays.hpp"
#include "overflow/flow_system.hpp"
#include "overflow/integrate.hpp"
#include "register.hpp"

namespace overflow::python {

namespace {

py::dict integrate_flow(std::vector<std::int64_t> dims, std::uintptr_t vg, std::uintptr_t hvp, const CArray& data,
                        const CArray& y0, double t0, double t1, const CArray& t_eval, const std::string& method,
                        double rtol, double atol, double first_step, double max_step, std::int64_t max_steps,
                        double gtol, double max_norm, bool save_states) {
  Method m;
  if (!parse_method(method, m)) throw std::invalid_argument("unknown method '" + method + "'");
  Network net(dims);
  Cost cost;
  cost.value_and_grad = as_function<of_value_and_grad_fn>(vg, "value_and_grad");
  cost.hvp = hvp ? reinterpret_cast<of_hvp_fn>(hvp) : nullptr;
  cost.data = const_cast<double*>(data.data());
  cost.m = net.m();
  cost.n = net.n();
  Flow flow(net, cost);
  require_size(y0, net.state_size(), "y0");

  IntegrateOptions opt;
  opt.rtol = rtol;
  opt.atol = atol;
  opt.first_step = first_step;
  opt.max_step = max_step;
  opt.max_steps = max_steps;
  opt.gtol = gtol;
  opt.max_norm = max_norm;
  opt.save_states = save_states;
  // Ctrl-C: poll Python's signal handlers now and then; the partial solution is returned.
  opt.interrupted = [] {
    py::gil_scoped_acquire acquire;
    if (PyErr_CheckSignals() != 0) {
      PyErr_Clear();
      return true;
    }
    return false;
  };
  std::vector<double> te(t_eval.data(), t_eval.data() + t_eval.size());

  Solution sol;
  {
    py::gil_scoped_release release;
    FlowSystem sys(flow);
    sol = integrate(sys, tableau(m), t0, t1, y0.data(), te, opt);
  }
  const auto T = static_cast<py::ssize_t>(sol.t.size());
  const auto dim = static_cast<py::ssize_t>(net.state_size());
  py::dict out;
  out["t"] = to_numpy(std::move(sol.t), {T});
  out["states"] = to_numpy(std::move(sol.states), {save_states ? T : 0, dim});
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
  out["nvalue"] = sol.nvalue;
  return out;
}

}  // namespace

void register_integrate(py::module_& m) {
  m.def("integrate_flow", &integrate_flow, py::arg("dims"), py::arg("vg_address"), py::arg("hvp_address"),
        py::arg("data"), py::arg("y0"), py::arg("t0"), py::arg("t1"), py::arg("t_eval"), py::arg("method"),
        py::arg("rtol"), py::arg("atol"), py::arg("first_step"), py::arg("max_step"), py::arg("max_steps"),
        py::arg("gtol"), py::arg("max_norm"), py::arg("save_states"),
        "Integrate the gradient flow (eq. 4) of a network; arguments are validated by overflow.integrate.");
}

}  // namespace overflow::python
