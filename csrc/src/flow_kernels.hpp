// The linear network's flow kernels: the products specialised on the small dimension n, the RHS
// (instantiated in network.cpp) and the RHS at a factored stage input (stage_corrected.cpp, so that
// network.cpp's unit, and GCC's inlining in it, holds the plain RHS only).
#pragma once
#include <cstdint>
#include <cstring>
#include <vector>

#include "lanes.hpp"
#include "overflow/network.hpp"
#include "overflow/thread_team.hpp"
#include "stage_correction.hpp"

namespace overflow {
namespace detail {

// The three products of the flow, each with the small dimension n known at compile time when
// NS > 0 (NS == 0: run-time n). For NS a power of two, one row of an r x NS operand is one GCC/Clang
// vector (a register for NS <= 8 with AVX-512): measured 6x faster than letting the compiler
// vectorise plain loops (k = 128, n = 8: 6 us against 38 us). Rows are blocked by 4 so a loaded
// row of the small operand feeds four accumulators.
template <int NS>
struct Products {
  // C (r x n) = A (r x c) * B (c x n)
  static void mul(const double* __restrict A, const double* __restrict B, double* __restrict C, std::int64_t r,
                  std::int64_t c, std::int64_t n) {
    if constexpr (is_vector_width(NS)) {
      (void)n;
      std::int64_t i = 0;
      for (; i + 8 <= r; i += 8) mul_rows<8>(A + i * c, B, C + i * NS, c);
      for (; i + 4 <= r; i += 4) mul_rows<4>(A + i * c, B, C + i * NS, c);
      for (; i < r; ++i) mul_rows<1>(A + i * c, B, C + i * NS, c);
    } else if constexpr (NS == 1) {
      (void)n;
      for (std::int64_t i = 0; i < r; ++i) C[i] = dot(A + i * c, B, c);
    } else {
      multiply(A, B, C, r, c, NS > 0 ? NS : n);
    }
  }

  // R rows of C = A B for a vector-width NS. Even and odd k accumulate separately: with R = 8,
  // sixteen independent FMA chains (the FMA latency times two pipes needs at least eight), and
  // each loaded row of B feeds R of them (k = 128: 2.25 us against 2.53 us for R = 4).
  template <int R>
  static void mul_rows(const double* __restrict x, const double* __restrict B, double* __restrict C, std::int64_t c) {
    using L = Lanes<NS>;
    using V = typename L::type;
    V even[R] = {}, odd[R] = {};
    std::int64_t k = 0;
    for (; k + 2 <= c; k += 2) {
      const V b = L::load(B + k * NS), d = L::load(B + (k + 1) * NS);
      for (int q = 0; q < R; ++q) {
        even[q] += x[q * c + k] * b;
        odd[q] += x[q * c + k + 1] * d;
      }
    }
    for (; k < c; ++k) {
      const V b = L::load(B + k * NS);
      for (int q = 0; q < R; ++q) even[q] += x[q * c + k] * b;
    }
    for (int q = 0; q < R; ++q) L::store(C + q * NS, even[q] + odd[q]);
  }

  // Runs block(blocks, b) over [0, c) in blocks of `blocks` vectors of 8 columns, blocks an
  // std::integral_constant: 16 / NS of them (with NS rows, sixteen registers), then half that, then
  // one, for the columns left. Returns where the whole vectors end (the rest is a scalar tail).
  template <class Block>
  static std::int64_t column_blocks(std::int64_t c, Block&& block) {
    constexpr int kWide = 16 / NS, kHalf = kWide / 2;
    std::int64_t b = 0;
    for (; b + 8 * kWide <= c; b += 8 * kWide) block(std::integral_constant<int, kWide>{}, b);
    if constexpr (kHalf > 1)
      for (; b + 8 * kHalf <= c; b += 8 * kHalf) block(std::integral_constant<int, kHalf>{}, b);
    for (; b + 8 <= c; b += 8) block(std::integral_constant<int, 1>{}, b);
    return b;
  }

