// f(P) = 1/2 ||P - T||_F^2 written in plain C++ behind the cost ABI, for the core's own tests.
#pragma once
#include <cstdint>

inline double quadratic_cost(const double* P, std::int64_t m, std::int64_t n, double* grad, void* data) {
  const double* target = static_cast<const double*>(data);
  double value = 0.0;
  for (std::int64_t i = 0; i < m * n; ++i) {
    grad[i] = P[i] - target[i];
    value += 0.5 * grad[i] * grad[i];
  }
  return value;
}
