/* Networks on data through the C ABI (of_flow_create_data), against this program's own forward
   pass: of_flow_rhs is the negative gradient of the loss (central differences of the test's loss,
   every activation, depths 1-3, with and without biases, on data and on the identity input); a
   linear network on data is the linear network on the regression cost 1/2 ||P X - Y||^2 / s; the
   solvers, the threaded solver and of_ensemble integrate it; the loss decreases along the flow and
   the per-neuron invariants are conserved for relu, leaky relu and linear (and not for tanh, a
   check that can fail). The misuses of of_flow_create_data are in test_capi_misuse.c. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "overflow/overflow.h"

enum { MAXW = 8, MAXS = 12, MAXDIM = 256, N_IN = 3, M = 2, S = 11 };

static double X[N_IN * S], Y[M * S], IDENTITY[MAXW * MAXW];

/* The squared loss 1/2 ||Yhat - Y||_F^2 / s on the network's outputs Yhat (m x s), Y in data. */
static double squared_loss(const double* Yhat, int64_t m, int64_t s, double* grad, void* data) {
  const double* T = (const double*)data;
  double v = 0.0;
  for (int64_t i = 0; i < m * s; ++i) {
    const double r = Yhat[i] - T[i];
    grad[i] = r / (double)s;
    v += 0.5 * r * r;
  }
  return v / (double)s;
}

/* The linear regression cost of a product P (m x N_IN): 1/2 ||P X - Y||_F^2 / S. */
static double regression(const double* P, int64_t m, int64_t n, double* grad, void* data) {
  (void)data;
  double R[M * S], v = 0.0;
  for (int64_t i = 0; i < m; ++i)
    for (int a = 0; a < S; ++a) {
      double acc = -Y[i * S + a];
      for (int64_t c = 0; c < n; ++c) acc += P[i * n + c] * X[c * S + a];
      R[i * S + a] = acc;
      v += 0.5 * acc * acc;
    }
  for (int64_t i = 0; i < m; ++i)
    for (int64_t c = 0; c < n; ++c) {
      double acc = 0.0;
      for (int a = 0; a < S; ++a) acc += R[i * S + a] * X[c * S + a];
      grad[i * n + c] = acc / S;
    }
  return v / S;
}

/* A network as this test evaluates it (overflow/datasets.py's forward pass): layer l is
   dims[l+1] x (dims[l] + bias), row-major, [W | b]. */
typedef struct {
  int depth;
  int64_t dims[5];
  int bias;
  int activation;
  double slope;
  const double* X; /* dims[0] x s */
  int64_t s;
  const double* Y; /* dims[depth] x s */
} Net;

static double sigma(const Net* net, double x) {
  switch (net->activation) {
    case OF_LINEAR: return x;
    case OF_ISRU: return x / sqrt(1.0 + x * x);
    case OF_TANH: return tanh(x);
    case OF_RELU: return x > 0 ? x : 0.0;
    case OF_LEAKY_RELU: return x > 0 ? x : net->slope * x;
    case OF_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case OF_SOFTPLUS: return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
    case OF_GELU: return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    default: return NAN;
  }
}

static int64_t state_size(const Net* net) {
  int64_t size = 0;
  for (int l = 0; l < net->depth; ++l) size += net->dims[l + 1] * (net->dims[l] + net->bias);
  return size;
}

/* The loss of state y: forward pass, then the squared loss. */
static double net_loss(const Net* net, const double* y) {
  double H[MAXW * MAXS], A[MAXW * MAXS];
  memcpy(H, net->X, (size_t)(net->dims[0] * net->s) * sizeof(double));
  for (int l = 0; l < net->depth; ++l) {
    const int64_t rows = net->dims[l + 1], cols = net->dims[l], stride = cols + net->bias;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t a = 0; a < net->s; ++a) {
        double acc = net->bias ? y[r * stride + cols] : 0.0;
        for (int64_t c = 0; c < cols; ++c) acc += y[r * stride + c] * H[c * net->s + a];
        A[r * net->s + a] = acc;
      }
    y += rows * stride;
    for (int64_t i = 0; i < rows * net->s; ++i) H[i] = l + 1 < net->depth ? sigma(net, A[i]) : A[i];
  }
  double v = 0.0;
  for (int64_t i = 0; i < net->dims[net->depth] * net->s; ++i) v += 0.5 * (H[i] - net->Y[i]) * (H[i] - net->Y[i]);
  return v / (double)net->s;
}