  // Ct (n x c) = Zt (n x r) A (r x c): the backward sweep's W^T Z, kept transposed so that the
  // vectors run along the rows of A (A's rows lda apart and Ct's ldc apart: a block of columns
  // when a thread team splits them; Zt's rows r apart). Each block of columns is independent FMA
  // chains per row of Ct (k = 16, n = 4: 26 ns against 41 ns for W^T Z computed row by row of Z).
  // NegT: writes -Ct transposed instead (c x n, rows n apart; ldc unused), the input layer's
  // gradient at the end of the sweep.
  template <bool NegT = false>
  static void left_mul(const double* __restrict Zt, const double* __restrict A, double* __restrict Ct, std::int64_t r,
                       std::int64_t c, std::int64_t n, std::int64_t lda, std::int64_t ldc) {
    const std::int64_t nn = NS > 0 ? NS : n;
    if constexpr (NS == 1) {
      // One row: the rows of A accumulated, the first initialising it (plain loops the compiler
      // vectorises; the blocked version was 9 ns slower on the vector case's r = 1, c = 100).
      (void)ldc;
      const double sign = NegT ? -1.0 : 1.0;
      const double z0 = sign * Zt[0];
      for (std::int64_t q = 0; q < c; ++q) Ct[q] = z0 * A[q];
      for (std::int64_t a = 1; a < r; ++a) {
        const double za = sign * Zt[a];
        const double* row = A + a * lda;
        for (std::int64_t q = 0; q < c; ++q) Ct[q] += za * row[q];
      }
      return;
    }
    std::int64_t b = 0;
    if constexpr (NS > 0) {
      // Sixteen accumulators per block (k = 128, n = 8: 2.0 us against 2.3 us with eight).
      b = column_blocks(c, [&](auto blocks, std::int64_t b0) {
        left_mul_block<decltype(blocks)::value, NegT>(Zt, A, Ct, r, lda, ldc, b0);
      });
    }
    for (std::int64_t j = 0; j < nn; ++j) {
      const double* z = Zt + j * r;
      for (std::int64_t q = b; q < c; ++q) {
        double sum = 0.0;
        for (std::int64_t a = 0; a < r; ++a) sum += z[a] * A[a * lda + q];
        if constexpr (NegT) {
          Ct[q * nn + j] = -sum;
        } else {
          Ct[j * ldc + q] = sum;
        }
      }
    }
  }

  template <int kBlocks, bool NegT>
  static void left_mul_block(const double* __restrict Zt, const double* __restrict A, double* __restrict Ct,
                             std::int64_t r, std::int64_t lda, std::int64_t ldc, std::int64_t b) {
    typedef double V8 __attribute__((vector_size(8 * sizeof(double))));
    V8 acc[NS][kBlocks] = {};
    for (std::int64_t a = 0; a < r; ++a) {
      V8 w[kBlocks];
      for (int q = 0; q < kBlocks; ++q) std::memcpy(&w[q], A + a * lda + b + 8 * q, sizeof(V8));
      for (int j = 0; j < NS; ++j) {
        const double z = Zt[j * r + a];
        for (int q = 0; q < kBlocks; ++q) acc[j][q] += z * w[q];
      }
    }
    for (int q = 0; q < kBlocks; ++q)
      for (int j = 0; j < NS; ++j) {
        if constexpr (NegT) {
          for (int e = 0; e < 8; ++e) Ct[(b + 8 * q + e) * NS + j] = -acc[j][q][e];
        } else {
          std::memcpy(Ct + j * ldc + b + 8 * q, &acc[j][q], sizeof(V8));
        }
      }
  }

