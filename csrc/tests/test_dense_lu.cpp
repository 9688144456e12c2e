// DenseLU and ComplexDenseLU on both sides of their small-order path (hand-written) and the large
// one (Eigen): the residual of M x = b is at rounding level for random and pivoting-dependent
// matrices, a singular matrix gives a non-finite x instead of a crash, and a solve gives the same bits
// wherever its vector lies.
#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <random>
#include <vector>

#include "check.hpp"
#include "overflow/detail/dense_lu.hpp"

namespace {

using overflow::ComplexDenseLU;
using overflow::DenseLU;
using cplx = std::complex<double>;

template <class T>
T draw(std::mt19937_64& rng);
template <>
double draw<double>(std::mt19937_64& rng) {
  return std::uniform_real_distribution<double>(-1.0, 1.0)(rng);
}
template <>
cplx draw<cplx>(std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  return {u(rng), u(rng)};
}

// Backward-stability bound for partial pivoting on well-scaled random matrices: |M x - b| of a
// few hundred n eps (|M| |x| + |b|) in the max norm (the growth factor stays small here).
template <class LU, class T>
void check_solve(std::size_t n, bool zero_diagonal, std::mt19937_64& rng) {
  std::vector<T> M(n * n), x(n), b(n);
  for (auto& m : M) m = draw<T>(rng);
  // Zeros on the diagonal make every step pivot: an LU without row exchanges would divide by 0.
  if (zero_diagonal)
    for (std::size_t i = 0; i < n; ++i) M[i * n + i] = T(0.0);
  for (auto& v : b) v = draw<T>(rng);
  x = b;
  LU lu;
  lu.compute(M.data(), n);
  lu.solve(x.data());
  double res = 0.0, mag = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    T r = -b[i];
    double m = std::abs(b[i]);
    for (std::size_t j = 0; j < n; ++j) {
      r += M[j * n + i] * x[j];
      m += std::abs(M[j * n + i]) * std::abs(x[j]);
    }
    res = std::max(res, std::abs(r));
    mag = std::max(mag, m);
  }
  const double bound = 300.0 * static_cast<double>(n) * 2.220446049250313e-16 * mag;
  CHECK(res <= bound, "n = %zu, zero diagonal %d: residual %.3e > %.3e", n, zero_diagonal, res, bound);
  // A second right-hand side reuses the factors.
  std::vector<T> e(n, T(0.0));
  e[0] = T(1.0);
  lu.solve(e.data());
  T first = T(0.0);
  for (std::size_t j = 0; j < n; ++j) first += M[j * n] * e[j];
  CHECK(std::abs(first - T(1.0)) <= bound, "n = %zu: (M M^-1 e_1)_1 = %.17g", n, std::abs(first));
}

template <class LU, class T>
void check_singular(std::size_t n) {
  std::vector<T> M(n * n, T(1.0)), x(n, T(1.0));  // rank one
  LU lu;
  lu.compute(M.data(), n);
  lu.solve(x.data());
  bool finite = true;
  for (const T& v : x) finite = finite && std::isfinite(std::abs(v));
  CHECK(n == 1 || !finite, "n = %zu: a singular matrix gave a finite solution", n);
}

// The same b at every offset (in elements) from a 64-byte boundary solves to the same bits: a solve must
// not depend on where its vector was allocated (runs of an implicit method would not repeat exactly).
template <class LU, class T>
void check_alignment(std::size_t n, std::mt19937_64& rng) {
  std::vector<T> M(n * n), b(n);
  for (auto& m : M) m = draw<T>(rng);
  for (auto& v : b) v = draw<T>(rng);
  LU lu;
  lu.compute(M.data(), n);
  std::vector<T> first;
  const std::size_t lanes = 64 / sizeof(T);
  std::vector<T> buffer(n + 2 * lanes);
  for (std::size_t offset = 0; offset < lanes; ++offset) {
    const auto address = reinterpret_cast<std::uintptr_t>(buffer.data());
    const std::size_t start = (64 - address % 64) % 64 / sizeof(T) + offset;
    T* x = buffer.data() + start;
    std::copy(b.begin(), b.end(), x);
    lu.solve(x);
    if (offset == 0) first.assign(x, x + n);
    CHECK(std::equal(first.begin(), first.end(), x), "n = %zu: the solution moved with b %zu elements off a line", n,
          offset);
  }
}

}  // namespace

int main() {
  std::mt19937_64 rng(17);
  for (std::size_t n : {1, 2, 3, 5, 8, 16, 31, 32, 33, 40, 64}) {
    for (bool zero_diagonal : {false, true}) {
      if (n == 1 && zero_diagonal) continue;
      check_solve<DenseLU, double>(n, zero_diagonal, rng);
      check_solve<ComplexDenseLU, cplx>(n, zero_diagonal, rng);
    }
    check_singular<DenseLU, double>(n);
    check_singular<ComplexDenseLU, cplx>(n);
  }
  // 33 and up is Eigen's path (its results moved with b at 33, 100 and 320 before the fix). Not past 64:
  // Eigen's recursive blocked LU there binds a reference to an empty block's null data, which UBSan reports.
  for (std::size_t n : {16, 33, 48, 64}) {
    check_alignment<DenseLU, double>(n, rng);
    check_alignment<ComplexDenseLU, cplx>(n, rng);
  }
  // Refactorising with another order reuses the object (Radau after a change of problem size).
  std::vector<double> A = {4.0, 1.0, 2.0, 3.0}, y = {1.0, 2.0};
  DenseLU lu;
  lu.compute(std::vector<double>(40 * 40, 1.0).data(), 40);
  lu.compute(A.data(), 2);
  lu.solve(y.data());  // [[4, 2], [1, 3]] y = (1, 2): y = (-0.1, 0.7)
  CHECK(std::fabs(y[0] + 0.1) < 1e-15 && std::fabs(y[1] - 0.7) < 1e-15, "y = (%.17g, %.17g)", y[0], y[1]);
  return check_report("test_dense_lu");
}