/* This test's per-neuron differences ||row j of [W_i | b_i]||^2 - ||column j of W_{i+1}||^2. */
static int64_t own_neuron_invariants(const Net* net, const double* y, double* out) {
  int64_t k = 0;
  for (int l = 0; l + 1 < net->depth; ++l) {
    const int64_t rows = net->dims[l + 1], stride = net->dims[l] + net->bias;
    const int64_t next_rows = net->dims[l + 2], next_stride = rows + net->bias;
    const double* next = y + rows * stride;
    for (int64_t j = 0; j < rows; ++j) {
      double in = 0.0, outgoing = 0.0;
      for (int64_t c = 0; c < stride; ++c) in += y[j * stride + c] * y[j * stride + c];
      for (int64_t r = 0; r < next_rows; ++r) outgoing += next[r * next_stride + j] * next[r * next_stride + j];
      out[k++] = in - outgoing;
    }
    y += rows * stride;
  }
  return k;
}

static void fill_start(double* y, int64_t n, double scale, int seed) {
  for (int64_t i = 0; i < n; ++i) y[i] = scale * sin(1.3 * (double)i + 0.7 * seed + 0.4);
}

static of_flow* make_flow(const Net* net) {
  of_flow* flow = NULL;
  int rc;
  if (net->X == IDENTITY) {
    rc = of_flow_create(net->depth, net->dims, net->depth + 1, net->activation, squared_loss, NULL, (void*)net->Y,
                        &flow);
  } else {
    const of_inputs inputs = {net->X, net->dims[0], net->s, net->bias};
    rc = of_flow_create_data(net->depth, net->dims, net->depth + 1, net->activation, net->slope, &inputs, squared_loss,
                             NULL, (void*)net->Y, &flow);
  }
  CHECK(rc == OF_OK && flow != NULL, "creating the flow: %s", of_last_error());
  return flow;
}

static const char* const kNames[] = {"linear", "isru", "tanh", "relu", "leaky_relu", "sigmoid", "softplus", "gelu"};

/* of_flow_rhs = -(central differences of net_loss), and its loss = net_loss. */
static void check_rhs(const Net* net, const char* what) {
  of_flow* flow = make_flow(net);
  if (!flow) return;
  int64_t n = 0;
  CHECK(of_flow_state_size(flow, &n) == OF_OK && n == state_size(net), "%s: state size %lld, expected %lld", what,
        (long long)n, (long long)state_size(net));
  double y[MAXDIM], dy[MAXDIM], loss = 0.0;
  fill_start(y, n, 0.5, net->depth + 3 * net->bias);
  CHECK(of_flow_rhs(flow, y, dy, &loss) == OF_OK, "%s: %s", what, of_last_error());
  const double want = net_loss(net, y);
  CHECK(fabs(loss - want) <= 1e-13 * fabs(want), "%s: loss %.17g, the test's %.17g", what, loss, want);
  double g[MAXDIM], gmax = 0.0, err = 0.0;
  const double h = 1e-5;
  for (int64_t k = 0; k < n; ++k) {
    const double keep = y[k];
    y[k] = keep + h;
    const double up = net_loss(net, y);
    y[k] = keep - h;
    const double down = net_loss(net, y);
    y[k] = keep;
    g[k] = (up - down) / (2.0 * h);
    gmax = fmax(gmax, fabs(g[k]));
  }
  for (int64_t k = 0; k < n; ++k) err = fmax(err, fabs(dy[k] + g[k]));
  CHECK(gmax > 1e-3, "%s: a vanishing gradient (%g) makes the comparison vacuous", what, gmax);
  CHECK(err <= 1e-7 * gmax, "%s: |rhs + central difference| = %.3g (gradient %.3g)", what, err, gmax);
  of_flow_destroy(flow);
}