  // D (r x c) = -Z (r x n) * T (n x c), T the transposed prefix, Z given transposed: Z's entry
  // (a, j) is Zt[j * ldz + a] (ldz >= r: a block of Z's rows, when a thread team splits them).
  static void neg_mul_nt(const double* __restrict Zt, std::int64_t ldz, const double* __restrict T,
                         double* __restrict D, std::int64_t r, std::int64_t c, std::int64_t n) {
    if constexpr (is_vector_width(NS)) {
      (void)n;
      // Sixteen registers of T per block.
      std::int64_t b = column_blocks(
          c, [&](auto blocks, std::int64_t b0) { neg_mul_nt_block<decltype(blocks)::value>(Zt, ldz, T, D, r, c, b0); });
      for (; b < c; ++b)
        for (std::int64_t a = 0; a < r; ++a) {
          double sum = 0.0;
          for (int j = 0; j < NS; ++j) sum -= Zt[j * ldz + a] * T[j * c + b];
          D[a * c + b] = sum;
        }
    } else if constexpr (NS > 0) {
      (void)n;
      std::int64_t a = 0;
      for (; a + 2 <= r; a += 2) {
        double z0[NS], z1[NS];
        for (int j = 0; j < NS; ++j) {
          z0[j] = -Zt[j * ldz + a];
          z1[j] = -Zt[j * ldz + a + 1];
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
          for (int j = 0; j < NS; ++j) s -= Zt[j * ldz + a] * T[j * c + b];
          d[b] = s;
        }
      }
    } else {
      for (std::int64_t a = 0; a < r; ++a) {
        double* d = D + a * c;
        std::fill(d, d + c, 0.0);
        for (std::int64_t j = 0; j < n; ++j) {
          const double z = -Zt[j * ldz + a];
          const double* t = T + j * c;
          for (std::int64_t b = 0; b < c; ++b) d[b] += z * t[b];
        }
      }
    }
  }

