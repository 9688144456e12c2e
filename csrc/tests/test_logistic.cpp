// Closed form: balanced scalar factorization f = (z - a)^2 / 2 with w_1 = w_2^T (width k) gives
// the logistic z(t) = a / (1 + (a / z0 - 1) e^{-2 a t}); every method must reach it to its tolerance.
#include <cmath>
#include <vector>

#include "check.hpp"
#include "overflow/flow_system.hpp"
#include "overflow/integrate.hpp"
#include "quadratic_cost.hpp"

int main() {
  using namespace overflow;
  const double a = 2.0, T = 5.0;
  for (std::int64_t k : {1, 3, 10}) {
    Network net({1, k, 1});
    double target = a;
    Cost cost;
    cost.value_and_grad = &quadratic_cost;
    cost.data = &target;
    cost.m = cost.n = 1;
    Flow flow(net, cost);
    // w_1 = w_2^T = v with ||v||^2 = z0.
    const double z0 = 0.05;
    std::vector<double> y(net.state_size());
    for (std::int64_t i = 0; i < k; ++i) y[i] = y[k + i] = std::sqrt(z0 / k);
    for (const std::string& name : method_names()) {
      Method m;
      parse_method(name, m);
      IntegrateOptions opt;
      opt.rtol = 1e-10;
      opt.atol = 1e-12;
      FlowSystem sys(flow);
      std::vector<double> t_eval = {1.0, 2.5, T};
      Solution sol = integrate(sys, tableau(m), 0.0, T, y.data(), t_eval, opt);
      CHECK(sol.status == Status::t_end, "%s: status %s", name.c_str(), status_name(sol.status));
      CHECK(sol.t.size() == 3, "%s: saved %zu points", name.c_str(), sol.t.size());
      for (std::size_t p = 0; p < sol.t.size(); ++p) {
        const double* w = sol.states.data() + p * net.state_size();
        double z = 0.0;
        for (std::int64_t i = 0; i < k; ++i) z += w[k + i] * w[i];
        const double exact = a / (1.0 + (a / z0 - 1.0) * std::exp(-2.0 * a * sol.t[p]));
        // Global error ~ tolerance times the problem's error growth; 1e-7 leaves 1000x margin.
        CHECK(std::fabs(z - exact) < 1e-7, "%s k=%lld t=%.2f: z %.15g exact %.15g", name.c_str(),
              static_cast<long long>(k), sol.t[p], z, exact);
      }
    }
  }
  return check_report("test_logistic");
}
