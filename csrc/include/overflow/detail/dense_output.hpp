// Dense output inside the last step: y(t + theta h) = y + h sum_i b_i(theta) K_i (ExplicitCoefficients::dense).
#pragma once
#include <cstddef>

#include "overflow/detail/explicit_rk.hpp"
#include "overflow/detail/linear_combination.hpp"

namespace overflow {

// The stepper's slots must hold the last step's stages, f(t + h, y_new) and (for interpolants
// that need them) the extra stages from prepare_dense.
inline void dense_output(const ExplicitRK& rk, const double* y, double h, double theta, double* out) {
  const int slots = rk.tableau().slots();
  const ExplicitCoefficients& x = rk.tableau().explicit_rk;
  double weights[detail::kMaxFusedTerms] = {};
  for (int i = 0; i < slots; ++i) {
    double acc = 0.0;
    for (int p = x.dense_degree - 1; p >= 0; --p) acc = acc * theta + x.dense[i * x.dense_degree + p];
    weights[i] = acc * theta;
  }
  const detail::Terms terms = detail::Terms::from_row(weights, slots);
  detail::combine(out, y, h, terms, rk.slots(), 0, rk.dim());
}

}  // namespace overflow
