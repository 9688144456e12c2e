// Many trajectories of one system, each with its own adaptive steps, over a pool of threads.
// Work is handed out one trajectory at a time from an atomic counter (run times differ by orders
// of magnitude), and every trajectory runs the same code on its own buffers, so the results do
// not depend on the number of workers or on which worker ran what.
#pragma once
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "overflow/detail/sizes.hpp"
#include "overflow/integrate.hpp"
#include "overflow/thread_team.hpp"

namespace overflow {

// One row per trajectory; the per-point arrays are row-major (trajectory, t_eval point[, state]).
struct EnsembleResult {
  std::vector<std::int8_t> status;  // Status codes; -1 for a trajectory never started (interrupted run)
  std::vector<double> t_final, final_loss, final_grad_norm;
  std::vector<std::int64_t> nfev, naccept, nreject;
  std::vector<std::int64_t> naccept_stiff;  // method "auto": steps of the stiff method
  std::vector<std::int64_t> nkink, nslide;  // relu-family networks on data: as Solution's
  std::vector<std::int8_t> stalled;         // a gtol not reached: ||grad g|| had stalled (Solution)
  std::vector<double> event_first;          // count x events: each event's first crossing (NaN: none)
  std::vector<double> final_state;          // count x dim
  std::vector<double> loss_at;              // count x T: the loss at t_eval, NaN after an early stop
  std::vector<double> states_at;            // count x T x dim, only with EnsembleOptions::keep_states
  bool interrupted = false;
};

struct EnsembleOptions {
  int workers = 1;  // threads, the calling one included
  bool keep_states = false;
  // Polled by the calling thread about every 50 ms; true stops every worker ("interrupted").
  std::function<bool()> interrupted;
};

// make_system() builds one System per worker (each owns its workspace). y0s is count x dim.
// Throws ThreadStartError, with no worker left running, if a worker cannot be started.
template <class MakeSystem>
EnsembleResult integrate_ensemble(MakeSystem make_system, const Tableau& tab, double t0, double t1, const double* y0s,
                                  std::size_t count, std::size_t dim, const std::vector<double>& t_eval,
                                  const IntegrateOptions& options, const EnsembleOptions& eopt) {
  const std::size_t T = t_eval.size();
  const std::size_t E = options.events.size();
  {  // The result's arrays, checked before they are allocated (sizes.hpp).
    const std::string what = "the results of " + std::to_string(count) + " trajectories";
    std::size_t per = 10 + E;  // per trajectory: the scalars, the events, then final_state, loss_at, states_at
    for (std::size_t part : {dim, T, eopt.keep_states ? checked_mul(T, dim, what) : 0})
      if (!size_add(per, part, per)) throw std::invalid_argument(what + " do not fit in a size");
    check_memory(checked_mul(count, per, what), what);
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EnsembleResult res;
  res.status.assign(count, -1);
  res.t_final.assign(count, nan);
  res.final_loss.assign(count, nan);
  res.final_grad_norm.assign(count, nan);
  res.nfev.assign(count, 0);
  res.naccept.assign(count, 0);
  res.nreject.assign(count, 0);
  res.naccept_stiff.assign(count, 0);
  res.nkink.assign(count, 0);
  res.nslide.assign(count, 0);
  res.stalled.assign(count, 0);
  res.event_first.assign(count * E, nan);
  res.final_state.assign(count * dim, nan);
  res.loss_at.assign(count * T, nan);
  if (eopt.keep_states) res.states_at.assign(count * T * dim, nan);

  std::atomic<std::size_t> next{0};
  std::atomic<bool> stop{false};
  int running = 0;  // guarded by done_mutex
  std::mutex done_mutex;
  std::condition_variable done;
  std::exception_ptr error;
  std::mutex error_mutex;

  IntegrateOptions opt = options;
  opt.team = nullptr;  // the ensemble is parallel over trajectories; one team cannot serve many solvers
  opt.save_steps = false;
  opt.save_states = eopt.keep_states;
  opt.interrupted = [&stop] { return stop.load(std::memory_order_relaxed); };

  auto run_one = [&](auto& solver, std::size_t i, const IntegrateOptions& o) {
    Solution sol = integrate(solver, t0, t1, y0s + i * dim, t_eval, o);
    res.status[i] = static_cast<std::int8_t>(sol.status);
    res.t_final[i] = sol.t_final;
    res.final_loss[i] = sol.final_loss;
    res.final_grad_norm[i] = sol.final_grad_norm;
    res.nfev[i] = sol.nfev;  // as Result.nfev: without the evaluations that only report the loss at t_eval
    res.naccept[i] = sol.naccept;
    res.nreject[i] = sol.nreject;
    res.naccept_stiff[i] = sol.naccept_stiff;
    res.nkink[i] = sol.nkink;
    res.nslide[i] = sol.nslide;
    res.stalled[i] = sol.stalled ? 1 : 0;
    for (std::size_t e = 0; e < E && e < sol.t_events.size(); ++e)
      if (!sol.t_events[e].empty()) res.event_first[i * E + e] = sol.t_events[e].front();
    std::copy(sol.final_state.begin(), sol.final_state.end(), res.final_state.begin() + i * dim);
    std::copy(sol.loss.begin(), sol.loss.end(), res.loss_at.begin() + i * T);
    if (eopt.keep_states) std::copy(sol.states.begin(), sol.states.end(), res.states_at.begin() + i * T * dim);
  };
  auto work = [&](const IntegrateOptions& o) {
    try {
      auto sys = make_system();
      Solver<decltype(sys)> solver(sys, tab, o);  // reused: init() resets it for each start
      for (std::size_t i; !stop.load(std::memory_order_relaxed) && (i = next.fetch_add(1)) < count;)
        run_one(solver, i, o);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      stop = true;
    }
  };

  // The calling thread is worker 0: it alone may poll the caller's interrupt check (Python's
  // signal handlers run on the main thread only), and it raises the shared stop flag.
  IntegrateOptions opt0 = opt;
  if (eopt.interrupted) {
    opt0.interrupted = [&] {
      if (!stop.load(std::memory_order_relaxed) && eopt.interrupted()) stop = true;
      return stop.load(std::memory_order_relaxed);
    };
  }
  const int workers = std::max(1, std::min<int>(eopt.workers, static_cast<int>(std::max<std::size_t>(count, 1))));
  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(workers - 1));
  running = workers - 1;
  try {
    for (int w = 1; w < workers; ++w) {
      pool.push_back(start_worker(w, workers, [&] {
        work(opt);
        std::lock_guard<std::mutex> lock(done_mutex);
        --running;
        done.notify_one();
      }));
    }
  } catch (...) {
    // A worker could not be started: stop and join the ones that were (their errors, if any, are
    // consequences of the same shortage), then report the start failure.
    stop = true;
    for (auto& th : pool) th.join();
    throw;
  }
  work(opt0);
  // Worker 0 ran out of trajectories; keep honouring Ctrl-C until the others finish theirs.
  {
    std::unique_lock<std::mutex> lock(done_mutex);
    while (running > 0) {
      if (done.wait_for(lock, std::chrono::milliseconds(50)) == std::cv_status::timeout && eopt.interrupted) {
        lock.unlock();
        if (eopt.interrupted()) stop = true;
        lock.lock();
      }
    }
  }
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
  res.interrupted = stop.load();
  return res;
}

}  // namespace overflow
