// A Rosenbrock (linearly implicit) stepper for Solver, for stiff flows: each stage solves
//   (I / (h gamma) - J) k_i = f(t + c_i h, y + sum_{j<i} a_ij k_j) + sum_{j<i} (C_ij / h) k_j + h d_i f_t
// with J the system's Jacobian at the step's start (its own, or assembled densely from Jacobian-vector
// products), one LU per step size, and f_t = df/dt there for a non-autonomous system (HasTimeDerivative;
// d_i = gamma_i, the row sums of the method's Gamma). Hairer & Wanner's formulation (rodas.f);
// y_new = y + sum_i b_i k_i, error = sum_i e_i k_i. Dense output: cubic Hermite through the step's ends.
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "overflow/detail/dense_lu.hpp"
#include "overflow/detail/gcr.hpp"
#include "overflow/detail/jacobian_stepper.hpp"
#include "overflow/detail/tolerance.hpp"
#include "overflow/tableau.hpp"

namespace overflow {

class Rosenbrock : public JacobianStepper {
 public:
  Rosenbrock(const Tableau& tab, std::size_t dim, bool dense_jacobian = false)
      : JacobianStepper(tab, dim, dense_jacobian),
        s_(tab.stages),
        K_(static_cast<std::size_t>(tab.stages) * dim),
        stage_(dim),
        rhs_(dim),
        E_(matrix_free_ ? 0 : dim * dim) {  // no dense matrix on the matrix-free path
    if (tab.scheme != Tableau::Scheme::rosenbrock) throw std::invalid_argument("Rosenbrock needs a Rosenbrock tableau");
    // Gamma^-1 = I / gamma - C (Hairer & Wanner IV.7), so d = Gamma 1 solves (I / gamma - C) d = 1: forward
    // substitution (rodas.f's D1..D4: 0.25, -0.1043, 0.1035, -0.0362, then 0, 0).
    d_.resize(static_cast<std::size_t>(s_));
    for (int i = 0; i < s_; ++i) {
      double acc = 1.0;
      for (int j = 0; j < i; ++j) acc += c(i, j) * d_[static_cast<std::size_t>(j)];
      d_[static_cast<std::size_t>(i)] = tab.rosenbrock.gamma * acc;
    }
  }

  void accept() {
    rotate();
    lu_h_ = 0.0;
    ft_ready_ = false;
  }

  void dense(const double* y, double h, double theta, double* out) const {
    const double t2 = theta * theta, t3 = t2 * theta;
    const double h00 = 2 * t3 - 3 * t2 + 1, h10 = t3 - 2 * t2 + theta, h01 = -2 * t3 + 3 * t2, h11 = t3 - t2;
    for (std::size_t i = 0; i < dim_; ++i) out[i] = h00 * y[i] + h * h10 * f0_[i] + h01 * y_end_[i] + h * h11 * f1_[i];
  }

  template <class System>
  StepAttempt attempt(System& sys, double t, const double* y, double h, const Tolerance& tol, double* y_new) {
    StepAttempt out;
    if constexpr (!HasJvp<System>::value) {
      (void)sys, (void)t, (void)y, (void)h, (void)tol, (void)y_new;
      throw std::invalid_argument("the Rosenbrock methods need the system's Jacobian (gradient flows only)");
    } else {
      const std::size_t n = dim_;
      ensure_jacobian(sys, t, y, out);
      if constexpr (HasTimeDerivative<System>::value) {
        if (!ft_ready_) {  // at the step's start, once per point like J
          ft_.resize(n);
          sys.time_derivative(t, y, f0_.data(), ft_.data());
          ft_ready_ = true;
        }
      }
      double linear_abs_tol = 0.0;
      if (matrix_free_) {
        krylov_.reset(n, max_pairs());  // the stages share I/(h gamma) - J(y)
        linear_abs_tol = linear_tolerance(y, h, tol);
      }
      if (!matrix_free_ && h != lu_h_) {
        const double diag = 1.0 / (h * tab_.rosenbrock.gamma);
        for (std::size_t k = 0; k < n * n; ++k) E_[k] = -J_[k];
        for (std::size_t k = 0; k < n; ++k) E_[k * n + k] += diag;
        lu_.compute(E_.data(), n);
        ++out.nlu;
        lu_h_ = h;
      }
      for (int i = 0; i < s_; ++i) {
        const double* F = f0_.data();
        if (i > 0) {
          for (std::size_t k = 0; k < n; ++k) {
            double acc = y[k];
            for (int j = 0; j < i; ++j) acc += a(i, j) * K_[j * n + k];
            stage_[k] = acc;
          }
          ++out.nfev;
          if (!std::isfinite(sys.eval(t + tab_.c[i] * h, stage_.data(), rhs_.data()))) {
            out.in_domain = false;
            return out;
          }
          F = rhs_.data();
        }
        double* k_i = &K_[i * n];
        for (std::size_t k = 0; k < n; ++k) {
          double acc = F[k];
          for (int j = 0; j < i; ++j) acc += (c(i, j) / h) * K_[j * n + k];
          k_i[k] = acc;
        }
        if constexpr (HasTimeDerivative<System>::value) {
          const double hd = h * d_[static_cast<std::size_t>(i)];
          if (hd != 0.0)
            for (std::size_t k = 0; k < n; ++k) k_i[k] += hd * ft_[k];
        }
        if (matrix_free_) {
          solve_matrix_free(sys, t, y, h, std::min(1e-8, 1e-3 * tol.rtol), linear_abs_tol, k_i, out);
        } else {
          lu_.solve(k_i);
        }
      }
      double err = 0.0, max_abs = 0.0;
      for (std::size_t k = 0; k < n; ++k) {
        double yn = y[k], e = 0.0;
        for (int i = 0; i < s_; ++i) {
          yn += tab_.b[i] * K_[i * n + k];
          e += tab_.e[i] * K_[i * n + k];
        }
        y_new[k] = yn;
        const double sc = tol.weight(k, std::max(std::fabs(y[k]), std::fabs(yn)));
        err += (e / sc) * (e / sc);
        max_abs = std::max(max_abs, std::fabs(yn));
      }
      out.error = std::sqrt(err / static_cast<double>(n));
      out.max_abs_new = max_abs;
      finish(sys, t + h, y_new, out);
      return out;
    }
  }

