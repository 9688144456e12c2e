// The tableaux as numpy data, for property tests from Python.
#include "arrays.hpp"
#include "overflow/tableau.hpp"
#include "register.hpp"

namespace overflow::python {

void register_tableau(py::module_& m) {
  m.def("methods", &method_names, "Names of the explicit RK methods.");
  m.def(
      "tableau",
      [](const std::string& name) {
        Method method;
        if (!parse_method(name, method)) throw std::invalid_argument("unknown method " + name);
        const Tableau& t = tableau(method);
        auto vec = [](const std::vector<double>& v, std::vector<py::ssize_t> shape) {
          return to_numpy(std::vector<double>(v), std::move(shape));
        };
        const py::ssize_t s = t.stages, e = t.extra_stages;
        py::dict d;
        d["name"] = t.name;
        d["order"] = t.order;
        d["error_order"] = t.error_order;
        d["control_order"] = t.control_order;
        d["dense_order"] = t.dense_order;
        d["stages"] = t.stages;
        d["extra_stages"] = t.extra_stages;
        d["c"] = vec(t.c, {s});
        d["a"] = vec(t.a, {s, s});
        d["b"] = vec(t.b, {s});
        d["e"] = vec(t.e, {s + 1});
        d["e_low"] = vec(t.e_low, {static_cast<py::ssize_t>(t.e_low.size())});
        d["extra_c"] = vec(t.extra_c, {e});
        d["extra_a"] = vec(t.extra_a, {e, s + 1 + e});
        d["dense"] = vec(t.dense, {s + 1 + e, t.dense_degree});
        d["stability_boundary"] = t.stability_boundary;
        d["stiffness_stage"] = t.stiffness_stage;
        return d;
      },
      py::arg("name"), "A method's Butcher tableau, embedded estimate and dense-output polynomials.");
  m.attr("AUTO_METHOD") = py::make_tuple(tableau(kAutoMethod.nonstiff).name, tableau(kAutoMethod.stiff).name);
}

}  // namespace overflow::python
