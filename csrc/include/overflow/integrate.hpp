// The integration loop: drives the Solver (solver.hpp) from t0 to t1 and owns saving, t_eval,
// termination and failure statuses.
#pragma once
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "overflow/detail/dense_nodes.hpp"
#include "overflow/events.hpp"
#include "overflow/solver.hpp"
#include "overflow/status.hpp"
#include "overflow/tableau.hpp"

namespace overflow {

struct IntegrateOptions : StepOptions {
  std::int64_t max_steps = 100000;
  std::vector<Event> events;  // located on the interpolant; a terminal one stops the run ("event")
  double max_norm = 1e10;     // max |y_i| above which the run stops as "blowup"
  bool save_states = true;    // false: save t, loss, ||grad g|| only (the final state is always kept)
  bool save_steps = true;     // false: without t_eval nothing is saved (ensembles keep the end only)
  bool record_dense = false;  // true: Solution::dense_* hold every accepted step's interpolant (dense_nodes.hpp)
};

struct Solution {
  std::vector<double> t, states, loss, grad_norm;  // the saved points (Python reads these names)
  std::vector<double> final_state;
  double t_final = 0.0, final_loss = 0.0, final_grad_norm = 0.0;
  Status status = Status::failed;
  std::string message;
  // nfev counts the evaluations that stepping and interpolation need; nvalue those made only to
  // report the loss at t_eval points.
  std::int64_t nfev = 0, naccept = 0, nreject = 0, ndomain = 0, nvalue = 0;
  std::int64_t njvp = 0;        // Jacobian-vector products (implicit methods)
  std::int64_t njev = 0;        // Jacobian evaluations (implicit methods)
  std::int64_t nlu = 0;         // LU factorisations (implicit methods)
  double max_projection = 0.0;  // largest correction made by StepOptions::project
  // Method "auto": steps accepted by the stiff method and the times of the switches.
  std::int64_t naccept_stiff = 0;
  std::vector<double> switch_times;
  // Relu-family networks: the kinks located and stepped to (activation-pattern switches) and the
  // pre-activation entries that began to slide along one (activation_pattern.hpp).
  std::int64_t nkink = 0, nslide = 0;
  // With a gtol that was not reached: the smallest ||grad g|| of the accepted steps, and whether it
  // had stalled (no halving over the last half of the steps, at least 20 of them, or an explicit
  // method's steps held at its stability limit).
  double grad_norm_min = 0.0;
  bool stalled = false;
  // Per event: the times of its crossings and the states there (count x dim, flattened).
  std::vector<std::vector<double>> t_events, y_events;
  // With IntegrateOptions::record_dense: t0 and each accepted step's end (the last one where the run stopped), and
  // each step's interpolant at the Lobatto points of its degree (steps x (dense_degree + 1) x dim; dense_nodes.hpp).
  std::vector<double> dense_t, dense_nodes;
  int dense_degree = 0;
};

namespace detail {

// %.6g: std::to_string prints 1e-15 as "0.000000".
inline std::string fmt(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", x);
  return buf;
}

struct Crossing {
  double theta = 1.0;  // fraction of the step where ||grad g|| = gtol (1: the step's end)
  double value = 0.0, gnorm = 0.0;
};

// The first theta in (0, 1] with ||grad g(y(t + theta h))|| <= gtol on the last step's
// interpolant, given ||grad g|| = g0 > gtol at its start and g1 <= gtol at its end. Illinois regula
// falsi on log(||grad g|| / gtol), nearly linear in t where the flow converges exponentially; the
// bracket's right end is returned, so the reported point always satisfies ||grad g|| <= gtol. On
// return y_out holds that point (unless theta = 1).
template <class System>
Crossing locate_crossing(Solver<System>& solver, double gtol, double g0, double g1, double* y_out, double* dy_out) {
  Crossing best;
  best.gnorm = g1;
  if (!(g0 > gtol) || !(g1 <= gtol) || g1 == gtol || !solver.prepare_dense()) return best;
  System& sys = solver.system();
  const std::size_t n = solver.dim();
  const double t = solver.t_prev(), h = solver.h_last();
  double lo = 0.0, hi = 1.0, f_lo = std::log(g0 / gtol), f_hi = std::log(std::max(g1, 1e-300) / gtol);
  int side = 0;
  bool probe_is_best = false;  // y_out holds `best`
  auto probe = [&](double th, double& v, double& g) {
    solver.dense_theta(th, y_out);
    solver.count_evaluations(1);
    v = sys.eval(t + th * h, y_out, dy_out);
    g = gradient_norm(sys, y_out, dy_out, norm2(dy_out, n));
  };
  for (int it = 0; it < 40 && hi - lo > 1e-9; ++it) {
    double th = lo + f_lo * (hi - lo) / (f_lo - f_hi);
    if (!(th > lo && th < hi)) th = 0.5 * (lo + hi);
    double v, g;
    probe(th, v, g);
    if (!std::isfinite(v) || !std::isfinite(g)) break;  // off the domain: keep what is bracketed
    const double f = std::log(std::max(g, 1e-300) / gtol);
    if (f <= 0.0) {
      hi = th;
      f_hi = f;
      best = Crossing{th, v, g};
      probe_is_best = true;
      if (f > -1e-9) break;  // ||grad g|| = gtol to 1e-9 relative
      if (side == -1) f_lo *= 0.5;
      side = -1;
    } else {
      lo = th;
      f_lo = f;
      probe_is_best = false;
      if (side == 1) f_hi *= 0.5;
      side = 1;
    }
  }
  if (best.theta < 1.0 && !probe_is_best) probe(best.theta, best.value, best.gnorm);
  return best;
}

}  // namespace detail

// Where and why a run ended. y points at the final state (the solver's, or a buffer of advance()
// when the run stopped inside a step, at a gtol crossing) and stays valid until the next call.
struct RunEnd {
  Status status = Status::failed;
  std::string message;
  double t = 0.0, value = 0.0, grad_norm = 0.0;
  const double* y = nullptr;
  std::int64_t nvalue = 0;     // evaluations made only to report the loss at t_eval points
  double grad_norm_min = 0.0;  // see Solution
  bool stalled = false;
  std::vector<std::vector<double>> t_events, y_events;  // see Solution
};

namespace detail {

// How far ||grad g|| got in a run, to say why a gtol was not reached: the smallest value of the
// accepted steps and the step at which it last halved. Stalled: no halving over the last half
// of the steps (at least 20), the floor an explicit method's error control holds where the flow
// is stiff (about lambda_max(Hess g) * tol).
class GradientProgress {
 public:
  explicit GradientProgress(double g0) : min_(g0), halved_at_min_(g0) {}
  void add(double g) {
    ++steps_;
    if (g < min_) min_ = g;
    if (min_ <= 0.5 * halved_at_min_) {
      halved_at_min_ = min_;
      halved_step_ = steps_;
    }
  }
  double min() const { return min_; }
  bool stalled() const { return steps_ - halved_step_ >= std::max<std::int64_t>(20, steps_ / 2); }

