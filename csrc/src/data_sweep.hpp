// The right-hand side of a network with an activation between layers, on data or on the identity input (internal
// header).
#pragma once

#include "overflow/network.hpp"

namespace overflow::detail {

// Forward: A_i = W_i H_{i-1} + b_i 1^T, H_i = sigma(A_i) with H_0 = X (n x s; the identity input:
// X = I_n, the first product is a copy of W_1), Yhat = A_N. Backward: Z_N = grad f(Yhat),
// dW_i = -Z_i H_{i-1}^T, db_i = -Z_i 1, Z_{i-1} = (W_i^T Z_i) * sigma'(A_{i-1}). The products are
// Eigen GEMMs over the row-major buffers, O(N k^2 s) work, split across the workspace's team by output rows
// or sample columns (the same bits for any team size); the activation loops are elementwise and vectorised.
void select_data_sweep(Activation activation, Flow::RhsKernel& rhs, Flow::ProductKernel& product);

}  // namespace overflow::detail
