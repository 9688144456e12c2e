// Networks on data (data_sweep.cpp): the output against plain loops, the RHS against central
// differences of the value for every activation, depths 1-4, with and without biases, m != n; the
// identity input with every activation; linear activation on data against the linear network on the
// regression cost 1/2 ||P X - Y||_F^2; and the misuses the Flow refuses.
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "data_cases.hpp"
#include "flow_differences.hpp"
#include "overflow/network.hpp"
#include "quadratic_cost.hpp"

namespace {

using overflow::Activation;
using overflow::Cost;
using overflow::Flow;
using overflow::FlowWorkspace;
using overflow::Inputs;
using overflow::Network;

// sigma written out again, independently of the core's kernels.
double sigma(Activation a, double x, double slope) {
  switch (a) {
    case Activation::none: return x;
    case Activation::isru: return x / std::sqrt(1.0 + x * x);
    case Activation::tanh: return std::tanh(x);
    case Activation::relu: return x > 0 ? x : 0.0;
    case Activation::leaky_relu: return x > 0 ? x : slope * x;
    case Activation::sigmoid: return 1.0 / (1.0 + std::exp(-x));
    case Activation::softplus: return std::log(1.0 + std::exp(x));
    case Activation::gelu: return 0.5 * x * std::erfc(-x / std::sqrt(2.0));
  }
  return NAN;
}

// Yhat by plain loops over the stored layers [W_i | b_i] (X null: the identity input, s = n).
std::vector<double> output_by_loops(const Network& net, const double* y, const double* X, std::int64_t s,
                                    Activation act, double slope) {
  std::vector<double> H;
  if (X != nullptr) {
    H.assign(X, X + net.n() * s);
  } else {
    H.assign(static_cast<std::size_t>(net.n() * s), 0.0);
    for (std::int64_t j = 0; j < s; ++j) H[static_cast<std::size_t>(j * s + j)] = 1.0;
  }
  for (int l = 0; l < net.depth(); ++l) {
    const std::int64_t r = net.rows(l), c = net.cols(l), ld = net.stride(l);
    const double* W = y + net.offset(l);
    std::vector<double> A(static_cast<std::size_t>(r * s));
    for (std::int64_t i = 0; i < r; ++i)
      for (std::int64_t j = 0; j < s; ++j) {
        double sum = net.bias() ? W[i * ld + c] : 0.0;
        for (std::int64_t q = 0; q < c; ++q) sum += W[i * ld + q] * H[static_cast<std::size_t>(q * s + j)];
        A[static_cast<std::size_t>(i * s + j)] = l + 1 < net.depth() ? sigma(act, sum, slope) : sum;
      }
    H = std::move(A);
  }
  return H;
}

// 1/2 ||P X - Y||_F^2 on P (m x n): the regression cost of a linear network, data = {X (n x s), Y (m x s), s}.
struct Regression {
  std::vector<double> X, Y;
  std::int64_t s = 0;
};

double regression_cost(const double* P, std::int64_t m, std::int64_t n, double* grad, void* data) {
  const auto& d = *static_cast<const Regression*>(data);
  const std::int64_t s = d.s;
  std::vector<double> R(static_cast<std::size_t>(m * s));  // P X - Y
  double value = 0.0;
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < s; ++j) {
      double sum = -d.Y[static_cast<std::size_t>(i * s + j)];
      for (std::int64_t q = 0; q < n; ++q) sum += P[i * n + q] * d.X[static_cast<std::size_t>(q * s + j)];
      R[static_cast<std::size_t>(i * s + j)] = sum;
      value += 0.5 * sum * sum;
    }
  for (std::int64_t i = 0; i < m; ++i)  // grad = R X^T
    for (std::int64_t q = 0; q < n; ++q) {
      double sum = 0.0;
      for (std::int64_t j = 0; j < s; ++j)
        sum += R[static_cast<std::size_t>(i * s + j)] * d.X[static_cast<std::size_t>(q * s + j)];
      grad[i * n + q] = sum;
    }
  return value;
}

