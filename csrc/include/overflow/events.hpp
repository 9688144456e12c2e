// Events: functions of (t, y) whose zero crossings the integration loop locates on the last step's
// interpolant, with scipy's `terminal` and `direction` semantics. A user event is a C function
// pointer (a Numba cfunc from Python); the built-ins read the loss, ||grad g|| or the invariants'
// drift of a gradient flow, so that "run until the loss is below v" needs no code of the user's.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "overflow/solver.hpp"
#include "overflow/system.hpp"

namespace overflow {

// double event(double t, const double* y, int64_t n, void* data); the C ABI's of_event_fn. A NaN
// return stops the run with std::invalid_argument naming the event and t.
using EventFn = double (*)(double t, const double* y, std::int64_t n, void* data);

struct Event {
  enum class Kind {
    function,              // fn(t, y, n, data)
    loss_below,            // g(y) - value
    grad_norm_below,       // ||grad g(y)|| - value
    invariant_drift_above  // max |C_i(y) - C_i(t0)| - value (linear networks)
  };
  Kind kind = Kind::function;
  EventFn fn = nullptr;
  void* data = nullptr;
  double value = 0.0;
  int direction = 0;  // > 0: only rising crossings count, < 0: only falling, 0: both
  int terminal = 0;   // 0: record only; k > 0: the run stops at the k-th occurrence
};

// True if one of the events stops the run (a stopping rule for an infinite end time).
inline bool any_terminal(const std::vector<Event>& events) {
  return std::any_of(events.begin(), events.end(), [](const Event& e) { return e.terminal > 0; });
}

// One located crossing.
struct EventHit {
  int event = 0;
  double t = 0.0;
  std::vector<double> y;
};

// The events of one run: their values at the last accepted point, and the crossings found so far.
template <class System>
class EventSet {
 public:
  explicit EventSet(std::vector<Event> events) : events_(std::move(events)) {
    for (const Event& e : events_) {
      if (e.kind == Event::Kind::function && e.fn == nullptr) throw std::invalid_argument("an event has no function");
      if (e.terminal < 0) throw std::invalid_argument("an event's terminal count must be >= 0");
      if (e.kind == Event::Kind::invariant_drift_above && !HasInvariants<System>::value)
        throw std::invalid_argument("invariant_drift_above needs a gradient flow (the invariants C_i)");
    }
    times_.resize(events_.size());
    states_.resize(events_.size());
  }

  bool empty() const { return events_.empty(); }
  std::size_t size() const { return events_.size(); }
  const std::vector<Event>& events() const { return events_; }
  bool any_terminal() const { return overflow::any_terminal(events_); }
  // Per event: the crossing times so far, and the states there (count x dim, flattened).
  const std::vector<std::vector<double>>& times() const { return times_; }
  const std::vector<std::vector<double>>& states() const { return states_; }

  // At the run's start: the invariants there (for the drift events) and every event's value.
  void start(Solver<System>& solver) {
    const std::size_t n = solver.dim();
    dim_ = n;
    for (auto& t : times_) t.clear();
    for (auto& s : states_) s.clear();
    if (needs(Event::Kind::invariant_drift_above)) invariants(solver.system(), solver.y(), c0_);
    values_.resize(events_.size());
    for (std::size_t i = 0; i < events_.size(); ++i)
      values_[i] = value(i, solver.system(), solver.t(), solver.y(), solver.value(), solver.grad_norm());
  }

  // After an accepted step [t_prev, t]: the crossings inside (t_prev, t_stop] (t_stop <= t: a gtol
  // stop inside the step), each located on the interpolant, recorded in time order. Returns the
  // index into `hits` of the first occurrence that completes a terminal count, or -1.
  int step(Solver<System>& solver, double t_stop, std::vector<EventHit>& hits) {
    hits.clear();
    System& sys = solver.system();
    const double t0 = solver.t_prev(), h = solver.h_last();
    now_.resize(events_.size());
    for (std::size_t i = 0; i < events_.size(); ++i)
      now_[i] = value(i, sys, solver.t(), solver.y(), solver.value(), solver.grad_norm());
    for (std::size_t i = 0; i < events_.size(); ++i) {
      const double a = values_[i], b = now_[i];
      if (a == 0) continue;  // a root at the step's start was counted with the step before
      const bool up = a < 0 && b >= 0, down = a > 0 && b <= 0;
      const int dir = events_[i].direction;
      if (!((up && dir >= 0) || (down && dir <= 0)) || !solver.prepare_dense()) continue;
      EventHit hit;
      hit.event = static_cast<int>(i);
      hit.t = locate(i, solver, t0, h, a, b, hit.y);
      if (hit.t <= t_stop) hits.push_back(std::move(hit));
    }
    values_.swap(now_);
    std::stable_sort(hits.begin(), hits.end(), [](const EventHit& x, const EventHit& y) { return x.t < y.t; });
    for (std::size_t k = 0; k < hits.size(); ++k) {
      const auto i = static_cast<std::size_t>(hits[k].event);
      times_[i].push_back(hits[k].t);
      states_[i].insert(states_[i].end(), hits[k].y.begin(), hits[k].y.end());
      if (events_[i].terminal > 0 && times_[i].size() == static_cast<std::size_t>(events_[i].terminal)) {
        hits.resize(k + 1);  // the run stops here: nothing after it is recorded
        return static_cast<int>(k);
      }
    }
    return -1;
  }

