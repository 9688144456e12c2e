// Conversions between numpy arrays and the core's buffers, shared by the register_* files.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "overflow/network.hpp"

namespace overflow::python {

namespace py = pybind11;
using CArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

// Hands a vector's buffer to numpy without a copy.
template <class T>
py::array_t<T> to_numpy(std::vector<T>&& v, std::vector<py::ssize_t> shape) {
  auto* owner = new std::vector<T>(std::move(v));
  py::capsule free_when_done(owner, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>(shape, owner->data(), free_when_done);
}

// Per event, its crossing times (k) and the states there (k x dim, given flattened) as numpy
// arrays: the lists Result.t_events / y_events and Solver.t_events / y_events hold.
inline std::pair<py::list, py::list> event_arrays(std::vector<std::vector<double>> times,
                                                  std::vector<std::vector<double>> states, py::ssize_t dim) {
  py::list t_out, y_out;
  for (std::size_t i = 0; i < times.size(); ++i) {
    const auto k = static_cast<py::ssize_t>(times[i].size());
    t_out.append(to_numpy(std::move(times[i]), {k}));
    y_out.append(to_numpy(std::move(states[i]), {k, dim}));
  }
  return {t_out, y_out};
}

inline void require_size(const CArray& a, std::size_t size, const char* name) {
  if (static_cast<std::size_t>(a.size()) != size) {
    throw std::invalid_argument(std::string(name) + " has " + std::to_string(a.size()) + " entries, expected " +
                                std::to_string(size));
  }
}

// "none" (or "linear") | "isru" | "tanh" | "relu" | "leaky_relu" | "sigmoid" | "softplus" | "gelu"
inline Activation parse_activation(const std::string& name) {
  if (name == "none" || name == "linear") return Activation::none;
  if (name == "isru") return Activation::isru;
  if (name == "tanh") return Activation::tanh;
  if (name == "relu") return Activation::relu;
  if (name == "leaky_relu") return Activation::leaky_relu;
  if (name == "sigmoid") return Activation::sigmoid;
  if (name == "softplus") return Activation::softplus;
  if (name == "gelu") return Activation::gelu;
  throw std::invalid_argument("unknown activation '" + name +
                              "': expected none, linear, isru, tanh, relu, leaky_relu, sigmoid, softplus or gelu");
}

template <class Fn>
Fn as_function(std::uintptr_t address, const char* name) {
  if (address == 0) throw std::invalid_argument(std::string(name) + " is a null function address");
  return reinterpret_cast<Fn>(address);
}

// A Cost over the float64 parameter array `data` (kept alive by the caller for the whole call).
inline Cost make_cost(std::uintptr_t vg, std::uintptr_t hvp, const CArray& data, std::int64_t m, std::int64_t n) {
  Cost cost;
  cost.value_and_grad = as_function<of_value_and_grad_fn>(vg, "value_and_grad");
  cost.hvp = hvp ? reinterpret_cast<of_hvp_fn>(hvp) : nullptr;
  cost.data = const_cast<double*>(data.data());
  cost.m = m;
  cost.n = n;
  return cost;
}

}  // namespace overflow::python
