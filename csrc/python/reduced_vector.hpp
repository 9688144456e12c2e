// The vector case's exact reduction (paper, section 3): with N = 2, m = n = 1 and imbalance c, the
// product obeys dz/dt = -f'(z) sqrt(c + 4 z^2) (eq. 19). Integrating (z, F) with dF/dt = f'(z)
// is enough to rebuild the weights from u = w_1 - s w_2^T, v = w_1 + s w_2^T, which evolve as
// u(t) = u(0) e^{s F(t)}, v(t) = v(0) e^{-s F(t)}: a width-independent cost.
#pragma once
#include <cmath>
#include <cstddef>

#include "overflow/cost.hpp"

namespace overflow {

class ReducedVectorSystem {
 public:
  ReducedVectorSystem(const Cost& cost, double imbalance) : cost_(cost), c_(imbalance) {}
  std::size_t dim() const { return 2; }

  // y = (z, F); returns the loss f(z), non-finite outside the cost's domain.
  double eval(double /*t*/, const double* y, double* dy) {
    double g = 0.0;
    const double value = cost_.value_and_grad(&y[0], 1, 1, &g, cost_.data);
    dy[0] = -g * std::sqrt(c_ + 4.0 * y[0] * y[0]);
    dy[1] = g;
    return value;
  }

  // ||grad g|| of the full network: |f'(z)| sqrt(||w_1||^2 + ||w_2||^2) = |f'(z)| (c + 4 z^2)^{1/4}.
  double gradient_norm(const double* y, const double* dy) const {
    return std::fabs(dy[1]) * std::sqrt(std::sqrt(c_ + 4.0 * y[0] * y[0]));
  }

 private:
  Cost cost_;
  double c_;
};

}  // namespace overflow
