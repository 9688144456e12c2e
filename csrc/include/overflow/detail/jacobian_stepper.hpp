// What the implicit steppers (Gauss-Legendre, Rosenbrock) share: f at both ends of the step, the
// dense Jacobian at its start, and the stepper interface Solver calls.
#pragma once
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "overflow/detail/explicit_rk.hpp"
#include "overflow/detail/gmres.hpp"
#include "overflow/detail/jacobian.hpp"
#include "overflow/detail/sizes.hpp"
#include "overflow/system.hpp"
#include "overflow/tableau.hpp"

namespace overflow {

class JacobianStepper {
 public:
  // Above this many unknowns the Jacobian is not assembled: linear systems are solved by GMRES on
  // Jacobian-vector products (matrix-free); below, by a dense LU. Measured: on 384 weights (problem
  // a) gauss4 took 93 ms matrix-free against 2.2 s with the dense J (dim products) and LU per step.
  static constexpr std::size_t kDenseLimit = 100;

  // dense_jacobian: the system gives J whole (HasJacobian), so the dense path is taken at any size.
  JacobianStepper(const Tableau& tab, std::size_t dim, bool dense_jacobian)
      : tab_(tab),
        dim_(dim),
        matrix_free_(!dense_jacobian && dim > kDenseLimit),
        f0_(dim),
        f1_(dim),
        y_end_(dim),
        J_(matrix_free_ ? 0 : jacobian_size(dim)) {}
  bool matrix_free() const { return matrix_free_; }

  // dim x dim doubles, refused (std::invalid_argument) where they overflow a size or exceed physical memory.
  static std::size_t jacobian_size(std::size_t dim) {
    const std::size_t size = checked_mul(dim, dim, "the Jacobian (dim x dim)");
    check_memory(size, "the Jacobian (" + std::to_string(dim) + " x " + std::to_string(dim) + " doubles)");
    return size;
  }

  std::size_t dim() const { return dim_; }
  int control_order() const { return tab_.control_order; }
  bool dense_needs_stages() const { return false; }
  double* f0() { return f0_.data(); }
  const double* f0() const { return f0_.data(); }
  const double* f_new() const { return f1_.data(); }
  double* f_new() { return f1_.data(); }
  // f(t, y) into f0 (a run's start) or f_new (after a projection): the interface of ExplicitRK.
  template <class System>
  double eval_f0(System& sys, double t, const double* y) {
    return sys.eval(t, y, f0());
  }
  template <class System>
  double eval_f_new(System& sys, double t, const double* y) {
    return sys.eval(t, y, f_new());
  }

  template <class System>
  int prepare_dense(System&, double, const double*, double, bool& in_domain) {
    in_domain = true;
    return 0;
  }

 protected:
  // The step's end becomes the next start; J belongs to the old point.
  void rotate() {
    f0_.swap(f1_);
    jacobian_ready_ = false;
  }

  // J at the step's start, once per point (rejected attempts from it reuse it).
  template <class System>
  void ensure_jacobian(System& sys, double t, const double* y, StepAttempt& out) {
    if (jacobian_ready_ || matrix_free_) return;
    if constexpr (HasJacobian<System>::value) {
      sys.jacobian(t, y, J_.data());
    } else {
      detail::assemble_jacobian(sys, t, y, dim_, J_.data(), scratch_);
      out.njvp += static_cast<int>(dim_);
    }
    ++out.njev;
    jacobian_ready_ = true;
  }

  // f and the loss at the accepted end y_new (the next step's f0, the interpolant's end).
  template <class System>
  void finish(System& sys, double t_end, const double* y_new, StepAttempt& out) {
    out.value_new = sys.eval(t_end, y_new, f1_.data());
    ++out.nfev;
    if (!std::isfinite(out.value_new)) {
      out.in_domain = false;
      return;
    }
    y_end_.assign(y_new, y_new + dim_);
    double fsq = 0.0;
    for (double v : f1_) fsq += v * v;
    out.f_new_norm = std::sqrt(fsq);
  }

  const Tableau& tab_;
  std::size_t dim_;
  bool matrix_free_;
  std::vector<double> f0_, f1_, y_end_;
  std::vector<double> J_;  // dim x dim, column-major
  std::vector<double> scratch_;
  bool jacobian_ready_ = false;
};

}  // namespace overflow
