#include "overflow/network.hpp"

#include "activated_sweep.hpp"
#include "row_sweep.hpp"
#include "overflow/thread_team.hpp"

#include <algorithm>
#include <cstring>
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

FlowWorkspace::FlowWorkspace(const Network& net, ThreadTeam* team_) : team(team_) {
  const std::size_t n = static_cast<std::size_t>(net.n()), m = static_cast<std::size_t>(net.m());
  // Sized for both sweeps: prefixes W_i...W_1 (n columns) or suffixes W_N...W_i (m rows).
  std::size_t prefix_size = 0, suffix_size = 0;
  for (int l = 1; l < net.depth(); ++l) prefix_size += static_cast<std::size_t>(net.rows(l)) * n;
  for (int l = 0; l + 1 < net.depth(); ++l) suffix_size += m * static_cast<std::size_t>(net.cols(l));
  const std::size_t k = static_cast<std::size_t>(net.max_dim());
  prefix.assign(std::max<std::size_t>({prefix_size, suffix_size, 1}), 0.0);
  std::size_t transposed = k * n;
  if (net.depth() > 1) transposed = std::max(transposed, prefix_size + static_cast<std::size_t>(net.cols(1)) * n);
  prefix_t.assign(transposed, 0.0);
  grad.assign(m * n, 0.0);
  z0.assign(k * std::max(m, n), 0.0);
  z1.assign(k * std::max(m, n), 0.0);
  std::size_t hidden = 0;
  for (int l = 0; l + 1 < net.depth(); ++l) hidden += static_cast<std::size_t>(net.rows(l)) * n;
  pre_act.assign(std::max<std::size_t>(hidden, 1), 0.0);
  team_prefixes.assign(static_cast<std::size_t>(net.depth()), nullptr);
  team_transposed.assign(static_cast<std::size_t>(net.depth()), nullptr);
  if (prefix.size() < hidden) prefix.assign(hidden, 0.0);
}

