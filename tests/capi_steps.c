/* The C ABI's stepping session driven the way tests/test_boundary.py drives overflow.Solver: reads
   a problem from stdin, prints what every of_solver_step returned, so the test can compare the two
   step for step. Input (whitespace separated): depth, dims[depth + 1], the target T (m x n,
   row-major), y0 (the state size), method code, rtol, atol, t_end, event_time (< 0: no event; else
   a terminal event at t = event_time, rising). Output, one line per step: "step status t loss
   y..." and "dense t_mid y...", then "events count t...". */
#include <stdio.h>
#include <stdlib.h>

#include "overflow/overflow.h"
#include "quadratic_cost.h"

static double time_event(double t, const double* y, int64_t n, void* data) {
  (void)y, (void)n;
  return t - *(const double*)data;
}

static int fail(const char* what) {
  fprintf(stderr, "%s: %s\n", what, of_last_error());
  return 1;
}

static int read_doubles(double* out, int64_t count) {
  for (int64_t i = 0; i < count; ++i)
    if (scanf("%lf", &out[i]) != 1) return 0;
  return 1;
}

int main(void) {
  int32_t depth, method;
  int64_t dims[16];
  double rtol, atol, t_end, event_time;
  if (scanf("%d", &depth) != 1 || depth < 1 || depth > 14) return 2;
  for (int i = 0; i <= depth; ++i)
    if (scanf("%lld", (long long*)&dims[i]) != 1) return 2;
  const int64_t mn = dims[0] * dims[depth];
  double* T = malloc((size_t)mn * sizeof(double));
  if (!T || !read_doubles(T, mn)) return 2;
  of_flow* flow = NULL;
  if (of_flow_create(depth, dims, depth + 1, OF_LINEAR, quadratic, NULL, T, &flow) != OF_OK) return fail("create");
  int64_t size = 0;
  of_flow_state_size(flow, &size);
  double* y = malloc((size_t)size * sizeof(double));
  if (!y || !read_doubles(y, size)) return 2;
  if (scanf("%d %lf %lf %lf %lf", &method, &rtol, &atol, &t_end, &event_time) != 5) return 2;
  of_solver* s = NULL;
  if (of_solver_create_flow(flow, method, rtol, atol, 0.0, &s) != OF_OK) return fail("solver");
  if (event_time >= 0 && of_solver_add_event(s, time_event, &event_time, 1, 1) != OF_OK) return fail("event");
  if (of_solver_init(s, 0.0, y) != OF_OK) return fail("init");
  int32_t status = OF_STEPPED;
  while (status == OF_STEPPED) {
    double t_prev = 0.0, t = 0.0, loss = 0.0;
    of_solver_t(s, &t_prev);
    if (of_solver_step(s, t_end, &status) != OF_OK) return fail("step");
    of_solver_t(s, &t);
    of_solver_loss(s, &loss);
    of_solver_state(s, y);
    printf("step %d %.17g %.17g", status, t, loss);
    for (int64_t i = 0; i < size; ++i) printf(" %.17g", y[i]);
    const double mid = 0.5 * (t_prev + t);
    if (of_solver_dense(s, mid, y) != OF_OK) return fail("dense");
    printf("\ndense %.17g", mid);
    for (int64_t i = 0; i < size; ++i) printf(" %.17g", y[i]);
    printf("\n");
  }
  double times[8];
  int64_t count = 0;
  if (event_time >= 0) {
    if (of_solver_event_times(s, 0, times, 8, &count) != OF_OK) return fail("event times");
  }
  printf("events %lld", (long long)count);
  for (int64_t i = 0; i < count && i < 8; ++i) printf(" %.17g", times[i]);
  printf("\n");
  of_solver_destroy(s);
  of_flow_destroy(flow);
  free(y);
  free(T);
  return 0;
}
