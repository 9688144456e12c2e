#include "data_sweep.hpp"

#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "activation_functions.hpp"
#include "layer_views.hpp"
#include "product_shares.hpp"

namespace overflow::detail {

namespace {

// Columns [j0, j1) of out (r x s) = W H + b 1^T for the stored rows [W | b] (row stride ld); H null is the
// identity input (c = s, no bias): out = W, a copy instead of a product.
void affine(const double* W, std::int64_t r, std::int64_t c, std::int64_t ld, bool bias, const double* H,
            std::int64_t s, std::int64_t j0, std::int64_t j1, double* out) {
  if (r * c * s <= kLoopProduct) {
    for (std::int64_t i = 0; i < r; ++i)
      for (std::int64_t j = j0; j < j1; ++j) {
        double sum = H == nullptr ? W[i * ld + j] : 0.0;
        for (std::int64_t q = 0; H != nullptr && q < c; ++q) sum += W[i * ld + q] * H[q * s + j];
        out[i * s + j] = bias ? sum + W[i * ld + c] : sum;
      }
    return;
  }
  const std::int64_t w = j1 - j0;
  WeightsView O(out + j0, r, w, Eigen::OuterStride<>(s));
  if (H == nullptr) {
    O = ConstWeightsView(W + j0, r, w, Eigen::OuterStride<>(ld));
    return;
  }
  const ConstWeightsView Wv(W, r, c, Eigen::OuterStride<>(ld));
  const ConstWeightsView Hv(H + j0, c, w, Eigen::OuterStride<>(s));
  if (bias) {  // start from b 1^T and accumulate: no zeroing pass, no second pass for the bias
    O = ConstBiasView(W + c, r, Eigen::InnerStride<>(ld)).replicate(1, w);
    O.noalias() += Wv * Hv;
  } else {
    O.noalias() = Wv * Hv;
  }
}

// Rows [i0, i1) of the layer's rows of dy: [dW | db] = -[Z H^T | Z 1] (Z r x s, H c x s), row stride ld.
void weight_gradient(const double* Z, const double* H, std::int64_t r, std::int64_t c, std::int64_t ld, bool bias,
                     std::int64_t s, std::int64_t i0, std::int64_t i1, double* d) {
  if (r * c * s <= kLoopProduct) {
    for (std::int64_t i = i0; i < i1; ++i) {
      for (std::int64_t q = 0; q < c; ++q) {
        double sum = 0.0;
        for (std::int64_t j = 0; j < s; ++j) sum += Z[i * s + j] * H[q * s + j];
        d[i * ld + q] = -sum;
      }
      if (bias) {
        double sum = 0.0;
        for (std::int64_t j = 0; j < s; ++j) sum += Z[i * s + j];
        d[i * ld + c] = -sum;
      }
    }
    return;
  }
  const std::int64_t n = i1 - i0;
  const ConstMatrixView Zv(Z + i0 * s, n, s);
  WeightsView(d + i0 * ld, n, c, Eigen::OuterStride<>(ld)).noalias() = -Zv * ConstMatrixView(H, c, s).transpose();
  if (bias) BiasView(d + i0 * ld + c, n, Eigen::InnerStride<>(ld)) = -Zv.rowwise().sum();
}

// Columns [j0, j1) of out (c x s) = W^T Z for the weights W (r x c, row stride ld) and Z (r x s).
void back_propagate(const double* W, const double* Z, std::int64_t r, std::int64_t c, std::int64_t ld, std::int64_t s,
                    std::int64_t j0, std::int64_t j1, double* out) {
  if (r * c * s <= kLoopProduct) {
    for (std::int64_t q = 0; q < c; ++q)
      for (std::int64_t j = j0; j < j1; ++j) {
        double sum = 0.0;
        for (std::int64_t i = 0; i < r; ++i) sum += W[i * ld + q] * Z[i * s + j];
        out[q * s + j] = sum;
      }
    return;
  }
  const std::int64_t w = j1 - j0;
  WeightsView(out + j0, c, w, Eigen::OuterStride<>(s)).noalias() =
      ConstWeightsView(W, r, c, Eigen::OuterStride<>(ld)).transpose() *
      ConstWeightsView(Z + j0, r, w, Eigen::OuterStride<>(s));
}

// GCC vectorises loops on 256-bit registers unless told otherwise; the activation loops (tanh's polynomial:
// a fifth of an evaluation at width 64) run 1.5x faster on AVX-512's 512-bit ones.
#if defined(__GNUC__) && !defined(__clang__) && defined(__AVX512F__)
#define OVERFLOW_WIDE_VECTORS __attribute__((noinline, target("prefer-vector-width=512")))
#else
#define OVERFLOW_WIDE_VECTORS
#endif

// h = sigma(a) on n entries.
template <class Sigma>
OVERFLOW_WIDE_VECTORS void activate(const double* __restrict a, double* __restrict h, std::int64_t n, double slope) {
  for (std::int64_t j = 0; j < n; ++j) h[j] = Sigma::value(a[j], slope);
}

// z *= sigma'(a) (given h = sigma(a)) on n entries.
template <class Sigma>
OVERFLOW_WIDE_VECTORS void times_derivative(const double* __restrict a, const double* __restrict h,
                                            double* __restrict z, std::int64_t n, double slope) {
  for (std::int64_t j = 0; j < n; ++j) z[j] *= Sigma::derivative(a[j], h[j], slope);
}

template <class Sigma>
struct DataSweep {
  static void check_workspace(const Flow& f, const FlowWorkspace& ws) {
    if (ws.samples != (f.on_data() ? f.columns() : 0))
      throw std::logic_error("this FlowWorkspace was sized for another flow: make it with FlowWorkspace(flow)");
  }

