/* overflow C ABI: types shared by the cost kernels, the C++ core and embedding programs. */
#ifndef OVERFLOW_H
#define OVERFLOW_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Returns f(P) and writes grad_out = grad f(P); P and grad_out are m x n, row-major.
   A NaN or infinite return value means "P is outside the cost's domain".
   Must be reentrant: the core calls it from many threads at once. */
typedef double (*of_value_and_grad_fn)(const double* P, int64_t m, int64_t n, double* grad_out, void* data);

/* Writes out = Hess f(P)[V] (all m x n, row-major). */
typedef void (*of_hvp_fn)(const double* P, const double* V, int64_t m, int64_t n, double* out, void* data);

/* A generic right-hand side dy = f(t, y) of n equations (n is fixed when the solver is made).
   Non-finite entries of dy reject the step. */
typedef void (*of_rhs_fn)(double t, const double* y, double* dy, void* data);

/* ---------------------------------------------------------------------------------------------
   The embedding API (the library of CMake target overflow::core; csrc/src/capi.cpp). Every function returns OF_OK (0)
   or a negative error code, never crashes on bad arguments, and never lets a C++ exception out; of_last_error() gives
   the message of the last error on the calling thread. Handles are opaque and independent: different handles may be
   used from different threads at once, one handle from one thread at a time. Each function below lists the codes it
   returns besides OF_OK; any of them may also return OF_ERROR_INTERNAL (a bug). A pointer that was never returned by
   the library, or a handle used after it was destroyed (destroying it twice included), cannot be
   detected: as with free(), that is undefined.
   Sizes: a size whose arithmetic overflows, or whose doubles would exceed the machine's physical
   memory, is OF_ERROR_ARGUMENT before anything is allocated; an allocation that fails below that
   bound is OF_ERROR_MEMORY.
   --------------------------------------------------------------------------------------------- */

enum of_error {
  OF_OK = 0,
  OF_ERROR_NULL = -1,        /* a required pointer is NULL */
  OF_ERROR_ARGUMENT = -2,    /* a value out of range: dims, method, tolerance, time, size */
  OF_ERROR_STATE = -3,       /* the call does not fit the handle's state (stepping before init, ...) */
  OF_ERROR_RANGE = -4,       /* dense output requested outside the last step */
  OF_ERROR_MEMORY = -5,      /* allocation failed */
  OF_ERROR_INTERNAL = -6,    /* anything else (a bug: please report the message) */
  OF_ERROR_THREAD_START = -7 /* a thread could not be started (the system's limit on threads or address
                                space): "could not start worker k of n: <reason>"; the threads that had
                                started were stopped and joined, and nothing was returned */
};

/* OF_GAUSS4, OF_GAUSS6: implicit Gauss-Legendre, conserving the invariants; OF_RODAS4: L-stable Rosenbrock for
   stiff flows; OF_AUTO: OF_DOP853, switched to OF_RODAS4 where its steps are stability-limited and back
   (Python's method="auto"); OF_RADAU5: Radau IIA of order 5 (L-stable, for stiff flows; added after OF_AUTO,
   whose code stays). These five need the flow's Jacobian, exact through the cost's hvp: a linear network's
   cost must have one (OF_AUTO needs it once it switches); an activated one without it is differenced. */
enum of_method {
  OF_BS3 = 0,
  OF_DOPRI5 = 1,
  OF_TSIT5 = 2,
  OF_DOP853 = 3,
  OF_GAUSS4 = 4,
  OF_GAUSS6 = 5,
  OF_RODAS4 = 6,
  OF_AUTO = 7,
  OF_RADAU5 = 8
};
/* The activation sigma between layers (the output layer is linear): the names of Python's
   overflow.activations.ACTIVATIONS and the core's Activation (network.hpp), with equal values. */
enum of_activation {
  OF_LINEAR = 0,     /* x: the linear network */
  OF_ISRU = 1,       /* x / sqrt(1 + x^2) */
  OF_TANH = 2,       /* tanh x */
  OF_RELU = 3,       /* max(x, 0), sigma'(0) = 0 */
  OF_LEAKY_RELU = 4, /* x for x > 0, else leaky_slope x (sigma'(0) = leaky_slope) */
  OF_SIGMOID = 5,    /* 1 / (1 + e^-x) */
  OF_SOFTPLUS = 6,   /* log(1 + e^x) */
  OF_GELU = 7        /* x Phi(x), Phi the standard normal distribution function */
};

