// overflow._core: bindings only; the work is in the C++ library (csrc/include/overflow).
#include "register.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "overflow's compiled core: the gradient flow's RHS, explicit RK steppers, integration loop";
  overflow::python::register_status(m);  // first: the classes below return a Status
  overflow::python::register_run_options(m);
  overflow::python::register_cost(m);
  overflow::python::register_ensemble(m);
  overflow::python::register_integrate(m);
  overflow::python::register_solver(m);
  overflow::python::register_rhs_solver(m);
  overflow::python::register_tableau(m);
}
