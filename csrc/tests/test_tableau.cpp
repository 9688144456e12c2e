// Order conditions of every tableau, from Butcher's rooted trees: sum_i b_i Phi_i(t) = 1/gamma(t)
// for all trees t up to the method's order, for the embedded pair and for the interpolant.
#include <cmath>
#include <functional>
#include <vector>

#include "check.hpp"
#include "overflow/tableau.hpp"

namespace {

struct Tree {
  int order;
  std::vector<int> children;  // indices of subtrees
  double gamma;
};

std::vector<Tree> rooted_trees(int max_order) {
  std::vector<Tree> trees{{1, {}, 1.0}};
  std::vector<std::vector<int>> by_order(max_order + 1);
  by_order[1].push_back(0);
  for (int n = 2; n <= max_order; ++n) {
    std::vector<int> current;
    // Multisets of subtrees (non-decreasing indices) whose orders sum to n - 1.
    std::function<void(int, int)> extend = [&](int start, int remaining) {
      if (remaining == 0) {
        double gamma = n;
        for (int c : current) gamma *= trees[c].gamma;
        trees.push_back({n, current, gamma});
        return;
      }
      const int count = static_cast<int>(trees.size());
      for (int i = start; i < count; ++i) {
        if (trees[i].order > remaining || trees[i].order >= n) continue;
        current.push_back(i);
        extend(i, remaining - trees[i].order);
        current.pop_back();
      }
    };
    const int before = static_cast<int>(trees.size());
    extend(0, n - 1);
    for (int i = before; i < static_cast<int>(trees.size()); ++i) by_order[n].push_back(i);
  }
  return trees;
}

// Phi[t][i] for a method with s stages and matrix a (s x s row-major), c implied by the rows.
std::vector<std::vector<double>> elementary_weights(const std::vector<Tree>& trees, const std::vector<double>& a,
                                                    int s) {
  std::vector<std::vector<double>> phi(trees.size(), std::vector<double>(s, 1.0));
  for (std::size_t t = 0; t < trees.size(); ++t) {
    for (int child : trees[t].children) {
      for (int i = 0; i < s; ++i) {
        double acc = 0.0;
        for (int j = 0; j < s; ++j) acc += a[i * s + j] * phi[child][j];
        phi[t][i] *= acc;
      }
    }
  }
  return phi;
}

// Largest p such that weights w satisfy every condition of order <= p (up to max_order).
int observed_order(const std::vector<Tree>& trees, const std::vector<std::vector<double>>& phi,
                   const std::vector<double>& w, int max_order, double theta, double tol) {
  for (int p = 1; p <= max_order; ++p) {
    for (std::size_t t = 0; t < trees.size(); ++t) {
      if (trees[t].order != p) continue;
      double lhs = 0.0;
      for (std::size_t i = 0; i < w.size(); ++i) lhs += w[i] * phi[t][i];
      const double rhs = std::pow(theta, p) / trees[t].gamma;
      if (std::fabs(lhs - rhs) > tol * (1.0 + std::fabs(rhs))) return p - 1;
    }
  }
  return max_order;
}

}  // namespace

