// RecycledKrylov (gcr.hpp) against a dense solve: several right-hand sides on one matrix sharing
// the space, with room for every direction and with so few that the space restarts, and its
// absolute tolerance.
#include <cmath>
#include <random>
#include <vector>

#include "check.hpp"
#include "overflow/detail/gcr.hpp"
#include "quadratic_cost.hpp"

namespace {

// ||b - M x|| for the dense row-major M (n x n).
double residual(const std::vector<double>& M, const std::vector<double>& b, const std::vector<double>& x) {
  const std::size_t n = b.size();
  double s = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    double r = b[i];
    for (std::size_t j = 0; j < n; ++j) r -= M[i * n + j] * x[j];
    s += r * r;
  }
  return std::sqrt(s);
}

double norm(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x * x;
  return std::sqrt(s);
}

}  // namespace

int main() {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> normal(0.0, 1.0);
  const std::size_t n = 60;
  // M = diag(1..1000, spread) + a small nonsymmetric part: GMRES needs many products on it.
  std::vector<double> M = random_vector(n * n, rng, normal);
  for (double& v : M) v *= 0.3 / std::sqrt(static_cast<double>(n));
  for (std::size_t i = 0; i < n; ++i) M[i * n + i] += std::pow(1000.0, static_cast<double>(i) / (n - 1));
  int products = 0;
  auto apply = [&](const double* v, double* w) {
    ++products;
    for (std::size_t i = 0; i < n; ++i) {
      double s = 0.0;
      for (std::size_t j = 0; j < n; ++j) s += M[i * n + j] * v[j];
      w[i] = s;
    }
  };
  for (std::size_t max_pairs : {n + 1, std::size_t{7}}) {
    overflow::RecycledKrylov krylov;
    krylov.reset(n, max_pairs);
    std::vector<double> b0 = random_vector(n, rng, normal);
    for (int rhs = 0; rhs < 4; ++rhs) {
      // Later right-hand sides close to the first, as a Rosenbrock step's stages are.
      std::vector<double> b = b0;
      for (double& v : b) v += 0.01 * rhs * normal(rng);
      std::vector<double> x = b;
      products = 0;
      const int made = krylov.solve(apply, x.data(), 1e-10, 0.0, 10000);
      CHECK(made == products, "products reported %d, made %d", made, products);
      const double res = residual(M, b, x);
      CHECK(res <= 1e-10 * norm(b) * 1.0001, "max_pairs %zu rhs %d: residual %.3e of %.3e", max_pairs, rhs, res,
            norm(b));
      // With room for every direction, a nearby right-hand side costs fewer products than the first.
      if (max_pairs > n && rhs > 0) CHECK(made < 30, "max_pairs %zu rhs %d: %d products", max_pairs, rhs, made);
    }
  }
  // The absolute tolerance stops the solve at that residual, and a zero right-hand side costs nothing.
  overflow::RecycledKrylov krylov;
  krylov.reset(n, n + 1);
  std::vector<double> b = random_vector(n, rng, normal), x = b;
  const double abs_tol = 1e-3 * norm(b);
  products = 0;
  krylov.solve(apply, x.data(), 1e-14, abs_tol, 10000);
  const int loose = products;
  CHECK(residual(M, b, x) <= abs_tol, "absolute tolerance: residual %.3e > %.3e", residual(M, b, x), abs_tol);
  krylov.reset(n, n + 1);
  x = b;
  products = 0;
  krylov.solve(apply, x.data(), 1e-14, 0.0, 10000);
  CHECK(loose < products, "absolute tolerance saved nothing: %d vs %d products", loose, products);
  std::vector<double> zero(n, 0.0);
  CHECK(krylov.solve(apply, zero.data(), 1e-10, 0.0, 10000) == 0 && norm(zero) == 0.0, "zero right-hand side");
  return check_report("test_gcr");
}
