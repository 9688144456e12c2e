// The local error test's tolerances, one object from the solver to every stepper.
#pragma once
#include <cstddef>

namespace overflow {

// Component i of an error estimate e counts as e_i / (atol + rtol_i |y_i|) (|y_i| the larger of
// the step's two ends); rtol_i = rtol unless per-component values are given (solve_ivp's array
// rtol). `rtol` is then their smallest, the one number a method's other tests (Newton, Krylov) use.
struct Tolerance {
  double rtol = 1e-6;
  double atol = 1e-9;
  const double* rtol_components = nullptr;  // dim entries, or null (not owned)

  double rtol_at(std::size_t i) const { return rtol_components ? rtol_components[i] : rtol; }
  double weight(std::size_t i, double magnitude) const { return atol + rtol_at(i) * magnitude; }
};

}  // namespace overflow
