#include "overflow/network.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "data_sweep.hpp"
#include "flow_kernels.hpp"
#include "overflow/detail/sizes.hpp"
#include "overflow/thread_team.hpp"
#include "row_sweep.hpp"
#include "small_n.hpp"

namespace overflow {

namespace {

// "dims {3, 8, 2}", the first entries only for a deep network.
std::string dims_text(const std::vector<std::int64_t>& dims) {
  std::string text = "dims {";
  for (std::size_t i = 0; i < dims.size() && i < 8; ++i) text += (i ? ", " : "") + std::to_string(dims[i]);
  return text + (dims.size() > 8 ? ", ... (" + std::to_string(dims.size()) + " entries)}" : "}");
}

// The buffers of a FlowWorkspace (or of the state): every product and sum checked, so a network too
// large for this machine is refused when it is made, not when a workspace is first allocated.
class SizeSum {
 public:
  explicit SizeSum(const std::vector<std::int64_t>& dims) : dims_(dims) {}
  std::size_t mul(std::size_t a, std::size_t b) const {
    std::size_t out = 0;
    if (!size_mul(a, b, out)) overflow();
    return out;
  }
  std::size_t add(std::size_t a, std::size_t b) const {
    std::size_t out = 0;
    if (!size_add(a, b, out)) overflow();
    return out;
  }

