#include "overflow/detail/activation_pattern.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace overflow {

namespace {

// Newton on the sliding gates stops once every rate da/dt is this small against the change the
// gates can make (their Jacobian's columns over the gate range), or after kNewtonSteps.
constexpr double kRateTolerance = 1e-10;
constexpr int kNewtonSteps = 8;
// An entry has crossed once it is this far (times 1 + the largest |pre-activation| at the start) on
// its other side (a sliding gate: activation_pattern.hpp's kGateTolerance): an entry just switched,
// at 0 to rounding, is not taken to cross back at once.
constexpr double kRoundingTolerance = 1e-12;
// A switch settles which crossed entries slide in at most this many rounds (each a gate solve): gates
// pushed out of their range leave one per round.
constexpr int kSettleRounds = 2 * static_cast<int>(ActivationPattern::kMaxSliding) + 8;

}  // namespace

ActivationPattern::ActivationPattern(const Flow& flow) : flow_(flow), columns_(flow) {
  slope_ = flow.activation() == Activation::relu ? 0.0 : flow.leaky_slope();
  // A leaky slope of 1 is the identity: no kinks.
  active_ = flow.activation() == Activation::relu || (flow.activation() == Activation::leaky_relu && slope_ != 1.0);
  if (!active_) return;
  const std::size_t hidden = columns_.hidden_entries();
  side_.assign(hidden, kActive);
  gates_.assign(hidden, 1.0);
  stage_marked_.assign(hidden, 0);
  dy_.resize(flow.dim());
  lambda_ = gates_;
}

std::vector<double> ActivationPattern::sliding_gates() const {
  std::vector<double> out;
  for (std::size_t k : sliding_) out.push_back(lambda_[k]);
  return out;
}

void ActivationPattern::forward(const double* y, FlowWorkspace& ws) {
  ws.gates = gates_.data();
  flow_.value(y, ws);
  evaluated_at_ = nullptr;  // ws no longer holds a whole rhs() (its backward pass)
}

void ActivationPattern::start(const double* y, FlowWorkspace& ws) {
  if (!active_) return;
  started_ = true;
  held_ = false;
  count_change();
  nkink_ = nslide_ = evaluations_ = 0;
  sliding_.clear();
  candidates_.clear();
  crossed_.clear();
  message_.clear();
  watch_step();
  ws.gates = nullptr;  // the activation itself: each entry's side from its sign
  flow_.value(y, ws);
  const double* A = ws.pre_act.data();
  double largest = 0.0;
  for (std::size_t k = 0; k < side_.size(); ++k) largest = std::max(largest, std::fabs(A[k]));
  rounding_ = kRoundingTolerance * (1.0 + largest);
  slack_.assign(side_.size(), rounding_);
  std::vector<std::size_t> zero;
  for (std::size_t k = 0; k < side_.size(); ++k) {
    side_[k] = A[k] > 0.0 ? kActive : kInactive;
    gates_[k] = gate(side_[k]);
    if (A[k] == 0.0) zero.push_back(k);
  }
  lambda_ = gates_;
  ++evaluations_;
  // An entry at exactly 0 starts inactive (sigma'(0) = slope); where the flow moves it up at once, it
  // is switched as a crossing (and may slide).
  if (!zero.empty()) {
    ws.gates = gates_.data();
    flow_.rhs(y, dy_.data(), ws);
    ++evaluations_;
    std::vector<double> r(zero.size());
    rates(zero, y, dy_.data(), ws, r.data());
    for (std::size_t q = 0; q < zero.size(); ++q)
      if (r[q] > 0.0) crossed_.push_back(zero[q]);
    double value;
    if (!crossed_.empty() && switch_at(y, ws, dy_.data(), value)) nkink_ = 0;
  }
  ws.gates = gates_.data();
  evaluated_at_ = nullptr;
}