/* How a step or an integration ended: the values of status.hpp's Status (Python: overflow._core.Status). */
enum of_status {
  OF_CONVERGED = 0, /* ||grad g|| <= gtol */
  OF_T_END = 1,     /* reached the requested time */
  OF_EVENT = 2,
  OF_BLOWUP = 3, /* max |y_i| exceeded max_norm */
  OF_DOMAIN = 4, /* the cost left its domain and the step could not be shrunk back into it */
  OF_MAX_STEPS = 5,
  OF_FAILED = 6, /* step-size underflow */
  OF_INTERRUPTED = 7,
  OF_STEPPED = 8 /* of_solver_step: one step taken, the bound not yet reached */
};

typedef struct of_flow of_flow;     /* a network (dims, activation) on a cost */
typedef struct of_solver of_solver; /* an adaptive solver on a flow or on an of_rhs_fn */

/* The data a network on data is evaluated on (of_flow_create_data): X is n_in x samples, row-major,
   one sample per column. X is read, not copied, by every right-hand side: like the cost's data it
   is owned by the caller and must stay valid and unchanged while the flow, or a solver or
   of_ensemble on it, is in use. */
typedef struct of_inputs {
  const double* X;
  int64_t n_in;    /* the rows of X: must equal dims[0] */
  int64_t samples; /* the columns of X, >= 1 */
  int32_t bias;    /* nonzero: every layer has a bias, stored as the last column of [W_i | b_i] */
} of_inputs;

typedef struct of_stats {
  int64_t nfev, naccept, nreject;
} of_stats;

/* The message of the last error on this thread ("" if none). Valid until the next call that fails.
   Never NULL. */
const char* of_last_error(void);
const char* of_version(void); /* "0.1.0"; never NULL */

/* A flow of `depth` layers: dims = {n, k_1, ..., k_{depth-1}, m} (dims_len must be depth + 1),
   W_i of shape dims[i] x dims[i-1], the state W_1..W_N row-major and concatenated, on the identity
   input: P = W_N sigma(W_{N-1} ... sigma(W_1)), the cost f(P) m x n (OF_LEAKY_RELU's slope: 0.01).
   The cost (value_and_grad, optional hvp, data) must outlive the flow. *out is NULL after a failure.
   OF_ERROR_NULL: out, dims or value_and_grad. OF_ERROR_ARGUMENT: depth < 1, dims_len != depth + 1,
   a dimension < 1, an unknown activation, sizes that overflow or a state and one right-hand
   side's workspace larger than physical memory. OF_ERROR_MEMORY. */
int of_flow_create(int32_t depth, const int64_t* dims, int64_t dims_len, int32_t activation,
                   of_value_and_grad_fn value_and_grad, of_hvp_fn hvp, void* data, of_flow** out);
/* A network on data: Yhat = W_N sigma(W_{N-1} ... sigma(W_1 X + b_1 1^T) ...) + b_N 1^T, m x samples,
   on the cost f(Yhat): value_and_grad and hvp are called with (m, n) = (dims[depth], samples).
   dims = {n_in, k_1, ..., m} as for of_flow_create; with inputs->bias layer i is stored as
   [W_i | b_i], dims[i] x (dims[i-1] + 1) row-major (state size sum_i k_i (k_{i-1} + 1)).
   leaky_slope is OF_LEAKY_RELU's slope below zero, >= 0 (of_flow_create uses 0.01; other
   activations ignore it, but it must be finite). inputs NULL: the identity input, as of_flow_create.
   Every function taking an of_flow works on the result: the implicit methods and OF_AUTO need no
   hvp there (see enum of_method), and its invariants are the per-neuron ones
   (of_flow_neuron_invariants, which of_solver_set_projection keeps), not the C_i
   (of_flow_invariants). OF_ERROR_NULL: out, dims, value_and_grad, or inputs->X (a bias needs data
   too: there is no bias on the identity input). OF_ERROR_ARGUMENT: those of of_flow_create,
   leaky_slope not finite (or < 0 for OF_LEAKY_RELU), inputs->n_in != dims[0], inputs->samples < 1,
   sizes whose state and one right-hand side's workspace (O(sum_i k_i samples)) exceed physical
   memory. OF_ERROR_MEMORY. */
