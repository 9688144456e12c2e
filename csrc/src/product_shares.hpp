// How the data sweep (data_sweep.cpp) and its Jacobian-vector product (data_jvp.cpp) split a product's
// output rows or sample columns across the thread team, the same bits for any team size (internal header).
#pragma once

#include <cstdint>

#include "overflow/thread_team.hpp"

namespace overflow::detail {

// Eigen computes a row-major product C = A B as C^T = B^T A^T: the rows of C are the columns of its panels,
// which come in blocks of at most 8 (kRowGrain), and the columns of C its rows, which come in blocks of 3
// packets (24 doubles with AVX-512: kColumnGrain). A share of C's rows or columns starting on a multiple of
// that block therefore goes through the same kernels, in the same order of sums, as in the product
// computed whole: the same bits for any team size (tests/test_data_threads.py).
constexpr std::int64_t kRowGrain = 8;
constexpr std::int64_t kColumnGrain = 24;

// A product's output rows or columns [begin, end) of n, in blocks of `grain`, split across the team when its
// `work` multiply-adds are worth a job (thread_team.hpp's use_team), else all at once on the calling thread.
// Each share writes only its own rows or columns; the tail of fewer than `grain` joins the last block, so
// that no share is a single row or column (a matrix-vector product, summed in another order).
template <class F>
void split(ThreadTeam* team, std::int64_t work, std::int64_t n, std::int64_t grain, F&& fn) {
  if (!use_team(team, work)) {
    fn(std::int64_t{0}, n);
    return;
  }
  team->run([&](int rank) {
    const std::int64_t size = team->size();
    const std::int64_t blocks = n < grain ? 1 : n / grain;
    const std::int64_t b = blocks * rank / size * grain;
    const std::int64_t e = rank + 1 == size ? n : blocks * (rank + 1) / size * grain;
    if (b < e) fn(b, e);
  });
}

}  // namespace overflow::detail
