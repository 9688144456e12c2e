#include "overflow/network.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace overflow {

Network::Network(std::vector<std::int64_t> dims) : dims_(std::move(dims)) {
  if (dims_.size() < 2) throw std::invalid_argument("dims must hold at least n and m (depth >= 1)");
  for (std::size_t i = 0; i < dims_.size(); ++i) {
    if (dims_[i] < 1) {
      throw std::invalid_argument("dims[" + std::to_string(i) + "] = " + std::to_string(dims_[i]) +
                                  ": every dimension must be >= 1");
    }
    max_dim_ = std::max(max_dim_, dims_[i]);
  }
  offsets_.assign(1, 0);
  for (int l = 0; l < depth(); ++l) {
    offsets_.push_back(offsets_.back() + static_cast<std::size_t>(rows(l) * cols(l)));
  }
}

FlowWorkspace::FlowWorkspace(const Network& net) {
  const std::size_t n = static_cast<std::size_t>(net.n());
  std::size_t prefix_size = 0;
  for (int l = 1; l < net.depth(); ++l) prefix_size += static_cast<std::size_t>(net.rows(l)) * n;
  const std::size_t k = static_cast<std::size_t>(net.max_dim());
  prefix.assign(std::max<std::size_t>(prefix_size, 1), 0.0);
  prefix_t.assign(k * n, 0.0);
  grad.assign(static_cast<std::size_t>(net.m()) * n, 0.0);
  z0.assign(k * n, 0.0);
  z1.assign(k * n, 0.0);
}

namespace {

// The three products of the flow, each with the small dimension n known at compile time when
// NS > 0 (NS == 0: run-time n). Rows are blocked by 4 (or 2) so a loaded row of the small
// operand feeds several accumulators.
template <int NS>
struct Products {
  // C (r x n) = A (r x c) * B (c x n)
  static void mul(const double* __restrict A, const double* __restrict B, double* __restrict C,
                  std::int64_t r, std::int64_t c, std::int64_t n) {
    if constexpr (NS > 0) {
      (void)n;
      std::int64_t i = 0;
      for (; i + 4 <= r; i += 4) {
        double acc[4][NS] = {};
        const double* a0 = A + i * c;
        for (std::int64_t k = 0; k < c; ++k) {
          const double* b = B + k * NS;
          const double x0 = a0[k], x1 = a0[c + k], x2 = a0[2 * c + k], x3 = a0[3 * c + k];
          for (int j = 0; j < NS; ++j) {
            acc[0][j] += x0 * b[j];
            acc[1][j] += x1 * b[j];
            acc[2][j] += x2 * b[j];
            acc[3][j] += x3 * b[j];
          }
        }
        for (int q = 0; q < 4; ++q)
          for (int j = 0; j < NS; ++j) C[(i + q) * NS + j] = acc[q][j];
      }
      for (; i < r; ++i) {
        double acc[NS] = {};
        const double* a = A + i * c;
        for (std::int64_t k = 0; k < c; ++k)
          for (int j = 0; j < NS; ++j) acc[j] += a[k] * B[k * NS + j];
        for (int j = 0; j < NS; ++j) C[i * NS + j] = acc[j];
      }
    } else {
      for (std::int64_t i = 0; i < r; ++i) {
        double* ci = C + i * n;
        std::fill(ci, ci + n, 0.0);
        for (std::int64_t k = 0; k < c; ++k) {
          const double a = A[i * c + k];
          const double* b = B + k * n;
          for (std::int64_t j = 0; j < n; ++j) ci[j] += a * b[j];
        }
      }
    }
  }

