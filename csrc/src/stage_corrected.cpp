// The RHS at a factored stage input (Flow::rhs_factored), instantiated in its own unit: see
// FlowKernels::rhs_corrected.
#include "flow_kernels.hpp"
#include "small_n.hpp"

namespace overflow::detail {

Flow::RhsKernel corrected_flow_kernel(std::int64_t n) {
  return with_small_n(n, [](auto ns) -> Flow::RhsKernel { return &FlowKernels<decltype(ns)::value>::rhs_corrected; });
}

}  // namespace overflow::detail
