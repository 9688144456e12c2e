// Gauss-Legendre collocation as a stepper for Solver: s implicit stages solved by a simplified
// Newton iteration with the flow's exact Jacobian (J v through the cost's Hessian-vector product,
// assembled densely from dim products and LU-factorised), to rounding level, so the quadratic
// invariants C_i are conserved to rounding whatever the tolerance.
//
// Error estimate: step doubling. One step of h and two of h/2 from the same point; the two halves
// are kept (both Gauss steps, so conservation holds) and (y_{h/2,h/2} - y_h) / (2^p - 1)
// estimates their error, which behaves like h^(p+1). Dense output: the quintic Hermite
// interpolant through the start, the middle and the end of the step (order 5).
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "overflow/detail/dense_lu.hpp"
#include "overflow/detail/jacobian_stepper.hpp"
#include "overflow/detail/tolerance.hpp"
#include "overflow/tableau.hpp"

namespace overflow {

class GaussLegendre : public JacobianStepper {
 public:
  // Newton stops once a correction is below this times (1 + max|y|), or stops shrinking there.
  static constexpr double kNewtonTolerance = 1e-15;
  static constexpr int kMaxNewtonIterations = 40;

  GaussLegendre(const Tableau& tab, std::size_t dim, bool dense_jacobian = false)
      : JacobianStepper(tab, dim, dense_jacobian),
        s_(tab.stages),
        fmid_(dim),
        ymid_(dim),
        Z_(static_cast<std::size_t>(tab.stages) * dim),
        F_(Z_.size()),
        G_(Z_.size()),
        stage_(dim),
        y_half_(dim),
        y_big_(dim) {
    if (tab.scheme != Tableau::Scheme::gauss) throw std::invalid_argument("GaussLegendre needs a collocation tableau");
    // y_new = y + sum_i d_i Z_i with d^T = b^T A^-1 (no extra evaluation of f at the stages).
    std::vector<double> At(static_cast<std::size_t>(s_ * s_));
    for (int i = 0; i < s_; ++i)
      for (int j = 0; j < s_; ++j)
        At[static_cast<std::size_t>(i + j * s_)] = tab.a[static_cast<std::size_t>(j * s_ + i)];
    d_ = tab.b;
    DenseLU lu;
    lu.compute(At.data(), static_cast<std::size_t>(s_));  // column-major A^T
    lu.solve(d_.data());
  }

  void accept() {
    rotate();
    lu_h_[0] = lu_h_[1] = 0.0;  // the Newton matrices were built from the old J
  }
  int newton_iterations() const { return newton_total_; }

  // y(t + theta h) from the quintic Hermite interpolant on (0, y, f0), (1/2, ymid, fmid), (1, y1, f1);
  // valid after an accepted attempt and until the next step starts.
  void dense(const double* y, double h, double theta, double* out) const {
    const double L0 = 2.0 * (theta - 0.5) * (theta - 1.0), L1 = -4.0 * theta * (theta - 1.0),
                 L2 = 2.0 * theta * (theta - 0.5);
    const double a0 = (1.0 + 6.0 * theta) * L0 * L0, b0 = h * theta * L0 * L0;
    const double a1 = L1 * L1, b1 = h * (theta - 0.5) * L1 * L1;
    const double a2 = (1.0 - 6.0 * (theta - 1.0)) * L2 * L2, b2 = h * (theta - 1.0) * L2 * L2;
    for (std::size_t i = 0; i < dim_; ++i)
      out[i] = a0 * y[i] + b0 * f0_[i] + a1 * ymid_[i] + b1 * fmid_[i] + a2 * y_end_[i] + b2 * f1_[i];
  }

  template <class System>
  StepAttempt attempt(System& sys, double t, const double* y, double h, const Tolerance& tol, double* y_new) {
    StepAttempt out;
    if constexpr (!HasJvp<System>::value) {
      (void)sys, (void)t, (void)y, (void)h, (void)tol, (void)y_new;
      throw std::invalid_argument("the Gauss-Legendre methods need the system's Jacobian (gradient flows only)");
    } else {
      ensure_jacobian(sys, t, y, out);
      const bool ok = gauss_step(sys, t, y, h, 0, y_big_.data(), out) &&
                      gauss_step(sys, t, y, 0.5 * h, 1, y_half_.data(), out) &&
                      gauss_step(sys, t + 0.5 * h, y_half_.data(), 0.5 * h, 1, y_new, out);
      if (!ok) {
        out.in_domain = true;
        out.error = std::numeric_limits<double>::infinity();  // Newton failed: shrink the step
        return out;
      }
      const double scale = 1.0 / (std::pow(2.0, tab_.order) - 1.0);
      double err = 0.0, max_abs = 0.0;
      for (std::size_t i = 0; i < dim_; ++i) {
        const double e = scale * (y_new[i] - y_big_[i]);
        const double sc = tol.weight(i, std::max(std::fabs(y[i]), std::fabs(y_new[i])));
        err += (e / sc) * (e / sc);
        max_abs = std::max(max_abs, std::fabs(y_new[i]));
      }
      out.error = std::sqrt(err / static_cast<double>(dim_));
      out.max_abs_new = max_abs;
      // f at the middle and the end: the interpolant's slopes (and the next step's f0).
      ++out.nfev;
      if (!std::isfinite(sys.eval(t + 0.5 * h, y_half_.data(), fmid_.data()))) {
        out.in_domain = false;
        return out;
      }
      std::copy(y_half_.begin(), y_half_.end(), ymid_.begin());
      finish(sys, t + h, y_new, out);
      return out;
    }
  }

