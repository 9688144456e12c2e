// The flow's Jacobian applied to a direction: d/de [-grad g(y + e v)] at e = 0, exact through the
// cost's Hessian-vector product. Used by the implicit methods and method "auto" (Newton and
// Rosenbrock stages, GMRES, power iterations), so it runs on a workspace allocated once and on
// plain loops: Eigen's dynamic-size products allocated in every call and took 5 us on problem (a),
// 30 right-hand sides' worth.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "data_jvp.hpp"
#include "overflow/network.hpp"
#include "small_n.hpp"

namespace overflow {

namespace {

// The helpers take the small dimension n as NS at compile time where small_n.hpp specialises it
// (NS = 0: at run time): the inner loops over n are then unrolled, which measured about 2x on n = 6.

// out (p x n) = X (p x q) Y (q x n), or out += X Y; all row-major.
template <int NS, bool Add>
void mul(double* __restrict out, const double* __restrict X, const double* __restrict Y, std::int64_t p, std::int64_t q,
         std::int64_t n_run) {
  const std::int64_t n = NS > 0 ? NS : n_run;
  for (std::int64_t i = 0; i < p; ++i) {
    double* o = out + i * n;
    if (!Add) std::fill(o, o + n, 0.0);
    for (std::int64_t k = 0; k < q; ++k) {
      const double x = X[i * q + k];
      const double* y = Y + k * n;
      for (std::int64_t j = 0; j < n; ++j) o[j] += x * y[j];
    }
  }
}

// out (q x n) = X^T Y (X p x q, Y p x n), or out += X^T Y.
template <int NS, bool Add>
void mul_tn(double* __restrict out, const double* __restrict X, const double* __restrict Y, std::int64_t p,
            std::int64_t q, std::int64_t n_run) {
  const std::int64_t n = NS > 0 ? NS : n_run;
  if (!Add) std::fill(out, out + q * n, 0.0);
  for (std::int64_t i = 0; i < p; ++i) {
    const double* y = Y + i * n;
    for (std::int64_t k = 0; k < q; ++k) {
      const double x = X[i * q + k];
      double* o = out + k * n;
      for (std::int64_t j = 0; j < n; ++j) o[j] += x * y[j];
    }
  }
}

// out (p x q) = -(X A^T + Y B^T) for X, Y p x n and A, B q x n.
template <int NS>
void neg_mul_nt2(double* __restrict out, const double* X, const double* A, const double* Y, const double* B,
                 std::int64_t p, std::int64_t q, std::int64_t n_run) {
  const std::int64_t n = NS > 0 ? NS : n_run;
  for (std::int64_t i = 0; i < p; ++i)
    for (std::int64_t k = 0; k < q; ++k) {
      double acc = 0.0;
      for (std::int64_t j = 0; j < n; ++j) acc += X[i * n + j] * A[k * n + j] + Y[i * n + j] * B[k * n + j];
      out[i * q + k] = -acc;
    }
}

}  // namespace

JvpWorkspace::JvpWorkspace(const Network& net, ThreadTeam* team_) : team(team_) {
  const auto n = static_cast<std::size_t>(net.n());
  std::size_t prefixes = 0, widest = static_cast<std::size_t>(net.m());
  back_at.assign(static_cast<std::size_t>(net.depth()), 0);
  for (int l = 0; l < net.depth(); ++l) {
    back_at[static_cast<std::size_t>(l)] = prefixes;
    prefixes += static_cast<std::size_t>(net.rows(l)) * n;
    widest = std::max(widest, static_cast<std::size_t>(net.rows(l)));
  }
  prefix.assign(prefixes, 0.0);
  back.assign(prefixes, 0.0);
  at.assign(static_cast<std::size_t>(net.depth()), nullptr);
  dat.assign(static_cast<std::size_t>(net.depth()), nullptr);
  dprefix.assign(prefixes, 0.0);
  point.assign(net.state_size(), 0.0);
  for (auto* buffer : {&dgrad, &dnext}) buffer->assign(widest * n, 0.0);
}

namespace {

// With prefixes A_i = W_i ... W_1 (A_0 = I), B_N = grad f(P) and B_{i-1} = W_i^T B_i, the flow is
// dW_i = -B_i A_{i-1}^T. Differentiating along V: dA_i = V_i A_{i-1} + W_i dA_{i-1},
// dB_N = Hess f(P)[dA_N], dB_{i-1} = V_i^T B_i + W_i^T dB_i, and
// d(dW_i) = -(dB_i A_{i-1}^T + B_i dA_{i-1}^T). The A_i, B_i and g are those of the state alone:
// computed once per state (prepare_point), then each product costs about one right-hand side.

// Prefix l (0-based) is A_{l+1} = W_{l+1} ... W_1, rows(l) x n; A_1 = W_1 in place.
template <int NS>
void prepare_point(const Network& net, const Cost& cost, const double* y, JvpWorkspace& ws) {
  const int N = net.depth();
  const std::int64_t n = NS > 0 ? NS : net.n(), m = net.m();
  std::size_t at = 0;
  for (int l = 1; l < N; ++l) {
    const std::int64_t r = net.rows(l), c = net.cols(l);
    const double* prev = l == 1 ? y + net.offset(0) : ws.prefix.data() + at - static_cast<std::size_t>(c * n);
    mul<NS, false>(ws.prefix.data() + at, y + net.offset(l), prev, r, c, n);
    at += static_cast<std::size_t>(r * n);
  }
  const double* P = N == 1 ? y + net.offset(0) : ws.prefix.data() + at - static_cast<std::size_t>(m * n);
  ws.value = cost.value_and_grad(P, m, n, ws.back.data() + ws.back_at[static_cast<std::size_t>(N - 1)], cost.data);
  for (int l = N - 1; l >= 1; --l)  // B_l = W_{l+1}^T B_{l+1}
    mul_tn<NS, false>(ws.back.data() + ws.back_at[static_cast<std::size_t>(l - 1)], y + net.offset(l),
                      ws.back.data() + ws.back_at[static_cast<std::size_t>(l)], net.rows(l), net.cols(l), n);
  std::copy(y, y + net.state_size(), ws.point.begin());
  ws.has_point = std::isfinite(ws.value);
}

template <int NS>
double jvp_kernel(const Network& net, const Cost& cost, const double* y, const double* v, double* out,
                  JvpWorkspace& ws) {
  const int N = net.depth();
  const std::int64_t n = NS > 0 ? NS : net.n(), m = net.m();
  // Compared bit for bit, so a state changed in place in the same buffer is recomputed.
  if (!ws.has_point || std::memcmp(y, ws.point.data(), net.state_size() * sizeof(double)) != 0)
    prepare_point<NS>(net, cost, y, ws);
  std::vector<const double*>& A = ws.at;
  std::vector<const double*>& dA = ws.dat;
  std::size_t at = 0;
  for (int l = 0; l < N; ++l) {
    const std::int64_t r = net.rows(l), c = net.cols(l);
    const double* V = v + net.offset(l);
    if (l == 0) {
      A[0] = y + net.offset(0);
      dA[0] = V;
      continue;
    }
    double* da = ws.dprefix.data() + at;
    A[l] = ws.prefix.data() + at;
    at += static_cast<std::size_t>(r * n);
    mul<NS, false>(da, V, A[l - 1], r, c, n);
    mul<NS, true>(da, y + net.offset(l), dA[l - 1], r, c, n);
    dA[l] = da;
  }
  double* dB = ws.dgrad.data();
  cost.hvp(A[N - 1], dA[N - 1], m, n, dB, cost.data);
  for (int l = N - 1; l >= 0; --l) {  // dB is dB_{l+1}: rows(l) x n
    const std::int64_t r = net.rows(l), c = net.cols(l);
    double* o = out + net.offset(l);
    if (l == 0) {  // A_0 = I, dA_0 = 0
      for (std::int64_t i = 0; i < r * n; ++i) o[i] = -dB[i];
      break;
    }
    const double* B = ws.back.data() + ws.back_at[static_cast<std::size_t>(l)];
    neg_mul_nt2<NS>(o, dB, A[l - 1], B, dA[l - 1], r, c, n);
    mul_tn<NS, false>(ws.dnext.data(), v + net.offset(l), B, r, c, n);
    mul_tn<NS, true>(ws.dnext.data(), y + net.offset(l), dB, r, c, n);
    std::swap(ws.dgrad, ws.dnext);
    dB = ws.dgrad.data();
  }
  return ws.value;
}

}  // namespace

double Flow::jvp(const double* y, const double* v, double* out, JvpWorkspace& ws) const {
  if (cost_.hvp == nullptr)
    throw std::invalid_argument("the flow's Jacobian needs the cost's Hessian-vector product (hvp)");
  // The constructor's split (network.cpp): the flows of the data sweep take its tangent.
  if (on_data() || (activation_ != Activation::none && net_.depth() > 1)) return detail::data_jvp(*this, y, v, out, ws);
  return detail::with_small_n(net_.n(),
                              [&](auto ns) { return jvp_kernel<decltype(ns)::value>(net_, cost_, y, v, out, ws); });
}

double Flow::jvp(const double* y, const double* v, double* out) const {
  JvpWorkspace ws(net_);
  return jvp(y, v, out, ws);
}

}  // namespace overflow
