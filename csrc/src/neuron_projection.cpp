// The per-neuron invariants c_ij = ||row j of [W_i | b_i]||^2 - ||column j of W_{i+1}||^2 and the
// projection onto {c = c0}: Gauss-Newton on the constraints with the minimal-norm correction (the
// pseudo-inverse of their Jacobian Jc applied to c(y) - c0), by CGLS on products Jc D and Jc^T L, as
// invariant_projection.cpp does for the C_i. The constraints couple: the entry W_{i+1}[p, j] is an
// outgoing weight of neuron j of layer i and an incoming one of neuron p of layer i + 1.
#include "overflow/detail/neuron_projection.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "minimal_norm_newton.hpp"

namespace overflow {

namespace {

struct NeuronConstraints {
  const Network& net;
  const double* y;

  // The residual: one value per hidden neuron.
  static double dot(const std::vector<double>& a, const std::vector<double>& b) { return detail::dot(a, b); }
  static double max_abs(const std::vector<double>& r) {
    double m = 0.0;
    for (double v : r) m = std::max(m, std::fabs(v));
    return m;
  }
  static double entries(const std::vector<double>& r) { return static_cast<double>(r.size()); }

  int hidden_layers() const { return net.depth() - 1; }
  const double* row(const double* state, int l, std::int64_t j) const {
    return state + net.offset(l) + static_cast<std::size_t>(j * net.stride(l));
  }
  // W_{l+1}[p, j] in the state `state` (layer l + 1's stored rows).
  double outgoing(const double* state, int l, std::int64_t p, std::int64_t j) const { return row(state, l + 1, p)[j]; }

  // c(y) - c0, neuron by neuron.
  std::vector<double> residual(const double* c0) const {
    std::vector<double> r(neuron_invariants_size(net));
    neuron_invariants(net, y, r.data());
    for (std::size_t i = 0; i < r.size(); ++i) r[i] -= c0[i];
    return r;
  }
  // Jc D: dc_lj = 2 <row j of L_l, row j of D_l> - 2 <column j of W_{l+1}, column j of D_{l+1}>.
  std::vector<double> apply(const std::vector<double>& D) const {
    std::vector<double> out;
    out.reserve(neuron_invariants_size(net));
    for (int l = 0; l < hidden_layers(); ++l)
      for (std::int64_t j = 0; j < net.rows(l); ++j) {
        const double *a = row(y, l, j), *d = row(D.data(), l, j);
        double s = 0.0;
        for (std::int64_t q = 0; q < net.stride(l); ++q) s += a[q] * d[q];
        for (std::int64_t p = 0; p < net.rows(l + 1); ++p) s -= outgoing(y, l, p, j) * outgoing(D.data(), l, p, j);
        out.push_back(2.0 * s);
      }
    return out;
  }
  // Jc^T L: the gradient of sum_lj L_lj c_lj(y).
  std::vector<double> transpose_apply(const std::vector<double>& L) const {
    std::vector<double> out(net.state_size(), 0.0);
    std::size_t at = 0;
    for (int l = 0; l < hidden_layers(); ++l)
      for (std::int64_t j = 0; j < net.rows(l); ++j, ++at) {
        const double w = 2.0 * L[at];
        const double* a = row(y, l, j);
        double* o = out.data() + net.offset(l) + static_cast<std::size_t>(j * net.stride(l));
        for (std::int64_t q = 0; q < net.stride(l); ++q) o[q] += w * a[q];
        for (std::int64_t p = 0; p < net.rows(l + 1); ++p) {
          const std::size_t k = net.offset(l + 1) + static_cast<std::size_t>(p * net.stride(l + 1) + j);
          out[k] -= w * y[k];
        }
      }
    return out;
  }
};

}  // namespace

std::size_t neuron_invariants_size(const Network& net) {
  std::size_t total = 0;
  for (int l = 0; l + 1 < net.depth(); ++l) total += static_cast<std::size_t>(net.rows(l));
  return total;
}

void neuron_invariants(const Network& net, const double* y, double* out) {
  for (int l = 0; l + 1 < net.depth(); ++l) {
    const double* L = y + net.offset(l);
    const double* W = y + net.offset(l + 1);
    for (std::int64_t j = 0; j < net.rows(l); ++j) {
      double s = 0.0;
      for (std::int64_t q = 0; q < net.stride(l); ++q) s += L[j * net.stride(l) + q] * L[j * net.stride(l) + q];
      for (std::int64_t p = 0; p < net.rows(l + 1); ++p)
        s -= W[p * net.stride(l + 1) + j] * W[p * net.stride(l + 1) + j];
      *out++ = s;
    }
  }
}

ProjectionResult project_onto_neuron_invariants(const Network& net, double* y, const double* c0, double tolerance,
                                                int max_newton) {
  const std::size_t count = neuron_invariants_size(net);
  if (count == 0) return {};
  double scale = 1.0;
  for (std::size_t i = 0; i < count; ++i) scale = std::max(scale, std::fabs(c0[i]));
  for (std::size_t i = 0; i < net.state_size(); ++i) scale = std::max(scale, y[i] * y[i]);
  return detail::minimal_norm_newton<NeuronConstraints>(net, y, c0, tolerance * scale, max_newton);
}

}  // namespace overflow
