// PI step-size controller (Hairer, Norsett & Wanner I, section II.4; Gustafsson's PI form).
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

class PIController {
 public:
  PIController(int error_order, ControllerOptions opt = {})
      : opt_(opt),
        beta2_(opt.beta2_scale / (error_order + 1)),
        beta1_(1.0 / (error_order + 1) - 0.75 * opt.beta2_scale / (error_order + 1)),
        reject_exponent_(1.0 / (error_order + 1)) {}

  // Factor for the next step after a step with error norm err <= 1 was accepted.
  double accept(double err) {
    double f = opt_.max_factor;
    if (err > 0.0) f = opt_.safety * std::pow(err, -beta1_) * std::pow(err_prev_, beta2_);
    f = std::clamp(f, opt_.min_factor, opt_.max_factor);
    if (rejected_last_) f = std::min(f, 1.0);
    rejected_last_ = false;
    err_prev_ = std::max(err, 1e-4);
    return f;
  }

  // Factor `factor` after an attempt whose solve failed before its error was known (StepAttempt::
  // retry_factor): the step that follows is not allowed to grow, as after a rejection.
  double retry(double factor) {
    rejected_last_ = true;
    return std::clamp(factor, opt_.min_factor, 1.0);
  }

  // Factor after a rejected step (err > 1, or not finite).
  double reject(double err) {
    rejected_last_ = true;
    if (!std::isfinite(err)) return opt_.min_factor;
    return std::max(opt_.min_factor, opt_.safety * std::pow(err, -reject_exponent_));
  }

 private:
  ControllerOptions opt_;
  double beta2_, beta1_, reject_exponent_;
  double err_prev_ = 1e-4;
  bool rejected_last_ = false;
};

}  // namespace overflow
