// Any ODE dy/dt = f(t, y) given as a C function pointer, a System (system.hpp) integrated by the same steppers as the
// flow.
#pragma once
#include <cstddef>

#include "overflow/overflow.h"

namespace overflow {

class GenericSystem {
 public:
  GenericSystem(of_rhs_fn rhs, void* data, std::size_t dim) : rhs_(rhs), data_(data), dim_(dim) {}
  std::size_t dim() const { return dim_; }
  // The monitor of a generic ODE is 0: there is no loss; non-finite dy rejects the step instead.
  double eval(double t, const double* y, double* dy) {
    rhs_(t, y, dy, data_);
    return 0.0;
  }

 private:
  of_rhs_fn rhs_;
  void* data_;
  std::size_t dim_;
};

}  // namespace overflow
