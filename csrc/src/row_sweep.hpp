// The flow's RHS swept along the output dimension m, for networks with m < n (internal header).
#pragma once
#include <cstdint>

#include "overflow/network.hpp"

namespace overflow::detail {

// Sets the kernels of the m-sweep: suffixes W_N...W_l first, then one sweep from the input side.
// Each product then has the small m as one dimension: O(N k^2 m + k m n) per evaluation.
void select_row_sweep(std::int64_t m, Flow::RhsKernel& rhs, Flow::ProductKernel& product);

}  // namespace overflow::detail
