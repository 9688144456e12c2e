// One engine for every explicit embedded Runge-Kutta tableau: stages, solution, error estimate.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

#include "overflow/detail/aligned_vector.hpp"
#include "overflow/detail/linear_combination.hpp"
#include "overflow/detail/stage_factors.hpp"
#include "overflow/detail/stage_schedule.hpp"
#include "overflow/detail/tolerance.hpp"
#include "overflow/system.hpp"
#include "overflow/tableau.hpp"
#include "overflow/thread_team.hpp"

namespace overflow {

struct StepAttempt {
  double error = 0.0;        // weighted RMS norm of the local error estimate; <= 1 accepts
  bool in_domain = true;     // false: some stage left the cost's domain
  double value_new = 0.0;    // the system's monitor (the loss) at y_new
  double max_abs_new = 0.0;  // max |y_new_i|
  double f_new_norm = 0.0;   // ||f(t + h, y_new)||_2 (||grad g|| for a gradient flow)
  int nfev = 0;
  int njvp = 0;  // Jacobian-vector products (implicit methods)
  int njev = 0;  // Jacobian evaluations (implicit methods: assembled, or the system's own)
  int nlu = 0;   // LU factorisations (implicit methods)
  // > 0: the attempt failed before its error could be estimated (radau5's Newton iteration did
  // not converge) and a step this many times smaller is expected to succeed.
  double retry_factor = 0.0;
  // radau5: its Newton iterations, and whether its Jacobian and factorisations will serve the next
  // step if h stays (the step-size controller reads both, controller.hpp).
  int newton_iterations = 0;
  bool reuses_matrix = false;
};

// A System provides: std::size_t dim(); double eval(double t, const double* y, double* dy), which
// returns a monitor value (the loss for a gradient flow) that is non-finite outside the domain; and
// optionally factor_layout() and eval_factored() (stage_factors.hpp), which large states then use.
class ExplicitRK {
 public:
  // Below this many entries the vector passes stay on one thread: a pass over 16,384 entries takes
  // a few microseconds, against about a microsecond to hand a job to the team and collect it.
  static constexpr std::size_t kTeamMinDim = 16384;

  // Stage inputs are factored (stage_factors.hpp) from this state size on (256 KB a vector), where
  // the passes over the state stream from L3. Measured on depth-6 factorizations, DOP853: width 64
  // (17,408 weights) 61 ms factored against 52 ms; width 96 (38,400) 122 against 132 ms; width 128
  // 191 against 206 ms; width 256 1.35 against 1.98 s.
  static constexpr std::size_t kFactorMinDim = 32768;
  // Below this size (all stages in L1) one pass per stage: the partial sums' extra stores cost
  // (a) 4% (384 weights); from 1,152 weights on the grouped passes were faster.
  static constexpr std::size_t kScheduleMinDim = 1024;

