// radau5 (detail/radau.hpp) through integrate and Solver on the classic stiff problems, against
// references computed independently, and on a linear system against its closed form: order 5 at
// fixed steps, the collocation polynomial's order 4 in the interior of the steps, and the same run
// whether J comes from jvp or whole from jacobian().
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "overflow/integrate.hpp"
#include "overflow/solver.hpp"
#include "overflow/tableau.hpp"

namespace {

using namespace overflow;

// Robertson's chemical kinetics (Hairer & Wanner, Solving ODEs II, section IV.1), J v by hand.
struct Robertson {
  std::size_t dim() const { return 3; }
  double eval(double, const double* y, double* dy) {
    dy[0] = -0.04 * y[0] + 1e4 * y[1] * y[2];
    dy[1] = 0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] * y[1];
    dy[2] = 3e7 * y[1] * y[1];
    return 0.0;
  }
  double jvp(double, const double* y, const double* v, double* out) {
    out[0] = -0.04 * v[0] + 1e4 * (y[2] * v[1] + y[1] * v[2]);
    out[1] = 0.04 * v[0] - 1e4 * (y[2] * v[1] + y[1] * v[2]) - 6e7 * y[1] * v[1];
    out[2] = 6e7 * y[1] * v[1];
    return 0.0;
  }
};

// The same ODE with its whole Jacobian (column-major) and no jvp.
struct RobertsonWhole {
  std::size_t dim() const { return 3; }
  double eval(double t, const double* y, double* dy) { return Robertson{}.eval(t, y, dy); }
  void jacobian(double, const double* y, double* J) {
    const double col0[3] = {-0.04, 0.04, 0.0};
    const double col1[3] = {1e4 * y[2], -1e4 * y[2] - 6e7 * y[1], 6e7 * y[1]};
    const double col2[3] = {1e4 * y[1], -1e4 * y[1], 0.0};
    for (int i = 0; i < 3; ++i) J[i] = col0[i], J[3 + i] = col1[i], J[6 + i] = col2[i];
  }
};

// Van der Pol's oscillator y1'' = mu (1 - y1^2) y1' - y1 as a first-order system.
struct VanDerPol {
  double mu = 1000.0;
  std::size_t dim() const { return 2; }
  double eval(double, const double* y, double* dy) {
    dy[0] = y[1];
    dy[1] = mu * (1.0 - y[0] * y[0]) * y[1] - y[0];
    return 0.0;
  }
  double jvp(double, const double* y, const double* v, double* out) {
    out[0] = v[1];
    out[1] = (-2.0 * mu * y[0] * y[1] - 1.0) * v[0] + mu * (1.0 - y[0] * y[0]) * v[1];
    return 0.0;
  }
};

// y' = M y: a damped rotation (rate 1, frequency 10) and a stiff decay at rate 1000.
struct Linear {
  std::size_t dim() const { return 3; }
  double eval(double t, const double* y, double* dy) { return jvp(t, y, y, dy); }
  double jvp(double, const double*, const double* v, double* out) {
    out[0] = -v[0] + 10.0 * v[1];
    out[1] = -10.0 * v[0] - v[1];
    out[2] = -1000.0 * v[2];
    return 0.0;
  }
  // The closed form from y(0) = (1, 0, 1).
  static void exact(double t, double* y) {
    y[0] = std::exp(-t) * std::cos(10.0 * t);
    y[1] = -std::exp(-t) * std::sin(10.0 * t);
    y[2] = std::exp(-1000.0 * t);
  }
};

// An ODE without any Jacobian: radau5 refuses it.
struct NoJacobian {
  std::size_t dim() const { return 1; }
  double eval(double, const double* y, double* dy) {
    dy[0] = -y[0];
    return 0.0;
  }
};

const Tableau& radau5() { return tableau(Method::radau5); }