static void rhs_against_central_differences(void) {
  const int64_t shapes[3][4] = {{N_IN, M}, {N_IN, 5, M}, {N_IN, 4, 3, M}};
  char what[96];
  for (int act = OF_LINEAR; act <= OF_GELU; ++act)
    for (int depth = 1; depth <= 3; ++depth)
      for (int bias = 0; bias <= 1; ++bias) {
        Net net = {depth, {0}, bias, act, 0.2, X, S, Y};
        memcpy(net.dims, shapes[depth - 1], (size_t)(depth + 1) * sizeof(int64_t));
        snprintf(what, sizeof what, "%s on data, depth %d, bias %d", kNames[act], depth, bias);
        check_rhs(&net, what);
      }
  /* The new codes on the identity input (of_flow_create: X = I_n, leaky slope 0.01). */
  for (int act = OF_LINEAR; act <= OF_GELU; ++act) {
    Net net = {2, {3, 4, M}, 0, act, 0.01, IDENTITY, 3, Y};
    snprintf(what, sizeof what, "%s on the identity input", kNames[act]);
    check_rhs(&net, what);
  }
}

/* A linear network on data is the linear network of eq. 4 on the regression cost of its product. */
static void linear_on_data_is_regression(void) {
  const int64_t dims[4] = {N_IN, 4, 3, M};
  const of_inputs inputs = {X, N_IN, S, 0};
  of_flow *data = NULL, *product = NULL;
  CHECK(of_flow_create_data(3, dims, 4, OF_LINEAR, 0.01, &inputs, squared_loss, NULL, Y, &data) == OF_OK, "%s",
        of_last_error());
  CHECK(of_flow_create(3, dims, 4, OF_LINEAR, regression, NULL, NULL, &product) == OF_OK, "%s", of_last_error());
  if (!data || !product) return;
  double y[30], a[30], b[30], la = 0.0, lb = 0.0, err = 0.0, norm = 0.0;
  fill_start(y, 30, 0.6, 5);
  CHECK(of_flow_rhs(data, y, a, &la) == OF_OK && of_flow_rhs(product, y, b, &lb) == OF_OK, "%s", of_last_error());
  for (int k = 0; k < 30; ++k) {
    err = fmax(err, fabs(a[k] - b[k]));
    norm = fmax(norm, fabs(b[k]));
  }
  CHECK(err <= 1e-14 * norm && fabs(la - lb) <= 1e-14 * lb, "data vs regression: rhs %.3g (of %.3g), loss %.17g %.17g",
        err, norm, la, lb);
  of_flow_destroy(data);
  of_flow_destroy(product);
}

typedef struct {
  double last;
  int64_t saves, increases;
  int64_t nkink, nslide; /* of_solver_kinks at the end */
} LossTrace;

static int trace_loss(double t, const double* y, double loss, void* user) {
  (void)t, (void)y;
  LossTrace* trace = (LossTrace*)user;
  if (trace->saves > 0 && loss > trace->last + 1e-14) ++trace->increases;
  trace->last = loss;
  ++trace->saves;
  return 0;
}

/* Integrates the flow from y over [0, t_end] (at most 20,000 steps: a run that grinds fails instead of
   hanging); returns the final loss, y the final state (and with a trace, the kinks met). */
