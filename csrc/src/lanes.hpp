// Building blocks of the flow kernels (flow_kernels.hpp, row_sweep.cpp): one
// row of NS doubles as a GCC/Clang vector (a register for NS <= 8 with AVX-512; is_vector_width
// says for which NS), dot products, and the plain row-major product.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>

namespace overflow::detail {

constexpr bool is_vector_width(int ns) { return ns == 2 || ns == 4 || ns == 8; }

template <int NS>
struct Lanes {
  typedef double type __attribute__((vector_size(NS * sizeof(double))));
  static type load(const double* p) {
    type v;
    std::memcpy(&v, p, sizeof(v));
    return v;
  }
  static void store(double* p, type v) { std::memcpy(p, &v, sizeof(v)); }
};

// sum_k a[k] b[k] with four-lane partial sums: n = 1 (the vector case) turns the forward product
// into dot products, whose single accumulator chain was 5x slower than this.
inline double dot(const double* __restrict a, const double* __restrict b, std::int64_t c) {
  typedef double V4 __attribute__((vector_size(4 * sizeof(double))));
  V4 p0{}, p1{};
  std::int64_t k = 0;
  for (; k + 8 <= c; k += 8) {
    V4 x0, y0, x1, y1;
    std::memcpy(&x0, a + k, sizeof(V4));
    std::memcpy(&y0, b + k, sizeof(V4));
    std::memcpy(&x1, a + k + 4, sizeof(V4));
    std::memcpy(&y1, b + k + 4, sizeof(V4));
    p0 += x0 * y0;
    p1 += x1 * y1;
  }
  p0 += p1;
  double s = (p0[0] + p0[1]) + (p0[2] + p0[3]);
  for (; k < c; ++k) s += a[k] * b[k];
  return s;
}

// C (r x n) = A (r x c) * B (c x n), all row-major: the loops for an n without a vector kernel.
inline void multiply(const double* A, const double* B, double* C, std::int64_t r, std::int64_t c, std::int64_t n) {
  for (std::int64_t i = 0; i < r; ++i) {
    double* ci = C + i * n;
    std::fill(ci, ci + n, 0.0);
    for (std::int64_t k = 0; k < c; ++k) {
      const double a = A[i * c + k];
      const double* b = B + k * n;
      for (std::int64_t j = 0; j < n; ++j) ci[j] += a * b[j];
    }
  }
}

}  // namespace overflow::detail
