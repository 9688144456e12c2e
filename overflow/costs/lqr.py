r"""Linear-quadratic regulator costs over static state feedback ``u = -K x``.

The argument of the cost is the gain ``K = P`` of shape ``(m, n)`` (``m`` inputs, ``n`` states).

- `lqr` (continuous time, ``dx/dt = A x + B u``): ``f(K) = tr(P_K Sigma0)`` with
  ``(A - BK)^T P_K + P_K (A - BK) + Q + K^T R K = 0``.
- `dlqr` (discrete time, ``x+ = A x + B u``): ``f(K) = tr(P_K Sigma0)`` with
  ``P_K = Q + K^T R K + (A - BK)^T P_K (A - BK)``.

Both are defined on the open set of stabilizing gains (``A - BK`` Hurwitz, resp. Schur stable); the
kernels return NaN outside it, which the integrator reads as "outside the domain". Stability is
certified without an eigenvalue solver: with ``Sigma0`` positive definite, the closed loop is stable
if and only if the (unique) solution ``Y_K`` of ``(A-BK) Y + Y (A-BK)^T + Sigma0 = 0`` (resp.
``Y = Sigma0 + (A-BK) Y (A-BK)^T``) exists and is positive definite (Lyapunov's theorem), which a
Cholesky factorisation tests. The Lyapunov (Stein) equations are solved inside the Numba kernels by
the vectorised Kronecker method of `overflow.costs.lyapunov` (one LU of an ``n^2 x n^2`` matrix per
call, reused by all the solves of the call): ``O(n^6)``, sensible up to ``n ~ 15``.

``data`` layout (`overflow.costs._layout`), all row-major:
``[m, n, A (n, n), B (n, m), Q (n, n), R (m, m), Sigma0 (n, n)]``. The kernels are generic (one
compiled set for every system) and cached on disk by Numba.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from numba import carray

from .. import _validate as _v
from ._layout import Layout, matrix
from .base import HVP_SIG, VG_SIG, Cost, _LazyCfunc, real_array, shape_mismatch
from .lyapunov import continuous_operator, discrete_operator, is_positive_definite, lu_factor, solve_matrix

__all__ = ["lqr", "dlqr", "lqr_optimal", "dlqr_optimal"]

_LAYOUT = Layout(dims=("m", "n"), A=("n", "n"), B=("n", "m"), Q=("n", "n"), R=("m", "m"), Sigma0=("n", "n"))
_A, _B, _Q, _R, _S = (_LAYOUT.array(name) for name in ("A", "B", "Q", "R", "Sigma0"))
_JIT = dict(cache=True, error_model="numpy")


@numba.njit(**_JIT)
def _unpack(data_):  # pragma: no cover - compiled by Numba
    return matrix(data_, _A), matrix(data_, _B), matrix(data_, _Q), matrix(data_, _R), matrix(data_, _S)


@numba.njit(**_JIT)
def _fill_nan(out):  # pragma: no cover - compiled by Numba
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.nan


@numba.njit(**_JIT)
def _solve(K, A, B, Q, R, S, discrete):  # pragma: no cover - compiled by Numba
    """Factorise the closed-loop operator and solve for ``P_K`` and ``Y_K``.

    Returns ``(ok, F, LU, piv, P, Y, E)`` with ``F = A - BK`` and ``E`` the factor of the gradient
    ``grad f = 2 E Y`` (``E = RK - B^T P`` in continuous time, ``RK - B^T P F`` in discrete time);
    ``ok`` is False outside the stabilizing set.
    """
    n = A.shape[0]
    F = A - B @ K
    if discrete:
        LU = discrete_operator(F)
    else:
        LU = continuous_operator(F)
    piv = np.zeros(n * n, dtype=np.int64)
    ok = lu_factor(LU, piv)
    P = np.zeros((n, n))
    Y = np.zeros((n, n))
    E = np.zeros(K.shape)
    if not ok:
        return False, F, LU, piv, P, Y, E
    KRK = K.T @ (R @ K)
    if discrete:
        Y = solve_matrix(LU, piv, S, True)  # Y - F Y F^T = Sigma0
        P = solve_matrix(LU, piv, Q + KRK, False)  # P - F^T P F = Q + K^T R K
        E = R @ K - B.T @ (P @ F)
    else:
        Y = solve_matrix(LU, piv, -S, True)  # F Y + Y F^T = -Sigma0
        P = solve_matrix(LU, piv, -(Q + KRK), False)  # F^T P + P F = -(Q + K^T R K)
        E = R @ K - B.T @ P
    if not is_positive_definite(Y):
        return False, F, LU, piv, P, Y, E
    return True, F, LU, piv, P, Y, E


@numba.njit(**_JIT)
def _vg_body(K_, m, n, grad_, data_, discrete):  # pragma: no cover - compiled by Numba
    grad = carray(grad_, (m, n))
    if shape_mismatch(data_, m, n, grad_):
        return np.nan
    A, B, Q, R, S = _unpack(data_)
    K = carray(K_, (m, n))
    ok, F, LU, piv, P, Y, E = _solve(K, A, B, Q, R, S, discrete)
    if not ok:
        _fill_nan(grad)
        return np.nan
    G = 2.0 * (E @ Y)
    val = 0.0
    for i in range(n):
        for j in range(n):
            val += P[i, j] * S[j, i]
    for i in range(m):
        for j in range(n):
            grad[i, j] = G[i, j]
    return val


@numba.njit(**_JIT)
def _hvp_body(K_, V_, m, n, out_, data_, discrete):  # pragma: no cover - compiled by Numba
    out = carray(out_, (m, n))
    if shape_mismatch(data_, m, n, out_):
        return
    A, B, Q, R, S = _unpack(data_)
    K = carray(K_, (m, n))
    V = carray(V_, (m, n))
    ok, F, LU, piv, P, Y, E = _solve(K, A, B, Q, R, S, discrete)
    if not ok:
        _fill_nan(out)
        return
    VE = V.T @ E
    BVY = B @ (V @ Y)
    if discrete:
        # dP - F^T dP F = V^T E + E^T V;  dY - F dY F^T = -(B V Y F^T + F Y V^T B^T)
        dP = solve_matrix(LU, piv, VE + VE.T, False)
        W = BVY @ F.T
        dY = solve_matrix(LU, piv, -(W + W.T), True)
        dE = R @ V - B.T @ (dP @ F) + B.T @ (P @ (B @ V))
    else:
        # F^T dP + dP F = -(V^T E + E^T V);  F dY + dY F^T = B V Y + Y V^T B^T
        dP = solve_matrix(LU, piv, -(VE + VE.T), False)
        dY = solve_matrix(LU, piv, BVY + BVY.T, True)
        dE = R @ V - B.T @ dP
    H = 2.0 * (dE @ Y + E @ dY)
    for i in range(m):
        for j in range(n):
            out[i, j] = H[i, j]


def _lqr_value_and_grad(K_, m, n, grad_, data_):  # pragma: no cover - compiled by Numba
    return _vg_body(K_, m, n, grad_, data_, False)


def _lqr_hvp(K_, V_, m, n, out_, data_):  # pragma: no cover - compiled by Numba
    _hvp_body(K_, V_, m, n, out_, data_, False)


def _dlqr_value_and_grad(K_, m, n, grad_, data_):  # pragma: no cover - compiled by Numba
    return _vg_body(K_, m, n, grad_, data_, True)


def _dlqr_hvp(K_, V_, m, n, out_, data_):  # pragma: no cover - compiled by Numba
    _hvp_body(K_, V_, m, n, out_, data_, True)


_VG = _LazyCfunc(_lqr_value_and_grad, VG_SIG)
_HVP = _LazyCfunc(_lqr_hvp, HVP_SIG)
_DVG = _LazyCfunc(_dlqr_value_and_grad, VG_SIG)
_DHVP = _LazyCfunc(_dlqr_hvp, HVP_SIG)


# -- Python side: validation, Riccati solutions -----------------------------------------------


def _square(x: Any, name: str, size: int | None, size_name: str) -> np.ndarray:
    expected = f"({size_name}, {size_name})"
    X = real_array(x, name, (2,), expected)
    if X.shape[0] != X.shape[1] or (size is not None and X.shape[0] != size):
        want = expected if size is None else f"({size}, {size}) = {expected}"
        raise ValueError(f"{name} must have shape {want}, got shape {X.shape}")
    return X


def _symmetric(X: np.ndarray, name: str, definite: bool) -> np.ndarray:
    scale = max(1.0, float(np.max(np.abs(X))))
    if not np.allclose(X, X.T, rtol=0.0, atol=1e-10 * scale):
        raise ValueError(f"{name} must be symmetric, got max |{name} - {name}^T| = {np.max(np.abs(X - X.T)):.3g}")
    X = 0.5 * (X + X.T)
    lo = float(np.linalg.eigvalsh(X)[0])
    if definite and not lo > 1e-12 * scale:
        raise ValueError(f"{name} must be symmetric positive definite, got smallest eigenvalue {lo:.3g}")
    if not definite and lo < -1e-10 * scale:
        raise ValueError(f"{name} must be symmetric positive semidefinite, got smallest eigenvalue {lo:.3g}")
    return X


def _check_system(A: Any, B: Any, Q: Any, R: Any, Sigma0: Any = None):
    Aa = _square(A, "A", None, "n")
    n = Aa.shape[0]
    # every kernel call factorises the n^2 x n^2 Lyapunov operator (see the module's docstring)
    _v.check_memory(
        16 * n**4, "A", f"an array of shape {Aa.shape}", f"the {n * n} x {n * n} Lyapunov operator and its LU"
    )
    Ba = real_array(B, "B", (2,), "(n, m)")
    if Ba.shape[0] != n:
        raise ValueError(f"B must have shape (n, m) = ({n}, m) to match A of shape {Aa.shape}, got shape {Ba.shape}")
    m = Ba.shape[1]
    Qa = _symmetric(_square(Q, "Q", n, "n"), "Q", definite=False)
    Ra = _symmetric(_square(R, "R", m, "m"), "R", definite=True)
    if Sigma0 is None:
        return Aa, Ba, Qa, Ra, None
    Sa = _symmetric(_square(Sigma0, "Sigma0", n, "n"), "Sigma0", definite=True)
    return Aa, Ba, Qa, Ra, Sa


def _riccati(A, B, Q, R, discrete: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(K*, P*)`` from the stabilizing solution of the ARE; ValueError when there is none."""
    import scipy.linalg  # deferred: keeps ``import overflow`` fast

    kind = "discrete" if discrete else "continuous"
    msg = (
        f"the {kind}-time algebraic Riccati equation has no stabilizing solution: "
        "(A, B) must be stabilizable and (Q, A) detectable (no unobservable mode of Q on the "
        + ("unit circle)" if discrete else "imaginary axis)")
    )
    try:
        if discrete:
            Ps = scipy.linalg.solve_discrete_are(A, B, Q, R)
        else:
            Ps = scipy.linalg.solve_continuous_are(A, B, Q, R)
    except (np.linalg.LinAlgError, ValueError) as err:
        raise ValueError(f"{msg} ({err})") from None
    if not np.all(np.isfinite(Ps)):
        raise ValueError(msg)
    Ps = 0.5 * (Ps + Ps.T)
    if discrete:
        Ks = np.linalg.solve(R + B.T @ Ps @ B, B.T @ Ps @ A)
        stable = np.max(np.abs(np.linalg.eigvals(A - B @ Ks))) < 1.0
    else:
        Ks = np.linalg.solve(R, B.T @ Ps)
        stable = np.max(np.linalg.eigvals(A - B @ Ks).real) < 0.0
    if not stable or not np.all(np.isfinite(Ks)):
        raise ValueError(msg)
    return Ks, Ps


