#include "overflow/status.hpp"

namespace overflow {

const char* status_name(Status status) {
  switch (status) {
    case Status::converged: return "converged";
    case Status::t_end: return "t_end";
    case Status::event: return "event";
    case Status::blowup: return "blowup";
    case Status::domain: return "domain";
    case Status::max_steps: return "max_steps";
    case Status::failed: return "failed";
    case Status::interrupted: return "interrupted";
    case Status::stepped: return "stepped";
  }
  return "failed";
}

}  // namespace overflow
