// The Jacobian of the data sweep's flow applied to a direction, by forward-over-reverse. With the
// sweep's forward pass A_i = W_i H_{i-1} + b_i 1^T, H_i = sigma(A_i), Yhat = A_N and its backward pass
// Z_N = grad f(Yhat), B_{i-1} = W_i^T Z_i, Z_{i-1} = B_{i-1} * sigma'(A_{i-1}), differentiating along
// v = (V_i, c_i) gives
//   dA_i = V_i H_{i-1} + c_i 1^T + W_i dH_{i-1},  dH_i = sigma'(A_i) * dA_i  (dH_0 = 0),
//   dZ_N = Hess f(Yhat)[dA_N],
//   dZ_{i-1} = (V_i^T Z_i + W_i^T dZ_i) * sigma'(A_{i-1}) + B_{i-1} * sigma''(A_{i-1}) * dA_{i-1},
//   J v = -[dZ_i H_{i-1}^T + Z_i dH_{i-1}^T | dZ_i 1].
// What depends on the state alone (H_i, sigma'(A_i), the curvature C_i = B_i * sigma''(A_i), every
// Z_i, Yhat) is kept for the state in JvpWorkspace::point: the products of one step, and the columns
// of an assembled Jacobian, share it; each product then costs about three right-hand sides' GEMMs.
#include "data_jvp.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "activation_functions.hpp"
#include "layer_views.hpp"
#include "overflow/detail/sizes.hpp"

