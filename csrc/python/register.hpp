#pragma once
#include <pybind11/pybind11.h>

namespace overflow::python {
void register_cost(pybind11::module_& m);
void register_ensemble(pybind11::module_& m);
void register_integrate(pybind11::module_& m);
void register_rhs_solver(pybind11::module_& m);
void register_run_options(pybind11::module_& m);
void register_solver(pybind11::module_& m);
void register_status(pybind11::module_& m);
void register_tableau(pybind11::module_& m);
}  // namespace overflow::python
