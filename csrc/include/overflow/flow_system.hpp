// The gradient flow as a System for the integrator: the flow's RHS with its own workspace.
#pragma once
#include <cstddef>
#include <stdexcept>

#include <vector>

#include "overflow/invariant_projection.hpp"
#include "overflow/network.hpp"

namespace overflow {

class FlowSystem {
 public:
  // With a team, each RHS evaluation splits its products across it (linear networks).
  explicit FlowSystem(const Flow& flow, ThreadTeam* team = nullptr) : flow_(flow), ws_(flow.network(), team) {}
  std::size_t dim() const { return flow_.dim(); }
  // dy = -grad g(y); returns the loss g(y) (non-finite outside the cost's domain).
  double eval(double /*t*/, const double* y, double* dy) { return flow_.rhs(y, dy, ws_); }
  // Factored stage inputs (stage_factors.hpp): the linear network's inner layers.
  FactorLayout factor_layout() const { return flow_.factor_layout(); }
  double eval_factored(double /*t*/, const double* stage, const double* base, const StageTerms& terms, double* dy,
                       double* factors_out) {
    return flow_.rhs_factored(stage, base, terms, dy, factors_out, ws_);
  }
  // out = J(y) v, the Jacobian of the right-hand side (implicit methods).
  double jvp(double /*t*/, const double* y, const double* v, double* out) { return flow_.jvp(y, v, out); }
  // The invariants C_i at y, and the projection of y back onto {C_i = C0} (StepOptions::project).
  void invariants(const double* y, std::vector<double>& out) const {
    if (flow_.activation() != Activation::none)
      throw std::invalid_argument("projection onto the invariants is implemented for linear networks");
    overflow::invariants(flow_.network(), y, out);
  }
  ProjectionResult project(double* y, const double* C0) const { return project_onto_invariants(flow_.network(), y, C0); }

 private:
  const Flow& flow_;
  FlowWorkspace ws_;
};

}  // namespace overflow
