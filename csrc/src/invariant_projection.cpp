// Projection of a state back onto the invariant set {C_i(W) = C_i(0)} (definition 1): Gauss-Newton
// on the constraints with the minimal-norm correction (the pseudo-inverse of their Jacobian Jc
// applied to C(W) - C0), computed matrix-free by CGLS; a step that does not reduce the residual
// is undone.
#include "overflow/detail/invariant_projection.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace overflow {

namespace {
using Mat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Map = Eigen::Map<const Mat>;
using MutMap = Eigen::Map<Mat>;

// One symmetric k_i x k_i matrix per invariant.
using Sym = std::vector<Mat>;

double dot(const Sym& a, const Sym& b) {
  double s = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i].cwiseProduct(b[i]).sum();
  return s;
}

struct Constraints {
  const Network& net;
  const double* y;
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
  ProjectionResult result;
  if (net.depth() < 2) return result;
  std::vector<double> start(y, y + net.state_size()), before = start;
  double scale = 1.0;
  {
    std::size_t total = 0;
    for (int l = 0; l + 1 < net.depth(); ++l) total += static_cast<std::size_t>(net.rows(l) * net.rows(l));
    double c0 = 0.0;
    for (std::size_t i = 0; i < total; ++i) c0 = std::max(c0, std::fabs(C0[i]));
    double wmax = 0.0;
    for (std::size_t i = 0; i < net.state_size(); ++i) wmax = std::max(wmax, std::fabs(y[i]));
    scale = std::max({1.0, c0, wmax * wmax});
  }
  double previous = std::numeric_limits<double>::infinity();
  for (int it = 0; it < max_newton; ++it) {
    Constraints c{net, y};
    const Sym r = c.residual(C0);
    double rmax = 0.0;
    for (const auto& m : r) rmax = std::max(rmax, m.cwiseAbs().maxCoeff());
    if (!(rmax < previous)) {  // Newton stopped helping (or the residual is not finite): undo that step
      if (it > 0) std::copy(before.begin(), before.end(), y);
      break;
    }
    result.residual = rmax;
    previous = rmax;
    if (rmax <= tolerance * scale) break;
    // CGLS: the minimal-norm least-squares x of Jc x = r, so that constraints that are dependent
    // (C_i is k x k but may have rank 2, as in the vector case) or slightly inconsistent are fine.
    std::vector<double> x(net.state_size(), 0.0), p = c.transpose_apply(r), q = p;
    Sym s = r;
    double gamma = 0.0;
    for (double v : q) gamma += v * v;
    // Stop once the linearised residual's RMS entry is at the target (what this Newton step needs),
    // or the normal equations are solved to 1e-12 (dependent or inconsistent constraints: no lower
    // residual exists).
    double entries = 0.0;
    for (const auto& m : r) entries += static_cast<double>(m.size());
    const double target_sq = tolerance * scale * tolerance * scale * entries, stop = gamma * 1e-24;
    for (int k = 0; k < 500 && gamma > stop && dot(s, s) > target_sq; ++k) {
      const Sym t = c.apply(p);
      const double tt = dot(t, t);
      if (!(tt > 0)) break;
      const double alpha = gamma / tt;
      for (std::size_t i = 0; i < x.size(); ++i) x[i] += alpha * p[i];
      for (std::size_t i = 0; i < s.size(); ++i) s[i] -= alpha * t[i];
      q = c.transpose_apply(s);
      double gamma_new = 0.0;
      for (double v : q) gamma_new += v * v;
      for (std::size_t i = 0; i < p.size(); ++i) p[i] = q[i] + (gamma_new / gamma) * p[i];
      gamma = gamma_new;
      ++result.cg_iterations;
    }
    before.assign(y, y + net.state_size());
    for (std::size_t i = 0; i < x.size(); ++i) y[i] -= x[i];
    ++result.newton_iterations;
  }
  double size = 0.0;
  for (std::size_t i = 0; i < net.state_size(); ++i) size = std::max(size, std::fabs(y[i] - start[i]));
  result.size = size;
  return result;
}

}  // namespace overflow
