// Any ODE dy/dt = f(t, y) given as a C function pointer, a System (system.hpp) integrated by the same steppers as the
// flow. The core integrates it in its own coordinates: time tau = direction * t (direction -1 runs a span backwards
// as a forward one) and state z = y / scale (a per-component scale is exactly a per-component absolute tolerance
// atol_i = atol * scale_i), so dz/dtau = direction * f(direction * tau, scale * z) / scale. Without either (the
// usual case) eval is the bare call. The Jacobian is the user's function when given, else forward differences.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "overflow/overflow.h"

namespace overflow {

class GenericSystem {
 public:
  // jac (may be null): the same signature as rhs, writing J = df/dy (dim x dim, column-major) into its
  // third argument, with the same data.
  GenericSystem(of_rhs_fn rhs, void* data, std::size_t dim, of_rhs_fn jac = nullptr)
      : rhs_(rhs), jac_(jac), data_(data), jac_data_(data), dim_(dim) {}

  std::size_t dim() const { return dim_; }

  // The user's coordinates: direction +1 or -1, and scale (dim entries > 0, or null for none).
  void set_coordinates(int direction, const double* scale) {
    if (direction != 1 && direction != -1)
      throw std::invalid_argument("direction must be 1 or -1, got " + std::to_string(direction));
    direction_ = direction;
    scale_.clear();
    factor_.clear();
    if (scale) {
      for (std::size_t i = 0; i < dim_; ++i)
        if (!(scale[i] > 0) || !std::isfinite(scale[i]))
          throw std::invalid_argument("scale[" + std::to_string(i) + "] must be finite and > 0");
      scale_.assign(scale, scale + dim_);
      factor_.resize(dim_);
      y_.resize(dim_);
      for (std::size_t i = 0; i < dim_; ++i) factor_[i] = direction_ / scale_[i];
    }
    plain_ = direction_ == 1 && scale_.empty();
  }
  // The user's Jacobian (null: forward differences again) and its data.
  void set_jacobian(of_rhs_fn jac, void* jac_data) {
    jac_ = jac;
    jac_data_ = jac_data;
  }
  bool has_user_jacobian() const { return jac_ != nullptr; }
  // The floor of the difference Jacobian's increments sqrt(eps) max(|z_j|, floor) (scipy's num_jac
  // uses atol: below it a component is noise to the error control).
  void set_difference_floor(double floor) { floor_ = floor > 0 ? floor : floor_; }

  // User time and state from the core's, and back: the one mapping every result goes through.
  int direction() const { return direction_; }
  double user_time(double tau) const { return direction_ * tau; }
  double core_time(double t) const { return direction_ * t; }
  void to_user(const double* z, double* y) const {
    if (scale_.empty()) {
      std::copy(z, z + dim_, y);
    } else {
      for (std::size_t i = 0; i < dim_; ++i) y[i] = scale_[i] * z[i];
    }
  }
  void to_core(const double* y, double* z) const {
    if (scale_.empty()) {
      std::copy(y, y + dim_, z);
    } else {
      for (std::size_t i = 0; i < dim_; ++i) z[i] = y[i] / scale_[i];
    }
  }
  const std::vector<double>& scale() const { return scale_; }

  // The monitor of a generic ODE is 0: there is no loss; non-finite dy rejects the step instead.
  double eval(double tau, const double* z, double* dz) {
    if (plain_) {
      rhs_(tau, z, dz, data_);
      return 0.0;
    }
    return eval_mapped(tau, z, dz);
  }

  // J = d(dz/dtau)/dz (dim x dim, column-major) at (tau, z): the user's J mapped to the core's
  // coordinates, direction * diag(1/scale) J diag(scale), or forward differences of eval with
  // increments sqrt(eps) max(|z_j|, floor) (dim + 1 evaluations).
  void jacobian(double tau, const double* z, double* J) {
    const std::size_t n = dim_;
    if (jac_) {
      const double* y = z;
      if (!scale_.empty()) {
        y_.resize(n);
        for (std::size_t i = 0; i < n; ++i) y_[i] = scale_[i] * z[i];
        y = y_.data();
      }
      jac_(direction_ * tau, y, J, jac_data_);
      if (!plain_) {
        for (std::size_t j = 0; j < n; ++j) {
          const double sj = scale_.empty() ? direction_ : direction_ * scale_[j];
          for (std::size_t i = 0; i < n; ++i) J[i + j * n] *= scale_.empty() ? sj : sj / scale_[i];
        }
      }
      return;
    }
    f0_.resize(n);
    shifted_.assign(z, z + n);
    eval(tau, z, f0_.data());
    const double root_eps = std::sqrt(std::numeric_limits<double>::epsilon());
    for (std::size_t j = 0; j < n; ++j) {
      const volatile double moved = z[j] + root_eps * std::max(std::fabs(z[j]), floor_);
      const double h = moved - z[j];  // the increment as represented, so the quotient is exact in it
      shifted_[j] = moved;
      double* col = J + j * n;
      eval(tau, shifted_.data(), col);
      for (std::size_t i = 0; i < n; ++i) col[i] = (col[i] - f0_[i]) / h;
      shifted_[j] = z[j];
    }
    difference_evaluations_ += static_cast<std::int64_t>(n) + 1;
  }

