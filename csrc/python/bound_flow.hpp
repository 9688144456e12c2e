// A Flow built from the bindings' arguments, holding the numpy arrays it reads (the cost's data and
// the inputs X): the one place where register_integrate, register_solver, register_ensemble and
// register_cost turn (dims, cost, activation, inputs, bias, leaky_slope) into a Flow.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "arrays.hpp"

namespace overflow::python {

class BoundFlow {
 public:
  // inputs: None (the identity input) or an (n, s) array, n = dims[0]; the cost is then m x s.
  // overflow/network.py has checked the values (finite X); the shapes are checked here and by Flow.
  BoundFlow(std::vector<std::int64_t> dims, std::uintptr_t vg, std::uintptr_t hvp, const CArray& data,
            const std::string& activation, const py::object& inputs, bool bias, double leaky_slope)
      : data_(data),
        net_(std::move(dims), bias),
        on_data_(!inputs.is_none()),
        inputs_(on_data_ ? as_inputs(inputs, net_.n()) : CArray(0)),
        flow_(net_, make_cost(vg, hvp, data_, net_.m(), columns()), parse_activation(activation),
              Inputs{on_data_ ? inputs_.data() : nullptr, on_data_ ? columns() : 0, bias}, leaky_slope) {}

  const Flow& flow() const { return flow_; }
  const Network& network() const { return flow_.network(); }

 private:
  std::int64_t columns() const { return on_data_ ? static_cast<std::int64_t>(inputs_.shape(1)) : net_.n(); }

  static CArray as_inputs(const py::object& inputs, std::int64_t n) {
    CArray X = CArray::ensure(inputs);
    if (!X) throw std::invalid_argument("inputs must be None or a float64 array of shape (n, samples)");
    if (X.ndim() != 2 || X.shape(0) != n || X.shape(1) < 1) {
      std::string shape;
      for (py::ssize_t i = 0; i < X.ndim(); ++i) shape += (i ? ", " : "") + std::to_string(X.shape(i));
      throw std::invalid_argument("inputs must have shape (n, samples) = (" + std::to_string(n) +
                                  ", samples >= 1), got (" + shape + (X.ndim() == 1 ? ",)" : ")"));
    }
    return X;
  }

  CArray data_;  // the cost's parameters
  Network net_;
  bool on_data_;
  CArray inputs_;  // X (n x samples, C-contiguous float64), or empty
  Flow flow_;
};

}  // namespace overflow::python
