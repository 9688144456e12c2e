// The C ABI of overflow.h: opaque handles over Flow, Solver and the ensemble. Every entry point
// validates its arguments, catches every exception and reports through of_last_error().
#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "overflow/detail/neuron_projection.hpp"
#include "overflow/detail/sizes.hpp"
#include "overflow/ensemble.hpp"
#include "overflow/flow_system.hpp"
#include "overflow/generic_system.hpp"
#include "overflow/integrate.hpp"
#include "overflow/network.hpp"
#include "overflow/overflow.h"
#include "overflow/session.hpp"
#include "overflow/thread_team.hpp"

struct of_flow {
  overflow::Flow flow;
};

namespace {

using overflow::Status;

// The C ABI's status codes are the core's Status values (status.hpp), so they pass through unmapped.
static_assert(OF_CONVERGED == static_cast<int>(Status::converged), "OF_CONVERGED");
static_assert(OF_T_END == static_cast<int>(Status::t_end), "OF_T_END");
static_assert(OF_EVENT == static_cast<int>(Status::event), "OF_EVENT");
static_assert(OF_BLOWUP == static_cast<int>(Status::blowup), "OF_BLOWUP");
static_assert(OF_DOMAIN == static_cast<int>(Status::domain), "OF_DOMAIN");
static_assert(OF_MAX_STEPS == static_cast<int>(Status::max_steps), "OF_MAX_STEPS");
static_assert(OF_FAILED == static_cast<int>(Status::failed), "OF_FAILED");
static_assert(OF_INTERRUPTED == static_cast<int>(Status::interrupted), "OF_INTERRUPTED");
static_assert(OF_STEPPED == static_cast<int>(Status::stepped), "OF_STEPPED");

// The activation codes are the core's Activation values (network.hpp), like the statuses.
static_assert(OF_LINEAR == static_cast<int>(overflow::Activation::none), "OF_LINEAR");
static_assert(OF_ISRU == static_cast<int>(overflow::Activation::isru), "OF_ISRU");
static_assert(OF_TANH == static_cast<int>(overflow::Activation::tanh), "OF_TANH");
static_assert(OF_RELU == static_cast<int>(overflow::Activation::relu), "OF_RELU");
static_assert(OF_LEAKY_RELU == static_cast<int>(overflow::Activation::leaky_relu), "OF_LEAKY_RELU");
static_assert(OF_SIGMOID == static_cast<int>(overflow::Activation::sigmoid), "OF_SIGMOID");
static_assert(OF_SOFTPLUS == static_cast<int>(overflow::Activation::softplus), "OF_SOFTPLUS");
static_assert(OF_GELU == static_cast<int>(overflow::Activation::gelu), "OF_GELU");
constexpr int32_t kLastActivation = OF_GELU;

const char* activation_name(overflow::Activation a) {
  static const char* const names[] = {"OF_LINEAR",     "OF_ISRU",    "OF_TANH",     "OF_RELU",
                                      "OF_LEAKY_RELU", "OF_SIGMOID", "OF_SOFTPLUS", "OF_GELU"};
  return names[static_cast<int>(a)];
}

thread_local std::string last_error;

int fail(int code, std::string message) {
  last_error = std::move(message);
  return code;
}

// Runs body() and turns every exception into an error code and message.
template <class Body>
int guarded(const char* function, Body&& body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return fail(OF_ERROR_MEMORY, std::string(function) + ": out of memory");
  } catch (const std::invalid_argument& e) {
    return fail(OF_ERROR_ARGUMENT, std::string(function) + ": " + e.what());
  } catch (const std::length_error& e) {  // a size past what a container can hold
    return fail(OF_ERROR_ARGUMENT, std::string(function) + ": " + e.what());
  } catch (const std::out_of_range& e) {  // dense output outside the last step (session.hpp)
    return fail(OF_ERROR_RANGE, std::string(function) + ": " + e.what());
  } catch (const std::logic_error& e) {
    return fail(OF_ERROR_STATE, std::string(function) + ": " + e.what());
  } catch (const overflow::ThreadStartError& e) {
    return fail(OF_ERROR_THREAD_START, std::string(function) + ": " + e.what());
  } catch (const std::exception& e) {
    return fail(OF_ERROR_INTERNAL, std::string(function) + ": " + e.what());
  } catch (...) {
    return fail(OF_ERROR_INTERNAL, std::string(function) + ": unknown exception");
  }
}

