// The gradient flow as a System for the integrator (the contract: system.hpp): the flow's RHS with its own workspace.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <vector>

#include "overflow/detail/activation_pattern.hpp"
#include "overflow/detail/invariant_projection.hpp"
#include "overflow/detail/neuron_projection.hpp"
#include "overflow/network.hpp"

namespace overflow {

class FlowSystem {
 public:
  // With a team, each RHS evaluation and each exact Jacobian-vector product splits its products across it.
  explicit FlowSystem(const Flow& flow, ThreadTeam* team = nullptr)
      : flow_(flow), ws_(flow, team), jvp_ws_(flow.network(), team), pattern_(flow) {}
  std::size_t dim() const { return flow_.dim(); }
  const Flow& flow() const { return flow_; }
  // dy = -grad g(y); returns the loss g(y) (non-finite outside the cost's domain).
  double eval(double /*t*/, const double* y, double* dy) {
    return pattern_.active() ? pattern_.rhs(y, dy, ws_) : flow_.rhs(y, dy, ws_);
  }
  // Relu-family networks: the activation pattern the Solver switches at the kinks (null elsewhere).
  PatternHandle activation_pattern() { return {pattern_.active() ? &pattern_ : nullptr, &ws_}; }
  // Factored stage inputs (stage_factors.hpp): the linear network's inner layers.
  FactorLayout factor_layout() const { return flow_.factor_layout(); }
  double eval_factored(double /*t*/, const double* stage, const double* base, const StageTerms& terms, double* dy,
                       double* factors_out) {
    return flow_.rhs_factored(stage, base, terms, dy, factors_out, ws_);
  }
  // out = J(y) v, the Jacobian of the right-hand side (implicit methods, "auto"): exact through the
  // cost's hvp (Flow::jvp, every network; a linear network's cost must have one, as overflow.h says).
  // For activated networks and networks on data whose cost has none, a central difference
  // (f(y + e v) - f(y - e v)) / 2e with e about eps^(1/3) relative, accurate to ~1e-10 relative,
  // as Hairer's codes difference J.
  double jvp(double t, const double* y, const double* v, double* out) {
    // Under an activation pattern the product takes its gates: at a kink just switched, or for an entry
    // sliding along one, the sign of the pre-activation (about 0 there) does not say which branch is taken.
    // Sliding gates are solved at y (their own workspace: the step's evaluations keep ws_), and their
    // dependence on y is added (ActivationPattern::add_sliding_jvp).
    const bool exact = flow_.cost().hvp != nullptr || linear();
    const bool sliding = exact && pattern_.active() && pattern_.sliding() > 0;
    if (sliding) {
      if (!jacobian_ws_) jacobian_ws_ = std::make_unique<FlowWorkspace>(flow_, ws_.team);
      jvp_ws_.gates = pattern_.jacobian_gates(y, *jacobian_ws_);
    } else {
      jvp_ws_.gates = pattern_.active() ? pattern_.backward_gates() : nullptr;
    }
    if (exact) {
      const double value = flow_.jvp(y, v, out, jvp_ws_);
      if (sliding) pattern_.add_sliding_jvp(v, out);
      return value;
    }
    const std::size_t n = dim();
    double yn = 0.0, vn = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      yn += y[i] * y[i];
      vn += v[i] * v[i];
    }
    if (vn == 0.0) {
      std::fill(out, out + n, 0.0);
      return eval(t, y, out);
    }
    const double e = 6e-6 * (1.0 + std::sqrt(yn)) / std::sqrt(vn);
    shifted_.resize(n);
    minus_.resize(n);
    for (std::size_t i = 0; i < n; ++i) shifted_[i] = y[i] - e * v[i];
    // Points off the step's stages: no crossings recorded there (ActivationPattern::watch_step).
    unwatched_eval(shifted_.data(), minus_.data());
    for (std::size_t i = 0; i < n; ++i) shifted_[i] = y[i] + e * v[i];
    const double value = unwatched_eval(shifted_.data(), out);
    for (std::size_t i = 0; i < n; ++i) out[i] = (out[i] - minus_[i]) / (2.0 * e);
    return value;
  }
  // The invariants at y, and the projection of y back onto {invariants = C0} (StepOptions::project):
  // the C_i of the linear network, the per-neuron invariants of a positively homogeneous activation
  // (on data or the identity input; neuron_projection.hpp).
  void invariants(const double* y, std::vector<double>& out) const {
    if (linear()) return overflow::invariants(flow_.network(), y, out);
    require_homogeneous();
    out.resize(neuron_invariants_size(flow_.network()));
    neuron_invariants(flow_.network(), y, out.data());
  }
  ProjectionResult project(double* y, const double* C0) const {
    if (linear()) return project_onto_invariants(flow_.network(), y, C0);
    require_homogeneous();
    return project_onto_neuron_invariants(flow_.network(), y, C0);
  }

 private:
  // The linear network of eq. 4 (identity input, no activation): the flow with the invariants C_i.
  double unwatched_eval(const double* y, double* dy) {
    return pattern_.active() ? pattern_.rhs(y, dy, ws_, false) : flow_.rhs(y, dy, ws_);
  }
  bool linear() const { return flow_.activation() == Activation::none && !flow_.on_data(); }
  void require_homogeneous() const {
    const Activation a = flow_.activation();
    if (a != Activation::none && a != Activation::relu && a != Activation::leaky_relu)
      throw std::invalid_argument(
          "the flow conserves invariants only for linear networks and positively homogeneous activations (linear, "
          "relu, leaky_relu)");
  }

  const Flow& flow_;
  FlowWorkspace ws_;
  JvpWorkspace jvp_ws_;
  std::vector<double> shifted_, minus_;  // the difference quotient's points (costs without an hvp)
  ActivationPattern pattern_;
  // The sliding gates' solve at a Jacobian's state (made when first needed).
  std::unique_ptr<FlowWorkspace> jacobian_ws_;
};

}  // namespace overflow
