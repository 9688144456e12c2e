#include "overflow/detail/sliding_jacobian.hpp"

#include <algorithm>

namespace overflow::detail {

SlidingColumns::SlidingColumns(const Flow& flow) : flow_(flow), s_(flow.columns()) {
  const Network& net = flow.network();
  layer_at_.assign(1, 0);
  for (int i = 0; i + 1 < net.depth(); ++i)
    layer_at_.push_back(layer_at_.back() + static_cast<std::size_t>(net.rows(i) * s_));
  z_at_.assign(1, 0);
  for (int i = 0; i < net.depth(); ++i) z_at_.push_back(z_at_.back() + static_cast<std::size_t>(net.rows(i)));
  z_from_.resize(z_at_.back());
  z_to_.resize(z_at_.back());
  dz_.resize(z_at_.back());
}

int SlidingColumns::layer(std::size_t k) const {
  return static_cast<int>(std::upper_bound(layer_at_.begin(), layer_at_.end(), k) - layer_at_.begin()) - 1;
}

int SlidingColumns::top_layer(const std::vector<std::size_t>& entries, std::int64_t c) const {
  int top = 0;
  for (std::size_t k : entries)
    if (column(k) == c) top = std::max(top, layer(k));
  return top;
}

std::int64_t SlidingColumns::row(std::size_t k) const {
  return static_cast<std::int64_t>((k - layer_at_[static_cast<std::size_t>(layer(k))]) / static_cast<std::size_t>(s_));
}

const std::vector<std::int64_t>& SlidingColumns::columns_of(const std::vector<std::size_t>& entries) {
  columns_.clear();
  for (std::size_t k : entries) columns_.push_back(column(k));
  std::sort(columns_.begin(), columns_.end());
  columns_.erase(std::unique(columns_.begin(), columns_.end()), columns_.end());
  return columns_;
}

double SlidingColumns::gram(int i, std::int64_t c, std::int64_t c2, const FlowWorkspace& ws) const {
  const Network& net = flow_.network();
  const std::int64_t s = s_;
  double sum = net.bias() ? 1.0 : 0.0;
  const double* H = i == 0 ? flow_.inputs().X : ws.prefix.data() + layer_at_[static_cast<std::size_t>(i - 1)];
  if (H == nullptr) return sum + (c == c2 ? 1.0 : 0.0);  // the identity input
  for (std::int64_t q = 0; q < net.cols(i); ++q) sum += H[q * s + c] * H[q * s + c2];
  return sum;
}

void SlidingColumns::propagate(int i, std::int64_t c, const double* y, const double* L, double* Z) {
  const Network& net = flow_.network();
  const std::int64_t rows = net.rows(i), cols = net.cols(i), ld = net.stride(i);
  const double* W = y + net.offset(i);
  const double* Zi = Z + z_at_[static_cast<std::size_t>(i)];
  double* Zp = Z + z_at_[static_cast<std::size_t>(i - 1)];
  const double* G = L + layer_at_[static_cast<std::size_t>(i - 1)];
  raw_.resize(static_cast<std::size_t>(cols));
  for (std::int64_t q = 0; q < cols; ++q) {
    double sum = 0.0;
    for (std::int64_t r = 0; r < rows; ++r) sum += W[r * ld + q] * Zi[r];
    raw_[static_cast<std::size_t>(q)] = sum;
    Zp[q] = G[q * s_ + c] * sum;
  }
}

void SlidingColumns::backward_column(std::int64_t c, const double* y, const double* L, const FlowWorkspace& ws,
                                     double* Z, const std::vector<std::size_t>& entries, const double* from) {
  const Network& net = flow_.network();
  const int N = net.depth();
  for (std::int64_t r = 0; r < net.m(); ++r)
    Z[z_at_[static_cast<std::size_t>(N - 1)] + static_cast<std::size_t>(r)] =
        ws.grad[static_cast<std::size_t>(r * s_ + c)];
  for (int i = N - 1; i >= 1; --i) {
    propagate(i, c, y, L, Z);
    if (from == nullptr) continue;
    for (std::size_t e = 0; e < entries.size(); ++e)
      if (column(entries[e]) == c && layer(entries[e]) == i - 1)
        Z[z_at_[static_cast<std::size_t>(i - 1)] + static_cast<std::size_t>(row(entries[e]))] =
            from[e] * raw_[static_cast<std::size_t>(row(entries[e]))];
  }
}

void SlidingColumns::rates(const std::vector<std::size_t>& entries, const double* y, const double* dy, const double* F,
                           const FlowWorkspace& ws, double* out) {
  const Network& net = flow_.network();
  const std::int64_t s = s_;
  const double* X = flow_.inputs().X;
  for (std::int64_t col : columns_of(entries)) {
    const int top = top_layer(entries, col);
    for (int i = 0; i <= top; ++i) {
      const std::int64_t r = net.rows(i), c = net.cols(i), ld = net.stride(i);
      const double* W = y + net.offset(i);
      const double* dW = dy + net.offset(i);
      u_.assign(static_cast<std::size_t>(r), 0.0);
      for (std::int64_t j = 0; j < r; ++j) {
        double sum = net.bias() ? dW[j * ld + c] : 0.0;
        if (i == 0) {
          if (X == nullptr) {
            sum += dW[j * ld + col];  // the identity input: its column col is e_col
          } else {
            for (std::int64_t q = 0; q < c; ++q) sum += dW[j * ld + q] * X[q * s + col];
          }
        } else {
          const double* H = ws.prefix.data() + layer_at_[static_cast<std::size_t>(i - 1)];
          const double* G = F + layer_at_[static_cast<std::size_t>(i - 1)];
          for (std::int64_t q = 0; q < c; ++q)
            sum +=
                dW[j * ld + q] * H[q * s + col] + W[j * ld + q] * G[q * s + col] * u_prev_[static_cast<std::size_t>(q)];
        }
        u_[static_cast<std::size_t>(j)] = sum;
      }
      for (std::size_t e = 0; e < entries.size(); ++e)
        if (column(entries[e]) == col && layer(entries[e]) == i) out[e] = u_[static_cast<std::size_t>(row(entries[e]))];
      u_prev_.swap(u_);
    }
  }
}

void SlidingColumns::regate(const std::vector<std::size_t>& entries, const double* y, const double* L,
                            const double* from, const FlowWorkspace& ws, double* dy) {
  for (std::int64_t col : columns_of(entries)) {
    backward_column(col, y, L, ws, z_from_.data(), entries, from);
    backward_column(col, y, L, ws, z_to_.data());
    for (std::size_t at = 0; at < dz_.size(); ++at) dz_[at] = z_to_[at] - z_from_[at];
    add_outer(col, dz_.data(), -1.0, ws, dy);
  }
}

void SlidingColumns::add_outer(std::int64_t col, const double* dz, double scale, const FlowWorkspace& ws,
                               double* dy) const {
  const Network& net = flow_.network();
  const std::int64_t s = s_;
  const double* X = flow_.inputs().X;
  for (int i = 0; i < net.depth(); ++i) {
    const std::int64_t r = net.rows(i), c = net.cols(i), ld = net.stride(i);
    const double* H = i == 0 ? X : ws.prefix.data() + layer_at_[static_cast<std::size_t>(i - 1)];
    double* d = dy + net.offset(i);
    for (std::int64_t j = 0; j < r; ++j) {
      const double z = scale * dz[z_at_[static_cast<std::size_t>(i)] + static_cast<std::size_t>(j)];
      if (z == 0.0) continue;  // the layers above the entries
      if (H == nullptr) {
        d[j * ld + col] += z;  // the identity input: dW_1 = -Z_1
      } else {
        for (std::int64_t q = 0; q < c; ++q) d[j * ld + q] += z * H[q * s + col];
      }
      if (net.bias()) d[j * ld + c] += z;
    }
  }
}

void SlidingColumns::gate_column(std::size_t entry, const double* y, const double* L, const FlowWorkspace& ws,
                                 double* dz) {
  const Network& net = flow_.network();
  const std::int64_t c = column(entry), jl = row(entry);
  const int il = layer(entry);
  // The gate's own entry, (W_{il+1}^T Z_{il+1}[:, c])[jl], then down through W^T and the backward gates.
  backward_column(c, y, L, ws, z_to_.data());
  {
    const std::int64_t rows = net.rows(il + 1), ld = net.stride(il + 1);
    const double* W = y + net.offset(il + 1);
    const double* Z = z_to_.data() + z_at_[static_cast<std::size_t>(il + 1)];
    double sum = 0.0;
    for (std::int64_t r = 0; r < rows; ++r) sum += W[r * ld + jl] * Z[r];
    std::fill(dz, dz + column_size(), 0.0);
    dz[z_at_[static_cast<std::size_t>(il)] + static_cast<std::size_t>(jl)] = sum;
  }
  for (int i = il; i >= 1; --i) propagate(i, c, y, L, dz);
}

void SlidingColumns::jacobian(const std::vector<std::size_t>& entries, const double* y, const double* F,
                              const double* L, const FlowWorkspace& ws, double* jacobian, double* columns) {
  const Network& net = flow_.network();
  const std::int64_t s = s_;
  const std::size_t p = entries.size();
  targets_ = columns_of(entries);
  for (std::size_t q = 0; q < p; ++q) {
    const std::size_t l = entries[q];
    const std::int64_t c = column(l);
    const int il = layer(l);
    double* dz = columns != nullptr ? columns + q * column_size() : dz_.data();
    gate_column(l, y, L, ws, dz);
    // The tangent of each target column c2 along d(dy)/d lambda_l: rank-one terms in the layers up to il.
    for (std::int64_t c2 : targets_) {
      const int top = top_layer(entries, c2);
      for (int i = 0; i <= top; ++i) {
        const std::int64_t r = net.rows(i), cols = net.cols(i), ld = net.stride(i);
        const double* W = y + net.offset(i);
        const double g = i <= il ? gram(i, c, c2, ws) : 0.0;
        const double* dZi = dz + z_at_[static_cast<std::size_t>(i)];
        u_.assign(static_cast<std::size_t>(r), 0.0);
        for (std::int64_t j = 0; j < r; ++j) {
          double sum = i <= il ? -dZi[j] * g : 0.0;
          if (i > 0) {
            const double* G = F + layer_at_[static_cast<std::size_t>(i - 1)];
            for (std::int64_t k = 0; k < cols; ++k)
              sum += W[j * ld + k] * G[k * s + c2] * u_prev_[static_cast<std::size_t>(k)];
          }
          u_[static_cast<std::size_t>(j)] = sum;
        }
        for (std::size_t e = 0; e < p; ++e)
          if (column(entries[e]) == c2 && layer(entries[e]) == i)
            jacobian[q * p + e] = u_[static_cast<std::size_t>(row(entries[e]))];
        u_prev_.swap(u_);
      }
    }
  }
}

double SlidingColumns::input(int i, std::int64_t q, std::int64_t c, const FlowWorkspace& ws) const {
  if (i > 0) return ws.prefix[layer_at_[static_cast<std::size_t>(i - 1)] + static_cast<std::size_t>(q * s_ + c)];
  const double* X = flow_.inputs().X;
  return X == nullptr ? (q == c ? 1.0 : 0.0) : X[q * s_ + c];
}

void SlidingColumns::rate_jvp(const std::vector<std::size_t>& entries, const double* y, const double* v,
                              const double* dy, const double* jv, const double* F, const FlowWorkspace& ws,
                              double* out) {
  const Network& net = flow_.network();
  const std::int64_t s = s_;
  // Per row of a layer: the tangents of a along v, dy and jv, then the mixed one along v and dy.
  constexpr int kV = 0, kD = 1, kJ = 2, kVD = 3;
  for (std::int64_t col : columns_of(entries)) {
    const int top = top_layer(entries, col);
    for (int i = 0; i <= top; ++i) {
      const std::int64_t r = net.rows(i), c = net.cols(i), ld = net.stride(i);
      const std::size_t o = net.offset(i);
      const double *W = y + o, *V = v + o, *D = dy + o, *J = jv + o;
      const double* G = i > 0 ? F + layer_at_[static_cast<std::size_t>(i - 1)] : nullptr;
      tangents_.assign(static_cast<std::size_t>(4 * r), 0.0);
      for (std::int64_t j = 0; j < r; ++j) {
        double* t = tangents_.data() + 4 * j;
        if (net.bias()) {
          t[kV] = V[j * ld + c];
          t[kD] = D[j * ld + c];
          t[kJ] = J[j * ld + c];
        }
        for (std::int64_t q = 0; q < c; ++q) {
          const double h = input(i, q, col, ws);
          const std::int64_t at = j * ld + q;
          t[kV] += V[at] * h;
          t[kD] += D[at] * h;
          t[kJ] += J[at] * h;
          if (G == nullptr) continue;  // the input X does not move
          const double g = G[q * s + col];
          const double* u = tangents_prev_.data() + 4 * q;
          t[kV] += W[at] * g * u[kV];
          t[kD] += W[at] * g * u[kD];
          t[kJ] += W[at] * g * u[kJ];
          t[kVD] += g * (V[at] * u[kD] + D[at] * u[kV] + W[at] * u[kVD]);
        }
      }
      for (std::size_t e = 0; e < entries.size(); ++e)
        if (column(entries[e]) == col && layer(entries[e]) == i) {
          const double* t = tangents_.data() + 4 * row(entries[e]);
          out[e] = t[kVD] + t[kJ];
        }
      tangents_prev_.swap(tangents_);
    }
  }
}

}  // namespace overflow::detail
