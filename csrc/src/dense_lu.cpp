#include "overflow/detail/dense_lu.hpp"

#include <Eigen/Dense>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

namespace overflow {
namespace {

// Up to this order the factorisation below is used: a Newton iteration on a small ODE solves a few
// unknowns per call, where Eigen's allocation per solve and the library calls for complex division
// and modulus cost more than the arithmetic. Larger systems go to Eigen's blocked LU.
constexpr std::size_t kSmallOrder = 32;

double magnitude(double x) { return std::fabs(x); }
// LAPACK's |re| + |im|: a pivot choice as good as the modulus, without a call to hypot.
double magnitude(const std::complex<double>& z) { return std::fabs(z.real()) + std::fabs(z.imag()); }

double reciprocal(double x) { return 1.0 / x; }
// Smith's formula: 1 / z without overflow in |z|^2 (a zero pivot gives a non-finite result).
std::complex<double> reciprocal(const std::complex<double>& z) {
  const double a = z.real(), b = z.imag();
  if (std::fabs(a) >= std::fabs(b)) {
    const double r = b / a, d = a + b * r;
    return {1.0 / d, -r / d};
  }
  const double r = a / b, d = a * r + b;
  return {r / d, -1.0 / d};
}

// Unblocked LU with partial pivoting, in place on a column-major copy: the unit lower factor
// below the diagonal, the upper factor above it with its diagonal kept as reciprocals.
template <class T>
struct SmallLU {
  std::vector<T> a;
  std::vector<T> inv_diag;
  std::vector<std::size_t> pivot;
  std::size_t n = 0;

  void compute(const T* M, std::size_t order) {
    n = order;
    a.assign(M, M + n * n);
    inv_diag.resize(n);
    pivot.resize(n);
    for (std::size_t k = 0; k < n; ++k) {
      T* col_k = &a[k * n];
      std::size_t p = k;
      double best = magnitude(col_k[k]);
      for (std::size_t i = k + 1; i < n; ++i) {
        const double m = magnitude(col_k[i]);
        if (m > best) best = m, p = i;
      }
      pivot[k] = p;
      if (p != k)
        for (std::size_t j = 0; j < n; ++j) std::swap(a[j * n + k], a[j * n + p]);
      inv_diag[k] = reciprocal(col_k[k]);
      for (std::size_t i = k + 1; i < n; ++i) col_k[i] *= inv_diag[k];
      for (std::size_t j = k + 1; j < n; ++j) {
        T* col_j = &a[j * n];
        const T f = col_j[k];
        for (std::size_t i = k + 1; i < n; ++i) col_j[i] -= col_k[i] * f;
      }
    }
  }

  void solve(T* b) const {
    for (std::size_t k = 0; k < n; ++k)
      if (pivot[k] != k) std::swap(b[k], b[pivot[k]]);
    for (std::size_t k = 0; k < n; ++k) {
      const T* col_k = &a[k * n];
      const T bk = b[k];
      for (std::size_t i = k + 1; i < n; ++i) b[i] -= col_k[i] * bk;
    }
    for (std::size_t k = n; k-- > 0;) {
      const T* col_k = &a[k * n];
      b[k] *= inv_diag[k];
      const T bk = b[k];
      for (std::size_t i = 0; i < k; ++i) b[i] -= col_k[i] * bk;
    }
  }
};

// One factorisation of either size class; the Eigen path keeps scratch vectors so that a solve
// allocates nothing there either, and solves in them, not in place in b: Eigen's vectorised
// triangular solves peel to the alignment of their vector, so their sums (and results, to
// rounding) would depend on where b happens to be allocated, and runs would not repeat bit for bit.
template <class T>
struct Factorisation {
  using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  SmallLU<T> small;
  Eigen::PartialPivLU<Matrix> large;
  mutable Vector scratch, solution;
  bool is_small = true;
  bool singular = false;

  void compute(const T* M, std::size_t n) {
    is_small = n <= kSmallOrder;
    if (is_small) return small.compute(M, n);
    const auto k = static_cast<Eigen::Index>(n);
    large.compute(Eigen::Map<const Matrix>(M, k, k));
    scratch.resize(k);
    solution.resize(k);
    // Eigen skips a zero pivot and returns a finite x; both paths give a singular M a non-finite x.
    singular = (large.matrixLU().diagonal().array() == T(0.0)).any();
  }

  void solve(T* b) const {
    if (is_small) return small.solve(b);
    Eigen::Map<Vector> x(b, large.rows());
    if (singular) {
      x.setConstant(T(std::numeric_limits<double>::quiet_NaN()));
      return;
    }
    scratch = x;
    solution.noalias() = large.solve(scratch);
    x = solution;
  }
};

}  // namespace

struct DenseLU::Impl : Factorisation<double> {};

DenseLU::DenseLU() : impl_(std::make_unique<Impl>()) {}
DenseLU::~DenseLU() = default;
DenseLU::DenseLU(DenseLU&&) noexcept = default;
DenseLU& DenseLU::operator=(DenseLU&&) noexcept = default;
void DenseLU::compute(const double* M, std::size_t n) { impl_->compute(M, n); }
void DenseLU::solve(double* b) const { impl_->solve(b); }

struct ComplexDenseLU::Impl : Factorisation<std::complex<double>> {};

ComplexDenseLU::ComplexDenseLU() : impl_(std::make_unique<Impl>()) {}
ComplexDenseLU::~ComplexDenseLU() = default;
ComplexDenseLU::ComplexDenseLU(ComplexDenseLU&&) noexcept = default;
ComplexDenseLU& ComplexDenseLU::operator=(ComplexDenseLU&&) noexcept = default;
void ComplexDenseLU::compute(const std::complex<double>* M, std::size_t n) { impl_->compute(M, n); }
void ComplexDenseLU::solve(std::complex<double>* b) const { impl_->solve(b); }

}  // namespace overflow
