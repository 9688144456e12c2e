// One stepping session: a Solver and its events, started at a point where the flow is finite and
// driven one step at a time, or to an end time. The C ABI's of_solver (csrc/src/capi.cpp) and
// Python's overflow.Solver (csrc/python/register_solver.cpp) are both this class, so the start-up
// checks, the step outcome -> Status mapping and the dense-output range check live here once.
// Errors are exceptions: std::invalid_argument (a bad value), std::out_of_range (dense output
// outside the last step), std::logic_error (a call that does not fit the session's state).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "overflow/detail/dense_nodes.hpp"
#include "overflow/events.hpp"
#include "overflow/integrate.hpp"
#include "overflow/solver.hpp"
#include "overflow/status.hpp"
#include "overflow/tableau.hpp"

namespace overflow {

template <class System>
class Session {
 public:
  // sys must outlive the session; opt.events are its first events (add_event adds more).
  Session(System& sys, const Tableau& tab, const IntegrateOptions& opt)
      : opt_(opt), solver_(sys, tab, opt), events_(opt.events) {}

  // Starts at (t0, y0), where t0, y0, the cost and its gradient must be finite (std::invalid_argument
  // otherwise, the session then uninitialised); the events' crossings are counted from here.
  void init(double t0, const double* y0) {
    initialised_ = false;
    if (!std::isfinite(t0)) throw std::invalid_argument("t0 must be finite");
    for (std::size_t i = 0; i < dim(); ++i)
      if (!std::isfinite(y0[i])) throw std::invalid_argument("y0[" + std::to_string(i) + "] is not finite");
    solver_.init(t0, y0);
    if (!std::isfinite(solver_.value()))
      throw std::invalid_argument("the cost is not finite at y0 (outside its domain)");
    if (!std::isfinite(solver_.grad_norm())) throw std::invalid_argument("the right-hand side is not finite at y0");
    events_.start(solver_);
    initialised_ = true;
  }

  // True after a successful init, until set_project.
  bool initialised() const { return initialised_; }

  // One accepted step towards t_bound (> t), never past it: Status::stepped, t_end (t reached
  // t_bound), event (a terminal event inside the step; the session stands at the step's end, the
  // crossing is in event_times), domain, failed, or interrupted (nothing changed).
  Status step(double t_bound) {
    require_init();
    if (!(t_bound > solver_.t()))
      throw std::invalid_argument("t_bound = " + std::to_string(t_bound) +
                                  " must be > t = " + std::to_string(solver_.t()));
    switch (solver_.step(t_bound)) {
      case StepOutcome::accepted:
        if (!events_.empty() && events_.step(solver_, solver_.t(), hits_) >= 0) return Status::event;
        return solver_.t() == t_bound ? Status::t_end : Status::stepped;
      case StepOutcome::domain: return Status::domain;
      case StepOutcome::interrupted: return Status::interrupted;
      default: return Status::failed;
    }
  }

  // The state at t inside the last step [t_prev, t] from the method's interpolant, into out (dim()
  // doubles).
  void dense(double t, double* out) {
    require_init();
    if (!solver_.has_step()) throw std::logic_error("no step has been taken since init (dense output needs one)");
    const double a = solver_.t_prev(), b = solver_.t();
    if (!(t >= a && t <= b))
      throw std::out_of_range("t = " + std::to_string(t) + " is outside the last step [" + std::to_string(a) + ", " +
                              std::to_string(b) + "]");
    if (t == b) {
      std::copy(solver_.y(), solver_.y() + dim(), out);
      return;
    }
    if (!solver_.prepare_dense()) throw std::logic_error("the interpolant's extra stages left the cost's domain");
    solver_.dense_theta((t - a) / solver_.h_last(), out);
  }

  // The last step's interpolant at the Lobatto points of its degree (dense_nodes.hpp), into out
  // ((dense_degree() + 1) x dim() doubles).
  void dense_nodes(double* out) {
    require_init();
    if (!solver_.has_step()) throw std::logic_error("no step has been taken since init (dense output needs one)");
    if (!solver_.prepare_dense()) throw std::logic_error("the interpolant's extra stages left the cost's domain");
    step_nodes(solver_, solver_.t(), dense_degree(), out);
  }
  // The degree of the interpolants of the methods this session can run.
  int dense_degree() const { return interpolant_degree(solver_.start_tableau(), opt_.stiff); }

  // Steps to t_end (> t) with the integration loop (integrate.hpp's advance): stops early at
  // ||grad g|| <= gtol (gtol > 0), a terminal event, max_steps accepted steps in this call (<= 0:
  // no limit), blow-up or a failed step. Every accepted step is passed to
  // save(t, y, loss, ||grad g||) -> bool (false stops the run as interrupted) when save_steps.
  // The events' crossings are then this call's.
  template <class Save>
  RunEnd run_to(double t_end, double gtol, std::int64_t max_steps, bool save_steps, Save&& save) {
    require_init();
    if (!(t_end > solver_.t()))
      throw std::invalid_argument("t_end = " + std::to_string(t_end) + " must be > t = " + std::to_string(solver_.t()));
    if (!(gtol >= 0)) throw std::invalid_argument("gtol must be >= 0");
    IntegrateOptions opt = opt_;
    opt.gtol = gtol;
    opt.max_steps = max_steps > 0 ? max_steps : std::numeric_limits<std::int64_t>::max();
    return advance(solver_, events_, t_end, {}, save_steps, opt, std::forward<Save>(save), y_end_);
  }

  // Adds an event (std::invalid_argument for one the system cannot evaluate); once initialised,
  // every event's crossings are counted afresh from the current point.
  void add_event(const Event& event) {
    std::vector<Event> all = events_.events();
    all.push_back(event);
    events_ = EventSet<System>(std::move(all));
    if (initialised_) events_.start(solver_);
  }
  std::size_t event_count() const { return events_.size(); }
  // Per event: the crossings since init (or in the last run_to), and the states there (count x dim).
  const std::vector<std::vector<double>>& event_times() const { return events_.times(); }
  const std::vector<std::vector<double>>& event_states() const { return events_.states(); }

  // StepOptions::project from the next init on (the session is uninitialised until then).
  void set_project(bool on) {
    initialised_ = false;
    solver_.set_project(on);
  }

  // The solver, for its current point and statistics.
  const Solver<System>& solver() const { return solver_; }
  std::size_t dim() const { return solver_.dim(); }

 private:
  void require_init() const {
    if (!initialised_) throw std::logic_error("the solver is not initialised (call init)");
  }

  IntegrateOptions opt_;
  Solver<System> solver_;
  EventSet<System> events_;
  std::vector<EventHit> hits_;
  std::vector<double> y_end_;  // where run_to's end lies inside a step (RunEnd::y)
  bool initialised_ = false;
};

}  // namespace overflow