static double integrate(of_flow* flow, int32_t method, double rtol, double t_end, double* y, LossTrace* trace) {
  of_solver* solver = NULL;
  int32_t status = -1;
  double loss = NAN;
  CHECK(of_solver_create_flow(flow, method, rtol, rtol * 1e-3, 0.0, &solver) == OF_OK, "%s", of_last_error());
  if (!solver) return NAN;
  CHECK(of_solver_init(solver, 0.0, y) == OF_OK, "%s", of_last_error());
  CHECK(of_solver_integrate(solver, t_end, 0.0, 20000, trace ? trace_loss : NULL, trace, &status) == OF_OK, "%s",
        of_last_error());
  CHECK(status == OF_T_END, "method %d: status %d", method, status);
  CHECK(of_solver_state(solver, y) == OF_OK && of_solver_loss(solver, &loss) == OF_OK, "%s", of_last_error());
  if (trace) CHECK(of_solver_kinks(solver, &trace->nkink, &trace->nslide) == OF_OK, "%s", of_last_error());
  of_solver_destroy(solver);
  return loss;
}

/* Training decreases the loss, and the per-neuron invariants of a homogeneous activation stay. */
static void training_conserves_neuron_invariants(void) {
  /* Relu-family steps end at the kinks (of_solver_kinks counts them); the others have none. */
  const struct {
    int activation, depth, bias, seed;
    int64_t dims[4];
  } cases[] = {{OF_RELU, 2, 1, 1, {N_IN, 6, M}},
               {OF_LEAKY_RELU, 3, 1, 1, {N_IN, 4, 3, M}},
               {OF_LINEAR, 3, 0, 2, {N_IN, 4, 3, M}},
               {OF_TANH, 2, 1, 3, {N_IN, 6, M}}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; ++c) {
    Net net = {cases[c].depth, {0}, cases[c].bias, cases[c].activation, 0.2, X, S, Y};
    memcpy(net.dims, cases[c].dims, sizeof cases[c].dims);
    const char* what = kNames[net.activation];
    of_flow* flow = make_flow(&net);
    if (!flow) continue;
    const int64_t n = state_size(&net);
    double y[MAXDIM], c0[MAXW * 2], c1[MAXW * 2], lib[MAXW * 2];
    fill_start(y, n, 0.5, cases[c].seed);
    const int64_t neurons = own_neuron_invariants(&net, y, c0);
    const int homogeneous = net.activation != OF_TANH;
    int64_t size = -1;
    if (homogeneous) {
      CHECK(of_flow_neuron_invariants_size(flow, &size) == OF_OK && size == neurons, "%s: size %lld, expected %lld",
            what, (long long)size, (long long)neurons);
      CHECK(of_flow_neuron_invariants(flow, y, lib, neurons) == OF_OK, "%s", of_last_error());
      for (int64_t j = 0; j < neurons; ++j)
        CHECK(fabs(lib[j] - c0[j]) <= 1e-15 * (1.0 + fabs(c0[j])), "%s: neuron %lld: %.17g, the test's %.17g", what,
              (long long)j, lib[j], c0[j]);
    } else {
      CHECK(of_flow_neuron_invariants_size(flow, &size) == OF_ERROR_ARGUMENT && strstr(of_last_error(), "OF_TANH"),
            "tanh has no per-neuron invariants: %s", of_last_error());
    }
    const double initial = net_loss(&net, y);
    LossTrace trace = {0.0, 0, 0, -1, -1};
    const double final = integrate(flow, OF_DOPRI5, 1e-10, 4.0, y, &trace);
    /* A gradient flow's loss never increases; the run must also have trained. */
    CHECK(trace.saves > 10 && trace.increases == 0, "%s: %lld of %lld saved losses increased", what,
          (long long)trace.increases, (long long)trace.saves);
    CHECK(final < 0.8 * initial, "%s: loss %.6g -> %.6g", what, initial, final);
    CHECK(fabs(final - net_loss(&net, y)) <= 1e-13 * final, "%s: the solver's loss is not the state's", what);
    const int kinked = net.activation == OF_RELU || net.activation == OF_LEAKY_RELU;
    CHECK(kinked ? trace.nkink > 0 && trace.nslide >= 0 : trace.nkink == 0 && trace.nslide == 0,
          "%s: %lld kinks, %lld slid", what, (long long)trace.nkink, (long long)trace.nslide);
    own_neuron_invariants(&net, y, c1);
    double drift = 0.0;
    for (int64_t j = 0; j < neurons; ++j) drift = fmax(drift, fabs(c1[j] - c0[j]));
    if (homogeneous) /* conserved to the integration's error (rtol 1e-10 over t in [0, 4]) */
      CHECK(drift <= 1e-9, "%s: per-neuron invariants drifted by %.3g", what, drift);
    else /* the same check fails where they are not invariants */
      CHECK(drift > 1e-3, "%s: per-neuron differences moved only %.3g", what, drift);
    printf("%-10s loss %.6f -> %.6f, %lld saves, %lld kinks, per-neuron drift %.2e\n", what, initial, final,
           (long long)trace.saves, (long long)trace.nkink, drift);
    of_flow_destroy(flow);
  }
}

