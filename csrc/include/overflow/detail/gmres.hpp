// Restarted GMRES (Saad & Schultz) for the implicit steppers' linear systems on large networks,
// where the Jacobian is only available as products J v: solves A x = b with A given by
// apply(v, out). Modified Gram-Schmidt, Givens rotations, restart length `restart`.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace overflow {

struct GmresResult {
  int iterations = 0;   // products with A
  double residual = 0;  // ||b - A x|| / ||b|| at exit
  bool converged = false;
};

// x holds the initial guess on entry and the solution on exit.
template <class Apply>
GmresResult gmres(Apply&& apply, const std::vector<double>& b, std::vector<double>& x, double rel_tol,
                  int max_iterations, int restart = 40) {
  const std::size_t n = b.size();
  GmresResult res;
  auto norm = [](const std::vector<double>& v) {
    double s = 0.0;
    for (double e : v) s += e * e;
    return std::sqrt(s);
  };
  const double bnorm = norm(b);
  if (bnorm == 0.0) {
    std::fill(x.begin(), x.end(), 0.0);
    res.converged = true;
    return res;
  }
  std::vector<std::vector<double>> V(static_cast<std::size_t>(restart) + 1, std::vector<double>(n));
  std::vector<double> H(static_cast<std::size_t>((restart + 1) * restart)), cs(restart), sn(restart), g(restart + 1),
      w(n), r(n);
  auto h = [&](int i, int j) -> double& { return H[static_cast<std::size_t>(i * restart + j)]; };
  while (res.iterations < max_iterations) {
    apply(x, r);
    ++res.iterations;
    for (std::size_t i = 0; i < n; ++i) r[i] = b[i] - r[i];
    double beta = norm(r);
    res.residual = beta / bnorm;
    if (res.residual <= rel_tol) {
      res.converged = true;
      return res;
    }
    for (std::size_t i = 0; i < n; ++i) V[0][i] = r[i] / beta;
    std::fill(g.begin(), g.end(), 0.0);
    g[0] = beta;
    int k = 0;
    for (; k < restart && res.iterations < max_iterations; ++k) {
      apply(V[k], w);
      ++res.iterations;
      for (int j = 0; j <= k; ++j) {
        double d = 0.0;
        for (std::size_t i = 0; i < n; ++i) d += w[i] * V[j][i];
        h(j, k) = d;
        for (std::size_t i = 0; i < n; ++i) w[i] -= d * V[j][i];
      }
      const double wn = norm(w);
      h(k + 1, k) = wn;
      if (wn > 0)
        for (std::size_t i = 0; i < n; ++i) V[k + 1][i] = w[i] / wn;
      for (int j = 0; j < k; ++j) {  // earlier rotations on the new column
        const double a = h(j, k), c = h(j + 1, k);
        h(j, k) = cs[j] * a + sn[j] * c;
        h(j + 1, k) = -sn[j] * a + cs[j] * c;
      }
      const double a = h(k, k), c = h(k + 1, k), rr = std::hypot(a, c);
      cs[k] = rr > 0 ? a / rr : 1.0;
      sn[k] = rr > 0 ? c / rr : 0.0;
      h(k, k) = rr;
      h(k + 1, k) = 0.0;
      g[k + 1] = -sn[k] * g[k];
      g[k] = cs[k] * g[k];
      res.residual = std::fabs(g[k + 1]) / bnorm;
      if (res.residual <= rel_tol || wn == 0.0) {
        ++k;
        break;
      }
    }
    // x += V y with H y = g (upper triangular, k x k)
    std::vector<double> y(static_cast<std::size_t>(k));
    for (int i = k - 1; i >= 0; --i) {
      double s = g[i];
      for (int j = i + 1; j < k; ++j) s -= h(i, j) * y[j];
      y[i] = h(i, i) != 0.0 ? s / h(i, i) : 0.0;
    }
    for (int j = 0; j < k; ++j)
      for (std::size_t i = 0; i < n; ++i) x[i] += y[j] * V[j][i];
    if (res.residual <= rel_tol) {
      res.converged = true;
      return res;
    }
  }
  return res;
}

}  // namespace overflow
