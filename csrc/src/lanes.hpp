// One row of NS doubles as a GCC/Clang vector (a register for NS <= 8 with AVX-512), for the
// kernels specialised on the small dimension n; is_vector_width says for which NS.
#pragma once
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

}  // namespace overflow::detail