// Queries of the state need a successful of_solver_init (since creation or of_solver_set_projection).
#define OF_REQUIRE_INIT(solver)                                                                                     \
  do {                                                                                                              \
    if (!(solver)->impl->initialised())                                                                             \
      return fail(OF_ERROR_STATE, std::string(__func__) + ": the solver is not initialised (call of_solver_init)"); \
  } while (0)

#define OF_REQUIRE(ptr)                                                                             \
  do {                                                                                              \
    if ((ptr) == nullptr) return fail(OF_ERROR_NULL, std::string(__func__) + ": " #ptr " is NULL"); \
  } while (0)

overflow::IntegrateOptions make_options(double rtol, double atol, double max_step) {
  if (!(rtol > 0) || !std::isfinite(rtol) || !(atol > 0) || !std::isfinite(atol))
    throw std::invalid_argument(std::string("rtol and atol must be finite and > 0, got ") + std::to_string(rtol) +
                                " and " + std::to_string(atol));
  if (std::isnan(max_step)) throw std::invalid_argument("max_step is NaN");
  overflow::IntegrateOptions opt;
  opt.rtol = rtol;
  opt.atol = atol;
  opt.max_step = max_step > 0 ? max_step : std::numeric_limits<double>::infinity();
  return opt;
}

// The session behind an of_solver handle (session.hpp), on a flow or on a generic RHS.
class AnySolver {
 public:
  virtual ~AnySolver() = default;
  virtual std::size_t dim() const = 0;
  virtual void init(double t0, const double* y0) = 0;
  virtual bool initialised() const = 0;
  virtual Status step(double t_bound) = 0;
  virtual void dense(double t, double* out) = 0;
  virtual Status integrate(double t_end, double gtol, int64_t max_steps, of_save_fn save, void* user) = 0;
  virtual double t() const = 0;
  virtual const double* y() const = 0;
  virtual double loss() const = 0;
  virtual double grad_norm() const = 0;
  virtual of_stats stats() const = 0;
  virtual int64_t nkink() const = 0;
  virtual int64_t nslide() const = 0;
  virtual bool is_flow() const = 0;
  virtual void set_project(bool on) = 0;
  virtual double projection() const = 0;
  virtual void add_event(const overflow::Event& event) = 0;
  // A generic right-hand side's Jacobian function (null: differences); false on a flow.
  virtual bool set_jacobian(of_rhs_fn jac, void* data) = 0;
  virtual std::size_t event_count() const = 0;
  // The crossings of event i since init, or found by the last integrate call.
  virtual const std::vector<double>& event_times(std::size_t i) const = 0;
};

template <class System>
class SolverOn final : public AnySolver {
 public:
  // team: the threads sys was built on (owned here, so it outlives the system and the session).
  SolverOn(System sys, const overflow::Tableau& tab, const overflow::IntegrateOptions& opt,
           std::unique_ptr<overflow::ThreadTeam> team = nullptr)
      : team_(std::move(team)), sys_(std::move(sys)), session_(sys_, tab, with_team(opt, team_.get())) {}

  std::size_t dim() const override { return session_.dim(); }
  bool initialised() const override { return session_.initialised(); }
  void init(double t0, const double* y0) override {
    if constexpr (std::is_same<System, overflow::GenericSystem>::value) sys_.reset_difference_evaluations();
    session_.init(t0, y0);
  }
  Status step(double t_bound) override { return session_.step(t_bound); }
  void dense(double t, double* out) override { session_.dense(t, out); }

  Status integrate(double t_end, double gtol, int64_t max_steps, of_save_fn save, void* user) override {
    auto sink = [&](double t, const double* y, double value, double /*gnorm*/) {
      return save == nullptr || save(t, y, value, user) == 0;
    };
    return session_.run_to(t_end, gtol, max_steps, save != nullptr, sink).status;
  }

  void add_event(const overflow::Event& event) override { session_.add_event(event); }
  bool set_jacobian(of_rhs_fn jac, void* data) override {
    if constexpr (std::is_same<System, overflow::GenericSystem>::value) {
      sys_.set_jacobian(jac, data);
      return true;
    } else {
      (void)jac, (void)data;
      return false;
    }
  }
  std::size_t event_count() const override { return session_.event_count(); }
  const std::vector<double>& event_times(std::size_t i) const override { return session_.event_times()[i]; }

  double t() const override { return solver().t(); }
  const double* y() const override { return solver().y(); }
  double loss() const override { return solver().value(); }
  double grad_norm() const override { return solver().grad_norm(); }
  // nfev counts every call of the right-hand side, a difference Jacobian's included.
  of_stats stats() const override {
    int64_t nfev = solver().nfev();
    if constexpr (std::is_same<System, overflow::GenericSystem>::value) nfev += sys_.difference_evaluations();
    return of_stats{nfev, solver().naccept(), solver().nreject()};
  }
  int64_t nkink() const override { return solver().nkink(); }
  int64_t nslide() const override { return solver().nslide(); }
  bool is_flow() const override { return std::is_same<System, overflow::FlowSystem>::value; }
  void set_project(bool on) override { session_.set_project(on); }
  double projection() const override { return solver().max_projection(); }

 private:
  static overflow::IntegrateOptions with_team(overflow::IntegrateOptions opt, overflow::ThreadTeam* team) {
    opt.team = team;
    return opt;
  }
  const overflow::Solver<System>& solver() const { return session_.solver(); }

  std::unique_ptr<overflow::ThreadTeam> team_;
  System sys_;
  overflow::Session<System> session_;
};

// sum_i k_i^2 as an int64_t (std::invalid_argument where it does not fit, or on data).
int64_t invariants_length(const of_flow* flow) {
  if (flow->flow.on_data())
    throw std::invalid_argument(
        "a flow on data has no invariants C_i (they need the identity input); its per-neuron invariants "
        "are of_flow_neuron_invariants' (for OF_LINEAR, OF_RELU, OF_LEAKY_RELU)");
  const std::size_t size = overflow::invariants_size(flow->flow.network());
  if (size > static_cast<std::size_t>(std::numeric_limits<int64_t>::max()))
    throw std::invalid_argument("the invariants' size " + std::to_string(size) + " does not fit in int64_t");
  return static_cast<int64_t>(size);
}

// sum_{i<N} k_i, the hidden neurons, for a positively homogeneous activation (std::invalid_argument
// for another: the per-neuron differences are not conserved there). It fits: the state is larger.
int64_t neuron_invariants_length(const of_flow* flow) {
  const overflow::Activation a = flow->flow.activation();
  if (a != overflow::Activation::none && a != overflow::Activation::relu && a != overflow::Activation::leaky_relu)
    throw std::invalid_argument(std::string("the per-neuron invariants need a positively homogeneous activation "
                                            "(OF_LINEAR, OF_RELU, OF_LEAKY_RELU), this flow's is ") +
                                activation_name(a));
  return static_cast<int64_t>(overflow::neuron_invariants_size(flow->flow.network()));
}

// OF_LEAKY_RELU's slope for of_flow_create: the Flow's default (network.hpp), Python's DEFAULT_LEAKY_SLOPE.
constexpr double kDefaultLeakySlope = 0.01;

// of_flow_create and of_flow_create_data (inputs NULL: the identity input). Checks what C adds to
// the core's Flow, which validates the rest (samples, the slope, sizes).
int create_flow(const std::string& fn, int32_t depth, const int64_t* dims, int64_t dims_len, int32_t activation,
                double leaky_slope, const of_inputs* inputs, of_value_and_grad_fn value_and_grad, of_hvp_fn hvp,
                void* data, of_flow** out) {
  if (out == nullptr) return fail(OF_ERROR_NULL, fn + ": out is NULL");
  *out = nullptr;
  if (dims == nullptr) return fail(OF_ERROR_NULL, fn + ": dims is NULL");
  if (value_and_grad == nullptr) return fail(OF_ERROR_NULL, fn + ": value_and_grad is NULL");
  if (depth < 1) return fail(OF_ERROR_ARGUMENT, fn + ": depth must be >= 1, got " + std::to_string(depth));
  if (dims_len != static_cast<int64_t>(depth) + 1)
    return fail(OF_ERROR_ARGUMENT,
                fn + ": dims must have depth + 1 = " + std::to_string(static_cast<int64_t>(depth) + 1) +
                    " entries, got dims_len = " + std::to_string(dims_len));
  if (activation < 0 || activation > kLastActivation)
    return fail(OF_ERROR_ARGUMENT,
                fn + ": unknown activation code " + std::to_string(activation) + " (OF_LINEAR ... OF_GELU)");
  if (inputs != nullptr && inputs->X == nullptr)
    return fail(OF_ERROR_NULL, fn + ": inputs->X is NULL (samples = " + std::to_string(inputs->samples) +
                                   ", bias = " + std::to_string(inputs->bias) +
                                   "); the identity input, which has no bias, is inputs = NULL");
  if (inputs != nullptr && inputs->n_in != dims[0])
    return fail(OF_ERROR_ARGUMENT, fn + ": inputs->n_in = " + std::to_string(inputs->n_in) +
                                       " (the rows of X) must equal dims[0] = " + std::to_string(dims[0]));
  return guarded(fn.c_str(), [&] {
    overflow::Inputs in;
    if (inputs != nullptr) in = overflow::Inputs{inputs->X, inputs->samples, inputs->bias != 0};
    overflow::Network net(std::vector<std::int64_t>(dims, dims + dims_len), in.bias);
    overflow::Cost cost;
    cost.value_and_grad = value_and_grad;
    cost.hvp = hvp;
    cost.data = data;
    cost.m = net.m();
    cost.n = inputs != nullptr ? inputs->samples : net.n();
    *out = new of_flow{overflow::Flow(net, cost, static_cast<overflow::Activation>(activation), in, leaky_slope)};
    return OF_OK;
  });
}

}  // namespace

