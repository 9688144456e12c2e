#include "row_sweep.hpp"

#include <algorithm>

#include "lanes.hpp"
#include "overflow/thread_team.hpp"

namespace overflow::detail {

namespace {

// The m-sweep's three products, m known at compile time when MS > 0. The long dimension is the
// contiguous one in every loop, so the compiler vectorises it. The leading dimensions let a thread
// team give each thread a block of columns or rows.
template <int MS>
struct RowProducts {
  // C (m x c) = S (m x r) * W (r x c): rows of W streamed four at a time into each row of C. W's
  // and C's rows are ld apart.
  static void left_mul(const double* __restrict S, const double* __restrict W, double* __restrict C, std::int64_t m,
                       std::int64_t r, std::int64_t c, std::int64_t ld) {
    const std::int64_t mm = MS > 0 ? MS : m;
    for (std::int64_t q = 0; q < mm; ++q) {
      double* cq = C + q * ld;
      const double* sq = S + q * r;
      std::fill(cq, cq + c, 0.0);
      std::int64_t a = 0;
      for (; a + 4 <= r; a += 4) {
        const double s0 = sq[a], s1 = sq[a + 1], s2 = sq[a + 2], s3 = sq[a + 3];
        const double* w0 = W + a * ld;
        const double* w1 = w0 + ld;
        const double* w2 = w1 + ld;
        const double* w3 = w2 + ld;
        for (std::int64_t b = 0; b < c; ++b) cq[b] += s0 * w0[b] + s1 * w1[b] + s2 * w2[b] + s3 * w3[b];
      }
      for (; a < r; ++a) {
        const double s = sq[a];
        const double* w = W + a * ld;
        for (std::int64_t b = 0; b < c; ++b) cq[b] += s * w[b];
      }
    }
  }

  // C (m x r) = Y (m x c) * W^T with W (r x c): dot products of rows. C's rows are ldc apart.
  static void mul_wt(const double* __restrict Y, const double* __restrict W, double* __restrict C, std::int64_t m,
                     std::int64_t r, std::int64_t c, std::int64_t ldc) {
    const std::int64_t mm = MS > 0 ? MS : m;
    for (std::int64_t q = 0; q < mm; ++q)
      for (std::int64_t a = 0; a < r; ++a) C[q * ldc + a] = dot(Y + q * c, W + a * c, c);
  }

  // D (r x c) = -S^T Y with S (m x r, rows lds apart), Y (m x c).
  static void neg_mul_tn(const double* __restrict S, const double* __restrict Y, double* __restrict D, std::int64_t m,
                         std::int64_t r, std::int64_t c, std::int64_t lds) {
    const std::int64_t mm = MS > 0 ? MS : m;
    for (std::int64_t a = 0; a < r; ++a) {
      double* d = D + a * c;
      const double s0 = -S[a];
      for (std::int64_t b = 0; b < c; ++b) d[b] = s0 * Y[b];
      for (std::int64_t q = 1; q < mm; ++q) {
        const double s = -S[q * lds + a];
        const double* yq = Y + q * c;
        for (std::int64_t b = 0; b < c; ++b) d[b] += s * yq[b];
      }
    }
  }
};

template <int MS>
struct RowSweep {
  using RP = RowProducts<MS>;

  // Suffixes S_l = W_N...W_{l+1} (0-based layer l: the product of layers l..N-1, m x cols(l)).
  // S_{N-1} is the last layer itself; S_0 .. S_{N-2} are stacked in ws.prefix in order of l.
  // Returns P = S_0.
  static const double* suffixes(const Flow& f, const double* y, FlowWorkspace& ws) {
    const Network& net = f.network();
    const int N = net.depth();
    const std::int64_t m = net.m();
    std::size_t total = 0;
    for (int l = 0; l + 1 < N; ++l) total += static_cast<std::size_t>(m * net.cols(l));
    double* out = ws.prefix.data() + total;
    const double* next = y + net.offset(N - 1);
    for (int l = N - 2; l >= 0; --l) {
      const std::int64_t r = net.rows(l), c = net.cols(l);
      out -= m * c;
      const double* w = y + net.offset(l);
      if (!use_team(ws.team, m * r * c)) {
        RP::left_mul(next, w, out, m, r, c, c);
      } else {  // columns split
        ThreadTeam& team = *ws.team;
        team.run([&](int rank) {
          const auto [b0, b1] = team_share(static_cast<std::size_t>(c), rank, team.size(), kTeamGrain);
          if (b1 > b0) RP::left_mul(next, w + b0, out + b0, m, r, static_cast<std::int64_t>(b1 - b0), c);
        });
      }
      next = out;
    }
    return next;
  }

  // dW_l = -S_{l+1}^T Y_l with Y_0 = grad f(P) and Y_{l+1} = Y_l W_l^T (Y_l = grad f(P) (W_{l-1}...W_1)^T).
  static double rhs(const Flow& f, const double* y, double* dy, FlowWorkspace& ws) {
    const Network& net = f.network();
    const int N = net.depth();
    const std::int64_t m = net.m(), n = net.n();
    const double* prod = suffixes(f, y, ws);
    const double value = f.cost().value_and_grad(prod, m, n, ws.grad.data(), f.cost().data);
    if (!(value - value == 0.0)) return value;  // NaN or inf: outside the domain

    const double* Y = ws.grad.data();
    double* ybuf[2] = {ws.z0.data(), ws.z1.data()};
    int which = 0;
    const double* s_l = ws.prefix.data();  // S_l for l <= N - 2
    for (int l = 0; l < N; ++l) {
      const std::int64_t r = net.rows(l), c = net.cols(l);
      double* d = dy + net.offset(l);
      if (l == N - 1) {  // S_N = I
        for (std::int64_t i = 0; i < m * c; ++i) d[i] = -Y[i];
        break;
      }
      const double* s_next = (l + 1 == N - 1) ? y + net.offset(N - 1) : s_l + m * c;
      const double* w = y + net.offset(l);
      double* y_next = ybuf[which];
      if (!use_team(ws.team, m * r * c)) {
        RP::neg_mul_tn(s_next, Y, d, m, r, c, r);
        RP::mul_wt(Y, w, y_next, m, r, c, r);
      } else {  // rows of dW_l and of W_l (the columns of Y_{l+1}) split
        ThreadTeam& team = *ws.team;
        team.run([&](int rank) {
          const auto [a0, a1] = team_share(static_cast<std::size_t>(r), rank, team.size(), kTeamGrain);
          if (a1 <= a0) return;
          const auto rows = static_cast<std::int64_t>(a1 - a0);
          RP::neg_mul_tn(s_next + a0, Y, d + a0 * c, m, rows, c, r);
          RP::mul_wt(Y, w + a0 * c, y_next + a0, m, rows, c, r);
        });
      }
      Y = y_next;
      which ^= 1;
      s_l = s_next;
    }
    return value;
  }
};

}  // namespace

void select_row_sweep(std::int64_t m, Flow::RhsKernel& rhs, Flow::ProductKernel& product) {
  switch (m) {
#define OVERFLOW_CASE(K)              \
  case K:                             \
    rhs = &RowSweep<K>::rhs;          \
    product = &RowSweep<K>::suffixes; \
    return;
    OVERFLOW_CASE(1)
    OVERFLOW_CASE(2)
    OVERFLOW_CASE(3)
    OVERFLOW_CASE(4)
#undef OVERFLOW_CASE
    default: rhs = &RowSweep<0>::rhs; product = &RowSweep<0>::suffixes;
  }
}

}  // namespace overflow::detail
