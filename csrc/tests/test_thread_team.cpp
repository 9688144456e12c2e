// ThreadTeam: every part of every job runs exactly once, helpers that fell asleep wake up (or the
// calling thread runs their parts), and the split work (RHS products, stepper passes) gives the
// one-thread results: bitwise for the RHS (each entry is computed by the same loop; on data, by the same
// Eigen kernels), to rounding
// for a whole integration (the error norm's partial sums are added in another order).
#include <atomic>
#include <chrono>
#include <cmath>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "check.hpp"
#include "overflow/flow_system.hpp"
#include "overflow/integrate.hpp"
#include "overflow/network.hpp"
#include "overflow/thread_team.hpp"
#include "quadratic_cost.hpp"

namespace {

using namespace overflow;

void check_jobs() {
  for (int size : {1, 2, 3, 5}) {
    ThreadTeam team(size);
    CHECK(team.size() == size, "size %d", team.size());
    std::vector<std::atomic<int>> runs(static_cast<std::size_t>(size));
    for (auto& r : runs) r = 0;
    // Fewer jobs where the team outnumbers the cores (each job then waits for a descheduled helper).
    const int jobs = size <= 2 ? 20000 : 2000;
    for (int j = 0; j < jobs; ++j) {
      team.run([&](int rank) { runs[static_cast<std::size_t>(rank)].fetch_add(1, std::memory_order_relaxed); });
      // Every job has finished when run() returns, so a count read now is exact.
      if (j % 499 == 0)
        for (int r = 0; r < size; ++r) CHECK(runs[static_cast<std::size_t>(r)].load() == j + 1, "rank %d behind", r);
    }
    for (int r = 0; r < size; ++r)
      CHECK(runs[static_cast<std::size_t>(r)].load() == jobs, "size %d rank %d ran %d of %d jobs", size, r,
            runs[static_cast<std::size_t>(r)].load(), jobs);
    // Idle long enough that the helpers sleep, then a job must still reach all of them.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::atomic<int> woke{0};
    team.run([&](int) { woke.fetch_add(1); });
    CHECK(woke.load() == size, "after a sleep only %d of %d ranks ran", woke.load(), size);
  }
  bool threw = false;
  try {
    ThreadTeam bad(0);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  CHECK(threw, "a team of 0 threads was accepted");
}

// A helper that has not started its part when the calling thread is done with its own (here: asleep
// after an idle gap) leaves the part to the calling thread; each part still runs once per job.
void check_unstarted_parts_run_on_caller() {
  ThreadTeam team(2);
  const std::thread::id caller = std::this_thread::get_id();
  int on_caller = 0;
  for (int j = 0; j < 50; ++j) {
    std::this_thread::sleep_for(std::chrono::microseconds(500));  // past the helpers' spin: asleep
    std::atomic<int> runs[2] = {0, 0};
    std::atomic<bool> part1_on_caller{false};
    team.run([&](int part) {
      runs[part].fetch_add(1);
      if (part == 1 && std::this_thread::get_id() == caller) part1_on_caller = true;
    });
    CHECK(runs[0].load() == 1 && runs[1].load() == 1, "job %d: parts ran %d and %d times", j, runs[0].load(),
          runs[1].load());
    on_caller += part1_on_caller ? 1 : 0;
  }
  // Waking a sleeping thread takes tens of microseconds; part 0 takes nanoseconds.
  CHECK(on_caller > 0, "the calling thread never ran a sleeping helper's part (of 50 jobs)");
}

void check_shares() {
  for (std::size_t n : {0u, 1u, 7u, 8u, 9u, 100u, 16384u, 16391u})
    for (int size : {1, 2, 3, 4, 7})
      for (std::size_t grain : {1u, 8u}) {
        std::size_t next = 0;
        for (int r = 0; r < size; ++r) {
          const auto [b, e] = team_share(n, r, size, grain);
          CHECK(b == next && e >= b, "n %zu size %d rank %d: [%zu, %zu) after %zu", n, size, r, b, e, next);
          CHECK(b % grain == 0 || b == n, "n %zu: share starts at %zu, not on the grain", n, b);
          next = e;
        }
        CHECK(next == n, "n %zu size %d: shares end at %zu", n, size, next);
      }
}

void check_rhs() {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> normal(0.0, 0.1);
  // n = 8 and 4 (compile-time kernels), 5 (run time), 1 (the vector case); depth 1 and 2; m < n
  // (the m-sweep, which the team leaves alone).
  const std::vector<std::vector<std::int64_t>> cases = {
      {8, 128, 128, 128, 8}, {4, 96, 200, 4}, {5, 150, 130, 5}, {1, 20000, 1}, {8, 8}, {8, 300, 8}, {9, 200, 200, 3}};
  ThreadTeam team(3);
  for (const auto& dims : cases) {
    Network net(dims);
    std::vector<double> target = random_vector(static_cast<std::size_t>(net.m() * net.n()), rng, normal);
    const Cost cost = quadratic_cost_on(target.data(), net.m(), net.n());
    Flow flow(net, cost);
    FlowWorkspace alone(net), split(net, &team);
    std::vector<double> y(net.state_size()), dy1(net.state_size()), dy2(net.state_size(), -1.0);
    for (double& v : y) v = normal(rng);
    const double g1 = flow.rhs(y.data(), dy1.data(), alone);
    const double g2 = flow.rhs(y.data(), dy2.data(), split);
    CHECK(g1 == g2, "dims[1] = %lld: value %.17g vs %.17g", static_cast<long long>(dims[1]), g1, g2);
    std::size_t differ = 0;
    for (std::size_t i = 0; i < y.size(); ++i) differ += dy1[i] != dy2[i];
    CHECK(differ == 0, "dims[1] = %lld depth %d: %zu of %zu RHS entries differ", static_cast<long long>(dims[1]),
          net.depth(), differ, y.size());
  }
}

void check_integration() {
  std::mt19937_64 rng(5);
  Network net({8, 128, 128, 8});  // 18,432 weights: the stepper's passes are split too
  std::vector<double> target(64, 0.0);
  for (int i = 0; i < 8; ++i) target[static_cast<std::size_t>(i * 9)] = 2.0 - 0.2 * i;
  const Cost cost = quadratic_cost_on(target.data(), 8, 8);
  Flow flow(net, cost);
  std::normal_distribution<double> normal(0.0, 0.3 / std::sqrt(128.0));
  std::vector<double> y0(net.state_size());
  for (double& v : y0) v = normal(rng);
  for (Method method : {Method::dopri5, Method::dop853, Method::tsit5}) {
    IntegrateOptions opt;
    opt.rtol = 1e-8;
    opt.atol = 1e-10;
    FlowSystem one(flow);
    const Solution a = integrate(one, tableau(method), 0.0, 3.0, y0.data(), {3.0}, opt);
    ThreadTeam team(2);
    FlowSystem two(flow, &team);
    opt.team = &team;
    const Solution b = integrate(two, tableau(method), 0.0, 3.0, y0.data(), {3.0}, opt);
    double diff = 0.0, scale = 0.0;
    for (std::size_t i = 0; i < y0.size(); ++i) {
      diff = std::fmax(diff, std::fabs(a.final_state[i] - b.final_state[i]));
      scale = std::fmax(scale, std::fabs(a.final_state[i]));
    }
    // Same steps (an accept/reject decision would need an error norm within rounding of 1), so
    // the states agree to rounding.
    CHECK(a.naccept == b.naccept && a.nfev == b.nfev, "method %d: %lld/%lld steps, %lld/%lld evaluations",
          static_cast<int>(method), static_cast<long long>(a.naccept), static_cast<long long>(b.naccept),
          static_cast<long long>(a.nfev), static_cast<long long>(b.nfev));
    CHECK(diff <= 1e-13 * scale, "method %d: final states differ by %.3e (scale %.3e)", static_cast<int>(method), diff,
          scale);
    CHECK(a.status == Status::t_end && b.status == Status::t_end, "status");
  }
}

// Networks on data (data_sweep.cpp): the products split by rows or sample columns on Eigen's kernel blocks,
// so every team size gives the one-thread bits; with and without biases, the identity input's activated path.
void check_data_rhs() {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal(0.0, 0.3);
  struct Case {
    std::vector<std::int64_t> dims;
    std::int64_t samples;  // 0: the identity input
    Activation activation;
    bool bias;
  };
  const std::vector<Case> cases = {{{20, 64, 48, 5}, 200, Activation::tanh, false},
                                   {{7, 33, 130, 3}, 77, Activation::relu, true},
                                   {{3, 96, 2}, 1000, Activation::gelu, true},
                                   {{72, 72, 72, 72}, 0, Activation::isru, false}};
  for (const Case& k : cases) {
    Network net(k.dims, k.bias);
    const std::int64_t s = k.samples == 0 ? net.n() : k.samples;
    std::vector<double> X = random_vector(static_cast<std::size_t>(net.n() * s), rng, normal);
    std::vector<double> target = random_vector(static_cast<std::size_t>(net.m() * s), rng, normal);
    const Inputs inputs = k.samples == 0 ? Inputs{} : Inputs{X.data(), s, k.bias};
    Flow flow(net, quadratic_cost_on(target.data(), net.m(), s), k.activation, inputs);
    std::vector<double> y = random_vector(net.state_size(), rng, normal), dy1(net.state_size());
    FlowWorkspace alone(flow);
    const double g1 = flow.rhs(y.data(), dy1.data(), alone);
    for (int size : {2, 3}) {
      ThreadTeam team(size);
      FlowWorkspace split(flow, &team);
      for (int repeat = 0; repeat < 3; ++repeat) {
        std::vector<double> dy2(net.state_size(), -1.0);
        const double g2 = flow.rhs(y.data(), dy2.data(), split);
        std::size_t differ = 0;
        for (std::size_t i = 0; i < y.size(); ++i) differ += dy1[i] != dy2[i];
        CHECK(g1 == g2 && differ == 0,
              "data dims[1] = %lld, team of %d: value %.17g vs %.17g, %zu of %zu entries differ",
              static_cast<long long>(k.dims[1]), size, g1, g2, differ, y.size());
      }
    }
  }
}

}  // namespace

int main() {
  check_jobs();
  check_unstarted_parts_run_on_caller();
  check_shares();
  check_rhs();
  check_data_rhs();
  check_integration();
  return check_report("test_thread_team");
}