 private:
  double min_, halved_at_min_;
  std::int64_t steps_ = 0, halved_step_ = 0;
};

// Why a run that had a gtol ended without reaching it, and what to change, for its message.
template <class System>
std::string gtol_advice(double gtol, const GradientProgress& progress, const Solver<System>& solver) {
  std::string m = "; gtol = " + fmt(gtol) + " not reached: ||grad g|| got down to " + fmt(progress.min());
  if (solver.stability_limited())
    return m + ", with the steps held at " + solver.current_tableau().name +
           "'s stability limit: the flow is stiff here (Hess g spans lambda_max ... lambda_min), and an "
           "explicit method's error control keeps ||grad g|| near lambda_max * tol; use method='auto' (or "
           "'rodas4') to go below that floor, or smaller rtol and atol";
  if (!progress.stalled()) return m + " and was still falling (a later t_end or more max_steps would go further)";
  return m +
         ", where it had stalled (a critical point with ||grad g|| above gtol, or rounding level): "
         "a larger gtol, or check the cost";
}

// A run to t = infinity needs something that ends it.
inline void check_horizon(double t1, double gtol, bool terminal_event) {
  if (std::isinf(t1) && !(gtol > 0) && !terminal_event)
    throw std::invalid_argument(
        "the end time is infinite but nothing stops the run: give gtol > 0 or a terminal event");
}

}  // namespace detail

// Steps an initialised solver to t1, serving the t_eval points (sorted, > solver.t()) by dense
// output, or every accepted step when save_steps (and t_eval is empty), through
// save(t, y, loss, ||grad g||) -> bool; false stops the run as "interrupted". Stops early on gtol
// (at the crossing), blow-up, max_steps accepted steps in this call, or a failed step. `events`
// (opt.events is not read) are started afresh here: they hold this call's crossings afterwards.
// With a `dense` record, each accepted step's interpolant is appended to it, up to where the run ends.
template <class System, class Save>
RunEnd advance(Solver<System>& solver, EventSet<System>& events, double t1, const std::vector<double>& t_eval,
               bool save_steps, const IntegrateOptions& opt, Save&& save, std::vector<double>& y_end_buffer,
               DenseRecord* dense = nullptr) {
  detail::check_horizon(t1, opt.gtol, events.any_terminal());
  solver.set_gtol(opt.gtol);
  events.start(solver);
  std::vector<EventHit> hits;
  System& sys = solver.system();
  const std::size_t n = solver.dim();
  std::vector<double> out(n), out_dy(n);
  std::size_t next_eval = 0;
  detail::GradientProgress progress(solver.grad_norm());
  while (next_eval < t_eval.size() && t_eval[next_eval] <= solver.t()) ++next_eval;
  const std::int64_t accepted_before = solver.naccept();
  RunEnd end;
  bool keep_going = true;
  auto emit = [&](double t, const double* y, double v, double g) {
    if (keep_going && !save(t, y, v, g)) keep_going = false;
  };
  auto stop = [&](Status status, std::string message) {
    end.status = status;
    end.t_events = events.times();
    end.y_events = events.states();
    end.grad_norm_min = progress.min();
    end.stalled = progress.stalled() || solver.stability_limited();
    if (opt.gtol > 0 && status != Status::converged && status != Status::event && status != Status::interrupted)
      message += detail::gtol_advice(opt.gtol, progress, solver);
    end.message = std::move(message);
    end.t = solver.t();
    end.value = solver.value();
    end.grad_norm = solver.grad_norm();
    end.y = solver.y();
    return end;
  };
  // Saves the t_eval points in (t_prev, t_end] from the last step's interpolant; the point at
  // t_end itself is (y_end, v_end, g_end).
  auto serve = [&](double t_end, const double* y_end, double v_end, double g_end) {
    for (; next_eval < t_eval.size() && t_eval[next_eval] <= t_end; ++next_eval) {
      const double te = t_eval[next_eval];
      if (te == t_end) {
        emit(te, y_end, v_end, g_end);
        continue;
      }
      solver.dense_theta((te - solver.t_prev()) / solver.h_last(), out.data());
      ++end.nvalue;  // the loss and ||grad g|| at an output point cost one evaluation
      const double v = sys.eval(te, out.data(), out_dy.data());
      emit(te, out.data(), v, detail::gradient_norm(sys, out.data(), out_dy.data(), detail::norm2(out_dy.data(), n)));
    }
  };

  while (true) {
    if (!keep_going) return stop(Status::interrupted, "stopped by the save callback");
    if (solver.naccept() - accepted_before >= opt.max_steps)
      return stop(Status::max_steps, "reached max_steps = " + std::to_string(opt.max_steps) + " accepted steps");
    const double t = solver.t();
    if (t1 - t < detail::ulps10(t)) {
      // What is left of the span is below the rounding of t: the run has reached t1.
      for (; next_eval < t_eval.size(); ++next_eval)
        emit(t_eval[next_eval], solver.y(), solver.value(), solver.grad_norm());
      return stop(Status::t_end, "reached the end of t_span");
    }
    const double g_start = solver.grad_norm();
    // A recorded run needs every step's interpolant: its extra stages (DOP853) are part of the step.
    const double dense_before = dense                       ? -std::numeric_limits<double>::infinity()
                                : next_eval < t_eval.size() ? t_eval[next_eval]
                                                            : std::numeric_limits<double>::infinity();
    const StepOutcome outcome = solver.step(t1, dense_before);
    if (outcome != StepOutcome::accepted) {
      std::string where = " (h = " + detail::fmt(solver.underflow_step()) + " at t = " + detail::fmt(t) + ")";
      if (solver.underflow_step() <= opt.min_step) where += ": a smaller step would be below min_step";
      switch (outcome) {
        case StepOutcome::interrupted: return stop(Status::interrupted, "interrupted");
        case StepOutcome::kink: return stop(Status::failed, solver.kink_message());
        case StepOutcome::domain:
          return stop(Status::domain, "the cost left its domain and the step could not be shrunk back into it" + where);
        case StepOutcome::not_finite:
          return stop(Status::failed,
                      "step size underflow: the error estimate is not finite (a non-finite gradient?)" + where);
        default: return stop(Status::failed, "step size underflow" + where);
      }
    }
    progress.add(solver.grad_norm());
    if (!std::isfinite(solver.t()))
      return stop(Status::failed, "t overflowed: the steps grew without bound before anything stopped the run");
    // ||grad g|| fell to gtol inside this step: the run ends where it crossed, located on the
    // interpolant, so t_converged is not rounded up to the end of a (possibly long) step.
    detail::Crossing c;
    const bool converged = opt.gtol > 0 && solver.grad_norm() <= opt.gtol;
    if (converged)
      c = detail::locate_crossing(solver, opt.gtol, g_start, solver.grad_norm(), out.data(), out_dy.data());
    const double t_converged = c.theta < 1.0 ? solver.t_prev() + c.theta * solver.h_last() : solver.t();
    if (c.theta < 1.0) y_end_buffer.assign(out.begin(), out.end());  // serve() reuses `out`
    // Events up to where the run ends; a terminal one before the gtol crossing ends it there.
    const int terminal = events.empty() ? -1 : events.step(solver, converged ? t_converged : solver.t(), hits);
    auto end_inside = [&](Status status, const char* message, double t_end, const double* y_end, double v, double g) {
      if (dense) record_step(solver, t_end, *dense);
      serve(t_end, y_end, v, g);
      if (save_steps) emit(t_end, y_end, v, g);
      stop(status, message);
      end.t = t_end;
      end.value = v;
      end.grad_norm = g;
      end.y = y_end;
      return end;
    };
    if (terminal >= 0) {
      const EventHit& hit = hits[static_cast<std::size_t>(terminal)];
      const std::string message = "a terminal event (number " + std::to_string(hit.event) + ") occurred";
      if (hit.t == solver.t())
        return end_inside(Status::event, message.c_str(), hit.t, solver.y(), solver.value(), solver.grad_norm());
      y_end_buffer.assign(hit.y.begin(), hit.y.end());
      solver.count_evaluations(1);  // the loss and ||grad g|| at the stop inside the step
      const double v = sys.eval(hit.t, y_end_buffer.data(), out_dy.data());
      const double g = detail::gradient_norm(sys, y_end_buffer.data(), out_dy.data(), detail::norm2(out_dy.data(), n));
      return end_inside(Status::event, message.c_str(), hit.t, y_end_buffer.data(), v, g);
    }
    if (converged) {
      if (c.theta < 1.0)
        return end_inside(Status::converged, "||grad g|| <= gtol", t_converged, y_end_buffer.data(), c.value, c.gnorm);
      return end_inside(Status::converged, "||grad g|| <= gtol", solver.t(), solver.y(), solver.value(),
                        solver.grad_norm());
    }
    if (dense) record_step(solver, solver.t(), *dense);
    serve(solver.t(), solver.y(), solver.value(), solver.grad_norm());
    if (save_steps) emit(solver.t(), solver.y(), solver.value(), solver.grad_norm());
    if (!(solver.max_abs() <= opt.max_norm))
      return stop(Status::blowup,
                  "max |w| exceeded max_norm = " + detail::fmt(opt.max_norm) + " at t = " + detail::fmt(solver.t()));
    if (solver.t() == t1) return stop(Status::t_end, "reached the end of t_span");
  }
}

// The same with the events of opt.events.
template <class System, class Save>
RunEnd advance(Solver<System>& solver, double t1, const std::vector<double>& t_eval, bool save_steps,
               const IntegrateOptions& opt, Save&& save, std::vector<double>& y_end_buffer,
               DenseRecord* dense = nullptr) {
  EventSet<System> events(opt.events);
  return advance(solver, events, t1, t_eval, save_steps, opt, std::forward<Save>(save), y_end_buffer, dense);
}

// Integrates dy/dt = f(t, y) from t0 to t1 > t0. t_eval (sorted, inside [t0, t1]) is served by
// dense output; when it is empty every accepted step is saved. The System's monitor is the loss g
// of a gradient flow, where dy = -grad g, so gtol applies to ||dy||.
// This form runs on a solver built once with these options and reused (init() resets it): an
// ensemble runs its starts on one solver per worker instead of allocating one per trajectory.
template <class System>
Solution integrate(Solver<System>& solver, double t0, double t1, const double* y0, const std::vector<double>& t_eval,
                   const IntegrateOptions& opt) {
  const std::size_t n = solver.dim();
  Solution sol;
  if (!(t1 > t0)) throw std::invalid_argument("t_span must satisfy t0 < t1");
  DenseRecord dense;
  dense.degree = interpolant_degree(solver.start_tableau(), opt.stiff);
  detail::check_horizon(t1, opt.gtol, any_terminal(opt.events));
  auto save = [&](double ts, const double* ys, double value, double gnorm) {
    sol.t.push_back(ts);
    if (opt.save_states) sol.states.insert(sol.states.end(), ys, ys + n);
    sol.loss.push_back(value);
    sol.grad_norm.push_back(gnorm);
    return true;
  };
  auto finish = [&](const RunEnd& end) {
    sol.status = end.status;
    sol.message = end.message;
    sol.t_final = end.t;
    sol.final_state.assign(end.y, end.y + n);
    sol.final_loss = end.value;
    sol.final_grad_norm = end.grad_norm;
    sol.nfev = solver.nfev();
    sol.naccept = solver.naccept();
    sol.nreject = solver.nreject();
    sol.ndomain = solver.ndomain();
    sol.njvp = solver.njvp();
    sol.njev = solver.njev();
    sol.nlu = solver.nlu();
    sol.max_projection = solver.max_projection();
    sol.nvalue = end.nvalue;
    sol.naccept_stiff = solver.naccept_stiff();
    sol.switch_times = solver.switch_times();
    sol.nkink = solver.nkink();
    sol.nslide = solver.nslide();
    sol.grad_norm_min = end.grad_norm_min;
    sol.stalled = end.stalled;
    sol.t_events = end.t_events;
    sol.y_events = end.y_events;
    if (opt.record_dense) {
      sol.dense_t = std::move(dense.t);
      sol.dense_nodes = std::move(dense.nodes);
      sol.dense_degree = dense.degree;
    }
    return sol;
  };
  auto stop_at_start = [&](Status status, const char* message) {
    RunEnd end;
    end.status = status;
    end.message = message;
    end.t = t0;
    end.value = solver.value();
    end.grad_norm = end.grad_norm_min = solver.grad_norm();
    end.y = solver.y();
    return finish(end);
  };

  solver.init(t0, y0);
  if (opt.record_dense) dense.t.push_back(t0);
  if (!std::isfinite(solver.value()))
    return stop_at_start(Status::domain, "the cost is not finite at the initial point");
  if (!std::isfinite(solver.grad_norm()))
    return stop_at_start(
        Status::failed,
        "the right-hand side is not finite at the initial point (a finite cost with a non-finite gradient?)");
  const bool save_steps = opt.save_steps && t_eval.empty();
  if (save_steps) save(t0, solver.y(), solver.value(), solver.grad_norm());
  for (std::size_t i = 0; i < t_eval.size() && t_eval[i] <= t0; ++i)
    save(t_eval[i], solver.y(), solver.value(), solver.grad_norm());
  if (opt.gtol > 0 && solver.grad_norm() <= opt.gtol)
    return stop_at_start(Status::converged, "||grad g|| <= gtol at the initial point");
  std::vector<double> y_end;
  return finish(advance(solver, t1, t_eval, save_steps, opt, save, y_end, opt.record_dense ? &dense : nullptr));
}

// The same on a solver of its own.
template <class System>
Solution integrate(System& sys, const Tableau& tab, double t0, double t1, const double* y0,
                   const std::vector<double>& t_eval, const IntegrateOptions& opt) {
  Solver<System> solver(sys, tab, opt);  // the other form checks t0 < t1
  return integrate(solver, t0, t1, y0, t_eval, opt);
}

}  // namespace overflow