namespace overflow::detail {

namespace {

// dst = alpha a b, or dst += alpha a b.
template <class Dst, class Lhs, class Rhs>
void multiply(Dst dst, const Lhs& a, const Rhs& b, double alpha, bool accumulate) {
  if (a.rows() * a.cols() * b.cols() <= kLoopProduct) {
    if (accumulate)
      dst += alpha * a.lazyProduct(b);
    else
      dst = alpha * a.lazyProduct(b);
  } else if (accumulate) {
    dst.noalias() += alpha * a * b;
  } else {
    dst.noalias() = alpha * a * b;
  }
}

ConstWeightsView weights(const Network& net, const double* y, int l) {
  return ConstWeightsView(y + net.offset(l), net.rows(l), net.cols(l), Eigen::OuterStride<>(net.stride(l)));
}

// out (r x s) = W H + b 1^T for layer l's stored rows of y; H null is the identity input (a copy of W).
void affine(const Network& net, const double* y, int l, const double* H, std::int64_t s, double* out) {
  MatrixView O(out, net.rows(l), s);
  const ConstWeightsView W = weights(net, y, l);
  if (H == nullptr) {
    O = W;
    return;
  }
  multiply(O, W, ConstMatrixView(H, net.cols(l), s), 1.0, false);
  if (net.bias())
    O.colwise() += ConstBiasView(y + net.offset(l) + net.cols(l), net.rows(l), Eigen::InnerStride<>(net.stride(l)));
}

// The segments of JvpWorkspace::sweep. The hidden buffers hold layer l (0 <= l < N - 1) at
// at(l) = sum_{q < l} k_q s; Z holds every layer's Z (layer N - 1's, grad f, at `hidden`).
struct Segments {
  std::size_t hidden = 0, outputs = 0, widest = 0;  // sum_{l < N-1} k_l s, m s, max_l k_l s
  double *H, *D1, *C, *Z, *Yhat, *dA, *dH, *dYhat, *dG, *dZ, *dZn;
};

template <class Sigma>
Segments segments(const Flow& f, JvpWorkspace& ws) {
  const Network& net = f.network();
  const auto s = static_cast<std::size_t>(f.columns());
  Segments g;
  for (int l = 0; l + 1 < net.depth(); ++l) g.hidden += static_cast<std::size_t>(net.rows(l)) * s;
  g.outputs = static_cast<std::size_t>(net.m()) * s;
  g.widest = static_cast<std::size_t>(net.max_dim()) * s;
  // Sized by the Flow's own check (network.cpp): each part fits; their sum is checked here.
  const std::size_t parts[] = {
      g.hidden,                        // H
      Sigma::identity ? 0 : g.hidden,  // D1
      Sigma::curved ? g.hidden : 0,    // C
      g.hidden + g.outputs,            // Z
      g.outputs,                       // Yhat
      g.hidden,                        // dA
      Sigma::identity ? 0 : g.hidden,  // dH
      g.outputs,                       // dYhat
      g.outputs,                       // dG
      g.widest,                        // dZ
      g.widest,                        // dZn
  };
  std::size_t total = 0;
  for (std::size_t p : parts)
    if (!size_add(total, p, total)) throw std::invalid_argument("the flow's Jacobian workspace does not fit in a size");
  if (ws.sweep.size() != total) {
    check_memory(total, "the flow's Jacobian-vector product workspace on data");
    ws.sweep.assign(total, 0.0);
    ws.has_point = false;
  }
  double* at = ws.sweep.data();
  auto take = [&at](std::size_t n) {
    double* p = at;
    at += n;
    return p;
  };
  g.H = take(parts[0]);
  g.D1 = take(parts[1]);
  g.C = take(parts[2]);
  g.Z = take(parts[3]);
  g.Yhat = take(parts[4]);
  g.dA = take(parts[5]);
  g.dH = take(parts[6]);
  g.dYhat = take(parts[7]);
  g.dG = take(parts[8]);
  g.dZ = take(parts[9]);
  g.dZn = take(parts[10]);
  if (Sigma::identity) g.D1 = nullptr, g.dH = g.dA;  // H_i = A_i, dH_i = dA_i
  return g;
}

template <class Sigma>
struct DataJvp {
  // The forward and backward passes at y: H_i, sigma'(A_i), C_i, every Z_i and Yhat; returns g(y).
  static double prepare_point(const Flow& f, const double* y, const Segments& g, JvpWorkspace& ws) {
    const Network& net = f.network();
    const std::int64_t s = f.columns(), m = net.m();
    const int N = net.depth();
    const double slope = f.leaky_slope();
    const double* input = f.inputs().X;
    std::size_t at = 0;
    for (int l = 0; l < N; ++l) {
      const bool last = l + 1 == N;
      double* A = last ? g.Yhat : g.H + at;
      affine(net, y, l, input, s, A);
      if (last) break;
      const std::size_t size = static_cast<std::size_t>(net.rows(l) * s);
      if constexpr (!Sigma::identity) {
        double* __restrict D1 = g.D1 + at;
        double* __restrict C = g.C + at;  // sigma''(A) for now: the curvature once B is known
        for (std::size_t q = 0; q < size; ++q) {
          const double a = A[q], h = Sigma::value(a, slope);
          D1[q] = Sigma::derivative(a, h, slope);
          if constexpr (Sigma::curved) C[q] = Sigma::second_derivative(a, h, slope);
          A[q] = h;
        }
      }
      input = g.H + at;
      at += size;
    }
    ws.value = f.cost().value_and_grad(g.Yhat, m, s, g.Z + g.hidden, f.cost().data);
    std::copy(y, y + net.state_size(), ws.point.begin());
    ws.has_point = true;
    if (!(ws.value - ws.value == 0.0)) return ws.value;
    // Backward: B_{l-1} = W_l^T Z_l into Z_{l-1}'s place, then Z_{l-1} = B * sigma', C = B * sigma''.
    std::size_t z_at = g.hidden;  // Z_l, layer l from N - 1 down
    for (int l = N - 1; l >= 1; --l) {
      const std::int64_t c = net.cols(l);
      const std::size_t below = z_at - static_cast<std::size_t>(c * s);
      double* __restrict Zp = g.Z + below;
      multiply(MatrixView(Zp, c, s), weights(net, y, l).transpose(), ConstMatrixView(g.Z + z_at, net.rows(l), s), 1.0,
               false);
      if constexpr (!Sigma::identity) {
        const double* __restrict D1 = g.D1 + below;
        double* __restrict C = g.C + below;
        for (std::size_t q = 0; q < static_cast<std::size_t>(c * s); ++q) {
          if constexpr (Sigma::curved) C[q] *= Zp[q];
          Zp[q] *= D1[q];
        }
      }
      z_at = below;
    }
    return ws.value;
  }