 private:
  double a(int i, int j) const { return tab_.a[static_cast<std::size_t>(i * s_ + j)]; }
  double c(int i, int j) const { return tab_.rosenbrock.gamma_c[static_cast<std::size_t>(i * s_ + j)]; }

  // (I / (h gamma) - J) x = b (b given in x) on products J v at (t, y), in a Krylov space kept
  // across the step's stages (gcr.hpp): the later stages' right-hand sides lie mostly in the space
  // the earlier ones built. Solved to ||r|| <= rel_tol ||b|| or to abs_tol (linear_tolerance).
  template <class System>
  void solve_matrix_free(System& sys, double t, const double* y, double h, double rel_tol, double abs_tol, double* x,
                         StepAttempt& out) {
    const std::size_t n = dim_;
    const double diag = 1.0 / (h * tab_.rosenbrock.gamma);
    jv_.resize(n);
    auto apply = [&](const double* v, double* w) {
      sys.jvp(t, y, v, jv_.data());
      ++out.njvp;
      for (std::size_t k = 0; k < n; ++k) w[k] = diag * v[k] - jv_[k];
    };
    double bnorm = 0.0;
    for (std::size_t k = 0; k < n; ++k) bnorm += x[k] * x[k];
    krylov_.solve(apply, x, rel_tol, std::min(abs_tol, kLoosestLinearRelTol * std::sqrt(bnorm)), 1000);
  }

  // A residual r leaves an error M^-1 r in a stage, and ||M^-1|| <= h gamma where J = -Hess g is
  // negative semidefinite (near minima, where the steps are long). That error is held to
  // kLinearErrorFraction of the step's error tolerance in the weighted RMS norm:
  // ||M^-1 r||_w <= h gamma ||r|| / (sqrt(n) min_k(atol + rtol |y_k|)). On the ill-conditioned
  // benchmark (bench/convergence.py) this saved a quarter of the products and left every step size
  // as it was with the relative rule alone; ten times looser still did.
  double linear_tolerance(const double* y, double h, const Tolerance& tol) const {
    double weight = std::numeric_limits<double>::infinity();
    for (std::size_t k = 0; k < dim_; ++k) weight = std::min(weight, tol.weight(k, std::fabs(y[k])));
    return kLinearErrorFraction * std::sqrt(static_cast<double>(dim_)) * weight / (h * tab_.rosenbrock.gamma);
  }
  static constexpr double kLinearErrorFraction = 1e-3;
  // However loose the tolerances, each stage is solved to this relative residual at least: a
  // tolerance of 1e3 with fixed steps must still move the state.
  static constexpr double kLoosestLinearRelTol = 1e-4;

  // Pairs the Krylov space keeps: all of them for small states, about 32 MB of them for large ones.
  std::size_t max_pairs() const {
    const std::size_t budget = (std::size_t{32} << 20) / (2 * sizeof(double) * dim_);
    return std::min(dim_ + 1, std::max<std::size_t>(20, std::min<std::size_t>(200, budget)));
  }

  int s_;
  std::vector<double> d_;   // gamma_i: the weights of h f_t in the stages
  std::vector<double> ft_;  // df/dt at the step's start (non-autonomous systems)
  bool ft_ready_ = false;
  std::vector<double> K_, stage_, rhs_, jv_;
  RecycledKrylov krylov_;
  std::vector<double> E_;  // column-major
  DenseLU lu_;
  double lu_h_ = 0.0;
};

}  // namespace overflow
