/* The C ABI from C: a flow on a cost written in C, stepping, dense output, integration with a save
   callback, a generic right-hand side against its closed form, the ensemble, and every kind of bad
   input answered by an error code and a message (never a crash). */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "overflow/overflow.h"
#include "quadratic_cost.h"

/* A call that must fail with `code` and leave a message naming `what`. */
#define CHECK_ERROR(call, code, what)                                                                                \
  do {                                                                                                               \
    int rc_ = (call);                                                                                                \
    CHECK(rc_ == (code), "%s returned %d, expected %d (%s)", #call, rc_, (int)(code), of_last_error());              \
    CHECK(strstr(of_last_error(), (what)) != NULL, "%s: message '%s' does not mention '%s'", #call, of_last_error(), \
          (what));                                                                                                   \
  } while (0)

/* f(P) = -log(P) for a 1x1 P > 0: NaN outside the domain. */
static double neg_log(const double* P, int64_t m, int64_t n, double* grad, void* data) {
  (void)m;
  (void)n;
  (void)data;
  grad[0] = -1.0 / P[0];
  return P[0] > 0 ? -log(P[0]) : NAN;
}

/* The harmonic oscillator y0' = y1, y1' = -y0. */
static void oscillator(double t, const double* y, double* dy, void* data) {
  (void)t;
  (void)data;
  dy[0] = y[1];
  dy[1] = -y[0];
}

static int count_calls(double t, const double* y, double loss, void* user) {
  (void)t;
  (void)y;
  (void)loss;
  ++*(int*)user;
  return 0;
}

static int stop_after_three(double t, const double* y, double loss, void* user) {
  (void)t;
  (void)y;
  (void)loss;
  return ++*(int*)user >= 3;
}

static void fill(double* y, int64_t n, unsigned seed) {
  for (int64_t i = 0; i < n; ++i) {
    seed = seed * 1103515245u + 12345u;
    y[i] = 0.3 * ((double)(seed >> 8) / (double)(1u << 24) - 0.5);
  }
}

static void test_flow(void) {
  double T[6] = {1.5, 0.0, -0.5, 0.2, 1.0, 0.7}; /* 2 x 3 */
  const int64_t dims[4] = {3, 5, 4, 2};
  of_flow* flow = NULL;
  CHECK(of_flow_create(3, dims, 4, OF_LINEAR, quadratic, NULL, T, &flow) == OF_OK, "%s", of_last_error());
  int64_t size = 0, csize = 0;
  of_flow_state_size(flow, &size);
  of_flow_invariants_size(flow, &csize);
  CHECK(size == 5 * 3 + 4 * 5 + 2 * 4 && csize == 25 + 16, "size %lld, invariants %lld", (long long)size,
        (long long)csize);
  double y0[43], y[43], dy[43], c0[41], c1[41], loss0 = 0.0, loss = 0.0, gnorm = 0.0;
  fill(y0, size, 1u);
  CHECK(of_flow_rhs(flow, y0, dy, &loss0) == OF_OK && loss0 > 0, "rhs: %s", of_last_error());
  of_flow_invariants(flow, y0, c0, csize);

  of_solver* s = NULL;
  CHECK(of_solver_create_flow(flow, OF_DOP853, 1e-10, 1e-12, 0.0, &s) == OF_OK, "%s", of_last_error());
  CHECK(of_solver_init(s, 0.0, y0) == OF_OK, "%s", of_last_error());
  /* Step by step to t = 1, checking dense output at each step's midpoint against a second solver
     integrated exactly to that time. */
  int32_t status = -1;
  int steps = 0;
  double t = 0.0;
  while (status != OF_T_END && steps < 10000) {
    double t_prev = t;
    CHECK(of_solver_step(s, 1.0, &status) == OF_OK, "%s", of_last_error());
    of_solver_t(s, &t);
    ++steps;
    if (steps == 3) {
      double mid = 0.5 * (t_prev + t), ym[43], yr[43];
      CHECK(of_solver_dense(s, mid, ym) == OF_OK, "%s", of_last_error());
      of_solver* r = NULL;
      of_solver_create_flow(flow, OF_DOP853, 1e-12, 1e-14, 0.0, &r);
      of_solver_init(r, 0.0, y0);
      int32_t st;
      of_solver_integrate(r, mid, 0.0, 0, NULL, NULL, &st);
      of_solver_state(r, yr);
      double err = 0.0;
      for (int64_t i = 0; i < size; ++i) err = fmax(err, fabs(ym[i] - yr[i]));
      /* DOP853's 7th-order interpolant at rtol 1e-10: error ~1e-10, far below 1e-8. */
      CHECK(st == OF_T_END && err < 1e-8, "dense output off by %g", err);
      of_solver_destroy(r);
      CHECK_ERROR(of_solver_dense(s, t + 1.0, ym), OF_ERROR_RANGE, "outside the last step");
      CHECK_ERROR(of_solver_dense(s, t_prev - 1e-3, ym), OF_ERROR_RANGE, "outside the last step");
    }
  }
  CHECK(status == OF_T_END && t == 1.0, "status %d at t = %g after %d steps", status, t, steps);
  of_solver_state(s, y);
  of_solver_loss(s, &loss);
  of_solver_grad_norm(s, &gnorm);
  CHECK(loss < loss0 && gnorm > 0, "loss %g -> %g", loss0, loss);
  of_flow_invariants(flow, y, c1, csize);
  double drift = 0.0;
  for (int64_t i = 0; i < csize; ++i) drift = fmax(drift, fabs(c1[i] - c0[i]));
  CHECK(drift < 1e-8, "invariant drift %g", drift);
  CHECK_ERROR(of_solver_step(s, 1.0, &status), OF_ERROR_ARGUMENT, "t_bound");

  /* integrate with a save callback and gtol; a callback returning nonzero stops the run. */
  int calls = 0;
  CHECK(of_solver_integrate(s, 200.0, 1e-6, 0, count_calls, &calls, &status) == OF_OK, "%s", of_last_error());
  of_solver_grad_norm(s, &gnorm);
  CHECK(status == OF_CONVERGED && calls > 0, "status %d, %d calls", status, calls);
  of_stats st;
  of_solver_stats(s, &st);
  CHECK(st.naccept > steps && st.nfev > 12 * st.naccept, "stats %lld %lld", (long long)st.naccept, (long long)st.nfev);
  of_solver_init(s, 0.0, y0);
  calls = 0;
  CHECK(of_solver_integrate(s, 50.0, 0.0, 0, stop_after_three, &calls, &status) == OF_OK && status == OF_INTERRUPTED &&
            calls == 3,
        "status %d after %d calls", status, calls);
  of_solver_init(s, 0.0, y0);
  CHECK(of_solver_integrate(s, 50.0, 0.0, 5, NULL, NULL, &status) == OF_OK && status == OF_MAX_STEPS, "status %d",
        status);
  of_solver_destroy(s);

  /* Projection keeps the invariants at rounding level where a loose tolerance lets them drift. */
  for (int project = 0; project <= 1; ++project) {
    double yp[43], cp[41], correction = -1.0, dmax = 0.0;
    of_solver_create_flow(flow, OF_BS3, 1e-3, 1e-5, 0.0, &s);
    CHECK(of_solver_set_projection(s, project) == OF_OK, "%s", of_last_error());
    of_solver_init(s, 0.0, y0);
    of_solver_integrate(s, 20.0, 0.0, 0, NULL, NULL, &status);
    of_solver_state(s, yp);
    of_solver_projection(s, &correction);
    of_flow_invariants(flow, yp, cp, csize);
    for (int64_t i = 0; i < csize; ++i) dmax = fmax(dmax, fabs(cp[i] - c0[i]));
    if (project)
      CHECK(dmax < 1e-13 && correction > 0, "projected drift %g, correction %g", dmax, correction);
    else
      CHECK(dmax > 1e-8 && correction == 0.0, "unprojected drift %g, correction %g", dmax, correction);
    of_solver_destroy(s);
  }

  /* Gauss-Legendre through the C ABI: it needs the cost's hvp, and then conserves the invariants. */
  {
    of_flow* with_hvp = NULL;
    double yg[43], cg[41], dmax = 0.0;
    of_flow_create(3, dims, 4, OF_LINEAR, quadratic, quadratic_hvp, T, &with_hvp);
    of_solver_create_flow(with_hvp, OF_GAUSS6, 1e-4, 1e-6, 0.0, &s);
    of_solver_init(s, 0.0, y0);
    CHECK(of_solver_integrate(s, 100.0, 0.0, 0, NULL, NULL, &status) == OF_OK && status == OF_T_END, "gauss6: %d %s",
          status, of_last_error());
    of_solver_state(s, yg);
    of_flow_invariants(with_hvp, yg, cg, csize);
    for (int64_t i = 0; i < csize; ++i) dmax = fmax(dmax, fabs(cg[i] - c0[i]));
    CHECK(dmax < 1e-12, "gauss6 drift %g", dmax);
    of_solver_destroy(s);
    /* radau5 by its code (OF_RADAU5, which came after OF_AUTO) agrees with dop853 at tight tolerances. */
    double yr[43], yd[43], dr = 0.0;
    for (int k = 0; k < 2; ++k) {
      of_solver_create_flow(with_hvp, k == 0 ? OF_RADAU5 : OF_DOP853, k == 0 ? 1e-9 : 1e-12, k == 0 ? 1e-11 : 1e-14,
                            0.0, &s);
      of_solver_init(s, 0.0, y0);
      CHECK(of_solver_integrate(s, 10.0, 0.0, 0, NULL, NULL, &status) == OF_OK && status == OF_T_END,
            "method %d: %d %s", k, status, of_last_error());
      of_solver_state(s, k == 0 ? yr : yd);
      of_solver_destroy(s);
    }
    for (int64_t i = 0; i < size; ++i) dr = fmax(dr, fabs(yr[i] - yd[i]));
    CHECK(dr < 1e-7, "radau5 differs from dop853 by %g", dr);
    of_flow_destroy(with_hvp);
    of_solver_create_flow(flow, OF_GAUSS4, 1e-6, 1e-9, 0.0, &s); /* `flow` has no hvp */
    of_solver_init(s, 0.0, y0);
    CHECK_ERROR(of_solver_step(s, 1.0, &status), OF_ERROR_ARGUMENT, "Hessian-vector product");
    of_solver_destroy(s);
  }

  /* The ensemble: the same numbers for 1 and 3 workers. */
  enum { COUNT = 9 };
  double starts[COUNT * 43], tf[2][COUNT], lf[2][COUNT], gf[2][COUNT], yf[2][COUNT * 43];
  int8_t sf[2][COUNT];
  int64_t nf[2][COUNT];
  for (int i = 0; i < COUNT; ++i) fill(starts + i * size, size, 10u + (unsigned)i);
  for (int w = 0; w < 2; ++w)
    CHECK(of_ensemble(flow, OF_DOPRI5, 1e-8, 1e-10, 1e-6, 0.0, 100.0, starts, COUNT, w == 0 ? 1 : 3, sf[w], tf[w],
                      lf[w], gf[w], nf[w], yf[w]) == OF_OK,
          "%s", of_last_error());
  CHECK(memcmp(tf[0], tf[1], sizeof tf[0]) == 0 && memcmp(yf[0], yf[1], sizeof yf[0]) == 0 &&
            memcmp(nf[0], nf[1], sizeof nf[0]) == 0,
        "ensemble differs between 1 and 3 workers");
  for (int i = 0; i < COUNT; ++i)
    CHECK(sf[0][i] == OF_CONVERGED && gf[0][i] <= 1e-6, "trajectory %d: status %d", i, sf[0][i]);

  /* Bad input on a flow. */
  CHECK_ERROR(of_flow_invariants(flow, y0, c1, csize - 1), OF_ERROR_ARGUMENT, "out_len");
  CHECK_ERROR(of_flow_rhs(flow, NULL, dy, NULL), OF_ERROR_NULL, "y");
  CHECK_ERROR(of_solver_create_flow(flow, 17, 1e-6, 1e-9, 0.0, &s), OF_ERROR_ARGUMENT, "method");
  CHECK(s == NULL, "a failed create must leave *out NULL");
  CHECK_ERROR(of_solver_create_flow(flow, OF_DOPRI5, -1e-6, 1e-9, 0.0, &s), OF_ERROR_ARGUMENT, "rtol");
  CHECK_ERROR(of_solver_create_flow(flow, OF_DOPRI5, 1e-6, NAN, 0.0, &s), OF_ERROR_ARGUMENT, "atol");
  CHECK_ERROR(of_solver_create_flow(NULL, OF_DOPRI5, 1e-6, 1e-9, 0.0, &s), OF_ERROR_NULL, "flow");
  CHECK_ERROR(of_ensemble(flow, OF_DOPRI5, 1e-6, 1e-9, 0.0, 1.0, 0.0, starts, COUNT, 1, sf[0], tf[0], lf[0], gf[0],
                          nf[0], NULL),
              OF_ERROR_ARGUMENT, "t0 < t1");
  CHECK_ERROR(
      of_ensemble(flow, OF_DOPRI5, 1e-6, 1e-9, 0.0, 0.0, 1.0, starts, COUNT, 1, NULL, tf[0], lf[0], gf[0], nf[0], NULL),
      OF_ERROR_NULL, "status");
  of_flow_destroy(flow);
}

static void test_bad_flows(void) {
  double T[4] = {1, 0, 0, 1};
  const int64_t dims[3] = {2, 3, 2};
  const int64_t bad_dims[3] = {2, -3, 2};
  of_flow* flow = (of_flow*)&flow; /* must be reset to NULL on failure */
  CHECK_ERROR(of_flow_create(2, dims, 2, OF_LINEAR, quadratic, NULL, T, &flow), OF_ERROR_ARGUMENT, "dims_len");
  CHECK(flow == NULL, "*out not reset");
  CHECK_ERROR(of_flow_create(0, dims, 1, OF_LINEAR, quadratic, NULL, T, &flow), OF_ERROR_ARGUMENT, "depth");
  CHECK_ERROR(of_flow_create(2, bad_dims, 3, OF_LINEAR, quadratic, NULL, T, &flow), OF_ERROR_ARGUMENT,
              "of_flow_create");
  CHECK_ERROR(of_flow_create(2, NULL, 3, OF_LINEAR, quadratic, NULL, T, &flow), OF_ERROR_NULL, "dims");
  CHECK_ERROR(of_flow_create(2, dims, 3, OF_LINEAR, NULL, NULL, T, &flow), OF_ERROR_NULL, "value_and_grad");
  CHECK_ERROR(of_flow_create(2, dims, 3, 9, quadratic, NULL, T, &flow), OF_ERROR_ARGUMENT, "activation");
  CHECK_ERROR(of_flow_create(2, dims, 3, OF_LINEAR, quadratic, NULL, T, NULL), OF_ERROR_NULL, "out");
  CHECK_ERROR(of_flow_state_size(NULL, NULL), OF_ERROR_NULL, "flow");
  of_flow_destroy(NULL);
  of_solver_destroy(NULL);

  /* Stepping an uninitialised solver, and a start outside the cost's domain. */
  const int64_t sdims[3] = {1, 1, 1};
  CHECK(of_flow_create(2, sdims, 3, OF_LINEAR, neg_log, NULL, NULL, &flow) == OF_OK, "%s", of_last_error());
  of_solver* s = NULL;
  of_solver_create_flow(flow, OF_DOPRI5, 1e-6, 1e-9, 0.0, &s);
  int32_t status;
  double y[2] = {1.0, -1.0}, t;
  CHECK_ERROR(of_solver_step(s, 1.0, &status), OF_ERROR_STATE, "not initialised");
  CHECK_ERROR(of_solver_dense(s, 0.5, y), OF_ERROR_STATE, "not initialised");
  CHECK_ERROR(of_solver_t(s, &t), OF_ERROR_STATE, "not initialised");
  CHECK_ERROR(of_solver_integrate(s, 1.0, 0.0, 0, NULL, NULL, &status), OF_ERROR_STATE, "not initialised");
  CHECK_ERROR(of_solver_init(s, 0.0, y), OF_ERROR_ARGUMENT, "domain"); /* P = -1: -log undefined */
  CHECK_ERROR(of_solver_step(s, 1.0, &status), OF_ERROR_STATE, "not initialised");
  y[1] = 1.0;
  double bad[2] = {1.0, NAN};
  CHECK_ERROR(of_solver_init(s, 0.0, bad), OF_ERROR_ARGUMENT, "y0[1]");
  CHECK_ERROR(of_solver_init(s, NAN, y), OF_ERROR_ARGUMENT, "t0");
  CHECK(of_solver_init(s, 0.0, y) == OF_OK, "%s", of_last_error());
  CHECK_ERROR(of_solver_dense(s, 0.0, y), OF_ERROR_STATE, "no step");
  CHECK_ERROR(of_solver_step(s, 0.0, &status), OF_ERROR_ARGUMENT, "t_bound");
  CHECK_ERROR(of_solver_step(s, 1.0, NULL), OF_ERROR_NULL, "status");
  /* -log z: the flow drives P = w2 w1 up for ever; a finite run must end normally. */
  CHECK(of_solver_integrate(s, 2.0, 0.0, 0, NULL, NULL, &status) == OF_OK && status == OF_T_END, "status %d", status);
  of_solver_destroy(s);
  of_flow_destroy(flow);
}

static void test_generic_rhs(void) {
  const int32_t methods[4] = {OF_BS3, OF_DOPRI5, OF_TSIT5, OF_DOP853};
  for (int k = 0; k < 4; ++k) {
    of_solver* s = NULL;
    CHECK(of_solver_create_rhs(oscillator, NULL, 2, methods[k], 1e-10, 1e-12, 0.0, &s) == OF_OK, "%s", of_last_error());
    double y[2] = {1.0, 0.0};
    of_solver_init(s, 0.0, y);
    int32_t status;
    of_solver_integrate(s, 10.0, 0.0, 0, NULL, NULL, &status);
    of_solver_state(s, y);
    /* Global error of an rtol-1e-10 run over ~1.6 periods: ~1e-9; 1e-7 leaves margin. */
    CHECK(status == OF_T_END && fabs(y[0] - cos(10.0)) < 1e-7 && fabs(y[1] + sin(10.0)) < 1e-7,
          "method %d: (%.12f, %.12f)", (int)methods[k], y[0], y[1]);
    of_solver_destroy(s);
  }
  of_solver* s = NULL;
  CHECK_ERROR(of_solver_create_rhs(oscillator, NULL, 0, OF_DOPRI5, 1e-6, 1e-9, 0.0, &s), OF_ERROR_ARGUMENT, "n");
  CHECK_ERROR(of_solver_create_rhs(NULL, NULL, 2, OF_DOPRI5, 1e-6, 1e-9, 0.0, &s), OF_ERROR_NULL, "rhs");
  CHECK_ERROR(of_solver_create_rhs(oscillator, NULL, 2, -1, 1e-6, 1e-9, 0.0, &s), OF_ERROR_ARGUMENT, "method");
  of_solver_create_rhs(oscillator, NULL, 2, OF_DOPRI5, 1e-6, 1e-9, 0.0, &s);
  CHECK_ERROR(of_solver_set_projection(s, 1), OF_ERROR_ARGUMENT, "invariants");
  of_solver_destroy(s);
}

/* Different handles on different threads at once: each thread integrates its own flow and must get
   what a lone run gets; each thread's of_last_error is its own. */
typedef struct {
  unsigned seed;
  double y[43];
  int bad_call_rc;
  char message[256];
} thread_job;

static void run_job(thread_job* job, int provoke_error) {
  double T[6] = {1.5, 0.0, -0.5, 0.2, 1.0, 0.7};
  const int64_t dims[4] = {3, 5, 4, 2};
  of_flow* flow = NULL;
  of_solver* s = NULL;
  int32_t status;
  of_flow_create(3, dims, 4, OF_LINEAR, quadratic, NULL, T, &flow);
  of_solver_create_flow(flow, OF_DOPRI5, 1e-9, 1e-11, 0.0, &s);
  fill(job->y, 43, job->seed);
  of_solver_init(s, 0.0, job->y);
  for (int k = 1; k <= 20; ++k) of_solver_integrate(s, 0.25 * k, 0.0, 0, NULL, NULL, &status);
  of_solver_state(s, job->y);
  job->bad_call_rc = provoke_error ? of_solver_step(s, -1.0, &status) : OF_OK;
  snprintf(job->message, sizeof job->message, "%s", provoke_error ? of_last_error() : "");
  of_solver_destroy(s);
  of_flow_destroy(flow);
}

static void* thread_main(void* arg) {
  thread_job* job = (thread_job*)arg;
  run_job(job, job->seed % 2 == 0);
  return NULL;
}

static void test_threads(void) {
  enum { THREADS = 4 };
  thread_job jobs[THREADS], alone[THREADS];
  pthread_t threads[THREADS];
  for (int i = 0; i < THREADS; ++i) {
    jobs[i].seed = alone[i].seed = 100u + (unsigned)i;
    run_job(&alone[i], 0);
  }
  of_flow_state_size(NULL, NULL); /* this thread's own error, which the others must not overwrite */
  char mine[256];
  snprintf(mine, sizeof mine, "%s", of_last_error());
  for (int i = 0; i < THREADS; ++i) pthread_create(&threads[i], NULL, thread_main, &jobs[i]);
  for (int i = 0; i < THREADS; ++i) pthread_join(threads[i], NULL);
  CHECK(strcmp(mine, of_last_error()) == 0 && strstr(mine, "of_flow_state_size"), "main thread's error became '%s'",
        of_last_error());
  for (int i = 0; i < THREADS; ++i) {
    CHECK(memcmp(jobs[i].y, alone[i].y, sizeof jobs[i].y) == 0, "thread %d: the state differs from a lone run", i);
    if (jobs[i].seed % 2 == 0)
      CHECK(jobs[i].bad_call_rc == OF_ERROR_ARGUMENT && strstr(jobs[i].message, "t_bound"), "thread %d: '%s'", i,
            jobs[i].message);
  }
}

/* One trajectory of a wide flow on a team of 2 threads: the same steps as on one, states equal to
   rounding (the error norm's partial sums are added in another order). */
static void test_team(void) {
  enum { K = 128, N = 8 };
  const int64_t dims[] = {N, K, K, N};
  static double target[N * N];
  for (int i = 0; i < N; ++i) target[i * N + i] = 2.0 - 0.2 * i;
  of_flow* flow = NULL;
  CHECK(of_flow_create(3, dims, 4, OF_LINEAR, quadratic, NULL, target, &flow) == OF_OK, "%s", of_last_error());
  int64_t size = 0;
  of_flow_state_size(flow, &size);
  double* y0 = (double*)malloc((size_t)size * sizeof(double));
  double* a = (double*)malloc((size_t)size * sizeof(double));
  double* b = (double*)malloc((size_t)size * sizeof(double));
  unsigned state = 12345u;
  for (int64_t i = 0; i < size; ++i) {
    state = state * 1103515245u + 12345u;
    y0[i] = 0.05 * ((double)(state >> 8) / 16777216.0 - 0.5);
  }
  of_stats sa = {0, 0, 0}, sb = {0, 0, 0};
  for (int threads = 1; threads <= 2; ++threads) {
    of_solver* s = NULL;
    CHECK(of_solver_create_flow_threads(flow, OF_DOP853, 1e-8, 1e-10, 0.0, threads, &s) == OF_OK, "%s",
          of_last_error());
    int32_t status = -1;
    CHECK(of_solver_init(s, 0.0, y0) == OF_OK, "%s", of_last_error());
    CHECK(of_solver_integrate(s, 2.0, 0.0, 0, NULL, NULL, &status) == OF_OK && status == OF_T_END, "status %d", status);
    of_solver_state(s, threads == 1 ? a : b);
    of_solver_stats(s, threads == 1 ? &sa : &sb);
    of_solver_destroy(s);
  }
  double diff = 0.0, scale = 0.0;
  for (int64_t i = 0; i < size; ++i) {
    diff = fmax(diff, fabs(a[i] - b[i]));
    scale = fmax(scale, fabs(a[i]));
  }
  CHECK(sa.naccept == sb.naccept && sa.nfev == sb.nfev, "steps %lld/%lld, evaluations %lld/%lld", (long long)sa.naccept,
        (long long)sb.naccept, (long long)sa.nfev, (long long)sb.nfev);
  CHECK(diff <= 1e-13 * scale, "states differ by %.3e (scale %.3e)", diff, scale);
  of_solver* s = NULL;
  CHECK_ERROR(of_solver_create_flow_threads(flow, OF_DOPRI5, 1e-6, 1e-9, 0.0, 0, &s), OF_ERROR_ARGUMENT, "threads");
  CHECK(s == NULL, "a solver was returned on error");
  free(y0);
  free(a);
  free(b);
  of_flow_destroy(flow);
}

static const double kPi = 3.14159265358979323846;

/* sin(3 t): rises through 0 at t = 2 pi k / 3 and falls at (2k - 1) pi / 3. */
static double sin3t(double t, const double* y, int64_t n, void* data) {
  (void)y, (void)n, (void)data;
  return sin(3.0 * t);
}

static void test_events(void) {
  const int64_t dims[3] = {2, 3, 2};
  double T[4] = {1.0, 0.2, -0.3, 0.8};
  of_flow* flow = NULL;
  CHECK(of_flow_create(2, dims, 3, OF_LINEAR, quadratic, quadratic_hvp, T, &flow) == OF_OK, "%s", of_last_error());
  double y0[12];
  fill(y0, 12, 7);
  of_solver* s = NULL;
  CHECK(of_solver_create_flow(flow, OF_DOP853, 1e-8, 1e-10, 0.0, &s) == OF_OK, "%s", of_last_error());
  CHECK(of_solver_init(s, 0.0, y0) == OF_OK, "%s", of_last_error());
  int32_t status = -1;
  /* Nothing stops a run to infinity yet: refused, with no hang. */
  CHECK_ERROR(of_solver_integrate(s, INFINITY, 0.0, 0, NULL, NULL, &status), OF_ERROR_ARGUMENT, "nothing stops");
  CHECK_ERROR(of_solver_add_event(s, NULL, NULL, 0, 1), OF_ERROR_NULL, "fn is NULL");
  CHECK_ERROR(of_solver_add_event(s, sin3t, NULL, 0, -1), OF_ERROR_ARGUMENT, "terminal");
  CHECK(of_solver_add_event(s, sin3t, NULL, 1, 2) == OF_OK, "%s", of_last_error());  /* rising, stop at the 2nd */
  CHECK(of_solver_add_event(s, sin3t, NULL, -1, 0) == OF_OK, "%s", of_last_error()); /* falling, record */
  CHECK(of_solver_integrate(s, INFINITY, 0.0, 0, NULL, NULL, &status) == OF_OK && status == OF_EVENT, "status %d: %s",
        status, of_last_error());
  double t = 0, times[4];
  int64_t count = -1;
  of_solver_t(s, &t);
  CHECK(of_solver_event_times(s, 0, times, 4, &count) == OF_OK && count == 2, "rising count %lld", (long long)count);
  CHECK(fabs(times[0] - 2 * kPi / 3) < 1e-11 && fabs(times[1] - 4 * kPi / 3) < 1e-11, "rising at %.15g %.15g", times[0],
        times[1]);
  CHECK(of_solver_event_times(s, 1, times, 4, &count) == OF_OK && count == 2, "falling count %lld", (long long)count);
  CHECK(fabs(times[0] - kPi / 3) < 1e-11 && fabs(times[1] - kPi) < 1e-11, "falling at %.15g %.15g", times[0], times[1]);
  CHECK(of_solver_event_times(s, 1, NULL, 0, &count) == OF_OK && count == 2, "count only: %s", of_last_error());
  CHECK_ERROR(of_solver_event_times(s, 2, times, 4, &count), OF_ERROR_ARGUMENT, "out of range");
  of_solver_destroy(s);
  /* Stepping sees the same events (one session, csrc/include/overflow/session.hpp): the step holding
     the first rising crossing returns OF_EVENT, the solver at that step's end. */
  CHECK(of_solver_create_flow(flow, OF_DOP853, 1e-8, 1e-10, 0.0, &s) == OF_OK, "%s", of_last_error());
  CHECK(of_solver_add_event(s, sin3t, NULL, 1, 1) == OF_OK, "%s", of_last_error());
  CHECK(of_solver_init(s, 0.0, y0) == OF_OK, "%s", of_last_error());
  int steps = 0;
  do {
    CHECK(of_solver_step(s, 10.0, &status) == OF_OK, "%s", of_last_error());
  } while (status == OF_STEPPED && ++steps < 100000);
  of_solver_t(s, &t);
  CHECK(status == OF_EVENT && t >= 2 * kPi / 3 && t < 10.0, "stepping: status %d at t = %.17g", status, t);
  CHECK(of_solver_event_times(s, 0, times, 4, &count) == OF_OK && count == 1 && fabs(times[0] - 2 * kPi / 3) < 1e-11,
        "stepping: %lld crossings, the first at %.15g", (long long)count, times[0]);
  of_solver_destroy(s);
  of_flow_destroy(flow);
}

/* OF_AUTO runs a flow to convergence at t = INFINITY, switching to rodas4 near the minimum. */
static void test_auto(void) {
  const int64_t dims[4] = {4, 16, 16, 4};
  double T[16] = {0};
  T[0] = 3.0, T[5] = 2.0, T[10] = 1.0, T[15] = 0.5;
  of_flow* flow = NULL;
  CHECK(of_flow_create(3, dims, 4, OF_LINEAR, quadratic, quadratic_hvp, T, &flow) == OF_OK, "%s", of_last_error());
  double y0[4 * 16 + 16 * 16 + 16 * 4];
  fill(y0, 4 * 16 + 16 * 16 + 16 * 4, 3);
  for (int i = 0; i < 4 * 16 + 16 * 16 + 16 * 4; ++i) y0[i] *= 0.3;
  of_solver* s = NULL;
  CHECK(of_solver_create_flow(flow, OF_AUTO, 1e-8, 1e-10, 0.0, &s) == OF_OK, "%s", of_last_error());
  CHECK(of_solver_init(s, 0.0, y0) == OF_OK, "%s", of_last_error());
  int32_t status = -1;
  CHECK(of_solver_integrate(s, INFINITY, 1e-9, 0, NULL, NULL, &status) == OF_OK && status == OF_CONVERGED,
        "OF_AUTO: status %d (%s)", status, of_last_error());
  double g = 1.0;
  of_solver_grad_norm(s, &g);
  CHECK(g < 1e-8, "OF_AUTO stopped at ||grad g|| = %g", g); /* the solver stands at the end of the step */
  of_solver_destroy(s);
  s = NULL;
  /* OF_AUTO on a generic right-hand side: its Jacobian is the core's difference one. */
  CHECK(of_solver_create_rhs(oscillator, NULL, 2, OF_AUTO, 1e-10, 1e-12, 0.0, &s) == OF_OK, "%s", of_last_error());
  double y[2] = {1.0, 0.0};
  CHECK(of_solver_init(s, 0.0, y) == OF_OK, "%s", of_last_error());
  CHECK(of_solver_integrate(s, 10.0, 0.0, 0, NULL, NULL, &status) == OF_OK && status == OF_T_END, "status %d (%s)",
        status, of_last_error());
  of_solver_state(s, y);
  CHECK(fabs(y[0] - cos(10.0)) < 1e-7 && fabs(y[1] + sin(10.0)) < 1e-7, "OF_AUTO on rhs: (%.12f, %.12f)", y[0], y[1]);
  of_solver_destroy(s);
  of_flow_destroy(flow);
}

int main(void) {
  test_auto();
  test_events();
  test_flow();
  test_team();
  test_threads();
  test_bad_flows();
  test_generic_rhs();
  printf("test_capi: %s (%d failures)\n", failures ? "FAILED" : "passed", failures);
  return failures ? 1 : 0;
}
