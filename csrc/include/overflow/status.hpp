// How an integration ended (DESIGN.md section 3): a status, never a crash.
#pragma once
#include <string>

namespace overflow {

enum class Status { converged, t_end, event, blowup, domain, max_steps, failed, interrupted };

const char* status_name(Status status);

}  // namespace overflow