namespace {

// The three products of the flow, each with the small dimension n known at compile time when
// NS > 0 (NS == 0: run-time n). For NS a power of two, one row of an r x NS operand is one GCC/Clang
// vector (a register for NS <= 8 with AVX-512): measured 6x faster than letting the compiler
// vectorise plain loops (k = 128, n = 8: 6 us against 38 us). Rows are blocked by 4 so a loaded
// row of the small operand feeds four accumulators.
constexpr bool is_vector_width(int ns) { return ns == 2 || ns == 4 || ns == 8; }

// sum_k a[k] b[k] with four-lane partial sums: n = 1 (the vector case) turns the forward product
// into dot products, whose single accumulator chain was 5x slower than this.
inline double dot(const double* __restrict a, const double* __restrict b, std::int64_t c) {
  typedef double V4 __attribute__((vector_size(4 * sizeof(double))));
  V4 p0{}, p1{};
  std::int64_t k = 0;
  for (; k + 8 <= c; k += 8) {
    V4 x0, y0, x1, y1;
    std::memcpy(&x0, a + k, sizeof(V4));
    std::memcpy(&y0, b + k, sizeof(V4));
    std::memcpy(&x1, a + k + 4, sizeof(V4));
    std::memcpy(&y1, b + k + 4, sizeof(V4));
    p0 += x0 * y0;
    p1 += x1 * y1;
  }
  p0 += p1;
  double s = (p0[0] + p0[1]) + (p0[2] + p0[3]);
  for (; k < c; ++k) s += a[k] * b[k];
  return s;
}

template <int NS>
struct Lanes {
  typedef double type __attribute__((vector_size(NS * sizeof(double))));
  static type load(const double* p) {
    type v;
    std::memcpy(&v, p, sizeof(v));
    return v;
  }
  static void store(double* p, type v) { std::memcpy(p, &v, sizeof(v)); }
};

template <int NS>
struct Products {
  // C (r x n) = A (r x c) * B (c x n)
  static void mul(const double* __restrict A, const double* __restrict B, double* __restrict C,
                  std::int64_t r, std::int64_t c, std::int64_t n) {
    if constexpr (is_vector_width(NS)) {
      (void)n;
      using L = Lanes<NS>;
      using V = typename L::type;
      std::int64_t i = 0;
      for (; i + 4 <= r; i += 4) {
        // Even and odd k accumulate separately: eight independent FMA chains hide the FMA
        // latency that four chains left exposed (k = 16: 1.6x faster).
        V a0{}, a1{}, a2{}, a3{}, e0{}, e1{}, e2{}, e3{};
        const double* x = A + i * c;
        std::int64_t k = 0;
        for (; k + 2 <= c; k += 2) {
          const V b = L::load(B + k * NS), d = L::load(B + (k + 1) * NS);
          a0 += x[k] * b;
          a1 += x[c + k] * b;
          a2 += x[2 * c + k] * b;
          a3 += x[3 * c + k] * b;
          e0 += x[k + 1] * d;
          e1 += x[c + k + 1] * d;
          e2 += x[2 * c + k + 1] * d;
          e3 += x[3 * c + k + 1] * d;
        }
        for (; k < c; ++k) {
          const V b = L::load(B + k * NS);
          a0 += x[k] * b;
          a1 += x[c + k] * b;
          a2 += x[2 * c + k] * b;
          a3 += x[3 * c + k] * b;
        }
        L::store(C + i * NS, a0 + e0);
        L::store(C + (i + 1) * NS, a1 + e1);
        L::store(C + (i + 2) * NS, a2 + e2);
        L::store(C + (i + 3) * NS, a3 + e3);
      }
      for (; i < r; ++i) {
        V a0{};
        for (std::int64_t k = 0; k < c; ++k) a0 += A[i * c + k] * L::load(B + k * NS);
        L::store(C + i * NS, a0);
      }
    } else if constexpr (NS == 1) {
      (void)n;
      for (std::int64_t i = 0; i < r; ++i) C[i] = dot(A + i * c, B, c);
    } else {
      const std::int64_t nn = NS > 0 ? NS : n;
      for (std::int64_t i = 0; i < r; ++i) {
        double* ci = C + i * nn;
        std::fill(ci, ci + nn, 0.0);
        for (std::int64_t k = 0; k < c; ++k) {
          const double a = A[i * c + k];
          const double* b = B + k * nn;
          for (std::int64_t j = 0; j < nn; ++j) ci[j] += a * b[j];
        }
      }
    }
  }

  // C (c x n) = A^T Z with A (r x c, rows lda apart: a column block of a wider matrix when a
  // thread team splits C), Z (r x n)
  static void mul_t(const double* __restrict A, const double* __restrict Z, double* __restrict C,
                    std::int64_t r, std::int64_t c, std::int64_t n, std::int64_t lda) {
    if constexpr (is_vector_width(NS)) {
      // A in L1 (r c <= 4096): four output rows live in registers over the whole sweep of a (even
      // and odd a apart: eight FMA chains). Larger A: stream its rows once and update C in memory,
      // which reads A in whole cache lines (k = 128: 2.3 us against 3.9 us register-blocked,
      // k = 16: 0.042 us against 0.032 us).
      if (r * c <= 4096) {
        mul_t_registers(A, Z, C, r, c, lda);
        return;
      }
    }
    if constexpr (NS == 1) {
      // A^T z: the first row of A initialises C (saves a pass of zeros in the vector case).
      (void)n;
      const double z0 = Z[0];
      for (std::int64_t b = 0; b < c; ++b) C[b] = A[b] * z0;
      for (std::int64_t a = 1; a < r; ++a) {
        const double za = Z[a];
        const double* ra = A + a * lda;
        for (std::int64_t b = 0; b < c; ++b) C[b] += ra[b] * za;
      }
      return;
    }
    const std::int64_t nn = NS > 0 ? NS : n;
    std::fill(C, C + c * nn, 0.0);
    std::int64_t a = 0;
    if constexpr (is_vector_width(NS)) {
      using L = Lanes<NS>;
      using V = typename L::type;
      for (; a + 4 <= r; a += 4) {
        const V z0 = L::load(Z + a * NS), z1 = L::load(Z + (a + 1) * NS);
        const V z2 = L::load(Z + (a + 2) * NS), z3 = L::load(Z + (a + 3) * NS);
        const double* r0 = A + a * lda;
        for (std::int64_t b = 0; b < c; ++b) {
          V acc = L::load(C + b * NS);
          acc += r0[b] * z0 + r0[lda + b] * z1 + r0[2 * lda + b] * z2 + r0[3 * lda + b] * z3;
          L::store(C + b * NS, acc);
        }
      }
    }
    for (; a < r; ++a) {
      const double* za = Z + a * nn;
      const double* ra = A + a * lda;
      for (std::int64_t b = 0; b < c; ++b) {
        const double x = ra[b];
        double* cb = C + b * nn;
        for (std::int64_t j = 0; j < nn; ++j) cb[j] += x * za[j];
      }
    }
  }

