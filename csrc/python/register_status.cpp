// overflow._core.Status: the core's Status enum (status.hpp), whose values the C ABI's OF_* status
// codes and the ensemble's status codes are; Python reports a status by its name.
#include "overflow/status.hpp"
#include "register.hpp"

namespace overflow::python {

void register_status(pybind11::module_& m) {
  pybind11::enum_<Status> status(m, "Status", "How a step or a run ended (csrc/include/overflow/status.hpp).");
  for (int code = 0; code <= static_cast<int>(Status::stepped); ++code)
    status.value(status_name(static_cast<Status>(code)), static_cast<Status>(code));
}

}  // namespace overflow::python
