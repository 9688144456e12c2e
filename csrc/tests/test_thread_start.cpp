// Threads that cannot be started: with the address space limited (RLIMIT_AS) so that only a few
// thread stacks fit, a ThreadTeam, integrate_ensemble and the C ABI (of_solver_create_flow_threads,
// of_ensemble) must stop and join the threads that did start and report "could not start worker k
// of n: ..." (ThreadStartError, OF_ERROR_THREAD_START): no std::terminate, no hang. Once the limit
// is lifted the same calls succeed. Linux with glibc only (skipped elsewhere: exit code 77).
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "check.hpp"
#include "overflow/ensemble.hpp"
#include "overflow/flow_system.hpp"
#include "overflow/overflow.h"
#include "overflow/thread_team.hpp"
#include "reference_costs.hpp"

#if defined(__linux__) && defined(__GLIBC__)
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

namespace {

using namespace overflow;

constexpr int kWorkers = 256;

// Bytes of address space the process has mapped now (/proc/self/statm's first field).
std::size_t mapped_bytes() {
  unsigned long pages = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%lu", &pages) != 1) pages = 0;
    std::fclose(f);
  }
  return pages * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

bool set_address_limit(rlim_t bytes) {
  rlimit lim{};
  if (getrlimit(RLIMIT_AS, &lim) != 0) return false;
  lim.rlim_cur = bytes;
  return setrlimit(RLIMIT_AS, &lim) == 0;
}

// "could not start worker k of n: <reason>" with 1 <= k < n and a reason.
bool is_start_message(const char* text, int n) {
  const char* at = std::strstr(text, "could not start worker ");
  if (at == nullptr) return false;
  int k = 0, of = 0, used = 0;
  if (std::sscanf(at, "could not start worker %d of %d: %n", &k, &of, &used) != 2 || used == 0) return false;
  return of == n && k >= 1 && k < n && at[used] != '\0';
}

struct Problem {
  std::vector<double> data = {2, 3, 1.5, 0.0, -0.5, 0.2, 1.0, 0.7};  // m, n, T (2 x 3)
  Network net{{3, 4, 2}};
  Flow flow{net, [this] {
              Cost c;
              c.value_and_grad = &matrix_factorization_cost;
              c.data = data.data();
              c.m = 2;
              c.n = 3;
              return c;
            }()};
  std::vector<double> y0s = std::vector<double>(kWorkers * net.state_size(), 0.1);
};

// Every way of starting threads, under the current limit; `expect_failure`: each must fail cleanly.
void run_all(Problem& p, bool expect_failure) {
  const char* when = expect_failure ? "limited" : "unlimited";
  try {
    ThreadTeam team(kWorkers);
    CHECK(!expect_failure, "%s: a team of %d threads started", when, kWorkers);
  } catch (const ThreadStartError& e) {
    CHECK(expect_failure && is_start_message(e.what(), kWorkers), "%s: ThreadTeam: '%s'", when, e.what());
    std::printf("ThreadTeam: %s\n", e.what());
  }

  IntegrateOptions opt;
  opt.rtol = 1e-6;
  opt.atol = 1e-9;
  EnsembleOptions eopt;
  eopt.workers = kWorkers;
  try {
    const EnsembleResult r = integrate_ensemble([&p] { return FlowSystem(p.flow); }, tableau(Method::dopri5), 0.0, 1.0,
                                                p.y0s.data(), kWorkers, p.net.state_size(), {}, opt, eopt);
    CHECK(!expect_failure, "%s: an ensemble on %d workers started", when, kWorkers);
    CHECK(r.status[kWorkers - 1] == static_cast<std::int8_t>(Status::t_end), "%s: status %d", when, r.status[0]);
  } catch (const ThreadStartError& e) {
    CHECK(expect_failure && is_start_message(e.what(), kWorkers), "%s: integrate_ensemble: '%s'", when, e.what());
    std::printf("integrate_ensemble: %s\n", e.what());
  }

  const int64_t dims[3] = {3, 4, 2};
  of_flow* flow = nullptr;
  CHECK(of_flow_create(2, dims, 3, OF_LINEAR, matrix_factorization_cost, nullptr, p.data.data(), &flow) == OF_OK, "%s",
        of_last_error());
  of_solver* s = reinterpret_cast<of_solver*>(&s);  // must come back NULL on failure
  const int rc = of_solver_create_flow_threads(flow, OF_DOPRI5, 1e-6, 1e-9, 0.0, kWorkers, &s);
  if (expect_failure) {
    CHECK(rc == OF_ERROR_THREAD_START && s == nullptr && is_start_message(of_last_error(), kWorkers),
          "of_solver_create_flow_threads: %d '%s'", rc, of_last_error());
    std::printf("%s\n", of_last_error());
  } else {
    CHECK(rc == OF_OK, "of_solver_create_flow_threads: %s", of_last_error());
  }
  of_solver_destroy(rc == OF_OK ? s : nullptr);
  std::vector<int8_t> status(kWorkers, 99);
  std::vector<double> t(kWorkers), loss(kWorkers), gnorm(kWorkers);
  std::vector<int64_t> nfev(kWorkers);
  const int erc = of_ensemble(flow, OF_DOPRI5, 1e-6, 1e-9, 0.0, 0.0, 1.0, p.y0s.data(), kWorkers, kWorkers,
                              status.data(), t.data(), loss.data(), gnorm.data(), nfev.data(), nullptr);
  if (expect_failure) {
    CHECK(erc == OF_ERROR_THREAD_START && is_start_message(of_last_error(), kWorkers) && status[0] == 99,
          "of_ensemble: %d '%s'", erc, of_last_error());
    std::printf("%s\n", of_last_error());
  } else {
    CHECK(erc == OF_OK && status[0] == OF_T_END, "of_ensemble: %s", of_last_error());
  }
  of_flow_destroy(flow);
}

}  // namespace

int main() {
  // Large default stacks, so that a few fit in the slack left below, whatever the allocator does.
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64u << 20);
  pthread_setattr_default_np(&attr);
  pthread_attr_destroy(&attr);

  Problem p;
  run_all(p, false);  // warms up everything (allocator arenas of finished threads are reused later)
  const std::size_t now = mapped_bytes();
  if (now == 0 || !set_address_limit(now + (192u << 20))) {
    std::printf("test_thread_start: cannot limit the address space; skipped\n");
    return 77;
  }
  run_all(p, true);
  set_address_limit(RLIM_INFINITY);
  run_all(p, false);  // nothing left behind: the same calls succeed
  return check_report("test_thread_start");
}

#else
int main() {
  std::printf("test_thread_start: needs Linux and glibc; skipped\n");
  return 77;
}
#endif
