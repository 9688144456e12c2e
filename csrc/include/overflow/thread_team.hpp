// A fixed team of threads that runs one job at a time on all its members (fork-join), for one
// trajectory whose state is too large for one core: the stepper's vector passes and the RHS
// products are split across the team. Helpers spin briefly between jobs (a DOP853 step on a
// 67,584-entry state is ~150 jobs, a few microseconds each) and then sleep.
#pragma once
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace overflow {

// A thread the core needed could not be started (the system's limit on threads or on address space
// was reached). Thrown only after the threads already started have been stopped and joined, so the
// caller may go on (Python: RuntimeError; the C ABI: OF_ERROR_THREAD_START).
class ThreadStartError : public std::runtime_error {
 public:
  // Worker k of n (worker 0 is the calling thread) failed to start for `reason`.
  ThreadStartError(int k, int n, const std::string& reason)
      : std::runtime_error("could not start worker " + std::to_string(k) + " of " + std::to_string(n) + ": " + reason) {
  }
};

// Starts worker k of n running body(); a start failure (std::system_error) becomes ThreadStartError.
template <class F>
std::thread start_worker(int k, int n, F&& body) {
  try {
    return std::thread(std::forward<F>(body));
  } catch (const std::system_error& e) {
    throw ThreadStartError(k, n, e.code().message());
  }
}

class ThreadTeam {
 public:
  // size >= 1 members: the calling thread (rank 0) and size - 1 helper threads. Throws
  // ThreadStartError, with no helper left running, if one cannot be started.
  explicit ThreadTeam(int size);
  ~ThreadTeam();
  ThreadTeam(const ThreadTeam&) = delete;
  ThreadTeam& operator=(const ThreadTeam&) = delete;

  int size() const { return size_; }

  // Runs fn(part) for every part in [0, size()) and returns when all have finished: part 0 on the
  // calling thread, part r on helper r, unless helper r has not started it by the time the calling
  // thread is done with its own, which then runs it itself (a helper that is descheduled or asleep
  // delays the job by nothing instead of by its whole absence). fn must not throw (a helper cannot
  // hand an exception back) and must not depend on which thread runs a part.
  template <class F>
  void run(F&& fn) {
    if (size_ == 1) {
      fn(0);
      return;
    }
    using Fn = std::remove_reference_t<F>;
    dispatch([](void* ctx, int rank) { (*static_cast<Fn*>(ctx))(rank); },
             const_cast<void*>(static_cast<const void*>(&fn)));
  }

 private:
  void dispatch(void (*call)(void*, int), void* ctx);
  void helper(int rank);
  // Wakes the started helpers with stop_ set and joins them (the destructor, a failed constructor).
  void stop_helpers();
  // Takes part `part` of job `generation` for the calling thread; false if another thread has.
  bool claim(int part, std::uint64_t generation);

  struct alignas(64) Claim {
    std::atomic<std::uint64_t> generation{0};  // the last job whose part this is taken in
  };

  int size_;
  std::vector<std::thread> threads_;
  void (*call_)(void*, int) = nullptr;
  void* ctx_ = nullptr;
  alignas(64) std::atomic<std::uint64_t> generation_{0};  // one increment per job
  alignas(64) std::atomic<int> pending_{0};               // parts 1..size-1 not finished
  std::unique_ptr<Claim[]> claims_;                       // per part
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
};

// Products smaller than this many multiply-adds stay on the calling thread (about a microsecond of
// work, the cost of one job on the team).
constexpr std::int64_t kTeamMinWork = 16384;

// Team shares of a product's rows or columns are whole blocks of this many (the kernels' blocking).
constexpr std::size_t kTeamGrain = 8;

// Whether a product of `work` multiply-adds is split across the team (null: no team).
inline bool use_team(const ThreadTeam* team, std::int64_t work) {
  return team != nullptr && team->size() > 1 && work >= kTeamMinWork;
}

// The part [begin, end) of [0, n) that `rank` of `size` takes: contiguous, the boundaries on
// multiples of `grain` (cache lines of the state, row blocks of a product).
inline std::pair<std::size_t, std::size_t> team_share(std::size_t n, int rank, int size, std::size_t grain) {
  if (size == 1) return {0, n};  // no divisions on the one-thread path
  const std::size_t blocks = (n + grain - 1) / grain;
  const auto r = static_cast<std::size_t>(rank), s = static_cast<std::size_t>(size);
  const std::size_t b0 = blocks * r / s, b1 = blocks * (r + 1) / s;
  return {std::min(n, b0 * grain), std::min(n, b1 * grain)};
}

}  // namespace overflow
