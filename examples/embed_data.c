/* Training a network on data from C: a two-layer ReLU student with biases learns a ReLU teacher on
   16 samples. The data X is the program's (given by pointer, read by every right-hand side), the
   squared loss is a C function on the network's outputs, and the gradient flow is stepped by the
   solver; then the loss, a prediction and the drift of the per-neuron invariants are printed.

     embed_data [expected.txt]   # with the file: compare with the values overflow's Python API gives

   The same run in Python (tests/test_examples.py):
     net = of.Network(of.costs.squared_loss(Y), depth=2, width=5, activation="relu", inputs=X, bias=True)
     of.integrate(net, Ws, (0, 50), method="dopri5", rtol=1e-10, atol=1e-12)
   with the X, Y and W_i[r][c] = 0.5 sin(1 + r + 2c + 7i) below. */
#include <math.h>
#include <stdio.h>

#include "expected.h"
#include "overflow/overflow.h"

enum { N_IN = 2, WIDTH = 5, M = 1, S = 16 };

static double relu(double x) { return x > 0 ? x : 0.0; }

/* The teacher: relu(x0 - x1 / 2) - 0.7 relu(0.8 x1 - x0 + 0.2). */
static double teacher(double x0, double x1) { return relu(x0 - 0.5 * x1) - 0.7 * relu(0.8 * x1 - x0 + 0.2); }

/* 1/2 ||Yhat - Y||_F^2 / s on the outputs Yhat (m x s), Y = data: of.costs.squared_loss(Y). */
static double squared_loss(const double* Yhat, int64_t m, int64_t s, double* grad, void* data) {
  const double* Y = (const double*)data;
  double v = 0.0;
  for (int64_t i = 0; i < m * s; ++i) {
    const double r = Yhat[i] - Y[i];
    grad[i] = r / (double)s;
    v += 0.5 * r * r;
  }
  return v / (double)s;
}

/* The student's output at (x0, x1): the state is [W_1 | b_1] (5 x 3) then [W_2 | b_2] (1 x 6). */
static double student(const double* y, double x0, double x1) {
  const double* out = y + WIDTH * (N_IN + 1);
  double v = out[WIDTH];
  for (int j = 0; j < WIDTH; ++j) v += out[j] * relu(y[j * 3] * x0 + y[j * 3 + 1] * x1 + y[j * 3 + 2]);
  return v;
}

#define TRY(call)                                                 \
  do {                                                            \
    if ((call) != OF_OK) {                                        \
      fprintf(stderr, "%s failed: %s\n", #call, of_last_error()); \
      return 2;                                                   \
    }                                                             \
  } while (0)

int main(int argc, char** argv) {
  const char* expected = argc > 1 ? argv[1] : NULL;
  /* X (2 x 16, one sample per column) and the teacher's targets Y (1 x 16): they must outlive the flow. */
  static double X[N_IN * S], Y[M * S];
  for (int a = 0; a < S; ++a) {
    X[a] = sin(1.7 * a + 0.4);
    X[S + a] = cos(1.1 * a + 0.9);
    Y[a] = teacher(X[a], X[S + a]);
  }
  const int64_t dims[3] = {N_IN, WIDTH, M};
  const of_inputs inputs = {X, N_IN, S, 1}; /* with biases */
  of_flow* flow = NULL;
  of_solver* solver = NULL;
  TRY(of_flow_create_data(2, dims, 3, OF_RELU, 0.0, &inputs, squared_loss, NULL, Y, &flow));

  int64_t size = 0, neurons = 0;
  TRY(of_flow_state_size(flow, &size)); /* 5 x (2 + 1) + 1 x (5 + 1) = 21 */
  TRY(of_flow_neuron_invariants_size(flow, &neurons));
  double y[21], c0[WIDTH], c1[WIDTH], loss0;
  int64_t pos = 0;
  for (int i = 0; i < 2; ++i)
    for (int r = 0; r < dims[i + 1]; ++r)
      for (int c = 0; c < dims[i] + 1; ++c) y[pos++] = 0.5 * sin(1.0 + r + 2.0 * c + 7.0 * i);
  if (pos != size || neurons != WIDTH) {
    fprintf(stderr, "unexpected sizes: state %lld, neurons %lld\n", (long long)size, (long long)neurons);
    return 2;
  }
  TRY(of_flow_neuron_invariants(flow, y, c0, neurons));

  TRY(of_solver_create_flow(flow, OF_DOPRI5, 1e-10, 1e-12, 0.0, &solver));
  TRY(of_solver_init(solver, 0.0, y));
  TRY(of_solver_loss(solver, &loss0));
  int32_t status;
  TRY(of_solver_integrate(solver, 50.0, 0.0, 0, NULL, NULL, &status));
  double loss, t;
  of_stats stats;
  TRY(of_solver_t(solver, &t));
  TRY(of_solver_state(solver, y));
  TRY(of_solver_loss(solver, &loss));
  TRY(of_solver_stats(solver, &stats));
  TRY(of_flow_neuron_invariants(flow, y, c1, neurons));
  double drift = 0.0;
  for (int j = 0; j < WIDTH; ++j) drift = fmax(drift, fabs(c1[j] - c0[j]));

  printf("status %d at t = %g after %lld steps, %lld evaluations\n", status, t, (long long)stats.naccept,
         (long long)stats.nfev);
  printf("prediction at (0.3, -0.2): student %.6f, teacher %.6f\n", student(y, 0.3, -0.2), teacher(0.3, -0.2));
  int bad = status != OF_T_END;
  /* The same core as Python's, but the cost is C here and Numba there, and ReLU's kinks make the
     step sequences part ways at rounding level: both are within the tolerance of the flow. */
  bad |= report(expected, "embed_data.loss0", loss0, 1e-12, 1e-15);
  bad |= report(expected, "embed_data.loss", loss, 1e-6, 1e-12);
  bad |= report(expected, "embed_data.predict", student(y, 0.3, -0.2), 1e-6, 1e-9);
  printf("per-neuron invariant drift %.3g\n", drift);
  bad |= drift > 1e-8; /* conserved by the flow for ReLU (docs/capi.md): to about the tolerance */
  of_solver_destroy(solver);
  of_flow_destroy(flow);
  return bad;
}
