// Radau IIA of order 5 as a stepper for Solver, for stiff systems (Hairer & Wanner, Solving ODEs
// II, section IV.8, and their radau5.f). The stage increments z_i = Z(t + c_i h) - y solve the
// collocation equations z = h (A (x) I) F(z) by a simplified Newton iteration with J at the
// step's start. In the eigenbasis of A^-1 (z = (T (x) I) w, radau_tableau.cpp) its matrix splits
// into one real system (gamma / h I - J) and one complex one ((alpha + i beta) / h I - J), each
// factorised once per step size and Jacobian. y_new = y + z_3 (stiffly accurate).
//
// What makes it cheap on stiff problems, as in radau5.f: Newton starts from the last step's
// collocation polynomial extrapolated, and stops as soon as its contraction rate predicts the
// iterate is within the Newton tolerance of the solution (one iteration when it contracts fast); J is
// kept across steps while Newton converges fast, and the factorisations while h stays.
// Error estimate: an embedded order-3 solution, filtered through (I - h gamma0 J)^-1 so that it
// stays bounded for stiff components (radau5.f's ESTRAD), and filtered once more through f after
// a rejection or at the first step, where the first estimate can be too large. rtol and atol bound
// it as given, as in scipy's radau.py (radau5.f first maps rtol to 0.1 rtol^(2/3)). Dense output:
// the collocation polynomial (degree 3).
#pragma once
#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "overflow/detail/dense_lu.hpp"
#include "overflow/detail/jacobian_stepper.hpp"
#include "overflow/detail/sizes.hpp"
#include "overflow/detail/tolerance.hpp"
#include "overflow/tableau.hpp"

namespace overflow {

class Radau5 : public JacobianStepper {
 public:
  // scipy Radau's NEWTON_MAXITER (radau5.f's NIT is 7): beyond it a step is cheaper retried smaller.
  static constexpr int kMaxNewtonIterations = 6;
  // J is kept for the next step when Newton's contraction rate was at most this (radau5.f's THET).
  static constexpr double kKeepJacobianRate = 1e-3;

  // Always the dense path: J whole (the system's jacobian(), else assembled from jvp) and LU.
  Radau5(const Tableau& tab, std::size_t dim)
      : JacobianStepper(tab, dim, /*dense_jacobian=*/true),
        Z_(3 * dim),
        W_(3 * dim),
        F_(3 * dim),
        dW_(3 * dim),
        Z_prev_(3 * dim),
        stage_(dim),
        scale_(dim),
        err_(dim),
        ze_(dim),
        cw_(dim) {
    if (tab.scheme != Tableau::Scheme::radau || tab.stages != 3)
      throw std::invalid_argument("Radau5 needs the 3-stage Radau IIA tableau");
    // J, its real and its complex Newton matrix and their factorisations: 6 n^2 doubles.
    check_memory(checked_mul(checked_mul(dim, dim, "radau5's matrices"), 6, "radau5's matrices"),
                 "radau5's dense matrices (6 x " + std::to_string(dim) + "^2 doubles)");
    E_real_.resize(dim * dim);
    E_complex_.resize(dim * dim);
  }

  // The step was accepted: its end is the next start. J stays if Newton converged fast with it
  // (radau5.f): it is then from an earlier point, refreshed as soon as Newton struggles.
  void accept() {
    f0_.swap(f1_);
    Z_prev_.swap(Z_);
    h_prev_ = h_attempt_;
    have_prev_ = true;
    first_ = false;
    retrying_ = false;
    jacobian_current_ = false;
    if (!keep_jacobian_) {
      jacobian_ready_ = false;
      lu_h_ = 0.0;
    }
  }

  // y(t + theta h) on the collocation polynomial of the last attempt (the accepted step).
  void dense(const double* y, double /*h*/, double theta, double* out) const {
    const std::vector<double>& P = tab_.radau.dense;
    double w[3];
    for (std::size_t i = 0; i < 3; ++i) w[i] = theta * (P[0 * 3 + i] + theta * (P[1 * 3 + i] + theta * P[2 * 3 + i]));
    const std::size_t n = dim_;
    for (std::size_t k = 0; k < n; ++k) out[k] = y[k] + w[0] * Z_[k] + w[1] * Z_[n + k] + w[2] * Z_[2 * n + k];
  }

