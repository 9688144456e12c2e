// A generic ODE from Python (integrate_rhs, RhsSolver): the GenericSystem in the core's coordinates
// (generic_system.hpp: tau = direction * t, z = y / scale) and the one place that maps between them and the
// user's: the arguments in, the event functions (which see user t and y) and every time and state out.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "arrays.hpp"
#include "overflow/events.hpp"
#include "overflow/generic_system.hpp"
#include "overflow/integrate.hpp"

namespace overflow::python {

// The keyword-only arguments of integrate_rhs and RhsSolver: jac_address=0, scale=None, direction=1. Parsed in
// one pass over the keywords given: pybind11's own keyword matching cost a small run about 0.9 us.
struct RhsKeywords {
  std::uintptr_t jac = 0;
  py::object scale = py::none();
  int direction = 1;
};

inline RhsKeywords rhs_keywords(const py::kwargs& kwargs, const char* function) {
  RhsKeywords k;
  for (auto [key, value] : kwargs) {
    auto is = [p = key.ptr()](const char* name) { return PyUnicode_CompareWithASCIIString(p, name) == 0; };
    auto integer = [&](const char* name) {  // an int or numpy integer (__index__), not a bool or a float
      if (!PyIndex_Check(value.ptr()) || PyBool_Check(value.ptr()) || py::isinstance<py::bool_>(value))
        throw py::type_error(std::string(function) + ": " + name + " must be an int, got " +
                             Py_TYPE(value.ptr())->tp_name);
      PyObject* index = PyNumber_Index(value.ptr());
      if (!index) throw py::error_already_set();
      return py::reinterpret_steal<py::int_>(index);
    };
    if (is("jac_address")) {
      k.jac = integer("jac_address").cast<std::uintptr_t>();
    } else if (is("scale")) {
      k.scale = py::reinterpret_borrow<py::object>(value);
    } else if (is("direction")) {
      k.direction = integer("direction").cast<int>();
    } else {
      throw py::type_error(std::string(function) + "() got an unexpected keyword argument '" +
                           std::string(py::str(key)) + "'");
    }
  }
  return k;
}

// The system for rhs (and jac, 0 for none) on `data` (alive as long as the system), with the user's time
// direction (1 or -1) and scale (None or n entries > 0). atol floors the difference Jacobian's increments.
inline GenericSystem make_rhs_system(std::uintptr_t rhs, std::uintptr_t jac, const CArray& data, std::size_t n,
                                     const py::object& scale, int direction, double atol) {
  if (n == 0) throw std::invalid_argument("y0 is empty: the core integrates states of size >= 1");
  if (direction != 1 && direction != -1)
    throw std::invalid_argument("direction must be 1 or -1, got " + std::to_string(direction));
  GenericSystem sys(as_function<of_rhs_fn>(rhs, "rhs"), const_cast<double*>(data.data()), n,
                    jac ? reinterpret_cast<of_rhs_fn>(jac) : nullptr);
  CArray s;
  if (!scale.is_none()) {
    s = CArray::ensure(scale);
    if (!s) {
      PyErr_Clear();
      throw py::type_error("scale must be None or an array of real numbers of shape (" + std::to_string(n) + ",)");
    }
    if (s.ndim() != 1 || static_cast<std::size_t>(s.size()) != n)
      throw std::invalid_argument("scale must have shape (" + std::to_string(n) + ",)");
  }
  sys.set_coordinates(direction, scale.is_none() ? nullptr : s.data());
  sys.set_difference_floor(atol);
  return sys;
}

// Time t in the user's direction beyond t0: the message for a span or bound the other way.
inline void require_ahead(const GenericSystem& sys, double t0, double t1, const char* name0, const char* name1) {
  if (!(sys.core_time(t1) > sys.core_time(t0)))
    throw std::invalid_argument(std::string(name1) + " = " + detail::fmt(t1) + " must be " +
                                (sys.direction() > 0 ? "> " : "< ") + name0 + " = " + detail::fmt(t0) +
                                " with direction = " + std::to_string(sys.direction()));
}

// The events of a run on `sys`: each user function called through a trampoline with user t and y (a
// crossing's direction is counted along the integration, as scipy does: for a backward run, -1 is a value
// that falls as t decreases). The built-in kinds pass through. Owns the trampolines' state: keep it alive
// as long as the events.
class UserEvents {
 public:
  std::vector<Event> wrap(std::vector<Event> events, const GenericSystem& sys) {
    if (sys.direction() == 1 && sys.scale().empty()) return events;
    for (std::size_t i = 0; i < events.size(); ++i) {
      Event& e = events[i];
      if (e.kind != Event::Kind::function) continue;
      auto user = std::make_unique<Call>(Call{e.fn, e.data, &sys, std::vector<double>(sys.dim()), i});
      e.fn = &call;
      e.data = user.get();
      calls_.push_back(std::move(user));
    }
    return events;
  }

 private:
  struct Call {
    EventFn fn;
    void* data;
    const GenericSystem* sys;
    std::vector<double> y;
    std::size_t index;
  };
  // events.hpp refuses a NaN with the core's time in its message: here it is named in user time.
  static double call(double tau, const double* z, std::int64_t n, void* p) {
    auto* c = static_cast<Call*>(p);
    c->sys->to_user(z, c->y.data());
    const double t = c->sys->user_time(tau), value = c->fn(t, c->y.data(), n, c->data);
    if (std::isnan(value)) {
      char at[40];
      std::snprintf(at, sizeof at, "%.17g", t);
      throw std::invalid_argument("event " + std::to_string(c->index) + " returned NaN at t = " + at +
                                  " (an event function must return a real number)");
    }
    return value;
  }
  std::vector<std::unique_ptr<Call>> calls_;
};

// count states of sys.dim() entries, in place, from the core's coordinates to the user's.
inline void states_to_user(const GenericSystem& sys, double* states, std::size_t count) {
  if (sys.scale().empty()) return;
  for (std::size_t k = 0; k < count; ++k) sys.to_user(states + k * sys.dim(), states + k * sys.dim());
}
inline void times_to_user(const GenericSystem& sys, std::vector<double>& times) {
  if (sys.direction() == 1) return;
  for (double& t : times) t = sys.user_time(t);
}

// A run's Solution from the core's coordinates to the user's; nfev then counts every call of the
// right-hand side, the difference quotients' included.
inline void to_user(Solution& sol, const GenericSystem& sys) {
  const std::size_t n = sys.dim();
  sol.nfev += sys.difference_evaluations();
  if (sys.direction() == 1 && sys.scale().empty()) return;
  times_to_user(sys, sol.t);
  states_to_user(sys, sol.states.data(), sol.states.size() / n);
  sol.t_final = sys.user_time(sol.t_final);
  states_to_user(sys, sol.final_state.data(), 1);
  for (auto& times : sol.t_events) times_to_user(sys, times);
  for (auto& states : sol.y_events) states_to_user(sys, states.data(), states.size() / n);
  times_to_user(sys, sol.switch_times);
  times_to_user(sys, sol.dense_t);
  states_to_user(sys, sol.dense_nodes.data(), sol.dense_nodes.size() / n);
}

}  // namespace overflow::python
