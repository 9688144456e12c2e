// How a step or a run ended: a status, never a crash. One enum for the C++ core, the C ABI (its
// OF_* status codes equal these values: static_assert in csrc/src/capi.cpp) and Python
// (overflow._core.Status; the public Python API reports status_name()).
#pragma once
#include <string>

namespace overflow {

enum class Status : int {
  converged = 0,    // ||grad g|| <= gtol
  t_end = 1,        // reached the requested time
  event = 2,        // a terminal event occurred
  blowup = 3,       // max |y_i| exceeded max_norm
  domain = 4,       // the cost left its domain and the step could not be shrunk back into it
  max_steps = 5,    // max_steps accepted steps
  failed = 6,       // step-size underflow
  interrupted = 7,  // Ctrl-C, a save callback's stop, or an ensemble stopped early
  stepped = 8,      // one step of a stepping session, its bound not yet reached (never ends a run)
};

// The last status a run can end with (stepped is a session's step only).
constexpr Status kLastRunStatus = Status::interrupted;

const char* status_name(Status status);

}  // namespace overflow