  // C (c x n) = A^T Z with A (r x c), Z (r x n)
  static void mul_t(const double* __restrict A, const double* __restrict Z, double* __restrict C,
                    std::int64_t r, std::int64_t c, std::int64_t n) {
    const std::int64_t nn = NS > 0 ? NS : n;
    std::fill(C, C + c * nn, 0.0);
    std::int64_t a = 0;
    if constexpr (NS > 0) {
      for (; a + 4 <= r; a += 4) {
        const double* z0 = Z + a * NS;
        const double* r0 = A + a * c;
        for (std::int64_t b = 0; b < c; ++b) {
          const double x0 = r0[b], x1 = r0[c + b], x2 = r0[2 * c + b], x3 = r0[3 * c + b];
          double* cb = C + b * NS;
          for (int j = 0; j < NS; ++j)
            cb[j] += x0 * z0[j] + x1 * z0[NS + j] + x2 * z0[2 * NS + j] + x3 * z0[3 * NS + j];
        }
      }
    }
    for (; a < r; ++a) {
      const double* za = Z + a * nn;
      const double* ra = A + a * c;
      for (std::int64_t b = 0; b < c; ++b) {
        const double x = ra[b];
        double* cb = C + b * nn;
        for (std::int64_t j = 0; j < nn; ++j) cb[j] += x * za[j];
      }
    }
  }

  // D (r x c) = -Z (r x n) * T (n x c), T the transposed prefix
  static void neg_mul_nt(const double* __restrict Z, const double* __restrict T, double* __restrict D,
                         std::int64_t r, std::int64_t c, std::int64_t n) {
    if constexpr (NS > 0) {
      (void)n;
      std::int64_t a = 0;
      for (; a + 2 <= r; a += 2) {
        double z0[NS], z1[NS];
        for (int j = 0; j < NS; ++j) {
          z0[j] = -Z[a * NS + j];
          z1[j] = -Z[(a + 1) * NS + j];
        }
        double* d0 = D + a * c;
        double* d1 = d0 + c;
        for (std::int64_t b = 0; b < c; ++b) {
          double s0 = 0.0, s1 = 0.0;
          for (int j = 0; j < NS; ++j) {
            s0 += z0[j] * T[j * c + b];
            s1 += z1[j] * T[j * c + b];
          }
          d0[b] = s0;
          d1[b] = s1;
        }
      }
      for (; a < r; ++a) {
        double* d = D + a * c;
        for (std::int64_t b = 0; b < c; ++b) {
          double s = 0.0;
          for (int j = 0; j < NS; ++j) s -= Z[a * NS + j] * T[j * c + b];
          d[b] = s;
        }
      }
    } else {
      for (std::int64_t a = 0; a < r; ++a) {
        double* d = D + a * c;
        std::fill(d, d + c, 0.0);
        for (std::int64_t j = 0; j < n; ++j) {
          const double z = -Z[a * n + j];
          const double* t = T + j * c;
          for (std::int64_t b = 0; b < c; ++b) d[b] += z * t[b];
        }
      }
    }
  }
};

inline void transpose(const double* __restrict A, double* __restrict T, std::int64_t r, std::int64_t c) {
  for (std::int64_t i = 0; i < r; ++i)
    for (std::int64_t j = 0; j < c; ++j) T[j * r + i] = A[i * c + j];
}

}  // namespace

template <int NS>
struct FlowKernels {
  using P = Products<NS>;

  // Forward pass: returns a pointer to P = W_N...W_1 (inside y when N = 1, else in ws.prefix).
  static const double* forward(const Flow& f, const double* y, FlowWorkspace& ws) {
    const Network& net = f.net_;
    const std::int64_t n = net.n();
    const double* prev = y;  // Pre_1 = W_1
    double* out = ws.prefix.data();
    for (int l = 1; l < net.depth(); ++l) {
      P::mul(y + net.offset(l), prev, out, net.rows(l), net.cols(l), n);
      prev = out;
      out += net.rows(l) * n;
    }
    return prev;
  }

