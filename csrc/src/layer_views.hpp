// Eigen views of the row-major buffers the data sweep (data_sweep.cpp) and its Jacobian
// (data_jvp.cpp) multiply, and when a product is too small for a GEMM (internal header).
#pragma once

#include <Eigen/Core>
#include <cstdint>

namespace overflow::detail {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixView = Eigen::Map<RowMatrix>;
using ConstMatrixView = Eigen::Map<const RowMatrix>;
// A layer's weights W_i inside its stored rows [W_i | b_i] (row stride cols + 1 with a bias), and
// the bias column b_i.
using WeightsView = Eigen::Map<RowMatrix, 0, Eigen::OuterStride<>>;
using ConstWeightsView = Eigen::Map<const RowMatrix, 0, Eigen::OuterStride<>>;
using BiasView = Eigen::Map<Eigen::VectorXd, 0, Eigen::InnerStride<>>;
using ConstBiasView = Eigen::Map<const Eigen::VectorXd, 0, Eigen::InnerStride<>>;

// Products of at most this many multiply-adds are plain loops: below it Eigen's dispatch costs more
// than the work (section 4's width-1 network on a 1 x 1 cost was 10% slower per step through it).
constexpr std::int64_t kLoopProduct = 64;

}  // namespace overflow::detail
