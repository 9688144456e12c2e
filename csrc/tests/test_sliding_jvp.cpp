// The Jacobian-vector product of a relu-family flow while entries slide (FlowSystem::jvp with
// ActivationPattern::add_sliding_jvp) against central differences of the flow's own right-hand side, whose
// every evaluation solves the sliding gates anew: the gates are functions of the state, and J v must carry
// their share. Each case integrates a student on teacher data with dop853 until entries slide (one, and two
// at once where the case reaches it), then checks J v along random directions to 1e-8 of its largest entry
// (the difference's truncation, eps^2 |f'''|, and rounding, u |f| / eps, with eps 1e-5: measured 3e-11 to
// 6e-10), and checks that the product under the gates held alone misses by more than 1e-3 of it (measured
// 2e-2 to 0.9: the check can fail).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "check.hpp"
#include "overflow/flow_system.hpp"
#include "overflow/solver.hpp"
#include "quadratic_cost.hpp"

namespace {

using namespace overflow;

struct Case {
  std::vector<std::int64_t> dims;
  bool bias;
  Activation activation;
  double slope;
};

// The relu teacher's outputs on X (n_in x s): a random width-3 relu layer, then a random row.
std::vector<double> teacher_outputs(const std::vector<double>& X, std::int64_t n, std::int64_t s, std::mt19937& rng) {
  std::normal_distribution<double> normal(0.0, 1.0);
  const std::int64_t k = 3;
  const std::vector<double> W1 = random_vector(static_cast<std::size_t>(k * n), rng, normal);
  const std::vector<double> W2 = random_vector(static_cast<std::size_t>(k), rng, normal);
  std::vector<double> Y(static_cast<std::size_t>(s), 0.0);
  for (std::int64_t c = 0; c < s; ++c)
    for (std::int64_t j = 0; j < k; ++j) {
      double a = 0.0;
      for (std::int64_t q = 0; q < n; ++q)
        a += W1[static_cast<std::size_t>(j * n + q)] * X[static_cast<std::size_t>(q * s + c)];
      Y[static_cast<std::size_t>(c)] += W2[static_cast<std::size_t>(j)] * std::max(a, 0.0);
    }
  return Y;
}

// J v at the solver's state against central differences of sys.eval; each shifted evaluation follows one at
// y, so that both start their gate solve from the gates at y.
void check_jvp(FlowSystem& sys, const double* y, std::size_t dim, std::mt19937& rng, const char* what) {
  std::normal_distribution<double> normal(0.0, 1.0);
  const std::vector<double> state(y, y + dim);
  std::vector<double> dy(dim), plus(dim), minus(dim), jv(dim), shifted(dim);
  for (int trial = 0; trial < 3; ++trial) {
    const std::vector<double> v = random_vector(dim, rng, normal);
    double yn = 0.0, vn = 0.0;
    for (std::size_t i = 0; i < dim; ++i) {
      yn += state[i] * state[i];
      vn += v[i] * v[i];
    }
    const double e = 1e-5 * (1.0 + std::sqrt(yn)) / std::sqrt(vn);
    for (int sign : {1, -1}) {
      sys.eval(0.0, state.data(), dy.data());
      for (std::size_t i = 0; i < dim; ++i) shifted[i] = state[i] + sign * e * v[i];
      sys.eval(0.0, shifted.data(), sign > 0 ? plus.data() : minus.data());
    }
    sys.eval(0.0, state.data(), dy.data());
    sys.jvp(0.0, state.data(), v.data(), jv.data());
    // The product under the gates solved at y, held: what the Jacobian was without their share.
    PatternHandle handle = sys.activation_pattern();
    FlowWorkspace ws(sys.flow());
    JvpWorkspace jws(sys.flow().network());
    jws.gates = handle.pattern->jacobian_gates(state.data(), ws);
    std::vector<double> held(dim);
    sys.flow().jvp(state.data(), v.data(), held.data(), jws);
    double largest = 0.0, err = 0.0, miss = 0.0;
    for (std::size_t i = 0; i < dim; ++i) {
      const double fd = (plus[i] - minus[i]) / (2.0 * e);
      largest = std::max(largest, std::fabs(fd));
      err = std::max(err, std::fabs(jv[i] - fd));
      miss = std::max(miss, std::fabs(held[i] - fd));
    }
    CHECK(err <= 1e-8 * largest, "%s: J v off by %.3g (largest %.3g)", what, err, largest);
    CHECK(miss > 1e-3 * largest, "%s: the gates' share is only %.3g of %.3g: the check cannot fail", what, miss,
          largest);
  }
}

// Integrates the case until `want` entries slide at once (or t = 30); checks J v there. Returns the most
// entries seen sliding at once.
std::size_t check_case(const Case& cs, std::size_t want, std::mt19937& rng) {
  const Network net(cs.dims, cs.bias);
  const std::int64_t n = net.n(), s = 24;
  std::normal_distribution<double> normal(0.0, 1.0);
  const std::vector<double> X = random_vector(static_cast<std::size_t>(n * s), rng, normal);
  std::vector<double> Y = teacher_outputs(X, n, s, rng);
  const Flow flow(net, quadratic_cost_on(Y.data(), net.m(), s), cs.activation, Inputs{X.data(), s, cs.bias}, cs.slope);
  std::vector<double> y0 = random_vector(net.state_size(), rng, normal);
  for (double& w : y0) w *= 0.5;
  FlowSystem sys(flow);
  StepOptions opt;
  opt.rtol = 1e-8;
  opt.atol = 1e-10;
  Solver<FlowSystem> solver(sys, tableau(Method::dop853), opt);
  solver.init(0.0, y0.data());
  std::size_t most = 0;
  while (solver.t() < 30.0) {
    if (solver.step(30.0) != StepOutcome::accepted) break;
    const std::size_t now = sys.activation_pattern().pattern->sliding();
    most = std::max(most, now);
    if (now >= want) {
      char what[96];
      std::snprintf(what, sizeof what, "depth %d%s, slope %g, %zu sliding at t = %.4g", net.depth(),
                    cs.bias ? " with biases" : "", cs.slope, now, solver.t());
      check_jvp(sys, solver.y(), solver.dim(), rng, what);
      return most;
    }
  }
  return most;
}

}  // namespace

int main() {
  std::mt19937 rng(11);
  const std::vector<Case> cases = {
      {{3, 8, 1}, false, Activation::relu, 0.0},        {{3, 8, 1}, true, Activation::relu, 0.0},
      {{3, 8, 1}, false, Activation::leaky_relu, 0.01}, {{3, 8, 1}, true, Activation::leaky_relu, 2.0},
      {{3, 6, 5, 1}, false, Activation::relu, 0.0},     {{3, 6, 5, 1}, true, Activation::leaky_relu, 0.01},
  };
  int checked = 0, several = 0;
  for (const Case& cs : cases)
    for (std::size_t want : {1, 2}) {
      const std::size_t most = check_case(cs, want, rng);
      std::printf("dims %zu layers%s slope %g: want %zu, most %zu sliding\n", cs.dims.size() - 1,
                  cs.bias ? " +bias" : "", cs.slope, want, most);
      if (most >= want) {
        ++checked;
        if (want == 2) ++several;
      }
    }
  CHECK(checked >= 6, "only %d cases reached sliding entries", checked);
  CHECK(several >= 2, "only %d cases had two entries sliding at once", several);
  return check_report("test_sliding_jvp");
}
