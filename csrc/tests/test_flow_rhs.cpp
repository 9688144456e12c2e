// The flow's RHS equals -grad g for g(W) = f(W_N...W_1), checked by central differences of g, over
// depths 1-5, unequal widths, rectangular products and both compile-time and run-time n; its
// Jacobian-vector product by central differences of the RHS.
#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "flow_differences.hpp"
#include "overflow/network.hpp"
#include "quadratic_cost.hpp"

namespace {

// Flow::jvp against central differences of the right-hand side, and its workspace's cache of the
// state's own products: a state changed in place, or changed back, gives the products of a fresh
// workspace bit for bit.
template <class Rng, class Dist>
void jvp_checks(const overflow::Flow& flow, std::vector<double> y, Rng& rng, Dist& dist) {
  const overflow::Network& net = flow.network();
  overflow::FlowWorkspace ws(net);
  overflow::JvpWorkspace cached(net);
  const std::size_t dim = y.size();
  const std::vector<double> v = random_vector(dim, rng, dist), y0 = y;
  std::vector<double> jv(dim), fresh(dim), fp(dim), fm(dim), yp(dim), ym(dim);
  const double e = 1e-5;
  for (int round = 0; round < 3; ++round) {
    if (round == 1) y = random_vector(dim, rng, dist);  // in place: same buffer, new state
    if (round == 2) y = y0;
    flow.jvp(y.data(), v.data(), jv.data(), cached);
    flow.jvp(y.data(), v.data(), jv.data(), cached);  // served from the cache
    overflow::JvpWorkspace own(net);
    flow.jvp(y.data(), v.data(), fresh.data(), own);
    CHECK(jv == fresh, "depth %d round %d: the cached products differ from a fresh workspace's", net.depth(), round);
    for (std::size_t i = 0; i < dim; ++i) {
      yp[i] = y[i] + e * v[i];
      ym[i] = y[i] - e * v[i];
    }
    flow.rhs(yp.data(), fp.data(), ws);
    flow.rhs(ym.data(), fm.data(), ws);
    double max_err = 0.0, max_ref = 0.0;
    for (std::size_t i = 0; i < dim; ++i) {
      const double fd = (fp[i] - fm[i]) / (2 * e);
      max_err = std::fmax(max_err, std::fabs(jv[i] - fd));
      max_ref = std::fmax(max_ref, std::fabs(fd));
    }
    CHECK(max_err < 1e-6 * (1.0 + max_ref), "depth %d round %d: max |Jv - fd| = %.3e (scale %.3e)", net.depth(), round,
          max_err, max_ref);
  }
}

}  // namespace

int main() {
  using namespace overflow;
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal(0.0, 0.5);
  const std::vector<std::vector<std::int64_t>> cases = {
      {3, 2},
      {1, 5, 1},
      {4, 16, 16, 4},
      {2, 3, 5, 4, 7, 3},
      {5, 7, 2, 6},
      {8, 9, 8},
      {6, 4, 3, 6, 2},
      {4, 3, 2},
      {7, 5, 5, 1},
      {1, 3, 2, 4, 1},
      // m < n: the sweep along m, for m = 1..4 (compile time) and 5 (run time)
      {9, 4, 4, 4, 2},
      {12, 6, 1},
      {10, 7, 3},
      {8, 5, 9, 4},
      {11, 3, 6, 5},
      {6, 1},
      {9, 2, 7, 1, 3},
      // widths that reach the wide register blocks of the n = 8, 4, 2 kernels and their tails
      {8, 40, 37, 8},
      {4, 44, 21, 13, 4},
      {2, 70, 19, 2}};
  for (const auto& dims : cases) {
    Network net(dims);
    std::vector<double> target = random_vector(static_cast<std::size_t>(net.m() * net.n()), rng, normal);
    const Cost cost = quadratic_cost_on(target.data(), net.m(), net.n());
    Flow flow(net, cost);
    FlowWorkspace ws(net);
    std::vector<double> y(net.state_size()), dy(net.state_size()), P(static_cast<std::size_t>(net.m() * net.n()));
    for (double& v : y) v = normal(rng);
    const double g = flow.rhs(y.data(), dy.data(), ws);
    CHECK(std::fabs(g - flow.value(y.data(), ws)) < 1e-14 * (1 + std::fabs(g)), "value mismatch");
    double max_ref = 0.0;
    const double max_err = fd_error(flow, ws, y, dy, max_ref);
    // Central differences: truncation O(h^2 g''') plus rounding O(eps g / h).
    CHECK(max_err < 1e-7 * (1.0 + max_ref), "dims[0]=%lld depth %d: max |dy + fd| = %.3e (scale %.3e)",
          static_cast<long long>(dims[0]), net.depth(), max_err, max_ref);
    flow.product(y.data(), P.data(), ws);
    CHECK(P.size() == target.size(), "product size");
    jvp_checks(flow, y, rng, normal);
  }
  // Activated networks (section 4): the same finite-difference check for isru and tanh.
  for (Activation act : {Activation::isru, Activation::tanh}) {
    for (const std::vector<std::int64_t>& dims :
         std::vector<std::vector<std::int64_t>>{{1, 1, 1}, {1, 5, 1}, {3, 4, 2}, {2, 3, 5, 4}, {4, 6, 3, 2, 5}}) {
      Network net(dims);
      std::vector<double> target = random_vector(static_cast<std::size_t>(net.m() * net.n()), rng, normal);
      const Cost cost = quadratic_cost_on(target.data(), net.m(), net.n());
      Flow flow(net, cost, act);
      FlowWorkspace ws(net);
      std::vector<double> y(net.state_size()), dy(net.state_size());
      for (double& v : y) v = normal(rng);
      flow.rhs(y.data(), dy.data(), ws);
      double max_ref = 0.0;
      const double max_err = fd_error(flow, ws, y, dy, max_ref);
      CHECK(max_err < 1e-7 * (1.0 + max_ref), "activation %d depth %d: max |dy + fd| = %.3e", static_cast<int>(act),
            net.depth(), max_err);
    }
  }
  // Shape mismatch between cost and network is an exception, not a crash.
  Network net({3, 4, 2});
  Cost bad;
  bad.value_and_grad = &quadratic_cost;
  bad.m = 3;
  bad.n = 3;
  bool threw = false;
  try {
    Flow flow(net, bad);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  CHECK(threw, "shape mismatch accepted");
  threw = false;
  try {
    Network zero({3, 0, 2});
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  CHECK(threw, "zero width accepted");
  return check_report("test_flow_rhs");
}
