// The sliding gates' system (sliding_jacobian.hpp) against whole right-hand sides: at a state whose sliding
// entries have pre-activation exactly 0 (each of their rows projected off the columns it meets there), the
// forward pass does not read their gates, so the Flow's own right-hand side under backward gates lambda is the
// oracle. The rates are multilinear (affine in each gate), so central differences in one gate are exact up to
// rounding: the Jacobian must match them to 1e-8 of its largest entry; regate() must match the whole right-hand
// side at the new gates to 1e-12 of its largest entry. Depth 2 and 3, relu and leaky relu, with and without
// biases, the identity input, entries sharing rows, columns and (depth 3) columns across layers.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "check.hpp"
#include "overflow/detail/sliding_jacobian.hpp"
#include "overflow/network.hpp"
#include "quadratic_cost.hpp"

namespace {

using overflow::Activation;
using overflow::Flow;
using overflow::FlowWorkspace;
using overflow::Inputs;
using overflow::Network;
using overflow::detail::SlidingColumns;

struct Entry {
  int layer;
  std::int64_t row, column;
};

struct Case {
  std::vector<std::int64_t> dims;
  bool bias, identity;
  Activation activation;
  double slope;
  std::vector<Entry> entries;
};

// Zeroes the pre-activations at the entries by projecting each affected row [W_j | b_j] of y off the columns
// [H_{i-1}[:, c]; 1] it meets there, layer by layer; returns the forward gates (sign of A, the middle of
// [slope, 1] at the entries).
std::vector<double> zero_entries(const Network& net, const Case& cs, const std::vector<double>& X, std::int64_t s,
                                 const std::vector<std::size_t>& layer_at, std::vector<double>& y) {
  std::vector<double> F(layer_at.back(), 1.0), H = X;
  const double mid = cs.slope + 0.5 * (1.0 - cs.slope);
  for (int i = 0; i + 1 < net.depth(); ++i) {
    const std::int64_t r = net.rows(i), c = net.cols(i), ld = net.stride(i);
    double* W = y.data() + net.offset(i);
    for (std::int64_t j = 0; j < r; ++j) {
      std::vector<std::vector<double>> basis;  // orthonormal, Gram-Schmidt over the row's entry columns
      for (const Entry& e : cs.entries) {
        if (e.layer != i || e.row != j) continue;
        std::vector<double> v(static_cast<std::size_t>(ld));
        for (std::int64_t q = 0; q < c; ++q)
          v[static_cast<std::size_t>(q)] = H[static_cast<std::size_t>(q * s + e.column)];
        if (cs.bias) v[static_cast<std::size_t>(c)] = 1.0;
        for (int pass = 0; pass < 2; ++pass)
          for (const auto& b : basis) {
            double dot = 0.0;
            for (std::size_t q = 0; q < v.size(); ++q) dot += v[q] * b[q];
            for (std::size_t q = 0; q < v.size(); ++q) v[q] -= dot * b[q];
          }
        double norm = 0.0;
        for (double x : v) norm += x * x;
        for (double& x : v) x /= std::sqrt(norm);
        basis.push_back(v);
      }
      for (int pass = 0; pass < 2; ++pass)
        for (const auto& b : basis) {
          double dot = 0.0;
          for (std::int64_t q = 0; q < ld; ++q) dot += W[j * ld + q] * b[static_cast<std::size_t>(q)];
          for (std::int64_t q = 0; q < ld; ++q) W[j * ld + q] -= dot * b[static_cast<std::size_t>(q)];
        }
    }
    std::vector<double> next(static_cast<std::size_t>(r * s));
    for (std::int64_t j = 0; j < r; ++j)
      for (std::int64_t col = 0; col < s; ++col) {
        double a = cs.bias ? W[j * ld + c] : 0.0;
        for (std::int64_t q = 0; q < c; ++q) a += W[j * ld + q] * H[static_cast<std::size_t>(q * s + col)];
        const std::size_t k = layer_at[static_cast<std::size_t>(i)] + static_cast<std::size_t>(j * s + col);
        F[k] = a > 0.0 ? 1.0 : cs.slope;
        for (const Entry& e : cs.entries)
          if (e.layer == i && e.row == j && e.column == col) F[k] = mid;
        next[static_cast<std::size_t>(j * s + col)] = F[k] * a;
      }
    H = std::move(next);
  }
  return F;
}

int check_case(const Case& cs, std::mt19937& rng) {
  const int before = check_failures();
  const Network net(cs.dims, cs.bias);
  const std::int64_t n = cs.dims.front(), s = cs.identity ? n : 6;
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> X = random_vector(static_cast<std::size_t>(n * s), rng, normal);
  if (cs.identity) {
    std::fill(X.begin(), X.end(), 0.0);
    for (std::int64_t j = 0; j < n; ++j) X[static_cast<std::size_t>(j * s + j)] = 1.0;
  }
  std::vector<double> target = random_vector(static_cast<std::size_t>(net.m() * s), rng, normal);
  std::vector<double> y = random_vector(net.state_size(), rng, normal);
  const Flow flow(net, quadratic_cost_on(target.data(), net.m(), s), cs.activation,
                  cs.identity ? Inputs{} : Inputs{X.data(), s, cs.bias}, cs.slope);
  std::vector<std::size_t> layer_at(1, 0);
  for (int i = 0; i + 1 < net.depth(); ++i)
    layer_at.push_back(layer_at.back() + static_cast<std::size_t>(net.rows(i) * s));
  const std::vector<double> F = zero_entries(net, cs, X, s, layer_at, y);
  std::vector<std::size_t> entries;
  for (const Entry& e : cs.entries)
    entries.push_back(layer_at[static_cast<std::size_t>(e.layer)] + static_cast<std::size_t>(e.row * s + e.column));
  const std::size_t p = entries.size();
  std::uniform_real_distribution<double> in_range(cs.slope, 1.0);
  std::vector<double> L = F;
  for (std::size_t k : entries) L[k] = in_range(rng);

  FlowWorkspace ws(flow);
  SlidingColumns columns(flow);
  for (std::size_t q = 0; q < p; ++q) CHECK(columns.column(entries[q]) == cs.entries[q].column, "entry %zu", q);
  // The pre-activations at the entries are 0 to rounding.
  ws.gates = F.data();
  std::vector<double> dy_forward(net.state_size()), dy(dy_forward.size());
  flow.rhs(y.data(), dy_forward.data(), ws);
  for (std::size_t k : entries)
    CHECK(std::fabs(ws.pre_act[k]) < 1e-13, "pre-activation %g at entry %zu", ws.pre_act[k], k);
  // regate: from the forward gates to L, against the whole right-hand side under L.
  std::vector<double> regated = dy_forward;
  std::vector<double> from;
  for (std::size_t k : entries) from.push_back(F[k]);
  columns.regate(entries, y.data(), L.data(), from.data(), ws, regated.data());
  ws.gates = L.data();
  flow.rhs(y.data(), dy.data(), ws);
  double largest = 0.0, err = 0.0, moved = 0.0;
  for (std::size_t q = 0; q < dy.size(); ++q) {
    largest = std::max(largest, std::fabs(dy[q]));
    err = std::max(err, std::fabs(regated[q] - dy[q]));
    moved = std::max(moved, std::fabs(dy_forward[q] - dy[q]));
  }
  CHECK(err <= 1e-12 * largest, "regate off by %g (largest %g)", err, largest);
  CHECK(moved > 1e-3 * largest, "the gates barely move dy (%g): the check cannot fail", moved);
  // The Jacobian at L against central differences of the rates (forward gates F) in each gate.
  std::vector<double> J(p * p), fd(p * p), rp(p), rm(p);
  columns.jacobian(entries, y.data(), F.data(), L.data(), ws, J.data());
  const double h = 0.05 * (1.0 - cs.slope);
  for (std::size_t q = 0; q < p; ++q) {
    std::vector<double> Lq = L;
    Lq[entries[q]] = L[entries[q]] + h;
    ws.gates = Lq.data();
    flow.rhs(y.data(), dy.data(), ws);
    columns.rates(entries, y.data(), dy.data(), F.data(), ws, rp.data());
    Lq[entries[q]] = L[entries[q]] - h;
    flow.rhs(y.data(), dy.data(), ws);
    columns.rates(entries, y.data(), dy.data(), F.data(), ws, rm.data());
    for (std::size_t i = 0; i < p; ++i) fd[q * p + i] = (rp[i] - rm[i]) / (2 * h);
  }
  double scale = 0.0, worst = 0.0;
  for (std::size_t q = 0; q < p * p; ++q) {
    scale = std::max(scale, std::fabs(fd[q]));
    worst = std::max(worst, std::fabs(J[q] - fd[q]));
  }
  CHECK(scale > 0.0 && worst <= 1e-8 * scale, "Jacobian off by %g of %g (depth %zu, bias %d, identity %d, slope %g)",
        worst, scale, cs.dims.size() - 1, cs.bias, cs.identity, cs.slope);
  // A gate of a lower layer in the same column as a deeper entry: the cross term is there and matched.
  for (std::size_t q = 0; q < p; ++q)
    for (std::size_t i = 0; i < p; ++i)
      if (cs.entries[q].layer < cs.entries[i].layer && cs.entries[q].column == cs.entries[i].column)
        CHECK(std::fabs(fd[q * p + i]) > 1e-6 * scale, "cross term %zu -> %zu vanishes", q, i);
  return check_failures() - before;
}

}  // namespace

int main() {
  std::mt19937 rng(18);
  const std::vector<Entry> two = {{0, 1, 2}, {0, 3, 2}, {0, 1, 4}, {0, 0, 5}};
  const std::vector<Entry> three = {{0, 1, 2}, {0, 3, 2}, {1, 0, 2}, {1, 2, 4}, {0, 2, 4}, {1, 2, 0}, {0, 4, 1}};
  const std::vector<Entry> identity = {{0, 1, 2}, {0, 3, 2}, {0, 1, 0}};
  for (const Activation act : {Activation::relu, Activation::leaky_relu}) {
    const double slope = act == Activation::relu ? 0.0 : 0.2;
    for (const bool bias : {false, true}) {
      check_case({{3, 5, 2}, bias, false, act, slope, two}, rng);
      check_case({{3, 5, 4, 2}, bias, false, act, slope, three}, rng);
    }
    check_case({{4, 5, 2}, false, true, act, slope, identity}, rng);
    check_case({{4, 5, 4, 3}, false, true, act, slope, {{0, 1, 2}, {1, 2, 2}, {0, 2, 3}}}, rng);
  }
  return check_report("test_sliding_jacobian");
}
