// f(P) = 1/2 ||P - T||_F^2 written in plain C++ behind the cost ABI, for the core's own tests.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "overflow/cost.hpp"

inline double quadratic_cost(const double* P, std::int64_t m, std::int64_t n, double* grad, void* data) {
  const double* target = static_cast<const double*>(data);
  double value = 0.0;
  for (std::int64_t i = 0; i < m * n; ++i) {
    grad[i] = P[i] - target[i];
    value += 0.5 * grad[i] * grad[i];
  }
  return value;
}

// Its Hessian is the identity: Hess f(P)[V] = V.
inline void quadratic_cost_hvp(const double*, const double* V, std::int64_t m, std::int64_t n, double* out, void*) {
  for (std::int64_t i = 0; i < m * n; ++i) out[i] = V[i];
}

// The cost above on a target (m x n, row-major) that must outlive the returned Cost.
inline overflow::Cost quadratic_cost_on(double* target, std::int64_t m, std::int64_t n) {
  overflow::Cost cost;
  cost.value_and_grad = &quadratic_cost;
  cost.hvp = &quadratic_cost_hvp;
  cost.data = target;
  cost.m = m;
  cost.n = n;
  return cost;
}

// n draws of dist (targets and states of the tests).
template <class Rng, class Dist>
std::vector<double> random_vector(std::size_t n, Rng& rng, Dist& dist) {
  std::vector<double> v(n);
  for (double& x : v) x = dist(rng);
  return v;
}
