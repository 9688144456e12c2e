#include "overflow/thread_team.hpp"

#include <chrono>
#include <stdexcept>
#include <string>

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#include <immintrin.h>
#define OVERFLOW_PAUSE() _mm_pause()
#else
#define OVERFLOW_PAUSE() std::this_thread::yield()
#endif

namespace overflow {

namespace {
// How long an idle helper spins before it sleeps: longer than the serial gaps between jobs inside
// a step (the cost call, the controller), short enough that a finished run frees its cores.
constexpr auto kSpin = std::chrono::microseconds(200);
// Pauses (tens of nanoseconds each) before a waiting thread starts yielding its core.
constexpr int kPollsBeforeYield = 2000;
}  // namespace

ThreadTeam::ThreadTeam(int size) : size_(size) {
  if (size < 1) throw std::invalid_argument("threads must be >= 1, got " + std::to_string(size));
  claims_ = std::make_unique<Claim[]>(static_cast<std::size_t>(size));
  threads_.reserve(static_cast<std::size_t>(size - 1));
  try {
    for (int rank = 1; rank < size; ++rank)
      threads_.push_back(start_worker(rank, size, [this, rank] { helper(rank); }));
  } catch (...) {
    stop_helpers();  // no destructor runs for a constructor that throws
    throw;
  }
}

ThreadTeam::~ThreadTeam() { stop_helpers(); }

void ThreadTeam::stop_helpers() {
  stop_.store(true);
  generation_.fetch_add(1);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    wake_.notify_all();
  }
  for (auto& t : threads_) t.join();
}

void ThreadTeam::dispatch(void (*call)(void*, int), void* ctx) {
  call_ = call;
  ctx_ = ctx;
  pending_.store(size_ - 1, std::memory_order_relaxed);
  // Sequentially consistent with the helper's sleepers_ increment and generation_ re-check: either
  // the helper sees the new job, or this thread sees it asleep and wakes it under the mutex.
  const std::uint64_t generation = generation_.fetch_add(1) + 1;
  if (sleepers_.load() > 0) {
    std::lock_guard<std::mutex> lock(mutex_);
    wake_.notify_all();
  }
  call(ctx, 0);
  for (int part = 1; part < size_; ++part) {
    if (claim(part, generation)) {
      call(ctx, part);
      pending_.fetch_sub(1, std::memory_order_release);
    }
  }
  int polls = 0;
  while (pending_.load(std::memory_order_acquire) != 0) {
    // More threads than free cores: a helper may be waiting for this core, so give it up.
    if (++polls > kPollsBeforeYield) {
      std::this_thread::yield();
    } else {
      OVERFLOW_PAUSE();
    }
  }
}

void ThreadTeam::helper(int rank) {
  std::uint64_t seen = 0;
  while (true) {
    std::uint64_t now = generation_.load(std::memory_order_acquire);
    if (now == seen) {
      const auto until = std::chrono::steady_clock::now() + kSpin;
      int polls = 0;
      while ((now = generation_.load(std::memory_order_acquire)) == seen) {
        if (++polls > kPollsBeforeYield) {
          std::this_thread::yield();
        } else {
          OVERFLOW_PAUSE();
        }
        if ((polls & 255) == 0 && std::chrono::steady_clock::now() > until) break;
      }
      if (now == seen) {
        std::unique_lock<std::mutex> lock(mutex_);
        sleepers_.fetch_add(1);
        wake_.wait(lock, [&] { return generation_.load() != seen; });
        sleepers_.fetch_sub(1);
        now = generation_.load(std::memory_order_acquire);
      }
    }
    seen = now;
    if (stop_.load()) return;
    // A failed claim: the caller has run this part (and may have finished the job, so call_ and
    // ctx_ are not read then).
    if (!claim(rank, now)) continue;
    call_(ctx_, rank);
    pending_.fetch_sub(1, std::memory_order_release);
  }
}

bool ThreadTeam::claim(int part, std::uint64_t generation) {
  std::atomic<std::uint64_t>& taken = claims_[static_cast<std::size_t>(part)].generation;
  std::uint64_t last = taken.load(std::memory_order_relaxed);
  return last < generation && taken.compare_exchange_strong(last, generation, std::memory_order_acq_rel);
}

}  // namespace overflow