  // With a team (of more than one thread) and a large state, each vector pass is split across it.
  // A layout with factored layers (from a System with eval_factored) is used on large states.
  ExplicitRK(const Tableau& tab, std::size_t dim, ThreadTeam* team = nullptr, FactorLayout layout = {})
      : tab_(tab),
        dim_(dim),
        K_(static_cast<std::size_t>(tab.slots()) * padded_length(dim)),
        stage_y_(dim),
        team_(team && team->size() > 1 && dim >= kTeamMinDim ? team : nullptr),
        parts_(team_ ? static_cast<std::size_t>(team_->size()) : 1),
        layout_(layout.size > 0 && dim >= kFactorMinDim ? std::move(layout) : FactorLayout{}),
        // Factored, a stage combines only the small unfactored layers, by its plain row of a.
        schedule_(dim >= kScheduleMinDim && !factored() ? detail::StageSchedule::from_tableau(tab.a, tab.stages)
                                                        : detail::StageSchedule::one_pass_per_stage(tab.a, tab.stages)),
        partials_(static_cast<std::size_t>(schedule_.buffers) * padded_length(dim)) {
    if (tab.scheme != Scheme::explicit_rk) throw std::invalid_argument("ExplicitRK needs an explicit tableau");
    for (int i = 0; i < tab.slots(); ++i)
      slots_.push_back(K_.data() + static_cast<std::size_t>(i) * padded_length(dim));
    const int s = tab.stages;
    if (factored()) {
      const std::size_t stride = padded_length(layout_.size);
      factors_.assign(static_cast<std::size_t>(s + 1) * stride, 0.0);
      for (int i = 0; i <= s; ++i) factor_slots_.push_back(factors_.data() + static_cast<std::size_t>(i) * stride);
    }
    b_ = detail::Terms::from_row(tab.b.data(), s);
    // An estimate without f(y_new) (DOP853's) is computed in the pass that writes y_new, over the
    // slots where b, e or e_low is nonzero; otherwise the error pass runs after f(y_new) over the
    // slots where e or e_low is nonzero. The weights other than e are read per slot.
    const ExplicitCoefficients& x = tab.explicit_rk;
    const bool low_uses_f_new = !x.e_low.empty() && x.e_low[s] != 0.0;
    fused_ = tab.e[s] == 0.0 && !low_uses_f_new;
    std::vector<double> either(tab.e);
    for (std::size_t j = 0; j < x.e_low.size(); ++j)
      if (either[j] == 0.0 && x.e_low[j] != 0.0) either[j] = 1.0;
    if (fused_)
      for (int j = 0; j < s; ++j)
        if (either[j] == 0.0 && tab.b[j] != 0.0) either[j] = 1.0;
    e_ = detail::Terms::from_row(either.data(), s + 1);
    for (int j = 0; j < e_.size(); ++j) e_.coef[j] = tab.e[e_.slot[j]];
    const int width = s + 1 + x.extra_stages;
    for (int i = 0; i < x.extra_stages; ++i)
      extra_rows_.push_back(detail::Terms::from_row(&x.extra_a[i * width], s + 1 + i));
    if (const int p = x.stiffness_stage; p >= 1) {
      std::vector<double> w(tab.b.begin(), tab.b.begin() + s);
      for (int j = 0; j < p; ++j) w[j] -= tab.a[p * s + j];
      stiffness_terms_ = detail::Terms::from_row(w.data(), s);
    }
  }

  const Tableau& tableau() const { return tab_; }
  std::size_t dim() const { return dim_; }
  double* slot(int i) { return slots_[i]; }
  const double* slot(int i) const { return slots_[i]; }
  const double* const* slots() const { return slots_.data(); }

  // One step of size h from (t, y). Slot 0 must hold f(t, y). Writes y_new and, on success,
  // slot `stages` = f(t + h, y_new).
  template <class System>
  StepAttempt attempt(System& sys, double t, const double* y, double h, const Tolerance& tol, double* y_new) {
    StepAttempt out;
    const int s = tab_.stages;
    for (int i = 1; i < s; ++i) {
      const double v = eval_stage(sys, t + tab_.c[i] * h, y, h, i);
      ++out.nfev;
      if (!std::isfinite(v)) {
        out.in_domain = false;
        return out;
      }
    }
    const double* low = tab_.explicit_rk.e_low.empty() ? nullptr : tab_.explicit_rk.e_low.data();
    if (fused_) {
      const detail::ErrorPass pass = error_pass(y, y_new, h, low, tab_.b.data(), nullptr, tol);
      out.max_abs_new = pass.max_abs_new;
      out.error = error_norm(pass);
      if (!(out.error <= 1.0)) return out;  // rejected: f(y_new) is not needed
    } else {
      combine(y_new, y, h, b_);
    }
    out.value_new = eval_f_new(sys, t + h, y_new);
    ++out.nfev;
    if (!std::isfinite(out.value_new)) {
      out.in_domain = false;
      return out;
    }
    if (fused_) {
      const double* f_new = slot(s);
      over_state([&](std::size_t begin, std::size_t end, int rank) {
        parts_[rank].f_new_sq = detail::sum_squares(f_new + begin, end - begin);
      });
      double sq = 0.0;
      for (const auto& part : parts_) sq += part.f_new_sq;
      out.f_new_norm = std::sqrt(sq);
    } else {
      const detail::ErrorPass pass = error_pass(y, y_new, h, low, nullptr, slot(s), tol);
      out.max_abs_new = pass.max_abs_new;
      out.f_new_norm = std::sqrt(pass.f_new_sq);
      out.error = error_norm(pass);
    }
    return out;
  }