static double loss_crosses(double t, const double* y, int64_t n, void* data) {
  (void)t, (void)n;
  return net_loss((const Net*)data, y) - 0.6;
}

/* The implicit methods (differenced Jacobian, no hvp), the threaded solver, of_ensemble and events on data. */
static void solvers_on_data(void) {
  Net net = {2, {N_IN, 6, M}, 1, OF_TANH, 0.01, X, S, Y};
  of_flow* flow = make_flow(&net);
  if (!flow) return;
  const int64_t n = state_size(&net);
  double ref[MAXDIM], y[MAXDIM];
  fill_start(ref, n, 0.5, 7);
  memcpy(y, ref, sizeof ref);
  integrate(flow, OF_DOP853, 1e-12, 3.0, ref, NULL);
  const int32_t methods[] = {OF_RODAS4, OF_RADAU5, OF_AUTO};
  for (int k = 0; k < 3; ++k) {
    fill_start(y, n, 0.5, 7);
    integrate(flow, methods[k], 1e-8, 3.0, y, NULL);
    double err = 0.0;
    for (int64_t i = 0; i < n; ++i) err = fmax(err, fabs(y[i] - ref[i]));
    CHECK(err <= 1e-5, "method %d on data: |y - y_ref| = %.3g", methods[k], err);
  }

  /* Two threads: the same trajectory. */
  of_solver* solver = NULL;
  int32_t status = -1;
  fill_start(y, n, 0.5, 7);
  CHECK(of_solver_create_flow_threads(flow, OF_DOP853, 1e-12, 1e-15, 0.0, 2, &solver) == OF_OK, "%s", of_last_error());
  if (solver) {
    CHECK(of_solver_init(solver, 0.0, y) == OF_OK, "%s", of_last_error());
    CHECK(of_solver_integrate(solver, 3.0, 0.0, 0, NULL, NULL, &status) == OF_OK && status == OF_T_END, "%s",
          of_last_error());
    CHECK(of_solver_state(solver, y) == OF_OK, "%s", of_last_error());
    double err = 0.0;
    for (int64_t i = 0; i < n; ++i) err = fmax(err, fabs(y[i] - ref[i]));
    CHECK(err <= 1e-12, "two threads: |y - y_ref| = %.3g", err);
    of_solver_destroy(solver);
  }

  /* of_ensemble: each start as a solver of its own would end. */
  enum { COUNT = 3 };
  double y0s[COUNT * MAXDIM], finals[COUNT * MAXDIM], t[COUNT], loss[COUNT], g[COUNT];
  int8_t st[COUNT];
  int64_t nfev[COUNT];
  for (int k = 0; k < COUNT; ++k) fill_start(y0s + k * n, n, 0.3 + 0.2 * k, 11 + k);
  CHECK(of_ensemble(flow, OF_DOPRI5, 1e-9, 1e-12, 0.0, 0.0, 2.0, y0s, COUNT, 2, st, t, loss, g, nfev, finals) == OF_OK,
        "%s", of_last_error());
  for (int k = 0; k < COUNT; ++k) {
    memcpy(y, y0s + k * n, (size_t)n * sizeof(double));
    const double alone = integrate(flow, OF_DOPRI5, 1e-9, 2.0, y, NULL);
    double err = 0.0;
    for (int64_t i = 0; i < n; ++i) err = fmax(err, fabs(finals[k * n + i] - y[i]));
    CHECK(st[k] == OF_T_END && t[k] == 2.0 && nfev[k] > 0, "ensemble start %d: status %d, t %g", k, st[k], t[k]);
    CHECK(err <= 1e-13 && fabs(loss[k] - alone) <= 1e-13 * alone, "ensemble start %d: |y - alone| %.3g, loss %g %g", k,
          err, loss[k], alone);
    CHECK(fabs(loss[k] - net_loss(&net, finals + k * n)) <= 1e-13 * loss[k], "ensemble start %d: loss", k);
  }

  /* A terminal event on the test's own loss: the run stops where it crosses 0.6, found on the
     interpolant (of_solver_dense there gives a state of that loss). */
  CHECK(of_solver_create_flow(flow, OF_DOPRI5, 1e-10, 1e-13, 0.0, &solver) == OF_OK, "%s", of_last_error());
  if (solver) {
    CHECK(of_solver_add_event(solver, loss_crosses, &net, -1, 1) == OF_OK, "%s", of_last_error());
    CHECK(of_solver_set_jacobian(solver, NULL, NULL) == OF_ERROR_ARGUMENT, "set_jacobian on a flow: accepted");
    fill_start(y, n, 0.5, 7);
    CHECK(of_solver_init(solver, 0.0, y) == OF_OK, "%s", of_last_error());
    CHECK(of_solver_integrate(solver, INFINITY, 0.0, 0, NULL, NULL, &status) == OF_OK && status == OF_EVENT,
          "event: status %d, %s", status, of_last_error());
    double te = NAN;
    int64_t count = 0;
    CHECK(of_solver_event_times(solver, 0, &te, 1, &count) == OF_OK && count == 1, "%s", of_last_error());
    CHECK(of_solver_dense(solver, te, y) == OF_OK, "%s", of_last_error());
    CHECK(te > 0 && fabs(net_loss(&net, y) - 0.6) <= 1e-9, "event at t %g: loss %.12g", te, net_loss(&net, y));
    of_solver_destroy(solver);
  }

  /* The C_i need the identity input; the projection needs conserved invariants, which tanh has not. */
  int64_t size = 0;
  CHECK(of_flow_invariants_size(flow, &size) == OF_ERROR_ARGUMENT &&
            strstr(of_last_error(), "of_flow_neuron_invariants") != NULL,
        "of_flow_invariants_size on data: %s", of_last_error());
  CHECK(of_solver_create_flow(flow, OF_DOPRI5, 1e-6, 1e-9, 0.0, &solver) == OF_OK, "%s", of_last_error());
  if (solver) {
    CHECK(of_solver_set_projection(solver, 1) == OF_OK, "%s", of_last_error());
    fill_start(y, n, 0.5, 7);
    CHECK(of_solver_init(solver, 0.0, y) == OF_ERROR_ARGUMENT && strstr(of_last_error(), "invariants") != NULL,
          "projection on data: %s", of_last_error());
    of_solver_destroy(solver);
  }
  of_flow_destroy(flow);
}

