// The flow's Jacobian applied to a direction: d/de [-grad g(y + e v)] at e = 0, exact through the
// cost's Hessian-vector product. Used by the implicit methods (Newton on the stage equations).
#include <Eigen/Dense>
#include <stdexcept>
#include <vector>

#include "overflow/network.hpp"

namespace overflow {

namespace {
using Mat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Map = Eigen::Map<const Mat>;
using MutMap = Eigen::Map<Mat>;
}  // namespace

// With prefixes A_i = W_i ... W_1 (A_0 = I), B_N = grad f(P) and B_{i-1} = W_i^T B_i, the flow is
// dW_i = -B_i A_{i-1}^T. Differentiating along V: dA_i = V_i A_{i-1} + W_i dA_{i-1},
// dB_N = Hess f(P)[dA_N], dB_{i-1} = V_i^T B_i + W_i^T dB_i, and
// d(dW_i) = -(dB_i A_{i-1}^T + B_i dA_{i-1}^T). Cost: about twice one right-hand side.
double Flow::jvp(const double* y, const double* v, double* out) const {
  if (activation_ != Activation::none)
    throw std::invalid_argument("the flow's Jacobian is implemented for linear networks (activation none)");
  if (cost_.hvp == nullptr)
    throw std::invalid_argument("the flow's Jacobian needs the cost's Hessian-vector product (hvp)");
  const int N = net_.depth();
  const std::int64_t n = net_.n(), m = net_.m();
  auto W = [&](int l) { return Map(y + net_.offset(l), net_.rows(l), net_.cols(l)); };
  auto V = [&](int l) { return Map(v + net_.offset(l), net_.rows(l), net_.cols(l)); };
  std::vector<Mat> A(N + 1), dA(N + 1);
  A[0] = Mat::Identity(n, n);
  dA[0] = Mat::Zero(n, n);
  for (int l = 0; l < N; ++l) {
    A[l + 1] = W(l) * A[l];
    dA[l + 1] = V(l) * A[l] + W(l) * dA[l];
  }
  Mat B(m, n), dB(m, n);
  const double value = cost_.value_and_grad(A[N].data(), m, n, B.data(), cost_.data);
  cost_.hvp(A[N].data(), dA[N].data(), m, n, dB.data(), cost_.data);
  for (int l = N - 1; l >= 0; --l) {  // B, dB are B_{l+1}, dB_{l+1} (0-based layer l)
    MutMap(out + net_.offset(l), net_.rows(l), net_.cols(l)) = -(dB * A[l].transpose() + B * dA[l].transpose());
    if (l > 0) {
      Mat dB_prev = V(l).transpose() * B + W(l).transpose() * dB;
      B = W(l).transpose() * B;
      dB.swap(dB_prev);
    }
  }
  return value;
}

}  // namespace overflow
