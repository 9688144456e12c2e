// Factored stage inputs (stage_factors.hpp): the RHS at base + sum_j c_j K_j, with the inner
// layers corrected through the saved factors of K_j, equals the RHS at that state formed in full;
// it never reads the factored layers of `stage`; the saved factors reproduce the evaluation's flow;
// a team gives the one-thread result bitwise; a whole integration agrees with the unfactored one.
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "check.hpp"
#include "overflow/flow_system.hpp"
#include "overflow/integrate.hpp"
#include "overflow/network.hpp"
#include "overflow/thread_team.hpp"
#include "quadratic_cost.hpp"

namespace {

using namespace overflow;

double max_abs(const std::vector<double>& v) {
  double m = 0.0;
  for (double x : v) m = std::fmax(m, std::fabs(x));
  return m;
}

// The same flow without eval_factored: the stepper forms every stage input.
struct Unfactored {
  FlowSystem& sys;
  std::size_t dim() const { return sys.dim(); }
  double eval(double t, const double* y, double* dy) { return sys.eval(t, y, dy); }
};

void check_rhs() {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> normal(0.0, 0.15);
  // n = 8, 4, 2, 1 (vector kernels), 3 and 6 (compiled scalar loops), 5 (run-time n); rows and
  // columns off the kernels' blocks of 8 ({8,36,70,8}: the n = 8 column tail); {8,128,128,8} and
  // {8,36,70,8}: the factored layer is the input layer's successor (its correction is written
  // transposed into dW_1).
  const std::vector<std::vector<std::int64_t>> cases = {{8, 128, 128, 8},   {8, 40, 64, 70, 8}, {8, 36, 70, 8},
                                                        {4, 50, 60, 70, 5}, {2, 30, 41, 2},     {1, 30, 40, 50, 2},
                                                        {3, 40, 50, 3},     {6, 64, 64, 6},     {5, 60, 70, 6}};
  ThreadTeam team(2);
  for (const auto& dims : cases) {
    Network net(dims);
    std::vector<double> target = random_vector(static_cast<std::size_t>(net.m() * net.n()), rng, normal);
    const Cost cost = quadratic_cost_on(target.data(), net.m(), net.n());
    Flow flow(net, cost);
    const FactorLayout& layout = flow.factor_layout();
    CHECK(layout.size > 0, "dims[1] = %lld: no factored layer", static_cast<long long>(dims[1]));
    if (layout.size == 0) continue;
    FlowWorkspace ws(net), split(net, &team);
    const std::size_t dim = net.state_size();
    // Three earlier stages: their flows in full and their factors.
    const int J = 3;
    std::vector<std::vector<double>> K(J, std::vector<double>(dim)), F(J, std::vector<double>(layout.size));
    for (int j = 0; j < J; ++j) {
      std::vector<double> yj = random_vector(dim, rng, normal), plain(dim);
      flow.rhs_factored(yj.data(), yj.data(), StageTerms{}, K[j].data(), F[j].data(), ws);
      flow.rhs(yj.data(), plain.data(), ws);
      std::size_t differ = 0;
      for (std::size_t i = 0; i < dim; ++i) differ += plain[i] != K[j][i];
      CHECK(differ == 0, "n = %lld: without terms the factored RHS differs from rhs in %zu entries",
            static_cast<long long>(net.n()), differ);
    }
    std::vector<double> base = random_vector(dim, rng, normal), full(base);
    StageTerms terms;
    terms.count = J;
    for (int j = 0; j < J; ++j) {
      terms.coef[static_cast<std::size_t>(j)] = 0.3 - 0.17 * j;
      terms.factors[static_cast<std::size_t>(j)] = F[j].data();
      for (std::size_t i = 0; i < dim; ++i) full[i] += terms.coef[static_cast<std::size_t>(j)] * K[j][i];
    }
    // `stage` holds the full state on the unfactored layers and NaN on the factored ones.
    std::vector<double> stage(dim, std::numeric_limits<double>::quiet_NaN());
    for (const auto& [b, e] : layout.full)
      for (std::size_t i = b; i < e; ++i) stage[i] = full[i];
    std::vector<double> ref(dim), got(dim), got2(dim), own(layout.size), own2(layout.size);
    const double v_ref = flow.rhs(full.data(), ref.data(), ws);
    const double v = flow.rhs_factored(stage.data(), base.data(), terms, got.data(), own.data(), ws);
    const double v2 = flow.rhs_factored(stage.data(), base.data(), terms, got2.data(), own2.data(), split);
    double err = 0.0;
    for (std::size_t i = 0; i < dim; ++i) err = std::fmax(err, std::fabs(got[i] - ref[i]));
    // Sums of a few products in another order: rounding of the entries' magnitudes.
    CHECK(err <= 1e-13 * (1.0 + max_abs(ref)), "n = %lld: factored RHS off by %.3e (scale %.3e)",
          static_cast<long long>(net.n()), err, max_abs(ref));
    CHECK(std::fabs(v - v_ref) <= 1e-13 * (1.0 + std::fabs(v_ref)), "n = %lld: loss %.17g vs %.17g",
          static_cast<long long>(net.n()), v, v_ref);
    std::size_t differ = 0;
    for (std::size_t i = 0; i < dim; ++i) differ += got[i] != got2[i];
    for (std::size_t i = 0; i < layout.size; ++i) differ += own[i] != own2[i];
    CHECK(differ == 0 && v == v2, "n = %lld: team result differs in %zu entries", static_cast<long long>(net.n()),
          differ);
    // The saved factors: dW_l = -Zrow_l PreT_l on every factored layer.
    const std::int64_t n = net.n();
    std::size_t at = 0;
    double ferr = 0.0;
    for (int l = 1; l + 1 < net.depth(); ++l) {
      const std::int64_t r = net.rows(l), c = net.cols(l);
      if (2 * n * (r + c) > r * c) continue;
      const double* zrow = own.data() + at;
      const double* pre_t = zrow + r * n;
      for (std::int64_t a = 0; a < r; ++a)
        for (std::int64_t b = 0; b < c; ++b) {
          double s = 0.0;
          for (std::int64_t q = 0; q < n; ++q) s -= zrow[a * n + q] * pre_t[q * c + b];
          ferr = std::fmax(ferr, std::fabs(s - got[net.offset(l) + static_cast<std::size_t>(a * c + b)]));
        }
      at += static_cast<std::size_t>(n * (r + c));
    }
    CHECK(at == layout.size, "n = %lld: layout size %zu, factored layers %zu", static_cast<long long>(n), layout.size,
          at);
    CHECK(ferr <= 1e-13 * (1.0 + max_abs(got)), "n = %lld: saved factors reproduce dW to %.3e",
          static_cast<long long>(n), ferr);
  }
}

void check_integration() {
  std::mt19937_64 rng(3);
  Network net({8, 128, 128, 128, 8});
  std::vector<double> target(64, 0.0);
  for (int i = 0; i < 8; ++i) target[static_cast<std::size_t>(i * 9)] = 2.0 - 0.2 * i;
  const Cost cost = quadratic_cost_on(target.data(), 8, 8);
  Flow flow(net, cost);
  CHECK(flow.factor_layout().size > 0 && net.state_size() >= ExplicitRK::kFactorMinDim, "not factored");
  std::normal_distribution<double> normal(0.0, 0.3 / std::sqrt(128.0));
  std::vector<double> y0 = random_vector(net.state_size(), rng, normal);
  for (Method method : {Method::bs3, Method::dopri5, Method::tsit5, Method::dop853}) {
    IntegrateOptions opt;
    opt.rtol = 1e-8;
    opt.atol = 1e-10;
    FlowSystem sys(flow), other(flow);
    Unfactored plain{other};
    const Solution a = integrate(sys, tableau(method), 0.0, 3.0, y0.data(), {1.5, 3.0}, opt);
    const Solution b = integrate(plain, tableau(method), 0.0, 3.0, y0.data(), {1.5, 3.0}, opt);
    double diff = 0.0;
    for (std::size_t i = 0; i < a.states.size(); ++i) diff = std::fmax(diff, std::fabs(a.states[i] - b.states[i]));
    const double scale = max_abs(b.states);
    // Rounding-level differences in the stages; were an accept/reject decision to flip, the
    // trajectories would still agree to the local error, below rtol * scale.
    CHECK(a.status == Status::t_end && b.status == Status::t_end, "method %d: status", static_cast<int>(method));
    CHECK(a.states.size() == b.states.size() && diff <= opt.rtol * scale,
          "method %d: factored and full stages differ by %.3e (scale %.3e)", static_cast<int>(method), diff, scale);
    CHECK(std::abs(a.nfev - b.nfev) <= 30, "method %d: nfev %lld vs %lld", static_cast<int>(method),
          static_cast<long long>(a.nfev), static_cast<long long>(b.nfev));
  }
}

}  // namespace

int main() {
  check_rhs();
  check_integration();
  return check_report("test_stage_factors");
}
