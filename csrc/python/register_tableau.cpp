// The method table (overflow._options builds METHODS and IMPLICIT_METHODS from it) and the tableaux
// as numpy data, for property tests from Python.
#include "arrays.hpp"
#include "overflow/tableau.hpp"
#include "register.hpp"

namespace overflow::python {

void register_tableau(py::module_& m) {
  py::class_<MethodInfo>(m, "MethodInfo", "One row of the method table (csrc/src/tableau.cpp).")
      .def_property_readonly("name", [](const MethodInfo& r) { return std::string(r.name); })
      .def_readonly("c_code", &MethodInfo::c_code, "Its code in the C ABI (enum of_method).")
      .def_property_readonly(
          "scheme", [](const MethodInfo& r) { return std::string(scheme_name(r.scheme)); },
          "'explicit_rk', 'gauss', 'rosenbrock' or 'radau'.")
      .def_readonly("order", &MethodInfo::order, "Order of the propagated solution.")
      .def_readonly("error_order", &MethodInfo::error_order, "Order of the embedded error estimate.")
      .def_readonly("control_order", &MethodInfo::control_order, "The order the step control takes the estimate for.")
      .def_readonly("dense_order", &MethodInfo::dense_order, "Order of the dense-output interpolant.")
      .def("__repr__", [](const MethodInfo& r) {
        return "MethodInfo(name='" + std::string(r.name) + "', c_code=" + std::to_string(r.c_code) + ", scheme='" +
               scheme_name(r.scheme) + "', order=" + std::to_string(r.order) +
               ", error_order=" + std::to_string(r.error_order) + ", control_order=" + std::to_string(r.control_order) +
               ", dense_order=" + std::to_string(r.dense_order) + ")";
      });
  m.def(
      "method_table",
      [] {
        py::list rows;
        for (const MethodInfo& row : method_table()) rows.append(py::cast(row));
        return rows;
      },
      "Every method's row of the method table, in the C ABI's order.");
  m.def("methods", &method_names, "Names of the explicit RK methods.");
  m.def(
      "tableau",
      [](const std::string& name) {
        Method method;
        if (!parse_method(name, method)) throw std::invalid_argument("unknown method " + name);
        const Tableau& t = tableau(method);
        // Each field as an array of the shape its size must have (the shape is not read from the data).
        auto vec = [&name](const std::vector<double>& v, std::vector<py::ssize_t> shape) {
          py::ssize_t size = 1;
          for (py::ssize_t d : shape) size *= d;
          if (size != static_cast<py::ssize_t>(v.size()))
            throw std::logic_error(name + ": a tableau field holds " + std::to_string(v.size()) + " numbers, not " +
                                   std::to_string(size));
          return to_numpy(std::vector<double>(v), std::move(shape));
        };
        const py::ssize_t s = t.stages, e = t.explicit_rk.extra_stages;
        py::dict d;
        d["name"] = t.name;
        d["order"] = t.order;
        d["error_order"] = t.error_order;
        d["control_order"] = t.control_order;
        d["dense_order"] = t.dense_order;
        d["stages"] = t.stages;
        d["extra_stages"] = t.explicit_rk.extra_stages;
        d["c"] = vec(t.c, {s});
        d["a"] = vec(t.a, {s, s});
        d["b"] = vec(t.b, {s});
        d["e"] = vec(t.e, {static_cast<py::ssize_t>(t.e.size())});  // s + 1; rosenbrock s; gauss 0
        d["e_low"] = vec(t.explicit_rk.e_low, {static_cast<py::ssize_t>(t.explicit_rk.e_low.size())});
        d["extra_c"] = vec(t.explicit_rk.extra_c, {e});
        d["extra_a"] = vec(t.explicit_rk.extra_a, {e, s + 1 + e});
        d["dense"] = vec(t.explicit_rk.dense, {s + 1 + e, t.explicit_rk.dense_degree});
        d["stability_boundary"] = t.explicit_rk.stability_boundary;
        d["stiffness_stage"] = t.explicit_rk.stiffness_stage;
        return d;
      },
      py::arg("name"), "A method's Butcher tableau, embedded estimate and dense-output polynomials.");
  m.attr("AUTO_METHOD") = py::make_tuple(tableau(kAutoMethod.nonstiff).name, tableau(kAutoMethod.stiff).name);
}

}  // namespace overflow::python
