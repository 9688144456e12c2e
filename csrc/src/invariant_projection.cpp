// Projection of a state back onto the invariant set {C_i(W) = C_i(0)} (definition 1): Gauss-Newton
// on the constraints with the minimal-norm correction (minimal_norm_newton.hpp), here the C_i's
// residual and the products Jc D and Jc^T L.
#include "overflow/detail/invariant_projection.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "minimal_norm_newton.hpp"

namespace overflow {

namespace {
using Mat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Map = Eigen::Map<const Mat>;
using MutMap = Eigen::Map<Mat>;

// One symmetric k_i x k_i matrix per invariant.
using Sym = std::vector<Mat>;

struct Constraints {
  const Network& net;
  const double* y;

  // The residual: one symmetric matrix per invariant.
  static double dot(const Sym& a, const Sym& b) {
    double s = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) s += a[i].cwiseProduct(b[i]).sum();
    return s;
  }
  static double max_abs(const Sym& r) {
    double m = 0.0;
    for (const auto& c : r) m = std::max(m, c.cwiseAbs().maxCoeff());
    return m;
  }
  static double entries(const Sym& r) {
    double e = 0.0;
    for (const auto& c : r) e += static_cast<double>(c.size());
    return e;
  }
  Map W(int l) const { return Map(y + net.offset(l), net.rows(l), net.cols(l)); }
  int count() const { return net.depth() - 1; }

  // C_i(y) - C0 for i = 1..N-1 (0-based layers l and l + 1).
  Sym residual(const double* C0) const {
    Sym r(static_cast<std::size_t>(count()));
    std::size_t pos = 0;
    for (int l = 0; l < count(); ++l) {
      const auto k = net.rows(l);
      r[l] = W(l) * W(l).transpose() - W(l + 1).transpose() * W(l + 1) - Map(C0 + pos, k, k);
      pos += static_cast<std::size_t>(k * k);
    }
    return r;
  }
  // Jc^T L: the gradient of sum_i <L_i, C_i(W)>; layer l gets 2 L_l W_l - 2 W_l L_{l-1}.
  std::vector<double> transpose_apply(const Sym& L) const {
    std::vector<double> out(net.state_size(), 0.0);
    for (int l = 0; l < net.depth(); ++l) {
      MutMap d(out.data() + net.offset(l), net.rows(l), net.cols(l));
      if (l < count()) d += 2.0 * L[l] * W(l);
      if (l > 0) d -= 2.0 * W(l) * L[l - 1];
    }
    return out;
  }
  // Jc D: dC_i = D_l W_l^T + W_l D_l^T - D_{l+1}^T W_{l+1} - W_{l+1}^T D_{l+1}.
  Sym apply(const std::vector<double>& D) const {
    Sym out(static_cast<std::size_t>(count()));
    for (int l = 0; l < count(); ++l) {
      const Map D0(D.data() + net.offset(l), net.rows(l), net.cols(l));
      const Map D1(D.data() + net.offset(l + 1), net.rows(l + 1), net.cols(l + 1));
      const Mat a = D0 * W(l).transpose(), b = D1.transpose() * W(l + 1);
      out[l] = a + a.transpose() - b - b.transpose();
    }
    return out;
  }
};

}  // namespace

ProjectionResult project_onto_invariants(const Network& net, double* y, const double* C0, double tolerance,
                                         int max_newton) {
  if (net.depth() < 2) return {};
  std::size_t total = 0;
  for (int l = 0; l + 1 < net.depth(); ++l) total += static_cast<std::size_t>(net.rows(l) * net.rows(l));
  double c0 = 0.0;
  for (std::size_t i = 0; i < total; ++i) c0 = std::max(c0, std::fabs(C0[i]));
  double wmax = 0.0;
  for (std::size_t i = 0; i < net.state_size(); ++i) wmax = std::max(wmax, std::fabs(y[i]));
  const double scale = std::max({1.0, c0, wmax * wmax});
  return detail::minimal_norm_newton<Constraints>(net, y, C0, tolerance * scale, max_newton);
}

}  // namespace overflow
