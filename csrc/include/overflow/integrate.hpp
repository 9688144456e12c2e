// The integration loop: owns step control, saving, termination and failure statuses. The stepper
// (explicit_rk), the controller and dense output are separate pieces it drives.
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

#include "overflow/controller.hpp"
#include "overflow/dense_output.hpp"
#include "overflow/explicit_rk.hpp"
#include "overflow/status.hpp"
#include "overflow/tableau.hpp"

namespace overflow {

struct IntegrateOptions {
  double rtol = 1e-6;
  double atol = 1e-9;
  double first_step = 0.0;  // <= 0: Hairer's starting-step estimate
  double max_step = std::numeric_limits<double>::infinity();
  std::int64_t max_steps = 100000;
  double gtol = 0.0;        // > 0: stop as "converged" once ||grad g|| = ||dy|| <= gtol
  double max_norm = 1e10;   // max |y_i| above which the run stops as "blowup"
  bool save_states = true;  // false: save t, loss, ||grad g|| only (the final state is always kept)
  bool save_steps = true;   // false: without t_eval nothing is saved (ensembles keep the end only)
  ControllerOptions controller{};
  // Polled about every 50 ms of run time; returning true stops the run as "interrupted".
  std::function<bool()> interrupted;
};

struct Solution {
  std::vector<double> t, states, values, grad_norms;  // the saved points
  std::vector<double> y_final;
  double t_final = 0.0, value_final = 0.0, grad_norm_final = 0.0;
  Status status = Status::failed;
  std::string message;
  // nfev counts the evaluations that stepping and interpolation need; nvalue those made only to
  // report the loss at t_eval points.
  std::int64_t nfev = 0, naccept = 0, nreject = 0, ndomain = 0, nvalue = 0;
};

namespace detail {

inline double rms_scaled(const double* v, const double* y, std::size_t n, double rtol, double atol) {
  double s = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double r = v[i] / (atol + rtol * std::fabs(y[i]));
    s += r * r;
  }
  return std::sqrt(s / static_cast<double>(n));
}

inline double norm2(const double* v, std::size_t n) { return std::sqrt(sum_squares(v, n)); }

// ||grad g|| at a point: the norm of dy for a gradient flow; a System whose state is not the
// network's weights (the reduced vector case) supplies gradient_norm(y, dy) itself.
template <class System, class = void>
struct HasGradientNorm : std::false_type {};
template <class System>
struct HasGradientNorm<System, std::void_t<decltype(std::declval<const System&>().gradient_norm(
                                   static_cast<const double*>(nullptr), static_cast<const double*>(nullptr)))>>
    : std::true_type {};

template <class System>
double gradient_norm(const System& sys, const double* y, const double* dy, double dy_norm) {
  if constexpr (HasGradientNorm<System>::value) {
    (void)dy_norm;
    return sys.gradient_norm(y, dy);
  } else {
    (void)sys;
    (void)y;
    (void)dy;
    return dy_norm;
  }
}

// %.6g: std::to_string prints 1e-15 as "0.000000".
inline std::string fmt(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", x);
  return buf;
}

// Hairer, Norsett & Wanner I, section II.4: a first step from the sizes of y0, f0 and an estimate
// of the second derivative, so the first step's error is about the tolerance.
template <class System>
double initial_step(System& sys, const Tableau& tab, double t0, const double* y0, const double* f0,
                    double span, const IntegrateOptions& opt, std::int64_t& nfev) {
  const std::size_t n = sys.dim();
  const double d0 = rms_scaled(y0, y0, n, opt.rtol, opt.atol);
  const double d1 = rms_scaled(f0, y0, n, opt.rtol, opt.atol);
  double h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
  h0 = std::min({h0, span, opt.max_step});
  std::vector<double> y1(n), f1(n), diff(n);
  for (int tries = 0; tries < 20; ++tries) {  // shrink until the probe point is inside the domain
    for (std::size_t i = 0; i < n; ++i) y1[i] = y0[i] + h0 * f0[i];
    ++nfev;
    if (std::isfinite(sys.eval(t0 + h0, y1.data(), f1.data()))) break;
    h0 *= 0.1;
  }
  for (std::size_t i = 0; i < n; ++i) diff[i] = f1[i] - f0[i];
  const double d2 = rms_scaled(diff.data(), y0, n, opt.rtol, opt.atol) / h0;
  double h1;
  if (!(std::isfinite(d2)) || (d1 <= 1e-15 && d2 <= 1e-15)) {
    h1 = std::max(1e-6, h0 * 1e-3);
  } else {
    h1 = std::pow(0.01 / std::max(d1, d2), 1.0 / (tab.control_order + 1));
  }
  return std::min({100 * h0, h1, span, opt.max_step});
}

struct Crossing {
  double theta = 1.0;  // fraction of the step where ||grad g|| = gtol (1: the step's end)
  double value = 0.0, gnorm = 0.0;
};

// The first theta in (0, 1] with ||grad g(y(t + theta h))|| <= gtol on the step's interpolant,
// given ||grad g|| = g0 > gtol at its start and g1 <= gtol at its end. Illinois regula falsi on
// log(||grad g|| / gtol), nearly linear in t where the flow converges exponentially; the bracket's
// right end is returned, so the reported point always satisfies ||grad g|| <= gtol. On return
// y_out/dy_out hold that point and its right-hand side (unless theta = 1).
template <class System>
Crossing locate_crossing(System& sys, const ExplicitRK& rk, double t, const double* y, double h, double gtol,
                         double g0, double g1, double* y_out, double* dy_out, std::int64_t& nfev) {
  Crossing best;
  best.gnorm = g1;
  if (!(g0 > gtol) || !(g1 <= gtol) || g1 == gtol) return best;
  const std::size_t n = rk.dim();
  double lo = 0.0, hi = 1.0, f_lo = std::log(g0 / gtol), f_hi = std::log(std::max(g1, 1e-300) / gtol);
  int side = 0;
  bool probe_is_best = false;  // y_out/dy_out hold `best`
  for (int it = 0; it < 40 && hi - lo > 1e-9; ++it) {
    double th = lo + f_lo * (hi - lo) / (f_lo - f_hi);
    if (!(th > lo && th < hi)) th = 0.5 * (lo + hi);
    dense_output(rk, y, h, th, y_out);
    ++nfev;
    const double v = sys.eval(t + th * h, y_out, dy_out);
    const double g = gradient_norm(sys, y_out, dy_out, norm2(dy_out, n));
    if (!std::isfinite(v) || !std::isfinite(g)) break;  // off the domain: keep the step's end
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
  // y_out must hold the returned point: recompute it when the last probe was on the other side.
  if (best.theta < 1.0 && !probe_is_best) {
    dense_output(rk, y, h, best.theta, y_out);
    ++nfev;
    best.value = sys.eval(t + best.theta * h, y_out, dy_out);
    best.gnorm = gradient_norm(sys, y_out, dy_out, norm2(dy_out, n));
  }
  return best;
}

}  // namespace detail

// Integrates dy/dt = f(t, y) from t0 to t1 > t0. t_eval (sorted, inside [t0, t1]) is served by
// dense output; when it is empty every accepted step is saved. The System's monitor is the loss g
// of a gradient flow, where dy = -grad g, so gtol applies to ||dy||.
template <class System>
Solution integrate(System& sys, const Tableau& tab, double t0, double t1, const double* y0,
                   const std::vector<double>& t_eval, const IntegrateOptions& opt) {
  const std::size_t n = sys.dim();
  Solution sol;
  if (!(t1 > t0)) throw std::invalid_argument("t_span must satisfy t0 < t1");
  if (!(opt.rtol > 0) || !(opt.atol > 0)) throw std::invalid_argument("rtol and atol must be > 0");

  ExplicitRK rk(tab, n);
  PIController controller(tab.control_order, opt.controller);
  std::vector<double> y(y0, y0 + n), y_new(n), out(n), out_at(n), out_dy(n);
  std::size_t next_eval = 0;
  double t = t0;

  auto save = [&](double ts, const double* ys, double value, double gnorm) {
    sol.t.push_back(ts);
    if (opt.save_states) sol.states.insert(sol.states.end(), ys, ys + n);
    sol.values.push_back(value);
    sol.grad_norms.push_back(gnorm);
  };
  auto finish = [&](Status status, std::string message, double value, double gnorm) {
    sol.status = status;
    sol.message = std::move(message);
    sol.t_final = t;
    sol.y_final = y;
    sol.value_final = value;
    sol.grad_norm_final = gnorm;
    return sol;
  };
  // Saves the t_eval points in (t_start, t_end] from the last step's interpolant; the point at
  // t_end itself is (y_end, v_end, g_end).
  auto serve = [&](double t_end, const double* y_start, double h_step, double t_start, const double* y_end,
                   double v_end, double g_end) {
    for (; next_eval < t_eval.size() && t_eval[next_eval] <= t_end; ++next_eval) {
      const double te = t_eval[next_eval];
      if (te == t_end) {
        save(te, y_end, v_end, g_end);
        continue;
      }
      dense_output(rk, y_start, h_step, (te - t_start) / h_step, out_at.data());
      ++sol.nvalue;  // the loss and ||grad g|| at an output point cost one evaluation
      const double v = sys.eval(te, out_at.data(), out_dy.data());
      save(te, out_at.data(), v, detail::gradient_norm(sys, out_at.data(), out_dy.data(), detail::norm2(out_dy.data(), n)));
    }
  };
  auto ulps10 = [](double x) { return 10.0 * (std::nextafter(x, std::numeric_limits<double>::infinity()) - x); };

  double value = sys.eval(t0, y.data(), rk.slot(0));
  ++sol.nfev;
  double gnorm = detail::gradient_norm(sys, y.data(), rk.slot(0), detail::norm2(rk.slot(0), n));
  if (!std::isfinite(value)) return finish(Status::domain, "the cost is not finite at the initial point", value, gnorm);
  if (!std::isfinite(gnorm))
    return finish(Status::failed, "the right-hand side is not finite at the initial point (a finite cost with a non-finite gradient?)", value, gnorm);

  const bool save_steps = opt.save_steps && t_eval.empty();
  if (save_steps) save(t, y.data(), value, gnorm);
  while (next_eval < t_eval.size() && t_eval[next_eval] <= t0) {
    save(t_eval[next_eval], y.data(), value, gnorm);
    ++next_eval;
  }
  if (opt.gtol > 0 && gnorm <= opt.gtol)
    return finish(Status::converged, "||grad g|| <= gtol at the initial point", value, gnorm);

  double h = opt.first_step > 0 ? std::min(opt.first_step, t1 - t0)
                                : detail::initial_step(sys, tab, t0, y.data(), rk.slot(0), t1 - t0, opt, sol.nfev);
  h = std::max(h, ulps10(t0));  // a first step below rounding of t0 would be an instant "underflow"
  enum class Rejection { none, domain, error, not_finite } last_rejection = Rejection::none;
  // A step stretched to reach t1 that gets rejected must not be stretched again: the shrunk step
  // would leave a remainder small enough to be joined back, and the same step would repeat forever.
  bool may_stretch = true;
  std::int64_t attempts = 0;
  auto last_poll = std::chrono::steady_clock::now();

  while (true) {
    if (sol.naccept >= opt.max_steps)
      return finish(Status::max_steps, "reached max_steps = " + std::to_string(opt.max_steps) + " accepted steps", value, gnorm);
    // Ctrl-C is honoured while steps are being rejected too.
    if (opt.interrupted && (++attempts & 63) == 0) {
      const auto now = std::chrono::steady_clock::now();
      if (now - last_poll > std::chrono::milliseconds(50)) {
        last_poll = now;
        if (opt.interrupted()) return finish(Status::interrupted, "interrupted", value, gnorm);
      }
    }
    const double min_step = ulps10(t);
    if (t1 - t < min_step) {
      // What is left of the span is below the rounding of t: the run has reached t1.
      for (; next_eval < t_eval.size(); ++next_eval) save(t_eval[next_eval], y.data(), value, gnorm);
      return finish(Status::t_end, "reached the end of t_span", value, gnorm);
    }
    h = std::min(h, opt.max_step);
    bool last = false;
    // A remainder within rounding of t1 (after many additions of h) joins this step.
    const double join = may_stretch ? std::max(min_step, 1e-12 * std::max(std::fabs(t1), h)) : 0.0;
    if (t + h >= t1 || t1 - (t + h) < join) {
      h = t1 - t;
      last = true;
    }
    if (!(h >= min_step)) {
      const std::string where = " (h = " + detail::fmt(h) + " at t = " + detail::fmt(t) + ")";
      if (last_rejection == Rejection::domain)
        return finish(Status::domain, "the cost left its domain and the step could not be shrunk back into it" + where, value, gnorm);
      if (last_rejection == Rejection::not_finite)
        return finish(Status::failed, "step size underflow: the error estimate is not finite (a non-finite gradient?)" + where, value, gnorm);
      return finish(Status::failed, "step size underflow" + where, value, gnorm);
    }

    const StepAttempt att = rk.attempt(sys, t, y.data(), h, opt.rtol, opt.atol, y_new.data());
    sol.nfev += att.nfev;
    bool in_domain = att.in_domain;
    const bool accepted = in_domain && att.error <= 1.0;  // false for a NaN estimate too
    const double t_new = last ? t1 : t + h;
    // Interpolants with extra stages (DOP853) need them before anything is saved; a stage outside
    // the domain rejects the step like any other.
    if (accepted && tab.extra_stages > 0 && next_eval < t_eval.size() && t_eval[next_eval] <= t_new) {
      sol.nfev += rk.prepare_dense(sys, t, y.data(), h, in_domain);
    }
    if (!in_domain || !accepted) {
      ++sol.nreject;
      if (last) may_stretch = false;
      if (!in_domain) {
        ++sol.ndomain;
        last_rejection = Rejection::domain;
        h *= 0.25;
      } else {
        last_rejection = std::isfinite(att.error) ? Rejection::error : Rejection::not_finite;
        h *= controller.reject(att.error);
      }
      continue;
    }

    // Accepted. ||grad g|| fell to gtol inside this step: the run ends where it crossed, located
    // on the interpolant, so t_converged is not rounded up to the end of a (possibly long) step.
    const double gnorm_new = detail::gradient_norm(sys, y_new.data(), rk.slot(tab.stages), att.f_new_norm);
    if (opt.gtol > 0 && gnorm_new <= opt.gtol) {
      ++sol.naccept;
      if (tab.extra_stages > 0 && !(next_eval < t_eval.size() && t_eval[next_eval] <= t_new))
        sol.nfev += rk.prepare_dense(sys, t, y.data(), h, in_domain);
      double theta = 1.0, v_end = att.value_new, g_end = gnorm_new;
      if (in_domain) {
        const detail::Crossing c = detail::locate_crossing(sys, rk, t, y.data(), h, opt.gtol, gnorm, gnorm_new,
                                                            out.data(), out_dy.data(), sol.nfev);
        if (c.theta < 1.0) {
          theta = c.theta;
          v_end = c.value;
          g_end = c.gnorm;
          y_new.swap(out);
        }
      }
      const double t_c = theta < 1.0 ? t + theta * h : t_new;
      serve(t_c, y.data(), h, t, y_new.data(), v_end, g_end);
      t = t_c;
      y.swap(y_new);
      if (save_steps) save(t, y.data(), v_end, g_end);
      return finish(Status::converged, "||grad g|| <= gtol", v_end, g_end);
    }
    serve(t_new, y.data(), h, t, y_new.data(), att.value_new, gnorm_new);
    y.swap(y_new);
    rk.accept();
    t = t_new;
    value = att.value_new;
    gnorm = gnorm_new;
    ++sol.naccept;
    last_rejection = Rejection::none;
    may_stretch = true;
    if (save_steps) save(t, y.data(), value, gnorm);
    h *= controller.accept(att.error);

    if (!(att.max_abs_new <= opt.max_norm))
      return finish(Status::blowup, "max |w| exceeded max_norm = " + detail::fmt(opt.max_norm) + " at t = " + detail::fmt(t), value, gnorm);
    if (last) return finish(Status::t_end, "reached the end of t_span", value, gnorm);
  }
}

}  // namespace overflow
