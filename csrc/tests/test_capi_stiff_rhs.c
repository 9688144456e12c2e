/* The implicit methods (and OF_AUTO) on a generic right-hand side through the C ABI: a stiff linear
   ODE y' = A y, A = [[-1, 1], [0, -L]] with L = 1e4, against its closed form, with the core's
   difference Jacobian and with the user's (of_solver_set_jacobian), which must then be called. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "check.h"
#include "overflow/overflow.h"

#define L 1e4

typedef struct {
  int64_t rhs_calls, jac_calls;
} counts;

static void stiff(double t, const double* y, double* dy, void* data) {
  (void)t;
  ++((counts*)data)->rhs_calls;
  dy[0] = -y[0] + y[1];
  dy[1] = -L * y[1];
}

static void stiff_jacobian(double t, const double* y, double* J, void* data) { /* column-major */
  (void)t, (void)y;
  ++((counts*)data)->jac_calls;
  J[0] = -1.0;
  J[1] = 0.0;
  J[2] = 1.0;
  J[3] = -L;
}

/* y1 = b e^{-L t}; y0' = -y0 + b e^{-L t}, so y0 = (a - k) e^{-t} + k e^{-L t} with k = b / (1 - L). */
static void exact(double t, double a, double b, double* y) {
  const double k = b / (1.0 - L);
  y[0] = (a - k) * exp(-t) + k * exp(-L * t);
  y[1] = b * exp(-L * t);
}

static void run(int32_t method, int with_jacobian) {
  counts c = {0, 0};
  of_solver* s = NULL;
  CHECK(of_solver_create_rhs(stiff, &c, 2, method, 1e-8, 1e-10, 0.0, &s) == OF_OK, "%s", of_last_error());
  if (with_jacobian) CHECK(of_solver_set_jacobian(s, stiff_jacobian, &c) == OF_OK, "%s", of_last_error());
  double y[2] = {1.0, 1.0}, ref[2];
  CHECK(of_solver_init(s, 0.0, y) == OF_OK, "%s", of_last_error());
  int32_t status = -1;
  CHECK(of_solver_integrate(s, 3.0, 0.0, 0, NULL, NULL, &status) == OF_OK, "%s", of_last_error());
  of_solver_state(s, y);
  exact(3.0, 1.0, 1.0, ref);
  of_stats st;
  of_solver_stats(s, &st);
  CHECK(status == OF_T_END && fabs(y[0] - ref[0]) < 1e-6 * fabs(ref[0]) && fabs(y[1]) < 1e-12,
        "method %d, jacobian %d: status %d, y = (%.15g, %.3g), expected (%.15g, %.3g)", (int)method, with_jacobian,
        (int)status, y[0], y[1], ref[0], ref[1]);
  /* An explicit method needs ~L * 3 / 3 steps here; the implicit ones are stable at any step. */
  if (method != OF_AUTO) CHECK(st.naccept < 500, "method %d: %lld steps", (int)method, (long long)st.naccept);
  CHECK(with_jacobian ? c.jac_calls > 0 : c.jac_calls == 0, "method %d: %lld Jacobian calls", (int)method,
        (long long)c.jac_calls);
  /* nfev counts every call of rhs, the difference Jacobian's included. */
  CHECK(st.nfev == c.rhs_calls, "method %d, jacobian %d: nfev %lld, rhs called %lld times", (int)method, with_jacobian,
        (long long)st.nfev, (long long)c.rhs_calls);
  of_solver_destroy(s);
}

int main(void) {
  const int32_t methods[4] = {OF_RODAS4, OF_GAUSS4, OF_GAUSS6, OF_AUTO};
  for (int k = 0; k < 4; ++k) {
    run(methods[k], 0);
    run(methods[k], 1);
  }
  if (failures) printf("%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
