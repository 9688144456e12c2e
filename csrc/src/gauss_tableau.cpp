// Gauss-Legendre collocation tableaux (Hairer, Lubich & Wanner, Geometric Numerical Integration,
// section II.1.3): nodes at the Gauss points of [0, 1], order 2s, A-stable and symplectic; they
// conserve every quadratic invariant, which is what the flow's C_i are. Exact in closed form: the
// only rounding is that of sqrt(3) and sqrt(15).
#include <cmath>

#include "overflow/tableau.hpp"

namespace overflow::detail {

Tableau make_gauss4() {
  const double r = std::sqrt(3.0) / 6.0;
  Tableau t;
  t.stages = 2;
  t.c = {0.5 - r, 0.5 + r};
  t.a = {0.25, 0.25 - r, 0.25 + r, 0.25};
  t.b = {0.5, 0.5};
  return t;
}

Tableau make_gauss6() {
  const double r = std::sqrt(15.0);
  Tableau t;
  t.stages = 3;
  t.c = {0.5 - r / 10.0, 0.5, 0.5 + r / 10.0};
  // clang-format off: one matrix row to a line
  t.a = {5.0 / 36.0, 2.0 / 9.0 - r / 15.0, 5.0 / 36.0 - r / 30.0,
         5.0 / 36.0 + r / 24.0, 2.0 / 9.0, 5.0 / 36.0 - r / 24.0,
         5.0 / 36.0 + r / 30.0, 2.0 / 9.0 + r / 15.0, 5.0 / 36.0};
  // clang-format on
  t.b = {5.0 / 18.0, 4.0 / 9.0, 5.0 / 18.0};
  return t;
}

}  // namespace overflow::detail
