// overflow._core.FlowSolver: the stateful Solver on a network's flow, for overflow.Solver.
#include <cmath>
#include <limits>
#include <memory>

#include "arrays.hpp"
#include "overflow/events.hpp"
#include "overflow/flow_system.hpp"
#include "overflow/solver.hpp"
#include "register.hpp"
#include "run_options.hpp"

namespace overflow::python {

namespace {

class FlowSolver {
 public:
  FlowSolver(std::vector<std::int64_t> dims, std::uintptr_t vg, std::uintptr_t hvp, const CArray& data,
             const std::string& activation, const std::string& method, double rtol, double atol, double first_step,
             double max_step, bool project, const EventArgs& events)
      : data_(data),
        flow_(Network(dims), make_cost(vg, hvp, data_, dims.back(), dims.front()), parse_activation(activation)),
        system_(flow_),
        solver_(system_, method_tableau(method), options(method, rtol, atol, first_step, max_step, project)),
        events_(make_events(events)) {}

  // Returns the loss at y0 (non-finite: outside the cost's domain).
  void init(double t0, const CArray& y0) {
    require_size(y0, flow_.dim(), "y0");
    solver_.init(t0, y0.data());
    if (!std::isfinite(solver_.value()))
      throw std::invalid_argument("the cost is not finite at the initial weights (outside its domain)");
    if (!std::isfinite(solver_.grad_norm())) throw std::invalid_argument("the gradient is not finite at the initial weights");
    events_.start(solver_);
  }

  std::string step(double t_bound) {
    if (!(t_bound > solver_.t()))
      throw std::invalid_argument("t_bound = " + std::to_string(t_bound) + " must be > t = " + std::to_string(solver_.t()));
    StepOutcome outcome;
    {
      py::gil_scoped_release release;
      outcome = solver_.step(t_bound);
    }
    switch (outcome) {
      case StepOutcome::accepted:
        // A terminal event inside the step: the solver stands at the step's end, the crossing is in
        // t_events / y_events.
        if (!events_.empty() && events_.step(solver_, solver_.t(), hits_) >= 0) return "event";
        return solver_.t() == t_bound ? "t_end" : "stepped";
      case StepOutcome::domain: return "domain";
      case StepOutcome::interrupted: return "interrupted";
      default: return "failed";
    }
  }

  py::array_t<double> dense(double t) {
    if (!solver_.has_step()) throw std::logic_error("dense output needs a step: call step() first");
    const double a = solver_.t_prev(), b = solver_.t();
    if (!(t >= a && t <= b))
      throw std::out_of_range("t = " + std::to_string(t) + " is outside the last step [" + std::to_string(a) + ", " +
                              std::to_string(b) + "]");
    std::vector<double> out(flow_.dim());
    if (t == b) {
      std::copy(solver_.y(), solver_.y() + out.size(), out.begin());
    } else {
      if (!solver_.prepare_dense()) throw std::runtime_error("the interpolant's extra stages left the cost's domain");
      solver_.dense_theta((t - a) / solver_.h_last(), out.data());
    }
    return to_numpy(std::move(out), {static_cast<py::ssize_t>(flow_.dim())});
  }

  py::array_t<double> y() const {
    std::vector<double> out(solver_.y(), solver_.y() + flow_.dim());
    return to_numpy(std::move(out), {static_cast<py::ssize_t>(flow_.dim())});
  }
  double t() const { return solver_.t(); }
  double t_prev() const { return solver_.t_prev(); }
  double h_next() const { return solver_.h_next(); }
  double loss() const { return solver_.value(); }
  double grad_norm() const { return solver_.grad_norm(); }
  double max_projection() const { return solver_.max_projection(); }
  py::ssize_t dim() const { return static_cast<py::ssize_t>(flow_.dim()); }
  // Each event's crossings since init, and the states there.
  py::list t_events() const { return event_arrays(events_.times(), events_.states(), dim()).first; }
  py::list y_events() const { return event_arrays(events_.times(), events_.states(), dim()).second; }
  py::dict stats() const {
    py::dict d;
    d["nfev"] = solver_.nfev();
    d["naccept"] = solver_.naccept();
    d["nreject"] = solver_.nreject();
    d["njvp"] = solver_.njvp();
    d["naccept_stiff"] = solver_.naccept_stiff();
    d["switch_times"] = solver_.switch_times();
    d["method_now"] = solver_.current_tableau().name;
    return d;
  }

 private:
  static StepOptions options(const std::string& method, double rtol, double atol, double first_step, double max_step,
                             bool project) {
    StepOptions opt;
    opt.stiff = method_choice(method).stiff;
    opt.rtol = rtol;
    opt.atol = atol;
    opt.first_step = first_step;
    opt.max_step = max_step;
    opt.interrupted = python_interrupted;
    opt.project = project;
    return opt;
  }

  CArray data_;  // the cost's parameters, alive as long as the solver
  Flow flow_;
  FlowSystem system_;
  Solver<FlowSystem> solver_;
  EventSet<FlowSystem> events_;
  std::vector<EventHit> hits_;
};

}  // namespace

void register_solver(py::module_& m) {
  py::class_<FlowSolver>(m, "FlowSolver", "The core's adaptive solver on a network's flow, one step at a time.")
      .def(py::init<std::vector<std::int64_t>, std::uintptr_t, std::uintptr_t, const CArray&, const std::string&,
                    const std::string&, double, double, double, double, bool, const EventArgs&>(),
           py::arg("dims"), py::arg("vg_address"), py::arg("hvp_address"), py::arg("data"), py::arg("activation"),
           py::arg("method"), py::arg("rtol"), py::arg("atol"), py::arg("first_step"), py::arg("max_step"),
           py::arg("project") = false, py::arg("events") = EventArgs{})
      .def("init", &FlowSolver::init, py::arg("t0"), py::arg("y0"))
      .def("step", &FlowSolver::step, py::arg("t_bound"),
           "One accepted step towards t_bound; returns 'stepped', 't_end' (t reached t_bound), 'event' (a "
           "terminal event inside the step), 'domain', 'failed' or 'interrupted' (Ctrl-C; nothing changed).")
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
