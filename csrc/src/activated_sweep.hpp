// The RHS of a network with an activation between layers (internal header).
#pragma once

#include "overflow/network.hpp"

namespace overflow::detail {

// Forward pass storing every hidden layer's pre-activation A_i = W_i H_{i-1} (H_{-1} = I) and
// output H_i = sigma(A_i); backward pass Z_{i-1} = (W_i^T Z_i) * sigma'(A_{i-1}), dW_i = -Z_i H_{i-1}^T.
// O(N k^2 n) like the linear sweep, with run-time n (activated networks are small here).
void select_activated_sweep(Activation activation, Flow::RhsKernel& rhs, Flow::ProductKernel& product);

}  // namespace overflow::detail
