// Fused stage combinations out = y + sum_j c_j K_j: one pass over the state per stage instead of one
// axpy per term (the stepper's vector work is memory-bound on wide networks).
#pragma once
#include <array>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "overflow/detail/tolerance.hpp"

namespace overflow::detail {

constexpr int kMaxFusedTerms = 16;

// The stage slots never alias the output; without this promise GCC gives up vectorising once the
// run-time alias checks exceed its limit (about 10 pointers: every DOP853 stage).
#if defined(__clang__)
#define OVERFLOW_NO_ALIAS _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define OVERFLOW_NO_ALIAS _Pragma("GCC ivdep")
#else
#define OVERFLOW_NO_ALIAS
#endif

// The nonzero terms of one weight vector over the stage slots (zeros skipped: DOP853 has many).
// Fixed storage, so building one inside the step loop (dense output) allocates nothing.
struct Terms {
  std::array<int, kMaxFusedTerms> slot{};
  std::array<double, kMaxFusedTerms> coef{};
  int count = 0;

  static Terms from_row(const double* row, int width) {
    Terms t;
    for (int j = 0; j < width; ++j)
      if (row[j] != 0.0) {
        if (t.count == kMaxFusedTerms) throw std::logic_error("tableau row has too many terms");
        t.slot[t.count] = j;
        t.coef[t.count] = row[j];
        ++t.count;
      }
    return t;
  }
  int size() const { return count; }
};

// InPlace: out += sum_j c_j k_j (y unused), so that a partial sum becomes its stage's input where
// it lies instead of in another buffer (whose lines would first be fetched).
template <int J, bool InPlace>
void combine_fixed(double* __restrict out, const double* __restrict y, const double* const* k, const double* c,
                   std::size_t dim) {
  const double* kp[J > 0 ? J : 1];
  double cc[J > 0 ? J : 1];
  for (int j = 0; j < J; ++j) {
    kp[j] = k[j];
    cc[j] = c[j];
  }
  OVERFLOW_NO_ALIAS
  for (std::size_t i = 0; i < dim; ++i) {
    double acc = 0.0;
    for (int j = 0; j < J; ++j) acc += cc[j] * kp[j][i];
    out[i] = (InPlace ? out[i] : y[i]) + acc;
  }
}

// One pass over the step's end: the weighted error sum, and (because the pass reads y_new and
// f(y_new) anyway) max |y_new| and ||f(y_new)||^2, which the loop needs on acceptance.
struct ErrorPass {
  double error_sum = 0.0;      // sum_i (h sum_j e_j K_j[i] / (atol + rtol max(|y_i|, |y_new_i|)))^2
  double error_sum_low = 0.0;  // the same for a second weight vector (DOP853's 3rd-order one)
  double max_abs_new = 0.0;    // max_i |y_new_i| (infinite if some entry is NaN)
  double f_new_sq = 0.0;       // sum_i f(y_new)_i^2 (not computed by the pass that writes y_new)

