// The activation pattern of a relu-family network (relu, leaky_relu): which side of its kink every
// hidden pre-activation entry is on. The flow's right-hand side jumps where an entry crosses 0, and an
// adaptive step that straddles a crossing collapses there; under a pattern frozen for a step, each
// entry takes its side's linear branch (sigma(a) = g a, sigma'(a) = g with the gate g = 1 or the slope),
// the right-hand side is smooth inside the step, and the Solver (solver.hpp) cuts the step at the
// first crossing, located on the dense output, and switches the pattern there.
//
// Sliding (Filippov): where the flow on both sides pushes an entry back to 0, it stays there. Its gate
// is then lambda in [slope, 1] (the range between the two gates: a leaky slope may exceed 1, and a
// slope of 1 has no kinks), chosen at every evaluation so that da/dt = 0 for all sliding entries.
// Its pre-activation a is 0 to the kink tolerance, so its forward term lambda a barely moves with lambda:
// each solve holds the forward gate (gates_) at the last solve's lambda, which keeps the per-neuron
// invariants (they need h = lambda a where the backward gate is lambda), and solves for the backward
// gate (lambda_). The right-hand side is then multilinear in the lambdas, affine in each, and moves
// only in the sliding entries' sample columns: one whole evaluation, then Newton with the exact
// Jacobian on those columns alone (sliding_jacobian.hpp), converged in one step for one hidden layer
// and in a few otherwise. An entry leaves sliding when its lambda reaches 1 or the slope, to that side.
// Where an entry begins to slide and the solve puts other gates out of their range, those leave one at a
// time, the farthest out first, each then a candidate to slide again (a box-constrained solve by active
// sets): leaving all at once, for good, made two entries push each other out switch after switch.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "overflow/detail/dense_lu.hpp"
#include "overflow/detail/sliding_jacobian.hpp"
#include "overflow/network.hpp"

namespace overflow {

class ActivationPattern {
 public:
  // At most this many entries slide at once: each evaluation solves for their gates (a p x p system
  // and O(p^2) column passes), so a larger set is reported instead of ground through.
  static constexpr std::size_t kMaxSliding = 32;

  // For any flow; active() only for relu and leaky_relu (the other activations are smooth). Every
  // call evaluates with the caller's workspace ws, whose gates it sets; until start() rhs() evaluates
  // the activation itself.
  explicit ActivationPattern(const Flow& flow);

  bool active() const { return active_; }

  // At the start of a run: every entry's side from the sign of its pre-activation at y (an entry at
  // exactly 0 is switched like a crossing), nothing sliding, the counts at 0.
  void start(const double* y, FlowWorkspace& ws);

  // The right-hand side under the pattern (the sliding gates solved at y); returns the loss. With
  // `watch`, an entry past its switch at y (beyond its slack) is recorded for returned().
  double rhs(const double* y, double* dy, FlowWorkspace& ws, bool watch = true);

  // Before each attempted step: forgets the entries its evaluations found past their switch. A step's
  // stages (its evaluations) can see an entry cross and come back before the step's end, which holds()
  // alone would miss: the step would run on the wrong branch.
  void watch_step();

  // After an accepted step ending at y (whose evaluation, when `evaluated`, was the last one made
  // with ws): true when every entry is still on its side and every sliding gate inside [slope, 1].
  // Otherwise the entries that are not are the candidates that margin() watches. The entries an
  // evaluation since watch_step() found past their switch but back on their side at y are candidates too.
  bool holds(const double* y, FlowWorkspace& ws, bool evaluated);
  // Whether the last holds() found such entries (a crossing that came back inside the step?).
  bool returned() const { return returned_; }
  // How far the candidates are from their switch at y, the least of: each entry's pre-activation
  // times its side, each sliding gate's distance to the nearer end of [slope, 1] over 1 - slope.
  // > 0 before the first crossing, <= 0 after it; records which candidates have crossed at y.
  double margin(const double* y, FlowWorkspace& ws);
  // Switches, at y, the entries the last margin() call found crossed: each takes its new side, or
  // slides where the flow on that side pushes it back; dy and value are then the right-hand side and
  // the loss at y under the new pattern. False (nothing changed) where the sliding set would exceed
  // kMaxSliding; message() says so.
  bool switch_at(const double* y, FlowWorkspace& ws, double* dy, double& value);
  // Between hold() and release() the pattern before the last switch is evaluated: the step that ends
  // at the switch is still read (dense output, events) after the switch is made.
  void hold();
  void release();

  // Since start(): located switches (a switch may move several entries at once), entries that began
  // to slide, and the right-hand sides evaluated beyond one per rhs() call (the step's ends, switches).
  std::int64_t nkink() const { return nkink_; }
  std::int64_t nslide() const { return nslide_; }
  std::int64_t evaluations() const { return evaluations_; }
  std::size_t sliding() const { return sliding_.size(); }
  // The backward gates (sigma' of every hidden entry) the right-hand side steps under; null before start().
  const double* backward_gates() const { return started_ ? lambda_.data() : nullptr; }
  // The gates the Jacobian at y is taken under: backward_gates(), with the sliding gates solved at y (in ws, a
  // workspace of the caller's other than the one rhs() is given: an evaluation at y). The pattern's own
  // state is left as it was; the solve is kept for add_sliding_jvp() until y or the pattern changes.
  const double* jacobian_gates(const double* y, FlowWorkspace& ws);
  // jv, the Jacobian-vector product at the last jacobian_gates() state under those gates held, gains the part
  // through the sliding gates' dependence on y: they solve r(y, lambda) = 0, so they move by
  // w = -r_lambda^{-1} r_y v, and the right-hand side by its derivative in them times w (sliding_jacobian.hpp).
  void add_sliding_jvp(const double* v, double* jv);
  // The gates of the entries sliding now (lambda, in [slope, 1]).
  std::vector<double> sliding_gates() const;
  const std::string& message() const { return message_; }

