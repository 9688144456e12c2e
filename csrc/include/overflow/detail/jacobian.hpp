// The dense Jacobian of a system that provides Jacobian-vector products (the gradient flow does,
// exactly, through the cost's Hessian-vector product), for the implicit steppers.
#pragma once
#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <utility>
#include <vector>

namespace overflow::detail {

// J (dim x dim, column-major) at (t, y), one product J e_j per column; `unit` is scratch of dim.
template <class System>
void assemble_jacobian(System& sys, double t, const double* y, std::size_t dim, double* J, std::vector<double>& unit) {
  unit.assign(dim, 0.0);
  for (std::size_t j = 0; j < dim; ++j) {
    unit[j] = 1.0;
    sys.jvp(t, y, unit.data(), J + j * dim);
    unit[j] = 0.0;
  }
}

}  // namespace overflow::detail