 private:
  [[noreturn]] void overflow() const {
    throw std::invalid_argument(dims_text(dims_) + ": the network's sizes do not fit in a size (" +
                                std::to_string(8 * sizeof(std::size_t)) + " bits)");
  }
  const std::vector<std::int64_t>& dims_;
};

struct WorkspaceSizes {
  std::size_t prefix, prefix_t, grad, z, pre_act, grams, correction_scratch;
  std::size_t total;  // all of them (z twice: z0 and z1)
};

// Called once the dims are known to be >= 1 and the state size to fit.
WorkspaceSizes workspace_sizes(const Network& net) {
  const SizeSum s(net.dims());
  const std::size_t n = static_cast<std::size_t>(net.n()), m = static_cast<std::size_t>(net.m());
  const std::size_t k = static_cast<std::size_t>(net.max_dim());
  WorkspaceSizes w{};
  // Sized for both sweeps: prefixes W_i...W_1 (n columns) or suffixes W_N...W_i (m rows).
  std::size_t prefix_size = 0, suffix_size = 0, hidden = 0;
  for (int l = 1; l < net.depth(); ++l)
    prefix_size = s.add(prefix_size, s.mul(static_cast<std::size_t>(net.rows(l)), n));
  for (int l = 0; l + 1 < net.depth(); ++l) {
    suffix_size = s.add(suffix_size, s.mul(m, static_cast<std::size_t>(net.cols(l))));
    hidden = s.add(hidden, s.mul(static_cast<std::size_t>(net.rows(l)), n));
  }
  w.prefix = std::max<std::size_t>({prefix_size, suffix_size, hidden, 1});
  w.prefix_t = s.mul(k, n);
  if (net.depth() > 1)
    w.prefix_t = std::max(w.prefix_t, s.add(prefix_size, s.mul(static_cast<std::size_t>(net.cols(1)), n)));
  w.grad = s.mul(m, n);
  w.z = s.mul(k, std::max(m, n));
  w.pre_act = std::max<std::size_t>(hidden, 1);
  // The stage corrections' Grams (n x n each) serve only the m >= n kernels (flow_kernels.hpp);
  // for m < n they would be the largest buffer by far, and unused.
  w.grams = m >= n ? s.mul(s.mul(static_cast<std::size_t>(detail::kMaxFusedTerms), n), n) : 0;
  w.correction_scratch = s.mul(k, n);
  w.total = 0;
  for (std::size_t part : {w.prefix, w.prefix_t, w.grad, w.z, w.z, w.pre_act, w.grams, w.correction_scratch})
    w.total = s.add(w.total, part);
  return w;
}

// The data sweep's buffers (data_sweep.hpp): every hidden layer's A_i and H_i (k_i x samples), the
// output and grad f (m x samples), and two propagated gradients (k x samples).
WorkspaceSizes data_workspace_sizes(const Network& net, std::int64_t samples) {
  const SizeSum s(net.dims());
  const auto cols = static_cast<std::size_t>(samples);
  std::size_t hidden = 0;
  for (int l = 0; l + 1 < net.depth(); ++l) hidden = s.add(hidden, s.mul(static_cast<std::size_t>(net.rows(l)), cols));
  WorkspaceSizes w{};
  w.prefix = w.pre_act = std::max<std::size_t>(hidden, 1);
  w.grad = s.mul(static_cast<std::size_t>(net.m()), cols);
  w.z = s.mul(static_cast<std::size_t>(net.max_dim()), cols);
  w.total = 0;
  for (std::size_t part : {w.prefix, w.pre_act, w.grad, w.z, w.z}) w.total = s.add(w.total, part);
  return w;
}

}  // namespace

Network::Network(std::vector<std::int64_t> dims, bool bias) : dims_(std::move(dims)), bias_(bias) {
  if (dims_.size() < 2) throw std::invalid_argument("dims must hold at least n and m (depth >= 1)");
  for (std::size_t i = 0; i < dims_.size(); ++i) {
    if (dims_[i] < 1) {
      throw std::invalid_argument("dims[" + std::to_string(i) + "] = " + std::to_string(dims_[i]) +
                                  ": every dimension must be >= 1");
    }
    max_dim_ = std::max(max_dim_, dims_[i]);
  }
  // Sizes are computed in std::size_t with overflow checks: dims such as {2^62 + 1, 4} are refused
  // here instead of wrapping around (and int64 products of two dims would be undefined behaviour).
  if (static_cast<std::uint64_t>(max_dim_) > std::numeric_limits<std::size_t>::max())
    throw std::invalid_argument(dims_text(dims_) + ": a dimension does not fit in a size");
  const SizeSum s(dims_);
  offsets_.reserve(dims_.size());
  offsets_.assign(1, 0);
  for (int l = 0; l < depth(); ++l)
    offsets_.push_back(
        s.add(offsets_.back(), s.mul(static_cast<std::size_t>(rows(l)), static_cast<std::size_t>(stride(l)))));
  check_memory(s.add(state_size(), workspace_sizes(*this).total), dims_text(dims_) + ": the state (" +
                                                                      std::to_string(state_size()) +
                                                                      " weights) with one right-hand side's workspace");
}

FlowWorkspace::FlowWorkspace(const Network& net, ThreadTeam* team_) : team(team_) {
  const WorkspaceSizes w = workspace_sizes(net);
  prefix.assign(w.prefix, 0.0);
  prefix_t.assign(w.prefix_t, 0.0);
  grad.assign(w.grad, 0.0);
  z0.assign(w.z, 0.0);
  z1.assign(w.z, 0.0);
  pre_act.assign(w.pre_act, 0.0);
  transposed_at.assign(static_cast<std::size_t>(net.depth()), nullptr);
  grams.assign(w.grams, 0.0);
  correction_scratch.assign(w.correction_scratch, 0.0);
}

FlowWorkspace::FlowWorkspace(const Flow& flow, ThreadTeam* team_) : FlowWorkspace(flow.network(), team_) {
  if (!flow.on_data()) return;
  // On data the identity input's buffers above are not used: size every buffer for the samples.
  const WorkspaceSizes w = data_workspace_sizes(flow.network(), flow.columns());
  samples = flow.columns();
  prefix.assign(w.prefix, 0.0);
  pre_act.assign(w.pre_act, 0.0);
  grad.assign(w.grad, 0.0);
  z0.assign(w.z, 0.0);
  z1.assign(w.z, 0.0);
  for (AlignedVector* unused : {&prefix_t, &grams, &correction_scratch}) {
    unused->clear();
    unused->shrink_to_fit();
  }
}

Flow::Flow(const Network& net, const Cost& cost, Activation activation, const Inputs& inputs, double leaky_slope)
    : net_(net),
      cost_(cost),
      activation_(activation),
      inputs_(inputs),
      leaky_slope_(leaky_slope),
      factor_at_(static_cast<std::size_t>(net.depth()), kUnfactored) {
  if (cost.value_and_grad == nullptr) throw std::invalid_argument("cost.value_and_grad is null");
  if (!std::isfinite(leaky_slope))
    throw std::invalid_argument("leaky_slope = " + std::to_string(leaky_slope) + ": must be finite");
  // Below 0 sigma would not be monotone, and the per-neuron invariants need sigma(c x) = c sigma(x), c >= 0.
  if (activation == Activation::leaky_relu && leaky_slope < 0.0)
    throw std::invalid_argument("leaky_slope = " + std::to_string(leaky_slope) + ": must be >= 0");
  if (inputs.X == nullptr && (inputs.samples != 0 || inputs.bias))
    throw std::invalid_argument("inputs: samples or a bias without data X (biases need inputs)");
  if (inputs.bias != net.bias()) {
    throw std::invalid_argument(std::string("inputs.bias = ") + (inputs.bias ? "true" : "false") +
                                " does not match the network's bias (" + (net.bias() ? "true" : "false") + ")");
  }
  if (on_data() && inputs.samples < 1)
    throw std::invalid_argument("inputs.samples = " + std::to_string(inputs.samples) + ": must be >= 1");
  if (cost.m != net.m() || cost.n != columns()) {
    throw std::invalid_argument("cost shape (" + std::to_string(cost.m) + ", " + std::to_string(cost.n) +
                                ") does not match the network's " + (on_data() ? "output" : "product") + " shape (" +
                                std::to_string(net.m()) + ", " + std::to_string(columns()) + ")");
  }
  if (on_data()) {
    check_memory(SizeSum(net.dims()).add(net.state_size(), data_workspace_sizes(net, columns()).total),
                 dims_text(net.dims()) + " on " + std::to_string(columns()) +
                     " samples: the state with one right-hand side's workspace");
  }
  if (on_data() || (activation != Activation::none && net.depth() > 1)) {
    detail::select_data_sweep(activation, rhs_kernel_, product_kernel_);
    return;
  }
  if (net.m() < net.n()) {
    detail::select_row_sweep(net.m(), rhs_kernel_, product_kernel_);
    return;
  }
  detail::with_small_n(net.n(), [&](auto ns) {
    constexpr int NS = decltype(ns)::value;
    rhs_kernel_ = &FlowKernels<NS>::rhs;
    product_kernel_ = &FlowKernels<NS>::forward;
  });
  corrected_kernel_ = detail::corrected_flow_kernel(net.n());
  // Inner layers (a prefix before and a layer after) whose factors take at most half the layer.
  const std::int64_t n = net.n();
  std::size_t covered = 0;  // the state up to here is in factor_layout_.full or factored
  for (int l = 1; l + 1 < net.depth(); ++l) {
    const std::int64_t r = net.rows(l), c = net.cols(l);
    if (2 * n * (r + c) > r * c) continue;
    factor_at_[static_cast<std::size_t>(l)] = factor_layout_.size;
    factor_layout_.size += static_cast<std::size_t>(n * (r + c));
    if (net.offset(l) > covered) factor_layout_.full.emplace_back(covered, net.offset(l));
    covered = net.offset(l + 1);
  }
  if (factor_layout_.size == 0) {
    factor_layout_.full.clear();
    // Above the compiled small n the row sweep runs as run-time loops, 3-12x slower than the data
    // sweep's GEMMs on X = I (bench/README.md, networks on data); the results agree to rounding.
    if (!detail::with_small_n(net.n(), [](auto ns) { return decltype(ns)::value != 0; })) {
      detail::select_data_sweep(Activation::none, rhs_kernel_, product_kernel_);
      corrected_kernel_ = nullptr;
    }
    return;
  }
  if (covered < net.state_size()) factor_layout_.full.emplace_back(covered, net.state_size());
}

double Flow::rhs_factored(const double* stage, const double* base, const StageTerms& terms, double* dy,
                          double* factors_out, FlowWorkspace& ws) const {
  if (factor_layout_.size == 0) throw std::logic_error("rhs_factored: this flow has no factored layers");
  const StageCorrection corr{base, &terms, factors_out};
  struct Clear {  // also when the cost throws
    FlowWorkspace& ws;
    ~Clear() { ws.correction = nullptr; }
  } clear{ws};
  ws.correction = &corr;
  return corrected_kernel_(*this, stage, dy, ws);
}

double Flow::rhs(const double* y, double* dy, FlowWorkspace& ws) const { return rhs_kernel_(*this, y, dy, ws); }

double Flow::value(const double* y, FlowWorkspace& ws) const {
  const double* prod = product_kernel_(*this, y, ws);
  return cost_.value_and_grad(prod, net_.m(), columns(), ws.grad.data(), cost_.data);
}

void Flow::product(const double* y, double* out, FlowWorkspace& ws) const {
  const double* prod = product_kernel_(*this, y, ws);
  std::copy(prod, prod + net_.m() * columns(), out);
}

std::size_t invariants_size(const Network& net) {
  if (net.bias())
    throw std::invalid_argument("the invariants C_i (definition 1) are defined for networks without biases");
  const SizeSum s(net.dims());
  std::size_t total = 0;
  for (int l = 0; l + 1 < net.depth(); ++l)
    total = s.add(total, s.mul(static_cast<std::size_t>(net.rows(l)), static_cast<std::size_t>(net.rows(l))));
  return total;
}

void invariants(const Network& net, const double* y, std::vector<double>& out) {
  const std::size_t total = invariants_size(net);
  check_memory(total, dims_text(net.dims()) + ": the invariants (" + std::to_string(total) + " entries)");
  out.assign(total, 0.0);
  invariants(net, y, out.data());
}

void invariants(const Network& net, const double* y, double* out) {
  if (net.bias())
    throw std::invalid_argument("the invariants C_i (definition 1) are defined for networks without biases");
  double* c = out;
  for (int l = 0; l + 1 < net.depth(); ++l) {
    const std::int64_t k = net.rows(l), cols = net.cols(l), next_rows = net.rows(l + 1);
    const double* wi = y + net.offset(l);      // k x cols
    const double* wn = y + net.offset(l + 1);  // next_rows x k
    for (std::int64_t i = 0; i < k; ++i)
      for (std::int64_t j = 0; j < k; ++j) {
        double s = 0.0;
        for (std::int64_t q = 0; q < cols; ++q) s += wi[i * cols + q] * wi[j * cols + q];
        for (std::int64_t q = 0; q < next_rows; ++q) s -= wn[q * k + i] * wn[q * k + j];
        c[i * k + j] = s;
      }
    c += k * k;
  }
}

}  // namespace overflow