/* of_solver_set_projection keeps the per-neuron invariants to rounding on relu-family networks, on
   data and on the identity input, where the same run without it drifts by the integration's error.
   A negative leaky slope is refused. */
static void projection_keeps_neuron_invariants(void) {
  const Net nets[] = {{2, {N_IN, 6, M}, 1, OF_RELU, 0.0, X, S, Y},
                      {3, {3, 4, 3, M}, 0, OF_LEAKY_RELU, 0.1, IDENTITY, 3, Y}};
  for (size_t c = 0; c < sizeof nets / sizeof nets[0]; ++c) {
    const Net* net = &nets[c];
    of_flow* flow = make_flow(net);
    if (!flow) continue;
    const int64_t n = state_size(net);
    double y0[MAXDIM], y[MAXDIM], c0[MAXW * 2], c1[MAXW * 2];
    fill_start(y0, n, 0.5, 5);
    const int64_t neurons = own_neuron_invariants(net, y0, c0);
    double drift[2] = {0.0, 0.0}, largest = 0.0;
    for (int project = 0; project < 2; ++project) {
      of_solver* solver = NULL;
      int32_t status = -1;
      CHECK(of_solver_create_flow(flow, OF_DOPRI5, 1e-5, 1e-8, 0.0, &solver) == OF_OK, "%s", of_last_error());
      if (!solver) continue;
      CHECK(of_solver_set_projection(solver, project) == OF_OK, "%s", of_last_error());
      memcpy(y, y0, (size_t)n * sizeof(double));
      CHECK(of_solver_init(solver, 0.0, y) == OF_OK, "%s", of_last_error());
      CHECK(of_solver_integrate(solver, 3.0, 0.0, 20000, NULL, NULL, &status) == OF_OK && status == OF_T_END,
            "status %d: %s", status, of_last_error());
      CHECK(of_solver_state(solver, y) == OF_OK, "%s", of_last_error());
      double correction = -1.0;
      CHECK(of_solver_projection(solver, &correction) == OF_OK && (project ? correction > 0.0 : correction == 0.0),
            "%s, project %d: largest correction %g", kNames[net->activation], project, correction);
      of_solver_destroy(solver);
      own_neuron_invariants(net, y, c1);
      for (int64_t j = 0; j < neurons; ++j) {
        drift[project] = fmax(drift[project], fabs(c1[j] - c0[j]));
        largest = fmax(largest, fabs(c0[j]));
      }
    }
    CHECK(drift[1] <= 1e-13 * (1.0 + largest) && drift[0] > 1e3 * drift[1],
          "%s: per-neuron drift %.3g with projection, %.3g without", kNames[net->activation], drift[1], drift[0]);
    of_flow_destroy(flow);
  }
  of_flow* flow = NULL;
  const int64_t dims[3] = {N_IN, 4, M};
  const of_inputs inputs = {X, N_IN, S, 0};
  CHECK(of_flow_create_data(2, dims, 3, OF_LEAKY_RELU, -0.1, &inputs, squared_loss, NULL, Y, &flow) ==
                OF_ERROR_ARGUMENT &&
            flow == NULL && strstr(of_last_error(), "leaky_slope") != NULL,
        "a negative leaky slope: %s", of_last_error());
}

int main(void) {
  for (int c = 0; c < N_IN; ++c)
    for (int a = 0; a < S; ++a) X[c * S + a] = sin(0.9 * a + 2.1 * c + 0.3) + 0.25 * c;
  for (int i = 0; i < M; ++i)
    for (int a = 0; a < S; ++a) Y[i * S + a] = cos(0.7 * a - 1.3 * i) + 0.5 * X[i * S + a] * X[(i + 1) * S + a];
  for (int i = 0; i < 3; ++i) IDENTITY[i * 3 + i] = 1.0; /* I_3, 3 x 3 row-major */
  rhs_against_central_differences();
  linear_on_data_is_regression();
  training_conserves_neuron_invariants();
  solvers_on_data();
  projection_keeps_neuron_invariants();
  printf("test_capi_data: %s (%d failures)\n", failures ? "FAILED" : "passed", failures);
  return failures ? 1 : 0;
}