  static void mul_t_registers(const double* __restrict A, const double* __restrict Z, double* __restrict C,
                              std::int64_t r, std::int64_t c, std::int64_t lda) {
    using L = Lanes<NS>;
    using V = typename L::type;
    std::int64_t b = 0;
    for (; b + 4 <= c; b += 4) {
      V c0{}, c1{}, c2{}, c3{}, d0{}, d1{}, d2{}, d3{};
      std::int64_t a = 0;
      for (; a + 2 <= r; a += 2) {
        const V z = L::load(Z + a * NS), w = L::load(Z + (a + 1) * NS);
        const double* x = A + a * lda + b;
        const double* y = x + lda;
        c0 += x[0] * z;
        c1 += x[1] * z;
        c2 += x[2] * z;
        c3 += x[3] * z;
        d0 += y[0] * w;
        d1 += y[1] * w;
        d2 += y[2] * w;
        d3 += y[3] * w;
      }
      if (a < r) {
        const V z = L::load(Z + a * NS);
        const double* x = A + a * lda + b;
        c0 += x[0] * z;
        c1 += x[1] * z;
        c2 += x[2] * z;
        c3 += x[3] * z;
      }
      L::store(C + b * NS, c0 + d0);
      L::store(C + (b + 1) * NS, c1 + d1);
      L::store(C + (b + 2) * NS, c2 + d2);
      L::store(C + (b + 3) * NS, c3 + d3);
    }
    for (; b < c; ++b) {
      V acc{};
      for (std::int64_t a = 0; a < r; ++a) acc += A[a * lda + b] * L::load(Z + a * NS);
      L::store(C + b * NS, acc);
    }
  }

