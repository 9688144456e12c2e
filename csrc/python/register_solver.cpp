// overflow._core.FlowSolver: a stepping session (session.hpp) on a network's flow, for overflow.Solver.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "arrays.hpp"
#include "bound_flow.hpp"
#include "overflow/flow_system.hpp"
#include "overflow/session.hpp"
#include "register.hpp"
#include "run_options.hpp"
#include "session_binding.hpp"

namespace overflow::python {

namespace {

class FlowSolver {
 public:
  FlowSolver(std::vector<std::int64_t> dims, std::uintptr_t vg, std::uintptr_t hvp, const CArray& data,
             const std::string& activation, const RunOptions& options, const py::object& inputs, bool bias,
             double leaky_slope)
      : bound_(std::move(dims), vg, hvp, data, activation, inputs, bias, leaky_slope),
        system_(bound_.flow()),
        session_(system_, method_tableau(options.method), make_options(options)) {}

  void init(double t0, const CArray& y0) {
    require_size(y0, bound_.flow().dim(), "y0");  // the session reads dim() doubles from it
    session_.init(t0, y0.data());
  }

  py::object step(double t_bound) {
    Status status;
    {
      py::gil_scoped_release release;
      status = session_.step(t_bound);
    }
    return status_str(status);
  }

  py::array_t<double> dense(double t) {
    std::vector<double> out(bound_.flow().dim());
    session_.dense(t, out.data());
    return to_numpy(std::move(out), {dim()});
  }

  py::array_t<double> y() const {
    std::vector<double> out(solver().y(), solver().y() + bound_.flow().dim());
    return to_numpy(std::move(out), {dim()});
  }
  double t() const { return solver().t(); }
  double t_prev() const { return solver().t_prev(); }
  double h_next() const { return solver().h_next(); }
  double loss() const { return solver().value(); }
  double grad_norm() const { return solver().grad_norm(); }
  double max_projection() const { return solver().max_projection(); }
  py::ssize_t dim() const { return static_cast<py::ssize_t>(bound_.flow().dim()); }
  // Each event's crossings since init, and the states there.
  py::list t_events() const { return event_arrays(session_.event_times(), session_.event_states(), dim()).first; }
  py::list y_events() const { return event_arrays(session_.event_times(), session_.event_states(), dim()).second; }
  py::dict stats() const { return solver_stats(solver()); }

 private:
  const Solver<FlowSystem>& solver() const { return session_.solver(); }

  BoundFlow bound_;  // the flow with the cost's parameters and the inputs, alive as long as the solver
  FlowSystem system_;
  Session<FlowSystem> session_;
};

}  // namespace

void register_solver(py::module_& m) {
  py::class_<FlowSolver>(m, "FlowSolver", "The core's stepping session on a network's flow, one step at a time.")
      .def(py::init<std::vector<std::int64_t>, std::uintptr_t, std::uintptr_t, const CArray&, const std::string&,
                    const RunOptions&, const py::object&, bool, double>(),
           py::arg("dims"), py::arg("vg_address"), py::arg("hvp_address"), py::arg("data"), py::arg("activation"),
           py::arg("options"), py::kw_only(), py::arg("inputs") = py::none(), py::arg("bias") = false,
           py::arg("leaky_slope") = 0.01)
      .def("init", &FlowSolver::init, py::arg("t0"), py::arg("y0"))
      .def("step", &FlowSolver::step, py::arg("t_bound"),
           "One accepted step towards t_bound; returns the name of its Status: 'stepped', 't_end' (t reached "
           "t_bound), 'event' (a terminal event inside the step), 'domain', 'failed' or 'interrupted' (Ctrl-C; "
           "nothing changed).")
      .def("dense", &FlowSolver::dense, py::arg("t"))
      .def_property_readonly("y", &FlowSolver::y)
      .def_property_readonly("t", &FlowSolver::t)
      .def_property_readonly("t_prev", &FlowSolver::t_prev)
      .def_property_readonly("h_next", &FlowSolver::h_next)
      .def_property_readonly("loss", &FlowSolver::loss)
      .def_property_readonly("grad_norm", &FlowSolver::grad_norm)
      .def_property_readonly("max_projection", &FlowSolver::max_projection)
      .def_property_readonly("t_events", &FlowSolver::t_events)
      .def_property_readonly("y_events", &FlowSolver::y_events)
      .def_property_readonly("stats", &FlowSolver::stats);
}

}  // namespace overflow::python
