#include "overflow/detail/dense_lu.hpp"

#include <Eigen/Dense>

namespace overflow {

struct DenseLU::Impl {
  Eigen::PartialPivLU<Eigen::MatrixXd> lu;
};

DenseLU::DenseLU() : impl_(std::make_unique<Impl>()) {}
DenseLU::~DenseLU() = default;
DenseLU::DenseLU(DenseLU&&) noexcept = default;
DenseLU& DenseLU::operator=(DenseLU&&) noexcept = default;

void DenseLU::compute(const double* M, std::size_t n) {
  const auto k = static_cast<Eigen::Index>(n);
  impl_->lu.compute(Eigen::Map<const Eigen::MatrixXd>(M, k, k));
}

void DenseLU::solve(double* b) const {
  const auto k = impl_->lu.rows();
  Eigen::Map<Eigen::VectorXd> x(b, k);
  x = impl_->lu.solve(Eigen::VectorXd(x));
}

struct ComplexDenseLU::Impl {
  Eigen::PartialPivLU<Eigen::MatrixXcd> lu;
};

ComplexDenseLU::ComplexDenseLU() : impl_(std::make_unique<Impl>()) {}
ComplexDenseLU::~ComplexDenseLU() = default;
ComplexDenseLU::ComplexDenseLU(ComplexDenseLU&&) noexcept = default;
ComplexDenseLU& ComplexDenseLU::operator=(ComplexDenseLU&&) noexcept = default;

void ComplexDenseLU::compute(const std::complex<double>* M, std::size_t n) {
  const auto k = static_cast<Eigen::Index>(n);
  impl_->lu.compute(Eigen::Map<const Eigen::MatrixXcd>(M, k, k));
}

void ComplexDenseLU::solve(std::complex<double>* b) const {
  const auto k = impl_->lu.rows();
  Eigen::Map<Eigen::VectorXcd> x(b, k);
  x = impl_->lu.solve(Eigen::VectorXcd(x));
}

}  // namespace overflow
