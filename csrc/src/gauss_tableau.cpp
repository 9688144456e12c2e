// Gauss-Legendre collocation tableaux (Hairer, Lubich & Wanner, Geometric Numerical Integration,
// section II.1.3): nodes at the Gauss points of [0, 1], order 2s, A-stable and symplectic; they
// conserve every quadratic invariant, which is what the flow's C_i are.
#include <cmath>
#include <stdexcept>

#include "overflow/tableau.hpp"

namespace overflow::detail {

Tableau make_gauss(int stages) {
  Tableau t;
  t.scheme = Tableau::Scheme::gauss;
  t.stages = stages;
  t.order = 2 * stages;
  // Step doubling estimates the error (gauss_legendre.hpp): it behaves like h^(order + 1).
  t.error_order = t.order;
  t.control_order = t.order;
  t.dense_order = 5;  // quintic Hermite through the step's start, middle and end
  if (stages == 2) {
    const double r = std::sqrt(3.0) / 6.0;
    t.name = "gauss4";
    t.c = {0.5 - r, 0.5 + r};
    t.a = {0.25, 0.25 - r, 0.25 + r, 0.25};
    t.b = {0.5, 0.5};
  } else if (stages == 3) {
    const double r = std::sqrt(15.0);
    t.name = "gauss6";
    t.c = {0.5 - r / 10.0, 0.5, 0.5 + r / 10.0};
    t.a = {5.0 / 36.0, 2.0 / 9.0 - r / 15.0, 5.0 / 36.0 - r / 30.0,
           5.0 / 36.0 + r / 24.0, 2.0 / 9.0, 5.0 / 36.0 - r / 24.0,
           5.0 / 36.0 + r / 30.0, 2.0 / 9.0 + r / 15.0, 5.0 / 36.0};
    t.b = {5.0 / 18.0, 4.0 / 9.0, 5.0 / 18.0};
  } else {
    throw std::invalid_argument("Gauss-Legendre tableaux are provided for 2 and 3 stages");
  }
  return t;
}

}  // namespace overflow::detail
