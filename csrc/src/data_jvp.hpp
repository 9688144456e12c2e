// The exact Jacobian-vector product of the data sweep's flows (internal header): networks on data and
// activated networks on the identity input.
#pragma once

#include "overflow/network.hpp"

namespace overflow::detail {

// out = J(y) v for J the Jacobian of y -> -grad g(y) of a flow that runs through the data sweep
// (data_sweep.hpp), by forward-over-reverse: the tangent of the forward pass, the cost's hvp on the
// output's tangent, then the tangent of the backward pass. Returns g(y); the cost must have an hvp.
double data_jvp(const Flow& f, const double* y, const double* v, double* out, JvpWorkspace& ws);

}  // namespace overflow::detail
