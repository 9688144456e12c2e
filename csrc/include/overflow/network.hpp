// Shapes and state layout of a deep linear network, and the gradient flow's right-hand side (eq. 4).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "overflow/cost.hpp"
#include "overflow/detail/aligned_vector.hpp"
#include "overflow/detail/stage_factors.hpp"

namespace overflow {

class ThreadTeam;

// dims = {n, k_1, ..., k_{N-1}, m}: layer i (0-based) is W_{i+1}, of shape dims[i+1] x dims[i].
// The state is W_1, ..., W_N, each row-major, concatenated. With a bias each layer is stored as
// [W_{i+1} | b_{i+1}], dims[i+1] x (dims[i] + 1) row-major: the bias is the last column.
class Network {
 public:
  // Throws std::invalid_argument for a dimension < 1, for sizes that overflow, and for a state and
  // right-hand side workspace larger than the machine's physical memory (sizes.hpp).
  explicit Network(std::vector<std::int64_t> dims, bool bias = false);

  int depth() const { return static_cast<int>(dims_.size()) - 1; }
  bool bias() const { return bias_; }
  std::int64_t rows(int layer) const { return dims_[layer + 1]; }
  std::int64_t cols(int layer) const { return dims_[layer]; }  // the weights' columns (without the bias)
  std::int64_t stride(int layer) const { return dims_[layer] + (bias_ ? 1 : 0); }  // a stored row's length
  std::size_t offset(int layer) const { return offsets_[layer]; }
  std::size_t state_size() const { return offsets_.back(); }
  std::int64_t m() const { return dims_.back(); }
  std::int64_t n() const { return dims_.front(); }
  std::int64_t max_dim() const { return max_dim_; }
  const std::vector<std::int64_t>& dims() const { return dims_; }

 private:
  std::vector<std::int64_t> dims_;
  bool bias_ = false;
  std::vector<std::size_t> offsets_;
  std::int64_t max_dim_ = 0;
};

// The data a network is evaluated on (networks on data): X, n x samples row-major (n = dims[0]),
// owned by the caller like the cost's data and alive as long as the Flow. X null: the identity
// input (X = I_n, samples = n), the linear network and section 4's activated one.
struct Inputs {
  const double* X = nullptr;
  std::int64_t samples = 0;
  bool bias = false;  // must equal the Network's
};

class Flow;

// One evaluation at a factored stage input (Flow::rhs_factored): the factored layers are
// base + sum_j terms.coef[j] K_j; the evaluation's own factors go to factors_out (null: not kept).
struct StageCorrection {
  const double* base = nullptr;
  const StageTerms* terms = nullptr;
  double* factors_out = nullptr;
};

// Per-thread scratch for one right-hand side: prefixes W_i...W_1 (or suffixes W_N...W_i), the
// propagated gradients, a transposed prefix and grad f(P). Allocated once.
struct FlowWorkspace {
  // For a flow on the identity input.
  explicit FlowWorkspace(const Network& net, ThreadTeam* team = nullptr);
  // For any flow (on data: buffers of samples columns, O(sum_i k_i samples)).
  explicit FlowWorkspace(const Flow& flow, ThreadTeam* team = nullptr);
  std::int64_t samples = 0;  // the data columns it was sized for (0: the identity input)
  AlignedVector prefix;      // Pre_2 .. Pre_N (Pre_1 = W_1 is read in place), or the suffixes
  AlignedVector prefix_t;    // the transposed prefixes Pre_1^T .. Pre_{N-1}^T, n x k_i each
  AlignedVector grad;        // m x n
  AlignedVector z0, z1;      // k x max(m, n) each
  AlignedVector pre_act;     // activated networks and data (data_sweep.cpp): every hidden A_i (H_i = sigma
                             // of it in `prefix`)
  // Not null (relu-family networks under a frozen activation pattern, activation_pattern.hpp): one gate
  // per entry of pre_act, and the data sweep takes H_i = gates * A_i and sigma'(A_i) = gates instead of sigma.
  const double* gates = nullptr;
  // The products of one evaluation are split across this team (not owned; null or a team of one: all on
  // the calling thread).
  ThreadTeam* team = nullptr;
  std::vector<const double*> transposed_at;     // per layer: where its transposed prefix is
  const StageCorrection* correction = nullptr;  // set for one evaluation by Flow::rhs_factored
  AlignedVector grams;                          // a stage correction's n x n matrices, one per term
  AlignedVector correction_scratch;             // n x k: the input layer's correction before it is transposed
};

// Scratch for Flow::jvp: the prefixes and their derivatives along v, and the propagated gradient
// and its derivative (two of each, swapped layer by layer). Allocated once.
struct JvpWorkspace {
  explicit JvpWorkspace(const Network& net, ThreadTeam* team = nullptr);
  std::vector<double> prefix, dprefix, dgrad, dnext;
  std::vector<const double*> at, dat;  // per layer: where its prefix and its derivative are
  // What depends on the state alone (the prefixes, every layer's back-propagated gradient B and
  // g), kept for the state in `point`: the products of one step all share it.
  std::vector<double> point, back;
  std::vector<std::size_t> back_at;  // per layer l: where B_{l+1} (rows(l) x n) is in back
  double value = 0.0;
  bool has_point = false;
  // Networks on data and activated ones (data_jvp.cpp): the state's forward and backward passes and
  // the tangents, O(sum_i k_i samples); sized at the first product.
  AlignedVector sweep;
  // The data sweep's products (data_jvp.cpp) are split across this team (not owned; null or a team of one:
  // all on the calling thread), the same bits for any size.
  ThreadTeam* team = nullptr;
  // Relu-family networks stepping under an activation pattern (activation_pattern.hpp): its gates, one per
  // hidden entry, for sigma' (and sigma(a) = gate a), as the right-hand side takes them; null: from the
  // sign of each pre-activation. point_gates: the gates the kept point was made with.
  const double* gates = nullptr;
  std::vector<double> point_gates;
};

// The gradient flow dW_i/dt = -(W_N...W_{i+1})^T grad f(P) (W_{i-1}...W_1)^T of g = f(W_N...W_1).
// One evaluation costs O(N k^2 min(m, n) + k m n): for m >= n, prefixes W_i...W_1 once, then one
// backward sweep; for m < n (regression onto few outputs) the mirror image, suffixes W_N...W_i
// then one forward sweep (row_sweep.cpp). The products are specialised at compile time for the
// small dimension, where run-time loops are 3-9x slower. Activated networks and networks on data
// take the data sweep instead (data_sweep.cpp: GEMMs, O(N k^2 s) for s samples).
// Elementwise activation between layers; the output layer is linear. none: the identity (the linear
// network of eq. 4 on the identity input); isru x / sqrt(1 + x^2) (section 4); tanh; relu max(x, 0)
// with sigma'(0) = 0; leaky_relu x for x > 0 else slope x (sigma'(0) = slope); sigmoid 1 / (1 + e^-x);
// softplus log(1 + e^x); gelu x Phi(x), Phi the standard normal distribution function.
enum class Activation { none, isru, tanh, relu, leaky_relu, sigmoid, softplus, gelu };

class Flow {
 public:
  // Throws std::invalid_argument on a shape mismatch (the cost is m x samples on data, m x n
  // otherwise), a bias without data, a non-finite leaky slope (or a negative one for leaky_relu), or
  // a data workspace larger than the machine's memory. On data: Yhat = W_N sigma(W_{N-1} ... sigma(W_1 X + b_1 1^T)
  // ...) + b_N 1^T. Without: P = W_N sigma(W_{N-1} ... sigma(W_1)), the identity input.
  Flow(const Network& net, const Cost& cost, Activation activation = Activation::none, const Inputs& inputs = {},
       double leaky_slope = 0.01);