template <class F>
bool throws_invalid(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument&) {
    return true;
  }
  return false;
}

}  // namespace

int main() {
  std::mt19937_64 rng(18);
  std::normal_distribution<double> normal(0.0, 1.0);
  const double slope = 0.2;  // a leaky slope other than the default, so that it is seen to be used

  // Every activation, depths 1-4, with and without biases, n != m (and widths that differ).
  const int checked = for_each_data_case(rng, slope, [&](const Flow& flow, const std::vector<double>& X) {
    const Network& net = flow.network();
    const Activation act = flow.activation();
    const bool bias = net.bias();
    const std::int64_t s = flow.columns();
    FlowWorkspace ws(flow);
    std::vector<double> y = random_vector(net.state_size(), rng, normal), dy(net.state_size());
    std::vector<double> out(static_cast<std::size_t>(net.m() * s));
    flow.product(y.data(), out.data(), ws);
    const std::vector<double> ref = output_by_loops(net, y.data(), X.data(), s, act, slope);
    double out_err = 0.0, out_scale = 0.0;
    for (std::size_t i = 0; i < out.size(); ++i) {
      out_err = std::fmax(out_err, std::fabs(out[i] - ref[i]));
      out_scale = std::fmax(out_scale, std::fabs(ref[i]));
    }
    CHECK(out_err < 1e-13 * (1.0 + out_scale), "activation %d depth %d bias %d: |Yhat - loops| = %.3e",
          static_cast<int>(act), net.depth(), bias, out_err);
    const double g = flow.rhs(y.data(), dy.data(), ws);
    CHECK(std::fabs(g - flow.value(y.data(), ws)) <= 1e-14 * (1 + std::fabs(g)), "value mismatch");
    double max_ref = 0.0;
    const double max_err = fd_error(flow, ws, y, dy, max_ref);
    // Central differences: truncation O(h^2 g''') plus rounding O(eps g / h). Relu's kinks are
    // met only where a pre-activation is within ~1e-5 of 0, which these draws are not.
    CHECK(max_err < 1e-7 * (1.0 + max_ref), "activation %d depth %d bias %d: max |dy + fd| = %.3e (scale %.3e)",
          static_cast<int>(act), net.depth(), bias, max_err, max_ref);
  });
  CHECK(checked == 64, "%d data cases", checked);

  // The identity input (no data) with every activation goes through the same kernels.
  for (Activation act : kAllActivations) {
    if (act == Activation::none) continue;  // the linear network's own kernels (test_flow_rhs)
    for (const std::vector<std::int64_t>& dims : std::vector<std::vector<std::int64_t>>{{3, 4, 2}, {2, 3, 5, 4}}) {
      Network net(dims);
      std::vector<double> target = random_vector(static_cast<std::size_t>(net.m() * net.n()), rng, normal);
      Flow flow(net, quadratic_cost_on(target.data(), net.m(), net.n()), act, Inputs{}, slope);
      FlowWorkspace ws(flow);
      std::vector<double> y = random_vector(net.state_size(), rng, normal), dy(net.state_size());
      std::vector<double> out(static_cast<std::size_t>(net.m() * net.n()));
      flow.product(y.data(), out.data(), ws);
      const std::vector<double> ref = output_by_loops(net, y.data(), nullptr, net.n(), act, slope);
      double out_err = 0.0;
      for (std::size_t i = 0; i < out.size(); ++i) out_err = std::fmax(out_err, std::fabs(out[i] - ref[i]));
      CHECK(out_err < 1e-12, "identity input, activation %d: |P - loops| = %.3e", static_cast<int>(act), out_err);
      flow.rhs(y.data(), dy.data(), ws);
      double max_ref = 0.0;
      const double max_err = fd_error(flow, ws, y, dy, max_ref);
      CHECK(max_err < 1e-7 * (1.0 + max_ref), "identity input, activation %d depth %d: max |dy + fd| = %.3e",
            static_cast<int>(act), net.depth(), max_err);
    }
  }

  // Linear activation on data X with the squared loss 1/2 ||Yhat - Y||^2 is the linear network on
  // the regression cost 1/2 ||P X - Y||^2: the same value and RHS to rounding.
  for (const auto& dims : kDataCaseDims) {
    const std::int64_t samples = 9;
    Network net(dims);
    Regression reg;
    reg.s = samples;
    reg.X = random_vector(static_cast<std::size_t>(net.n() * samples), rng, normal);
    reg.Y = random_vector(static_cast<std::size_t>(net.m() * samples), rng, normal);
    Cost on_p;
    on_p.value_and_grad = &regression_cost;
    on_p.data = &reg;
    on_p.m = net.m();
    on_p.n = net.n();
    Flow linear(net, on_p);
    Flow on_data(net, quadratic_cost_on(reg.Y.data(), net.m(), samples), Activation::none,
                 Inputs{reg.X.data(), samples, false});
    FlowWorkspace ws_linear(linear), ws_data(on_data);
    std::vector<double> y = random_vector(net.state_size(), rng, normal), d1(net.state_size()), d2(net.state_size());
    const double g1 = linear.rhs(y.data(), d1.data(), ws_linear), g2 = on_data.rhs(y.data(), d2.data(), ws_data);
    CHECK(std::fabs(g1 - g2) < 1e-13 * std::fabs(g1), "depth %d: value %.17g vs %.17g", net.depth(), g1, g2);
    double err = 0.0, scale = 0.0;
    for (std::size_t i = 0; i < d1.size(); ++i) {
      err = std::fmax(err, std::fabs(d1[i] - d2[i]));
      scale = std::fmax(scale, std::fabs(d1[i]));
    }
    CHECK(err < 1e-13 * scale, "depth %d: linear on data vs the linear network: max |dy| difference %.3e (scale %.3e)",
          net.depth(), err, scale);
  }

  // Misuse: refused with std::invalid_argument or std::logic_error, never a wrong answer.
  {
    Network net({3, 4, 2}), biased({3, 4, 2}, true);
    std::vector<double> X(3 * 5, 0.5), target(2 * 5, 0.0), square(2 * 3, 0.0);
    const Cost on_data = quadratic_cost_on(target.data(), 2, 5), on_identity = quadratic_cost_on(square.data(), 2, 3);
    CHECK(throws_invalid([&] { Flow(net, on_identity, Activation::tanh, Inputs{X.data(), 5, false}); }),
          "a cost of the identity's shape on 5 samples");
    CHECK(throws_invalid([&] { Flow(net, on_data, Activation::tanh); }), "a cost of the data's shape without data");
    CHECK(throws_invalid([&] { Flow(biased, on_data, Activation::tanh, Inputs{X.data(), 5, false}); }),
          "a bias flag that does not match the network's");
    CHECK(throws_invalid([&] { Flow(biased, on_identity, Activation::tanh, Inputs{nullptr, 0, true}); }),
          "a bias without data");
    CHECK(throws_invalid([&] { Flow(net, on_data, Activation::leaky_relu, Inputs{X.data(), 5, false}, NAN); }),
          "a NaN leaky slope");
    CHECK(throws_invalid([&] { overflow::invariants_size(biased); }), "the invariants C_i of a network with biases");
    Flow flow(net, on_data, Activation::tanh, Inputs{X.data(), 5, false});
    FlowWorkspace identity_sized(net);  // sized for the identity input, not for 5 samples
    std::vector<double> y(net.state_size(), 0.1), dy(net.state_size());
    bool refused = false;
    try {
      flow.rhs(y.data(), dy.data(), identity_sized);
    } catch (const std::logic_error&) {
      refused = true;
    }
    CHECK(refused, "a workspace sized for another flow");
    Cost without_hvp = on_data;
    without_hvp.hvp = nullptr;
    Flow no_hvp(net, without_hvp, Activation::tanh, Inputs{X.data(), 5, false});
    CHECK(throws_invalid([&] { no_hvp.jvp(y.data(), y.data(), dy.data()); }), "the exact jvp without the cost's hvp");
  }
  return check_report("test_data_flow");
}
