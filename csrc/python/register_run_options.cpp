// overflow._core.RunOptions: the options of one run as a typed object (overflow/_options.py builds it
// from checked values; the fields carry _options.py's names).
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

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

// One keyword's value as T, or a TypeError naming the field.
template <class T>
T field(const char* name, py::handle value, const char* expected) {
  if constexpr (std::is_same_v<T, bool>) {
    const std::string type = Py_TYPE(value.ptr())->tp_name;
    if (!py::isinstance<py::bool_>(value) && type != "numpy.bool" && type != "numpy.bool_")
      throw py::type_error(std::string("RunOptions.") + name + " must be " + expected + ", got " +
                           Py_TYPE(value.ptr())->tp_name);
  }
  try {
    return value.cast<T>();
  } catch (const py::cast_error&) {
    throw py::type_error(std::string("RunOptions.") + name + " must be " + expected + ", got " +
                         Py_TYPE(value.ptr())->tp_name);
  }
}

// RunOptions(**kwargs) in one pass over the keywords given: pybind11's keyword matching (a copy of
// the dict, a lookup per parameter) cost about 1.5 us, a tenth of a small integrate call.
RunOptions from_keywords(const py::kwargs& kwargs) {
  RunOptions o;
  for (auto [key, value] : kwargs) {
    auto is = [k = key.ptr()](const char* name) { return PyUnicode_CompareWithASCIIString(k, name) == 0; };
    if (is("method")) {
      if (!py::isinstance<py::str>(value)) throw py::type_error("RunOptions.method must be a str");
      o.method = value.cast<std::string>();
    } else if (is("rtol")) {
      o.rtol = field<double>("rtol", value, "a real number");
    } else if (is("atol")) {
      o.atol = field<double>("atol", value, "a real number");
    } else if (is("rtol_components")) {
      o.rtol_components = field<std::vector<double>>("rtol_components", value, "a list of real numbers");
    } else if (is("first_step")) {
      o.first_step = field<double>("first_step", value, "a real number");
    } else if (is("max_step")) {
      o.max_step = field<double>("max_step", value, "a real number");
    } else if (is("min_step")) {
      o.min_step = field<double>("min_step", value, "a real number");
    } else if (is("max_steps")) {
      o.max_steps = field<std::int64_t>("max_steps", value, "an int");
    } else if (is("gtol")) {
      o.gtol = field<double>("gtol", value, "a real number");
    } else if (is("max_norm")) {
      o.max_norm = field<double>("max_norm", value, "a real number");
    } else if (is("save_states")) {
      o.save_states = field<bool>("save_states", value, "a bool");
    } else if (is("project")) {
      o.project = field<bool>("project", value, "a bool");
    } else if (is("record_dense")) {
      o.record_dense = field<bool>("record_dense", value, "a bool");
    } else if (is("threads")) {
      o.threads = field<int>("threads", value, "an int");
    } else if (is("events")) {
      o.events = field<EventArgs>("events", value, "a list of event tuples (overflow.events.prepare)");
    } else {
      throw py::type_error("RunOptions got an unexpected keyword argument '" + std::string(py::str(key)) + "'");
    }
  }
  return o;
}

}  // namespace

void register_run_options(py::module_& m) {
  py::class_<RunOptions>(m, "RunOptions",
                         "The options of one run (overflow/_options.py: names, defaults and checks). Keyword "
                         "construction; each field can be set; a value of the wrong type is a TypeError.")
      .def(py::init(&from_keywords),
           "RunOptions(*, method='auto', rtol, atol, rtol_components=[], first_step=0.0, max_step=inf, min_step=0.0, "
           "max_steps, gtol=0.0, "
           "max_norm, "
           "save_states=True, project=False, record_dense=False, threads=1, events=[]): the core's defaults "
           "(IntegrateOptions) for "
           "those not given.")
      .def_readwrite("method", &RunOptions::method)
      .def_readwrite("rtol", &RunOptions::rtol)
      .def_readwrite("atol", &RunOptions::atol)
      .def_readwrite("rtol_components", &RunOptions::rtol_components,
                     "one rtol per state component (empty: rtol for all; rtol is then their smallest)")
      .def_readwrite("first_step", &RunOptions::first_step, "0: Hairer's starting-step estimate")
      .def_readwrite("max_step", &RunOptions::max_step)
      .def_readwrite("min_step", &RunOptions::min_step)
      .def_readwrite("max_steps", &RunOptions::max_steps)
      .def_readwrite("gtol", &RunOptions::gtol, "0: no stop on ||grad g||")
      .def_readwrite("max_norm", &RunOptions::max_norm)
      .def_property(
          "save_states", [](const RunOptions& o) { return o.save_states; },
          flag_setter([](RunOptions& o, bool on) { o.save_states = on; }))
      .def_property(
          "project", [](const RunOptions& o) { return o.project; },
          flag_setter([](RunOptions& o, bool on) { o.project = on; }))
      .def_property(
          "record_dense", [](const RunOptions& o) { return o.record_dense; },
          flag_setter([](RunOptions& o, bool on) { o.record_dense = on; }), "keep every step's interpolant")
      .def_readwrite("threads", &RunOptions::threads, "threads for one trajectory (integrate_flow)")
      .def_readwrite("events", &RunOptions::events, "events as overflow.events.prepare gives them");
}

}  // namespace overflow::python