 private:
  // One Gauss step of size h from (t, y): the stage increments Z_i = h sum_j a_ij f(t + c_j h, y + Z_j)
  // by simplified Newton with (I - h A (x) J) factorised once. False if Newton does not converge or a
  // stage leaves the domain.
  // `which` picks one of two cached factorisations (the whole step and its halves).
  template <class System>
  bool gauss_step(System& sys, double t, const double* y, double h, int which, double* y_out, StepAttempt& out) {
    int& nfev = out.nfev;
    const std::size_t n = dim_, S = static_cast<std::size_t>(s_) * n;
    DenseLU& lu = lu_[which];
    if (!matrix_free_ && h != lu_h_[which]) {  // I - h A (x) J, column-major, stage-major blocks
      std::vector<double> M(S * S, 0.0);
      for (int i = 0; i < s_; ++i)
        for (int j = 0; j < s_; ++j) {
          const double w = h * tab_.a[static_cast<std::size_t>(i * s_ + j)];
          for (std::size_t col = 0; col < n; ++col)
            for (std::size_t row = 0; row < n; ++row) M[(j * n + col) * S + i * n + row] -= w * J_[col * n + row];
        }
      for (std::size_t k = 0; k < S; ++k) M[k * S + k] += 1.0;
      lu.compute(M.data(), S);
      ++out.nlu;
      lu_h_[which] = h;
    }
    double ymax = 0.0;
    for (std::size_t i = 0; i < dim_; ++i) ymax = std::max(ymax, std::fabs(y[i]));
    const double tol = kNewtonTolerance * (1.0 + ymax);
    std::fill(Z_.begin(), Z_.end(), 0.0);
    double previous = std::numeric_limits<double>::infinity();
    for (int it = 0; it < kMaxNewtonIterations; ++it) {
      ++newton_total_;
      for (int i = 0; i < s_; ++i) {
        for (std::size_t k = 0; k < dim_; ++k) stage_[k] = y[k] + Z_[i * dim_ + k];
        ++nfev;
        if (!std::isfinite(sys.eval(t + tab_.c[i] * h, stage_.data(), &F_[i * dim_]))) return false;
      }
      // G = -(Z - h (A (x) I) F); the correction solves (I - h A (x) J) dZ = G.
      for (int i = 0; i < s_; ++i)
        for (std::size_t k = 0; k < dim_; ++k) {
          double acc = 0.0;
          for (int j = 0; j < s_; ++j) acc += tab_.a[static_cast<std::size_t>(i * s_ + j)] * F_[j * dim_ + k];
          G_[i * dim_ + k] = h * acc - Z_[i * dim_ + k];
        }
      if (matrix_free_) {
        solve_matrix_free(sys, t, y, h, out);
      } else {
        lu.solve(G_.data());  // G_ becomes the correction dZ
      }
      double change = 0.0;
      for (std::size_t k = 0; k < S; ++k) {
        if (!std::isfinite(G_[k])) return false;
        change = std::max(change, std::fabs(G_[k]));
        Z_[k] += G_[k];
      }
      if (change <= tol) break;
      // Converged to rounding: the corrections stopped shrinking at the level of a few ulps.
      if (change >= 0.5 * previous && change <= 1e3 * tol) break;
      if (it >= 3 && change > previous && change > 1e6 * tol) return false;  // diverging
      if (it == kMaxNewtonIterations - 1) return false;
      previous = change;
    }
    for (std::size_t k = 0; k < dim_; ++k) {
      double acc = y[k];
      for (int i = 0; i < s_; ++i) acc += d_[i] * Z_[i * dim_ + k];
      y_out[k] = acc;
    }
    return true;
  }

  // (I - h A (x) J) dZ = G_ by GMRES on products J v at (t, y), to 1e-6 relative: an inexact
  // Newton step, which the outer iteration corrects to rounding level. G_ becomes dZ.
  template <class System>
  void solve_matrix_free(System& sys, double t, const double* y, double h, StepAttempt& out) {
    const std::size_t n = dim_;
    rhs_.assign(G_.begin(), G_.end());
    dZ_.assign(G_.size(), 0.0);
    jv_.resize(G_.size());
    auto apply = [&](const std::vector<double>& v, std::vector<double>& w) {
      for (int j = 0; j < s_; ++j) sys.jvp(t, y, &v[j * n], &jv_[j * n]);
      out.njvp += s_;
      for (int i = 0; i < s_; ++i)
        for (std::size_t k = 0; k < n; ++k) {
          double acc = 0.0;
          for (int j = 0; j < s_; ++j) acc += tab_.a[static_cast<std::size_t>(i * s_ + j)] * jv_[j * n + k];
          w[i * n + k] = v[i * n + k] - h * acc;
        }
    };
    gmres(apply, rhs_, dZ_, 1e-6, 400);
    G_.assign(dZ_.begin(), dZ_.end());
  }

  int s_;
  std::vector<double> fmid_, ymid_, rhs_, dZ_, jv_;
  std::vector<double> d_;
  DenseLU lu_[2];
  double lu_h_[2] = {0.0, 0.0};
  std::vector<double> Z_, F_, G_, stage_, y_half_, y_big_;
  int newton_total_ = 0;
};

}  // namespace overflow
