// A stateful adaptive solver: one accepted step at a time, with dense output inside the last step.
// integrate() drives it to a final time; embedding programs (the C ABI, overflow.Solver) drive it
// step by step between their own events.
#pragma once
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "overflow/detail/activation_pattern.hpp"
#include "overflow/detail/aligned_vector.hpp"
#include "overflow/detail/controller.hpp"
#include "overflow/detail/dense_output.hpp"
#include "overflow/detail/explicit_rk.hpp"
#include "overflow/detail/gauss_legendre.hpp"
#include "overflow/detail/linear_combination.hpp"
#include "overflow/detail/method_switch.hpp"
#include "overflow/detail/radau.hpp"
#include "overflow/detail/rosenbrock.hpp"
#include "overflow/detail/sizes.hpp"
#include "overflow/detail/tolerance.hpp"
#include "overflow/system.hpp"
#include "overflow/tableau.hpp"
#include "overflow/thread_team.hpp"

namespace overflow {

struct StepOptions {
  double rtol = 1e-6;
  double atol = 1e-9;
  // Per-component relative tolerances (one per state entry; empty: rtol for all). rtol must then
  // be their smallest (Tolerance: what Newton and Krylov tests use).
  std::vector<double> rtol_components;
  double first_step = 0.0;  // <= 0: Hairer's starting-step estimate
  double max_step = std::numeric_limits<double>::infinity();
  // LSODA's hmin: no step below it (except the last one, to t_bound); a rejected step of this size
  // ends the run as a step-size underflow. 0: only the 10 units of rounding of t that every step has.
  double min_step = 0.0;
  ControllerOptions controller{};
  // After each accepted step, move the state back onto {C_i = C_i(t0)} (a minimal-norm Newton
  // correction; gradient flows of linear networks only). The next step starts from the projected
  // state; dense output inside the step still interpolates the unprojected one.
  bool project = false;
  // Polled about every 50 ms of stepping; returning true ends step() with StepOutcome::interrupted.
  std::function<bool()> interrupted;
  // Splits the explicit stepper's vector passes across this team (not owned; large states only).
  // A team runs one job at a time: it may serve one solver (and its system) only. Ensembles ignore it.
  ThreadTeam* team = nullptr;
  // Method "auto": with a stiff tableau here (rodas4), the solver runs the explicit tableau it was
  // given and switches to this one where the flow is stiff, and back (method_switch.hpp). Needs a
  // System with jvp().
  const Tableau* stiff = nullptr;
  // > 0: the run stops once ||grad g|| <= gtol (integrate.hpp); "auto" also switches to the stiff
  // method when ||grad g|| stalls above it.
  double gtol = 0.0;
};

enum class StepOutcome {
  accepted,     // one step taken; t() advanced
  domain,       // the cost left its domain and the step could not be shrunk back into it
  failed,       // step-size underflow
  not_finite,   // step-size underflow with a non-finite error estimate (a non-finite gradient?)
  interrupted,  // StepOptions::interrupted returned true; nothing changed
  kink,         // an activation pattern could not be switched at a kink (Solver::kink_message says why)
};

namespace detail {

inline double rms_scaled(const double* v, const double* y, std::size_t n, const Tolerance& tol) {
  double s = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double r = v[i] / tol.weight(i, std::fabs(y[i]));
    s += r * r;
  }
  return std::sqrt(s / static_cast<double>(n));
}

inline double norm2(const double* v, std::size_t n) { return std::sqrt(sum_squares(v, n)); }

// ||grad g|| at a point: the norm of dy for a gradient flow; a System whose state is not the
// network's weights (the reduced vector case) supplies gradient_norm(y, dy) itself.
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

inline double ulps10(double x) { return 10.0 * (std::nextafter(x, std::numeric_limits<double>::infinity()) - x); }

}  // namespace detail

template <class System>
class Solver {
 public:
  static_assert(IsSystem<System>::value,
                "a System provides std::size_t dim() const and double eval(double t, const double* y, double* dy) "
                "(overflow/system.hpp)");

  Solver(System& sys, const Tableau& tab, const StepOptions& opt)
      : sys_(sys),
        start_tab_(&tab),
        tab_(&tab),
        opt_(opt),
        stepper_(make_stepper(tab, sys, opt.team)),
        controller_(make_controller(tab, opt.controller)),
        y_(sys.dim()),
        y_prev_(sys.dim()),
        y_new_(sys.dim()) {
    if (!(opt.rtol > 0) || !(opt.atol > 0)) throw std::invalid_argument("rtol and atol must be > 0");
    if (!opt.rtol_components.empty()) {
      if (opt.rtol_components.size() != sys.dim())
        throw std::invalid_argument("rtol_components must have one entry per state component");
      for (double r : opt.rtol_components)
        if (!(r >= opt.rtol) || !std::isfinite(r))
          throw std::invalid_argument("rtol_components must be finite and >= rtol (their smallest)");
    }
    if (!(opt.max_step > 0)) throw std::invalid_argument("max_step must be > 0");
    if (!(opt.min_step >= 0) || opt.min_step > opt.max_step)
      throw std::invalid_argument("min_step must be >= 0 and <= max_step");
    if (opt.stiff) {
      if (tab.implicit() || tab.explicit_rk.stiffness_stage < 1 || opt.stiff->scheme != Tableau::Scheme::rosenbrock)
        throw std::invalid_argument(
            "method switching needs an explicit pair with a stage at c = 1 and a Rosenbrock method");
      if constexpr (!HasJvp<System>::value)
        throw std::invalid_argument("method switching needs the system's Jacobian (jvp)");
    }
  }

