// overflow._core.RunOptions: the options of one run as a typed object (overflow/_options.py builds it
// from checked values; the fields carry _options.py's names).
#include <cstdint>
#include <string>

#include "arrays.hpp"
#include "register.hpp"
#include "run_options.hpp"

namespace overflow::python {

namespace {

// A bool field's setter that takes True or False only (numpy's bool too), not 0 or 1, as the
// constructor does.
template <class Set>
py::cpp_function flag_setter(Set set) {
  return py::cpp_function(set, py::arg("self"), py::arg("value").noconvert());
}

}  // namespace

void register_run_options(py::module_& m) {
  const RunOptions d;
  py::class_<RunOptions>(m, "RunOptions",
                         "The options of one run (overflow/_options.py: names, defaults and checks). Keyword "
                         "construction; each field can be set; a value of the wrong type is a TypeError.")
      .def(py::init([](std::string method, double rtol, double atol, double first_step, double max_step,
                       std::int64_t max_steps, double gtol, double max_norm, bool save_states, bool project,
                       int threads, EventArgs events) {
             return RunOptions{std::move(method), rtol,       atol,    first_step, max_step, max_steps,
                               gtol,              max_norm,   save_states, project, threads, std::move(events)};
           }),
           py::kw_only(), py::arg("method") = d.method, py::arg("rtol") = d.rtol, py::arg("atol") = d.atol,
           py::arg("first_step") = d.first_step, py::arg("max_step") = d.max_step,
           py::arg("max_steps") = d.max_steps, py::arg("gtol") = d.gtol, py::arg("max_norm") = d.max_norm,
           py::arg("save_states").noconvert() = d.save_states, py::arg("project").noconvert() = d.project,
           py::arg("threads") = d.threads, py::arg("events") = d.events)
      .def_readwrite("method", &RunOptions::method)
      .def_readwrite("rtol", &RunOptions::rtol)
      .def_readwrite("atol", &RunOptions::atol)
      .def_readwrite("first_step", &RunOptions::first_step, "0: Hairer's starting-step estimate")
      .def_readwrite("max_step", &RunOptions::max_step)
      .def_readwrite("max_steps", &RunOptions::max_steps)
      .def_readwrite("gtol", &RunOptions::gtol, "0: no stop on ||grad g||")
      .def_readwrite("max_norm", &RunOptions::max_norm)
      .def_property("save_states", [](const RunOptions& o) { return o.save_states; },
                    flag_setter([](RunOptions& o, bool on) { o.save_states = on; }))
      .def_property("project", [](const RunOptions& o) { return o.project; },
                    flag_setter([](RunOptions& o, bool on) { o.project = on; }))
      .def_readwrite("threads", &RunOptions::threads, "threads for one trajectory (integrate_flow)")
      .def_readwrite("events", &RunOptions::events, "events as overflow.events.prepare gives them");
}

}  // namespace overflow::python