  const Network& network() const { return net_; }
  const Cost& cost() const { return cost_; }
  Activation activation() const { return activation_; }
  const Inputs& inputs() const { return inputs_; }
  bool on_data() const { return inputs_.X != nullptr; }
  double leaky_slope() const { return leaky_slope_; }
  // The columns of the network's output: samples on data, n on the identity input.
  std::int64_t columns() const { return on_data() ? inputs_.samples : net_.n(); }
  std::size_t dim() const { return net_.state_size(); }

  // dy = -grad g(y); returns g(y) = f(P). A non-finite return means P left the cost's domain
  // (dy is then unspecified).
  double rhs(const double* y, double* dy, FlowWorkspace& ws) const;
  // g(y) alone (the forward pass and one cost call).
  double value(const double* y, FlowWorkspace& ws) const;
  // Writes P = W_N...W_1 (m x n; on data Yhat, m x samples) into out.
  void product(const double* y, double* out, FlowWorkspace& ws) const;
  // out = J(y) v, J the Jacobian of y -> -grad g(y), exact through the cost's hvp; returns g(y).
  // Linear networks by their products (flow_jvp.cpp), activated ones and networks on data by
  // forward-over-reverse through the data sweep (data_jvp.cpp; for relu and leaky relu the
  // Jacobian off the kinks, sigma'' = 0). Throws std::invalid_argument without an hvp.
  double jvp(const double* y, const double* v, double* out, JvpWorkspace& ws) const;
  double jvp(const double* y, const double* v, double* out) const;  // on a workspace of its own

  // Which inner layers' flows are kept as factors (Zrow_l = Z_l, k_l x n, then Pre_l^T, n x k_{l-1})
  // and the state ranges of the others. Size 0 for activated networks and m < n, and for layers
  // where the factors are not at most half the layer (n (k_l + k_{l-1}) <= k_l k_{l-1} / 2).
  const FactorLayout& factor_layout() const { return factor_layout_; }
  // rhs at the state whose unfactored layers are read from `stage` and whose factored layers are
  // base + sum_j terms.coef[j] K_j (K_j through its saved factors); writes dy in full and, when
  // factors_out is not null, this evaluation's factors (factor_layout().size doubles).
  double rhs_factored(const double* stage, const double* base, const StageTerms& terms, double* dy, double* factors_out,
                      FlowWorkspace& ws) const;

  using RhsKernel = double (*)(const Flow&, const double*, double*, FlowWorkspace&);
  using ProductKernel = const double* (*)(const Flow&, const double*, FlowWorkspace&);

 private:
  template <int NS>
  friend struct FlowKernels;

  Network net_;
  Cost cost_;
  Activation activation_;
  Inputs inputs_;
  double leaky_slope_;
  RhsKernel rhs_kernel_;
  RhsKernel corrected_kernel_ = nullptr;  // rhs_factored's (linear networks with m >= n)
  ProductKernel product_kernel_;
  FactorLayout factor_layout_;
  std::vector<std::size_t> factor_at_;  // per layer: offset of its factors, or kUnfactored
  static constexpr std::size_t kUnfactored = static_cast<std::size_t>(-1);
};

// The invariants C_i = W_i W_i^T - W_{i+1}^T W_{i+1} (definition 1), i = 1..N-1, each k_i x k_i,
// concatenated row-major into out (size sum_i k_i^2: invariants_size, std::invalid_argument where
// that does not fit in a size or the network has biases; the vector form also where it does not
// fit in memory).
std::size_t invariants_size(const Network& net);
void invariants(const Network& net, const double* y, std::vector<double>& out);
void invariants(const Network& net, const double* y, double* out);

}  // namespace overflow