// The data radau_tableau.cpp derives: A T Lambda T^-1 = I (T diagonalises A^-1 into the real
// eigenvalue and the rotation block), the error weights as published in radau5.f (DD1..DD3), and
// the collocation polynomial's matrix as the inverse of (c_i^k).
void coefficients() {
  const Tableau& t = radau5();
  const RadauCoefficients& r = t.radau;
  const double L[9] = {r.gamma, 0, 0, 0, r.alpha, -r.beta, 0, r.beta, r.alpha};
  auto mul = [](const double* a, const double* b, double* out) {
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) {
        double acc = 0.0;
        for (int k = 0; k < 3; ++k) acc += a[i * 3 + k] * b[k * 3 + j];
        out[i * 3 + j] = acc;
      }
  };
  double TL[9], TLTi[9], I1[9], I2[9];
  mul(r.T.data(), L, TL);
  mul(TL, r.T_inv.data(), TLTi);
  mul(t.a.data(), TLTi, I1);
  mul(r.T.data(), r.T_inv.data(), I2);
  for (int k = 0; k < 9; ++k) {
    const double unit = k % 4 == 0 ? 1.0 : 0.0;
    CHECK(std::fabs(I1[k] - unit) < 1e-13 && std::fabs(I2[k] - unit) < 1e-13, "A T Lambda T^-1 [%d] = %.17g", k, I1[k]);
  }
  const double s6 = std::sqrt(6.0);
  const double published[3] = {-(13.0 + 7.0 * s6) / 3.0, (-13.0 + 7.0 * s6) / 3.0, -1.0 / 3.0};
  for (int i = 0; i < 3; ++i)
    CHECK(std::fabs(r.error[i] - published[i]) < 1e-13 * std::fabs(published[i]), "error[%d] = %.17g, radau5.f %.17g",
          i, r.error[i], published[i]);
  for (int k = 0; k < 3; ++k)
    for (int j = 0; j < 3; ++j) {
      double acc = 0.0;
      for (int i = 0; i < 3; ++i) acc += r.dense[k * 3 + i] * std::pow(t.c[i], j + 1);
      CHECK(std::fabs(acc - (k == j ? 1.0 : 0.0)) < 1e-13, "dense: row %d on c^%d gives %.17g", k, j + 1, acc);
    }
}

void report(const char* what, const Solution& s) {
  std::printf("%s: status %s, steps %lld (+%lld rejected), nfev %lld, njev %lld, nlu %lld\n", what,
              status_name(s.status), static_cast<long long>(s.naccept), static_cast<long long>(s.nreject),
              static_cast<long long>(s.nfev), static_cast<long long>(s.njev), static_cast<long long>(s.nlu));
}

// Robertson on [0, 1e5] at rtol 1e-6, atol 1e-10. Reference: scipy 1.x solve_ivp(method="Radau",
// rtol=1e-12, atol=1e-20, analytic jac) at t = 1, 100, 1e5 (its rtol 1e-13 run agrees to ~1e-14).
template <class System>
Solution robertson(const char* what) {
  System sys;
  IntegrateOptions opt;
  opt.rtol = 1e-6;
  opt.atol = 1e-10;
  const double y0[3] = {1.0, 0.0, 0.0};
  const std::vector<double> t_eval = {1.0, 100.0, 1e5};
  Solution s = integrate(sys, radau5(), 0.0, 1e5, y0, t_eval, opt);
  report(what, s);
  CHECK(s.status == Status::t_end, "%s: status %s", what, status_name(s.status));
  const double ref[3][3] = {{0.9664597373330018, 3.074626578578702e-05, 0.0335095164012115},
                            {0.6172348823960705, 6.153591274638349e-06, 0.38275896401265325},
                            {0.017865921142100113, 7.274751468436605e-08, 0.9821340061103828}};
  double worst = 0.0;
  for (std::size_t p = 0; p < s.t.size() && p < 3; ++p) {
    const double* y = s.states.data() + 3 * p;
    for (int i = 0; i < 3; ++i) {
      worst = std::max(worst, std::fabs(y[i] - ref[p][i]) / (opt.atol + opt.rtol * std::fabs(ref[p][i])));
      // The problem contracts: the global error stays near the local tolerance (10x margin).
      const double bound = 10.0 * (opt.atol + opt.rtol * std::fabs(ref[p][i]));
      CHECK(std::fabs(y[i] - ref[p][i]) <= bound, "%s t=%g: y%d = %.12g, reference %.12g (bound %.2g)", what, s.t[p],
            i + 1, y[i], ref[p][i], bound);
    }
    // y1 + y2 + y3 = 1 is linear: collocation and each Newton iterate keep it to rounding.
    CHECK(std::fabs(y[0] + y[1] + y[2] - 1.0) < 1e-12, "%s: mass %.17g", what, y[0] + y[1] + y[2]);
  }
  std::printf("%s: largest error %.2g x (atol + rtol |y|)\n", what, worst);
  // scipy's Radau: 188 steps, 41 Jacobians, 206 LU (1483 evaluations); radau5 186, 43, 206
  // (1466). The step count is of that order, and J is kept across most steps.
  CHECK(s.naccept < 300, "%s: %lld steps", what, static_cast<long long>(s.naccept));
  CHECK(s.njev < s.naccept / 2, "%s: %lld Jacobians in %lld steps", what, static_cast<long long>(s.njev),
        static_cast<long long>(s.naccept));
  return s;
}

