// Projection onto the invariant set {C_i = C_i(0)} (invariant_projection.cpp), the optional
// post-step correction of the explicit methods (StepOptions::project).
#pragma once
#include "overflow/network.hpp"

namespace overflow {

struct ProjectionResult {
  double size = 0.0;      // max |correction| over the state's entries
  double residual = 0.0;  // max |C_i - C_i(0)| before the last Newton step
  int newton_iterations = 0, cg_iterations = 0;
};

// Moves y (in place, by the minimal-norm Newton correction) until max |C_i(y) - C0| <= tolerance *
// max(1, max |C0|, max |y|^2), at most max_newton steps. C0 as `invariants` writes it.
ProjectionResult project_onto_invariants(const Network& net, double* y, const double* C0, double tolerance = 1e-15,
                                         int max_newton = 3);

}  // namespace overflow
