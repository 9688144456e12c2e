// How an integration ended: a status, never a crash (Python reports it by name: status_name).
#pragma once
#include <string>

namespace overflow {

enum class Status { converged, t_end, event, blowup, domain, max_steps, failed, interrupted };

const char* status_name(Status status);

}  // namespace overflow