double ActivationPattern::rhs(const double* y, double* dy, FlowWorkspace& ws, bool watch) {
  if (!started_) {
    ws.gates = nullptr;
    return flow_.rhs(y, dy, ws);
  }
  ws.gates = gates_.data();
  double value;
  if (sliding_.empty() || !solve_sliding(y, dy, value, ws)) value = flow_.rhs(y, dy, ws);
  evaluated_at_ = y;
  if (watch) {  // the forward pass's pre-activations are there already: one comparison per entry
    const double* A = ws.pre_act.data();
    auto mark = [&](std::size_t k) {
      if (distance(k, A) < 0.0 && !stage_marked_[k]) {
        stage_marked_[k] = 1;
        stage_crossed_.push_back(k);
      }
    };
    // Blocks of entries compared branch-free (vectorised), a block rescanned only where one has crossed. A
    // sliding entry (side 0, slack > 0) never counts here: its gate is checked after.
    constexpr std::size_t kBlock = 64;
    const std::size_t n = side_.size();
    for (std::size_t b = 0; b < n; b += kBlock) {
      const std::size_t e = std::min(n, b + kBlock);
      std::int64_t crossed = 0;
      for (std::size_t k = b; k < e; ++k) crossed += side_[k] * A[k] + slack_[k] < 0.0 ? 1 : 0;
      if (crossed > 0)
        for (std::size_t k = b; k < e; ++k) mark(k);
    }
    for (std::size_t k : sliding_) mark(k);
  }
  return value;
}

void ActivationPattern::watch_step() {
  for (std::size_t k : stage_crossed_) stage_marked_[k] = 0;
  stage_crossed_.clear();
  returned_ = false;
}

bool ActivationPattern::solve_sliding(const double* y, double* dy, double& value, FlowWorkspace& ws) {
  const std::size_t p = sliding_.size();
  step_.resize(p);
  base_rate_.resize(p);
  jacobian_.resize(p * p);
  solved_.resize(p);
  // One whole evaluation with both gates of the sliding entries at the lambdas of the last solve (the first
  // guess); the Newton iterations then move only their backward gates and sample columns (sliding_jacobian.hpp),
  // with the exact Jacobian. The forward gates stay at the last lambdas: h = lambda a on a sliding entry is what
  // conserves the per-neuron invariants (lambda a (W^T Z) on both sides of their derivative), here up to the
  // change of lambda since the last solve times a, which is 0 to the kink tolerance.
  const double span = std::fabs(1.0 - slope_);
  for (std::size_t q = 0; q < p; ++q) {
    const std::size_t k = sliding_[q];
    lambda_[k] = std::clamp(lambda_[k], std::min(slope_, 1.0), std::max(slope_, 1.0));
    solved_[q] = gates_[k] = lambda_[k];  // the backward gates dy is for
  }
  value = flow_.rhs(y, dy, ws);
  if (!std::isfinite(value)) return true;  // outside the cost's domain: the step is shrunk
  double scale = 0.0;
  for (int it = 0; it < kNewtonSteps; ++it) {
    columns_.regate(sliding_, y, lambda_.data(), solved_.data(), ws, dy);
    for (std::size_t q = 0; q < p; ++q) solved_[q] = lambda_[sliding_[q]];
    columns_.rates(sliding_, y, dy, gates_.data(), ws, base_rate_.data());
    double worst = 0.0;
    for (double r : base_rate_) worst = std::max(worst, std::fabs(r));
    if (it > 0 && worst <= kRateTolerance * scale) return true;
    columns_.jacobian(sliding_, y, gates_.data(), lambda_.data(), ws, jacobian_.data());
    scale = 0.0;
    for (double d : jacobian_) scale = std::max(scale, std::fabs(d) * span);
    if (worst <= kRateTolerance * scale) return true;
    lu_.compute(jacobian_.data(), p);
    for (std::size_t i = 0; i < p; ++i) step_[i] = -base_rate_[i];
    lu_.solve(step_.data());
    for (double d : step_)
      if (!std::isfinite(d)) return false;  // a singular system: the gates are not determined
    for (std::size_t q = 0; q < p; ++q) lambda_[sliding_[q]] += step_[q];
  }
  columns_.regate(sliding_, y, lambda_.data(), solved_.data(), ws, dy);
  return true;
}

void ActivationPattern::rates(const std::vector<std::size_t>& entries, const double* y, const double* dy,
                              const FlowWorkspace& ws, double* out) {
  columns_.rates(entries, y, dy, gates_.data(), ws, out);
}