def lqr_optimal(A: Any, B: Any, Q: Any, R: Any) -> np.ndarray:
    """The optimal continuous-time LQR gain ``K* = R^{-1} B^T P*`` (shape ``(m, n)``), with ``P*``
    the stabilizing solution of ``A^T P + P A - P B R^{-1} B^T P + Q = 0``
    (``scipy.linalg.solve_continuous_are``). Raises ValueError on invalid input or when no
    stabilizing solution exists."""
    Aa, Ba, Qa, Ra, _ = _check_system(A, B, Q, R)
    return _riccati(Aa, Ba, Qa, Ra, discrete=False)[0]


def dlqr_optimal(A: Any, B: Any, Q: Any, R: Any) -> np.ndarray:
    """The optimal discrete-time LQR gain ``K* = (R + B^T P* B)^{-1} B^T P* A`` (shape ``(m, n)``),
    with ``P*`` the stabilizing solution of the DARE (``scipy.linalg.solve_discrete_are``).
    Raises ValueError on invalid input or when no stabilizing solution exists."""
    Aa, Ba, Qa, Ra, _ = _check_system(A, B, Q, R)
    return _riccati(Aa, Ba, Qa, Ra, discrete=True)[0]


def _build(A, B, Q, R, Sigma0, discrete: bool) -> Cost:
    if Sigma0 is None:  # optional in _check_system (the *_optimal gains need none), required here
        raise TypeError(
            "Sigma0 must be a real symmetric positive definite array of shape (n, n) (the covariance of x(0)), got None"
        )
    Aa, Ba, Qa, Ra, Sa = _check_system(A, B, Q, R, Sigma0)
    n, m = Ba.shape
    Ks, Ps = _riccati(Aa, Ba, Qa, Ra, discrete)
    data = _LAYOUT.pack(m=m, n=n, A=Aa, B=Ba, Q=Qa, R=Ra, Sigma0=Sa)
    ctor = dlqr if discrete else lqr
    return Cost(
        name=ctor.__name__,
        shape=(m, n),
        vg_cfunc=(_DVG if discrete else _VG).get(),
        hvp_cfunc=(_DHVP if discrete else _HVP).get(),
        data=data,
        f_star=float(np.sum(Ps * Sa)),
        hvp_exact=True,
        repr_args=f"states={n}, inputs={m}",
        spec=(ctor, (Aa, Ba, Qa, Ra, Sa)),
    )


