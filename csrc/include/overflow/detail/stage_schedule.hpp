// Which passes over the state form the stage inputs of an explicit tableau. On wide networks the
// stepper's time is the traffic of these passes (the stages stream from L3), and late DOP853 stages
// read up to ten vectors each. A pass that reads y and the early stages can also write, for the next
// few stages, the partial sums y + h sum_{j < start} a_ij K_j while those stages are in cache; each of
// them then reads its partial sum and the few stages computed since. The grouping is chosen from the
// tableau's sparsity by counting the vectors each pass reads and writes.
#pragma once
#include <vector>

#include "overflow/detail/linear_combination.hpp"

namespace overflow::detail {

struct StagePass {
  int partial = -1;  // -1: the stage reads y; else the partial-sum buffer holding its start
  Terms terms;       // the stages added to that start
  // Partial sums this pass also writes (a group's first stage): buffer index and terms over y.
  std::vector<std::pair<int, Terms>> partials;
};

// One StagePass per stage (index 0, f(t, y), has none and is left empty); `buffers` is the number
// of partial-sum buffers the schedule needs. `a` is stages x stages, row-major.
struct StageSchedule {
  std::vector<StagePass> passes;
  int buffers = 0;

  // Every stage by one pass over y and its stages (the plain rows of a).
  static StageSchedule one_pass_per_stage(const std::vector<double>& a, int stages) {
    StageSchedule out;
    out.passes.resize(static_cast<std::size_t>(stages));
    for (int i = 1; i < stages; ++i) out.passes[static_cast<std::size_t>(i)].terms = Terms::from_row(&a[i * stages], i);
    return out;
  }

  static StageSchedule from_tableau(const std::vector<double>& a, int stages) {
    auto nonzero = [&](int i, int from, int to) {  // nonzero a_ij, from <= j < to
      int n = 0;
      for (int j = from; j < to; ++j) n += a[i * stages + j] != 0.0;
      return n;
    };
    // Cost of the group of stages [first, last): vectors read plus vectors written.
    auto group_cost = [&](int first, int last) {
      int cost = 1 + nonzero(first, 0, first) + 1;
      for (int m = first + 1; m < last; ++m) {
        const bool partial = nonzero(m, 0, first) > 0;
        cost += partial ? 1 + 1 : 0;  // the start pass writes it; the stage reads it back
        if (!partial) cost += 1;      // otherwise the stage reads y
        cost += nonzero(m, first, m) + 1;
      }
      return cost;
    };
    // best[f]: cheapest grouping of the stages f..stages-1; the ties keep smaller groups.
    std::vector<int> best(stages + 1, 0), next(stages + 1, stages);
    for (int first = stages - 1; first >= 1; --first) {
      best[first] = -1;
      for (int last = first + 1; last <= stages; ++last) {
        const int cost = group_cost(first, last) + best[last];
        if (best[first] < 0 || cost < best[first]) {
          best[first] = cost;
          next[first] = last;
        }
      }
    }
    StageSchedule out;
    out.passes.resize(stages);
    std::vector<double> row(stages);
    for (int first = 1; first < stages; first = next[first]) {
      const int last = next[first];
      out.passes[first].terms = Terms::from_row(&a[first * stages], first);
      int buffer = 0;
      for (int m = first + 1; m < last; ++m) {
        StagePass& pass = out.passes[m];
        if (nonzero(m, 0, first) > 0) {
          for (int j = 0; j < stages; ++j) row[j] = j < first ? a[m * stages + j] : 0.0;
          out.passes[first].partials.emplace_back(buffer, Terms::from_row(row.data(), first));
          pass.partial = buffer++;
        }
        for (int j = 0; j < stages; ++j) row[j] = j >= first && j < m ? a[m * stages + j] : 0.0;
        pass.terms = Terms::from_row(row.data(), m);
      }
      if (buffer > out.buffers) out.buffers = buffer;
    }
    return out;
  }
};

}  // namespace overflow::detail