 private:
  bool needs(Event::Kind kind) const {
    return std::any_of(events_.begin(), events_.end(), [&](const Event& e) { return e.kind == kind; });
  }

  static void invariants(System& sys, const double* y, std::vector<double>& out) {
    if constexpr (HasInvariants<System>::value) sys.invariants(y, out);
  }

  // The event's value at (t, y), where the loss is g(y) and gnorm ||grad g(y)|| (read by the
  // built-ins only).
  double value(std::size_t i, System& sys, double t, const double* y, double loss, double gnorm) {
    const Event& e = events_[i];
    switch (e.kind) {
      case Event::Kind::function: {
        const double v = e.fn(t, y, static_cast<std::int64_t>(dim_), e.data);
        // NaN has no sign, so a crossing would be missed without a word: the run stops instead.
        if (std::isnan(v)) {
          char at[40];
          std::snprintf(at, sizeof at, "%.17g", t);
          throw std::invalid_argument("event " + std::to_string(i) + " returned NaN at t = " + at +
                                      " (an event function must return a real number)");
        }
        return v;
      }
      case Event::Kind::loss_below: return loss - e.value;
      case Event::Kind::grad_norm_below: return gnorm - e.value;
      case Event::Kind::invariant_drift_above: {
        invariants(sys, y, scratch_);
        double drift = 0.0;
        for (std::size_t k = 0; k < scratch_.size(); ++k) drift = std::max(drift, std::fabs(scratch_[k] - c0_[k]));
        return drift - e.value;
      }
    }
    return std::numeric_limits<double>::quiet_NaN();
  }

  // The event's value on the interpolant at theta (y written to y_out).
  double value_at(std::size_t i, Solver<System>& solver, double t0, double h, double theta, double* y_out) {
    solver.dense_theta(theta, y_out);
    double loss = 0.0, gnorm = 0.0;
    const Event::Kind kind = events_[i].kind;
    if (kind == Event::Kind::loss_below || kind == Event::Kind::grad_norm_below) {
      dy_.resize(dim_);
      solver.count_evaluations(1);
      loss = solver.system().eval(t0 + theta * h, y_out, dy_.data());
      gnorm = detail::gradient_norm(solver.system(), y_out, dy_.data(), detail::norm2(dy_.data(), dim_));
    }
    return value(i, solver.system(), t0 + theta * h, y_out, loss, gnorm);
  }

  // The crossing in theta in (0, 1] of an event with values a at the step's start and b at its
  // end (opposite signs, or b = 0): Illinois regula falsi to 4 units of rounding in t (scipy's
  // brentq tolerance; at most 100 evaluations), keeping the bracket; the state at the root goes to y.
  double locate(std::size_t i, Solver<System>& solver, double t0, double h, double a, double b,
                std::vector<double>& y) {
    y.assign(solver.y(), solver.y() + dim_);
    if (b == 0) return solver.t();
    std::vector<double> probe(dim_);
    double lo = 0.0, hi = 1.0, f_lo = a, f_hi = b;
    const double tol =
        4.0 * std::numeric_limits<double>::epsilon() * std::max(std::fabs(t0 + h), std::fabs(h)) / std::fabs(h);
    int side = 0;
    for (int it = 0; it < 100 && hi - lo > tol; ++it) {
      double th = lo + f_lo * (hi - lo) / (f_lo - f_hi);
      if (!(th > lo && th < hi)) th = 0.5 * (lo + hi);
      if (!(th > lo && th < hi)) break;  // the bracket is two neighbouring doubles
      const double f = value_at(i, solver, t0, h, th, probe.data());
      if (!std::isfinite(f)) break;
      if ((f <= 0) == (f_hi <= 0) && f != 0) {  // same side as the bracket's right end
        hi = th;
        f_hi = f;
        y = probe;
        if (side == -1) f_lo *= 0.5;
        side = -1;
      } else {
        lo = th;
        f_lo = f;
        if (f == 0) {
          hi = th;
          y = probe;
          break;
        }
        if (side == 1) f_hi *= 0.5;
        side = 1;
      }
    }
    // The bracket's right end: the first point known to be past the crossing.
    return hi >= 1.0 ? solver.t() : t0 + hi * h;
  }

  std::vector<Event> events_;
  std::vector<double> values_, now_, c0_, scratch_, dy_;  // values_: at the last accepted point
  std::vector<std::vector<double>> times_, states_;
  std::size_t dim_ = 0;
};

}  // namespace overflow
