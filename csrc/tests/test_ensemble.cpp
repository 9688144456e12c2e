// The ensemble: every trajectory equals the same run through integrate() alone, bit for bit, for
// 1, 2 and 5 workers; gtol stops at the crossing with ||grad g|| <= gtol; t_eval rows are filled.
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "check.hpp"
#include "overflow/ensemble.hpp"
#include "overflow/flow_system.hpp"
#include "reference_costs.hpp"

int main() {
  using namespace overflow;
  Network net({3, 8, 8, 2});
  std::vector<double> data = {2, 3, 1.5, 0.0, -0.5, 0.2, 1.0, 0.7};  // m, n, T (2 x 3)
  Cost cost;
  cost.value_and_grad = &matrix_factorization_cost;
  cost.data = data.data();
  cost.m = 2;
  cost.n = 3;
  Flow flow(net, cost);
  const std::size_t dim = net.state_size(), count = 37;
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal(0.0, 0.3);
  std::vector<double> y0s(count * dim);
  for (double& v : y0s) v = normal(rng);

  IntegrateOptions opt;
  opt.rtol = 1e-8;
  opt.atol = 1e-10;
  opt.gtol = 1e-6;
  const std::vector<double> t_eval = {0.5, 1.0, 2.0};
  const Tableau& tab = tableau(Method::dopri5);

  // The reference: one integrate() per start, saving only at t_eval as the ensemble does.
  std::vector<Solution> ref;
  for (std::size_t i = 0; i < count; ++i) {
    FlowSystem sys(flow);
    IntegrateOptions o = opt;
    o.save_steps = false;
    o.save_states = false;
    ref.push_back(integrate(sys, tab, 0.0, 40.0, y0s.data() + i * dim, t_eval, o));
  }
  for (int workers : {1, 2, 5}) {
    EnsembleOptions eopt;
    eopt.workers = workers;
    const EnsembleResult r = integrate_ensemble([&flow] { return FlowSystem(flow); }, tab, 0.0, 40.0, y0s.data(), count,
                                                dim, t_eval, opt, eopt);
    CHECK(!r.interrupted, "workers=%d: interrupted", workers);
    for (std::size_t i = 0; i < count; ++i) {
      const Solution& s = ref[i];
      CHECK(r.status[i] == static_cast<std::int8_t>(s.status), "workers=%d traj %zu: status", workers, i);
      CHECK(r.t_final[i] == s.t_final && r.final_loss[i] == s.final_loss && r.nfev[i] == s.nfev,
            "workers=%d traj %zu: t_final %.17g vs %.17g", workers, i, r.t_final[i], s.t_final);
      CHECK(std::memcmp(r.final_state.data() + i * dim, s.final_state.data(), dim * sizeof(double)) == 0,
            "workers=%d traj %zu: final state differs", workers, i);
      CHECK(s.status != Status::converged || r.final_grad_norm[i] <= opt.gtol, "traj %zu: ||grad g|| %.3g > gtol", i,
            r.final_grad_norm[i]);
      for (std::size_t p = 0; p < t_eval.size(); ++p) {
        const double v = r.loss_at[i * t_eval.size() + p];
        CHECK(p < s.loss.size() ? v == s.loss[p] : std::isnan(v), "traj %zu point %zu: %.17g", i, p, v);
      }
    }
  }
  return check_report("test_ensemble");
}