  // Starts at (t0, y0) with one evaluation, resetting the statistics. Returns the loss there
  // (non-finite: outside the domain, and the solver cannot step); ||grad g|| is grad_norm()
  // (non-finite: a broken gradient).
  double init(double t0, const double* y0) {
    const std::size_t n = dim();
    std::copy(y0, y0 + n, y_.begin());
    t_ = t_prev_ = t0;
    h_ = h_last_ = 0.0;
    pending_accept_ = false;
    have_step_ = false;
    // Nothing carried over from a previous run (the implicit stepper caches J and factorisations;
    // "auto" starts again with its explicit pair).
    if (tab_ != start_tab_ || tab_->implicit()) {
      tab_ = start_tab_;
      emplace_stepper();
    }
    controller_ = make_controller(*tab_, opt_.controller);
    switch_.reset();
    switch_to_ = nullptr;
    switch_times_.clear();
    naccept_stiff_ = 0;
    stiff_rho_ = 0.0;
    radius_probe_.clear();
    last_rejection_ = Rejection::none;
    may_stretch_ = true;
    nfev_ = naccept_ = nreject_ = ndomain_ = njvp_ = njev_ = nlu_ = 0;  // the statistics count from this start
    kink_pending_ = false;
    stalled_switches_ = 0;
    dense_fraction_ = 1.0;
    if constexpr (HasActivationPattern<System>::value) {
      pattern_ = sys_.activation_pattern();
      if (pattern_.pattern) pattern_.pattern->start(y_.data(), *pattern_.ws);
    }
    double* f0 = visit([](auto& st) { return st.f0(); });
    value_ = visit([&](auto& st) { return st.eval_f0(sys_, t0, y_.data()); });
    ++nfev_;
    gnorm_ = detail::gradient_norm(sys_, y_.data(), f0, detail::norm2(f0, n));
    ready_ = std::isfinite(value_) && std::isfinite(gnorm_);
    max_projection_ = 0.0;
    if (opt_.project) {
      if constexpr (HasProject<System>::value) {
        sys_.invariants(y_.data(), invariants0_);
      } else {
        throw std::invalid_argument("project=True needs a gradient flow (the invariants C_i)");
      }
    }
    return value_;
  }

