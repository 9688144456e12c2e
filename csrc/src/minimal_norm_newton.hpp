// Gauss-Newton onto a set of constraints {c(y) = c0} with the minimal-norm correction (the
// pseudo-inverse of their Jacobian Jc applied to c(y) - c0), computed matrix-free by CGLS; a step
// that does not reduce the residual is undone (internal header). The projections onto the C_i
// (invariant_projection.cpp) and onto the per-neuron invariants (neuron_projection.cpp) differ only
// in their constraints.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "overflow/detail/invariant_projection.hpp"
#include "overflow/network.hpp"

namespace overflow::detail {

inline double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Constraints{net, y} gives residual(c0) = c(y) - c0 (a Residual r, with r[i] -= a * t[i]),
// apply(D) = Jc D and transpose_apply(r) = Jc^T r (state-sized), and the static reads of a Residual
// dot(a, b), max_abs(r) and entries(r). Moves y until max |c(y) - c0| <= target, at most max_newton
// Newton steps.
template <class Constraints>
ProjectionResult minimal_norm_newton(const Network& net, double* y, const double* c0, double target, int max_newton) {
  ProjectionResult result;
  const std::size_t n = net.state_size();
  const std::vector<double> start(y, y + n);
  std::vector<double> before = start;
  double previous = std::numeric_limits<double>::infinity();
  for (int it = 0; it < max_newton; ++it) {
    const Constraints c{net, y};
    const auto r = c.residual(c0);
    const double rmax = Constraints::max_abs(r);
    if (!(rmax < previous)) {  // Newton stopped helping (or the residual is not finite): undo that step
      if (it > 0) std::copy(before.begin(), before.end(), y);
      break;
    }
    result.residual = rmax;
    previous = rmax;
    if (rmax <= target) break;
    // CGLS: the minimal-norm least-squares x of Jc x = r, so that constraints that are dependent
    // (C_i is k x k but may have rank 2, as in the vector case) or slightly inconsistent are fine.
    // Stop once the linearised residual's RMS entry is at the target (what this Newton step needs),
    // or the normal equations are solved to 1e-12 (no lower residual exists).
    std::vector<double> x(n, 0.0), p = c.transpose_apply(r), q = p;
    auto s = r;
    double gamma = dot(q, q);
    const double target_sq = target * target * Constraints::entries(r), stop = gamma * 1e-24;
    for (int k = 0; k < 500 && gamma > stop && Constraints::dot(s, s) > target_sq; ++k) {
      const auto t = c.apply(p);
      const double tt = Constraints::dot(t, t);
      if (!(tt > 0)) break;
      const double alpha = gamma / tt;
      for (std::size_t i = 0; i < n; ++i) x[i] += alpha * p[i];
      for (std::size_t i = 0; i < s.size(); ++i) s[i] -= alpha * t[i];
      q = c.transpose_apply(s);
      const double gamma_new = dot(q, q);
      for (std::size_t i = 0; i < n; ++i) p[i] = q[i] + (gamma_new / gamma) * p[i];
      gamma = gamma_new;
      ++result.cg_iterations;
    }
    before.assign(y, y + n);
    for (std::size_t i = 0; i < n; ++i) y[i] -= x[i];
    ++result.newton_iterations;
  }
  double size = 0.0;
  for (std::size_t i = 0; i < n; ++i) size = std::max(size, std::fabs(y[i] - start[i]));
  result.size = size;
  return result;
}

}  // namespace overflow::detail
