// Bindings that call a cost kernel or the flow's RHS once (analysis, tests, benchmarks).
#include <chrono>
#include <memory>
#include <utility>

#include "arrays.hpp"
#include "bound_flow.hpp"
#include "overflow/detail/aligned_vector.hpp"
#include "overflow/network.hpp"
#include "overflow/thread_team.hpp"
#include "reference_costs.hpp"
#include "register.hpp"

namespace overflow::python {

namespace {

// The team a binding's products split across: none for one thread (all on the calling thread).
std::unique_ptr<ThreadTeam> team_of(int threads) {
  if (threads < 1) throw std::invalid_argument("threads must be >= 1");
  return threads > 1 ? std::make_unique<ThreadTeam>(threads) : nullptr;
}

}  // namespace

void register_cost(py::module_& m) {
  m.def(
      "cost_value_and_grad",
      [](std::uintptr_t vg, const CArray& data, const CArray& P) {
        if (P.ndim() != 2) throw std::invalid_argument("P must be 2-D");
        const auto rows = P.shape(0), cols = P.shape(1);
        auto fn = as_function<of_value_and_grad_fn>(vg, "value_and_grad");
        std::vector<double> grad(static_cast<std::size_t>(rows * cols));
        double value;
        {
          py::gil_scoped_release release;
          value = fn(P.data(), rows, cols, grad.data(), const_cast<double*>(data.data()));
        }
        return py::make_tuple(value, to_numpy(std::move(grad), {rows, cols}));
      },
      py::arg("vg_address"), py::arg("data"), py::arg("P"), "f(P) and grad f(P) through the cost ABI.");

  m.def(
      "cost_hvp",
      [](std::uintptr_t hvp, const CArray& data, const CArray& P, const CArray& V) {
        if (P.ndim() != 2) throw std::invalid_argument("P must be 2-D");
        const auto rows = P.shape(0), cols = P.shape(1);
        require_size(V, static_cast<std::size_t>(rows * cols), "V");
        auto fn = as_function<of_hvp_fn>(hvp, "hvp");
        std::vector<double> out(static_cast<std::size_t>(rows * cols));
        {
          py::gil_scoped_release release;
          fn(P.data(), V.data(), rows, cols, out.data(), const_cast<double*>(data.data()));
        }
        return to_numpy(std::move(out), {rows, cols});
      },
      py::arg("hvp_address"), py::arg("data"), py::arg("P"), py::arg("V"), "Hess f(P)[V] through the cost ABI.");

  m.def(
      "flow_rhs",
      [](std::vector<std::int64_t> dims, std::uintptr_t vg, const CArray& data, const CArray& y,
         const std::string& activation, const py::object& inputs, bool bias, double leaky_slope, int threads) {
        const BoundFlow bound(std::move(dims), vg, 0, data, activation, inputs, bias, leaky_slope);
        const Flow& flow = bound.flow();
        require_size(y, flow.dim(), "y");
        const std::unique_ptr<ThreadTeam> team = team_of(threads);
        FlowWorkspace ws(flow, team.get());
        std::vector<double> dy(flow.dim());
        double value;
        {
          py::gil_scoped_release release;
          value = flow.rhs(y.data(), dy.data(), ws);
        }
        return py::make_tuple(value, to_numpy(std::move(dy), {static_cast<py::ssize_t>(flow.dim())}));
      },
      py::arg("dims"), py::arg("vg_address"), py::arg("data"), py::arg("y"), py::arg("activation") = "none",
      py::kw_only(), py::arg("inputs") = py::none(), py::arg("bias") = false, py::arg("leaky_slope") = 0.01,
      py::arg("threads") = 1,
      "g(y) and dy = -grad g(y) for the flow of eq. 4 (or its activated network; on data X with inputs = X), the "
      "products split across `threads` threads.");

  m.def(
      "flow_jvp",
      [](std::vector<std::int64_t> dims, std::uintptr_t vg, std::uintptr_t hvp, const CArray& data, const CArray& y,
         const CArray& v, const std::string& activation, const py::object& inputs, bool bias, double leaky_slope,
         int threads) {
        const BoundFlow bound(std::move(dims), vg, hvp, data, activation, inputs, bias, leaky_slope);
        const Flow& flow = bound.flow();
        require_size(y, flow.dim(), "y");
        require_size(v, flow.dim(), "v");
        const std::unique_ptr<ThreadTeam> team = team_of(threads);
        JvpWorkspace ws(flow.network(), team.get());
        std::vector<double> out(flow.dim());
        {
          py::gil_scoped_release release;
          flow.jvp(y.data(), v.data(), out.data(), ws);
        }
        return to_numpy(std::move(out), {static_cast<py::ssize_t>(flow.dim())});
      },
      py::arg("dims"), py::arg("vg_address"), py::arg("hvp_address"), py::arg("data"), py::arg("y"), py::arg("v"),
      py::arg("activation") = "none", py::kw_only(), py::arg("inputs") = py::none(), py::arg("bias") = false,
      py::arg("leaky_slope") = 0.01, py::arg("threads") = 1,
      "J(y) v for the Jacobian J of the flow's right-hand side (any network; on data X with inputs = X), exact "
      "through the cost's hvp, the products of networks on data split across `threads` threads.");

  m.def(
      "flow_jvp_seconds",
      [](std::vector<std::int64_t> dims, std::uintptr_t vg, std::uintptr_t hvp, const CArray& data, const CArray& y,
         const CArray& v, int repeats, const std::string& activation, const py::object& inputs, bool bias,
         double leaky_slope, int threads) {
        const BoundFlow bound(std::move(dims), vg, hvp, data, activation, inputs, bias, leaky_slope);
        const Flow& flow = bound.flow();
        require_size(y, flow.dim(), "y");
        require_size(v, flow.dim(), "v");
        if (repeats < 1) throw std::invalid_argument("repeats must be >= 1");
        const std::unique_ptr<ThreadTeam> team = team_of(threads);
        JvpWorkspace ws(flow.network(), team.get());
        AlignedVector state(y.data(), y.data() + y.size()), direction(v.data(), v.data() + v.size()), out(flow.dim());
        py::gil_scoped_release release;
        // The first product also makes the state's passes, which the products of one step then share (as a
        // Krylov solve's do): the timed ones are those products alone.
        flow.jvp(state.data(), direction.data(), out.data(), ws);
        const auto start = std::chrono::steady_clock::now();
        for (int i = 0; i < repeats; ++i) flow.jvp(state.data(), direction.data(), out.data(), ws);
        const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
        return elapsed.count() / repeats;
      },
      py::arg("dims"), py::arg("vg_address"), py::arg("hvp_address"), py::arg("data"), py::arg("y"), py::arg("v"),
      py::arg("repeats"), py::arg("activation") = "none", py::kw_only(), py::arg("inputs") = py::none(),
      py::arg("bias") = false, py::arg("leaky_slope") = 0.01, py::arg("threads") = 1,
      "Seconds per exact Jacobian-vector product of the flow (benchmarks) at a state whose passes are already "
      "made, its products split across `threads` threads.");

  m.def(
      "flow_rhs_seconds",
      [](std::vector<std::int64_t> dims, std::uintptr_t vg, const CArray& data, const CArray& y, int repeats,
         const std::string& activation, const py::object& inputs, bool bias, double leaky_slope, int threads) {
        const BoundFlow bound(std::move(dims), vg, 0, data, activation, inputs, bias, leaky_slope);
        const Flow& flow = bound.flow();
        require_size(y, flow.dim(), "y");
        if (repeats < 1) throw std::invalid_argument("repeats must be >= 1");
        const std::unique_ptr<ThreadTeam> team = team_of(threads);
        FlowWorkspace ws(flow, team.get());
        // On cache-line aligned buffers, as the solver's stages are (numpy's need not be).
        AlignedVector state(y.data(), y.data() + y.size()), dy(flow.dim());
        py::gil_scoped_release release;
        flow.rhs(state.data(), dy.data(), ws);  // warm the caches
        const auto start = std::chrono::steady_clock::now();
        for (int i = 0; i < repeats; ++i) flow.rhs(state.data(), dy.data(), ws);
        const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
        return elapsed.count() / repeats;
      },
      py::arg("dims"), py::arg("vg_address"), py::arg("data"), py::arg("y"), py::arg("repeats"),
      py::arg("activation") = "none", py::kw_only(), py::arg("inputs") = py::none(), py::arg("bias") = false,
      py::arg("leaky_slope") = 0.01, py::arg("threads") = 1,
      "Seconds per evaluation of the flow's RHS (benchmarks), its products split across `threads` threads.");

  m.def(
      "reference_cost_address",
      [](const std::string& name) -> std::uintptr_t {
        if (name == "matrix_factorization") return reinterpret_cast<std::uintptr_t>(&matrix_factorization_cost);
        throw std::invalid_argument("no C++ reference cost named '" + name + "'");
      },
      py::arg("name"),
      "Address of a C++ cost with the same data layout as the Numba kernel of that name (benchmarks).");

  m.def(
      "invariants",
      [](std::vector<std::int64_t> dims, const CArray& y) {
        Network net(dims);
        require_size(y, net.state_size(), "y");
        std::vector<double> out;
        invariants(net, y.data(), out);
        return to_numpy(std::move(out), {static_cast<py::ssize_t>(out.size())});
      },
      py::arg("dims"), py::arg("y"), "The invariants C_i of definition 1, concatenated.");
}

}  // namespace overflow::python
