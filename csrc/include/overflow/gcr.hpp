// Generalized conjugate residuals (Eisenstat, Elman & Schultz) with the search space kept between
// right-hand sides: solves M x = b for several b with the same M (the stages of one Rosenbrock
// step) where M is only available as products M v. Each product adds a pair (p, q = M p) with the
// q orthonormal; a new right-hand side is first solved in the pairs already there (no product),
// then the space grows from its residual. For one right-hand side this is GMRES; for the later
// stages of a step most of the solution is already in the space.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace overflow {

class RecycledKrylov {
 public:
  // Forgets the pairs (call when M changes).
  void reset(std::size_t dim, std::size_t max_pairs) {
    dim_ = dim;
    max_pairs_ = max_pairs;
    count_ = 0;
    if (P_.size() < max_pairs * dim) {
      P_.resize(max_pairs * dim);
      Q_.resize(max_pairs * dim);
    }
    r_.resize(dim);
  }

  // x = M^-1 b (b given in x) to ||b - M x|| <= rel_tol ||b||, with apply(v, out): out = M v.
  // Returns the products made. Past max_pairs the pairs are dropped and the space starts again
  // from the current residual.
  template <class Apply>
  int solve(Apply&& apply, double* x, double rel_tol, int max_products) {
    const std::size_t n = dim_;
    std::copy(x, x + n, r_.begin());
    const double bnorm = norm(r_.data());
    std::fill(x, x + n, 0.0);
    if (bnorm == 0.0) return 0;
    const double tol = rel_tol * bnorm;
    for (std::size_t j = 0; j < count_; ++j) project(j, x);
    int products = 0;
    while (norm(r_.data()) > tol && products < max_products) {
      if (count_ == max_pairs_) count_ = 0;
      double* p = &P_[count_ * n];
      double* q = &Q_[count_ * n];
      std::copy(r_.begin(), r_.end(), p);
      apply(p, q);
      ++products;
      for (std::size_t j = 0; j < count_; ++j) {  // modified Gram-Schmidt, twice is not needed here
        const double* qj = &Q_[j * n];
        const double* pj = &P_[j * n];
        const double a = dot(qj, q);
        for (std::size_t i = 0; i < n; ++i) {
          q[i] -= a * qj[i];
          p[i] -= a * pj[i];
        }
      }
      const double qn = norm(q);
      if (!(qn > 1e-300) || !std::isfinite(qn)) break;  // breakdown: M p in the space already
      for (std::size_t i = 0; i < n; ++i) {
        q[i] /= qn;
        p[i] /= qn;
      }
      project(count_, x);
      ++count_;
    }
    return products;
  }

 private:
  // x += (q_j . r) p_j, r -= (q_j . r) q_j.
  void project(std::size_t j, double* x) {
    const std::size_t n = dim_;
    const double* q = &Q_[j * n];
    const double* p = &P_[j * n];
    const double a = dot(q, r_.data());
    for (std::size_t i = 0; i < n; ++i) {
      x[i] += a * p[i];
      r_[i] -= a * q[i];
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
  std::vector<double> P_, Q_, r_;
};

}  // namespace overflow
