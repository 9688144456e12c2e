// The exact Jacobian-vector product of networks on data and of activated networks on the identity input
// (data_jvp.cpp): against central differences of the right-hand side for every activation, depths 1-4,
// with and without biases, m != n; symmetric (<u, J v> = <J u, v>, J = -Hess g); one workspace reused
// across states gives the products of fresh ones; FlowSystem::jvp takes it, and falls back to a
// difference quotient for a cost without an hvp; on a thread team the products are the same bits as on
// the calling thread alone (CI also runs this under ThreadSanitizer).
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "check.hpp"
#include "data_cases.hpp"
#include "overflow/flow_system.hpp"
#include "overflow/network.hpp"
#include "overflow/thread_team.hpp"
#include "quadratic_cost.hpp"

namespace {

using overflow::Activation;
using overflow::Cost;
using overflow::Flow;
using overflow::FlowSystem;
using overflow::FlowWorkspace;
using overflow::Inputs;
using overflow::JvpWorkspace;
using overflow::Network;
using overflow::ThreadTeam;

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

double max_abs(const std::vector<double>& a) {
  double s = 0.0;
  for (double x : a) s = std::fmax(s, std::fabs(x));
  return s;
}

// (rhs(y + h v) - rhs(y - h v)) / 2h: truncation O(h^2), rounding O(eps / h).
std::vector<double> difference(const Flow& flow, const std::vector<double>& y, const std::vector<double>& v, double h) {
  FlowWorkspace ws(flow);
  std::vector<double> plus(y), minus(y), dplus(y.size()), dminus(y.size()), out(y.size());
  for (std::size_t i = 0; i < y.size(); ++i) {
    plus[i] += h * v[i];
    minus[i] -= h * v[i];
  }
  flow.rhs(plus.data(), dplus.data(), ws);
  flow.rhs(minus.data(), dminus.data(), ws);
  for (std::size_t i = 0; i < y.size(); ++i) out[i] = (dplus[i] - dminus[i]) / (2 * h);
  return out;
}

// The Jacobian along v, exact, and its distance to the difference quotient relative to its size.
double relative_error(const Flow& flow, const std::vector<double>& y, const std::vector<double>& v,
                      std::vector<double>& jv) {
  jv.assign(y.size(), 0.0);
  flow.jvp(y.data(), v.data(), jv.data());
  const std::vector<double> fd = difference(flow, y, v, 1e-5);
  double err = 0.0;
  for (std::size_t i = 0; i < jv.size(); ++i) err = std::fmax(err, std::fabs(jv[i] - fd[i]));
  return err / (1e-300 + max_abs(fd));
}

}  // namespace