  template <class System>
  StepAttempt attempt(System& sys, double t, const double* y, double h, const Tolerance& tol, double* y_new) {
    StepAttempt out;
    if constexpr (!HasJvp<System>::value && !HasJacobian<System>::value) {
      (void)sys, (void)t, (void)y, (void)h, (void)tol, (void)y_new;
      throw std::invalid_argument("radau5 needs the system's Jacobian: a jvp() or a jacobian() (system.hpp)");
    } else {
      const std::size_t n = dim_;
      h_attempt_ = h;
      // After a rejection from this point, a Jacobian from an earlier point is refreshed
      // (radau5.f): its error may be what made the step fail.
      if (retrying_ && !jacobian_current_) jacobian_ready_ = false;
      const bool second_estimate = first_ || retrying_;
      retrying_ = true;  // until accept()
      for (std::size_t k = 0; k < n; ++k) scale_[k] = tol.weight(k, std::fabs(y[k]));
      while (true) {
        if (!jacobian_ready_) {
          ensure_jacobian(sys, t, y, out);
          jacobian_current_ = true;
          lu_h_ = 0.0;
        }
        if (h != lu_h_) factorise(h, out);
        const Newton result = newton(sys, t, y, h, tol.rtol, out);
        out.newton_iterations = newton_iterations_;
        if (result == Newton::converged) break;
        // A Jacobian from an earlier point is the likely culprit: the same step with a fresh one.
        if (!jacobian_current_) {
          jacobian_ready_ = false;
          continue;
        }
        if (result == Newton::not_finite) {
          out.in_domain = false;  // the Solver shrinks the step and counts it as a domain rejection
        } else {
          out.error = std::numeric_limits<double>::infinity();
          out.retry_factor = retry_factor_;
        }
        return out;
      }
      double max_abs = 0.0;
      for (std::size_t k = 0; k < n; ++k) {
        y_new[k] = y[k] + Z_[2 * n + k];
        max_abs = std::max(max_abs, std::fabs(y_new[k]));
        scale_[k] = tol.weight(k, std::max(std::fabs(y[k]), std::fabs(y_new[k])));
      }
      out.max_abs_new = max_abs;
      // J is kept for the next step unless Newton needed more than two iterations at a rate above
      // kKeepJacobianRate (scipy's radau.py; radau5.f keeps it only below the rate).
      keep_jacobian_ = newton_iterations_ <= 2 || newton_rate_ <= kKeepJacobianRate;
      out.reuses_matrix = keep_jacobian_;
      out.error = error_estimate(sys, t, y, h, second_estimate, out);
      if (!out.in_domain) return out;
      finish(sys, t + h, y_new, out);
      return out;
    }
  }

 private:
  enum class Newton { converged, failed, not_finite };

  // gamma / h I - J and (alpha + i beta) / h I - J, factorised.
  void factorise(double h, StepAttempt& out) {
    const std::size_t n = dim_;
    const RadauCoefficients& r = tab_.radau;
    const std::complex<double> shift(r.alpha / h, r.beta / h);
    for (std::size_t k = 0; k < n * n; ++k) {
      E_real_[k] = -J_[k];
      E_complex_[k] = -J_[k];
    }
    for (std::size_t k = 0; k < n; ++k) {
      E_real_[k * n + k] += r.gamma / h;
      E_complex_[k * n + k] += shift;
    }
    lu_real_.compute(E_real_.data(), n);
    lu_complex_.compute(E_complex_.data(), n);
    out.nlu += 2;  // as scipy counts them: one per factorisation
    lu_h_ = h;
  }