struct of_solver {
  std::unique_ptr<AnySolver> impl;
};

extern "C" {

const char* of_last_error(void) { return last_error.c_str(); }

const char* of_version(void) { return "0.1.0"; }

int of_flow_create(int32_t depth, const int64_t* dims, int64_t dims_len, int32_t activation,
                   of_value_and_grad_fn value_and_grad, of_hvp_fn hvp, void* data, of_flow** out) {
  return create_flow("of_flow_create", depth, dims, dims_len, activation, kDefaultLeakySlope, nullptr, value_and_grad,
                     hvp, data, out);
}

int of_flow_create_data(int32_t depth, const int64_t* dims, int64_t dims_len, int32_t activation, double leaky_slope,
                        const of_inputs* inputs, of_value_and_grad_fn value_and_grad, of_hvp_fn hvp, void* data,
                        of_flow** out) {
  return create_flow("of_flow_create_data", depth, dims, dims_len, activation, leaky_slope, inputs, value_and_grad, hvp,
                     data, out);
}

void of_flow_destroy(of_flow* flow) { delete flow; }

int of_flow_state_size(const of_flow* flow, int64_t* size) {
  OF_REQUIRE(flow);
  OF_REQUIRE(size);
  *size = static_cast<int64_t>(flow->flow.dim());
  return OF_OK;
}

int of_flow_rhs(const of_flow* flow, const double* y, double* dy, double* loss) {
  OF_REQUIRE(flow);
  OF_REQUIRE(y);
  OF_REQUIRE(dy);
  return guarded("of_flow_rhs", [&] {
    overflow::FlowWorkspace ws(flow->flow);  // sized for the flow's columns (its samples on data)
    const double v = flow->flow.rhs(y, dy, ws);
    if (loss) *loss = v;
    return OF_OK;
  });
}

int of_flow_invariants_size(const of_flow* flow, int64_t* size) {
  OF_REQUIRE(flow);
  OF_REQUIRE(size);
  return guarded("of_flow_invariants_size", [&] {
    *size = invariants_length(flow);
    return OF_OK;
  });
}

int of_flow_invariants(const of_flow* flow, const double* y, double* out, int64_t out_len) {
  OF_REQUIRE(flow);
  OF_REQUIRE(y);
  return guarded("of_flow_invariants", [&]() -> int {
    const int64_t size = invariants_length(flow);
    if (out_len != size)
      return fail(OF_ERROR_ARGUMENT,
                  "of_flow_invariants: out_len must be " + std::to_string(size) + ", got " + std::to_string(out_len));
    if (size > 0 && out == nullptr) return fail(OF_ERROR_NULL, "of_flow_invariants: out is NULL");
    overflow::invariants(flow->flow.network(), y, out);  // written in place: out_len doubles the caller has
    return OF_OK;
  });
}

int of_flow_neuron_invariants_size(const of_flow* flow, int64_t* size) {
  OF_REQUIRE(flow);
  OF_REQUIRE(size);
  return guarded("of_flow_neuron_invariants_size", [&] {
    *size = neuron_invariants_length(flow);
    return OF_OK;
  });
}

int of_flow_neuron_invariants(const of_flow* flow, const double* y, double* out, int64_t out_len) {
  OF_REQUIRE(flow);
  OF_REQUIRE(y);
  return guarded("of_flow_neuron_invariants", [&]() -> int {
    const int64_t size = neuron_invariants_length(flow);
    if (out_len != size)
      return fail(OF_ERROR_ARGUMENT, "of_flow_neuron_invariants: out_len must be " + std::to_string(size) + ", got " +
                                         std::to_string(out_len));
    if (size > 0 && out == nullptr) return fail(OF_ERROR_NULL, "of_flow_neuron_invariants: out is NULL");
    overflow::neuron_invariants(flow->flow.network(), y, out);
    return OF_OK;
  });
}

int of_solver_create_flow(const of_flow* flow, int32_t method, double rtol, double atol, double max_step,
                          of_solver** out) {
  return of_solver_create_flow_threads(flow, method, rtol, atol, max_step, 1, out);
}

int of_solver_create_flow_threads(const of_flow* flow, int32_t method, double rtol, double atol, double max_step,
                                  int32_t threads, of_solver** out) {
  OF_REQUIRE(out);
  *out = nullptr;
  OF_REQUIRE(flow);
  overflow::MethodChoice m;
  if (!overflow::parse_method_choice(method, m))
    return fail(OF_ERROR_ARGUMENT, "of_solver_create_flow: unknown method code " + std::to_string(method) +
                                       " (OF_BS3 ... OF_RODAS4, OF_AUTO, OF_RADAU5)");
  if (threads < 1)
    return fail(OF_ERROR_ARGUMENT,
                "of_solver_create_flow_threads: threads must be >= 1, got " + std::to_string(threads));
  return guarded("of_solver_create_flow", [&] {
    overflow::IntegrateOptions opt = make_options(rtol, atol, max_step);
    opt.stiff = m.stiff;
    std::unique_ptr<overflow::ThreadTeam> team;
    if (threads > 1) team = std::make_unique<overflow::ThreadTeam>(threads);
    overflow::FlowSystem sys(flow->flow, team.get());
    auto impl = std::make_unique<SolverOn<overflow::FlowSystem>>(std::move(sys), *m.start, opt, std::move(team));
    *out = new of_solver{std::move(impl)};
    return OF_OK;
  });
}

int of_solver_create_rhs(of_rhs_fn rhs, void* data, int64_t n, int32_t method, double rtol, double atol,
                         double max_step, of_solver** out) {
  OF_REQUIRE(out);
  *out = nullptr;
  OF_REQUIRE(rhs);
  if (n < 1) return fail(OF_ERROR_ARGUMENT, "of_solver_create_rhs: n must be >= 1, got " + std::to_string(n));
  overflow::MethodChoice m;
  if (!overflow::parse_method_choice(method, m))
    return fail(OF_ERROR_ARGUMENT, "of_solver_create_rhs: unknown method code " + std::to_string(method) +
                                       " (OF_BS3 ... OF_RODAS4, OF_AUTO, OF_RADAU5)");
  return guarded("of_solver_create_rhs", [&] {
    overflow::IntegrateOptions opt = make_options(rtol, atol, max_step);
    opt.stiff = m.stiff;
    overflow::GenericSystem sys(rhs, data, static_cast<std::size_t>(n));
    sys.set_difference_floor(atol);
    auto impl = std::make_unique<SolverOn<overflow::GenericSystem>>(std::move(sys), *m.start, opt);
    *out = new of_solver{std::move(impl)};
    return OF_OK;
  });
}

void of_solver_destroy(of_solver* solver) { delete solver; }

int of_solver_set_jacobian(of_solver* solver, of_rhs_fn jac, void* data) {
  OF_REQUIRE(solver);
  if (!solver->impl->set_jacobian(jac, data))
    return fail(OF_ERROR_ARGUMENT,
                "of_solver_set_jacobian: a flow's solver has its Jacobian already (through the cost's hvp, or "
                "differences of the flow's right-hand side on data); only a solver made by of_solver_create_rhs "
                "takes one");
  return OF_OK;
}

int of_solver_set_projection(of_solver* solver, int enable) {
  OF_REQUIRE(solver);
  if (enable && !solver->impl->is_flow())
    return fail(OF_ERROR_ARGUMENT, "of_solver_set_projection: a generic right-hand side has no invariants to keep");
  solver->impl->set_project(enable != 0);
  return OF_OK;
}

int of_solver_projection(const of_solver* solver, double* max_correction) {
  OF_REQUIRE(solver);
  OF_REQUIRE(max_correction);
  OF_REQUIRE_INIT(solver);
  *max_correction = solver->impl->projection();
  return OF_OK;
}

int of_solver_add_event(of_solver* solver, of_event_fn fn, void* data, int32_t direction, int32_t terminal) {
  OF_REQUIRE(solver);
  OF_REQUIRE(fn);
  if (terminal < 0) return fail(OF_ERROR_ARGUMENT, "of_solver_add_event: terminal must be >= 0");
  return guarded("of_solver_add_event", [&] {
    overflow::Event e;
    e.fn = fn;
    e.data = data;
    e.direction = direction > 0 ? 1 : direction < 0 ? -1 : 0;
    e.terminal = terminal;
    solver->impl->add_event(e);
    return OF_OK;
  });
}

int of_solver_event_times(const of_solver* solver, int32_t event, double* times, int64_t capacity, int64_t* count) {
  OF_REQUIRE(solver);
  OF_REQUIRE(count);
  OF_REQUIRE_INIT(solver);
  if (event < 0 || static_cast<std::size_t>(event) >= solver->impl->event_count())
    return fail(OF_ERROR_ARGUMENT, "of_solver_event_times: event " + std::to_string(event) + " out of range (" +
                                       std::to_string(solver->impl->event_count()) + " events)");
  if (capacity > 0 && times == nullptr)
    return fail(OF_ERROR_NULL, "of_solver_event_times: times is NULL (with capacity " + std::to_string(capacity) + ")");
  const std::vector<double>& found = solver->impl->event_times(static_cast<std::size_t>(event));
  *count = static_cast<int64_t>(found.size());
  const auto copied = std::min<std::size_t>(found.size(), capacity > 0 ? static_cast<std::size_t>(capacity) : 0);
  std::copy(found.begin(), found.begin() + static_cast<std::ptrdiff_t>(copied), times);
  return OF_OK;
}

int of_solver_init(of_solver* solver, double t0, const double* y0) {
  OF_REQUIRE(solver);
  OF_REQUIRE(y0);
  return guarded("of_solver_init", [&] {
    solver->impl->init(t0, y0);
    return OF_OK;
  });
}

int of_solver_step(of_solver* solver, double t_bound, int32_t* status) {
  OF_REQUIRE(solver);
  OF_REQUIRE(status);
  return guarded("of_solver_step", [&] {
    *status = static_cast<int32_t>(solver->impl->step(t_bound));
    return OF_OK;
  });
}

int of_solver_dense(of_solver* solver, double t, double* y_out) {
  OF_REQUIRE(solver);
  OF_REQUIRE(y_out);
  return guarded("of_solver_dense", [&] {
    solver->impl->dense(t, y_out);
    return OF_OK;
  });
}

int of_solver_integrate(of_solver* solver, double t_end, double gtol, int64_t max_steps, of_save_fn save, void* user,
                        int32_t* status) {
  OF_REQUIRE(solver);
  OF_REQUIRE(status);
  return guarded("of_solver_integrate", [&] {
    *status = static_cast<int32_t>(solver->impl->integrate(t_end, gtol, max_steps, save, user));
    return OF_OK;
  });
}

int of_solver_dim(const of_solver* solver, int64_t* n) {
  OF_REQUIRE(solver);
  OF_REQUIRE(n);
  *n = static_cast<int64_t>(solver->impl->dim());
  return OF_OK;
}

int of_solver_t(const of_solver* solver, double* t) {
  OF_REQUIRE(solver);
  OF_REQUIRE(t);
  OF_REQUIRE_INIT(solver);
  *t = solver->impl->t();
  return OF_OK;
}

int of_solver_state(const of_solver* solver, double* y_out) {
  OF_REQUIRE(solver);
  OF_REQUIRE(y_out);
  OF_REQUIRE_INIT(solver);
  std::memcpy(y_out, solver->impl->y(), solver->impl->dim() * sizeof(double));
  return OF_OK;
}

int of_solver_loss(const of_solver* solver, double* loss) {
  OF_REQUIRE(solver);
  OF_REQUIRE(loss);
  OF_REQUIRE_INIT(solver);
  *loss = solver->impl->loss();
  return OF_OK;
}

int of_solver_grad_norm(const of_solver* solver, double* grad_norm) {
  OF_REQUIRE(solver);
  OF_REQUIRE(grad_norm);
  OF_REQUIRE_INIT(solver);
  *grad_norm = solver->impl->grad_norm();
  return OF_OK;
}

int of_solver_stats(const of_solver* solver, of_stats* stats) {
  OF_REQUIRE(solver);
  OF_REQUIRE(stats);
  OF_REQUIRE_INIT(solver);
  *stats = solver->impl->stats();
  return OF_OK;
}

int of_solver_kinks(const of_solver* solver, int64_t* nkink, int64_t* nslide) {
  OF_REQUIRE(solver);
  OF_REQUIRE_INIT(solver);
  if (nkink) *nkink = solver->impl->nkink();
  if (nslide) *nslide = solver->impl->nslide();
  return OF_OK;
}

int of_ensemble(const of_flow* flow, int32_t method, double rtol, double atol, double gtol, double t0, double t1,
                const double* y0s, int64_t count, int32_t workers, int8_t* status, double* t_final, double* loss_final,
                double* grad_norm_final, int64_t* nfev, double* y_final) {
  OF_REQUIRE(flow);
  OF_REQUIRE(status);
  OF_REQUIRE(t_final);
  OF_REQUIRE(loss_final);
  OF_REQUIRE(grad_norm_final);
  OF_REQUIRE(nfev);
  if (count < 0) return fail(OF_ERROR_ARGUMENT, "of_ensemble: count must be >= 0");
  if (count > 0) OF_REQUIRE(y0s);
  overflow::MethodChoice m;
  if (!overflow::parse_method_choice(method, m))
    return fail(OF_ERROR_ARGUMENT, "of_ensemble: unknown method code " + std::to_string(method));
  if (!(std::isfinite(t0) && std::isfinite(t1) && t1 > t0))
    return fail(OF_ERROR_ARGUMENT, "of_ensemble: need finite t0 < t1");
  if (!(gtol >= 0)) return fail(OF_ERROR_ARGUMENT, "of_ensemble: gtol must be >= 0");
  return guarded("of_ensemble", [&]() -> int {
    const std::size_t dim = flow->flow.dim(), n = static_cast<std::size_t>(count);
    const std::size_t total = overflow::checked_mul(n, dim, "y0s (count x state size)");
    overflow::check_memory(total, "y0s (" + std::to_string(n) + " starts of " + std::to_string(dim) + " doubles)");
    // The same refusal as of_solver_init's; a finite start outside the cost's domain is not refused
    // but ends as that trajectory's OF_DOMAIN.
    for (std::size_t k = 0; k < total; ++k)
      if (!std::isfinite(y0s[k]))
        return fail(OF_ERROR_ARGUMENT, "of_ensemble: y0s[" + std::to_string(k / dim) + "][" + std::to_string(k % dim) +
                                           "] (start " + std::to_string(k / dim) + ") is not finite");
    overflow::IntegrateOptions opt = make_options(rtol, atol, 0.0);
    opt.gtol = gtol;
    opt.stiff = m.stiff;
    overflow::EnsembleOptions eopt;
    const unsigned hw = std::thread::hardware_concurrency();
    eopt.workers = workers > 0 ? workers : static_cast<int>(hw > 0 ? hw : 1);
    const overflow::Flow& f = flow->flow;
    const overflow::EnsembleResult r = overflow::integrate_ensemble([&f] { return overflow::FlowSystem(f); }, *m.start,
                                                                    t0, t1, y0s, n, dim, {}, opt, eopt);
    for (std::size_t i = 0; i < n; ++i) {
      status[i] = r.status[i];
      t_final[i] = r.t_final[i];
      loss_final[i] = r.final_loss[i];
      grad_norm_final[i] = r.final_grad_norm[i];
      nfev[i] = r.nfev[i];
    }
    if (y_final) std::copy(r.final_state.begin(), r.final_state.end(), y_final);
    return OF_OK;
  });
}

}  // extern "C"