int of_flow_create_data(int32_t depth, const int64_t* dims, int64_t dims_len, int32_t activation, double leaky_slope,
                        const of_inputs* inputs, of_value_and_grad_fn value_and_grad, of_hvp_fn hvp, void* data,
                        of_flow** out);
void of_flow_destroy(of_flow* flow); /* NULL is ignored */
/* OF_ERROR_NULL: flow or size. */
int of_flow_state_size(const of_flow* flow, int64_t* size);
/* dy = -grad g(y); *loss = g(y) (non-finite outside the cost's domain). loss may be NULL.
   OF_ERROR_NULL: flow, y or dy. OF_ERROR_MEMORY (its workspace). */
int of_flow_rhs(const of_flow* flow, const double* y, double* dy, double* loss);
/* Number of doubles of the invariants C_i = W_i W_i^T - W_{i+1}^T W_{i+1}: sum_i k_i^2.
   OF_ERROR_NULL: flow or size. OF_ERROR_ARGUMENT: the number does not fit in int64_t; a flow on
   data (of_flow_create_data), which has per-neuron invariants instead (of_flow_neuron_invariants). */
int of_flow_invariants_size(const of_flow* flow, int64_t* size);
/* OF_ERROR_NULL: flow, y, or out (when the size is > 0). OF_ERROR_ARGUMENT: out_len is not
   of_flow_invariants_size's number; a flow on data. */
int of_flow_invariants(const of_flow* flow, const double* y, double* out, int64_t out_len);
/* The per-neuron invariants of a positively homogeneous activation (OF_LINEAR, OF_RELU,
   OF_LEAKY_RELU; on data or on the identity input): for hidden neuron j of layer i = 1..N-1,
   ||row j of [W_i | b_i]||^2 - ||column j of W_{i+1}||^2 (incoming weights with the bias, outgoing
   without layer i+1's bias), layer by layer: sum_{i<N} k_i doubles (0 for depth 1). The flow
   conserves them (the diagonals of the C_i for linear networks without biases).
   OF_ERROR_NULL: flow, size, y, or out (when the size is > 0). OF_ERROR_ARGUMENT: another
   activation (no such invariants), out_len is not of_flow_neuron_invariants_size's number. */
int of_flow_neuron_invariants_size(const of_flow* flow, int64_t* size);
int of_flow_neuron_invariants(const of_flow* flow, const double* y, double* out, int64_t out_len);

/* A solver on a flow (which must outlive it) or on a generic right-hand side of n equations.
   max_step <= 0 or infinite: no limit. gtol > 0 stops of_solver_integrate as OF_CONVERGED once
   ||grad g|| <= gtol (flows only; 0 disables it). *out is NULL after a failure.
   OF_ERROR_NULL: out or flow. OF_ERROR_ARGUMENT: an unknown method, rtol or atol not finite and
   > 0, max_step NaN, a state whose solver vectors exceed physical memory. OF_ERROR_MEMORY. */
int of_solver_create_flow(const of_flow* flow, int32_t method, double rtol, double atol, double max_step,
                          of_solver** out);
/* The same on `threads` >= 1 threads of its own (threads - 1 helpers, created here): each
   right-hand side splits its layer products across them and the explicit methods their vector
   passes, for wide networks (work below about 16,384 multiply-adds or weights stays on the calling
   thread). The solver's calls must come from one thread at a time; the helpers need free cores.
   The codes of of_solver_create_flow, and OF_ERROR_ARGUMENT for threads < 1, OF_ERROR_THREAD_START. */
int of_solver_create_flow_threads(const of_flow* flow, int32_t method, double rtol, double atol, double max_step,
                                  int32_t threads, of_solver** out);
/* Any method, the implicit ones and OF_AUTO included: their Jacobian is rhs's forward differences
   (increments sqrt(eps) max(|y_j|, atol): n + 1 calls of rhs, counted in of_stats.nfev) until
   of_solver_set_jacobian gives one.
   OF_ERROR_NULL: out or rhs. OF_ERROR_ARGUMENT: n < 1, n whose solver vectors exceed physical
   memory, an unknown method, bad tolerances as above. OF_ERROR_MEMORY. */
int of_solver_create_rhs(of_rhs_fn rhs, void* data, int64_t n, int32_t method, double rtol, double atol,
                         double max_step, of_solver** out);
void of_solver_destroy(of_solver* solver); /* NULL is ignored */