  // Adds the result of the same pass over another part of the state.
  void merge(const ErrorPass& part) {
    error_sum += part.error_sum;
    error_sum_low += part.error_sum_low;
    f_new_sq += part.f_new_sq;
    max_abs_new = std::fmax(max_abs_new, part.max_abs_new);  // infinity stands for NaN
  }
};

// c2 == nullptr: one estimate; else a second weight vector over the same slots (error_sum_low),
// sharing the loads and the one division by the scale. Solve: the pass also writes
// y_new = y + sum_j cb_j K_j (an estimate that does not use f(y_new), as DOP853's, needs no second
// pass over the stages, and a rejected step needs no f(y_new)); otherwise it reads y_new and f_new.
template <int J, bool Dual, bool Solve>
ErrorPass error_pass_fixed(const double* __restrict y, double* __restrict y_new, const double* const* k,
                           const double* cb, const double* c, const double* c2, const double* __restrict f_new,
                           std::size_t dim, double rtol, double atol, const double* __restrict rtol_i) {
  const double* kp[J > 0 ? J : 1];
  double cc[J > 0 ? J : 1], cc2[J > 0 ? J : 1], ccb[J > 0 ? J : 1];
  for (int j = 0; j < J; ++j) {
    kp[j] = k[j];
    cc[j] = c[j];
    cc2[j] = Dual ? c2[j] : 0.0;
    ccb[j] = Solve ? cb[j] : 0.0;
  }
  // Eight-lane partial results: reductions the compiler may not reorder by itself.
  typedef double V8 __attribute__((vector_size(8 * sizeof(double))));
  V8 part{}, part2{}, big{}, fsq{};
  std::size_t i = 0;
  // Per-component rtol (rtol_i, rare: solve_ivp's array rtol) takes the scalar loop below.
  for (; rtol_i == nullptr && i + 8 <= dim; i += 8) {
    V8 acc{}, acc2{}, sol{}, yi, yn, kv;
    std::memcpy(&yi, y + i, sizeof(V8));
    for (int j = 0; j < J; ++j) {
      std::memcpy(&kv, kp[j] + i, sizeof(V8));
      acc += cc[j] * kv;
      if constexpr (Dual) acc2 += cc2[j] * kv;
      if constexpr (Solve) sol += ccb[j] * kv;
    }
    if constexpr (Solve) {
      yn = yi + sol;
      std::memcpy(y_new + i, &yn, sizeof(V8));
    } else {
      V8 fv;
      std::memcpy(&yn, y_new + i, sizeof(V8));
      std::memcpy(&fv, f_new + i, sizeof(V8));
      fsq += fv * fv;
    }
    const V8 ay = yi < 0 ? -yi : yi, an = yn < 0 ? -yn : yn;
    const V8 inv = 1.0 / (atol + rtol * (ay > an ? ay : an));
    const V8 r = acc * inv;
    part += r * r;
    if constexpr (Dual) {
      const V8 r2 = acc2 * inv;
      part2 += r2 * r2;
    }
    big = (an > big) | (an != an) ? an : big;  // keeps NaN
  }
  ErrorPass out;
  for (int q = 0; q < 8; ++q) {
    out.error_sum += part[q];
    out.error_sum_low += part2[q];
    out.f_new_sq += fsq[q];
    out.max_abs_new = (big[q] > out.max_abs_new || std::isnan(big[q])) ? big[q] : out.max_abs_new;
  }
  for (; i < dim; ++i) {
    double acc = 0.0, acc2 = 0.0, sol = 0.0;
    for (int j = 0; j < J; ++j) {
      acc += cc[j] * kp[j][i];
      acc2 += cc2[j] * kp[j][i];
      sol += ccb[j] * kp[j][i];
    }
    if constexpr (Solve) {
      y_new[i] = y[i] + sol;
    } else {
      out.f_new_sq += f_new[i] * f_new[i];
    }
    const double an = std::fabs(y_new[i]);
    const double inv = 1.0 / (atol + (rtol_i ? rtol_i[i] : rtol) * std::fmax(std::fabs(y[i]), an));
    out.error_sum += (acc * inv) * (acc * inv);
    out.error_sum_low += (acc2 * inv) * (acc2 * inv);
    out.max_abs_new = (an > out.max_abs_new || std::isnan(an)) ? an : out.max_abs_new;
  }
  if (std::isnan(out.max_abs_new)) out.max_abs_new = std::numeric_limits<double>::infinity();
  return out;
}

// sum_i v_i^2 in partial sums the compiler would keep as one ordered chain: four independent
// eight-lane chains hide the add latency (384 entries: 0.03 us instead of 0.1 us).
inline double sum_squares(const double* v, std::size_t n) {
  typedef double V8 __attribute__((vector_size(8 * sizeof(double))));
  V8 p0{}, p1{}, p2{}, p3{};
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    V8 x0, x1, x2, x3;
    std::memcpy(&x0, v + i, sizeof(V8));
    std::memcpy(&x1, v + i + 8, sizeof(V8));
    std::memcpy(&x2, v + i + 16, sizeof(V8));
    std::memcpy(&x3, v + i + 24, sizeof(V8));
    p0 += x0 * x0;
    p1 += x1 * x1;
    p2 += x2 * x2;
    p3 += x3 * x3;
  }
  for (; i + 8 <= n; i += 8) {
    V8 x;
    std::memcpy(&x, v + i, sizeof(V8));
    p0 += x * x;
  }
  const V8 p = (p0 + p1) + (p2 + p3);
  double s = ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
  for (; i < n; ++i) s += v[i] * v[i];
  return s;
}

