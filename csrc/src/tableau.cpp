#include "overflow/tableau.hpp"

#include <cmath>

#include "overflow/overflow.h"

namespace overflow {

namespace detail {

namespace {

// R(z) = 1 + z b^T (I - z A)^{-1} 1 for a strictly lower triangular A (forward substitution).
double stability_function(const Tableau& tab, double z) {
  const int s = tab.stages;
  std::vector<double> g(static_cast<std::size_t>(s));
  double r = 1.0;
  for (int i = 0; i < s; ++i) {
    double acc = 1.0;
    for (int j = 0; j < i; ++j) acc += z * tab.a[static_cast<std::size_t>(i * s + j)] * g[static_cast<std::size_t>(j)];
    g[static_cast<std::size_t>(i)] = acc;
    r += z * tab.b[static_cast<std::size_t>(i)] * acc;
  }
  return r;
}

}  // namespace

double real_stability_boundary(const Tableau& tab) {
  if (tab.implicit()) return 0.0;
  // Walk left in steps of 0.01 until |R| > 1, then bisect the crossing.
  double lo = 0.0, hi = 0.0;
  for (int k = 1; k <= 5000; ++k) {
    hi = -0.01 * k;
    if (std::fabs(stability_function(tab, hi)) > 1.0) break;
    lo = hi;
  }
  for (int it = 0; it < 60; ++it) {
    const double mid = 0.5 * (lo + hi);
    (std::fabs(stability_function(tab, mid)) > 1.0 ? hi : lo) = mid;
  }
  return -lo;
}

}  // namespace detail

namespace {

// The method table. Each row's c_code is its enum of_method value; Method numbers the rows in order,
// as the C codes do but for OF_AUTO's 7, which radau5 (8) came after (asserted below).
constexpr std::array<MethodInfo, kMethodCount> kMethods{{
    // name, C ABI code, scheme, orders: solution, embedded estimate, step control, interpolant
    {Method::bs3, "bs3", OF_BS3, Scheme::explicit_rk, 3, 2, 2, 3, &detail::make_bs3},
    {Method::dopri5, "dopri5", OF_DOPRI5, Scheme::explicit_rk, 5, 4, 4, 4, &detail::make_dopri5},
    {Method::tsit5, "tsit5", OF_TSIT5, Scheme::explicit_rk, 5, 4, 4, 4, &detail::make_tsit5},
    // DOP853's blended estimate err5^2 / sqrt(err5^2 + 0.01 err3^2) scales like h^8: Hairer's
    // dop853.f steers it with exponent 1/8, i.e. as an order-7 estimate.
    {Method::dop853, "dop853", OF_DOP853, Scheme::explicit_rk, 8, 5, 7, 7, &detail::make_dop853},
    // Step doubling estimates the error (gauss_legendre.hpp): it behaves like h^(order + 1); the
    // interpolant is the quintic Hermite one through the step's start, middle and end.
    {Method::gauss4, "gauss4", OF_GAUSS4, Scheme::gauss, 4, 4, 4, 5, &detail::make_gauss4},
    {Method::gauss6, "gauss6", OF_GAUSS6, Scheme::gauss, 6, 6, 6, 5, &detail::make_gauss6},
    // Cubic Hermite interpolant through the step's ends.
    {Method::rodas4, "rodas4", OF_RODAS4, Scheme::rosenbrock, 4, 3, 3, 3, &detail::make_rodas4},
    // The embedded estimate is of order 3 (radau.hpp); the interpolant is the collocation polynomial.
    {Method::radau5, "radau5", OF_RADAU5, Scheme::radau, 5, 3, 3, 3, &detail::make_radau5},
}};

// Row i's C code: i for the first seven, one more after OF_AUTO's.
constexpr int c_code_of_row(int i) { return i < OF_AUTO ? i : i + 1; }

constexpr bool numbered_as_the_c_abi() {
  for (int i = 0; i < kMethodCount; ++i)
    if (static_cast<int>(kMethods[static_cast<std::size_t>(i)].method) != i ||
        kMethods[static_cast<std::size_t>(i)].c_code != c_code_of_row(i))
      return false;
  return true;
}
static_assert(numbered_as_the_c_abi(),
              "row i of the method table is Method i, with enum of_method code c_code_of_row(i)");
static_assert(OF_BS3 == 0 && OF_DOPRI5 == 1 && OF_TSIT5 == 2 && OF_DOP853 == 3 && OF_GAUSS4 == 4 && OF_GAUSS6 == 5 &&
                  OF_RODAS4 == 6 && OF_AUTO == 7 && OF_RADAU5 == 8,
              "the C ABI's method codes are public: they never change");
static_assert(kAutoMethod.c_code == OF_AUTO, "auto's C code");
static_assert(kMethods[static_cast<std::size_t>(kAutoMethod.nonstiff)].scheme == Scheme::explicit_rk &&
                  kMethods[static_cast<std::size_t>(kAutoMethod.stiff)].scheme == Scheme::rosenbrock,
              "auto switches from an explicit pair to a Rosenbrock method (solver.hpp)");

Tableau build(const MethodInfo& row) {
  Tableau tab = row.coefficients();
  tab.name = row.name;
  tab.scheme = row.scheme;
  tab.order = row.order;
  tab.error_order = row.error_order;
  tab.control_order = row.control_order;
  tab.dense_order = row.dense_order;
  if (!tab.implicit()) {
    ExplicitCoefficients& x = tab.explicit_rk;
    x.stability_boundary = detail::real_stability_boundary(tab);
    for (int p = tab.stages - 1; p >= 1 && x.stiffness_stage < 0; --p)
      if (tab.c[static_cast<std::size_t>(p)] == 1.0) x.stiffness_stage = p;
  }
  return tab;
}

}  // namespace

const std::array<MethodInfo, kMethodCount>& method_table() { return kMethods; }

const MethodInfo& method_info(Method method) { return kMethods[static_cast<std::size_t>(method)]; }

const char* scheme_name(Scheme scheme) {
  switch (scheme) {
    case Scheme::explicit_rk: return "explicit_rk";
    case Scheme::gauss: return "gauss";
    case Scheme::rosenbrock: return "rosenbrock";
    case Scheme::radau: return "radau";
  }
  return "";
}

const Tableau& tableau(Method method) {
  static const std::array<Tableau, kMethodCount> all = [] {
    std::array<Tableau, kMethodCount> out;
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = build(kMethods[i]);
    return out;
  }();
  return all[static_cast<std::size_t>(method)];
}

bool parse_method(const std::string& name, Method& out) {
  for (const MethodInfo& row : kMethods)
    if (name == row.name) {
      out = row.method;
      return true;
    }
  return false;
}

bool parse_method_choice(const std::string& name, MethodChoice& out) {
  if (name == kAutoMethod.name) return parse_method_choice(kAutoMethod.c_code, out);
  Method m;
  if (!parse_method(name, m)) return false;
  out = MethodChoice{&tableau(m), nullptr};
  return true;
}

bool parse_method_choice(int c_code, MethodChoice& out) {
  if (c_code == kAutoMethod.c_code) {
    out = MethodChoice{&tableau(kAutoMethod.nonstiff), &tableau(kAutoMethod.stiff)};
    return true;
  }
  for (const MethodInfo& row : kMethods)
    if (row.c_code == c_code) {
      out = MethodChoice{&tableau(row.method), nullptr};
      return true;
    }
  return false;
}

namespace {

std::vector<std::string> names_where(bool implicit) {
  std::vector<std::string> out;
  for (const MethodInfo& row : kMethods)
    if ((row.scheme != Scheme::explicit_rk) == implicit) out.emplace_back(row.name);
  return out;
}

}  // namespace

std::vector<std::string> method_names() { return names_where(false); }

std::vector<std::string> implicit_method_names() { return names_where(true); }

}  // namespace overflow
