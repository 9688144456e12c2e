// Dense output recorded as data: each accepted step's interpolant (a polynomial of degree d in theta, d the
// method's dense_order) stored by its values at the d + 1 Chebyshev-Lobatto points theta_k = (1 - cos(k pi / d)) / 2,
// from which any polynomial of degree <= d is recovered exactly (barycentric interpolation, well conditioned at
// these points). Python's dense output of a whole run reads these (integrate.hpp's IntegrateOptions::record_dense).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "overflow/solver.hpp"
#include "overflow/tableau.hpp"

namespace overflow {

// One run's interpolants: t (steps + 1 times: the start, then each step's end) and nodes (steps x (degree + 1) x
// dim, row-major).
struct DenseRecord {
  int degree = 0;
  std::vector<double> t, nodes;
};

inline double lobatto_theta(int k, int degree) {
  constexpr double kPi = 3.141592653589793238462643383279502884;
  return degree == 0 ? 0.0 : 0.5 * (1.0 - std::cos(kPi * k / degree));
}

// The degree of the interpolants a run with this start method (and "auto"'s stiff one) produces.
inline int interpolant_degree(const Tableau& start, const Tableau* stiff) {
  auto degree = [](const Tableau& tab) { return std::max(tab.dense_order, tab.explicit_rk.dense_degree); };
  return stiff ? std::max(degree(start), degree(*stiff)) : degree(start);
}

// The last step's interpolant at the Lobatto points of [t_prev, t_end] (t_end <= t: a run stopped inside the step),
// (degree + 1) x dim into out. Needs the solver's dense output prepared (prepare_dense).
template <class System>
void step_nodes(const Solver<System>& solver, double t_end, int degree, double* out) {
  const std::size_t n = solver.dim();
  const double fraction = t_end == solver.t() ? 1.0 : (t_end - solver.t_prev()) / solver.h_last();
  std::copy(solver.y_prev(), solver.y_prev() + n, out);
  for (int k = 1; k <= degree; ++k) {
    double* node = out + static_cast<std::size_t>(k) * n;
    if (k == degree && fraction == 1.0) {
      std::copy(solver.y(), solver.y() + n, node);
    } else {
      solver.dense_theta(fraction * lobatto_theta(k, degree), node);
    }
  }
}

// Appends the last step, ending at t_end, to the record. Out of line: the integration loop calls it only for a
// recorded run, and a loop that stays small runs the other runs faster.
template <class System>
#if defined(__GNUC__)
__attribute__((noinline))
#endif
void record_step(const Solver<System>& solver, double t_end, DenseRecord& record) {
  const std::size_t n = solver.dim(), size = record.nodes.size();
  record.t.push_back(t_end);
  record.nodes.resize(size + static_cast<std::size_t>(record.degree + 1) * n);
  step_nodes(solver, t_end, record.degree, record.nodes.data() + size);
}

}  // namespace overflow
