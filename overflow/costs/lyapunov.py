"""Small dense Lyapunov and Stein solvers for use inside Numba kernels (nopython, reentrant).

The LQR kernels (`overflow.costs.lqr`) need, at every evaluation, the solutions of

- continuous time: ``L(X) = F^T X + X F = M`` and its adjoint ``L*(Y) = F Y + Y F^T = M``;
- discrete time:   ``S(X) = X - F^T X F = M`` and its adjoint ``S*(Y) = Y - F Y F^T = M``,

for the closed-loop matrix ``F = A - B K``. Both operators are assembled as ``n^2 x n^2``
Kronecker matrices acting on the row-major ``vec(X)`` and factorised ONCE by an LU decomposition
with partial pivoting (written here, so that a singular operator becomes a ``False`` return value,
never a LAPACK exception inside a ``cfunc``). The adjoint operator is the transpose of the Kronecker
matrix (for the Frobenius inner product), so all the solves of one evaluation (two for the value and
gradient, two more for the Hessian-vector product) reuse the same factorisation through
``lu_solve(..., trans=True)``.

Cost: ``2/3 n^6`` flops for the factorisation plus ``O(n^4)`` per solve, and ``n^4`` doubles of
scratch. That is about 0.2 Mflop at ``n = 8`` and 8 Mflop at ``n = 15``; beyond ``n ~ 15-20`` a
Bartels-Stewart solver (real Schur form, ``O(n^3)``) would be the right tool, but Numba supports no
Schur decomposition.

All functions are ``numba.njit(cache=True)`` and allocate only local arrays: no global state.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = [
    "continuous_operator",
    "discrete_operator",
    "lu_factor",
    "lu_solve",
    "solve_matrix",
    "is_positive_definite",
    "symmetrize",
]

_JIT = dict(cache=True, error_model="numpy")


@numba.njit(**_JIT)
def continuous_operator(F):  # pragma: no cover - compiled by Numba
    """Kronecker matrix of ``X -> F^T X + X F`` on row-major ``vec(X)`` (``n^2 x n^2``)."""
    n = F.shape[0]
    N = n * n
    M = np.zeros((N, N))
    for i in range(n):
        for j in range(n):
            r = i * n + j
            for k in range(n):
                M[r, k * n + j] += F[k, i]
                M[r, i * n + k] += F[k, j]
    return M


@numba.njit(**_JIT)
def discrete_operator(F):  # pragma: no cover - compiled by Numba
    """Kronecker matrix of ``X -> X - F^T X F`` on row-major ``vec(X)`` (``n^2 x n^2``)."""
    n = F.shape[0]
    N = n * n
    M = np.empty((N, N))
    for i in range(n):
        for j in range(n):
            r = i * n + j
            for k in range(n):
                fki = F[k, i]
                for q in range(n):
                    M[r, k * n + q] = -fki * F[q, j]
            M[r, r] += 1.0
    return M


@numba.njit(**_JIT)
def lu_factor(M, piv):  # pragma: no cover - compiled by Numba
    """In-place LU factorisation with partial pivoting, ``P M = L U`` (unit ``L``).

    ``piv[k]`` is the row swapped with row ``k`` at step ``k`` (LAPACK convention, 0-based).
    Returns False when a pivot is zero or not finite (singular operator or non-finite input).
    """
    N = M.shape[0]
    for k in range(N):
        p = k
        best = abs(M[k, k])
        for i in range(k + 1, N):
            v = abs(M[i, k])
            if v > best:
                best = v
                p = i
        if not (best > 0.0) or not np.isfinite(best):
            return False
        piv[k] = p
        if p != k:
            for j in range(N):
                t = M[k, j]
                M[k, j] = M[p, j]
                M[p, j] = t
        inv = 1.0 / M[k, k]
        for i in range(k + 1, N):
            lik = M[i, k] * inv
            M[i, k] = lik
            if lik != 0.0:
                for j in range(k + 1, N):
                    M[i, j] -= lik * M[k, j]
    return True


@numba.njit(**_JIT)
def lu_solve(LU, piv, b, trans):  # pragma: no cover - compiled by Numba
    """Solve ``M x = b`` (``trans=False``) or ``M^T x = b`` (``trans=True``) in place in ``b``."""
    N = LU.shape[0]
    if not trans:
        for k in range(N):
            p = piv[k]
            if p != k:
                t = b[k]
                b[k] = b[p]
                b[p] = t
        for i in range(N):  # L z = P b
            s = b[i]
            for j in range(i):
                s -= LU[i, j] * b[j]
            b[i] = s
        for i in range(N - 1, -1, -1):  # U x = z
            s = b[i]
            for j in range(i + 1, N):
                s -= LU[i, j] * b[j]
            b[i] = s / LU[i, i]
    else:
        # M^T = U^T L^T P  =>  U^T z = b, L^T w = z, x = P^T w
        for i in range(N):
            s = b[i]
            for j in range(i):
                s -= LU[j, i] * b[j]
            b[i] = s / LU[i, i]
        for i in range(N - 1, -1, -1):
            s = b[i]
            for j in range(i + 1, N):
                s -= LU[j, i] * b[j]
            b[i] = s
        for k in range(N - 1, -1, -1):
            p = piv[k]
            if p != k:
                t = b[k]
                b[k] = b[p]
                b[p] = t


@numba.njit(**_JIT)
def solve_matrix(LU, piv, Mrhs, trans):  # pragma: no cover - compiled by Numba
    """Solve the operator equation for an ``n x n`` right-hand side; returns the symmetrised
    solution ``(X + X^T) / 2`` (the exact solutions used here are symmetric)."""
    n = Mrhs.shape[0]
    b = np.empty(n * n)
    for i in range(n):
        for j in range(n):
            b[i * n + j] = Mrhs[i, j]
    lu_solve(LU, piv, b, trans)
    X = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            X[i, j] = 0.5 * (b[i * n + j] + b[j * n + i])
    return X


@numba.njit(**_JIT)
def symmetrize(X):  # pragma: no cover - compiled by Numba
    return 0.5 * (X + X.T)


@numba.njit(**_JIT)
def is_positive_definite(X):  # pragma: no cover - compiled by Numba
    """Cholesky test of a symmetric matrix: True iff every pivot is positive and finite."""
    n = X.shape[0]
    L = np.zeros((n, n))
    for j in range(n):
        s = X[j, j]
        for k in range(j):
            s -= L[j, k] * L[j, k]
        if not (s > 0.0) or not np.isfinite(s):
            return False
        d = np.sqrt(s)
        L[j, j] = d
        for i in range(j + 1, n):
            t = X[i, j]
            for k in range(j):
                t -= L[i, k] * L[j, k]
            L[i, j] = t / d
    return True
