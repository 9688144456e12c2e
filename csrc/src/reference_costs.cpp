#include "reference_costs.hpp"

#include <limits>

namespace overflow {

double matrix_factorization_cost(const double* P, std::int64_t m, std::int64_t n, double* grad, void* data) {
  const double* d = static_cast<const double*>(data);
  if (d[0] != static_cast<double>(m) || d[1] != static_cast<double>(n)) return std::numeric_limits<double>::quiet_NaN();
  const double* target = d + 2;
  const std::int64_t size = m * n;
  // Four partial sums, as in the Numba kernel: one accumulator is a chain of dependent adds.
  double a[4] = {0.0, 0.0, 0.0, 0.0};
  std::int64_t i = 0;
  for (; i + 4 <= size; i += 4)
    for (int q = 0; q < 4; ++q) {
      grad[i + q] = P[i + q] - target[i + q];
      a[q] += grad[i + q] * grad[i + q];
    }
  for (; i < size; ++i) {
    grad[i] = P[i] - target[i];
    a[0] += grad[i] * grad[i];
  }
  return 0.5 * ((a[0] + a[1]) + (a[2] + a[3]));
}

}  // namespace overflow
