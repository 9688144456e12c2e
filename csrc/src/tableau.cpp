#include "overflow/tableau.hpp"

#include <cmath>

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

Tableau with_stiffness_properties(Tableau tab) {
  tab.stability_boundary = real_stability_boundary(tab);
  if (!tab.implicit())
    for (int p = tab.stages - 1; p >= 1 && tab.stiffness_stage < 0; --p)
      if (tab.c[static_cast<std::size_t>(p)] == 1.0) tab.stiffness_stage = p;
  return tab;
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

const Tableau& tableau(Method method) {
  static const Tableau bs3 = detail::with_stiffness_properties(detail::make_bs3());
  static const Tableau dopri5 = detail::with_stiffness_properties(detail::make_dopri5());
  static const Tableau tsit5 = detail::with_stiffness_properties(detail::make_tsit5());
  static const Tableau dop853 = detail::with_stiffness_properties(detail::make_dop853());
  static const Tableau gauss4 = detail::make_gauss(2);
  static const Tableau gauss6 = detail::make_gauss(3);
  static const Tableau rodas4 = detail::make_rodas4();
  switch (method) {
    case Method::bs3: return bs3;
    case Method::dopri5: return dopri5;
    case Method::tsit5: return tsit5;
    case Method::dop853: return dop853;
    case Method::gauss4: return gauss4;
    case Method::gauss6: return gauss6;
    case Method::rodas4: return rodas4;
  }
  return dopri5;
}

bool parse_method(const std::string& name, Method& out) {
  if (name == "bs3") out = Method::bs3;
  else if (name == "dopri5") out = Method::dopri5;
  else if (name == "tsit5") out = Method::tsit5;
  else if (name == "dop853") out = Method::dop853;
  else if (name == "gauss4") out = Method::gauss4;
  else if (name == "gauss6") out = Method::gauss6;
  else if (name == "rodas4") out = Method::rodas4;
  else return false;
  return true;
}

bool parse_method_choice(const std::string& name, MethodChoice& out) {
  if (name == "auto") {
    out = MethodChoice{&tableau(kAutoMethod.nonstiff), &tableau(kAutoMethod.stiff)};
    return true;
  }
  Method m;
  if (!parse_method(name, m)) return false;
  out = MethodChoice{&tableau(m), nullptr};
  return true;
}

std::vector<std::string> method_names() { return {"bs3", "dopri5", "tsit5", "dop853"}; }

std::vector<std::string> implicit_method_names() { return {"gauss4", "gauss6", "rodas4"}; }

}  // namespace overflow
