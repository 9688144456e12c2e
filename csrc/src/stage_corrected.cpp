// The RHS at a factored stage input (Flow::rhs_factored), instantiated in its own unit: see
// FlowKernels::rhs_corrected.
#include "flow_kernels.hpp"

namespace overflow::detail {

Flow::RhsKernel corrected_flow_kernel(std::int64_t n) {
  switch (n) {
    case 1: return &FlowKernels<1>::rhs_corrected;
    case 2: return &FlowKernels<2>::rhs_corrected;
    case 3: return &FlowKernels<3>::rhs_corrected;
    case 4: return &FlowKernels<4>::rhs_corrected;
    case 6: return &FlowKernels<6>::rhs_corrected;
    case 8: return &FlowKernels<8>::rhs_corrected;
    default: return &FlowKernels<0>::rhs_corrected;
  }
}

}  // namespace overflow::detail
