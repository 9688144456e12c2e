// The branch-free tanh and exp(-a) (branch_free_math.hpp) and the logistic built on the latter, against
// libm (and the logistic against long double) on dense grids: within 8 ulp (measured: tanh 3, 4 near 0; exp
// and the logistic 1 and 2; libm's own are within 1), and the ends (0, -0, infinities, NaN, past e^-708) as
// documented.
#include <cmath>
#include <cstdio>
#include <limits>

#include "activation_functions.hpp"
#include "check.hpp"

namespace {

using overflow::detail::branch_free_exp_minus;
using overflow::detail::branch_free_tanh;
using overflow::detail::logistic;

// |got - want| in units of want's last place (the spacing of doubles at |want|).
double ulps(double got, double want) {
  if (got == want) return 0.0;
  const double spacing = std::nextafter(std::fabs(want), std::numeric_limits<double>::infinity()) - std::fabs(want);
  return std::fabs(got - want) / spacing;
}

template <class F, class G>
double worst_on(double lo, double hi, int n, F f, G reference) {
  double worst = 0.0;
  for (int i = 0; i <= n; ++i) {
    const double x = lo + (hi - lo) * i / n;
    worst = std::fmax(worst, ulps(f(x), reference(x)));
  }
  return worst;
}

}  // namespace

int main() {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  const auto libm_tanh = [](double x) { return std::tanh(x); };
  const auto libm_exp_minus = [](double a) { return std::exp(-a); };
  // 1 / (1 + e^-x) in long double: a reference a few bits finer than double.
  const auto exact_logistic = [](double x) {
    return static_cast<double>(1.0L / (1.0L + std::exp(-static_cast<long double>(x))));
  };
  const double tanh_ulps = worst_on(-25.0, 25.0, 400001, branch_free_tanh, libm_tanh);
  const double tiny_tanh_ulps = worst_on(-1e-3, 1e-3, 200001, branch_free_tanh, libm_tanh);
  const double exp_ulps = worst_on(0.0, 708.0, 400001, branch_free_exp_minus, libm_exp_minus);
  const double small_exp_ulps = worst_on(0.0, 1e-3, 200001, branch_free_exp_minus, libm_exp_minus);
  const double logistic_ulps = worst_on(-700.0, 40.0, 400001, logistic, exact_logistic);
  std::printf("worst ulps: tanh %.2f (near 0: %.2f), exp(-a) %.2f (near 0: %.2f), logistic %.2f\n", tanh_ulps,
              tiny_tanh_ulps, exp_ulps, small_exp_ulps, logistic_ulps);
  CHECK(tanh_ulps <= 8.0 && tiny_tanh_ulps <= 8.0, "tanh %.2f ulps", tanh_ulps);
  CHECK(exp_ulps <= 8.0 && small_exp_ulps <= 8.0, "exp(-a) %.2f ulps", exp_ulps);
  CHECK(logistic_ulps <= 8.0, "logistic %.2f ulps", logistic_ulps);
  // The ends.
  CHECK(branch_free_tanh(0.0) == 0.0 && !std::signbit(branch_free_tanh(0.0)), "tanh(0)");
  CHECK(branch_free_tanh(-0.0) == 0.0 && std::signbit(branch_free_tanh(-0.0)), "tanh(-0)");
  CHECK(branch_free_tanh(inf) == 1.0 && branch_free_tanh(-inf) == -1.0, "tanh(+-inf)");
  CHECK(std::isnan(branch_free_tanh(nan)), "tanh(NaN)");
  CHECK(branch_free_exp_minus(0.0) == 1.0, "exp(-0) = %.17g", branch_free_exp_minus(0.0));
  CHECK(branch_free_exp_minus(709.0) == 0.0 && branch_free_exp_minus(inf) == 0.0, "exp(-a) past 708");
  CHECK(std::isnan(branch_free_exp_minus(nan)), "exp(-NaN)");
  CHECK(logistic(inf) == 1.0 && logistic(-inf) == 0.0 && logistic(0.0) == 0.5, "logistic at the ends");
  CHECK(std::isnan(logistic(nan)), "logistic(NaN)");
  return check_report("test_branch_free_math");
}
