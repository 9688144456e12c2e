// tanh and exp(-a) without branches or library calls, so that a loop over an array of them vectorises
// (internal header). libm's tanh and exp are scalar calls: tanh was half of a data-network evaluation at
// width 128, and the sigmoid 2.8x the linear network's evaluation at width 64 (bench/data_network.py).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace overflow::detail {

// t = k ln 2 + r with |r| <= ln(2) / 2, and scale = 2^k, for -708 <= t <= 708 (2^k a normal double).
struct ReducedExponent {
  double r, scale;
};
inline ReducedExponent reduce_exponent(double t) {
  constexpr double kLog2e = 1.4426950408889634074;
  constexpr double kLn2Hi = 6.93147180369123816490e-01;  // ln 2 in two parts: k kLn2Hi is exact for |k| < 2^11
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  constexpr double kShift = 6755399441055744.0;  // 1.5 * 2^52: adding it rounds to an integer held in the low bits
  const double shifted = t * kLog2e + kShift;
  const double k = shifted - kShift;  // round(t / ln 2)
  const double r = (t - k * kLn2Hi) - k * kLn2Lo;
  std::uint64_t bits;
  std::memcpy(&bits, &shifted, sizeof bits);
  bits = (bits - 0x4338000000000000ULL + 1023) << 52;  // the exponent field of 2^k (k two's complement)
  double scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return {r, scale};
}

// expm1(r) for |r| <= ln(2) / 2: r (1 + r/2! + r^2/3! + ... + r^12/13!), Horner from the top (remainder
// < 1e-17 r).
inline double expm1_reduced(double r) {
  double p = 1.0 / 6227020800.0;
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  return p * r;
}

// tanh(x) = sign(x) e / (e + 2) with e = expm1(2|x|), accurate to a few ulp everywhere: no cancellation
// near 0, where 1 - 2 / (e^{2x} + 1) would lose digits; expm1(t) = 2^k expm1(r) + (2^k - 1).
inline double branch_free_tanh(double x) {
  // tanh(20) rounds to 1 (1 - tanh(20) = 8e-18 < half an ulp of 1); the clamp keeps 2^k finite, and a NaN
  // (the comparison false) stays a NaN.
  const double a = std::fabs(x);
  const ReducedExponent e2 = reduce_exponent(2.0 * (a > 20.0 ? 20.0 : a));
  const double e = e2.scale * expm1_reduced(e2.r) + (e2.scale - 1.0);
  return std::copysign(e / (e + 2.0), x);
}

// exp(-a) for a >= 0, accurate to a few ulp down to e^-708 (about 3e-308, near the least normal double);
// 0 past that, where libm's result is subnormal (below 3e-308) and then 0. A NaN stays a NaN.
inline double branch_free_exp_minus(double a) {
  const bool beyond = a > 708.0;
  const ReducedExponent e = reduce_exponent(-(beyond ? 708.0 : a));
  const double value = e.scale * expm1_reduced(e.r) + e.scale;
  return beyond ? 0.0 : value;
}

}  // namespace overflow::detail