 private:
  enum : signed char { kInactive = -1, kSliding = 0, kActive = 1 };

  // The right-hand side at y under the pattern (the sliding gates solved), counted as one evaluation.
  double evaluate(const double* y, double* dy, FlowWorkspace& ws);
  // One forward pass at y under the pattern (its pre-activations in ws.pre_act).
  void forward(const double* y, FlowWorkspace& ws);
  // The gates solved for the sliding entries at y; dy the right-hand side there. False where Newton
  // did not converge.
  bool solve_sliding(const double* y, double* dy, double& value, FlowWorkspace& ws);
  // da/dt at the given entries along dy (forward tangent pass over their sample columns only).
  void rates(const std::vector<std::size_t>& entries, const double* y, const double* dy, const FlowWorkspace& ws,
             double* out);
  double gate(signed char side) const { return side == kActive ? 1.0 : slope_; }
  // Where a sliding gate lies between the inactive side's (0: the slope) and the active side's (1): the
  // slope may exceed 1, so "inside" is 0 <= fraction <= 1, not slope <= lambda <= 1.
  double side_fraction(double lambda) const { return (lambda - slope_) / (1.0 - slope_); }
  // A sliding gate has crossed once this far (as a fraction of |1 - slope|) outside its range.
  static constexpr double kGateTolerance = 1e-9;
  // Entry k's distance to its switch given the pre-activations A (margin()'s terms): < 0 past it.
  // Inline: every evaluation compares every entry.
  double distance(std::size_t k, const double* A) const {
    if (side_[k] == kSliding) {
      const double f = side_fraction(lambda_[k]);
      return std::min(f, 1.0 - f) + kGateTolerance;
    }
    return side_[k] * A[k] + slack_[k];
  }
  // The pattern in force and the one before the last switch trade places (hold(), release(), a failed switch).
  void swap_previous();

  const Flow& flow_;
  bool active_ = false, started_ = false;
  double slope_ = 0.0;
  std::vector<double> slack_;       // how far past 0 each entry counts as crossed (rounding, drift while sliding)
  double rounding_ = 0.0;           // the least slack: rounding of the pre-activations' scale at start()
  detail::SlidingColumns columns_;  // the sliding gates' system, column by column
  std::vector<signed char> side_;
  std::vector<double> gates_;         // per entry: its forward gate (the last solved lambda where it slides)
  std::vector<double> lambda_;        // per entry: its backward gate (gates_ except where it slides)
  std::vector<std::size_t> sliding_;  // the sliding entries
  // The pattern before the last switch (swapped in between hold() and release()).
  std::vector<signed char> previous_side_;
  std::vector<double> previous_gates_, previous_lambda_;
  std::vector<std::size_t> previous_sliding_;
  bool held_ = false;
  std::vector<std::size_t> candidates_;              // entries off their side at the last holds()
  std::vector<std::size_t> crossed_;                 // the candidates past their switch at the last margin()
  std::vector<double> dy_;                           // a right-hand side at one state
  std::vector<double> base_rate_, jacobian_, step_;  // the sliding gates' Newton system
  std::vector<double> solved_;                       // the backward gates dy is for, during a solve
  DenseLU lu_;
  const double* evaluated_at_ = nullptr;  // the state of the last rhs(), which ws holds
  // The entries past their switch at an evaluation since watch_step() (each once: stage_marked_).
  std::vector<std::size_t> stage_crossed_;
  std::vector<char> stage_marked_;
  bool returned_ = false;
  std::int64_t nkink_ = 0, nslide_ = 0, evaluations_ = 0;
  std::string message_;
  // jacobian_gates()' solve: the state, the pattern's version then (count_change() counts start, switches
  // and swaps), the right-hand side and the gates there, the workspace with its evaluation, r_lambda's LU
  // and the derivatives of Z in each sliding gate (gate_column, one column_size() block per sliding entry).
  void count_change() { ++version_; }
  std::uint64_t version_ = 0, point_version_ = ~std::uint64_t{0};
  std::vector<double> point_y_, point_dy_, point_gates_, point_dz_, point_rate_;
  const FlowWorkspace* point_ws_ = nullptr;
  DenseLU point_lu_;
};

// What a System with an activation pattern (FlowSystem) hands the Solver: the pattern and the
// workspace the system evaluates with (null pattern: a smooth activation, nothing to switch).
struct PatternHandle {
  ActivationPattern* pattern = nullptr;
  FlowWorkspace* ws = nullptr;
};

}  // namespace overflow