def lqr(A: Any, B: Any, Q: Any, R: Any, Sigma0: Any) -> Cost:
    r"""Continuous-time LQR cost of the static feedback ``u = -K x`` for ``dx/dt = A x + B u``.

    .. math::
        f(K) = \operatorname{tr}(P_K \Sigma_0), \qquad
        (A - BK)^\top P_K + P_K (A - BK) + Q + K^\top R K = 0, \\
        \nabla f(K) = 2 (R K - B^\top P_K) Y_K, \qquad
        (A - BK) Y_K + Y_K (A - BK)^\top + \Sigma_0 = 0,

    i.e. the expected cost ``E int_0^inf (x^T Q x + u^T R u) dt`` for ``x(0) ~ (0, Sigma0)``.
    ``f`` is defined on the stabilizing gains (``A - BK`` Hurwitz); outside, the kernels return NaN.
    The exact Hessian-vector product uses the derivatives of ``P_K`` and ``Y_K`` in the direction
    ``V`` (two more Lyapunov solves with the same factorisation):
    ``Hess f(K)[V] = 2 (R V - B^T P') Y_K + 2 (R K - B^T P_K) Y'``.

    The Lyapunov equations are solved inside the Numba kernel by the vectorised (Kronecker) method:
    one LU factorisation of the ``n^2 x n^2`` matrix of ``X -> F^T X + X F`` per call, reused for
    all solves (the adjoint solve uses its transpose). That is ``O(n^6)``; measured per
    ``value_and_grad``: 4 us at ``n = 4``, 35 us at ``n = 8``, 1.4 ms at ``n = 15``, 5 ms at
    ``n = 20``, so it is meant for ``n <= 15`` or so. Stability is
    certified by Lyapunov's theorem (``Y_K`` positive definite, tested by Cholesky), not by an
    eigenvalue solver.

    Parameters
    ----------
    A : array_like, shape (n, n)
    B : array_like, shape (n, m)
    Q : array_like, shape (n, n), symmetric positive semidefinite
    R : array_like, shape (m, m), symmetric positive definite
    Sigma0 : array_like, shape (n, n), symmetric positive definite (covariance of ``x(0)``)

    Returns
    -------
    Cost
        With ``shape == (m, n)``, an exact ``hvp`` and ``f_star = tr(P* Sigma0)``, ``P*`` the
        stabilizing solution of the continuous algebraic Riccati equation (see `lqr_optimal`).

    Raises
    ------
    TypeError
        If an argument is not a real numeric array.
    ValueError
        If a shape is wrong, an entry is not finite, ``Q``/``R``/``Sigma0`` is not symmetric
        (semi)definite as required, or the Riccati equation has no stabilizing solution
        ((A, B) not stabilizable or (Q, A) not detectable).
    """
    return _build(A, B, Q, R, Sigma0, discrete=False)


def dlqr(A: Any, B: Any, Q: Any, R: Any, Sigma0: Any) -> Cost:
    r"""Discrete-time LQR cost of the static feedback ``u = -K x`` for ``x+ = A x + B u``.

    .. math::
        f(K) = \operatorname{tr}(P_K \Sigma_0), \qquad
        P_K = Q + K^\top R K + (A - BK)^\top P_K (A - BK), \\
        \nabla f(K) = 2 \big((R + B^\top P_K B) K - B^\top P_K A\big) Y_K, \qquad
        Y_K = \Sigma_0 + (A - BK) Y_K (A - BK)^\top.

    ``f`` is defined on the gains with spectral radius ``rho(A - BK) < 1``; outside, the kernels
    return NaN. The Stein equations are solved as in `lqr` (one LU of the ``n^2 x n^2`` matrix of
    ``X -> X - F^T X F`` per call, ``O(n^6)``, meant for ``n <= 15`` or so); the Hessian-vector
    product is exact. Parameters, return value and errors as in `lqr`, with ``f_star`` from the
    discrete algebraic Riccati equation (see `dlqr_optimal`).
    """
    return _build(A, B, Q, R, Sigma0, discrete=True)
