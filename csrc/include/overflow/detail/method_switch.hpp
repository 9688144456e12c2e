// When method "auto" moves between its explicit pair and its stiff method (Solver calls it after
// every accepted step). Stiff means stability-limited: an explicit method's step is capped at
// about boundary / rho(J) (ExplicitCoefficients::stability_boundary) whatever the tolerance, which near a
// minimum of g, where J = -Hess g spans lambda_max ... lambda_min, costs about
// lambda_max / lambda_min steps per e-fold of ||grad g||, and its error control holds ||grad g||
// at a floor of about lambda_max * tol.
//
// Explicit -> stiff, after kStiffChecks stability-limited steps in a row (h rho >= kSuspect *
// boundary; Hairer's DOPRI5 test uses 15 steps), if one of these holds:
//   - the span left is infinite (a run to t = inf that stops on gtol or an event);
//   - ||grad g|| has stalled above gtol: it fell by less than 2x over those steps;
//   - the explicit method's projected cost to the end of the span, stages * span left / h
//     evaluations, exceeds kProjectedStiffSteps steps of the stiff method (at the cost the caller
//     projects for one of its steps, in evaluations).
// Stiff -> explicit, after kNonstiffChecks stiff steps in a row with h rho < kBack * boundary: the
// explicit method could take the same steps stably, at a fraction of a linearly implicit step's
// cost. Each switch back doubles the stability-limited steps needed before the next switch to
// the stiff method, so the two cannot alternate at every opportunity.
// All decisions use counts and norms, never wall time: a run is reproducible bit for bit.
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>

namespace overflow {

class MethodSwitch {
 public:
  static constexpr int kStiffChecks = 15;
  static constexpr int kNonstiffResets = 6;  // non-stiff steps in a row that clear the count
  static constexpr double kSuspect = 0.8;
  static constexpr int kProjectedStiffSteps = 30;
  static constexpr int kNonstiffChecks = 3;
  static constexpr double kBack = 0.25;
  static constexpr int kMaxBackoff = 10;  // at most 15 * 2^10 stability-limited steps required
  static constexpr int kSparseCheck = 8;  // while not suspected, rho is estimated every 8th step
  static constexpr int kLimitedChecks = 8;

  void reset() { *this = MethodSwitch{}; }

  // Whether the explicit step just accepted should estimate rho (it costs one pass over the
  // stages): every step once stiffness is suspected, every kSparseCheck-th otherwise, and none for
  // a while after a switch was declined (each decline doubles that while). On large states
  // (`large`) every kSparseCheck-th step only: there the pass streams the stages from L3 again,
  // and estimating at every step cost problem (c) (67,584 weights) 15% of dop853's time.
  bool wants_estimate(bool large) {
    ++explicit_steps_;
    if (explicit_steps_ <= quiet_until_) return false;
    return (stiff_count_ > 0 && !large) || explicit_steps_ % kSparseCheck == 0;
  }

  // True while the explicit method's last estimates (at least kLimitedChecks in a row) found its
  // steps at the stability limit: the flow is stiff there.
  bool stability_limited() const { return limited_streak_ >= kLimitedChecks; }

  struct ExplicitStep {
    double h, rho;           // rho NaN: not estimated at this step
    double boundary;         // ExplicitCoefficients::stability_boundary
    double span_left;        // t_bound - t (may be infinite)
    double grad_norm, gtol;  // gtol 0: none
    double stages;           // evaluations per explicit step
    double stiff_step_cost;  // projected evaluations per stiff step
  };

  // After an accepted explicit step: true to continue with the stiff method.
  bool to_stiff(const ExplicitStep& s) {
    if (std::isnan(s.rho)) return false;
    if (s.h * s.rho >= kSuspect * s.boundary) {
      if (stiff_count_ == 0) grad_at_start_ = s.grad_norm;
      nonstiff_count_ = 0;
      ++limited_streak_;
      if (++stiff_count_ < (kStiffChecks << std::min(backoff_, kMaxBackoff))) return false;
      const bool stalled = s.gtol > 0 && s.grad_norm > s.gtol && s.grad_norm > 0.5 * grad_at_start_;
      const bool cheaper =
          std::isinf(s.span_left) || s.stages * s.span_left / s.h > kProjectedStiffSteps * s.stiff_step_cost;
      stiff_count_ = 0;
      if (stalled || cheaper) return true;
      quiet_until_ = explicit_steps_ + (static_cast<long long>(kStiffChecks) << std::min(declined_++, kMaxBackoff));
      return false;
    }
    limited_streak_ = 0;
    if (++nonstiff_count_ >= kNonstiffResets) stiff_count_ = 0;
    return false;
  }

  // After an accepted stiff step with the spectral radius rho at its end: true to go back to the
  // explicit method.
  bool to_nonstiff(double h, double rho, double boundary) {
    if (h * rho < kBack * boundary) {
      if (++nonstiff_count_ >= kNonstiffChecks) {
        ++backoff_;  // switched() clears the counts
        return true;
      }
    } else {
      nonstiff_count_ = 0;
    }
    return false;
  }

  // After a switch in either direction: the counts start again.
  void switched() {
    stiff_count_ = nonstiff_count_ = limited_streak_ = declined_ = 0;
    explicit_steps_ = quiet_until_ = 0;
  }

 private:
  int stiff_count_ = 0, nonstiff_count_ = 0, backoff_ = 0, limited_streak_ = 0, declined_ = 0;
  long long explicit_steps_ = 0, quiet_until_ = 0;
  double grad_at_start_ = std::numeric_limits<double>::infinity();
};

}  // namespace overflow