  // The simplified Newton iteration for z, from the last step's collocation polynomial. Converged
  // once the contraction rate theta predicts the distance to the solution, theta / (1 - theta)
  // times the last correction, below max(10 eps / rtol, min(0.03, sqrt(rtol))) in the weighted RMS
  // norm of the step's tolerances (radau5.f's test, scipy's tolerance on the user's rtol); failed
  // when theta >= 1 or the iterations left cannot get there (retry_factor_ then says how much
  // smaller a step should converge).
  template <class System>
  Newton newton(System& sys, double t, const double* y, double h, double rtol, StepAttempt& out) {
    const std::size_t n = dim_;
    const RadauCoefficients& r = tab_.radau;
    const std::vector<double>& T = r.T;
    const std::vector<double>& Ti = r.T_inv;
    start_values(h);
    for (std::size_t k = 0; k < n; ++k)
      for (std::size_t i = 0; i < 3; ++i)
        W_[i * n + k] = Ti[i * 3] * Z_[k] + Ti[i * 3 + 1] * Z_[n + k] + Ti[i * 3 + 2] * Z_[2 * n + k];
    const double tol = std::max(10.0 * kEpsilon / rtol, std::min(0.03, std::sqrt(rtol)));
    // The rate is not known before two iterations: the last step's, relaxed towards 1.
    double eta = std::pow(std::max(eta_, kEpsilon), 0.8);
    double norm_old = 0.0, rate_old = 0.0;
    newton_rate_ = kKeepJacobianRate;  // radau5.f's THETA when one iteration suffices
    newton_iterations_ = 0;
    retry_factor_ = 0.5;
    for (int it = 0; it < kMaxNewtonIterations; ++it) {
      for (std::size_t i = 0; i < 3; ++i) {
        for (std::size_t k = 0; k < n; ++k) stage_[k] = y[k] + Z_[i * n + k];
        ++out.nfev;
        if (!std::isfinite(sys.eval(t + tab_.c[i] * h, stage_.data(), &F_[i * n]))) return Newton::not_finite;
      }
      ++newton_iterations_;
      // The transformed residual: (T^-1 (x) I) F - (Lambda / h (x) I) w, solved block by block.
      const double g = r.gamma / h, a = r.alpha / h, b = r.beta / h;
      for (std::size_t k = 0; k < n; ++k) {
        const double f0 = F_[k], f1 = F_[n + k], f2 = F_[2 * n + k];
        const double w0 = W_[k], w1 = W_[n + k], w2 = W_[2 * n + k];
        dW_[k] = Ti[0] * f0 + Ti[1] * f1 + Ti[2] * f2 - g * w0;
        cw_[k] = {Ti[3] * f0 + Ti[4] * f1 + Ti[5] * f2 - (a * w1 - b * w2),
                  Ti[6] * f0 + Ti[7] * f1 + Ti[8] * f2 - (b * w1 + a * w2)};
      }
      lu_real_.solve(dW_.data());
      lu_complex_.solve(cw_.data());
      double sum = 0.0;
      for (std::size_t k = 0; k < n; ++k) {
        dW_[n + k] = cw_[k].real();
        dW_[2 * n + k] = cw_[k].imag();
        for (std::size_t i = 0; i < 3; ++i) {
          const double v = dW_[i * n + k] / scale_[k];
          sum += v * v;
        }
      }
      const double norm = std::sqrt(sum / static_cast<double>(3 * n));
      if (!std::isfinite(norm)) return Newton::failed;
      if (it > 0 && it < kMaxNewtonIterations - 1) {
        // The geometric mean of the last two ratios damps the first, often pessimistic, one.
        const double ratio = norm / norm_old;
        const double rate = it == 1 ? ratio : std::sqrt(ratio * rate_old);
        rate_old = ratio;
        newton_rate_ = rate;
        if (!(rate < 0.99)) return Newton::failed;
        eta = rate / (1.0 - rate);
        // The distance left after the remaining iterations, relative to the tolerance: a step
        // small enough to converge in time is about this much smaller (radau5.f's QNEWT).
        const int left = kMaxNewtonIterations - 1 - newton_iterations_;
        double rate_left = 1.0;  // rate^left: left is a small count
        for (int i = 0; i < left; ++i) rate_left *= rate;
        const double predicted = eta * norm * rate_left / tol;
        if (predicted >= 1.0) {
          const double q = std::clamp(predicted, 1e-4, 20.0);
          retry_factor_ = 0.8 * std::pow(q, -1.0 / (4.0 + left));
          return Newton::failed;
        }
      }
      for (std::size_t k = 0; k < 3 * n; ++k) W_[k] += dW_[k];
      for (std::size_t k = 0; k < n; ++k)
        for (std::size_t i = 0; i < 3; ++i)
          Z_[i * n + k] = T[i * 3] * W_[k] + T[i * 3 + 1] * W_[n + k] + T[i * 3 + 2] * W_[2 * n + k];
      if (eta * norm <= tol) {
        eta_ = eta;
        return Newton::converged;
      }
      norm_old = std::max(norm, kEpsilon);
    }
    return Newton::failed;
  }

