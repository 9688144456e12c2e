// The products of a factored stage input W = B - sum_j c_j Zrow_j PreT_j (stage_factors.hpp) as
// corrections of the products with B: each term costs two n x n x k products where forming W
// would cost a pass over k x k entries. NS > 0: n known at compile time (NS == 0: run time).
#pragma once
#include <cstdint>
#include <cstring>

#include "lanes.hpp"

namespace overflow::detail {

// G (n x n) = coef A B, A n x K (row-major, K long rows), B K x n.
template <int NS>
void gram(const double* __restrict A, const double* __restrict B, double coef, double* __restrict G, std::int64_t K,
          std::int64_t n) {
  const std::int64_t nn = NS > 0 ? NS : n;
  if constexpr (is_vector_width(NS)) {
    using R = Lanes<NS>;
    typename R::type acc[NS] = {};
    for (std::int64_t k = 0; k < K; ++k) {
      const typename R::type row = R::load(B + k * NS);
      for (int p = 0; p < NS; ++p) acc[p] += A[p * K + k] * row;
    }
    for (int p = 0; p < NS; ++p) R::store(G + p * NS, coef * acc[p]);
    return;
  }
  for (std::int64_t i = 0; i < nn * nn; ++i) G[i] = 0.0;
  for (std::int64_t k = 0; k < K; ++k)
    for (std::int64_t p = 0; p < nn; ++p) {
      const double w = A[p * K + k];
      for (std::int64_t q = 0; q < nn; ++q) G[p * nn + q] += w * B[k * nn + q];
    }
  for (std::int64_t i = 0; i < nn * nn; ++i) G[i] *= coef;
}

// M_j (n x n) = c_j PreT_j X, PreT_j n x c, X c x n (the prefix entering the layer).
template <int NS>
void forward_grams(const double* const* pre_t, const double* coef, int count, const double* X, double* M,
                   std::int64_t c, std::int64_t n) {
  const std::int64_t nn = NS > 0 ? NS : n;
  for (int j = 0; j < count; ++j) gram<NS>(pre_t[j], X, coef[j], M + j * nn * nn, c, n);
}

// Rows [a0, a1) of out (r x n) -= sum_j Zrow_j M_j, Zrow_j r x n.
template <int NS>
void forward_correct(const double* const* zrow, const double* M, int count, double* out, std::int64_t a0,
                     std::int64_t a1, std::int64_t n) {
  const std::int64_t nn = NS > 0 ? NS : n;
  if constexpr (is_vector_width(NS)) {
    using R = Lanes<NS>;
    constexpr int kRows = 8;  // rows sharing each loaded row of M; eight FMA chains in flight
    std::int64_t a = a0;
    for (; a + kRows <= a1; a += kRows) {
      typename R::type acc[kRows];
      for (int i = 0; i < kRows; ++i) acc[i] = R::load(out + (a + i) * NS);
      for (int j = 0; j < count; ++j) {
        const double* __restrict z = zrow[j] + a * NS;
        for (int q = 0; q < NS; ++q) {
          const typename R::type m = R::load(M + (j * NS + q) * NS);
          for (int i = 0; i < kRows; ++i) acc[i] -= z[i * NS + q] * m;
        }
      }
      for (int i = 0; i < kRows; ++i) R::store(out + (a + i) * NS, acc[i]);
    }
    for (; a < a1; ++a) {
      typename R::type acc = R::load(out + a * NS);
      for (int j = 0; j < count; ++j)
        for (int q = 0; q < NS; ++q) acc -= zrow[j][a * NS + q] * R::load(M + (j * NS + q) * NS);
      R::store(out + a * NS, acc);
    }
    return;
  }
  for (std::int64_t a = a0; a < a1; ++a) {
    double* o = out + a * nn;
    for (int j = 0; j < count; ++j) {
      const double* z = zrow[j] + a * nn;
      const double* m = M + j * nn * nn;
      for (std::int64_t q = 0; q < nn; ++q) {
        const double w = z[q];
        for (std::int64_t p = 0; p < nn; ++p) o[p] -= w * m[q * nn + p];
      }
    }
  }
}

// N_j (n x n) = c_j Zt Zrow_j, Zt n x r (the propagated gradient entering the layer), Zrow_j r x n.
template <int NS>
void backward_grams(const double* const* zrow, const double* coef, int count, const double* Zt, double* N,
                    std::int64_t r, std::int64_t n) {
  const std::int64_t nn = NS > 0 ? NS : n;
  for (int j = 0; j < count; ++j) gram<NS>(Zt, zrow[j], coef[j], N + j * nn * nn, r, n);
}

// Columns [b0, b1) of C (n x c, leading dimension c) -= sum_j N_j PreT_j: C is Z^T W of the layer,
// or, for the input layer (transposed_negated), dW_0 = -(Z^T W)^T (c x n) gets += the transpose
// (formed in scratch, n x c, first).
template <int NS>
void backward_correct(const double* const* pre_t, const double* N, int count, double* C, bool transposed_negated,
                      double* scratch, std::int64_t c, std::int64_t b0, std::int64_t b1, std::int64_t n) {
  const std::int64_t nn = NS > 0 ? NS : n;
  double* out = transposed_negated ? scratch : C;
  std::int64_t b = b0;
  if constexpr (NS == 8) {
    // Eight consecutive columns of all eight rows at once: each loaded chunk of a PreT_j row feeds
    // eight accumulators.
    using R = Lanes<8>;
    for (; b + 8 <= b1; b += 8) {
      typename R::type acc[8];
      for (int p = 0; p < 8; ++p) acc[p] = transposed_negated ? typename R::type{} : R::load(out + p * c + b);
      for (int j = 0; j < count; ++j) {
        const double* __restrict g = N + j * 64;
        for (int q = 0; q < 8; ++q) {
          const typename R::type t = R::load(pre_t[j] + q * c + b);
          for (int p = 0; p < 8; ++p) acc[p] -= g[p * 8 + q] * t;
        }
      }
      for (int p = 0; p < 8; ++p) R::store(out + p * c + b, acc[p]);
    }
  }
  for (std::int64_t p = 0; p < nn; ++p) {  // the remaining columns (all of them for n != 8)
    double* row = out + p * c;
    if (transposed_negated)
      for (std::int64_t e = b; e < b1; ++e) row[e] = 0.0;
    for (int j = 0; j < count; ++j)
      for (std::int64_t q = 0; q < nn; ++q) {
        const double w = N[(j * nn + p) * nn + q];
        const double* t = pre_t[j] + q * c;
        for (std::int64_t e = b; e < b1; ++e) row[e] -= w * t[e];
      }
  }
  if (!transposed_negated) return;
  for (std::int64_t e = b0; e < b1; ++e)
    for (std::int64_t p = 0; p < nn; ++p) C[e * nn + p] -= scratch[p * c + e];
}

// The factors of dW = -Z Pre^T saved for later stages: Zrow (r x n) = Zt^T and PreT (n x c).
template <int NS>
void save_factors(const double* Zt, const double* pre_t, double* out, std::int64_t r, std::int64_t c, std::int64_t n) {
  const std::int64_t nn = NS > 0 ? NS : n;
  for (std::int64_t a = 0; a < r; ++a)
    for (std::int64_t q = 0; q < nn; ++q) out[a * nn + q] = Zt[q * r + a];
  std::memcpy(out + r * nn, pre_t, static_cast<std::size_t>(nn * c) * sizeof(double));
}

}  // namespace overflow::detail