bool ActivationPattern::holds(const double* y, FlowWorkspace& ws, bool evaluated) {
  if (!(evaluated && evaluated_at_ == y)) {
    if (sliding_.empty()) {
      forward(y, ws);
    } else {
      rhs(y, dy_.data(), ws, false);
      ++evaluations_;
    }
  }
  candidates_.clear();
  const double* A = ws.pre_act.data();
  for (std::size_t k = 0; k < side_.size(); ++k) {
    if (distance(k, A) < 0.0) candidates_.push_back(k);
  }
  const bool ends_held = candidates_.empty();
  returned_ = false;
  for (std::size_t k : stage_crossed_)
    if (!(distance(k, A) < 0.0)) {
      candidates_.push_back(k);
      returned_ = true;
    }
  return ends_held;
}

double ActivationPattern::margin(const double* y, FlowWorkspace& ws) {
  bool gates_needed = false;
  for (std::size_t k : candidates_) gates_needed = gates_needed || side_[k] == kSliding;
  if (gates_needed) {
    rhs(y, dy_.data(), ws, false);
  } else {
    forward(y, ws);
  }
  ++evaluations_;
  const double* A = ws.pre_act.data();
  double least = std::numeric_limits<double>::infinity();
  crossed_.clear();
  for (std::size_t k : candidates_) {
    const double m = distance(k, A);
    if (m <= 0.0) crossed_.push_back(k);
    least = std::min(least, m);
  }
  return least;
}

bool ActivationPattern::switch_at(const double* y, FlowWorkspace& ws, double* dy, double& value) {
  held_ = false;
  previous_side_ = side_;
  previous_gates_ = gates_;
  previous_lambda_ = lambda_;
  previous_sliding_ = sliding_;
  std::vector<std::size_t> flipped;
  for (std::size_t k : crossed_) {
    if (side_[k] == kSliding) {  // its gate reached an end of its range: it leaves to that side
      side_[k] = side_fraction(lambda_[k]) >= 0.5 ? kActive : kInactive;
      sliding_.erase(std::find(sliding_.begin(), sliding_.end(), k));
    } else {
      side_[k] = side_[k] == kActive ? kInactive : kActive;
      flipped.push_back(k);
    }
    gates_[k] = lambda_[k] = gate(side_[k]);
  }
  std::int64_t began = 0;
  std::vector<double> r;
  bool settled = false;
  for (int round = 0; round < kSettleRounds && !settled; ++round) {
    value = evaluate(y, dy, ws);
    bool changed = false;
    // A sliding gate outside [slope, 1]: that entry is not held at 0, it takes the side the gate points to.
    // One at a time, the farthest out first (the others' gates move once it has left), and it stays a
    // candidate to slide again below (where the flow on that side pushes it back, it was not the one to go).
    std::size_t worst = sliding_.size();
    double farthest = 0.0;
    for (std::size_t q = 0; q < sliding_.size(); ++q) {
      const double fraction = side_fraction(lambda_[sliding_[q]]);
      const double out = std::max(-fraction, fraction - 1.0);
      if (out > farthest) farthest = out, worst = q;
    }
    if (worst < sliding_.size()) {
      const std::size_t k = sliding_[worst];
      side_[k] = side_fraction(lambda_[k]) > 1.0 ? kActive : kInactive;
      gates_[k] = lambda_[k] = gate(side_[k]);
      sliding_.erase(sliding_.begin() + static_cast<std::ptrdiff_t>(worst));
      if (std::find(flipped.begin(), flipped.end(), k) == flipped.end()) flipped.push_back(k);
      if (std::find(crossed_.begin(), crossed_.end(), k) == crossed_.end()) crossed_.push_back(k);
      continue;
    }
    // A flipped entry that the flow on its new side pushes back across 0 slides.
    std::vector<std::size_t> moving;
    for (std::size_t k : flipped)
      if (side_[k] != kSliding) moving.push_back(k);
    r.resize(moving.size());
    rates(moving, y, dy, ws, r.data());
    for (std::size_t q = 0; q < moving.size(); ++q) {
      const std::size_t k = moving[q];
      if (side_[k] * r[q] < 0.0) {
        side_[k] = kSliding;
        gates_[k] = lambda_[k] = slope_ + 0.5 * (1.0 - slope_);
        sliding_.push_back(k);
        ++began;
        changed = true;
      }
    }
    if (sliding_.size() > kMaxSliding) {
      message_ = "more than " + std::to_string(kMaxSliding) +
                 " pre-activations slide along their kinks at once (the activation pattern's limit)";
      swap_previous();
      return false;
    }
    settled = !changed;
  }
  if (!settled) value = evaluate(y, dy, ws);  // the last round changed the pattern: f under the final one
  // An entry switched here is at its kink to within |A| (a sliding entry drifts by rounding): it has
  // crossed back only once past that.
  for (std::size_t k : crossed_) slack_[k] = rounding_ + 2.0 * std::fabs(ws.pre_act[k]);
  ++nkink_;
  nslide_ += began;
  count_change();
  crossed_.clear();
  candidates_.clear();
  evaluated_at_ = nullptr;
  return true;
}

