// The stage inputs the schedule forms (partial sums completed in place, groups written chunk by
// chunk) equal y + h sum_j a_ij K_j computed directly, for every explicit tableau, on one thread
// and split across a team, on a state whose length is not a multiple of the chunk.
#include <cmath>
#include <cstdio>
#include <vector>

#include "check.hpp"
#include "overflow/detail/explicit_rk.hpp"
#include "overflow/detail/stage_schedule.hpp"
#include "overflow/tableau.hpp"
#include "overflow/thread_team.hpp"

namespace {

using namespace overflow;

// Records every input it is given and answers with values that differ per call and per entry.
struct RecordingSystem {
  std::size_t n;
  std::vector<std::vector<double>> inputs, outputs;
  std::size_t dim() const { return n; }
  double eval(double, const double* y, double* dy) {
    inputs.emplace_back(y, y + n);
    const double call = static_cast<double>(outputs.size() + 1);
    for (std::size_t i = 0; i < n; ++i) dy[i] = std::sin(call * 0.7 + static_cast<double>(i) * 0.013) * (1.0 + call);
    outputs.emplace_back(dy, dy + n);
    return 0.0;
  }
};

void check_method(Method m, std::size_t n, ThreadTeam* team) {
  const Tableau& tab = tableau(m);
  ExplicitRK rk(tab, n, team);
  RecordingSystem sys{n, {}, {}};
  std::vector<double> y(n), y_new(n);
  for (std::size_t i = 0; i < n; ++i) y[i] = std::cos(0.37 * static_cast<double>(i)) * 3.0;
  sys.eval(0.0, y.data(), rk.f0());
  const double h = 0.137;
  rk.attempt(sys, 0.0, y.data(), h, overflow::Tolerance{1e-6, 1e-9}, y_new.data());
  const int s = tab.stages;
  CHECK(static_cast<int>(sys.inputs.size()) >= s, "%s: %zu evaluations", tab.name.c_str(), sys.inputs.size());
  double worst = 0.0;
  for (int i = 1; i < s; ++i)
    for (std::size_t q = 0; q < n; ++q) {
      double direct = 0.0;
      for (int j = 0; j < i; ++j) direct += h * tab.a[i * s + j] * sys.outputs[static_cast<std::size_t>(j)][q];
      direct += y[q];
      const double got = sys.inputs[static_cast<std::size_t>(i)][q];
      worst = std::fmax(worst, std::fabs(got - direct) / (1.0 + std::fabs(direct)));
    }
  // Summation in another order: a few roundings of terms of size <= |y| + h sum |a_ij| |K_j|.
  CHECK(worst < 1e-14, "%s n %zu team %d: stage input differs by %.3g", tab.name.c_str(), n, team ? team->size() : 1,
        worst);
}

}  // namespace

int main() {
  ThreadTeam team(2);
  for (Method m : {Method::bs3, Method::dopri5, Method::tsit5, Method::dop853})
    for (std::size_t n : {std::size_t{7}, std::size_t{1237}, std::size_t{20011}}) {
      check_method(m, n, nullptr);
      check_method(m, n, &team);
    }
  // DOP853's late stages read up to ten vectors each; the schedule must have grouped them.
  const Tableau& dop853 = tableau(Method::dop853);
  const auto schedule = detail::StageSchedule::from_tableau(dop853.a, dop853.stages);
  CHECK(schedule.buffers > 0, "dop853: no partial sums");
  return check_report("test_stage_schedule");
}
