/* Every C ABI call misused: NULL pointers, calls in the wrong order, bad and huge sizes, NaN and
   infinite values. Each must return its documented error code (never crash, hang or abort) and
   leave a message, naming the function, that of_last_error() returns. What the API cannot detect
   (a handle used after of_*_destroy, destroyed twice, or one that was never created) is not
   tried: overflow.h documents it as undefined, as with free(). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "overflow/overflow.h"
#include "quadratic_cost.h"

#if defined(__linux__)
#include <sys/resource.h>
#include <unistd.h>
#endif

/* Sanitizer runtimes cannot report an allocation refused by RLIMIT_AS as std::bad_alloc. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif

static int checked = 0;

/* `call` must return `code` and leave a message that starts with `fn` and mentions `what`. */
#define MISUSE(call, code, fn, what)                                                                                 \
  do {                                                                                                               \
    int rc_ = (call);                                                                                                \
    const char* msg_ = of_last_error();                                                                              \
    ++checked;                                                                                                       \
    CHECK(rc_ == (code), "%s returned %d, expected %d (%s)", #call, rc_, (int)(code), msg_);                         \
    CHECK(msg_ != NULL && strncmp(msg_, (fn), strlen(fn)) == 0 && strstr(msg_, (what)) != NULL,                      \
          "%s: message '%s' does not start with '%s' or does not mention '%s'", #call, msg_ ? msg_ : "(null)", (fn), \
          (what));                                                                                                   \
  } while (0)

#define OK(call) CHECK((call) == OF_OK, "%s: %s", #call, of_last_error())

/* -log(P) on 1 x 1: NaN for P <= 0 (outside the domain). */
static double neg_log(const double* P, int64_t m, int64_t n, double* grad, void* data) {
  (void)m, (void)n, (void)data;
  grad[0] = -1.0 / P[0];
  return P[0] > 0 ? -log(P[0]) : NAN;
}

static void oscillator(double t, const double* y, double* dy, void* data) {
  (void)t, (void)data;
  dy[0] = y[1];
  dy[1] = -y[0];
}

static double never(double t, const double* y, int64_t n, void* data) {
  (void)t, (void)y, (void)n, (void)data;
  return 1.0;
}

static double T4[4] = {1.0, 0.5, -0.5, 2.0}; /* 2 x 2 */
static const int64_t kDims[3] = {2, 3, 2};   /* state 6 + 6 = 12 */
enum { DIM = 12 };

static of_flow* make_flow(void) {
  of_flow* flow = NULL;
  OK(of_flow_create(2, kDims, 3, OF_LINEAR, quadratic, NULL, T4, &flow));
  return flow;
}

static void start(double* y) {
  for (int i = 0; i < DIM; ++i) y[i] = 0.1 * (i % 5) - 0.2;
}

static void misuse_flow_create(void) {
  of_flow* flow = (of_flow*)&flow; /* a failure must reset it to NULL */
  const char* fn = "of_flow_create";
  MISUSE(of_flow_create(2, kDims, 3, OF_LINEAR, quadratic, NULL, T4, NULL), OF_ERROR_NULL, fn, "out");
  MISUSE(of_flow_create(2, NULL, 3, OF_LINEAR, quadratic, NULL, T4, &flow), OF_ERROR_NULL, fn, "dims");
  CHECK(flow == NULL, "*out not reset");
  MISUSE(of_flow_create(2, kDims, 3, OF_LINEAR, NULL, NULL, T4, &flow), OF_ERROR_NULL, fn, "value_and_grad");
  MISUSE(of_flow_create(0, kDims, 1, OF_LINEAR, quadratic, NULL, T4, &flow), OF_ERROR_ARGUMENT, fn, "depth");
  MISUSE(of_flow_create(-7, kDims, 3, OF_LINEAR, quadratic, NULL, T4, &flow), OF_ERROR_ARGUMENT, fn, "depth");
  MISUSE(of_flow_create(INT32_MIN, kDims, 3, OF_LINEAR, quadratic, NULL, T4, &flow), OF_ERROR_ARGUMENT, fn, "depth");
  /* depth + 1 is computed without overflow in the message */
  MISUSE(of_flow_create(INT32_MAX, kDims, 3, OF_LINEAR, quadratic, NULL, T4, &flow), OF_ERROR_ARGUMENT, fn,
         "2147483648");
  MISUSE(of_flow_create(2, kDims, 4, OF_LINEAR, quadratic, NULL, T4, &flow), OF_ERROR_ARGUMENT, fn, "dims_len");
  MISUSE(of_flow_create(2, kDims, -1, OF_LINEAR, quadratic, NULL, T4, &flow), OF_ERROR_ARGUMENT, fn, "dims_len");
  MISUSE(of_flow_create(2, kDims, 3, -1, quadratic, NULL, T4, &flow), OF_ERROR_ARGUMENT, fn, "activation");
  MISUSE(of_flow_create(2, kDims, 3, OF_GELU + 1, quadratic, NULL, T4, &flow), OF_ERROR_ARGUMENT, fn, "activation");
  const int64_t zero[3] = {2, 0, 2}, negative[3] = {2, -3, 2}, most[3] = {2, INT64_MIN, 2};
  MISUSE(of_flow_create(2, zero, 3, OF_LINEAR, quadratic, NULL, T4, &flow), OF_ERROR_ARGUMENT, fn, "dims[1] = 0");
  MISUSE(of_flow_create(2, negative, 3, OF_LINEAR, quadratic, NULL, T4, &flow), OF_ERROR_ARGUMENT, fn, "dims[1]");
  MISUSE(of_flow_create(2, most, 3, OF_LINEAR, quadratic, NULL, T4, &flow), OF_ERROR_ARGUMENT, fn, "dims[1]");
  /* Sizes that overflow 64 bits: refused by the arithmetic, not wrapped around. */
  const int64_t wrap[2] = {((int64_t)1 << 62) + 1, 4}, wrap3[3] = {INT64_MAX, INT64_MAX, 1};
  MISUSE(of_flow_create(1, wrap, 2, OF_LINEAR, quadratic, NULL, T4, &flow), OF_ERROR_ARGUMENT, fn, "do not fit");
  MISUSE(of_flow_create(2, wrap3, 3, OF_LINEAR, quadratic, NULL, T4, &flow), OF_ERROR_ARGUMENT, fn, "do not fit");
  /* Sizes that fit in 64 bits but not in any machine's memory: 2^38 weights, or a right-hand
     side's scratch of the widest layer times max(m, n) (2^40 doubles for dims {2^20, 1}). */
  const int64_t huge[2] = {(int64_t)1 << 20, 1}, wide[3] = {1, (int64_t)1 << 38, 4};
  MISUSE(of_flow_create(1, huge, 2, OF_LINEAR, quadratic, NULL, T4, &flow), OF_ERROR_ARGUMENT, fn, "physical memory");
  MISUSE(of_flow_create(2, wide, 3, OF_TANH, quadratic, NULL, T4, &flow), OF_ERROR_ARGUMENT, fn, "physical memory");
  CHECK(flow == NULL, "*out not NULL after a failed of_flow_create");
  of_flow_destroy(NULL);
}

/* Networks on data: the inputs and the slope; the core's limits on sizes hold for the samples too. */
static void misuse_flow_create_data(void) {
  of_flow* flow = (of_flow*)&flow; /* a failure must reset it to NULL */
  const char* fn = "of_flow_create_data";
  double X[2 * 5] = {0.5, -1.0, 2.0, 0.1, 0.3, 1.0, 0.2, -0.4, 0.6, 0.8}; /* 2 x 5 */
  double Y[2 * 5] = {0};
  const of_inputs good = {X, 2, 5, 1};
#define DATA(act_, slope_, inputs_, out_) \
  of_flow_create_data(2, kDims, 3, (act_), (slope_), (inputs_), quadratic, NULL, Y, (out_))
  MISUSE(DATA(OF_RELU, 0.01, &good, NULL), OF_ERROR_NULL, fn, "out");
  MISUSE(of_flow_create_data(2, NULL, 3, OF_RELU, 0.01, &good, quadratic, NULL, Y, &flow), OF_ERROR_NULL, fn, "dims");
  CHECK(flow == NULL, "*out not reset");
  MISUSE(of_flow_create_data(2, kDims, 3, OF_RELU, 0.01, &good, NULL, NULL, Y, &flow), OF_ERROR_NULL, fn,
         "value_and_grad");
  MISUSE(of_flow_create_data(0, kDims, 1, OF_RELU, 0.01, &good, quadratic, NULL, Y, &flow), OF_ERROR_ARGUMENT, fn,
         "depth");
  MISUSE(of_flow_create_data(2, kDims, 2, OF_RELU, 0.01, &good, quadratic, NULL, Y, &flow), OF_ERROR_ARGUMENT, fn,
         "dims_len");
  MISUSE(DATA(-1, 0.01, &good, &flow), OF_ERROR_ARGUMENT, fn, "activation");
  MISUSE(DATA(OF_GELU + 1, 0.01, &good, &flow), OF_ERROR_ARGUMENT, fn, "activation");
  /* X NULL: with samples, with a bias (there is no bias on the identity input), or neither. */
  const of_inputs no_x = {NULL, 2, 5, 0}, bias_no_x = {NULL, 2, 0, 1}, empty = {NULL, 0, 0, 0};
  MISUSE(DATA(OF_RELU, 0.01, &no_x, &flow), OF_ERROR_NULL, fn, "inputs->X");
  MISUSE(DATA(OF_RELU, 0.01, &bias_no_x, &flow), OF_ERROR_NULL, fn, "bias");
  MISUSE(DATA(OF_RELU, 0.01, &empty, &flow), OF_ERROR_NULL, fn, "inputs = NULL");
  const of_inputs rows = {X, 3, 5, 1}, none = {X, 2, 0, 1}, negative = {X, 2, -5, 0};
  MISUSE(DATA(OF_RELU, 0.01, &rows, &flow), OF_ERROR_ARGUMENT, fn, "n_in");
  MISUSE(DATA(OF_RELU, 0.01, &none, &flow), OF_ERROR_ARGUMENT, fn, "samples");
  MISUSE(DATA(OF_RELU, 0.01, &negative, &flow), OF_ERROR_ARGUMENT, fn, "samples");
  MISUSE(DATA(OF_LEAKY_RELU, NAN, &good, &flow), OF_ERROR_ARGUMENT, fn, "leaky_slope");
  MISUSE(DATA(OF_LEAKY_RELU, -INFINITY, &good, &flow), OF_ERROR_ARGUMENT, fn, "leaky_slope");
  MISUSE(DATA(OF_TANH, NAN, &good, &flow), OF_ERROR_ARGUMENT, fn, "leaky_slope"); /* finite even where unused */
  MISUSE(DATA(OF_RELU, NAN, NULL, &flow), OF_ERROR_ARGUMENT, fn, "leaky_slope");  /* on the identity input too */
  /* Samples whose workspace (k x samples doubles) cannot be allocated, or whose size overflows. */
  const of_inputs huge = {X, 2, (int64_t)1 << 40, 0}, most = {X, 2, INT64_MAX, 1};
  MISUSE(DATA(OF_RELU, 0.01, &huge, &flow), OF_ERROR_ARGUMENT, fn, "physical memory");
  MISUSE(DATA(OF_RELU, 0.01, &most, &flow), OF_ERROR_ARGUMENT, fn, "fit");
  CHECK(flow == NULL, "*out not NULL after a failed of_flow_create_data");

  /* The invariants of a flow on data: per neuron, for homogeneous activations only. */
  int64_t size = -1;
  double y[17], c[8]; /* the state: 3 x (2 + 1) and 2 x (3 + 1) */
  for (int i = 0; i < 17; ++i) y[i] = 0.1 * (i % 7) - 0.3;
  OK(DATA(OF_TANH, 0.01, &good, &flow));
  MISUSE(of_flow_invariants_size(flow, &size), OF_ERROR_ARGUMENT, "of_flow_invariants_size", "per-neuron");
  MISUSE(of_flow_invariants(flow, y, c, 9), OF_ERROR_ARGUMENT, "of_flow_invariants", "of_flow_neuron_invariants");
  MISUSE(of_flow_neuron_invariants_size(flow, &size), OF_ERROR_ARGUMENT, "of_flow_neuron_invariants_size", "OF_TANH");
  MISUSE(of_flow_neuron_invariants(flow, y, c, 3), OF_ERROR_ARGUMENT, "of_flow_neuron_invariants", "homogeneous");
  of_flow_destroy(flow);
  OK(DATA(OF_LEAKY_RELU, 0.3, &good, &flow));
  const char* nfn = "of_flow_neuron_invariants";
  MISUSE(of_flow_neuron_invariants_size(NULL, &size), OF_ERROR_NULL, "of_flow_neuron_invariants_size", "flow");
  MISUSE(of_flow_neuron_invariants_size(flow, NULL), OF_ERROR_NULL, "of_flow_neuron_invariants_size", "size");
  OK(of_flow_neuron_invariants_size(flow, &size));
  CHECK(size == 3, "neuron invariants size %lld, expected 3 (the hidden layer's width)", (long long)size);
  MISUSE(of_flow_neuron_invariants(NULL, y, c, 3), OF_ERROR_NULL, nfn, "flow");
  MISUSE(of_flow_neuron_invariants(flow, NULL, c, 3), OF_ERROR_NULL, nfn, "y");
  MISUSE(of_flow_neuron_invariants(flow, y, NULL, 3), OF_ERROR_NULL, nfn, "out");
  MISUSE(of_flow_neuron_invariants(flow, y, c, 2), OF_ERROR_ARGUMENT, nfn, "out_len");
  MISUSE(of_flow_neuron_invariants(flow, y, c, -1), OF_ERROR_ARGUMENT, nfn, "out_len");
  MISUSE(of_flow_neuron_invariants(flow, y, c, INT64_MAX), OF_ERROR_ARGUMENT, nfn, "out_len");
  OK(of_flow_neuron_invariants(flow, y, c, 3));
  of_flow_destroy(flow);
  /* Depth 1 has no hidden neuron: none to write, out may be NULL. */
  const int64_t one[2] = {2, 2};
  OK(of_flow_create_data(1, one, 2, OF_RELU, 0.01, &good, quadratic, NULL, Y, &flow));
  OK(of_flow_neuron_invariants_size(flow, &size));
  CHECK(size == 0, "depth 1: %lld neuron invariants", (long long)size);
  OK(of_flow_neuron_invariants(flow, y, NULL, 0));
  of_flow_destroy(flow);
#undef DATA
}

static void misuse_flow_queries(void) {
  of_flow* flow = make_flow();
  int64_t size = -1;
  double y[DIM], dy[DIM], c[9], loss = 0.0;
  start(y);
  MISUSE(of_flow_state_size(NULL, &size), OF_ERROR_NULL, "of_flow_state_size", "flow");
  MISUSE(of_flow_state_size(flow, NULL), OF_ERROR_NULL, "of_flow_state_size", "size");
  MISUSE(of_flow_rhs(NULL, y, dy, &loss), OF_ERROR_NULL, "of_flow_rhs", "flow");
  MISUSE(of_flow_rhs(flow, NULL, dy, &loss), OF_ERROR_NULL, "of_flow_rhs", "y");
  MISUSE(of_flow_rhs(flow, y, NULL, &loss), OF_ERROR_NULL, "of_flow_rhs", "dy");
  OK(of_flow_rhs(flow, y, dy, NULL)); /* loss is optional */
  y[3] = NAN;                         /* a NaN state is not an error here: the loss says so */
  OK(of_flow_rhs(flow, y, dy, &loss));
  CHECK(isnan(loss), "loss %g at a NaN state", loss);
  start(y);
  MISUSE(of_flow_invariants_size(NULL, &size), OF_ERROR_NULL, "of_flow_invariants_size", "flow");
  MISUSE(of_flow_invariants_size(flow, NULL), OF_ERROR_NULL, "of_flow_invariants_size", "size");
  OK(of_flow_invariants_size(flow, &size));
  CHECK(size == 9, "invariants size %lld", (long long)size);
  MISUSE(of_flow_invariants(NULL, y, c, 9), OF_ERROR_NULL, "of_flow_invariants", "flow");
  MISUSE(of_flow_invariants(flow, NULL, c, 9), OF_ERROR_NULL, "of_flow_invariants", "y");
  MISUSE(of_flow_invariants(flow, y, NULL, 9), OF_ERROR_NULL, "of_flow_invariants", "out");
  MISUSE(of_flow_invariants(flow, y, c, 8), OF_ERROR_ARGUMENT, "of_flow_invariants", "out_len");
  MISUSE(of_flow_invariants(flow, y, c, -1), OF_ERROR_ARGUMENT, "of_flow_invariants", "out_len");
  MISUSE(of_flow_invariants(flow, y, c, INT64_MAX), OF_ERROR_ARGUMENT, "of_flow_invariants", "out_len");
  of_flow_destroy(flow);
}

static void misuse_solver_create(void) {
  of_flow* flow = make_flow();
  of_solver* s = (of_solver*)&s;
  const char* fn = "of_solver_create_flow";
  MISUSE(of_solver_create_flow(flow, OF_DOPRI5, 1e-6, 1e-9, 0.0, NULL), OF_ERROR_NULL, fn, "out");
  MISUSE(of_solver_create_flow(NULL, OF_DOPRI5, 1e-6, 1e-9, 0.0, &s), OF_ERROR_NULL, fn, "flow");
  CHECK(s == NULL, "*out not reset");
  MISUSE(of_solver_create_flow(flow, -1, 1e-6, 1e-9, 0.0, &s), OF_ERROR_ARGUMENT, fn, "method");
  MISUSE(of_solver_create_flow(flow, OF_RADAU5 + 1, 1e-6, 1e-9, 0.0, &s), OF_ERROR_ARGUMENT, fn, "method");
  MISUSE(of_solver_create_flow(flow, INT32_MAX, 1e-6, 1e-9, 0.0, &s), OF_ERROR_ARGUMENT, fn, "method");
  const double bad_tol[5] = {0.0, -1e-6, NAN, INFINITY, -INFINITY};
  for (int i = 0; i < 5; ++i) {
    MISUSE(of_solver_create_flow(flow, OF_DOPRI5, bad_tol[i], 1e-9, 0.0, &s), OF_ERROR_ARGUMENT, fn, "rtol");
    MISUSE(of_solver_create_flow(flow, OF_DOPRI5, 1e-6, bad_tol[i], 0.0, &s), OF_ERROR_ARGUMENT, fn, "atol");
  }
  MISUSE(of_solver_create_flow(flow, OF_DOPRI5, 1e-6, 1e-9, NAN, &s), OF_ERROR_ARGUMENT, fn, "max_step");
  MISUSE(of_solver_create_flow_threads(flow, OF_DOPRI5, 1e-6, 1e-9, 0.0, 0, &s), OF_ERROR_ARGUMENT,
         "of_solver_create_flow_threads", "threads");
  MISUSE(of_solver_create_flow_threads(flow, OF_DOPRI5, 1e-6, 1e-9, 0.0, INT32_MIN, &s), OF_ERROR_ARGUMENT,
         "of_solver_create_flow_threads", "threads");
  MISUSE(of_solver_create_flow_threads(flow, OF_DOPRI5, 1e-6, 1e-9, 0.0, 2, NULL), OF_ERROR_NULL,
         "of_solver_create_flow_threads", "out");
  MISUSE(of_solver_create_flow_threads(NULL, OF_DOPRI5, 1e-6, 1e-9, 0.0, 2, &s), OF_ERROR_NULL,
         "of_solver_create_flow_threads", "flow");
  CHECK(s == NULL, "*out not NULL after failures");
  /* Max_step <= 0 or infinite means no limit: accepted. */
  OK(of_solver_create_flow(flow, OF_DOPRI5, 1e-6, 1e-9, -INFINITY, &s));
  of_solver_destroy(s);

  fn = "of_solver_create_rhs";
  s = (of_solver*)&s;
  MISUSE(of_solver_create_rhs(oscillator, NULL, 2, OF_DOPRI5, 1e-6, 1e-9, 0.0, NULL), OF_ERROR_NULL, fn, "out");
  MISUSE(of_solver_create_rhs(NULL, NULL, 2, OF_DOPRI5, 1e-6, 1e-9, 0.0, &s), OF_ERROR_NULL, fn, "rhs");
  CHECK(s == NULL, "*out not reset");
  MISUSE(of_solver_create_rhs(oscillator, NULL, 0, OF_DOPRI5, 1e-6, 1e-9, 0.0, &s), OF_ERROR_ARGUMENT, fn, "n must");
  MISUSE(of_solver_create_rhs(oscillator, NULL, INT64_MIN, OF_DOPRI5, 1e-6, 1e-9, 0.0, &s), OF_ERROR_ARGUMENT, fn,
         "n must");
  /* Huge n: the solver's vectors overflow a size, or exceed physical memory (1 PiB each). */
  MISUSE(of_solver_create_rhs(oscillator, NULL, INT64_MAX, OF_DOPRI5, 1e-6, 1e-9, 0.0, &s), OF_ERROR_ARGUMENT, fn,
         "does not fit");
  MISUSE(of_solver_create_rhs(oscillator, NULL, (int64_t)1 << 47, OF_DOPRI5, 1e-6, 1e-9, 0.0, &s), OF_ERROR_ARGUMENT,
         fn, "physical memory");
  /* The implicit methods' n x n Jacobian: refused where it exceeds physical memory. */
  MISUSE(of_solver_create_rhs(oscillator, NULL, (int64_t)1 << 20, OF_RODAS4, 1e-6, 1e-9, 0.0, &s), OF_ERROR_ARGUMENT,
         fn, "physical memory");
  MISUSE(of_solver_create_rhs(oscillator, NULL, 2, 99, 1e-6, 1e-9, 0.0, &s), OF_ERROR_ARGUMENT, fn, "method");
  MISUSE(of_solver_create_rhs(oscillator, NULL, 2, OF_DOPRI5, NAN, 1e-9, 0.0, &s), OF_ERROR_ARGUMENT, fn, "rtol");
  CHECK(s == NULL, "*out not NULL after failures");
  of_solver_destroy(NULL);
  of_flow_destroy(flow);
}

/* Every query and action on a solver that was never initialised, then after a failed init. */
static void misuse_before_init(void) {
  of_flow* flow = make_flow();
  of_solver* s = NULL;
  OK(of_solver_create_flow(flow, OF_DOPRI5, 1e-6, 1e-9, 0.0, &s));
  double y[DIM], x = 0.0, times[2];
  int32_t status = -1;
  int64_t n = -1, count = -1;
  of_stats st;
  start(y);
  for (int round = 0; round < 2; ++round) {
    const char* why = "not initialised";
    MISUSE(of_solver_step(s, 1.0, &status), OF_ERROR_STATE, "of_solver_step", why);
    MISUSE(of_solver_dense(s, 0.0, y), OF_ERROR_STATE, "of_solver_dense", why);
    MISUSE(of_solver_integrate(s, 1.0, 0.0, 0, NULL, NULL, &status), OF_ERROR_STATE, "of_solver_integrate", why);
    MISUSE(of_solver_t(s, &x), OF_ERROR_STATE, "of_solver_t", why);
    MISUSE(of_solver_state(s, y), OF_ERROR_STATE, "of_solver_state", why);
    MISUSE(of_solver_loss(s, &x), OF_ERROR_STATE, "of_solver_loss", why);
    MISUSE(of_solver_grad_norm(s, &x), OF_ERROR_STATE, "of_solver_grad_norm", why);
    MISUSE(of_solver_stats(s, &st), OF_ERROR_STATE, "of_solver_stats", why);
    MISUSE(of_solver_projection(s, &x), OF_ERROR_STATE, "of_solver_projection", why);
    OK(of_solver_add_event(s, never, NULL, 0, 0)); /* events may be added before init */
    MISUSE(of_solver_event_times(s, 0, times, 2, &count), OF_ERROR_STATE, "of_solver_event_times", why);
    OK(of_solver_dim(s, &n)); /* the size is known from creation, to size y0 */
    CHECK(n == DIM, "dim %lld", (long long)n);
    /* Round 2: the same after an init that failed (a NaN in y0). */
    y[5] = NAN;
    MISUSE(of_solver_init(s, 0.0, y), OF_ERROR_ARGUMENT, "of_solver_init", "y0[5]");
    start(y);
  }
  /* set_projection leaves it uninitialised until the next init. */
  OK(of_solver_init(s, 0.0, y));
  OK(of_solver_set_projection(s, 1));
  MISUSE(of_solver_t(s, &x), OF_ERROR_STATE, "of_solver_t", "not initialised");
  of_solver_destroy(s);
  of_flow_destroy(flow);
}

static void misuse_solver_calls(void) {
  of_flow* flow = make_flow();
  of_solver* s = NULL;
  OK(of_solver_create_flow(flow, OF_DOPRI5, 1e-6, 1e-9, 0.0, &s));
  double y[DIM], x = 0.0, times[2];
  int32_t status = -1;
  int64_t n = -1, count = -1;
  of_stats st;
  start(y);

  MISUSE(of_solver_set_projection(NULL, 1), OF_ERROR_NULL, "of_solver_set_projection", "solver");
  MISUSE(of_solver_projection(NULL, &x), OF_ERROR_NULL, "of_solver_projection", "solver");
  MISUSE(of_solver_projection(s, NULL), OF_ERROR_NULL, "of_solver_projection", "max_correction");
  MISUSE(of_solver_init(NULL, 0.0, y), OF_ERROR_NULL, "of_solver_init", "solver");
  MISUSE(of_solver_init(s, 0.0, NULL), OF_ERROR_NULL, "of_solver_init", "y0");
  MISUSE(of_solver_init(s, NAN, y), OF_ERROR_ARGUMENT, "of_solver_init", "t0");
  MISUSE(of_solver_init(s, INFINITY, y), OF_ERROR_ARGUMENT, "of_solver_init", "t0");
  y[0] = INFINITY;
  MISUSE(of_solver_init(s, 0.0, y), OF_ERROR_ARGUMENT, "of_solver_init", "y0[0]");
  y[0] = -INFINITY;
  MISUSE(of_solver_init(s, 0.0, y), OF_ERROR_ARGUMENT, "of_solver_init", "y0[0]");
  start(y);
  OK(of_solver_init(s, 0.0, y));

  MISUSE(of_solver_step(NULL, 1.0, &status), OF_ERROR_NULL, "of_solver_step", "solver");
  MISUSE(of_solver_step(s, 1.0, NULL), OF_ERROR_NULL, "of_solver_step", "status");
  MISUSE(of_solver_step(s, NAN, &status), OF_ERROR_ARGUMENT, "of_solver_step", "t_bound");
  MISUSE(of_solver_step(s, 0.0, &status), OF_ERROR_ARGUMENT, "of_solver_step", "t_bound");
  MISUSE(of_solver_step(s, -INFINITY, &status), OF_ERROR_ARGUMENT, "of_solver_step", "t_bound");
  MISUSE(of_solver_dense(NULL, 0.0, y), OF_ERROR_NULL, "of_solver_dense", "solver");
  MISUSE(of_solver_dense(s, 0.0, NULL), OF_ERROR_NULL, "of_solver_dense", "y_out");
  MISUSE(of_solver_dense(s, 0.0, y), OF_ERROR_STATE, "of_solver_dense", "no step");
  OK(of_solver_step(s, 1.0, &status));
  MISUSE(of_solver_dense(s, NAN, y), OF_ERROR_RANGE, "of_solver_dense", "outside the last step");
  MISUSE(of_solver_dense(s, -1.0, y), OF_ERROR_RANGE, "of_solver_dense", "outside the last step");
  MISUSE(of_solver_dense(s, INFINITY, y), OF_ERROR_RANGE, "of_solver_dense", "outside the last step");

  const char* fn = "of_solver_integrate";
  MISUSE(of_solver_integrate(NULL, 1.0, 0.0, 0, NULL, NULL, &status), OF_ERROR_NULL, fn, "solver");
  MISUSE(of_solver_integrate(s, 1.0, 0.0, 0, NULL, NULL, NULL), OF_ERROR_NULL, fn, "status");
  MISUSE(of_solver_integrate(s, NAN, 0.0, 0, NULL, NULL, &status), OF_ERROR_ARGUMENT, fn, "t_end");
  MISUSE(of_solver_integrate(s, -INFINITY, 0.0, 0, NULL, NULL, &status), OF_ERROR_ARGUMENT, fn, "t_end");
  MISUSE(of_solver_integrate(s, 0.0, 0.0, 0, NULL, NULL, &status), OF_ERROR_ARGUMENT, fn, "t_end");
  MISUSE(of_solver_integrate(s, 2.0, -1.0, 0, NULL, NULL, &status), OF_ERROR_ARGUMENT, fn, "gtol");
  MISUSE(of_solver_integrate(s, 2.0, NAN, 0, NULL, NULL, &status), OF_ERROR_ARGUMENT, fn, "gtol");
  /* An infinite end with nothing to stop at is refused at once (the event added is not terminal). */
  OK(of_solver_add_event(s, never, NULL, 0, 0));
  MISUSE(of_solver_integrate(s, INFINITY, 0.0, 0, NULL, NULL, &status), OF_ERROR_ARGUMENT, fn, "nothing stops");
  MISUSE(of_solver_integrate(s, INFINITY, 0.0, 1000, NULL, NULL, &status), OF_ERROR_ARGUMENT, fn, "nothing stops");

  fn = "of_solver_add_event";
  MISUSE(of_solver_add_event(NULL, never, NULL, 0, 0), OF_ERROR_NULL, fn, "solver");
  MISUSE(of_solver_add_event(s, NULL, NULL, 0, 0), OF_ERROR_NULL, fn, "fn");
  MISUSE(of_solver_add_event(s, never, NULL, 0, -1), OF_ERROR_ARGUMENT, fn, "terminal");
  MISUSE(of_solver_add_event(s, never, NULL, 0, INT32_MIN), OF_ERROR_ARGUMENT, fn, "terminal");
  fn = "of_solver_event_times";
  MISUSE(of_solver_event_times(NULL, 0, times, 2, &count), OF_ERROR_NULL, fn, "solver");
  MISUSE(of_solver_event_times(s, 0, times, 2, NULL), OF_ERROR_NULL, fn, "count");
  MISUSE(of_solver_event_times(s, 0, NULL, 2, &count), OF_ERROR_NULL, fn, "times");
  MISUSE(of_solver_event_times(s, -1, times, 2, &count), OF_ERROR_ARGUMENT, fn, "out of range");
  MISUSE(of_solver_event_times(s, 1, times, 2, &count), OF_ERROR_ARGUMENT, fn, "out of range");
  MISUSE(of_solver_event_times(s, INT32_MAX, times, 2, &count), OF_ERROR_ARGUMENT, fn, "out of range");
  OK(of_solver_event_times(s, 0, NULL, -5, &count)); /* a negative capacity writes nothing */
  CHECK(count == 0, "count %lld", (long long)count);

  MISUSE(of_solver_dim(NULL, &n), OF_ERROR_NULL, "of_solver_dim", "solver");
  MISUSE(of_solver_dim(s, NULL), OF_ERROR_NULL, "of_solver_dim", "n");
  MISUSE(of_solver_t(NULL, &x), OF_ERROR_NULL, "of_solver_t", "solver");
  MISUSE(of_solver_t(s, NULL), OF_ERROR_NULL, "of_solver_t", "t");
  MISUSE(of_solver_state(NULL, y), OF_ERROR_NULL, "of_solver_state", "solver");
  MISUSE(of_solver_state(s, NULL), OF_ERROR_NULL, "of_solver_state", "y_out");
  MISUSE(of_solver_loss(NULL, &x), OF_ERROR_NULL, "of_solver_loss", "solver");
  MISUSE(of_solver_loss(s, NULL), OF_ERROR_NULL, "of_solver_loss", "loss");
  MISUSE(of_solver_grad_norm(NULL, &x), OF_ERROR_NULL, "of_solver_grad_norm", "solver");
  MISUSE(of_solver_grad_norm(s, NULL), OF_ERROR_NULL, "of_solver_grad_norm", "grad_norm");
  MISUSE(of_solver_stats(NULL, &st), OF_ERROR_NULL, "of_solver_stats", "solver");
  MISUSE(of_solver_stats(s, NULL), OF_ERROR_NULL, "of_solver_stats", "stats");
  OK(of_solver_stats(s, &st));
  of_solver_destroy(s);

  /* A generic right-hand side has no invariants to project onto; a flow takes no Jacobian function. */
  OK(of_solver_create_rhs(oscillator, NULL, 2, OF_DOPRI5, 1e-6, 1e-9, 0.0, &s));
  MISUSE(of_solver_set_projection(s, 1), OF_ERROR_ARGUMENT, "of_solver_set_projection", "invariants");
  MISUSE(of_solver_set_jacobian(NULL, oscillator, NULL), OF_ERROR_NULL, "of_solver_set_jacobian", "solver");
  OK(of_solver_set_jacobian(s, oscillator, NULL));
  OK(of_solver_set_jacobian(s, NULL, NULL));
  of_solver_destroy(s);
  OK(of_solver_create_flow(flow, OF_RODAS4, 1e-6, 1e-9, 0.0, &s));
  MISUSE(of_solver_set_jacobian(s, oscillator, NULL), OF_ERROR_ARGUMENT, "of_solver_set_jacobian", "flow");
  of_solver_destroy(s);
  of_flow_destroy(flow);

  /* A start outside the cost's domain, and an implicit method on a cost without an hvp. */
  const int64_t one[3] = {1, 1, 1};
  OK(of_flow_create(2, one, 3, OF_LINEAR, neg_log, NULL, NULL, &flow));
  OK(of_solver_create_flow(flow, OF_GAUSS4, 1e-6, 1e-9, 0.0, &s));
  double z[2] = {1.0, -1.0};
  MISUSE(of_solver_init(s, 0.0, z), OF_ERROR_ARGUMENT, "of_solver_init", "domain");
  z[1] = 1.0;
  OK(of_solver_init(s, 0.0, z));
  MISUSE(of_solver_step(s, 1.0, &status), OF_ERROR_ARGUMENT, "of_solver_step", "Hessian-vector product");
  MISUSE(of_solver_integrate(s, 1.0, 0.0, 0, NULL, NULL, &status), OF_ERROR_ARGUMENT, "of_solver_integrate",
         "Hessian-vector product");
  of_solver_destroy(s);
  of_flow_destroy(flow);
}

static void misuse_ensemble(void) {
  of_flow* flow = make_flow();
  enum { COUNT = 3 };
  double y0s[COUNT * DIM], t[COUNT], loss[COUNT], g[COUNT];
  int8_t status[COUNT];
  int64_t nfev[COUNT];
  for (int i = 0; i < COUNT; ++i) start(y0s + i * DIM);
  const char* fn = "of_ensemble";
#define ENSEMBLE(flow_, method_, rtol_, gtol_, t0_, t1_, y0s_, count_, status_, t_, loss_, g_, nfev_)                  \
  of_ensemble((flow_), (method_), (rtol_), 1e-9, (gtol_), (t0_), (t1_), (y0s_), (count_), 2, (status_), (t_), (loss_), \
              (g_), (nfev_), NULL)
  MISUSE(ENSEMBLE(NULL, OF_DOPRI5, 1e-6, 0.0, 0.0, 1.0, y0s, COUNT, status, t, loss, g, nfev), OF_ERROR_NULL, fn,
         "flow");
  MISUSE(ENSEMBLE(flow, OF_DOPRI5, 1e-6, 0.0, 0.0, 1.0, y0s, COUNT, NULL, t, loss, g, nfev), OF_ERROR_NULL, fn,
         "status");
  MISUSE(ENSEMBLE(flow, OF_DOPRI5, 1e-6, 0.0, 0.0, 1.0, y0s, COUNT, status, NULL, loss, g, nfev), OF_ERROR_NULL, fn,
         "t_final");
  MISUSE(ENSEMBLE(flow, OF_DOPRI5, 1e-6, 0.0, 0.0, 1.0, y0s, COUNT, status, t, NULL, g, nfev), OF_ERROR_NULL, fn,
         "loss_final");
  MISUSE(ENSEMBLE(flow, OF_DOPRI5, 1e-6, 0.0, 0.0, 1.0, y0s, COUNT, status, t, loss, NULL, nfev), OF_ERROR_NULL, fn,
         "grad_norm_final");
  MISUSE(ENSEMBLE(flow, OF_DOPRI5, 1e-6, 0.0, 0.0, 1.0, y0s, COUNT, status, t, loss, g, NULL), OF_ERROR_NULL, fn,
         "nfev");
  MISUSE(ENSEMBLE(flow, OF_DOPRI5, 1e-6, 0.0, 0.0, 1.0, NULL, COUNT, status, t, loss, g, nfev), OF_ERROR_NULL, fn,
         "y0s");
  MISUSE(ENSEMBLE(flow, OF_DOPRI5, 1e-6, 0.0, 0.0, 1.0, y0s, -1, status, t, loss, g, nfev), OF_ERROR_ARGUMENT, fn,
         "count");
  MISUSE(ENSEMBLE(flow, 12, 1e-6, 0.0, 0.0, 1.0, y0s, COUNT, status, t, loss, g, nfev), OF_ERROR_ARGUMENT, fn,
         "method");
  MISUSE(ENSEMBLE(flow, OF_DOPRI5, NAN, 0.0, 0.0, 1.0, y0s, COUNT, status, t, loss, g, nfev), OF_ERROR_ARGUMENT, fn,
         "rtol");
  MISUSE(ENSEMBLE(flow, OF_DOPRI5, 1e-6, NAN, 0.0, 1.0, y0s, COUNT, status, t, loss, g, nfev), OF_ERROR_ARGUMENT, fn,
         "gtol");
  MISUSE(ENSEMBLE(flow, OF_DOPRI5, 1e-6, -1.0, 0.0, 1.0, y0s, COUNT, status, t, loss, g, nfev), OF_ERROR_ARGUMENT, fn,
         "gtol");
  MISUSE(ENSEMBLE(flow, OF_DOPRI5, 1e-6, 0.0, NAN, 1.0, y0s, COUNT, status, t, loss, g, nfev), OF_ERROR_ARGUMENT, fn,
         "t0 < t1");
  MISUSE(ENSEMBLE(flow, OF_DOPRI5, 1e-6, 0.0, 0.0, INFINITY, y0s, COUNT, status, t, loss, g, nfev), OF_ERROR_ARGUMENT,
         fn, "t0 < t1");
  MISUSE(ENSEMBLE(flow, OF_DOPRI5, 1e-6, 0.0, 1.0, 1.0, y0s, COUNT, status, t, loss, g, nfev), OF_ERROR_ARGUMENT, fn,
         "t0 < t1");
  /* Starts refused as of_solver_init refuses them, naming the start. */
  y0s[DIM + 4] = NAN;
  MISUSE(ENSEMBLE(flow, OF_DOPRI5, 1e-6, 0.0, 0.0, 1.0, y0s, COUNT, status, t, loss, g, nfev), OF_ERROR_ARGUMENT, fn,
         "y0s[1][4]");
  y0s[DIM + 4] = 0.0;
  y0s[2 * DIM] = -INFINITY;
  MISUSE(ENSEMBLE(flow, OF_DOPRI5, 1e-6, 0.0, 0.0, 1.0, y0s, COUNT, status, t, loss, g, nfev), OF_ERROR_ARGUMENT, fn,
         "start 2");
  y0s[2 * DIM] = 0.0;
  /* count x state size past any memory, or past 64 bits: refused before y0s is read. */
  MISUSE(ENSEMBLE(flow, OF_DOPRI5, 1e-6, 0.0, 0.0, 1.0, y0s, (int64_t)1 << 50, status, t, loss, g, nfev),
         OF_ERROR_ARGUMENT, fn, "physical memory");
  MISUSE(ENSEMBLE(flow, OF_DOPRI5, 1e-6, 0.0, 0.0, 1.0, y0s, INT64_MAX, status, t, loss, g, nfev), OF_ERROR_ARGUMENT,
         fn, "does not fit");
  /* Not misuse: no starts, and more workers than starts (or <= 0: one per hardware thread). */
  OK(ENSEMBLE(flow, OF_DOPRI5, 1e-6, 0.0, 0.0, 1.0, NULL, 0, status, t, loss, g, nfev));
  OK(of_ensemble(flow, OF_DOPRI5, 1e-6, 1e-9, 0.0, 0.0, 1.0, y0s, COUNT, INT32_MAX, status, t, loss, g, nfev, NULL));
  OK(of_ensemble(flow, OF_DOPRI5, 1e-6, 1e-9, 0.0, 0.0, 1.0, y0s, COUNT, -3, status, t, loss, g, nfev, NULL));
  CHECK(status[0] == OF_T_END, "status %d", status[0]);
#undef ENSEMBLE
  of_flow_destroy(flow);
}

/* An allocation that fails below the physical-memory bound is OF_ERROR_MEMORY: the address space
   is limited so that 1 GiB vectors cannot be had. */
static void misuse_memory(void) {
#if defined(__linux__) && !defined(UNDER_SANITIZER)
  struct rlimit old, lim;
  unsigned long pages = 0;
  FILE* f = fopen("/proc/self/statm", "r");
  if (f == NULL || getrlimit(RLIMIT_AS, &old) != 0) {
    if (f) fclose(f);
    printf("test_capi_misuse: OF_ERROR_MEMORY not checked (no /proc/self/statm)\n");
    return;
  }
  if (fscanf(f, "%lu", &pages) != 1) pages = 0;
  fclose(f);
  lim = old;
  lim.rlim_cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + ((rlim_t)512 << 20);
  if (pages == 0 || setrlimit(RLIMIT_AS, &lim) != 0) {
    printf("test_capi_misuse: OF_ERROR_MEMORY not checked (cannot limit the address space)\n");
    return;
  }
  of_solver* s = (of_solver*)&s;
  MISUSE(of_solver_create_rhs(oscillator, NULL, (int64_t)1 << 27, OF_DOP853, 1e-6, 1e-9, 0.0, &s), OF_ERROR_MEMORY,
         "of_solver_create_rhs", "out of memory");
  CHECK(s == NULL, "*out not reset");
  setrlimit(RLIMIT_AS, &old);
#else
  printf("test_capi_misuse: OF_ERROR_MEMORY not checked under a sanitizer\n");
#endif
}

int main(void) {
  CHECK(of_version() != NULL && of_last_error() != NULL, "of_version / of_last_error returned NULL");
  misuse_flow_create();
  misuse_flow_create_data();
  misuse_flow_queries();
  misuse_solver_create();
  misuse_before_init();
  misuse_solver_calls();
  misuse_ensemble();
  misuse_memory();
  printf("test_capi_misuse: %s (%d misuses, %d failures)\n", failures ? "FAILED" : "passed", checked, failures);
  return failures ? 1 : 0;
}