  // D (r x c) = -Z (r x n) * T (n x c), T the transposed prefix
  static void neg_mul_nt(const double* __restrict Z, const double* __restrict T, double* __restrict D,
                         std::int64_t r, std::int64_t c, std::int64_t n) {
    if constexpr (is_vector_width(NS)) {
      // Eight columns of T held in NS registers, streamed against every row of Z: each output
      // vector costs NS FMAs and one store (k = 16, n = 4: 1.4x the per-row-pair loop).
      (void)n;
      typedef double V8 __attribute__((vector_size(8 * sizeof(double))));
      std::int64_t b = 0;
      for (; b + 8 <= c; b += 8) {
        V8 t[NS];
        for (int j = 0; j < NS; ++j) std::memcpy(&t[j], T + j * c + b, sizeof(V8));
        for (std::int64_t a = 0; a < r; ++a) {
          const double* za = Z + a * NS;
          V8 acc = -za[0] * t[0];
          for (int j = 1; j < NS; ++j) acc -= za[j] * t[j];
          std::memcpy(D + a * c + b, &acc, sizeof(V8));
        }
      }
      for (; b < c; ++b)
        for (std::int64_t a = 0; a < r; ++a) {
          double sum = 0.0;
          for (int j = 0; j < NS; ++j) sum -= Z[a * NS + j] * T[j * c + b];
          D[a * c + b] = sum;
        }
    } else if constexpr (NS > 0) {
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

// T (n x r) = A^T for A (r x n), n = NS when NS > 0.
template <int NS>
inline void transpose(const double* __restrict A, double* __restrict T, std::int64_t r, std::int64_t n) {
  const std::int64_t nn = NS > 0 ? NS : n;
  for (std::int64_t i = 0; i < r; ++i)
    for (std::int64_t j = 0; j < nn; ++j) T[j * r + i] = A[i * nn + j];
}

// Products smaller than this many multiply-adds stay on the calling thread (about a microsecond of
// work, the cost of one job on the team).
constexpr std::int64_t kTeamMinWork = 16384;
constexpr std::size_t kRowGrain = 8;

// Runs job(rank, size) on the team, or job(0, 1) on this thread when the work is small.
template <class Job>
void split_rows(ThreadTeam& team, std::int64_t work, Job&& job) {
  if (work < kTeamMinWork) {
    job(0, 1);
    return;
  }
  team.run([&](int rank) { job(rank, team.size()); });
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
    if (ws.team && ws.team->size() > 1) return rhs_team(f, y, dy, ws);
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
      // An r x 1 prefix is its own transpose in memory.
      const double* pre_t = pre;
      if constexpr (NS != 1) {
        transpose<NS>(pre, ws.prefix_t.data(), c, n);
        pre_t = ws.prefix_t.data();
      }
      P::neg_mul_nt(z, pre_t, dy + net.offset(l), r, c, n);
      if (l == 1) {
        // dW_1 = -Z_1 = W_2^T (-Z_2): negate the small Z_2 (r x n) instead of the result (k_1 x n).
        double* neg = zbuf[which];
        for (std::int64_t i = 0; i < r * (NS > 0 ? NS : n); ++i) neg[i] = -z[i];
        P::mul_t(y + net.offset(1), neg, dy, r, c, n, c);
        return value;
      }
      P::mul_t(y + net.offset(l), z, zbuf[which], r, c, n, c);
      z = zbuf[which];
      which ^= 1;
    }
    // Depth 1: dW_1 = -grad f(P).
    const std::int64_t size0 = net.rows(0) * n;
    for (std::int64_t i = 0; i < size0; ++i) dy[i] = -z[i];
    return value;
  }

  // rhs() with each product split across ws.team: the rows of the prefixes and of the layer
  // gradients, the columns of W_l^T Z, on whole 8-row blocks. One job per layer and sweep (each
  // product needs all of the previous one); the cost and the small products run on this thread.
  static double rhs_team(const Flow& f, const double* y, double* dy, FlowWorkspace& ws) {
    const Network& net = f.net_;
    ThreadTeam& team = *ws.team;
    const std::int64_t n = net.n(), nn = NS > 0 ? NS : n;
    const int depth = net.depth();
    // Pre_l, the product of layers 0..l-1 (cols(l) x n), the input of layer l's gradient.
    std::vector<const double*>& pre = ws.team_prefixes;
    if (depth > 1) pre[1] = y;
    double* out = ws.prefix.data();
    for (int l = 1; l < depth; ++l) {
      const std::int64_t r = net.rows(l), c = net.cols(l);
      const double* w = y + net.offset(l);
      const double* in = pre[static_cast<std::size_t>(l)];
      split_rows(team, r * c * nn, [&](int rank, int size) {
        const auto [i0, i1] = team_share(static_cast<std::size_t>(r), rank, size, kRowGrain);
        const auto a = static_cast<std::int64_t>(i0), b = static_cast<std::int64_t>(i1);
        if (b > a) P::mul(w + a * c, in, out + a * nn, b - a, c, n);
      });
      if (l + 1 < depth) pre[static_cast<std::size_t>(l + 1)] = out;
      out += r * nn;
    }
    const double* prod = depth > 1 ? out - net.m() * nn : y;
    const double value = f.cost_.value_and_grad(prod, net.m(), n, ws.grad.data(), f.cost_.data);
    if (!(value - value == 0.0)) return value;  // NaN or inf: outside the domain
    const double* z = ws.grad.data();
    if (depth == 1) {
      for (std::int64_t i = 0; i < net.rows(0) * nn; ++i) dy[i] = -z[i];
      return value;
    }
    // Every prefix transposed up front (an r x 1 prefix is its own transpose), stacked.
    std::vector<const double*>& pre_t = ws.team_transposed;
    double* tbuf = ws.prefix_t.data();
    for (int l = 1; l < depth; ++l) {
      const std::int64_t c = net.cols(l);
      if constexpr (NS == 1) {
        pre_t[static_cast<std::size_t>(l)] = pre[static_cast<std::size_t>(l)];
      } else {
        transpose<NS>(pre[static_cast<std::size_t>(l)], tbuf, c, n);
        pre_t[static_cast<std::size_t>(l)] = tbuf;
        tbuf += c * nn;
      }
    }
    // Backward sweep as in rhs(): dW_l = -Z_l Pre_l^T (rows split) and Z_{l-1} = W_l^T Z_l
    // (columns split) in the same job; dW_1 = W_2^T (-Z_2) goes straight into dy.
    double* zbuf[2] = {ws.z0.data(), ws.z1.data()};
    int which = 0;
    for (int l = depth - 1; l >= 1; --l) {
      const std::int64_t r = net.rows(l), c = net.cols(l);
      const double* w = y + net.offset(l);
      const double* zin = z;
      double* zout = zbuf[which];
      if (l == 1) {
        for (std::int64_t i = 0; i < r * nn; ++i) zout[i] = -z[i];
        zin = zout;
        zout = dy;
      }
      const double* tp = pre_t[static_cast<std::size_t>(l)];
      double* grad_l = dy + net.offset(l);
      split_rows(team, r * c * nn, [&](int rank, int size) {
        const auto [i0, i1] = team_share(static_cast<std::size_t>(r), rank, size, kRowGrain);
        const auto a0 = static_cast<std::int64_t>(i0), a1 = static_cast<std::int64_t>(i1);
        if (a1 > a0) P::neg_mul_nt(z + a0 * nn, tp, grad_l + a0 * c, a1 - a0, c, n);
        const auto [j0, j1] = team_share(static_cast<std::size_t>(c), rank, size, kRowGrain);
        const auto b0 = static_cast<std::int64_t>(j0), b1 = static_cast<std::int64_t>(j1);
        if (b1 > b0) P::mul_t(w + b0, zin, zout + b0 * nn, r, b1 - b0, n, c);
      });
      z = zout;
      which ^= 1;
    }
    return value;
  }
};

Flow::Flow(const Network& net, const Cost& cost, Activation activation)
    : net_(net), cost_(cost), activation_(activation) {
  if (cost.value_and_grad == nullptr) throw std::invalid_argument("cost.value_and_grad is null");
  if (cost.m != net.m() || cost.n != net.n()) {
    throw std::invalid_argument("cost shape (" + std::to_string(cost.m) + ", " + std::to_string(cost.n) +
                                ") does not match the network's product shape (" +
                                std::to_string(net.m()) + ", " + std::to_string(net.n()) + ")");
  }
  if (activation != Activation::none && net.depth() > 1) {
    detail::select_activated_sweep(activation, rhs_kernel_, product_kernel_);
    return;
  }
  if (net.m() < net.n()) {
    detail::select_row_sweep(net.m(), rhs_kernel_, product_kernel_);
    return;
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
