#include "overflow/reference_costs.hpp"

#include <limits>

namespace overflow {

double matrix_factorization_cost(const double* P, std::int64_t m, std::int64_t n, double* grad, void* data) {
  const double* d = static_cast<const double*>(data);
  if (d[0] != static_cast<double>(m) || d[1] != static_cast<double>(n)) return std::numeric_limits<double>::quiet_NaN();
  const double* target = d + 2;
  double value = 0.0;
  for (std::int64_t i = 0; i < m * n; ++i) {
    grad[i] = P[i] - target[i];
    value += grad[i] * grad[i];
  }
  return 0.5 * value;
}

}  // namespace overflow