  // Where H_i is kept: with the identity activation H_i = A_i.
  static const double* hidden(const FlowWorkspace& ws) {
    return Sigma::identity ? ws.pre_act.data() : ws.prefix.data();
  }

  // Returns Yhat (m x s, in ws.z0); every hidden layer's A_i in ws.pre_act and H_i in ws.prefix,
  // layer i at sum_{q < i} k_q s.
  static const double* forward(const Flow& f, const double* y, FlowWorkspace& ws) {
    check_workspace(f, ws);
    const Network& net = f.network();
    const std::int64_t s = f.columns();
    const int N = net.depth();
    const double slope = f.leaky_slope();
    double* H = ws.prefix.data();
    double* A = ws.pre_act.data();
    const double* input = f.inputs().X;  // H_{i-1}; null: the identity input
    const double* gates = ws.gates;
    for (int i = 0; i < N; ++i) {
      const std::int64_t r = net.rows(i);
      const bool last = i + 1 == N;
      double* out = last ? ws.z0.data() : A;
      // Each share of sample columns: its product, then the activation of those columns while they are in cache.
      split(ws.team, r * net.cols(i) * s, s, kColumnGrain, [&](std::int64_t j0, std::int64_t j1) {
        affine(y + net.offset(i), r, net.cols(i), net.stride(i), net.bias(), input, s, j0, j1, out);
        if constexpr (!Sigma::identity) {
          if (last) return;
          if (gates) {  // a frozen activation pattern (activation_pattern.hpp): each entry's linear branch
            for (std::int64_t q = 0; q < r; ++q)
              for (std::int64_t j = q * s + j0; j < q * s + j1; ++j) H[j] = gates[j] * A[j];
          } else {
            for (std::int64_t q = 0; q < r; ++q) activate<Sigma>(A + q * s + j0, H + q * s + j0, j1 - j0, slope);
          }
        }
      });
      if (last) break;
      input = Sigma::identity ? A : H;
      const std::int64_t size = r * s;
      H += size;
      A += size;
      if (gates) gates += size;
    }
    return ws.z0.data();
  }