  // Evaluates the extra stages some interpolants need (DOP853) for the step just attempted.
  // Returns the number of evaluations made; `in_domain` is false if a stage left the domain.
  template <class System>
  int prepare_dense(System& sys, double t, const double* y, double h, bool& in_domain) {
    const int first = tab_.stages + 1;
    in_domain = true;
    for (int i = 0; i < tab_.explicit_rk.extra_stages; ++i) {
      combine(stage_y_.data(), y, h, extra_rows_[i]);
      if (!std::isfinite(sys.eval(t + tab_.explicit_rk.extra_c[i] * h, stage_y_.data(), slot(first + i)))) {
        in_domain = false;
        return i + 1;
      }
    }
    return tab_.explicit_rk.extra_stages;
  }

  // The step's end becomes the next step's start: f(t + h, y_new) becomes slot 0 (a pointer swap,
  // not a copy of the state).
  void accept() {
    std::swap(slots_[0], slots_[tab_.stages]);
    if (factored()) std::swap(factor_slots_[0], factor_slots_[tab_.stages]);
  }

  // f(t, y) into slot 0 (the start of a run) or slot `stages` (y_new, e.g. after a projection), with
  // the factors the next stages use.
  template <class System>
  double eval_f0(System& sys, double t, const double* y) {
    return eval_full(sys, t, y, 0);
  }
  template <class System>
  double eval_f_new(System& sys, double t, const double* y_new) {
    return eval_full(sys, t, y_new, tab_.stages);
  }
  bool factored() const { return layout_.size > 0; }

  // Hairer's estimate of the Jacobian's spectral radius from the step just accepted (before
  // accept()): stage p (c_p = 1, ExplicitCoefficients::stiffness_stage) and f(y_new) are f at two points
  // h sum_j (b_j - a_pj) K_j apart at the same time, so rho ~ ||f_new - K_p|| / ||that||.
  // NaN where the tableau has no such stage or the two points coincide.
  double spectral_radius_estimate(double h) {
    if (tab_.explicit_rk.stiffness_stage < 1) return std::numeric_limits<double>::quiet_NaN();
    // The difference into stage_y_ (free between steps), the stages read in one fused pass.
    double* d = stage_y_.data();
    std::fill(d, d + dim_, 0.0);
    detail::combine(d, d, 1.0, stiffness_terms_, slots_.data(), 0, dim_);
    const double* kp = slot(tab_.explicit_rk.stiffness_stage);
    const double* f_new = slot(tab_.stages);
    double num = 0.0;
    for (std::size_t i = 0; i < dim_; ++i) num += (f_new[i] - kp[i]) * (f_new[i] - kp[i]);
    const double den = detail::sum_squares(d, dim_);
    return den > 0.0 ? std::sqrt(num / den) / std::fabs(h) : std::numeric_limits<double>::quiet_NaN();
  }

  // The stepper interface Solver uses (shared with GaussLegendre).
  int control_order() const { return tab_.control_order; }
  bool dense_needs_stages() const { return tab_.explicit_rk.extra_stages > 0; }
  double* f0() { return slot(0); }
  const double* f0() const { return slot(0); }
  const double* f_new() const { return slot(tab_.stages); }
  double* f_new() { return slot(tab_.stages); }

 private:
  // Runs pass(begin, end, rank) over the whole state: on this thread, or split across the team.
  template <class Pass>
  void over_state(Pass&& pass) {
    over_range(0, dim_, pass);
  }
  template <class Pass>
  void over_range(std::size_t first, std::size_t last, Pass&& pass) {
    if (!team_ || last - first < kTeamMinDim) {
      pass(first, last, 0);
      return;
    }
    team_->run([&](int rank) {
      const auto [begin, end] = team_share(last - first, rank, team_->size(), kCacheLine / sizeof(double));
      pass(first + begin, first + end, rank);
    });
  }

  template <class System>
  double eval_full(System& sys, double t, const double* y, int i) {
    if constexpr (HasStageFactors<System>::value) {
      if (factored()) return sys.eval_factored(t, y, y, StageTerms{}, slot(i), factor_slot(i));
    }
    return sys.eval(t, y, slot(i));
  }

  // f at the input of stage i into slot i. Factored: only the unfactored layers are formed (row i of
  // a over the full slots), the rest is y plus the terms through the stages' factors.
  template <class System>
  double eval_stage(System& sys, double t, const double* y, double h, int i) {
    if constexpr (HasStageFactors<System>::value) {
      if (factored()) {
        const detail::Terms& row = schedule_.passes[static_cast<std::size_t>(i)].terms;
        for (const auto& [begin, end] : layout_.full)
          over_range(begin, end, [&](std::size_t b, std::size_t e, int) {
            detail::combine(stage_y_.data(), y, h, row, slots_.data(), b, e);
          });
        StageTerms terms;
        terms.count = row.count;
        for (int j = 0; j < row.count; ++j) {
          const auto q = static_cast<std::size_t>(j);
          terms.coef[q] = h * row.coef[q];
          terms.factors[q] = factor_slot(row.slot[q]);
        }
        return sys.eval_factored(t, stage_y_.data(), y, terms, slot(i), factor_slot(i));
      }
    }
    return sys.eval(t, stage_input(i, y, h), slot(i));
  }