  static double rhs(const Flow& f, const double* y, double* dy, FlowWorkspace& ws) {
    const Network& net = f.net_;
    const std::int64_t n = net.n();
    const double* prod = forward(f, y, ws);
    const double value = f.cost_.value_and_grad(prod, net.m(), n, ws.grad.data(), f.cost_.data);
    if (!(value - value == 0.0)) return value;  // NaN or inf: outside the domain

    // Backward sweep: Z_N = grad f(P); dW_l = -Z_l Pre_{l-1}^T; Z_{l-1} = W_l^T Z_l.
    const double* z = ws.grad.data();
    double* zbuf[2] = {ws.z0.data(), ws.z1.data()};
    int which = 0;
    // Prefixes are stacked in ws.prefix in order (W_1 itself is read from y), so walking back
    // from P, the prefix needed by layer l sits just before the one needed by layer l + 1.
    const double* later = prod;
    for (int l = net.depth() - 1; l >= 1; --l) {
      const std::int64_t r = net.rows(l), c = net.cols(l);
      const double* pre = (l == 1) ? y : later - c * n;
      later = pre;
      transpose(pre, ws.prefix_t.data(), c, n);
      P::neg_mul_nt(z, ws.prefix_t.data(), dy + net.offset(l), r, c, n);
      P::mul_t(y + net.offset(l), z, zbuf[which], r, c, n);
      z = zbuf[which];
      which ^= 1;
    }
    const std::int64_t size0 = net.rows(0) * n;
    for (std::int64_t i = 0; i < size0; ++i) dy[i] = -z[i];
    return value;
  }
};

Flow::Flow(const Network& net, const Cost& cost) : net_(net), cost_(cost) {
  if (cost.value_and_grad == nullptr) throw std::invalid_argument("cost.value_and_grad is null");
  if (cost.m != net.m() || cost.n != net.n()) {
    throw std::invalid_argument("cost shape (" + std::to_string(cost.m) + ", " + std::to_string(cost.n) +
                                ") does not match the network's product shape (" +
                                std::to_string(net.m()) + ", " + std::to_string(net.n()) + ")");
  }
  switch (net.n()) {
#define OVERFLOW_CASE(K)                         \
  case K:                                        \
    rhs_kernel_ = &FlowKernels<K>::rhs;          \
    product_kernel_ = &FlowKernels<K>::forward;  \
    break;
    OVERFLOW_CASE(1)
    OVERFLOW_CASE(2)
    OVERFLOW_CASE(3)
    OVERFLOW_CASE(4)
    OVERFLOW_CASE(6)
    OVERFLOW_CASE(8)
#undef OVERFLOW_CASE
    default:
      rhs_kernel_ = &FlowKernels<0>::rhs;
      product_kernel_ = &FlowKernels<0>::forward;
  }
}

double Flow::rhs(const double* y, double* dy, FlowWorkspace& ws) const { return rhs_kernel_(*this, y, dy, ws); }

double Flow::value(const double* y, FlowWorkspace& ws) const {
  const double* prod = product_kernel_(*this, y, ws);
  return cost_.value_and_grad(prod, net_.m(), net_.n(), ws.grad.data(), cost_.data);
}

void Flow::product(const double* y, double* out, FlowWorkspace& ws) const {
  const double* prod = product_kernel_(*this, y, ws);
  std::copy(prod, prod + net_.m() * net_.n(), out);
}

void invariants(const Network& net, const double* y, std::vector<double>& out) {
  std::size_t total = 0;
  for (int l = 0; l + 1 < net.depth(); ++l) total += static_cast<std::size_t>(net.rows(l) * net.rows(l));
  out.assign(total, 0.0);
  double* c = out.data();
  for (int l = 0; l + 1 < net.depth(); ++l) {
    const std::int64_t k = net.rows(l), cols = net.cols(l), next_rows = net.rows(l + 1);
    const double* wi = y + net.offset(l);       // k x cols
    const double* wn = y + net.offset(l + 1);   // next_rows x k
    for (std::int64_t i = 0; i < k; ++i)
      for (std::int64_t j = 0; j < k; ++j) {
        double s = 0.0;
        for (std::int64_t q = 0; q < cols; ++q) s += wi[i * cols + q] * wi[j * cols + q];
        for (std::int64_t q = 0; q < next_rows; ++q) s -= wn[q * k + i] * wn[q * k + j];
        c[i * k + j] = s;
      }
    c += k * k;
  }
}

}  // namespace overflow
