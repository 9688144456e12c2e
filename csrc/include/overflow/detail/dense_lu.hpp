// A dense LU factorisation with partial pivoting behind a plain interface, so that headers (and
// programs that embed the core) need no Eigen: the implementation is in dense_lu.cpp.
#pragma once
#include <complex>
#include <cstddef>
#include <memory>

namespace overflow {

class DenseLU {
 public:
  DenseLU();
  ~DenseLU();
  DenseLU(DenseLU&&) noexcept;
  DenseLU& operator=(DenseLU&&) noexcept;
  // Factorises the n x n column-major matrix M.
  void compute(const double* M, std::size_t n);
  // x = M^-1 b in place (b has n entries); not finite where M is singular (a zero pivot).
  void solve(double* b) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The same for a complex matrix (Radau IIA's complex eigenvalue pair, radau.hpp).
class ComplexDenseLU {
 public:
  ComplexDenseLU();
  ~ComplexDenseLU();
  ComplexDenseLU(ComplexDenseLU&&) noexcept;
  ComplexDenseLU& operator=(ComplexDenseLU&&) noexcept;
  // Factorises the n x n column-major matrix M.
  void compute(const std::complex<double>* M, std::size_t n);
  // x = M^-1 b in place (b has n entries); not finite where M is singular (a zero pivot).
  void solve(std::complex<double>* b) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace overflow
