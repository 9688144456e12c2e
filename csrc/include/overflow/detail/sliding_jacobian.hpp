// The sliding entries' gate system of a relu-family network on data (activation_pattern.hpp), one sample column
// at a time instead of whole right-hand sides.
//
// Layers i = 0..N-1, hidden entries (i < N-1) stored layer by layer, entry k of layer i at row j, sample column c
// at layer_at[i] + j s + c. Under a frozen pattern the forward pass takes H_i = F_i * A_i (forward gates F), the
// backward pass Z_{N-1} = grad f(Yhat), Z_{i-1} = (W_i^T Z_i) * L_{i-1} (backward gates L), dW_i = -Z_i H_{i-1}^T,
// db_i = -Z_i 1. A sliding entry's forward gate is held fixed (its pre-activation is 0 to the kink tolerance, so
// F * A is negligible there), its backward gate lambda is the unknown: then lambda enters only the backward pass,
// at one entry, and changes only its sample column c of the Z below it, so dy moves by rank-one terms
// -dZ_i[:, c] [H_{i-1}[:, c]; 1]^T per layer. The rates r = da/dt (a forward tangent along dy in each entry's
// column) are linear in dy, hence multilinear in the lambdas, and
//   d r_k / d lambda_l = u_{i_k}[j_k],  u_i = -dZ_i[:, c_l] g_i(c_l, c_k) [i <= i_l] + W_i (F_{i-1}[:, c_k] * u_{i-1}),
// with dZ_{i_l}[:, c_l] = (W_{i_l+1}^T Z_{i_l+1}[:, c_l])[j_l] e_{j_l}, propagated down through W^T and L, and the
// Gram terms g_i(c, c') = H_{i-1}[:, c] . H_{i-1}[:, c'] + [bias]. Each pair of columns costs O(N k^2), against a
// whole right-hand side's O(N k^2 s).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "overflow/network.hpp"

namespace overflow::detail {

class SlidingColumns {
 public:
  explicit SlidingColumns(const Flow& flow);

  // da/dt at the given entries along dy (a forward tangent over their sample columns only), with the forward
  // gates F and ws.prefix (H = F * A) from an evaluation at y.
  void rates(const std::vector<std::size_t>& entries, const double* y, const double* dy, const double* F,
             const FlowWorkspace& ws, double* out);

  // dy, the right-hand side at y under the backward gates L except at the entries, whose gates were from[e]
  // (ws from that evaluation: its H and grad f), becomes the right-hand side under L: the backward pass of
  // the entries' sample columns again, whole gradients untouched elsewhere.
  void regate(const std::vector<std::size_t>& entries, const double* y, const double* L, const double* from,
              const FlowWorkspace& ws, double* dy);

  // jacobian[q p + i] = d r_i / d lambda_q (p = entries.size(), r the rates above, lambda the entries' backward
  // gates in L) at y, with ws from an evaluation at y. With `columns` (p column_size() blocks), each entry's
  // gate_column, which the Jacobian is made from, is kept there.
  void jacobian(const std::vector<std::size_t>& entries, const double* y, const double* F, const double* L,
                const FlowWorkspace& ws, double* jacobian, double* columns = nullptr);

  // The sliding gates' share of the Jacobian (activation_pattern.hpp's add_sliding_jvp): the gates solve
  // r(y, lambda) = 0, so along v they move by -r_lambda^{-1} r_y v, with
  //   r_y v = d^2 a [v, dy] + da . (J v)  (J v the product under the gates held, dy the right-hand side).
  // out[e] = r_y v at each entry: a forward pass over its sample column carrying the tangents along v, dy and
  // J v and the mixed second one along v and dy (a is multilinear in the layers under the gates F).
  void rate_jvp(const std::vector<std::size_t>& entries, const double* y, const double* v, const double* dy,
                const double* jv, const double* F, const FlowWorkspace& ws, double* out);

  // dz (column_size()) = d Z[:, c] / d lambda at a sliding entry of sample column c, layer by layer (0 above
  // its layer), under the backward gates L: d dy / d lambda = -sum_i dz_i [H_{i-1}[:, c]; 1]^T (add_outer).
  void gate_column(std::size_t entry, const double* y, const double* L, const FlowWorkspace& ws, double* dz);
  // dy += scale sum_i dz_i [H_{i-1}[:, c]; 1]^T over the layers, dz stacked as gate_column's.
  void add_outer(std::int64_t c, const double* dz, double scale, const FlowWorkspace& ws, double* dy) const;
  std::size_t column_size() const { return z_at_.back(); }
  // The hidden pre-activation entries, every layer's rows x samples (the activation pattern's size).
  std::size_t hidden_entries() const { return layer_at_.back(); }

  int layer(std::size_t k) const;
  std::int64_t row(std::size_t k) const;
  std::int64_t column(std::size_t k) const { return static_cast<std::int64_t>(k % static_cast<std::size_t>(s_)); }

 private:
  // Z_i[:, c] for every layer i (at z_at_[i]) under backward gates L, except that the entries in column c take
  // the gates `from` (one per entry) where that is not null.
  void backward_column(std::int64_t c, const double* y, const double* L, const FlowWorkspace& ws, double* Z,
                       const std::vector<std::size_t>& entries = {}, const double* from = nullptr);
  // Z_{i-1}[:, c] = (W_i^T Z_i[:, c]) * L_{i-1}[:, c] in a stacked column (raw_: before the gates).
  void propagate(int i, std::int64_t c, const double* y, const double* L, double* Z);
  // g_i(c, c') = H_{i-1}[:, c] . H_{i-1}[:, c'] (+ 1 with biases); H_{-1} = X (the identity input: e_c . e_c').
  double gram(int i, std::int64_t c, std::int64_t c2, const FlowWorkspace& ws) const;
  // The highest layer of the entries in sample column c (a forward pass over c stops there).
  int top_layer(const std::vector<std::size_t>& entries, std::int64_t c) const;
  // The distinct sample columns of the entries, ascending.
  const std::vector<std::int64_t>& columns_of(const std::vector<std::size_t>& entries);

  const Flow& flow_;
  std::vector<std::size_t> layer_at_;  // where each hidden layer's entries start (and the total at the end)
  std::int64_t s_ = 0;
  std::vector<std::size_t> z_at_;  // where layer i's column starts in a stacked column of Z (size: the total)
  // The column's value of layer i's input at sample c (X, the identity input's e_c, or H_{i-1} = ws.prefix).
  double input(int i, std::int64_t q, std::int64_t c, const FlowWorkspace& ws) const;
  std::vector<double> z_from_, z_to_, dz_, u_, u_prev_, raw_;
  std::vector<double> tangents_, tangents_prev_;  // rate_jvp's four tangents per row, interleaved
  std::vector<std::int64_t> columns_, targets_;
};

}  // namespace overflow::detail