  double* factor_slot(int i) { return factor_slots_[static_cast<std::size_t>(i)]; }

  double* partial(int buffer) { return partials_.data() + static_cast<std::size_t>(buffer) * padded_length(dim_); }

  // Forms the input of stage i by its pass of the schedule and returns where it is: stage_y_, or
  // the stage's partial sum completed in place. The first stage of a group also writes its group's
  // partial sums, chunk by chunk so that y and the stages come from L3 once and from L1 after.
  const double* stage_input(int i, const double* y, double h) {
    const detail::StagePass& pass = schedule_.passes[i];
    if (pass.partial >= 0) {
      double* input = partial(pass.partial);
      combine(input, input, h, pass.terms);
      return input;
    }
    if (pass.partials.empty()) {
      combine(stage_y_.data(), y, h, pass.terms);
      return stage_y_.data();
    }
    constexpr std::size_t kChunk = 512;  // 4 KB of each vector: DOP853's widest pass (11 vectors) fits L1
    over_state([&](std::size_t begin, std::size_t end, int) {
      for (std::size_t lo = begin; lo < end; lo += kChunk) {
        const std::size_t hi = lo + kChunk < end ? lo + kChunk : end;
        detail::combine(stage_y_.data(), y, h, pass.terms, slots_.data(), lo, hi);
        for (const auto& [buffer, terms] : pass.partials)
          detail::combine(partial(buffer), y, h, terms, slots_.data(), lo, hi);
      }
    });
    return stage_y_.data();
  }

  void combine(double* out, const double* y, double h, const detail::Terms& terms) {
    over_state(
        [&](std::size_t begin, std::size_t end, int) { detail::combine(out, y, h, terms, slots_.data(), begin, end); });
  }

  detail::ErrorPass error_pass(const double* y, double* y_new, double h, const double* low, const double* solution,
                               const double* f_new, const Tolerance& tol) {
    over_state([&](std::size_t begin, std::size_t end, int rank) {
      parts_[rank] = detail::error_pass(y, y_new, h, e_, low, solution, slots_.data(), f_new, begin, end, tol);
    });
    detail::ErrorPass total = parts_[0];
    for (std::size_t r = 1; r < parts_.size(); ++r) total.merge(parts_[r]);
    return total;
  }

  double error_norm(const detail::ErrorPass& pass) const {
    const double n = static_cast<double>(dim_);
    if (tab_.explicit_rk.e_low.empty()) return std::sqrt(pass.error_sum / n);
    // DOP853 blends its 5th- and 3rd-order estimates (Hairer's dop853.f):
    // err5^2 / sqrt(err5^2 + 0.01 err3^2).
    const double e2 = pass.error_sum, e3 = pass.error_sum_low;
    return (e2 == 0.0 && e3 == 0.0) ? 0.0 : e2 / std::sqrt((e2 + 0.01 * e3) * n);
  }

  const Tableau& tab_;
  std::size_t dim_;
  AlignedVector K_;  // the slots, each starting on a cache line
  std::vector<double*> slots_;
  AlignedVector stage_y_;
  std::vector<detail::Terms> extra_rows_;
  detail::Terms b_, e_;
  detail::Terms stiffness_terms_;  // b - (row p of a): y_new minus stage p's input, over h
  bool fused_ = false;             // the error estimate does not use f(y_new): one pass writes y_new and the error
  ThreadTeam* team_;               // null: every pass on the calling thread
  std::vector<detail::ErrorPass> parts_;  // one per rank of the team
  FactorLayout layout_;                   // size 0: stage inputs formed in full
  detail::StageSchedule schedule_;        // how the stage inputs are formed
  AlignedVector partials_;                // the schedule's partial sums, one buffer each
  AlignedVector factors_;                 // the factors of slots 0..stages
  std::vector<double*> factor_slots_;     // swapped with the slots on accept
};

}  // namespace overflow
