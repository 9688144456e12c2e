// Generalized conjugate residuals (Eisenstat, Elman & Schultz) with the search space kept between
// right-hand sides: solves M x = b for several b with the same M (the stages of one Rosenbrock
// step) where M is only available as products M v. Each product adds a direction p (the residual
// of the moment) with M p orthogonalised against the earlier images into an orthonormal q; a new
// right-hand side is first solved in the space already there (no product), then the space grows
// from its residual. For one right-hand side this is GMRES; for the later stages of a step most of
// the solution is already in the space.
//
// The directions are kept as they came, with the triangle R of M P = Q R; the solution's
// coefficients in the q are mapped back through R^-1 once per solve. Orthogonalising p alongside q
// at every product cost a third of the time on the ill-conditioned benchmark (bench/convergence.py).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace overflow {

class RecycledKrylov {
 public:
  // Forgets the space (call when M changes).
  void reset(std::size_t dim, std::size_t max_pairs) {
    dim_ = dim;
    max_pairs_ = max_pairs;
    count_ = 0;
    if (P_.size() < max_pairs * dim) {
      P_.resize(max_pairs * dim);
      Q_.resize(max_pairs * dim);
    }
    if (R_.size() < max_pairs * max_pairs) R_.resize(max_pairs * max_pairs);
    coef_.resize(max_pairs);
    r_.resize(dim);
  }

  // x = M^-1 b (b given in x) to ||b - M x|| <= max(rel_tol ||b||, abs_tol), with apply(v, out):
  // out = M v.
  // Returns the products made. Past max_pairs the space is folded into x and starts again from
  // the current residual.
  template <class Apply>
  int solve(Apply&& apply, double* x, double rel_tol, double abs_tol, int max_products) {
    const std::size_t n = dim_;
    std::copy(x, x + n, r_.begin());
    const double bnorm = norm(r_.data());
    std::fill(x, x + n, 0.0);
    if (bnorm == 0.0) return 0;
    const double tol = std::max(rel_tol * bnorm, abs_tol);
    for (std::size_t j = 0; j < count_; ++j) project(j);
    int products = 0;
    while (norm(r_.data()) > tol && products < max_products) {
      if (count_ == max_pairs_) {
        add_solution(x);
        count_ = 0;
      }
      const std::size_t k = count_;
      double* p = &P_[k * n];
      double* q = &Q_[k * n];
      std::copy(r_.begin(), r_.end(), p);
      apply(p, q);
      ++products;
      for (std::size_t j = 0; j < k; ++j) {  // modified Gram-Schmidt
        const double* qj = &Q_[j * n];
        const double a = dot(qj, q);
        R_[j * max_pairs_ + k] = a;
        for (std::size_t i = 0; i < n; ++i) q[i] -= a * qj[i];
      }
      const double qn = norm(q);
      if (!(qn > 1e-300) || !std::isfinite(qn)) break;  // breakdown: M p in the space already
      R_[k * max_pairs_ + k] = qn;
      const double inv = 1.0 / qn;
      for (std::size_t i = 0; i < n; ++i) q[i] *= inv;
      ++count_;
      project(k);
    }
    add_solution(x);
    return products;
  }

 private:
  // coef_j = q_j . r, r -= coef_j q_j.
  void project(std::size_t j) {
    const std::size_t n = dim_;
    const double* q = &Q_[j * n];
    const double a = dot(q, r_.data());
    coef_[j] = a;
    for (std::size_t i = 0; i < n; ++i) r_[i] -= a * q[i];
  }

  // x += P R^-1 coef over the space's count_ directions (M of that is Q coef, the residual's drop).
  void add_solution(double* x) {
    const std::size_t n = dim_, m = max_pairs_;
    for (std::size_t j = count_; j-- > 0;) {
      double s = coef_[j];
      for (std::size_t l = j + 1; l < count_; ++l) s -= R_[j * m + l] * coef_[l];
      coef_[j] = s / R_[j * m + j];
    }
    for (std::size_t j = 0; j < count_; ++j) {
      const double* p = &P_[j * n];
      const double a = coef_[j];
      for (std::size_t i = 0; i < n; ++i) x[i] += a * p[i];
    }
  }

  // Sixteen independent sums (a few vector registers): one chain of dependent additions is bound
  // by their latency, and the dots are most of the orthogonalisation's time.
  double dot(const double* a, const double* b) const {
    constexpr std::size_t kLanes = 16;
    double s[kLanes] = {};
    std::size_t i = 0;
    for (; i + kLanes <= dim_; i += kLanes)
      for (std::size_t l = 0; l < kLanes; ++l) s[l] += a[i + l] * b[i + l];
    for (; i < dim_; ++i) s[0] += a[i] * b[i];
    double total = 0.0;
    for (double v : s) total += v;
    return total;
  }
  double norm(const double* v) const { return std::sqrt(dot(v, v)); }

  std::size_t dim_ = 0, max_pairs_ = 0, count_ = 0;
  std::vector<double> P_, Q_, R_, coef_, r_;  // R_ row-major, max_pairs_ x max_pairs_
};

}  // namespace overflow
