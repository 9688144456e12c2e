#include "activated_sweep.hpp"

#include <algorithm>
#include <cmath>

#include "lanes.hpp"

namespace overflow::detail {

namespace {

struct Isru {
  static double value(double x) { return x / std::sqrt(1.0 + x * x); }
  static double slope(double x) {
    const double r = 1.0 / std::sqrt(1.0 + x * x);
    return r * r * r;
  }
};

struct Tanh {
  static double value(double x) { return std::tanh(x); }
  static double slope(double x) {
    const double t = std::tanh(x);
    return 1.0 - t * t;
  }
};

template <class Sigma>
struct ActivatedSweep {
  // Returns P; hidden outputs H_i in ws.prefix, pre-activations in ws.pre_act (layer i at i * (k n)).
  static const double* forward(const Flow& f, const double* y, FlowWorkspace& ws) {
    const Network& net = f.network();
    const std::int64_t n = net.n();
    const int N = net.depth();
    double* H = ws.prefix.data();
    double* A = ws.pre_act.data();
    const double* input = nullptr;  // H_{i-1}; the identity for i = 0
    for (int i = 0; i + 1 < N; ++i) {
      const std::int64_t r = net.rows(i), size = r * n;
      if (i == 0) {
        std::copy(y, y + size, A);  // A_0 = W_1 I
      } else {
        multiply(y + net.offset(i), input, A, r, net.cols(i), n);
      }
      for (std::int64_t q = 0; q < size; ++q) H[q] = Sigma::value(A[q]);
      input = H;
      H += size;
      A += size;
    }
    multiply(y + net.offset(N - 1), input, ws.z0.data(), net.m(), net.cols(N - 1), n);
    return ws.z0.data();
  }

  static double rhs(const Flow& f, const double* y, double* dy, FlowWorkspace& ws) {
    const Network& net = f.network();
    const std::int64_t n = net.n(), m = net.m();
    const int N = net.depth();
    const double* P = forward(f, y, ws);
    const double value = f.cost().value_and_grad(P, m, n, ws.grad.data(), f.cost().data);
    if (!(value - value == 0.0)) return value;

    // Offsets of the stored hidden layers: H_i and A_i start at sum_{q<i} rows(q) n.
    std::size_t off_last = 0;
    for (int i = 0; i + 2 < N; ++i) off_last += static_cast<std::size_t>(net.rows(i) * n);

    const double* Z = ws.grad.data();  // Z_{N-1} = grad f(P)
    double* zbuf[2] = {ws.z0.data(), ws.z1.data()};
    int which = 1;               // z0 holds P until the cost is done with it; alternate from z1
    std::size_t off = off_last;  // offset of H_{i-1}, A_{i-1} for the current i
    for (int i = N - 1; i >= 0; --i) {
      const std::int64_t r = net.rows(i), c = net.cols(i);
      double* d = dy + net.offset(i);
      if (i == 0) {  // H_{-1} = I
        for (std::int64_t q = 0; q < r * n; ++q) d[q] = -Z[q];
        break;
      }
      const double* Hp = ws.prefix.data() + off;  // H_{i-1}: c x n
      // dW_i = -Z_i H_{i-1}^T: (r x n)(n x c)
      for (std::int64_t a = 0; a < r; ++a)
        for (std::int64_t b = 0; b < c; ++b) {
          double s = 0.0;
          for (std::int64_t j = 0; j < n; ++j) s -= Z[a * n + j] * Hp[b * n + j];
          d[a * c + b] = s;
        }
      // Z_{i-1} = (W_i^T Z_i) * sigma'(A_{i-1})
      const double* W = y + net.offset(i);
      const double* Ap = ws.pre_act.data() + off;
      double* Zn = zbuf[which];
      std::fill(Zn, Zn + c * n, 0.0);
      for (std::int64_t a = 0; a < r; ++a)
        for (std::int64_t b = 0; b < c; ++b) {
          const double w = W[a * c + b];
          for (std::int64_t j = 0; j < n; ++j) Zn[b * n + j] += w * Z[a * n + j];
        }
      for (std::int64_t q = 0; q < c * n; ++q) Zn[q] *= Sigma::slope(Ap[q]);
      Z = Zn;
      which ^= 1;
      if (i >= 2) off -= static_cast<std::size_t>(net.rows(i - 2) * n);
    }
    return value;
  }
};

}  // namespace

void select_activated_sweep(Activation activation, Flow::RhsKernel& rhs, Flow::ProductKernel& product) {
  if (activation == Activation::tanh) {
    rhs = &ActivatedSweep<Tanh>::rhs;
    product = &ActivatedSweep<Tanh>::forward;
  } else {
    rhs = &ActivatedSweep<Isru>::rhs;
    product = &ActivatedSweep<Isru>::forward;
  }
}

}  // namespace overflow::detail
