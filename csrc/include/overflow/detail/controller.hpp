// Step-size control. The PI controller (Hairer, Norsett & Wanner I, section II.4; Gustafsson's PI
// form) serves the explicit pairs, Gauss-Legendre and Rosenbrock. radau5 takes the predictive
// controller of radau5.f (Gustafsson's, Hairer & Wanner II, section IV.8) with the constants of
// scipy's Radau, the same method under the name solve_ivp maps to it: on stiff problems the error
// estimate jumps with the Newton iterate, and predicting from the last two accepted steps keeps
// the rejections down; its safety factor shrinks with the Newton iterations the step took, and the
// step size is held where no more than a small increase is proposed, so that the method's Jacobian
// and factorisations serve the next step too.
#pragma once
#include <algorithm>
#include <cmath>

namespace overflow {

struct ControllerOptions {
  double safety = 0.9;
  double min_factor = 0.2;
  double max_factor = 10.0;
  // Integral gain beta1 = 1/(q+1) - 0.75 beta2 and proportional gain beta2 = 0.2/(q+1): for a
  // 4th-order estimate this is DOPRI5's beta = 0.04 stabilisation.
  double beta2_scale = 0.2;
};

// What an accepted attempt tells the controller besides its error norm.
struct AcceptedAttempt {
  double error = 0.0;
  double h = 0.0;
  int newton_iterations = 0;   // the Newton solve's (predictive control), 0 for other methods
  bool reuses_matrix = false;  // the stepper will reuse its factorised matrix if h stays
};

class StepController {
 public:
  enum class Kind { pi, predictive };

  // The predictive controller's constants, scipy Radau's: the iteration limit its safety factor
  // counts from, and holding h (and the LU) for every factor below 1.2 while the stepper can reuse
  // its matrix (radau5.f holds only [1, 1.2]: about twice the LUs on Van der Pol).
  static constexpr int kNewtonLimit = 6;
  static constexpr double kHoldBelow = 1.2;

  StepController(int error_order, Kind kind = Kind::pi, ControllerOptions opt = {})
      : opt_(opt),
        kind_(kind),
        beta2_(opt.beta2_scale / (error_order + 1)),
        beta1_(1.0 / (error_order + 1) - 0.75 * opt.beta2_scale / (error_order + 1)),
        exponent_(1.0 / (error_order + 1)) {}

  // Factor for the next step after a step with error norm a.error <= 1 was accepted.
  double accept(const AcceptedAttempt& a) {
    const double err = a.error;
    double f = opt_.max_factor;
    if (kind_ == Kind::pi) {
      if (err > 0.0) f = opt_.safety * std::pow(err, -beta1_) * std::pow(err_prev_, beta2_);
      f = std::clamp(f, opt_.min_factor, opt_.max_factor);
      if (rejected_last_) f = std::min(f, 1.0);
      err_prev_ = std::max(err, 1e-4);
    } else {
      const double e = std::max(err, 1e-10);
      const double e_pow = std::pow(e, -exponent_);  // one pow per step: the predictive factor reuses it
      f = newton_safety(a.newton_iterations) * e_pow;
      // Gustafsson: the error's change over the last step predicts the next one; the factor is
      // (h / h_prev) (err_prev / e)^exponent at most 1, times the plain one (err_prev_pow_ holds
      // err_prev^exponent).
      if (h_prev_ > 0.0) f *= std::min(1.0, (a.h / h_prev_) * err_prev_pow_ * e_pow);
      f = std::clamp(f, opt_.min_factor, opt_.max_factor);
      if (rejected_last_) f = std::min(f, 1.0);
      if (a.reuses_matrix && f <= kHoldBelow) f = 1.0;
      h_prev_ = a.h;
      err_prev_pow_ = 1.0 / e_pow;
    }
    rejected_last_ = false;
    return f;
  }

  // Factor after a rejected step (err > 1, or not finite) that took newton_iterations.
  double reject(double err, int newton_iterations = 0) {
    rejected_last_ = true;
    if (!std::isfinite(err)) return opt_.min_factor;
    const double safety = kind_ == Kind::pi ? opt_.safety : newton_safety(newton_iterations);
    return std::max(opt_.min_factor, safety * std::pow(err, -exponent_));
  }

  // Factor `factor` after an attempt whose solve failed before its error was known (StepAttempt::
  // retry_factor): the step that follows is not allowed to grow, as after a rejection.
  double retry(double factor) {
    rejected_last_ = true;
    return std::clamp(factor, opt_.min_factor, 1.0);
  }

 private:
  // radau5.f's FAC: the safety factor times (2 N + 1) / (2 N + iterations), N = kNewtonLimit.
  double newton_safety(int iterations) const {
    return opt_.safety * std::min(1.0, (2.0 * kNewtonLimit + 1.0) / (2.0 * kNewtonLimit + iterations));
  }

  ControllerOptions opt_;
  Kind kind_;
  double beta2_, beta1_, exponent_;
  double err_prev_ = 1e-4;
  double err_prev_pow_ = 1.0;  // predictive: the last accepted error norm to the power exponent_
  double h_prev_ = 0.0;        // predictive: the last accepted step's size (0: none yet)
  bool rejected_last_ = false;
};

}  // namespace overflow
