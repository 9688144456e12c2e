// Low-rank stage derivatives. On a linear network the flow of an inner layer,
// dW_l = -Z_l Pre_l^T (Z_l: k_l x n, Pre_l: k_{l-1} x n), has rank <= n. A stage input
// W_l + h sum_j a_ij K_j then never needs forming: the RHS multiplies W_l and corrects the product
// through the factors (n x n Gram matrices), so the stepper's passes over the state (memory-bound on
// wide networks, 52 of DOP853's 63 vector passes per step) shrink to the layers kept in full.
#pragma once
#include <array>
#include <cstddef>
#include <utility>
#include <vector>

#include "overflow/detail/linear_combination.hpp"

namespace overflow {

// The factored part of one stage input: sum_j coef[j] K_j over earlier stages, each K_j given by the
// factors its evaluation saved.
struct StageTerms {
  int count = 0;
  std::array<double, detail::kMaxFusedTerms> coef{};
  std::array<const double*, detail::kMaxFusedTerms> factors{};
};

// size: doubles of one evaluation's factors (0: nothing factored); full: the ranges of the state
// (the other layers) whose stage inputs the stepper still forms.
struct FactorLayout {
  std::size_t size = 0;
  std::vector<std::pair<std::size_t, std::size_t>> full;
};

// A System with factored stages provides factor_layout() and eval_factored() (system.hpp): f at the
// state whose full layers are read from `stage` and whose factored layers are base + sum_j coef_j K_j;
// it writes dy in full and, when factors_out is not null, its own factors.

}  // namespace overflow