void van_der_pol() {
  VanDerPol sys;
  IntegrateOptions opt;
  opt.rtol = 1e-6;
  opt.atol = 1e-6;
  const double y0[2] = {2.0, 0.0};
  const std::vector<double> t_eval = {1000.0, 3000.0};
  Solution s = integrate(sys, radau5(), 0.0, 3000.0, y0, t_eval, opt);
  report("van der pol mu=1000", s);
  CHECK(s.status == Status::t_end, "vdp: status %s", status_name(s.status));
  // Reference: scipy solve_ivp(method="Radau", rtol=1e-12, atol=1e-12, analytic jac).
  const double ref[2][2] = {{-1.8636462548109065, 0.0007535430865396484}, {-1.5106069367599528, 0.0011783800006902542}};
  double worst = 0.0;
  for (std::size_t p = 0; p < s.t.size() && p < 2; ++p) {
    const double* y = s.states.data() + 2 * p;
    for (int i = 0; i < 2; ++i) {
      worst = std::max(worst, std::fabs(y[i] - ref[p][i]) / (opt.atol + opt.rtol * std::fabs(ref[p][i])));
      // The relaxation jumps amplify the error made near them, yet the global error stays below
      // the local tolerance (scipy's Radau: 0.29 of it, radau5 0.16): a 10x margin.
      const double bound = 10.0 * (opt.atol + opt.rtol * std::fabs(ref[p][i]));
      CHECK(std::fabs(y[i] - ref[p][i]) <= bound, "vdp t=%g: y%d = %.12g, reference %.12g", s.t[p], i + 1, y[i],
            ref[p][i]);
    }
  }
  std::printf("vdp: largest error %.2g x (atol + rtol |y|)\n", worst);
  // A first step far too large for Newton (h = 100 across the first relaxation): the failed solves
  // shrink it (StepAttempt::retry_factor) until it converges, and the run ends as accurately.
  {
    VanDerPol big;
    IntegrateOptions bold = opt;
    bold.first_step = 100.0;
    Solution b = integrate(big, radau5(), 0.0, 3000.0, y0, {3000.0}, bold);
    report("van der pol, first step 100", b);
    CHECK(b.status == Status::t_end && b.nreject > 0, "vdp first step 100: status %s, %lld rejected",
          status_name(b.status), static_cast<long long>(b.nreject));
    if (!b.t.empty())
      CHECK(std::fabs(b.states[0] - ref[1][0]) <= 10.0 * (opt.atol + opt.rtol * std::fabs(ref[1][0])),
            "vdp first step 100: y1 = %.12g", b.states[0]);
  }
  // scipy's Radau: 919 steps, 184 Jacobians, 636 LU (7702 evaluations); radau5 878, 190, 1362
  // (7122; it holds h only for increases up to 1.2, as radau5.f, where scipy holds it for any
  // factor below 1.2 at the price of 93 rejections here against 14).
  CHECK(s.naccept < 1500, "vdp: %lld steps", static_cast<long long>(s.naccept));
  CHECK(s.njev < s.naccept / 2, "vdp: %lld Jacobians in %lld steps", static_cast<long long>(s.njev),
        static_cast<long long>(s.naccept));
}

