// Built-in costs written in C++ with the same `data` layout as the Numba kernels of overflow.costs.
// They are the baseline that measures what calling a cost through a Numba cfunc pointer costs,
// and ready-made costs for programs that embed the core.
#pragma once
#include <cstdint>

namespace overflow {

// f(P) = 1/2 ||P - T||_F^2 with data = [m, n, T (row-major)]; NaN if (m, n) disagree with data.
double matrix_factorization_cost(const double* P, std::int64_t m, std::int64_t n, double* grad, void* data);

}  // namespace overflow
