/* f(P) = 1/2 ||P - T||_F^2 with T in data (m x n), behind the cost ABI of overflow.h: the C test
   programs' cost (quadratic_cost.hpp is the C++ programs'). */
#ifndef OVERFLOW_TESTS_QUADRATIC_COST_H
#define OVERFLOW_TESTS_QUADRATIC_COST_H
#include <stdint.h>

static inline double quadratic(const double* P, int64_t m, int64_t n, double* grad, void* data) {
  const double* T = (const double*)data;
  double v = 0.0;
  for (int64_t i = 0; i < m * n; ++i) {
    grad[i] = P[i] - T[i];
    v += 0.5 * grad[i] * grad[i];
  }
  return v;
}

/* Hess f(P)[V] = V. */
static inline void quadratic_hvp(const double* P, const double* V, int64_t m, int64_t n, double* out, void* data) {
  (void)P;
  (void)data;
  for (int64_t i = 0; i < m * n; ++i) out[i] = V[i];
}

#endif