// out = y + h * sum_j terms.coef[j] * K[terms.slot[j]], K[i] the stage slots, over the entries
// [begin, end) (a thread team splits the state). out == y updates out in place.
inline void combine(double* out, const double* y, double h, const Terms& terms, const double* const* K,
                    std::size_t begin, std::size_t end) {
  const int J = terms.size();
  const double* k[kMaxFusedTerms];
  double c[kMaxFusedTerms];
  for (int j = 0; j < J; ++j) {
    k[j] = K[terms.slot[j]] + begin;
    c[j] = h * terms.coef[j];
  }
  out += begin;
  y += begin;
  const std::size_t dim = end - begin;
  const bool in_place = out == y;
  switch (J) {
    // clang-format off: the cases as a table
#define OVERFLOW_CASE(N)                                  \
  case N:                                                 \
    if (in_place) {                                       \
      combine_fixed<N, true>(out, nullptr, k, c, dim);    \
    } else {                                              \
      combine_fixed<N, false>(out, y, k, c, dim);         \
    }                                                     \
    return;
    OVERFLOW_CASE(0) OVERFLOW_CASE(1) OVERFLOW_CASE(2) OVERFLOW_CASE(3) OVERFLOW_CASE(4)
    OVERFLOW_CASE(5) OVERFLOW_CASE(6) OVERFLOW_CASE(7) OVERFLOW_CASE(8) OVERFLOW_CASE(9)
    OVERFLOW_CASE(10) OVERFLOW_CASE(11) OVERFLOW_CASE(12) OVERFLOW_CASE(13) OVERFLOW_CASE(14)
    OVERFLOW_CASE(15) OVERFLOW_CASE(16)
#undef OVERFLOW_CASE
    default: break;
    // clang-format on
  }
}

// The error pass (see ErrorPass) over the slots of `terms`, whose coefficients are the error
// weights; `low`, when given, holds a second weight per slot (zeros allowed). With `solution`
// (weights per slot) the pass writes y_new = y + h sum solution_j K_j instead of reading it, and
// f_new is not read. Covers the entries [begin, end).
inline ErrorPass error_pass(const double* y, double* y_new, double h, const Terms& terms, const double* low,
                            const double* solution, const double* const* K, const double* f_new, std::size_t begin,
                            std::size_t end, const Tolerance& tol) {
  const int J = terms.size();
  const double rtol = tol.rtol, atol = tol.atol;
  const double* rtol_i = tol.rtol_components ? tol.rtol_components + begin : nullptr;
  const double* k[kMaxFusedTerms];
  double c[kMaxFusedTerms], c2[kMaxFusedTerms], cb[kMaxFusedTerms];
  for (int j = 0; j < J; ++j) {
    k[j] = K[terms.slot[j]] + begin;
    c[j] = h * terms.coef[j];
    c2[j] = low ? h * low[terms.slot[j]] : 0.0;
    cb[j] = solution ? h * solution[terms.slot[j]] : 0.0;
  }
  y += begin;
  y_new += begin;
  if (f_new) f_new += begin;
  const std::size_t dim = end - begin;
  switch (J) {
    // clang-format off: the cases as a table
#define OVERFLOW_CASE(N)                                                                                          \
  case N:                                                                                                         \
    if (solution) {                                                                                               \
      return low ? error_pass_fixed<N, true, true>(y, y_new, k, cb, c, c2, f_new, dim, rtol, atol, rtol_i)        \
                 : error_pass_fixed<N, false, true>(y, y_new, k, cb, c, nullptr, f_new, dim, rtol, atol, rtol_i); \
    }                                                                                                             \
    return low ? error_pass_fixed<N, true, false>(y, y_new, k, cb, c, c2, f_new, dim, rtol, atol, rtol_i)         \
               : error_pass_fixed<N, false, false>(y, y_new, k, cb, c, nullptr, f_new, dim, rtol, atol, rtol_i);
    OVERFLOW_CASE(0) OVERFLOW_CASE(1) OVERFLOW_CASE(2) OVERFLOW_CASE(3) OVERFLOW_CASE(4)
    OVERFLOW_CASE(5) OVERFLOW_CASE(6) OVERFLOW_CASE(7) OVERFLOW_CASE(8) OVERFLOW_CASE(9)
    OVERFLOW_CASE(10) OVERFLOW_CASE(11) OVERFLOW_CASE(12) OVERFLOW_CASE(13) OVERFLOW_CASE(14)
    OVERFLOW_CASE(15) OVERFLOW_CASE(16)
#undef OVERFLOW_CASE
    default: return ErrorPass{};
    // clang-format on
  }
}

}  // namespace overflow::detail