  // z at the new stage times from the last accepted step's collocation polynomial u:
  // z_i = u(1 + c_i h / h_prev) - u(1); zero at the first step.
  void start_values(double h) {
    const std::size_t n = dim_;
    if (!have_prev_) {
      std::fill(Z_.begin(), Z_.end(), 0.0);
      return;
    }
    const std::vector<double>& P = tab_.radau.dense;
    double w[3][3];  // w[i][j]: the weight of the old z_j in the new z_i
    for (std::size_t i = 0; i < 3; ++i) {
      const double s = 1.0 + tab_.c[i] * h / h_prev_;
      const double p[3] = {s - 1.0, s * s - 1.0, s * s * s - 1.0};
      for (std::size_t j = 0; j < 3; ++j) w[i][j] = p[0] * P[j] + p[1] * P[3 + j] + p[2] * P[6 + j];
    }
    for (std::size_t k = 0; k < n; ++k) {
      const double z0 = Z_prev_[k], z1 = Z_prev_[n + k], z2 = Z_prev_[2 * n + k];
      for (std::size_t i = 0; i < 3; ++i) Z_[i * n + k] = w[i][0] * z0 + w[i][1] * z1 + w[i][2] * z2;
    }
  }

  // err = (gamma / h I - J)^-1 (f(t, y) + sum_i e_i z_i / h) in the weighted RMS norm (scale_),
  // and once more with f(t, y + err) in place of f(t, y) when asked (radau5.f's ESTRAD).
  template <class System>
  double error_estimate(System& sys, double t, const double* y, double h, bool second, StepAttempt& out) {
    const std::size_t n = dim_;
    const std::vector<double>& e = tab_.radau.error;
    for (std::size_t k = 0; k < n; ++k) ze_[k] = (e[0] * Z_[k] + e[1] * Z_[n + k] + e[2] * Z_[2 * n + k]) / h;
    for (std::size_t k = 0; k < n; ++k) err_[k] = f0_[k] + ze_[k];
    lu_real_.solve(err_.data());
    double norm = weighted_rms(err_.data());
    if (norm < 1.0 || !second) return norm;
    for (std::size_t k = 0; k < n; ++k) stage_[k] = y[k] + err_[k];
    ++out.nfev;
    if (!std::isfinite(sys.eval(t, stage_.data(), err_.data()))) {
      out.in_domain = false;
      return norm;
    }
    for (std::size_t k = 0; k < n; ++k) err_[k] += ze_[k];
    lu_real_.solve(err_.data());
    return weighted_rms(err_.data());
  }

  double weighted_rms(const double* v) const {
    double sum = 0.0;
    for (std::size_t k = 0; k < dim_; ++k) sum += (v[k] / scale_[k]) * (v[k] / scale_[k]);
    return std::sqrt(sum / static_cast<double>(dim_));
  }

  static constexpr double kEpsilon = std::numeric_limits<double>::epsilon();

  std::vector<double> Z_, W_, F_, dW_, Z_prev_, stage_, scale_, err_, ze_;
  std::vector<std::complex<double>> cw_;
  std::vector<double> E_real_;  // column-major
  std::vector<std::complex<double>> E_complex_;
  DenseLU lu_real_;
  ComplexDenseLU lu_complex_;
  double lu_h_ = 0.0;  // the step size of the factorisations (0: none)
  double h_attempt_ = 0.0, h_prev_ = 0.0;
  double eta_ = 1.0;  // the last step's rate / (1 - rate) (radau5.f's FACCON)
  double newton_rate_ = 0.0;
  double retry_factor_ = 0.5;
  int newton_iterations_ = 0;
  bool have_prev_ = false, first_ = true, retrying_ = false, jacobian_current_ = false, keep_jacobian_ = false;
};

}  // namespace overflow
