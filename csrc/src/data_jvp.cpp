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
// of an assembled Jacobian, share it; each product then costs two GEMMs where a right-hand side has one
// (1.95x its time at width 256 on 1024 samples, bench/data_network.py).
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
#include "product_shares.hpp"

namespace overflow::detail {

namespace {

// dst = alpha a b, or dst += alpha a b; `loops`: the whole product (of which this may be a team's share) has
// at most kLoopProduct multiply-adds, so every share takes the plain loops, as the whole would.
template <class Dst, class Lhs, class Rhs>
void multiply(Dst dst, const Lhs& a, const Rhs& b, double alpha, bool accumulate, bool loops) {
  if (loops) {
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

// Columns [j0, j1) of a row-major buffer of `rows` x s.
WeightsView columns(double* M, std::int64_t rows, std::int64_t s, std::int64_t j0, std::int64_t j1) {
  return WeightsView(M + j0, rows, j1 - j0, Eigen::OuterStride<>(s));
}
ConstWeightsView columns(const double* M, std::int64_t rows, std::int64_t s, std::int64_t j0, std::int64_t j1) {
  return ConstWeightsView(M + j0, rows, j1 - j0, Eigen::OuterStride<>(s));
}

// Whether layer l's products (rows x cols x s multiply-adds each) are plain loops (kLoopProduct).
bool loop_product(const Network& net, int l, std::int64_t s) { return net.rows(l) * net.cols(l) * s <= kLoopProduct; }

// Columns [j0, j1) of out (r x s) = W H + b 1^T for layer l's stored rows of y; H null is the identity
// input (a copy of W's columns).
void affine(const Network& net, const double* y, int l, const double* H, std::int64_t s, std::int64_t j0,
            std::int64_t j1, double* out) {
  const std::int64_t r = net.rows(l);
  WeightsView O = columns(out, r, s, j0, j1);
  const ConstWeightsView W = weights(net, y, l);
  if (H == nullptr) {
    O = W.middleCols(j0, j1 - j0);
    return;
  }
  multiply(O, W, columns(H, net.cols(l), s, j0, j1), 1.0, false, loop_product(net, l, s));
  if (net.bias()) O.colwise() += ConstBiasView(y + net.offset(l) + net.cols(l), r, Eigen::InnerStride<>(net.stride(l)));
}

// fn(begin, count) for the entries of columns [j0, j1) in each of the `rows` rows (of s) of a buffer.
template <class F>
void for_each_row(std::int64_t rows, std::int64_t s, std::int64_t j0, std::int64_t j1, F&& fn) {
  for (std::int64_t q = 0; q < rows; ++q) fn(static_cast<std::size_t>(q * s + j0), static_cast<std::size_t>(j1 - j0));
}

// On n entries of a hidden layer at the state: H = sigma(A) in place of A, D1 = sigma'(A) and (curved
// sigma) C = sigma''(A), the curvature once B is known.
template <class Sigma>
void activate(double* __restrict A, double* __restrict D1, double* __restrict C, std::size_t n, double slope) {
  for (std::size_t q = 0; q < n; ++q) {
    const double a = A[q], h = Sigma::value(a, slope);
    D1[q] = Sigma::derivative(a, h, slope);
    if constexpr (Sigma::curved) C[q] = Sigma::second_derivative(a, h, slope);
    A[q] = h;
  }
}

// The same under an activation pattern's gates G (relu-family): H = G A, D1 = G.
void activate_gated(double* __restrict A, double* __restrict D1, const double* __restrict G, std::size_t n) {
  for (std::size_t q = 0; q < n; ++q) {
    D1[q] = G[q];
    A[q] *= G[q];
  }
}

// On n entries, given B in Z: C = B * sigma''(A) (curved sigma), then Z = B * sigma'(A).
template <class Sigma>
void back_activate(const double* __restrict D1, double* __restrict C, double* __restrict Z, std::size_t n) {
  for (std::size_t q = 0; q < n; ++q) {
    if constexpr (Sigma::curved) C[q] *= Z[q];
    Z[q] *= D1[q];
  }
}

// On n entries: dH = sigma'(A) * dA.
inline void tangent_activate(const double* __restrict D1, const double* __restrict dA, double* __restrict dH,
                             std::size_t n) {
  for (std::size_t q = 0; q < n; ++q) dH[q] = D1[q] * dA[q];
}

// On n entries, given T = V^T Z + W^T dZ in dZ: dZ = T * sigma'(A) + C * dA (C null: sigma'' = 0).
inline void tangent_back_activate(const double* __restrict D1, const double* __restrict C, const double* __restrict dA,
                                  double* __restrict dZ, std::size_t n) {
  if (C == nullptr) {
    for (std::size_t q = 0; q < n; ++q) dZ[q] *= D1[q];
    return;
  }
  for (std::size_t q = 0; q < n; ++q) dZ[q] = dZ[q] * D1[q] + C[q] * dA[q];
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

// Every product below is split across ws.team as the data sweep splits its own (product_shares.hpp): the
// forward ones and W^T Z by sample columns, each share then activating its own columns while they are in
// cache; the weight gradients by rows. The cost's value, gradient and hvp stay on the calling thread.
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
      const std::int64_t r = net.rows(l);
      double* A = last ? g.Yhat : g.H + at;
      split(ws.team, r * net.cols(l) * s, s, kColumnGrain, [&](std::int64_t j0, std::int64_t j1) {
        affine(net, y, l, input, s, j0, j1, A);
        if constexpr (!Sigma::identity) {
          if (last) return;
          for_each_row(r, s, j0, j1, [&](std::size_t q, std::size_t n) {
            if (!Sigma::curved && ws.gates != nullptr)
              activate_gated(A + q, g.D1 + at + q, ws.gates + at + q, n);
            else
              activate<Sigma>(A + q, g.D1 + at + q, Sigma::curved ? g.C + at + q : nullptr, n, slope);
          });
        }
      });
      if (last) break;
      input = g.H + at;
      at += static_cast<std::size_t>(r * s);
    }
    ws.value = f.cost().value_and_grad(g.Yhat, m, s, g.Z + g.hidden, f.cost().data);
    std::copy(y, y + net.state_size(), ws.point.begin());
    if (ws.gates != nullptr)
      ws.point_gates.assign(ws.gates, ws.gates + g.hidden);
    else
      ws.point_gates.clear();
    ws.has_point = true;
    if (!(ws.value - ws.value == 0.0)) return ws.value;
    // Backward: B_{l-1} = W_l^T Z_l into Z_{l-1}'s place, then Z_{l-1} = B * sigma', C = B * sigma''.
    std::size_t z_at = g.hidden;  // Z_l, layer l from N - 1 down
    for (int l = N - 1; l >= 1; --l) {
      const std::int64_t r = net.rows(l), c = net.cols(l);
      const std::size_t below = z_at - static_cast<std::size_t>(c * s);
      double* Zp = g.Z + below;
      split(ws.team, r * c * s, s, kColumnGrain, [&](std::int64_t j0, std::int64_t j1) {
        multiply(columns(Zp, c, s, j0, j1), weights(net, y, l).transpose(), columns(g.Z + z_at, r, s, j0, j1), 1.0,
                 false, loop_product(net, l, s));
        if constexpr (!Sigma::identity) {
          for_each_row(c, s, j0, j1, [&](std::size_t q, std::size_t n) {
            back_activate<Sigma>(g.D1 + below + q, Sigma::curved ? g.C + below + q : nullptr, Zp + q, n);
          });
        }
      });
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
    // Compared bit for bit, so a state changed in place in the same buffer is recomputed (and so are the
    // gates of an activation pattern, switched or re-solved at the same state).
    const bool same_gates = ws.gates == nullptr
                                ? ws.point_gates.empty()
                                : ws.point_gates.size() == g.hidden &&
                                      std::memcmp(ws.gates, ws.point_gates.data(), g.hidden * sizeof(double)) == 0;
    if (!ws.has_point || !same_gates || std::memcmp(y, ws.point.data(), net.state_size() * sizeof(double)) != 0)
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
      const std::int64_t r = net.rows(l), c = net.cols(l);
      double* dA = last ? g.dYhat : g.dA + at;
      const std::size_t below = at - (l > 0 ? static_cast<std::size_t>(c * s) : 0);  // layer l - 1's buffers
      split(ws.team, r * c * s, s, kColumnGrain, [&](std::int64_t j0, std::int64_t j1) {
        // V_l H_{l-1} + c_l 1^T (the identity input: V_l), then + W_l dH_{l-1}
        affine(net, v, l, l == 0 ? X : g.H + below, s, j0, j1, dA);
        if (l > 0)
          multiply(columns(dA, r, s, j0, j1), weights(net, y, l), columns(g.dH + below, c, s, j0, j1), 1.0, true,
                   loop_product(net, l, s));
        if constexpr (!Sigma::identity) {
          if (last) return;
          for_each_row(r, s, j0, j1, [&](std::size_t q, std::size_t n) {
            tangent_activate(g.D1 + at + q, dA + q, g.dH + at + q, n);
          });
        }
      });
      if (last) break;
      at += static_cast<std::size_t>(r * s);
    }
    f.cost().hvp(g.Yhat, g.dYhat, m, s, g.dG, f.cost().data);
    // Tangent of the backward pass, from dZ_N = dG.
    const double* dZ = g.dG;
    double* spare[2] = {g.dZ, g.dZn};
    int which = 0;
    std::size_t z_at = g.hidden;
    for (int l = N - 1; l >= 0; --l) {
      const std::int64_t r = net.rows(l), c = net.cols(l), ld = net.stride(l);
      const std::size_t below = l > 0 ? z_at - static_cast<std::size_t>(c * s) : 0;
      double* o = out + net.offset(l);
      // Rows [i0, i1) of -[dZ_l H_{l-1}^T + Z_l dH_{l-1}^T | dZ_l 1]; H_0 = X (dH_0 = 0), or the identity input.
      split(ws.team, r * c * s, r, kRowGrain, [&](std::int64_t i0, std::int64_t i1) {
        const std::int64_t n = i1 - i0;
        const ConstMatrixView dZl(dZ + i0 * s, n, s);
        WeightsView dW(o + i0 * ld, n, c, Eigen::OuterStride<>(ld));
        if (bias) BiasView(o + i0 * ld + c, n, Eigen::InnerStride<>(ld)) = -dZl.rowwise().sum();
        if (l == 0 && X == nullptr) {
          dW = -dZl;
          return;
        }
        const bool small = loop_product(net, l, s);
        multiply(dW, dZl, ConstMatrixView(l == 0 ? X : g.H + below, c, s).transpose(), -1.0, false, small);
        if (l > 0)
          multiply(dW, ConstMatrixView(g.Z + z_at + i0 * s, n, s), ConstMatrixView(g.dH + below, c, s).transpose(),
                   -1.0, true, small);
      });
      if (l == 0) break;
      // dZ_{l-1} = (V_l^T Z_l + W_l^T dZ_l) * sigma'(A_{l-1}) + C_{l-1} * dA_{l-1}
      double* next = spare[which];
      split(ws.team, r * c * s, s, kColumnGrain, [&](std::int64_t j0, std::int64_t j1) {
        WeightsView T = columns(next, c, s, j0, j1);
        multiply(T, weights(net, v, l).transpose(), columns(g.Z + z_at, r, s, j0, j1), 1.0, false,
                 loop_product(net, l, s));
        multiply(T, weights(net, y, l).transpose(), columns(dZ, r, s, j0, j1), 1.0, true, loop_product(net, l, s));
        if constexpr (!Sigma::identity) {
          for_each_row(c, s, j0, j1, [&](std::size_t q, std::size_t n) {
            tangent_back_activate(g.D1 + below + q, Sigma::curved ? g.C + below + q : nullptr, g.dA + below + q,
                                  next + q, n);
          });
        }
      });
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