double ActivationPattern::evaluate(const double* y, double* dy, FlowWorkspace& ws) {
  ws.gates = gates_.data();
  double value;
  if (sliding_.empty() || !solve_sliding(y, dy, value, ws)) value = flow_.rhs(y, dy, ws);
  ++evaluations_;
  return value;
}

void ActivationPattern::swap_previous() {
  side_.swap(previous_side_);
  gates_.swap(previous_gates_);
  sliding_.swap(previous_sliding_);
  lambda_.swap(previous_lambda_);
  evaluated_at_ = nullptr;  // ws no longer holds an evaluation under the pattern in force
  count_change();
}

void ActivationPattern::hold() {
  if (held_) return;
  swap_previous();
  held_ = true;
}

void ActivationPattern::release() {
  if (!held_) return;
  swap_previous();
  held_ = false;
}

const double* ActivationPattern::jacobian_gates(const double* y, FlowWorkspace& ws) {
  if (sliding_.empty()) return backward_gates();
  const std::size_t n = flow_.dim(), p = sliding_.size();
  if (point_version_ == version_ && point_ws_ == &ws && std::memcmp(point_y_.data(), y, n * sizeof(double)) == 0)
    return point_gates_.data();
  // The solve moves the forward gates and lambdas of the sliding entries: put back after, so that the
  // step's own evaluations do not depend on where its Jacobian was taken.
  std::vector<double> forward(p), backward(p);
  for (std::size_t q = 0; q < p; ++q) {
    forward[q] = gates_[sliding_[q]];
    backward[q] = lambda_[sliding_[q]];
  }
  point_y_.assign(y, y + n);
  point_dy_.resize(n);
  double value;
  ws.gates = gates_.data();
  if (!solve_sliding(y, point_dy_.data(), value, ws)) flow_.rhs(y, point_dy_.data(), ws);
  ++evaluations_;
  point_gates_ = lambda_;
  for (std::size_t q = 0; q < p; ++q) {
    gates_[sliding_[q]] = forward[q];
    lambda_[sliding_[q]] = backward[q];
  }
  // r_lambda there (in the solve's scratch: the LU keeps its own copy), and the gate columns it is made from.
  jacobian_.resize(p * p);
  point_dz_.resize(p * columns_.column_size());
  columns_.jacobian(sliding_, y, point_gates_.data(), point_gates_.data(), ws, jacobian_.data(), point_dz_.data());
  point_lu_.compute(jacobian_.data(), p);
  point_ws_ = &ws;
  point_version_ = version_;
  return point_gates_.data();
}

void ActivationPattern::add_sliding_jvp(const double* v, double* jv) {
  const std::size_t p = sliding_.size();
  if (p == 0 || point_version_ != version_) return;
  point_rate_.resize(p);
  columns_.rate_jvp(sliding_, point_y_.data(), v, point_dy_.data(), jv, point_gates_.data(), *point_ws_,
                    point_rate_.data());
  point_lu_.solve(point_rate_.data());  // -w: the gates move by -r_lambda^{-1} r_y v
  for (double w : point_rate_)
    if (!std::isfinite(w)) return;  // r_lambda singular: the gates are not determined by y there
  const std::size_t size = columns_.column_size();
  // d dy / d lambda_q = -sum_i dz_i [H; 1]^T, times w_q = -point_rate_[q].
  for (std::size_t q = 0; q < p; ++q)
    columns_.add_outer(columns_.column(sliding_[q]), point_dz_.data() + q * size, point_rate_[q], *point_ws_, jv);
}

}  // namespace overflow
