// The small dimension n (the product's columns, flow_kernels.hpp) as a compile-time constant: the
// one table of the sizes whose kernels are specialised, for the RHS (network.cpp), the RHS at a
// factored stage input (stage_corrected.cpp) and the Jacobian-vector product (flow_jvp.cpp).
#pragma once
#include <cstdint>
#include <type_traits>

namespace overflow::detail {

template <int... Sizes>
struct SizeList {};

// n = 1..8 each specialised (NS = n), larger n at run time (NS = 0). With n known the loops over n
// unroll and n = 2, 4, 8 run as one vector per row (lanes.hpp): about 2x on the jvp at n = 6, 6x on
// the products at n = 8. The RHS had 1-4, 6, 8 and the jvp 1..8; 5 and 7 for all took the RHS at
// n = 5 from 29 to 16 us (depth 3, width 64) for 1.9 s more compile CPU (network.cpp 3.3 -> 3.9 s,
// stage_corrected.cpp 4.2 -> 5.5 s) and 90 KB of code, and no n is slower than before.
using SmallSizes = SizeList<1, 2, 3, 4, 5, 6, 7, 8>;

template <class F>
decltype(auto) with_small_n_from(std::int64_t, F&& f, SizeList<>) {
  return f(std::integral_constant<int, 0>{});
}

template <class F, int First, int... Rest>
decltype(auto) with_small_n_from(std::int64_t n, F&& f, SizeList<First, Rest...>) {
  if (n == First) return f(std::integral_constant<int, First>{});
  return with_small_n_from(n, f, SizeList<Rest...>{});
}

// f(std::integral_constant<int, NS>{}) with NS = n where n is in SmallSizes, else NS = 0; f's
// result for every NS must have one type.
template <class F>
decltype(auto) with_small_n(std::int64_t n, F&& f) {
  return with_small_n_from(n, f, SmallSizes{});
}

}  // namespace overflow::detail