  // out = J v: from the user's J when there is one, else a central difference along v (step about
  // eps^(1/3) relative, as FlowSystem's for activated networks). Returns eval's value (0).
  double jvp(double tau, const double* z, const double* v, double* out) {
    const std::size_t n = dim_;
    if (jac_) {
      jv_matrix_.resize(n * n);
      jacobian(tau, z, jv_matrix_.data());
      std::fill(out, out + n, 0.0);
      for (std::size_t j = 0; j < n; ++j)
        for (std::size_t i = 0; i < n; ++i) out[i] += jv_matrix_[i + j * n] * v[j];
      return 0.0;
    }
    double zn = 0.0, vn = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      zn += z[i] * z[i];
      vn += v[i] * v[i];
    }
    if (vn == 0.0) {
      std::fill(out, out + n, 0.0);
      return 0.0;
    }
    const double e = 6e-6 * (1.0 + std::sqrt(zn)) / std::sqrt(vn);
    shifted_.resize(n);
    f0_.resize(n);
    for (std::size_t i = 0; i < n; ++i) shifted_[i] = z[i] - e * v[i];
    eval(tau, shifted_.data(), f0_.data());
    for (std::size_t i = 0; i < n; ++i) shifted_[i] = z[i] + e * v[i];
    eval(tau, shifted_.data(), out);
    for (std::size_t i = 0; i < n; ++i) out[i] = (out[i] - f0_[i]) / (2.0 * e);
    difference_evaluations_ += 2;
    return 0.0;
  }

  // ft = d(dz/dtau)/dtau at (tau, z), given f = dz/dtau there: a forward difference in tau with
  // Hairer's increment sqrt(eps max(1e-5, |tau|)) (rodas.f), one evaluation.
  void time_derivative(double tau, const double* z, const double* f, double* ft) {
    const volatile double moved =
        tau + std::sqrt(std::numeric_limits<double>::epsilon() * std::max(1e-5, std::fabs(tau)));
    const double dt = moved - tau;
    eval(moved, z, ft);
    for (std::size_t i = 0; i < dim_; ++i) ft[i] = (ft[i] - f[i]) / dt;
    ++difference_evaluations_;
  }

  // Evaluations made by the difference quotients above (the Solver counts its own separately).
  std::int64_t difference_evaluations() const { return difference_evaluations_; }
  void reset_difference_evaluations() { difference_evaluations_ = 0; }

 private:
  // eval's mapped path, out of line so that the plain call stays small enough to inline into the steppers.
#if defined(__GNUC__)
  __attribute__((noinline))
#endif
  double eval_mapped(double tau, const double* z, double* dz) {
    if (scale_.empty()) {  // backwards only
      rhs_(-tau, z, dz, data_);
      for (std::size_t i = 0; i < dim_; ++i) dz[i] = -dz[i];
      return 0.0;
    }
    for (std::size_t i = 0; i < dim_; ++i) y_[i] = scale_[i] * z[i];
    rhs_(direction_ * tau, y_.data(), dz, data_);
    for (std::size_t i = 0; i < dim_; ++i) dz[i] *= factor_[i];
    return 0.0;
  }

  of_rhs_fn rhs_;
  of_rhs_fn jac_;
  void* data_;
  void* jac_data_;
  std::size_t dim_;
  int direction_ = 1;
  bool plain_ = true;  // direction 1 and no scale: eval is the bare call
  double floor_ = 1e-8;
  std::vector<double> scale_, factor_;                // factor_ = direction / scale
  std::vector<double> y_, f0_, shifted_, jv_matrix_;  // scratch
  std::int64_t difference_evaluations_ = 0;
};

}  // namespace overflow