// Fixed steps h = 1 / N (tolerances so loose that no step is rejected or shortened; Newton on a
// linear ODE with its exact J is exact after one iteration): the error at t = 1 falls like h^5,
// and the collocation polynomial's error at the steps' midpoints like h^4.
void linear_order() {
  double end_err[4], mid_err[4];
  const int steps[4] = {8, 16, 32, 64};
  for (int k = 0; k < 4; ++k) {
    Linear sys;
    StepOptions opt;
    opt.rtol = opt.atol = 1e3;
    opt.first_step = opt.max_step = 1.0 / steps[k];
    Solver<Linear> solver(sys, radau5(), opt);
    const double y0[3] = {1.0, 0.0, 1.0};
    solver.init(0.0, y0);
    mid_err[k] = 0.0;
    int taken = 0;
    while (solver.t() < 1.0) {
      CHECK(solver.step(1.0) == StepOutcome::accepted, "linear: step failed");
      ++taken;
      double mid[3], exact[3];
      solver.dense_theta(0.5, mid);
      Linear::exact(0.5 * (solver.t_prev() + solver.t()), exact);
      for (int i = 0; i < 2; ++i) mid_err[k] = std::max(mid_err[k], std::fabs(mid[i] - exact[i]));
    }
    CHECK(taken == steps[k] && solver.nreject() == 0, "linear: %d steps (%lld rejected), expected %d", taken,
          static_cast<long long>(solver.nreject()), steps[k]);
    double exact[3];
    Linear::exact(1.0, exact);
    end_err[k] = 0.0;
    for (int i = 0; i < 3; ++i) end_err[k] = std::max(end_err[k], std::fabs(solver.y()[i] - exact[i]));
    std::printf("linear N=%d: error at t=1 %.3g, at the midpoints %.3g\n", steps[k], end_err[k], mid_err[k]);
  }
  for (int k = 1; k < 4; ++k) {
    const double order = std::log2(end_err[k - 1] / end_err[k]);
    const double dense_order = std::log2(mid_err[k - 1] / mid_err[k]);
    CHECK(order > 4.7 && order < 5.5, "linear: observed order %.2f at N=%d, expected 5", order, steps[k]);
    CHECK(dense_order > 3.7, "linear: interpolant order %.2f at N=%d, expected 4", dense_order, steps[k]);
  }
  // Adaptive: the error falls with the tolerance.
  double previous = 1.0;
  for (double rtol : {1e-4, 1e-6, 1e-8, 1e-10}) {
    Linear sys;
    IntegrateOptions opt;
    opt.rtol = rtol;
    opt.atol = rtol;
    const double y0[3] = {1.0, 0.0, 1.0};
    Solution s = integrate(sys, radau5(), 0.0, 2.0, y0, {}, opt);
    double exact[3], err = 0.0;
    Linear::exact(2.0, exact);
    for (int i = 0; i < 3; ++i) err = std::max(err, std::fabs(s.final_state[i] - exact[i]));
    std::printf("linear rtol=%g: error %.3g in %lld steps\n", rtol, err, static_cast<long long>(s.naccept));
    CHECK(err < 100.0 * rtol && err < previous, "linear rtol=%g: error %.3g (previous %.3g)", rtol, err, previous);
    previous = err;
  }
}

}  // namespace

int main() {
  coefficients();
  const Solution by_jvp = robertson<Robertson>("robertson (jvp)");
  const Solution whole = robertson<RobertsonWhole>("robertson (jacobian)");
  // J e_j from jvp is J's column exactly: the two runs are the same run.
  CHECK(by_jvp.naccept == whole.naccept && by_jvp.nfev == whole.nfev && by_jvp.njev == whole.njev &&
            by_jvp.final_state == whole.final_state,
        "robertson: jvp and jacobian() runs differ");
  CHECK(by_jvp.njvp == 3 * by_jvp.njev && whole.njvp == 0, "robertson: %lld products for %lld Jacobians",
        static_cast<long long>(by_jvp.njvp), static_cast<long long>(by_jvp.njev));
  van_der_pol();
  linear_order();
  {
    NoJacobian sys;
    const double y0[1] = {1.0};
    bool refused = false;
    try {
      integrate(sys, radau5(), 0.0, 1.0, y0, {}, IntegrateOptions{});
    } catch (const std::invalid_argument&) {
      refused = true;
    }
    CHECK(refused, "radau5 ran a system without jvp or jacobian");
  }
  return check_report("test_radau");
}