/* The Jacobian of a generic right-hand side for the implicit methods and OF_AUTO, from the next step
   on: jac(t, y, J, data) writes J = df/dy, n x n column-major (J[i + j n] = df_i/dy_j); NULL goes
   back to forward differences. jac and data must stay valid while the solver steps.
   OF_ERROR_NULL: solver. OF_ERROR_ARGUMENT: a solver on a flow (of_solver_create_flow), whose
   Jacobian comes from the cost's hvp (or, on activated networks and data without one, differences). */
int of_solver_set_jacobian(of_solver* solver, of_rhs_fn jac, void* data);

/* Project the state back onto the invariant set after every accepted step (nonzero enable turns it
   on), from the next of_solver_init on: {C_i = C_i(t0)} for linear networks on the identity input,
   the per-neuron invariants (of_flow_neuron_invariants) for OF_LINEAR, OF_RELU and OF_LEAKY_RELU on
   data or relu-family networks on the identity input; on other flows of_solver_init refuses it with
   OF_ERROR_ARGUMENT. of_solver_projection
   gives the largest correction made since init. of_solver_set_projection leaves the solver
   uninitialised (the queries below answer OF_ERROR_STATE until the next of_solver_init).
   set: OF_ERROR_NULL (solver), OF_ERROR_ARGUMENT (enable on a generic right-hand side).
   get: OF_ERROR_NULL (solver, max_correction), OF_ERROR_STATE (before of_solver_init). */
int of_solver_set_projection(of_solver* solver, int enable);
int of_solver_projection(const of_solver* solver, double* max_correction);

/* Starts at (t0, y0). OF_ERROR_NULL: solver or y0. OF_ERROR_ARGUMENT: t0 or an entry of y0 not
   finite, or the cost or the right-hand side not finite there, or projection on a flow without the
   C_i (see of_solver_set_projection) (the solver is then uninitialised).
   OF_ERROR_MEMORY. */
int of_solver_init(of_solver* solver, double t0, const double* y0);
/* One adaptive step towards t_bound > t, never past it. *status: OF_STEPPED, OF_T_END (t reached
   t_bound), OF_EVENT (a terminal event's k-th crossing since of_solver_init lies inside the step:
   the solver stands at the step's end, the crossing is in of_solver_event_times), OF_DOMAIN,
   OF_FAILED or OF_INTERRUPTED (the state is unchanged).
   OF_ERROR_NULL: solver or status. OF_ERROR_STATE: before of_solver_init. OF_ERROR_ARGUMENT:
   t_bound <= t or NaN; an implicit method (or OF_AUTO's switch) on a flow whose cost has no hvp.
   OF_ERROR_MEMORY. */
int of_solver_step(of_solver* solver, double t_bound, int32_t* status);
/* y(t) for t inside the last step [t_prev, t], from the method's interpolant (n doubles).
   OF_ERROR_NULL: solver or y_out. OF_ERROR_STATE: before of_solver_init, before a step, or the
   interpolant's extra stages left the cost's domain. OF_ERROR_RANGE: t outside [t_prev, t] (NaN too). */
int of_solver_dense(of_solver* solver, double t, double* y_out);
/* Steps to t_end. After each accepted step save(t, y, loss, user) is called if save != NULL; a
   nonzero return stops the run with OF_INTERRUPTED. With gtol > 0 the run stops where ||grad g||
   crosses gtol (located on the interpolant; the last save call is at that point, while the solver
   itself stands at the end of the step that crossed); the same for a terminal event (OF_EVENT).
   t_end = INFINITY needs gtol > 0 or a terminal event. *status: OF_T_END, OF_CONVERGED (gtol), OF_EVENT,
   OF_BLOWUP (max |y_i| > 1e10), OF_DOMAIN, OF_FAILED, OF_MAX_STEPS (max_steps accepted steps in
   this call; <= 0: no limit) or OF_INTERRUPTED.
   OF_ERROR_NULL: solver or status. OF_ERROR_STATE: before of_solver_init. OF_ERROR_ARGUMENT:
   t_end <= t or NaN, gtol < 0 or NaN, t_end infinite without gtol > 0 or a terminal event, an
   event that returned NaN, an implicit method on a flow whose cost has no hvp. OF_ERROR_MEMORY. */