  static double rhs(const Flow& f, const double* y, double* dy, FlowWorkspace& ws) {
    const Network& net = f.network();
    const std::int64_t s = f.columns(), m = net.m();
    const int N = net.depth();
    const double slope = f.leaky_slope();
    const double* Yhat = forward(f, y, ws);
    const double value = f.cost().value_and_grad(Yhat, m, s, ws.grad.data(), f.cost().data);
    if (!(value - value == 0.0)) return value;

    std::size_t off = 0;  // where H_{i-1} and A_{i-1} are, for the current i
    for (int i = 0; i + 2 < N; ++i) off += static_cast<std::size_t>(net.rows(i) * s);
    const double* Z = ws.grad.data();  // Z_N = grad f(Yhat)
    double* zbuf[2] = {ws.z0.data(), ws.z1.data()};
    int which = 1;  // z0 holds Yhat until the cost is done with it; alternate from z1
    for (int i = N - 1; i >= 0; --i) {
      const std::int64_t r = net.rows(i), c = net.cols(i), ld = net.stride(i);
      const double* W = y + net.offset(i);
      double* d = dy + net.offset(i);
      const double* Hp = i == 0 ? f.inputs().X : hidden(ws) + off;  // H_{i-1}, c x s
      if (Hp == nullptr) {                                          // the identity input: dW_1 = -Z_1
        for (std::int64_t q = 0; q < r * c; ++q) d[q] = -Z[q];
        break;
      }
      split(ws.team, r * c * s, r, kRowGrain,
            [&](std::int64_t i0, std::int64_t i1) { weight_gradient(Z, Hp, r, c, ld, net.bias(), s, i0, i1, d); });
      if (i == 0) break;
      double* Zn = zbuf[which];
      // Each share of sample columns: W^T Z, then sigma'(A_{i-1}) on those columns while they are in cache.
      const double* layer_gates = ws.gates ? ws.gates + off : nullptr;  // a frozen pattern: sigma' = gates
      split(ws.team, r * c * s, s, kColumnGrain, [&](std::int64_t j0, std::int64_t j1) {
        back_propagate(W, Z, r, c, ld, s, j0, j1, Zn);
        if constexpr (!Sigma::identity) {
          for (std::int64_t q = 0; q < c; ++q) {
            const std::size_t at = off + static_cast<std::size_t>(q * s + j0);
            if (layer_gates) {
              for (std::int64_t j = q * s + j0; j < q * s + j1; ++j) Zn[j] *= layer_gates[j];
            } else {
              times_derivative<Sigma>(ws.pre_act.data() + at, ws.prefix.data() + at, Zn + q * s + j0, j1 - j0, slope);
            }
          }
        }
      });
      Z = Zn;
      which ^= 1;
      if (i >= 2) off -= static_cast<std::size_t>(net.rows(i - 2) * s);
    }
    return value;
  }
};

template <class Sigma>
void select(Flow::RhsKernel& rhs, Flow::ProductKernel& product) {
  rhs = &DataSweep<Sigma>::rhs;
  product = &DataSweep<Sigma>::forward;
}

}  // namespace

void select_data_sweep(Activation activation, Flow::RhsKernel& rhs, Flow::ProductKernel& product) {
  switch (activation) {
    case Activation::none: select<Linear>(rhs, product); return;
    case Activation::isru: select<Isru>(rhs, product); return;
    case Activation::tanh: select<Tanh>(rhs, product); return;
    case Activation::relu: select<Relu>(rhs, product); return;
    case Activation::leaky_relu: select<LeakyRelu>(rhs, product); return;
    case Activation::sigmoid: select<Sigmoid>(rhs, product); return;
    case Activation::softplus: select<Softplus>(rhs, product); return;
    case Activation::gelu: select<Gelu>(rhs, product); return;
  }
  throw std::invalid_argument("unknown activation code " + std::to_string(static_cast<int>(activation)));
}

}  // namespace overflow::detail
