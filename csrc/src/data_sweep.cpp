#include "data_sweep.hpp"

#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace overflow::detail {

namespace {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixView = Eigen::Map<RowMatrix>;
using ConstMatrixView = Eigen::Map<const RowMatrix>;
// A layer's weights W_i inside its stored rows [W_i | b_i] (row stride cols + 1 with a bias), and
// the bias column b_i.
using WeightsView = Eigen::Map<RowMatrix, 0, Eigen::OuterStride<>>;
using ConstWeightsView = Eigen::Map<const RowMatrix, 0, Eigen::OuterStride<>>;
using BiasView = Eigen::Map<Eigen::VectorXd, 0, Eigen::InnerStride<>>;
using ConstBiasView = Eigen::Map<const Eigen::VectorXd, 0, Eigen::InnerStride<>>;

constexpr double kInvSqrt2 = 0.70710678118654752440;    // 1 / sqrt(2)
constexpr double kInvSqrt2Pi = 0.39894228040143267794;  // 1 / sqrt(2 pi)

// Each activation: value(x, slope) and derivative(a, h, slope) from the pre-activation a and
// h = sigma(a), whichever is cheaper; slope is the leaky relu's (the others ignore it).
struct Linear {
  static constexpr bool identity = true;  // H_i is A_i itself: no copy, no derivative
  static double value(double x, double) { return x; }
  static double derivative(double, double, double) { return 1.0; }
};

struct Isru {
  static constexpr bool identity = false;
  static double value(double x, double) { return x / std::sqrt(1.0 + x * x); }
  static double derivative(double a, double, double) {
    const double r = 1.0 / std::sqrt(1.0 + a * a);
    return r * r * r;
  }
};

struct Tanh {
  static constexpr bool identity = false;
  static double value(double x, double) { return std::tanh(x); }
  static double derivative(double, double h, double) { return 1.0 - h * h; }
};

struct Relu {
  static constexpr bool identity = false;
  static double value(double x, double) { return x > 0.0 ? x : 0.0; }
  static double derivative(double a, double, double) { return a > 0.0 ? 1.0 : 0.0; }  // sigma'(0) = 0
};

struct LeakyRelu {
  static constexpr bool identity = false;
  static double value(double x, double slope) { return x > 0.0 ? x : slope * x; }
  static double derivative(double a, double, double slope) { return a > 0.0 ? 1.0 : slope; }  // sigma'(0) = slope
};

// 1 / (1 + e^-x) without overflow: e^-|x| <= 1 on both sides.
inline double logistic(double x) {
  const double e = std::exp(-std::fabs(x));
  const double r = 1.0 / (1.0 + e);
  return x >= 0.0 ? r : e * r;
}

struct Sigmoid {
  static constexpr bool identity = false;
  static double value(double x, double) { return logistic(x); }
  static double derivative(double, double h, double) { return h * (1.0 - h); }
};

struct Softplus {
  static constexpr bool identity = false;
  // log(1 + e^x) = max(x, 0) + log1p(e^-|x|): no overflow, full precision for large |x|.
  static double value(double x, double) { return std::fmax(x, 0.0) + std::log1p(std::exp(-std::fabs(x))); }
  static double derivative(double a, double, double) { return logistic(a); }
};

struct Gelu {
  static constexpr bool identity = false;
  static double value(double x, double) { return 0.5 * x * (1.0 + std::erf(x * kInvSqrt2)); }
  static double derivative(double a, double, double) {
    return 0.5 * (1.0 + std::erf(a * kInvSqrt2)) + a * kInvSqrt2Pi * std::exp(-0.5 * a * a);
  }
};

// Products of at most this many multiply-adds are plain loops: below it Eigen's dispatch costs more
// than the work (section 4's width-1 network on a 1 x 1 cost was 10% slower per step through it).
constexpr std::int64_t kLoopProduct = 64;

// out (r x s) = W H + b 1^T for the stored rows [W | b] (row stride ld); H null is the identity
// input (c = s, no bias): out = W, a copy instead of a product.
void affine(const double* W, std::int64_t r, std::int64_t c, std::int64_t ld, bool bias, const double* H,
            std::int64_t s, double* out) {
  if (r * c * s <= kLoopProduct) {
    for (std::int64_t i = 0; i < r; ++i)
      for (std::int64_t j = 0; j < s; ++j) {
        double sum = H == nullptr ? W[i * ld + j] : 0.0;
        for (std::int64_t q = 0; H != nullptr && q < c; ++q) sum += W[i * ld + q] * H[q * s + j];
        out[i * s + j] = bias ? sum + W[i * ld + c] : sum;
      }
    return;
  }
  MatrixView O(out, r, s);
  const ConstWeightsView Wv(W, r, c, Eigen::OuterStride<>(ld));
  if (H == nullptr) {
    O = Wv;
    return;
  }
  O.noalias() = Wv * ConstMatrixView(H, c, s);
  if (bias) O.colwise() += ConstBiasView(W + c, r, Eigen::InnerStride<>(ld));
}

// The layer's rows of dy: [dW | db] = -[Z H^T | Z 1] (Z r x s, H c x s), row stride ld.
void weight_gradient(const double* Z, const double* H, std::int64_t r, std::int64_t c, std::int64_t ld, bool bias,
                     std::int64_t s, double* d) {
  if (r * c * s <= kLoopProduct) {
    for (std::int64_t i = 0; i < r; ++i) {
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
  const ConstMatrixView Zv(Z, r, s);
  WeightsView(d, r, c, Eigen::OuterStride<>(ld)).noalias() = -Zv * ConstMatrixView(H, c, s).transpose();
  if (bias) BiasView(d + c, r, Eigen::InnerStride<>(ld)) = -Zv.rowwise().sum();
}

// out (c x s) = W^T Z for the weights W (r x c, row stride ld) and Z (r x s).
void back_propagate(const double* W, const double* Z, std::int64_t r, std::int64_t c, std::int64_t ld, std::int64_t s,
                    double* out) {
  if (r * c * s <= kLoopProduct) {
    for (std::int64_t q = 0; q < c; ++q)
      for (std::int64_t j = 0; j < s; ++j) {
        double sum = 0.0;
        for (std::int64_t i = 0; i < r; ++i) sum += W[i * ld + q] * Z[i * s + j];
        out[q * s + j] = sum;
      }
    return;
  }
  MatrixView(out, c, s).noalias() =
      ConstWeightsView(W, r, c, Eigen::OuterStride<>(ld)).transpose() * ConstMatrixView(Z, r, s);
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
    double* __restrict H = ws.prefix.data();
    double* __restrict A = ws.pre_act.data();
    const double* input = f.inputs().X;  // H_{i-1}; null: the identity input
    const double* gates = ws.gates;
    for (int i = 0; i < N; ++i) {
      const std::int64_t r = net.rows(i);
      const bool last = i + 1 == N;
      affine(y + net.offset(i), r, net.cols(i), net.stride(i), net.bias(), input, s, last ? ws.z0.data() : A);
      if (last) break;
      const std::int64_t size = r * s;
      if constexpr (Sigma::identity) {
        input = A;
      } else {
        if (gates) {  // a frozen activation pattern (activation_pattern.hpp): each entry's linear branch
          for (std::int64_t q = 0; q < size; ++q) H[q] = gates[q] * A[q];
          gates += size;
        } else {
          for (std::int64_t q = 0; q < size; ++q) H[q] = Sigma::value(A[q], slope);
        }
        input = H;
      }
      H += size;
      A += size;
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
      weight_gradient(Z, Hp, r, c, ld, net.bias(), s, d);
      if (i == 0) break;
      double* __restrict Zn = zbuf[which];
      back_propagate(W, Z, r, c, ld, s, Zn);
      if constexpr (!Sigma::identity) {
        const double* __restrict Ap = ws.pre_act.data() + off;
        const double* __restrict Hq = ws.prefix.data() + off;
        if (const double* __restrict gates = ws.gates ? ws.gates + off : nullptr) {
          for (std::int64_t q = 0; q < c * s; ++q) Zn[q] *= gates[q];
        } else {
          for (std::int64_t q = 0; q < c * s; ++q) Zn[q] *= Sigma::derivative(Ap[q], Hq[q], slope);
        }
      }
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