typedef int (*of_save_fn)(double t, const double* y, double loss, void* user);
/* An event: its zero crossings are located on each step's interpolant (to 4 units of rounding in t).
   One that returns NaN stops of_solver_integrate with OF_ERROR_ARGUMENT (the message names it). */
typedef double (*of_event_fn)(double t, const double* y, int64_t n, void* data);
/* Adds an event to the solver's steps and of_solver_integrate runs: direction > 0 counts only rising
   crossings, < 0 only falling ones, 0 both; terminal = k > 0 stops the run with OF_EVENT at the
   k-th crossing (counted from of_solver_init, from the start of each of_solver_integrate call, and
   afresh from the current point for every event once one is added after init; 0: only recorded). A terminal event, like
   gtol > 0, lets t_end be INFINITY. OF_ERROR_NULL: solver or fn. OF_ERROR_ARGUMENT: terminal < 0.
   OF_ERROR_MEMORY. */
int of_solver_add_event(of_solver* solver, of_event_fn fn, void* data, int32_t direction, int32_t terminal);
/* The crossings of event `event` (in the order added) since they were last counted afresh (see
   of_solver_add_event): by the last of_solver_integrate, or by the steps since of_solver_init: *count
   of them, the first min(count, capacity) times written to `times` (NULL with capacity <= 0).
   OF_ERROR_NULL: solver, count, or times with capacity > 0. OF_ERROR_STATE: before
   of_solver_init. OF_ERROR_ARGUMENT: event out of range. */
int of_solver_event_times(const of_solver* solver, int32_t event, double* times, int64_t capacity, int64_t* count);
int of_solver_integrate(of_solver* solver, double t_end, double gtol, int64_t max_steps, of_save_fn save, void* user,
                        int32_t* status);

/* The state's size n, fixed when the solver is made (answered before of_solver_init, to size y0).
   OF_ERROR_NULL: solver or n. */
int of_solver_dim(const of_solver* solver, int64_t* n);
/* The queries of the current point below: OF_ERROR_NULL (solver or the output), OF_ERROR_STATE
   (before of_solver_init, or after a failed one). */
int of_solver_t(const of_solver* solver, double* t);
int of_solver_state(const of_solver* solver, double* y_out); /* n doubles */
/* The loss g at the current point (flows; 0 for a generic right-hand side). */
int of_solver_loss(const of_solver* solver, double* loss);
/* ||f(t, y)||_2 at the current point: ||grad g|| for a flow. */
int of_solver_grad_norm(const of_solver* solver, double* grad_norm);
int of_solver_stats(const of_solver* solver, of_stats* stats);
/* Relu-family networks on data (OF_RELU, OF_LEAKY_RELU): the kinks located since of_solver_init
   (points where pre-activations crossed 0 and the activation pattern switched; each step ends at
   the first) and the pre-activation entries that began to slide along their kink (held at 0 by the
   flow from both sides); both 0 on other flows and generic right-hand sides. Either output may be
   NULL. OF_ERROR_NULL: solver. OF_ERROR_STATE: before of_solver_init. */
int of_solver_kinks(const of_solver* solver, int64_t* nkink, int64_t* nslide);

/* Integrates the flow from each row of y0s (count x state size) over [t0, t1] on `workers`
   threads (<= 0: one per hardware thread). Per trajectory: status (of_status codes), t_final,
   loss_final, grad_norm_final, nfev; y_final (count x state size) may be NULL. Trajectories do
   not depend on the number of workers. A finite start outside the cost's domain ends as its
   trajectory's OF_DOMAIN (status) at t0.
   OF_ERROR_NULL: flow, an output other than y_final, y0s with count > 0. OF_ERROR_ARGUMENT:
   count < 0, an unknown method, bad tolerances, t0 and t1 not finite with t0 < t1, gtol < 0 or NaN,
   an entry of y0s not finite (as of_solver_init refuses it; the message names the start), sizes
   that overflow or exceed physical memory. OF_ERROR_MEMORY. OF_ERROR_THREAD_START (nothing
   written). */
int of_ensemble(const of_flow* flow, int32_t method, double rtol, double atol, double gtol, double t0, double t1,
                const double* y0s, int64_t count, int32_t workers, int8_t* status, double* t_final, double* loss_final,
                double* grad_norm_final, int64_t* nfev, double* y_final);

#ifdef __cplusplus
}
#endif
#endif /* OVERFLOW_H */