  // Columns [b, b + 8 kBlocks) of D = -Z T: those columns of T held in NS x kBlocks registers and
  // streamed against every row of Z, each output vector NS FMAs and one store. kBlocks chains per
  // row (k = 128, n = 8: two blocks 2.3 us against 2.8 us for one).
  template <int kBlocks>
  static void neg_mul_nt_block(const double* __restrict Zt, std::int64_t ldz, const double* __restrict T,
                               double* __restrict D, std::int64_t r, std::int64_t c, std::int64_t b) {
    typedef double V8 __attribute__((vector_size(8 * sizeof(double))));
    V8 t[NS][kBlocks];
    for (int j = 0; j < NS; ++j)
      for (int q = 0; q < kBlocks; ++q) std::memcpy(&t[j][q], T + j * c + b + 8 * q, sizeof(V8));
    for (std::int64_t a = 0; a < r; ++a) {
      V8 acc[kBlocks];
      const double z0 = -Zt[a];
      for (int q = 0; q < kBlocks; ++q) acc[q] = z0 * t[0][q];
      for (int j = 1; j < NS; ++j) {
        const double z = -Zt[j * ldz + a];
        for (int q = 0; q < kBlocks; ++q) acc[q] += z * t[j][q];
      }
      for (int q = 0; q < kBlocks; ++q) std::memcpy(D + a * c + b + 8 * q, &acc[q], sizeof(V8));
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

// FlowKernels<n>::rhs_corrected, or null where the flow has no factored layers (stage_corrected.cpp).
Flow::RhsKernel corrected_flow_kernel(std::int64_t n);

}  // namespace detail

template <int NS>
struct FlowKernels {
  using P = detail::Products<NS>;

  // Forward pass: returns a pointer to P = W_N...W_1 (inside y when N = 1, else in ws.prefix).
  static const double* forward(const Flow& f, const double* y, FlowWorkspace& ws) {
    const Network& net = f.net_;
    const double* prev = y;  // Pre_1 = W_1
    double* out = ws.prefix.data();
    for (int l = 1; l < net.depth(); ++l) {
      forward_layer(net, y, l, prev, out, ws.team);
      prev = out;
      out += net.rows(l) * net.n();
    }
    return prev;
  }

  // Pre_{l+1} = W_l Pre_l (layer l 0-based, Pre_l = `in`, cols(l) x n) into `out`, rows split
  // across the team when there is one and the product is large.
  static void forward_layer(const Network& net, const double* y, int l, const double* in, double* out,
                            ThreadTeam* team) {
    const std::int64_t r = net.rows(l), c = net.cols(l), n = net.n(), nn = NS > 0 ? NS : n;
    const double* w = y + net.offset(l);
    // Direct calls on one thread: through the job's closure the (a) RHS took 15% longer.
    if (!use_team(team, r * c * nn)) {
      P::mul(w, in, out, r, c, n);
      return;
    }
    team->run([&](int rank) {
      const auto [i0, i1] = team_share(static_cast<std::size_t>(r), rank, team->size(), kTeamGrain);
      const auto a = static_cast<std::int64_t>(i0), b = static_cast<std::int64_t>(i1);
      if (b > a) P::mul(w + a * c, in, out + a * nn, b - a, c, n);
    });
  }

  // Layer l of the backward sweep: rows [a0, a1) of dW_l = -Z_l Pre_l^T and columns [b0, b1) of
  // Z_{l-1}^T = Z_l^T W_l. For l = 1 (first_layer) that is the input layer's gradient dW_0 = -Z_0,
  // written negated and transposed straight into dy.
  static void backward_part(const double* zt, const double* w, const double* pre_t, double* grad_l, double* znext,
                            double* dy, bool first_layer, std::int64_t r, std::int64_t c, std::int64_t n,
                            std::int64_t a0, std::int64_t a1, std::int64_t b0, std::int64_t b1) {
    const std::int64_t nn = NS > 0 ? NS : n;
    if (a1 > a0) P::neg_mul_nt(zt + a0, r, pre_t, grad_l + a0 * c, a1 - a0, c, n);
    if (b1 <= b0) return;
    if (first_layer) {
      P::template left_mul<true>(zt, w + b0, dy + b0 * nn, r, b1 - b0, n, c, c);
    } else {
      P::left_mul(zt, w + b0, znext + b0, r, b1 - b0, n, c, c);
    }
  }

  // Pre_l (cols(l) x n, the product of the layers before l) transposed, every l at once and
  // stacked into ws.transposed_at; W_1 = Pre_1 is read in place. An r x 1 prefix is its own
  // transpose. Up front, not into one buffer just before each layer's product: that measured
  // 7-13% slower on (a), probably the vector loads waiting on the transpose's scalar stores.
  // Returns Z_N^T = grad f(P)^T (n x m, in ws.z0; grad itself for n = 1).
  static const double* transpose_prefixes(const Network& net, const double* y, const double* grad, FlowWorkspace& ws) {
    const std::int64_t n = net.n(), m = net.m(), nn = NS > 0 ? NS : n;
    std::vector<const double*>& pre_t = ws.transposed_at;
    const double* pre = y;
    double* tbuf = ws.prefix_t.data();
    for (int l = 1; l < net.depth(); ++l) {
      const std::int64_t c = net.cols(l);
      if constexpr (NS == 1) {
        pre_t[static_cast<std::size_t>(l)] = pre;
      } else {
        detail::transpose<NS>(pre, tbuf, c, n);
        pre_t[static_cast<std::size_t>(l)] = tbuf;
        tbuf += c * nn;
      }
      pre = (l == 1 ? ws.prefix.data() : pre + c * nn);
    }
    if constexpr (NS == 1) {
      (void)m;
      return grad;
    } else {
      detail::transpose<NS>(grad, ws.z0.data(), m, n);
      return ws.z0.data();
    }
  }

  // dy = -grad g(y). Backward sweep with Z_l = (W_N...W_{l+1})^T grad f(P) kept transposed (n x k_l):
  // dW_l = -Z_l Pre_l^T and Z_{l-1}^T = Z_l^T W_l, both with the vectors along the rows of W_l.
  // With a team in ws, each product is split: rows of dW_l, columns of Z_{l-1}^T (one job per layer
  // and sweep, since each needs all of the previous product); the cost runs on this thread.
  static double rhs(const Flow& f, const double* y, double* dy, FlowWorkspace& ws) {
    const Network& net = f.net_;
    ThreadTeam* team = ws.team;  // use_team() leaves small products (and a team of one) on this thread
    const std::int64_t n = net.n(), m = net.m(), nn = NS > 0 ? NS : n;
    const int depth = net.depth();
    const double* prod = forward(f, y, ws);
    double* grad = ws.grad.data();
    const double value = f.cost_.value_and_grad(prod, m, n, grad, f.cost_.data);
    if (!(value - value == 0.0)) return value;  // NaN or inf: outside the domain
    if (depth == 1) {
      for (std::int64_t i = 0; i < m * nn; ++i) dy[i] = -grad[i];
      return value;
    }
    std::vector<const double*>& pre_t = ws.transposed_at;
    double* zbuf[2] = {ws.z0.data(), ws.z1.data()};
    const double* z = transpose_prefixes(net, y, grad, ws);
    int which = 1;
    for (int l = depth - 1; l >= 1; --l) {
      const std::int64_t r = net.rows(l), c = net.cols(l);
      const double* w = y + net.offset(l);
      const double* tp = pre_t[static_cast<std::size_t>(l)];
      double* grad_l = dy + net.offset(l);
      double* znext = zbuf[which];  // Z_{l-1}^T, n x c
      if (!use_team(team, r * c * nn)) {
        backward_part(z, w, tp, grad_l, znext, dy, l == 1, r, c, n, 0, r, 0, c);
      } else {
        team->run([&](int rank) {
          const auto [a0, a1] = team_share(static_cast<std::size_t>(r), rank, team->size(), kTeamGrain);
          const auto [b0, b1] = team_share(static_cast<std::size_t>(c), rank, team->size(), kTeamGrain);
          backward_part(z, w, tp, grad_l, znext, dy, l == 1, r, c, n, static_cast<std::int64_t>(a0),
                        static_cast<std::int64_t>(a1), static_cast<std::int64_t>(b0), static_cast<std::int64_t>(b1));
        });
      }
      z = znext;
      which ^= 1;
    }
    return value;
  }

  // The factors of layer l in each term of a stage correction: Zrow_j (rows x n) and PreT_j.
  struct TermFactors {
    const double* zrow[detail::kMaxFusedTerms];
    const double* pre_t[detail::kMaxFusedTerms];
    int count = 0;
    const double* coef = nullptr;
  };

  // Whether layer l is read as base + corrections in this evaluation (then `out` gets the terms'
  // factors; without terms the layer is base itself).
  static bool factored(const Flow& f, const FlowWorkspace& ws, int l, TermFactors& out) {
    const StageCorrection* corr = ws.correction;
    const std::size_t at = f.factor_at_[static_cast<std::size_t>(l)];
    if (at == Flow::kUnfactored) return false;
    const std::size_t zsize = static_cast<std::size_t>(f.net_.rows(l) * f.net_.n());
    out.count = corr->terms->count;
    out.coef = corr->terms->coef.data();
    for (int j = 0; j < out.count; ++j) {
      out.zrow[j] = corr->terms->factors[static_cast<std::size_t>(j)] + at;
      out.pre_t[j] = out.zrow[j] + zsize;
    }
    return true;
  }

  // The forward pass of rhs_corrected: the factored layers are ws.correction's base + terms.
  static const double* forward_corrected(const Flow& f, const double* y, FlowWorkspace& ws) {
    const Network& net = f.net_;
    const double* prev = y;  // Pre_1 = W_1
    double* out = ws.prefix.data();
    for (int l = 1; l < net.depth(); ++l) {
      TermFactors terms;
      const bool fac = factored(f, ws, l, terms);
      const double* w = (fac ? ws.correction->base : y) + net.offset(l);
      forward_layer_corrected(net, w, l, prev, out, ws, fac && terms.count > 0 ? &terms : nullptr);
      prev = out;
      out += net.rows(l) * net.n();
    }
    return prev;
  }

  // forward_layer with weights w and, with terms, W_l = w - sum_j c_j Zrow_j PreT_j: the product
  // with w, then the correction through n x n Grams.
  static void forward_layer_corrected(const Network& net, const double* w, int l, const double* in, double* out,
                                      FlowWorkspace& ws, const TermFactors* terms) {
    const std::int64_t r = net.rows(l), c = net.cols(l), n = net.n(), nn = NS > 0 ? NS : n;
    ThreadTeam* team = ws.team;
    double* grams = ws.grams.data();
    if (terms) detail::forward_grams<NS>(terms->pre_t, terms->coef, terms->count, in, grams, c, n);
    if (!use_team(team, r * c * nn)) {
      P::mul(w, in, out, r, c, n);
      if (terms) detail::forward_correct<NS>(terms->zrow, grams, terms->count, out, 0, r, n);
      return;
    }
    team->run([&](int rank) {
      const auto [i0, i1] = team_share(static_cast<std::size_t>(r), rank, team->size(), kTeamGrain);
      const auto a = static_cast<std::int64_t>(i0), b = static_cast<std::int64_t>(i1);
      if (b <= a) return;
      P::mul(w + a * c, in, out + a * nn, b - a, c, n);
      if (terms) detail::forward_correct<NS>(terms->zrow, grams, terms->count, out, a, b, n);
    });
  }

  // backward_part, and with terms (a factored stage input) Z_l^T W_l corrected by
  // -sum_j N_j PreT_j, the Grams N_j in `grams`.
  static void backward_part_corrected(const double* zt, const double* w, const double* pre_t, double* grad_l,
                                      double* znext, double* dy, bool first_layer, std::int64_t r, std::int64_t c,
                                      std::int64_t n, std::int64_t a0, std::int64_t a1, std::int64_t b0,
                                      std::int64_t b1, const TermFactors* terms, const double* grams, double* scratch) {
    backward_part(zt, w, pre_t, grad_l, znext, dy, first_layer, r, c, n, a0, a1, b0, b1);
    if (terms && b1 > b0)
      detail::backward_correct<NS>(terms->pre_t, grams, terms->count, first_layer ? dy : znext, first_layer, scratch, c,
                                   b0, b1, n);
  }

  // rhs at the stage input given by ws.correction (Flow::rhs_factored): rhs with the factored
  // layers corrected, and this evaluation's factors saved. Written apart from rhs and instantiated
  // only in stage_corrected.cpp: as one templated body with rhs, or in network.cpp's unit, GCC
  // inlined less into the plain RHS, which then took 0.19 instead of 0.17 us on (a) and 34 instead
  // of 30 us on (c).
  static double rhs_corrected(const Flow& f, const double* y, double* dy, FlowWorkspace& ws) {
    const Network& net = f.net_;
    ThreadTeam* team = ws.team;  // use_team() leaves small products (and a team of one) on this thread
    const std::int64_t n = net.n(), m = net.m(), nn = NS > 0 ? NS : n;
    const int depth = net.depth();
    const double* prod = forward_corrected(f, y, ws);
    double* grad = ws.grad.data();
    const double value = f.cost_.value_and_grad(prod, m, n, grad, f.cost_.data);
    if (!(value - value == 0.0)) return value;  // NaN or inf: outside the domain
    if (depth == 1) {
      for (std::int64_t i = 0; i < m * nn; ++i) dy[i] = -grad[i];
      return value;
    }
    std::vector<const double*>& pre_t = ws.transposed_at;
    double* zbuf[2] = {ws.z0.data(), ws.z1.data()};
    const double* z = transpose_prefixes(net, y, grad, ws);
    int which = 1;
    for (int l = depth - 1; l >= 1; --l) {
      const std::int64_t r = net.rows(l), c = net.cols(l);
      TermFactors terms;
      const bool fac = factored(f, ws, l, terms);
      const double* w = (fac ? ws.correction->base : y) + net.offset(l);
      const double* tp = pre_t[static_cast<std::size_t>(l)];
      double* grad_l = dy + net.offset(l);
      double* znext = zbuf[which];  // Z_{l-1}^T, n x c
      double* grams = ws.grams.data();
      double* scratch = ws.correction_scratch.data();
      const TermFactors* tf = fac && terms.count > 0 ? &terms : nullptr;
      if (tf) detail::backward_grams<NS>(terms.zrow, terms.coef, terms.count, z, grams, r, n);
      if (!use_team(team, r * c * nn)) {
        backward_part_corrected(z, w, tp, grad_l, znext, dy, l == 1, r, c, n, 0, r, 0, c, tf, grams, scratch);
      } else {
        team->run([&](int rank) {
          const auto [a0, a1] = team_share(static_cast<std::size_t>(r), rank, team->size(), kTeamGrain);
          const auto [b0, b1] = team_share(static_cast<std::size_t>(c), rank, team->size(), kTeamGrain);
          backward_part_corrected(z, w, tp, grad_l, znext, dy, l == 1, r, c, n, static_cast<std::int64_t>(a0),
                                  static_cast<std::int64_t>(a1), static_cast<std::int64_t>(b0),
                                  static_cast<std::int64_t>(b1), tf, grams, scratch);
        });
      }
      const std::size_t at = f.factor_at_[static_cast<std::size_t>(l)];
      if (ws.correction->factors_out && at != Flow::kUnfactored)
        detail::save_factors<NS>(z, tp, ws.correction->factors_out + at, r, c, n);
      z = znext;
      which ^= 1;
    }
    return value;
  }
};

}  // namespace overflow
