// The cost ABI: the one contract between the Numba kernels and the C++ core (overflow.h documents it for C callers).
#pragma once
#include <cstdint>

#include "overflow/overflow.h"

namespace overflow {

// A cost f : R^{m x n} -> R called through plain function pointers. `data` is owned by the
// caller (a float64 parameter array on the Python side) and must outlive every call.
struct Cost {
  of_value_and_grad_fn value_and_grad = nullptr;
  of_hvp_fn hvp = nullptr;  // optional
  void* data = nullptr;
  std::int64_t m = 0;
  std::int64_t n = 0;
};

}  // namespace overflow