int main() {
  using namespace overflow;
  const int max_order = 9;
  const auto trees = rooted_trees(max_order);
  CHECK(trees.size() == 1 + 1 + 2 + 4 + 9 + 20 + 48 + 115 + 286, "tree count %zu", trees.size());

  for (const std::string& name : method_names()) {
    Method m;
    CHECK(parse_method(name, m), "%s", name.c_str());
    const Tableau& t = tableau(m);
    const int s = t.stages, slots = t.slots();
    const double tol = 1e-12;

    // Extended matrix over all slots: slot s is f(t + h, y_new) (row b), then the extra stages.
    std::vector<double> A(static_cast<std::size_t>(slots * slots), 0.0);
    for (int i = 0; i < s; ++i)
      for (int j = 0; j < s; ++j) A[i * slots + j] = t.a[i * s + j];
    for (int j = 0; j < s; ++j) A[s * slots + j] = t.b[j];
    for (int i = 0; i < t.explicit_rk.extra_stages; ++i)
      for (int j = 0; j < slots; ++j) A[(s + 1 + i) * slots + j] = t.explicit_rk.extra_a[i * slots + j];
    // Row sums equal c (the simplifying assumption every tableau here satisfies).
    for (int i = 0; i < s; ++i) {
      double sum = 0.0;
      for (int j = 0; j < s; ++j) sum += t.a[i * s + j];
      CHECK(std::fabs(sum - t.c[i]) < 1e-13, "%s row %d sums to %.17g, c = %.17g", name.c_str(), i, sum, t.c[i]);
    }
    const auto phi = elementary_weights(trees, A, slots);

    std::vector<double> b(slots, 0.0), bhat(slots, 0.0);
    for (int j = 0; j < s; ++j) b[j] = t.b[j];
    for (int j = 0; j <= s; ++j) bhat[j] = b[j] - t.e[j];
    const int order = observed_order(trees, phi, b, max_order, 1.0, tol);
    CHECK(order == t.order, "%s: order %d, expected %d", name.c_str(), order, t.order);
    // The embedded estimate's order: DOP853's E5 gives a 5th-order companion (error_order).
    const int eorder = observed_order(trees, phi, bhat, max_order, 1.0, tol);
    CHECK(eorder == t.error_order, "%s: embedded order %d, expected %d", name.c_str(), eorder, t.error_order);
    if (!t.explicit_rk.e_low.empty()) {
      for (int j = 0; j <= s; ++j) bhat[j] = b[j] - t.explicit_rk.e_low[j];
      const int low = observed_order(trees, phi, bhat, max_order, 1.0, tol);
      CHECK(low == 3, "%s: low-order estimate has order %d, expected 3", name.c_str(), low);
    }
    // Interpolant: b_i(theta) satisfies the conditions with theta^p / gamma up to dense_order,
    // and equals the step's weights at theta = 1.
    const ExplicitCoefficients& x = t.explicit_rk;
    for (double theta : {0.1, 0.37, 0.5, 0.81, 1.0}) {
      std::vector<double> w(slots, 0.0);
      for (int i = 0; i < slots; ++i) {
        double acc = 0.0;
        for (int p = x.dense_degree - 1; p >= 0; --p) acc = acc * theta + x.dense[i * x.dense_degree + p];
        w[i] = acc * theta;
      }
      const int dorder = observed_order(trees, phi, w, max_order, theta, 1e-11);
      CHECK(dorder >= t.dense_order, "%s: interpolant order %d at theta %.2f, expected %d", name.c_str(), dorder, theta,
            t.dense_order);
      if (theta == 1.0)
        for (int i = 0; i < slots; ++i)
          CHECK(std::fabs(w[i] - b[i]) < 1e-12, "%s: b_%d(1) = %.17g, b = %.17g", name.c_str(), i, w[i], b[i]);
    }
  }
  // Gauss-Legendre collocation: the same Butcher conditions with a full a; s stages give order 2s.
  // Radau IIA: s stages give order 2s - 1.
  for (Method m : {Method::gauss4, Method::gauss6, Method::radau5}) {
    const Tableau& t = tableau(m);
    const auto phi = elementary_weights(trees, t.a, t.stages);
    const int order = observed_order(trees, phi, t.b, max_order, 1.0, 1e-12);
    CHECK(order == t.order, "%s: order %d, expected %d", t.name.c_str(), order, t.order);
  }
  // RODAS's order conditions involve gamma and C (Hairer & Wanner II, IV.7); its order 4 is measured
  // by the fixed-step test in tests/test_implicit.py. Here its structure: stiffly accurate, the last
  // stage's input is the embedded solution.
  {
    const Tableau& t = tableau(Method::rodas4);
    CHECK(t.scheme == Tableau::Scheme::rosenbrock && t.rosenbrock.gamma == 0.25 && t.stages == 6, "rodas4 tableau");
    // Stiff accuracy: the last row of a plus the last stage reproduces the solution weights.
    for (int j = 0; j < 5; ++j) CHECK(t.a[5 * 6 + j] == t.b[j], "rodas4: a_6%d != b_%d", j + 1, j + 1);
  }
  return check_report("test_tableau");
}
