// overflow._core.RhsSolver: a stepping session (session.hpp) on a generic ODE given as a C function pointer, for
// overflow's OdeSolver classes. Everything it takes and gives is in the user's t and y (rhs_system.hpp maps them).
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "arrays.hpp"
#include "overflow/generic_system.hpp"
#include "overflow/session.hpp"
#include "register.hpp"
#include "rhs_system.hpp"
#include "run_options.hpp"
#include "session_binding.hpp"

namespace overflow::python {

namespace {

// The options with the events wrapped for the user's coordinates (the wrapper state lives in `events`).
IntegrateOptions user_options(const RunOptions& options, const GenericSystem& sys, UserEvents& events) {
  IntegrateOptions opt = make_options(options);
  opt.events = events.wrap(std::move(opt.events), sys);
  return opt;
}

class RhsSolver {
 public:
  RhsSolver(std::uintptr_t rhs, const CArray& data, std::int64_t n, const RunOptions& options, const RhsKeywords& k)
      : data_(data),
        system_(make_rhs_system(rhs, k.jac, data_, checked_dim(n), k.scale, k.direction, options.atol)),
        session_(system_, method_tableau(options.method), user_options(options, system_, events_)) {}

  void init(double t0, const CArray& y0) {
    require_size(y0, system_.dim(), "y0");
    std::vector<double> z0(system_.dim());
    system_.to_core(y0.data(), z0.data());
    system_.reset_difference_evaluations();
    session_.init(system_.core_time(t0), z0.data());
  }

  py::object step(double t_bound) {
    if (session_.initialised()) require_ahead(system_, t(), t_bound, "t", "t_bound");
    Status status;
    {
      py::gil_scoped_release release;
      status = session_.step(system_.core_time(t_bound));
    }
    return status_str(status);
  }

  py::array_t<double> dense(double t) {
    std::vector<double> out(system_.dim());
    try {
      session_.dense(system_.core_time(t), out.data());
    } catch (const std::out_of_range&) {  // a bad value of t: ValueError as the other argument errors, in user time
      throw std::invalid_argument("t = " + detail::fmt(t) + " is outside the last step [" + detail::fmt(t_prev()) +
                                  ", " + detail::fmt(this->t()) + "]");
    }
    states_to_user(system_, out.data(), 1);
    return to_numpy(std::move(out), {dim()});
  }

  py::array_t<double> dense_nodes() {
    const int degree = session_.dense_degree();
    std::vector<double> out(static_cast<std::size_t>(degree + 1) * system_.dim());
    session_.dense_nodes(out.data());
    states_to_user(system_, out.data(), static_cast<std::size_t>(degree + 1));
    return to_numpy(std::move(out), {degree + 1, dim()});
  }

  py::array_t<double> y() const {
    std::vector<double> out(system_.dim());
    system_.to_user(solver().y(), out.data());
    return to_numpy(std::move(out), {dim()});
  }
  double t() const { return system_.user_time(solver().t()); }
  double t_prev() const { return system_.user_time(solver().t_prev()); }
  double h_next() const { return solver().h_next(); }
  int dense_degree() const { return session_.dense_degree(); }
  int direction() const { return system_.direction(); }
  py::ssize_t dim() const { return static_cast<py::ssize_t>(system_.dim()); }
  // Each event's crossings since init, and the states there.
  py::list t_events() const { return events().first; }
  py::list y_events() const { return events().second; }
  py::dict stats() const {
    py::dict d = solver_stats(solver());
    d["nfev"] = solver().nfev() + system_.difference_evaluations();
    std::vector<double> switches = solver().switch_times();
    times_to_user(system_, switches);
    d["switch_times"] = switches;
    return d;
  }

 private:
  static std::size_t checked_dim(std::int64_t n) {
    if (n < 1) throw std::invalid_argument("n must be >= 1, got " + std::to_string(n));
    return static_cast<std::size_t>(n);
  }
  const Solver<GenericSystem>& solver() const { return session_.solver(); }
  std::pair<py::list, py::list> events() const {
    std::vector<std::vector<double>> times = session_.event_times(), states = session_.event_states();
    for (auto& ts : times) times_to_user(system_, ts);
    for (auto& ys : states) states_to_user(system_, ys.data(), ys.size() / system_.dim());
    return event_arrays(std::move(times), std::move(states), dim());
  }

  CArray data_;        // the right-hand side's data, alive as long as the solver
  UserEvents events_;  // before session_, whose events point into it
  GenericSystem system_;
  Session<GenericSystem> session_;
};

}  // namespace

void register_rhs_solver(py::module_& m) {
  py::class_<RhsSolver>(m, "RhsSolver",
                        "The core's stepping session on dy/dt = rhs(t, y) (a C function pointer, as integrate_rhs "
                        "takes it), one step at a time, in the user's t and y (direction -1: backwards in t).")
      .def(py::init([](std::uintptr_t rhs, const CArray& data, std::int64_t n, const RunOptions& options,
                       const py::kwargs& kwargs) {
             return std::make_unique<RhsSolver>(rhs, data, n, options, rhs_keywords(kwargs, "RhsSolver"));
           }),
           py::arg("rhs_address"), py::arg("data"), py::arg("n"), py::arg("options"),
           "RhsSolver(rhs_address, data, n, options, *, jac_address=0, scale=None, direction=1)")
      .def("init", &RhsSolver::init, py::arg("t0"), py::arg("y0"))
      .def("step", &RhsSolver::step, py::arg("t_bound"),
           "One accepted step towards t_bound (beyond t in the direction); returns the name of its Status: "
           "'stepped', 't_end' (t reached t_bound), 'event' (a terminal event inside the step), 'domain', 'failed' "
           "or 'interrupted' (Ctrl-C; nothing changed).")
      .def("dense", &RhsSolver::dense, py::arg("t"), "y at t inside the last step, from its interpolant")
      .def("dense_nodes", &RhsSolver::dense_nodes,
           "The last step's interpolant at the Chebyshev-Lobatto points theta_k = (1 - cos(k pi / d)) / 2, "
           "k = 0..d, from t_prev (node 0) to t (node d): (dense_degree + 1, n)")
      .def_property_readonly("dense_degree", &RhsSolver::dense_degree)
      .def_property_readonly("direction", &RhsSolver::direction)
      .def_property_readonly("n", &RhsSolver::dim)
      .def_property_readonly("y", &RhsSolver::y)
      .def_property_readonly("t", &RhsSolver::t)
      .def_property_readonly("t_prev", &RhsSolver::t_prev)
      .def_property_readonly("h_next", &RhsSolver::h_next, "the size (> 0) of the next step's first attempt")
      .def_property_readonly("t_events", &RhsSolver::t_events)
      .def_property_readonly("y_events", &RhsSolver::y_events)
      .def_property_readonly("stats", &RhsSolver::stats);
}

}  // namespace overflow::python