int main() {
  std::mt19937_64 rng(1818);
  std::normal_distribution<double> normal(0.0, 1.0);
  const double slope = 0.2;
  const std::int64_t s = kDataCaseSamples;
  const int checked = for_each_data_case(rng, slope, [&](const Flow& flow, const std::vector<double>&) {
    const int act = static_cast<int>(flow.activation()), depth = flow.network().depth(), bias = flow.network().bias();
    const std::vector<double> y = random_vector(flow.dim(), rng, normal);
    const std::vector<double> u = random_vector(flow.dim(), rng, normal);
    const std::vector<double> v = random_vector(flow.dim(), rng, normal);
    std::vector<double> ju, jv;
    // Central differences with h = 1e-5: ~1e-10 of truncation and rounding (relu's kinks are
    // met only within ~1e-5 of a zero pre-activation, which these draws are not).
    const double err = relative_error(flow, y, v, jv);
    CHECK(err < 1e-7, "activation %d depth %d bias %d: |J v - difference| = %.3e relative", act, depth, bias, err);
    flow.jvp(y.data(), u.data(), (ju = std::vector<double>(y.size())).data());
    const double a = dot(u, jv), b = dot(ju, v);
    CHECK(std::fabs(a - b) < 1e-13 * (std::sqrt(dot(u, u) * dot(jv, jv)) + std::sqrt(dot(ju, ju) * dot(v, v))),
          "activation %d depth %d bias %d: <u, J v> = %.17g, <J u, v> = %.17g", act, depth, bias, a, b);
  });
  CHECK(checked == 64, "%d data cases", checked);

  // The identity input with an activation (section 4's path).
  for (Activation act : kAllActivations) {
    if (act == Activation::none) continue;
    Network net({3, 4, 5, 2});
    std::vector<double> target = random_vector(static_cast<std::size_t>(net.m() * net.n()), rng, normal);
    Flow flow(net, quadratic_cost_on(target.data(), net.m(), net.n()), act, Inputs{}, slope);
    const std::vector<double> y = random_vector(net.state_size(), rng, normal);
    const std::vector<double> v = random_vector(net.state_size(), rng, normal);
    std::vector<double> jv;
    const double err = relative_error(flow, y, v, jv);
    CHECK(err < 1e-7, "identity input, activation %d: |J v - difference| = %.3e relative", static_cast<int>(act), err);
  }

  // One workspace across states: what it keeps of a state is recomputed for another (and for the
  // same buffer changed in place), so its products equal those of fresh workspaces bit for bit.
  {
    Network net({3, 5, 4, 2}, true);
    std::vector<double> X = random_vector(3 * s, rng, normal), target = random_vector(2 * s, rng, normal);
    Flow flow(net, quadratic_cost_on(target.data(), 2, s), Activation::tanh, Inputs{X.data(), s, true});
    JvpWorkspace ws(net);
    std::vector<double> y = random_vector(net.state_size(), rng, normal);
    const std::vector<double> z = random_vector(net.state_size(), rng, normal);
    const std::vector<double> v = random_vector(net.state_size(), rng, normal);
    std::vector<double> reused(y.size()), fresh(y.size());
    for (int round = 0; round < 3; ++round) {
      const std::vector<double>& at = round == 1 ? z : y;
      const double g1 = flow.jvp(at.data(), v.data(), reused.data(), ws);
      const double g2 = flow.jvp(at.data(), v.data(), fresh.data());
      CHECK(reused == fresh && g1 == g2, "round %d: a reused workspace's product differs from a fresh one's", round);
    }
    y[3] += 0.25;  // in place
    flow.jvp(y.data(), v.data(), reused.data(), ws);
    flow.jvp(y.data(), v.data(), fresh.data());
    CHECK(reused == fresh, "a state changed in place: the workspace kept the old one");
  }

  // Under an activation pattern's gates (relu-family: sigma(a) = gate a, sigma' = gate, whatever the sign of
  // a), the product is the derivative of the right-hand side under the same gates; the same state with other
  // gates is recomputed, not taken from the workspace's kept point.
  for (Activation act : {Activation::relu, Activation::leaky_relu}) {
    Network net({3, 5, 4, 2}, true);
    std::vector<double> X = random_vector(3 * s, rng, normal), target = random_vector(2 * s, rng, normal);
    Flow flow(net, quadratic_cost_on(target.data(), 2, s), act, Inputs{X.data(), s, true}, slope);
    const std::size_t hidden = static_cast<std::size_t>((5 + 4) * s);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    std::vector<double> gates(hidden), other(hidden);
    for (std::size_t k = 0; k < hidden; ++k) {
      gates[k] = unit(rng) < 0.5 ? 1.0 : slope;      // many entries on the branch their sign does not give
      other[k] = slope + (1.0 - slope) * unit(rng);  // sliding-like gates inside the range
    }
    const std::vector<double> y = random_vector(net.state_size(), rng, normal);
    const std::vector<double> v = random_vector(net.state_size(), rng, normal);
    JvpWorkspace jws(net);
    FlowWorkspace ws(flow);
    std::vector<double> jv(y.size()), plus(y), minus(y), dplus(y.size()), dminus(y.size());
    const double h = 1e-5;
    for (const std::vector<double>* G : {&gates, &other}) {
      jws.gates = G->data();
      ws.gates = G->data();
      flow.jvp(y.data(), v.data(), jv.data(), jws);
      for (std::size_t i = 0; i < y.size(); ++i) {
        plus[i] = y[i] + h * v[i];
        minus[i] = y[i] - h * v[i];
      }
      flow.rhs(plus.data(), dplus.data(), ws);
      flow.rhs(minus.data(), dminus.data(), ws);
      double err = 0.0, scale = 0.0;
      for (std::size_t i = 0; i < y.size(); ++i) {
        const double fd = (dplus[i] - dminus[i]) / (2 * h);
        err = std::fmax(err, std::fabs(jv[i] - fd));
        scale = std::fmax(scale, std::fabs(fd));
      }
      // Under fixed gates the right-hand side is a polynomial in y: central differences are exact to
      // O(h^2) times its third derivatives, ~1e-10 here.
      CHECK(err < 1e-7 * scale, "activation %d, %s gates: |J v - difference| = %.3e (scale %.3e)",
            static_cast<int>(act), G == &gates ? "branch" : "fractional", err, scale);
    }
  }

  // FlowSystem: the exact product with an hvp; without one, a difference quotient close to it.
  {
    Network net({3, 4, 2});
    std::vector<double> X = random_vector(3 * s, rng, normal), target = random_vector(2 * s, rng, normal);
    Cost with = quadratic_cost_on(target.data(), 2, s), without = with;
    without.hvp = nullptr;
    Flow exact(net, with, Activation::gelu, Inputs{X.data(), s, false});
    Flow differenced(net, without, Activation::gelu, Inputs{X.data(), s, false});
    FlowSystem sys_exact(exact), sys_differenced(differenced);
    const std::vector<double> y = random_vector(net.state_size(), rng, normal);
    const std::vector<double> v = random_vector(net.state_size(), rng, normal);
    std::vector<double> a(y.size()), b(y.size()), c(y.size());
    sys_exact.jvp(0.0, y.data(), v.data(), a.data());
    exact.jvp(y.data(), v.data(), b.data());
    CHECK(a == b, "FlowSystem::jvp is not Flow::jvp with an hvp");
    sys_differenced.jvp(0.0, y.data(), v.data(), c.data());
    double err = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) err = std::fmax(err, std::fabs(a[i] - c[i]));
    CHECK(err > 0.0 && err < 1e-7 * max_abs(a), "without an hvp: |difference - exact| = %.3e", err);
  }
  // A thread team: every product here is above its threshold (the smallest, 5 x 48 x 200 multiply-adds), and
  // the shares start on the kernels' blocks, so each entry is summed as on one thread: the same bits for any
  // team size, through Flow::jvp and FlowSystem::jvp alike (a share off the blocks, or a sum split across
  // threads, would differ in the last bits).
  {
    const std::int64_t samples = 200;
    Network net({20, 64, 48, 5}, true);
    std::vector<double> X = random_vector(static_cast<std::size_t>(20 * samples), rng, normal);
    std::vector<double> target = random_vector(static_cast<std::size_t>(5 * samples), rng, normal);
    for (Activation act : {Activation::none, Activation::tanh, Activation::relu, Activation::gelu}) {
      Flow flow(net, quadratic_cost_on(target.data(), 5, samples), act, Inputs{X.data(), samples, true});
      std::vector<double> y = random_vector(net.state_size(), rng, normal);
      for (double& w : y) w *= 0.2;
      const std::vector<double> v = random_vector(net.state_size(), rng, normal);
      std::vector<double> alone(y.size()), shared(y.size());
      JvpWorkspace ws(net);
      const double g = flow.jvp(y.data(), v.data(), alone.data(), ws);
      for (int size : {2, 3}) {
        ThreadTeam team(size);
        JvpWorkspace team_ws(net, &team);
        for (int round = 0; round < 2; ++round) {  // the state's passes made, then kept
          const double gt = flow.jvp(y.data(), v.data(), shared.data(), team_ws);
          CHECK(shared == alone && gt == g, "activation %d, a team of %d (round %d): not the one-thread product",
                static_cast<int>(act), size, round);
        }
        FlowSystem sys(flow, &team);
        sys.jvp(0.0, y.data(), v.data(), shared.data());
        CHECK(shared == alone, "activation %d, FlowSystem on a team of %d: not the one-thread product",
              static_cast<int>(act), size);
      }
    }
  }
  return check_report("test_data_jvp");
}