  static double jvp(const Flow& f, const double* y, const double* v, double* out, JvpWorkspace& ws) {
    const Network& net = f.network();
    const std::int64_t s = f.columns(), m = net.m();
    const int N = net.depth();
    const bool bias = net.bias();
    const Segments g = segments<Sigma>(f, ws);
    // Compared bit for bit, so a state changed in place in the same buffer is recomputed.
    if (!ws.has_point || std::memcmp(y, ws.point.data(), net.state_size() * sizeof(double)) != 0)
      prepare_point(f, y, g, ws);
    if (!(ws.value - ws.value == 0.0)) {  // outside the cost's domain: no Jacobian
      std::fill(out, out + net.state_size(), std::numeric_limits<double>::quiet_NaN());
      return ws.value;
    }
    const double* X = f.inputs().X;
    // Tangent of the forward pass.
    std::size_t at = 0;
    for (int l = 0; l < N; ++l) {
      const bool last = l + 1 == N;
      const std::int64_t r = net.rows(l);
      double* dA = last ? g.dYhat : g.dA + at;
      // V_l H_{l-1} + c_l 1^T (the identity input: V_l), then + W_l dH_{l-1}
      affine(net, v, l, l == 0 ? X : g.H + at - static_cast<std::size_t>(net.cols(l) * s), s, dA);
      if (l > 0)
        multiply(MatrixView(dA, r, s), weights(net, y, l),
                 ConstMatrixView(g.dH + at - static_cast<std::size_t>(net.cols(l) * s), net.cols(l), s), 1.0, true);
      if (last) break;
      const std::size_t size = static_cast<std::size_t>(r * s);
      if constexpr (!Sigma::identity) {
        const double* __restrict D1 = g.D1 + at;
        double* __restrict dH = g.dH + at;
        for (std::size_t q = 0; q < size; ++q) dH[q] = D1[q] * dA[q];
      }
      at += size;
    }
    f.cost().hvp(g.Yhat, g.dYhat, m, s, g.dG, f.cost().data);
    // Tangent of the backward pass, from dZ_N = dG; `at` is now where layer l - 1's hidden buffers are.
    const double* dZ = g.dG;
    double* spare[2] = {g.dZ, g.dZn};
    int which = 0;
    std::size_t z_at = g.hidden;
    for (int l = N - 1; l >= 0; --l) {
      const std::int64_t r = net.rows(l), c = net.cols(l), ld = net.stride(l);
      const ConstMatrixView dZl(dZ, r, s);
      double* o = out + net.offset(l);
      WeightsView dW(o, r, c, Eigen::OuterStride<>(ld));
      if (bias) BiasView(o + c, r, Eigen::InnerStride<>(ld)) = -dZl.rowwise().sum();
      if (l == 0) {  // H_0 = X (dH_0 = 0), or the identity input
        if (X == nullptr)
          dW = -dZl;
        else
          multiply(dW, dZl, ConstMatrixView(X, c, s).transpose(), -1.0, false);
        break;
      }
      const std::size_t below = z_at - static_cast<std::size_t>(c * s);
      const ConstMatrixView Zl(g.Z + z_at, r, s);
      multiply(dW, dZl, ConstMatrixView(g.H + below, c, s).transpose(), -1.0, false);
      multiply(dW, Zl, ConstMatrixView(g.dH + below, c, s).transpose(), -1.0, true);
      // dZ_{l-1} = (V_l^T Z_l + W_l^T dZ_l) * sigma'(A_{l-1}) + C_{l-1} * dA_{l-1}
      double* __restrict next = spare[which];
      MatrixView T(next, c, s);
      multiply(T, weights(net, v, l).transpose(), Zl, 1.0, false);
      multiply(T, weights(net, y, l).transpose(), dZl, 1.0, true);
      if constexpr (!Sigma::identity) {
        const double* __restrict D1 = g.D1 + below;
        const std::size_t size = static_cast<std::size_t>(c * s);
        if constexpr (Sigma::curved) {
          const double* __restrict C = g.C + below;
          const double* __restrict dA = g.dA + below;
          for (std::size_t q = 0; q < size; ++q) next[q] = next[q] * D1[q] + C[q] * dA[q];
        } else {
          for (std::size_t q = 0; q < size; ++q) next[q] *= D1[q];
        }
      }
      dZ = next;
      which ^= 1;
      z_at = below;
    }
    return ws.value;
  }
};

}  // namespace

double data_jvp(const Flow& f, const double* y, const double* v, double* out, JvpWorkspace& ws) {
  switch (f.activation()) {
    case Activation::none: return DataJvp<Linear>::jvp(f, y, v, out, ws);
    case Activation::isru: return DataJvp<Isru>::jvp(f, y, v, out, ws);
    case Activation::tanh: return DataJvp<Tanh>::jvp(f, y, v, out, ws);
    case Activation::relu: return DataJvp<Relu>::jvp(f, y, v, out, ws);
    case Activation::leaky_relu: return DataJvp<LeakyRelu>::jvp(f, y, v, out, ws);
    case Activation::sigmoid: return DataJvp<Sigmoid>::jvp(f, y, v, out, ws);
    case Activation::softplus: return DataJvp<Softplus>::jvp(f, y, v, out, ws);
    case Activation::gelu: return DataJvp<Gelu>::jvp(f, y, v, out, ws);
  }
  throw std::invalid_argument("unknown activation code " + std::to_string(static_cast<int>(f.activation())));
}

}  // namespace overflow::detail
