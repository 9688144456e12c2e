// The activations between layers as elementwise functors (internal header): the data sweep
// (data_sweep.cpp) reads value and derivative, the exact Jacobian on data (data_jvp.cpp) also the
// second derivative.
#pragma once

#include <cmath>

#include "branch_free_math.hpp"

namespace overflow::detail {

constexpr double kInvSqrt2 = 0.70710678118654752440;    // 1 / sqrt(2)
constexpr double kInvSqrt2Pi = 0.39894228040143267794;  // 1 / sqrt(2 pi)

// Each activation: value(x, slope), derivative(a, h, slope) and second_derivative(a, h, slope) from
// the pre-activation a and h = sigma(a), whichever is cheaper; slope is the leaky relu's (the
// others ignore it). `curved` is false where sigma'' = 0 (off the kinks, for the relu family).
struct Linear {
  static constexpr bool identity = true;  // H_i is A_i itself: no copy, no derivative
  static constexpr bool curved = false;
  static double value(double x, double) { return x; }
  static double derivative(double, double, double) { return 1.0; }
  static double second_derivative(double, double, double) { return 0.0; }
};

struct Isru {
  static constexpr bool identity = false;
  static constexpr bool curved = true;
  static double value(double x, double) { return x / std::sqrt(1.0 + x * x); }
  static double derivative(double a, double, double) {
    const double r = 1.0 / std::sqrt(1.0 + a * a);
    return r * r * r;
  }
  static double second_derivative(double a, double, double) {  // -3 a (1 + a^2)^(-5/2)
    const double r = 1.0 / std::sqrt(1.0 + a * a);
    const double r2 = r * r;
    return -3.0 * a * r2 * r2 * r;
  }
};

struct Tanh {
  static constexpr bool identity = false;
  static constexpr bool curved = true;
  static double value(double x, double) { return branch_free_tanh(x); }
  static double derivative(double, double h, double) { return 1.0 - h * h; }
  static double second_derivative(double, double h, double) { return -2.0 * h * (1.0 - h * h); }
};

struct Relu {
  static constexpr bool identity = false;
  static constexpr bool curved = false;
  static double value(double x, double) { return x > 0.0 ? x : 0.0; }
  static double derivative(double a, double, double) { return a > 0.0 ? 1.0 : 0.0; }  // sigma'(0) = 0
  static double second_derivative(double, double, double) { return 0.0; }
};

struct LeakyRelu {
  static constexpr bool identity = false;
  static constexpr bool curved = false;
  static double value(double x, double slope) { return x > 0.0 ? x : slope * x; }
  static double derivative(double a, double, double slope) { return a > 0.0 ? 1.0 : slope; }  // sigma'(0) = slope
  static double second_derivative(double, double, double) { return 0.0; }
};

// 1 / (1 + e^-x) without overflow: e^-|x| <= 1 on both sides; branch-free, so that its loops vectorise.
inline double logistic(double x) {
  const double e = branch_free_exp_minus(std::fabs(x));
  const double r = 1.0 / (1.0 + e);
  return x >= 0.0 ? r : e * r;
}

struct Sigmoid {
  static constexpr bool identity = false;
  static constexpr bool curved = true;
  static double value(double x, double) { return logistic(x); }
  static double derivative(double, double h, double) { return h * (1.0 - h); }
  static double second_derivative(double, double h, double) { return h * (1.0 - h) * (1.0 - 2.0 * h); }
};

struct Softplus {
  static constexpr bool identity = false;
  static constexpr bool curved = true;
  // log(1 + e^x) = max(x, 0) + log1p(e^-|x|): no overflow, full precision for large |x|.
  static double value(double x, double) { return std::fmax(x, 0.0) + std::log1p(std::exp(-std::fabs(x))); }
  static double derivative(double a, double, double) { return logistic(a); }
  static double second_derivative(double a, double, double) {  // p (1 - p) = p(a) p(-a)
    return logistic(a) * logistic(-a);
  }
};

struct Gelu {
  static constexpr bool identity = false;
  static constexpr bool curved = true;
  static double value(double x, double) { return 0.5 * x * (1.0 + std::erf(x * kInvSqrt2)); }
  static double derivative(double a, double, double) {
    return 0.5 * (1.0 + std::erf(a * kInvSqrt2)) + a * kInvSqrt2Pi * branch_free_exp_minus(0.5 * a * a);
  }
  static double second_derivative(double a, double, double) {  // phi(a) (2 - a^2)
    return kInvSqrt2Pi * branch_free_exp_minus(0.5 * a * a) * (2.0 - a * a);
  }
};

}  // namespace overflow::detail
