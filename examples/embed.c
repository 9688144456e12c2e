/* Embedding overflow from C: a quadratic cost written in C, a depth-3 linear network, the flow
   integrated with the solver, then the loss, the product and the invariants' drift printed.

     embed_c [expected.txt]   # with the file: compare with the values overflow's Python API gives

   The same run in Python:  f = of.costs.matrix_factorization(np.diag([2.0, 1.0]));
   net = of.Network(f, depth=3, width=3); of.integrate(net, Ws, (0, 10), rtol=1e-10, atol=1e-12)
   with W_i[r][c] = 0.3 sin(1 + r + 2c + 7i) (i = 0, 1, 2). */
#include <math.h>
#include <stdio.h>

#include "expected.h"
#include "overflow/overflow.h"

/* f(P) = 1/2 ||P - T||_F^2 with T = data (2 x 2). */
static double quadratic(const double* P, int64_t m, int64_t n, double* grad, void* data) {
  const double* T = (const double*)data;
  double v = 0.0;
  for (int64_t i = 0; i < m * n; ++i) {
    grad[i] = P[i] - T[i];
    v += 0.5 * grad[i] * grad[i];
  }
  return v;
}

static int save_count(double t, const double* y, double loss, void* user) {
  (void)t;
  (void)y;
  (void)loss;
  ++*(long*)user;
  return 0; /* keep going */
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
  double T[4] = {2.0, 0.0, 0.0, 1.0};
  const int64_t dims[4] = {2, 3, 3, 2}; /* n, k1, k2, m */
  of_flow* flow = NULL;
  of_solver* solver = NULL;
  TRY(of_flow_create(3, dims, 4, OF_LINEAR, quadratic, NULL, T, &flow));

  int64_t size = 0, csize = 0;
  TRY(of_flow_state_size(flow, &size));
  TRY(of_flow_invariants_size(flow, &csize));
  double y[64], P[4], c0[32], c1[32];
  int64_t pos = 0;
  for (int i = 0; i < 3; ++i)
    for (int r = 0; r < dims[i + 1]; ++r)
      for (int c = 0; c < dims[i]; ++c) y[pos++] = 0.3 * sin(1.0 + r + 2.0 * c + 7.0 * i);
  TRY(of_flow_invariants(flow, y, c0, csize));

  TRY(of_solver_create_flow(flow, OF_DOPRI5, 1e-10, 1e-12, 0.0, &solver));
  TRY(of_solver_init(solver, 0.0, y));
  long saved = 0;
  int32_t status;
  TRY(of_solver_integrate(solver, 10.0, 0.0, 0, save_count, &saved, &status));
  double loss, t;
  of_stats stats;
  TRY(of_solver_t(solver, &t));
  TRY(of_solver_state(solver, y));
  TRY(of_solver_loss(solver, &loss));
  TRY(of_solver_stats(solver, &stats));
  TRY(of_flow_invariants(flow, y, c1, csize));

  /* P = W3 W2 W1 from the final state. */
  const double* W1 = y;      /* 3 x 2 */
  const double* W2 = y + 6;  /* 3 x 3 */
  const double* W3 = y + 15; /* 2 x 3 */
  double A[6];               /* W2 W1, 3 x 2 */
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 2; ++c) {
      A[r * 2 + c] = 0.0;
      for (int k = 0; k < 3; ++k) A[r * 2 + c] += W2[r * 3 + k] * W1[k * 2 + c];
    }
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 2; ++c) {
      P[r * 2 + c] = 0.0;
      for (int k = 0; k < 3; ++k) P[r * 2 + c] += W3[r * 3 + k] * A[k * 2 + c];
    }
  double drift = 0.0;
  for (int64_t i = 0; i < csize; ++i) drift = fmax(drift, fabs(c1[i] - c0[i]));

  printf("status %d at t = %g after %lld steps, %lld evaluations, %ld saved points\n", status, t,
         (long long)stats.naccept, (long long)stats.nfev, saved);
  int bad = status != OF_T_END;
  /* Python and C run the same core with the same method: they agree to rounding, amplified by the
     flow over [0, 10]; 1e-8 relative leaves room for the cost being C here and Numba there. */
  bad |= report(expected, "embed_c.loss", loss, 1e-8, 1e-14);
  bad |= report(expected, "embed_c.P00", P[0], 1e-8, 1e-12);
  bad |= report(expected, "embed_c.P01", P[1], 1e-8, 1e-12);
  bad |= report(expected, "embed_c.P10", P[2], 1e-8, 1e-12);
  bad |= report(expected, "embed_c.P11", P[3], 1e-8, 1e-12);
  printf("invariant drift %.3g\n", drift);
  bad |= drift > 1e-8; /* definition 1 / proposition 2: conserved to about the tolerance */
  of_solver_destroy(solver);
  of_flow_destroy(flow);
  return bad;
}
