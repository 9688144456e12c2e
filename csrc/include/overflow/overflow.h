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
typedef double (*of_value_and_grad_fn)(const double* P, int64_t m, int64_t n, double* grad_out,
                                       void* data);

/* Writes out = Hess f(P)[V] (all m x n, row-major). */
typedef void (*of_hvp_fn)(const double* P, const double* V, int64_t m, int64_t n, double* out,
                          void* data);

/* A generic right-hand side dy = f(t, y) of n equations (n is fixed when the solver is made).
   Non-finite entries of dy reject the step. */
typedef void (*of_rhs_fn)(double t, const double* y, double* dy, void* data);

#ifdef __cplusplus
}
#endif
#endif /* OVERFLOW_H */