  // Takes one accepted step towards t_bound (> t()), never past it; rejected attempts are retried
  // with smaller steps inside. With an interpolant that needs extra stages (DOP853), they are
  // computed as part of the step when it ends at or after dense_before.
  StepOutcome step(double t_bound, double dense_before = std::numeric_limits<double>::infinity()) {
    if (!ready_) throw std::logic_error("the solver is not initialised at a point where the flow is finite");
    if (!(t_bound > t_)) throw std::invalid_argument("t_bound must be > t");
    if (pending_accept_) {
      visit([](auto& st) { st.accept(); });
      pending_accept_ = false;
    }
    // The last step ended at a kink, switched there: its dense output and events read the old
    // pattern until now, and f under the new one is the next step's start.
    if (kink_pending_) {
      kink_pending_ = false;
      double* f0 = visit([](auto& st) { return st.f0(); });
      std::copy(f_kink_.begin(), f_kink_.end(), f0);
      pattern_.pattern->release();
    }
    if (switch_to_) switch_method();
    if (h_ <= 0.0) {
      h_ = opt_.first_step > 0 ? std::min(opt_.first_step, t_bound - t_) : initial_step(t_bound - t_);
      h_ = std::max(h_, detail::ulps10(t_));  // a first step below rounding of t0 would be an instant "underflow"
    }
    double h = h_;
    while (true) {
      // The clock is read every 64th attempt; an implicit step on a large system can take
      // milliseconds (Krylov solves on a wide network), so there at every attempt.
      if (opt_.interrupted && ((++attempts_ & 63) == 0 || (tab_->implicit() && dim() >= kPollEveryAttemptDim))) {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_poll_ > std::chrono::milliseconds(50)) {
          last_poll_ = now;
          if (opt_.interrupted()) {
            h_ = h;
            return StepOutcome::interrupted;
          }
        }
      }
      const double min_step = detail::ulps10(t_);
      h = std::max(std::min(h, opt_.max_step), opt_.min_step);
      bool last = false;
      // A remainder within rounding of t_bound (after many additions of h) joins this step.
      const double join = may_stretch_ ? std::max(min_step, 1e-12 * std::max(std::fabs(t_bound), h)) : 0.0;
      if (t_ + h >= t_bound || t_bound - (t_ + h) < join) {
        h = t_bound - t_;
        last = true;
      }
      if (!(h >= min_step)) return underflow(h);
      if constexpr (HasActivationPattern<System>::value) {
        if (pattern_.pattern) pattern_.pattern->watch_step();
      }
      const StepAttempt att =
          visit([&](auto& st) { return st.attempt(sys_, t_, y_.data(), h, tolerance(), y_new_.data()); });
      count_attempt(att);
      bool in_domain = att.in_domain;
      const bool accepted = in_domain && att.error <= 1.0;  // false for a NaN estimate too
      const double t_new = last ? t_bound : t_ + h;
      // (locate_kink() may compute the interpolant's extra stages.)
      dense_ready_ = !visit([](auto& st) { return st.dense_needs_stages(); });
      if constexpr (HasActivationPattern<System>::value) {
        const bool ends_held =
            !accepted || !pattern_.pattern ||
            pattern_.pattern->holds(y_new_.data(), *pattern_.ws, std::holds_alternative<ExplicitRK>(stepper_));
        if (accepted && pattern_.pattern && ends_held && pattern_.pattern->returned()) {
          // An entry crossed at a stage and is back at the end: a crossing there and back again on the
          // interpolant ends the step at its first crossing; a stage alone off the solution does not.
          const double theta = locate_kink(h, true);
          if (theta > 0.0 && theta * h >= min_step) return take_step_to_kink(att, h, theta, t_new, t_bound, last);
        }
        if (!ends_held) {
          // Some entry crossed its kink inside the step: the step ends at the first crossing. Entries
          // that crossed at a stage and came back are watched too, with the scan, so that the first
          // crossing is theirs where it comes first (the step's end where its margin disagrees with holds()).
          double theta = locate_kink(h, pattern_.pattern->returned());
          if (theta < 0.0) theta = 1.0;
          if (theta * h >= min_step) return take_step_to_kink(att, h, theta, t_new, t_bound, last);
          // Crossed at the start already. Where switches there do not settle (entries that take turns
          // to slide on intersecting kinks), the step is taken as it is and the pattern switched at its
          // end: its entries past their kink stay within rounding of it, as they cycled at the start.
          if (++stalled_switches_ > kMaxStalledSwitches) {
            dense_ready_ = !visit([](auto& st) { return st.dense_needs_stages(); });
            pattern_.pattern->margin(y_new_.data(), *pattern_.ws);
            return take_step_to_kink(att, h, 1.0, t_new, t_bound, last);
          }
          // Otherwise switch there and take the step again.
          double* f0 = visit([](auto& st) { return st.f0(); });
          if (!switch_pattern(y_.data(), f0, value_)) return StepOutcome::kink;
          gnorm_ = detail::gradient_norm(sys_, y_.data(), f0, detail::norm2(f0, dim()));
          continue;
        }
      }
      // Interpolants with extra stages need them before anything is read off the step; a stage
      // outside the domain rejects the step like any other.
      if (accepted && !dense_ready_ && dense_before <= t_new) {
        nfev_ += visit([&](auto& st) { return st.prepare_dense(sys_, t_, y_.data(), h, in_domain); });
        dense_ready_ = in_domain;
      }
      if (!in_domain || !accepted) {
        ++nreject_;
        if (last) may_stretch_ = false;
        const double h_tried = h;
        if (!in_domain) {
          ++ndomain_;
          last_rejection_ = Rejection::domain;
          h *= 0.25;
        } else if (att.retry_factor > 0) {  // an implicit method's iteration failed, not its error
          last_rejection_ = Rejection::error;
          h *= controller_.retry(att.retry_factor);
        } else {
          last_rejection_ = std::isfinite(att.error) ? Rejection::error : Rejection::not_finite;
          h *= controller_.reject(att.error, att.newton_iterations);
        }
        if (h_tried <= opt_.min_step) return underflow(h_tried);  // it cannot shrink below min_step
        continue;
      }
      // Accepted. The stepper's slots keep this step's stages (for dense output) until the next
      // step starts, which is when slot `stages` (f at the new point) rotates into slot 0.
      y_prev_.swap(y_);
      y_.swap(y_new_);
      pending_accept_ = true;
      have_step_ = true;
      t_prev_ = t_;
      t_ = t_new;
      h_last_ = dense_h_ = h;
      value_ = att.value_new;
      max_abs_ = att.max_abs_new;
      gnorm_ = detail::gradient_norm(sys_, y_.data(), f(), att.f_new_norm);
      ++naccept_;
      last_rejection_ = Rejection::none;
      may_stretch_ = true;
      h_ = h * controller_.accept({att.error, h, att.newton_iterations, att.reuses_matrix});
      stalled_switches_ = 0;
      dense_fraction_ = 1.0;
      if (opt_.project) project_state();
      // The stiffness estimate serves "auto" and, with a gtol, the diagnosis of a run that does
      // not reach it; a step cut short to land on t_bound says nothing about the steps possible.
      if ((opt_.stiff || (opt_.gtol > 0 && tab_->explicit_rk.stiffness_stage > 0)) && !last)
        consider_switch(h, t_bound);
      return StepOutcome::accepted;
    }
  }

  // Evaluates the interpolant's extra stages (DOP853) if the last step did not; false if one of
  // them left the domain (dense output inside that step is then unavailable).
  bool prepare_dense() {
    if (dense_ready_ || !have_step_ || !pending_accept_) return dense_ready_;
    bool in_domain = true;
    nfev_ += visit([&](auto& st) { return st.prepare_dense(sys_, t_prev_, y_prev_.data(), dense_h_, in_domain); });
    dense_ready_ = in_domain;
    return dense_ready_;
  }

  // The solution at theta in [0, 1] of the last step (t_prev() + theta h_last()). Needs
  // prepare_dense() to have succeeded; valid until the next step().
  void dense_theta(double theta, double* out) const {
    interpolate(y_prev_.data(), dense_h_, theta * dense_fraction_, out);
  }

  // True when dense output over [t_prev(), t()] is available (a step was taken since init and the
  // next one has not started).
  bool has_step() const { return have_step_ && pending_accept_; }

  System& system() { return sys_; }
  std::size_t dim() const { return y_.size(); }
  bool ready() const { return ready_; }
  double t() const { return t_; }
  double t_prev() const { return t_prev_; }
  double h_last() const { return h_last_; }
  double h_next() const { return h_; }
  double underflow_step() const { return underflow_h_; }
  const double* y() const { return y_.data(); }
  const double* y_prev() const { return y_prev_.data(); }
  // f(t, y) at the current point.
  const double* f() const {
    if (kink_pending_) return f_kink_.data();  // the step ended at a kink, before the attempt's end
    return std::visit([&](const auto& st) { return pending_accept_ ? st.f_new() : st.f0(); }, stepper_);
  }
  double value() const { return value_; }
  double grad_norm() const { return gnorm_; }
  double max_abs() const { return max_abs_; }
  // With an activation pattern, also the evaluations it made itself (gate solves, kink probes).
  std::int64_t nfev() const { return nfev_ + (pattern_.pattern ? pattern_.pattern->evaluations() : 0); }
  std::int64_t naccept() const { return naccept_; }
  std::int64_t nreject() const { return nreject_; }
  std::int64_t ndomain() const { return ndomain_; }
  std::int64_t njvp() const { return njvp_; }
  std::int64_t njev() const { return njev_; }
  std::int64_t nlu() const { return nlu_; }
  // Relu-family networks (activation_pattern.hpp): the kinks located and stepped to, the entries that
  // began to slide along one, and why a step ended with StepOutcome::kink.
  std::int64_t nkink() const { return pattern_.pattern ? pattern_.pattern->nkink() : 0; }
  std::int64_t nslide() const { return pattern_.pattern ? pattern_.pattern->nslide() : 0; }
  const std::string& kink_message() const { return kink_message_; }
  // Method "auto": steps accepted by the stiff method, the times of the switches (the first from the
  // explicit pair to the stiff method, then alternating), and whether the stiff method runs now.
  std::int64_t naccept_stiff() const { return naccept_stiff_; }
  const std::vector<double>& switch_times() const { return switch_times_; }
  const Tableau& current_tableau() const { return *tab_; }
  const Tableau& start_tableau() const { return *start_tab_; }
  // True while an explicit method's steps are held at its stability limit (method_switch.hpp).
  bool stability_limited() const { return !tab_->implicit() && switch_.stability_limited(); }
  // The gtol the run stops at (StepOptions::gtol), which "auto" switches on.
  void set_gtol(double gtol) { opt_.gtol = gtol; }
  // Turns StepOptions::project on or off from the next init() on.
  void set_project(bool on) { opt_.project = on; }
  // The largest correction (max |entry|) the projection has made since init (0 without project).
  double max_projection() const { return max_projection_; }
  void count_evaluations(std::int64_t k) { nfev_ += k; }

 private:
  enum class Rejection { none, domain, error, not_finite };

  // Method "auto", after an accepted step of size h: asks MethodSwitch whether to change method
  // from the next step on (the switch waits until then, so that dense output inside this step
  // still comes from the stepper that took it).
  void consider_switch(double h, double t_bound) {
    if (tab_->scheme == Tableau::Scheme::explicit_rk) {
      if (!switch_.wants_estimate(dim() >= ExplicitRK::kTeamMinDim)) return;
      auto& rk = std::get<ExplicitRK>(stepper_);
      MethodSwitch::ExplicitStep s;
      s.h = h;
      s.rho = rk.spectral_radius_estimate(h);
      s.boundary = tab_->explicit_rk.stability_boundary;
      s.span_left = t_bound - t_;
      s.grad_norm = gnorm_;
      s.gtol = opt_.gtol;
      s.stages = tab_->stages;
      s.stiff_step_cost = opt_.stiff ? stiff_step_cost() : 0.0;
      // Kinks too: under the frozen pattern the flow is smooth, and its Jacobian carries the sliding gates.
      if (switch_.to_stiff(s) && opt_.stiff) switch_to_ = opt_.stiff;
    } else {
      ++naccept_stiff_;
      // rho moves slowly: while h rho is past the explicit boundary (4x the switch-back threshold)
      // the last estimate serves, refreshed every 16 steps (its power iterations cost ~4 J v each).
      const double boundary = start_tab_->explicit_rk.stability_boundary;
      if (!(h * stiff_rho_ >= boundary) || ++stiff_rho_age_ >= 16) {
        stiff_rho_ = spectral_radius();
        stiff_rho_age_ = 0;
      }
      if (switch_.to_nonstiff(h, stiff_rho_, boundary)) switch_to_ = start_tab_;
    }
  }

  // Evaluations one step of the stiff method is projected to cost: its stages, and products J v
  // (about two evaluations each) to assemble J (dense path) or for the Krylov solves (about 5 per
  // stage with the space the stages share: 31 per step on bench/convergence.py's 160 weights).
  double stiff_step_cost() const {
    const double n = static_cast<double>(dim());
    const double s = opt_.stiff->stages;
    const double products = n <= static_cast<double>(JacobianStepper::kDenseLimit) ? n : 5.0 * s;
    return s + 2.0 * products;
  }

  // |lambda|max of J at the current point by a few power iterations on J v, continued from the
  // last call's vector (the point moves little between steps).
  double spectral_radius() {
    if constexpr (HasJvp<System>::value) {
      const std::size_t n = dim();
      if (radius_probe_.size() != n) {  // a fixed start with no special direction
        radius_probe_.resize(n);
        for (std::size_t i = 0; i < n; ++i) radius_probe_[i] = 1.0 + 0.5 * std::sin(1.0 + static_cast<double>(i));
      }
      radius_image_.resize(n);
      double rho = 0.0;
      for (int it = 0; it < 4; ++it) {
        const double vn = detail::norm2(radius_probe_.data(), n);
        if (!(vn > 0)) break;
        for (double& v : radius_probe_) v /= vn;
        sys_.jvp(t_, y_.data(), radius_probe_.data(), radius_image_.data());
        ++njvp_;
        rho = detail::norm2(radius_image_.data(), n);
        radius_probe_.swap(radius_image_);
      }
      return rho;
    } else {
      return std::numeric_limits<double>::quiet_NaN();
    }
  }

  // The solution at theta of the step of size h from y0 just attempted (or taken).
  void interpolate(const double* y0, double h, double theta, double* out) const {
    if (const auto* rk = std::get_if<ExplicitRK>(&stepper_)) {
      dense_output(*rk, y0, h, theta, out);
    } else if (const auto* gl = std::get_if<GaussLegendre>(&stepper_)) {
      gl->dense(y0, h, theta, out);
    } else if (const auto* ra = std::get_if<Radau5>(&stepper_)) {
      ra->dense(y0, h, theta, out);
    } else {
      std::get<Rosenbrock>(stepper_).dense(y0, h, theta, out);
    }
  }

  // The first kink crossed in the attempted step of size h from y_ to y_new_, as the fraction theta
  // of the step: Illinois regula falsi on the pattern's margin along the attempt's interpolant, the
  // bracket's right end returned (just past the crossing, where the pattern records what crossed);
  // 0: crossed at the start already. A switch a fraction e of the step past the crossing runs the old
  // branch for e h: an error of e h times the jump of f there, so kLocateTolerance (1e-9) of the step
  // stays below any tolerance the steps are taken at. With `scan` (an entry crossed at a stage
  // and came back), the bracket is the first of the probe_nodes() where the margin is <= 0; -1: none
  // there, nor at the step's end (no crossing found: the step stands).
  double locate_kink(double h, bool scan) {
    ActivationPattern& pattern = *pattern_.pattern;
    FlowWorkspace& ws = *pattern_.ws;
    double f_lo = pattern.margin(y_.data(), ws);
    if (!(f_lo > 0.0)) return 0.0;
    double f_hi = 0.0;
    if (!scan) {
      f_hi = pattern.margin(y_new_.data(), ws);
      if (!(f_hi <= 0.0)) return 1.0;
    }
    bool in_domain = true;
    if (visit([](auto& st) { return st.dense_needs_stages(); }))
      nfev_ += visit([&](auto& st) { return st.prepare_dense(sys_, t_, y_.data(), h, in_domain); });
    dense_ready_ = in_domain;
    if (!in_domain) return scan ? -1.0 : 1.0;  // no interpolant: the switch is made at the step's end
    probe_.resize(dim());
    auto margin_at = [&](double th) {  // the margin on the interpolant at the fraction th of the step
      interpolate(y_.data(), h, th, probe_.data());
      return pattern.margin(probe_.data(), ws);
    };
    double lo = 0.0, hi = 1.0;
    bool recorded_hi = true;  // the pattern's last margin() was at hi
    if (scan) {
      recorded_hi = false;
      for (double th : probe_nodes()) {
        const double f = margin_at(th);
        if (f <= 0.0) {
          hi = th;
          f_hi = f;
          recorded_hi = true;
          break;
        }
        lo = th;
        f_lo = f;
      }
      if (!recorded_hi) {  // no node past a switch: the step's end may be (a candidate that holds() saw)
        f_hi = pattern.margin(y_new_.data(), ws);
        if (!(f_hi <= 0.0)) return -1.0;
        recorded_hi = true;
      }
    }
    int side = 0;
    for (int it = 0; it < kLocateIterations && hi - lo > kLocateTolerance; ++it) {
      double th = lo + f_lo * (hi - lo) / (f_lo - f_hi);
      if (!(th > lo && th < hi)) th = 0.5 * (lo + hi);
      const double f = margin_at(th);
      if (f <= 0.0) {
        hi = th;
        f_hi = f;
        recorded_hi = true;
        if (side == -1) f_lo *= 0.5;
        side = -1;
      } else {
        lo = th;
        f_lo = f;
        recorded_hi = false;
        if (side == 1) f_hi *= 0.5;
        side = 1;
      }
    }
    if (!recorded_hi) margin_at(hi);  // the pattern records what has crossed at the returned end
    return hi;
  }

  // Where locate_kink() looks for a crossing that came back: the stages' nodes inside the step (where
  // the evaluations saw it) and the quarter points (for methods with few stages), ascending.
  std::vector<double> probe_nodes() const {
    std::vector<double> nodes = {0.25, 0.5, 0.75};
    for (double c : tab_->c)
      if (c > 0.0 && c < 1.0) nodes.push_back(c);
    std::sort(nodes.begin(), nodes.end());
    nodes.erase(std::unique(nodes.begin(), nodes.end(), [](double a, double b) { return b - a < 1e-3; }), nodes.end());
    return nodes;
  }

  // Accepts the attempt (error att.error, size h) up to its first kink at theta: the state there is
  // the attempt's interpolant, whose error the attempt's estimate bounds (each pair's interpolant is
  // of at least the order of its error estimator), so the attempt's stages are not wasted. The pattern
  // switches there at once (f under the new pattern is the next step's start) but is held at the old
  // one for this step's dense output and events, until the next step.
  StepOutcome take_step_to_kink(const StepAttempt& att, double h, double theta, double t_new, double t_bound,
                                bool last) {
    const bool inside = theta < 1.0 - kLocateTolerance;
    // Gauss: the step is retaken up to the crossing, so that it conserves the invariants to rounding (as
    // every Gauss step does) and keeps the method's order, which its interpolant (order 5 for gauss6) lacks.
    const bool retaken = inside && tab_->scheme == Tableau::Scheme::gauss && retake_to_kink(h, theta * h);
    if (inside && !retaken) interpolate(y_.data(), h, theta, y_new_.data());
    project_kink_state(inside && !retaken);
    f_kink_.resize(dim());
    double value = 0.0;
    if (!switch_pattern(y_new_.data(), f_kink_.data(), value)) return StepOutcome::kink;
    pattern_.pattern->hold();
    y_prev_.swap(y_);
    y_.swap(y_new_);
    pending_accept_ = kink_pending_ = have_step_ = true;
    t_prev_ = t_;
    t_ = inside ? t_ + theta * h : t_new;
    h_last_ = inside ? theta * h : h;
    dense_h_ = retaken ? theta * h : h;
    dense_fraction_ = inside && !retaken ? theta : 1.0;
    value_ = value;
    double max_abs = 0.0;
    for (std::size_t i = 0; i < dim(); ++i) max_abs = std::max(max_abs, std::fabs(y_[i]));
    max_abs_ = max_abs;
    gnorm_ = detail::gradient_norm(sys_, y_.data(), f_kink_.data(), detail::norm2(f_kink_.data(), dim()));
    ++naccept_;
    last_rejection_ = Rejection::none;
    may_stretch_ = true;
    stalled_switches_ = 0;
    // The next step as long as this attempt's error allows for its whole length.
    h_ = h * controller_.accept({att.error, h, att.newton_iterations, att.reuses_matrix});
    if (opt_.gtol > 0 && tab_->explicit_rk.stiffness_stage > 0 && !(last && !inside)) consider_switch(h, t_bound);
    return StepOutcome::accepted;
  }

  // Switches the activation pattern at y (the kinks the last margin() found crossed); dy and value:
  // f and the loss there under the new pattern. False: the switch could not be made.
  bool switch_pattern(const double* y, double* dy, double& value) {
    if (!pattern_.pattern->switch_at(y, *pattern_.ws, dy, value)) {
      kink_message_ = pattern_.pattern->message() + " at t = " + std::to_string(t_);
      return false;
    }
    return true;
  }

  // Continues from (t, y) with the tableau switch_to_: f at y again (the new stepper's slot 0;
  // one evaluation), a fresh controller, and a first step the new method can take.
  void switch_method() {
    const Tableau* next = switch_to_;
    switch_to_ = nullptr;
    const double rho = next->implicit() ? 0.0 : spectral_radius();
    tab_ = next;
    emplace_stepper();
    controller_ = make_controller(*tab_, opt_.controller);
    visit([&](auto& st) { return st.eval_f0(sys_, t_, y_.data()); });
    ++nfev_;
    // Back on the explicit pair, start inside its stability region.
    if (rho > 0) h_ = std::min(h_, 0.5 * tab_->explicit_rk.stability_boundary / rho);
    switch_.switched();
    switch_times_.push_back(t_);
    stiff_rho_ = 0.0;  // estimated afresh at the stiff method's first step
  }

  // The Gauss step from y_ of size h_kink (to the crossing the attempt of size h found) into y_new_;
  // true when it converged. Otherwise the attempt of size h is made again: its stages are the interpolant's.
  bool retake_to_kink(double h, double h_kink) {
    const StepAttempt re =
        visit([&](auto& st) { return st.attempt(sys_, t_, y_.data(), h_kink, tolerance(), y_new_.data()); });
    count_attempt(re);
    if (re.in_domain && std::isfinite(re.error)) return true;
    count_attempt(visit([&](auto& st) { return st.attempt(sys_, t_, y_.data(), h, tolerance(), y_new_.data()); }));
    return false;
  }
  void count_attempt(const StepAttempt& att) {
    nfev_ += att.nfev;
    njvp_ += att.njvp;
    njev_ += att.njev;
    nlu_ += att.nlu;
  }

  // The state a step ends at a kink with (y_new_, before f is evaluated there under the new pattern):
  // project=True moves it onto the invariants at t0 like any step's end. A Gauss step that could not be
  // retaken to the crossing ends on its interpolant, which is moved onto the invariants at the step's
  // start (which the Gauss step kept to rounding).
  void project_kink_state(bool interpolated) {
    if constexpr (HasProject<System>::value) {
      if (opt_.project) {
        max_projection_ = std::max(max_projection_, sys_.project(y_new_.data(), invariants0_.data()).size);
      } else if (interpolated && tab_->scheme == Tableau::Scheme::gauss) {
        sys_.invariants(y_.data(), kink_invariants_);
        sys_.project(y_new_.data(), kink_invariants_.data());
      }
    } else {
      (void)interpolated;
    }
  }

  void project_state() {
    if constexpr (HasProject<System>::value) {
      const auto p = sys_.project(y_.data(), invariants0_.data());
      max_projection_ = std::max(max_projection_, p.size);
      if (p.size > 0.0) {  // f and the loss at the projected point
        double* f_new = visit([](auto& st) { return st.f_new(); });
        value_ = visit([&](auto& st) { return st.eval_f_new(sys_, t_, y_.data()); });
        ++nfev_;
        gnorm_ = detail::gradient_norm(sys_, y_.data(), f_new, detail::norm2(f_new, dim()));
      }
    }
  }

  // Hairer, Norsett & Wanner I, section II.4: a first step from the sizes of y0, f0 and an estimate
  // of the second derivative, so the first step's error is about the tolerance.
  double initial_step(double span) {
    const std::size_t n = dim();
    const double* y0 = y_.data();
    const double* f0 = f();
    const double d0 = detail::rms_scaled(y0, y0, n, tolerance());
    const double d1 = detail::rms_scaled(f0, y0, n, tolerance());
    double h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
    h0 = std::min({h0, span, opt_.max_step});
    std::vector<double> y1(n), f1(n), diff(n);
    for (int tries = 0; tries < 20; ++tries) {  // shrink until the probe point is inside the domain
      for (std::size_t i = 0; i < n; ++i) y1[i] = y0[i] + h0 * f0[i];
      ++nfev_;
      if (std::isfinite(sys_.eval(t_ + h0, y1.data(), f1.data()))) break;
      h0 *= 0.1;
    }
    for (std::size_t i = 0; i < n; ++i) diff[i] = f1[i] - f0[i];
    const double d2 = detail::rms_scaled(diff.data(), y0, n, tolerance()) / h0;
    double h1;
    if (!(std::isfinite(d2)) || (d1 <= 1e-15 && d2 <= 1e-15)) {
      h1 = std::max(1e-6, h0 * 1e-3);
    } else {
      h1 = std::pow(0.01 / std::max(d1, d2), 1.0 / (tab_->control_order + 1));
    }
    return std::min({100 * h0, h1, span, opt_.max_step});
  }

  Tolerance tolerance() const {
    return {opt_.rtol, opt_.atol, opt_.rtol_components.empty() ? nullptr : opt_.rtol_components.data()};
  }

  // The step size fell below what the run allows (h): the outcome names the last rejection's cause.
  StepOutcome underflow(double h) {
    h_ = underflow_h_ = h;
    if (last_rejection_ == Rejection::domain) return StepOutcome::domain;
    if (last_rejection_ == Rejection::not_finite) return StepOutcome::not_finite;
    return StepOutcome::failed;
  }

  // radau5 takes radau5.f's predictive controller, the other methods the PI controller.
  static StepController make_controller(const Tableau& tab, const ControllerOptions& opt) {
    const auto kind =
        tab.scheme == Tableau::Scheme::radau ? StepController::Kind::predictive : StepController::Kind::pi;
    return StepController(tab.control_order, kind, opt);
  }

  System& sys_;
  const Tableau* start_tab_;  // the method given (auto: its explicit pair)
  const Tableau* tab_;        // the method running now
  StepOptions opt_;
  using Stepper = std::variant<ExplicitRK, GaussLegendre, Rosenbrock, Radau5>;
  static Stepper make_stepper(const Tableau& tab, System& sys, ThreadTeam* team) {
    const std::size_t dim = sys.dim();
    // At least the stages and a few more state-sized vectors: a state far too large for the
    // machine is refused before any of them is allocated (sizes.hpp).
    check_memory(
        checked_mul(dim, static_cast<std::size_t>(tab.stages) + 4, "the solver's vectors"),
        "the solver's vectors (" + std::to_string(tab.stages + 4) + " of " + std::to_string(dim) + " doubles)");
    constexpr bool whole = HasJacobian<System>::value;
    if (tab.scheme == Tableau::Scheme::gauss) return Stepper(std::in_place_type<GaussLegendre>, tab, dim, whole);
    if (tab.scheme == Tableau::Scheme::rosenbrock) return Stepper(std::in_place_type<Rosenbrock>, tab, dim, whole);
    if (tab.scheme == Tableau::Scheme::radau) return Stepper(std::in_place_type<Radau5>, tab, dim);  // always dense
    FactorLayout layout;
    if constexpr (HasStageFactors<System>::value) layout = sys.factor_layout();
    return Stepper(std::in_place_type<ExplicitRK>, tab, dim, team, std::move(layout));
  }
  // A new stepper for tab_ in place of the old one (whose stages and caches are dropped).
  void emplace_stepper() {
    const std::size_t n = dim();
    if (tab_->scheme == Tableau::Scheme::gauss) {
      stepper_.template emplace<GaussLegendre>(*tab_, n, HasJacobian<System>::value);
    } else if (tab_->scheme == Tableau::Scheme::rosenbrock) {
      stepper_.template emplace<Rosenbrock>(*tab_, n, HasJacobian<System>::value);
    } else if (tab_->scheme == Tableau::Scheme::radau) {
      stepper_.template emplace<Radau5>(*tab_, n);
    } else {
      FactorLayout layout;
      if constexpr (HasStageFactors<System>::value) layout = sys_.factor_layout();
      stepper_.template emplace<ExplicitRK>(*tab_, n, opt_.team, std::move(layout));
    }
  }
  template <class F>
  decltype(auto) visit(F&& fn) {
    return std::visit(std::forward<F>(fn), stepper_);
  }

  Stepper stepper_;
  StepController controller_;
  AlignedVector y_, y_prev_, y_new_;
  double t_ = 0.0, t_prev_ = 0.0, h_ = 0.0, h_last_ = 0.0, underflow_h_ = 0.0;
  double value_ = 0.0, gnorm_ = 0.0, max_abs_ = 0.0, max_projection_ = 0.0;
  std::vector<double> invariants0_, kink_invariants_;  // at t0 (project=True); at a Gauss step's start
  MethodSwitch switch_;
  const Tableau* switch_to_ = nullptr;  // set: switch before the next step
  std::vector<double> switch_times_, radius_probe_, radius_image_;
  std::int64_t naccept_stiff_ = 0;
  double stiff_rho_ = 0.0;  // the stiff method's last spectral-radius estimate, and its age in steps
  int stiff_rho_age_ = 0;
  bool ready_ = false, pending_accept_ = false, have_step_ = false, dense_ready_ = false, may_stretch_ = true;
  Rejection last_rejection_ = Rejection::none;
  std::int64_t nfev_ = 0, naccept_ = 0, nreject_ = 0, ndomain_ = 0, njvp_ = 0, njev_ = 0, nlu_ = 0, attempts_ = 0;
  std::chrono::steady_clock::time_point last_poll_ = std::chrono::steady_clock::now();
  // Below this dimension an implicit attempt takes microseconds: the clock is read as for explicit ones.
  static constexpr std::size_t kPollEveryAttemptDim = 64;
  // Activation patterns: the kinks' location (fraction of a step), and how many switches in a row
  // without an accepted step end the run (a pattern that cannot settle, rather than a silent grind).
  PatternHandle pattern_;
  AlignedVector probe_, f_kink_;  // a point on an attempt's interpolant; f at the kink a step ended at
  bool kink_pending_ = false;     // the last step ended at a kink, switched there (f_kink_)
  int stalled_switches_ = 0;
  // The last step's interpolant is the attempt of size dense_h_ over [0, dense_fraction_] (1 but
  // for a step that ended at a kink).
  double dense_h_ = 0.0, dense_fraction_ = 1.0;
  std::string kink_message_;
  static constexpr double kLocateTolerance = 1e-9;
  static constexpr int kLocateIterations = 64;
  static constexpr int kMaxStalledSwitches = 4;
};

}  // namespace overflow
