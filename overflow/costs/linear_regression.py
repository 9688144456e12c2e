"""Linear regression cost ``f(P) = 1/2 ||P X - Y||_F^2 / s``.

``data`` layout: ``[m, n, s, X^T.ravel() (s*n), Y.ravel() (m*s), G.ravel() (n*n)]`` with
``G = X X^T / s``. Storing ``X^T`` makes the inner loops contiguous; ``G`` makes the exact
Hessian-vector product ``V G`` cost ``O(m n^2)`` independently of the number of samples. The value
is computed from the residual ``P X - Y`` (not from an expanded quadratic) so that it is accurate
near the minimum.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import carray

from .base import HVP_SIG, VG_SIG, Cost, _LazyCfunc, real_array

__all__ = ["linear_regression"]

_HEAD = 3


def _lr_value_and_grad(P_, m, n, grad_, data_):  # pragma: no cover - compiled by Numba
    head = carray(data_, _HEAD)
    grad = carray(grad_, (m, n))
    if head[0] != m or head[1] != n:
        for i in range(m):
            for j in range(n):
                grad[i, j] = np.nan
        return np.nan
    s = np.int64(head[2])
    ox = _HEAD
    oy = ox + s * n
    d = carray(data_, oy + m * s + n * n)
    P = carray(P_, (m, n))
    for i in range(m):
        for j in range(n):
            grad[i, j] = 0.0
    acc = 0.0
    for i in range(m):
        for k in range(s):
            xk = ox + k * n
            r = -d[oy + i * s + k]
            for j in range(n):
                r += P[i, j] * d[xk + j]
            acc += r * r
            for j in range(n):
                grad[i, j] += r * d[xk + j]
    inv = 1.0 / s
    for i in range(m):
        for j in range(n):
            grad[i, j] *= inv
    return 0.5 * acc * inv


def _lr_hvp(P_, V_, m, n, out_, data_):  # pragma: no cover - compiled by Numba
    head = carray(data_, _HEAD)
    out = carray(out_, (m, n))
    if head[0] != m or head[1] != n:
        for i in range(m):
            for j in range(n):
                out[i, j] = np.nan
        return
    s = np.int64(head[2])
    og = _HEAD + s * n + m * s
    d = carray(data_, og + n * n)
    V = carray(V_, (m, n))
    for i in range(m):
        for j in range(n):
            out[i, j] = 0.0
        for j in range(n):
            v = V[i, j]
            gj = og + j * n
            for l in range(n):
                out[i, l] += v * d[gj + l]


_VG = _LazyCfunc(_lr_value_and_grad, VG_SIG)
_HVP = _LazyCfunc(_lr_hvp, HVP_SIG)


def linear_regression(X: Any, Y: Any) -> Cost:
    r"""Linear regression (least squares) cost over ``s`` samples.

    .. math:: f(P) = \frac{1}{2s} \lVert P X - Y \rVert_F^2, \qquad
              \nabla f(P) = \frac{1}{s} (P X - Y) X^\top, \qquad
              \nabla^2 f(P)[V] = \frac{1}{s} V X X^\top.

    Parameters
    ----------
    X : array_like, shape (n, s)
        Inputs, one sample per column. A 1-D array of length ``s`` is read as ``n = 1``.
    Y : array_like, shape (m, s)
        Targets, one sample per column. A 1-D array of length ``s`` is read as ``m = 1``.

    Returns
    -------
    Cost
        With ``shape == (m, n)``, an exact ``hvp`` and ``f_star`` the least-squares minimum
        ``min_P f(P)`` (computed with ``numpy.linalg.lstsq``; 0 when ``P X = Y`` is solvable).

    Raises
    ------
    TypeError
        If ``X`` or ``Y`` is not a real numeric array.
    ValueError
        If a shape is wrong, the sample counts differ, or an entry is not finite.
    """
    Xa = real_array(X, "X", (1, 2), "(n, s)")
    Ya = real_array(Y, "Y", (1, 2), "(m, s)")
    if Xa.ndim == 1:
        Xa = Xa.reshape(1, -1)
    if Ya.ndim == 1:
        Ya = Ya.reshape(1, -1)
    n, s = Xa.shape
    m = Ya.shape[0]
    if Ya.shape[1] != s:
        raise ValueError(
            f"Y must have shape (m, s) = (m, {s}) to match X of shape (n, s) = {Xa.shape}, "
            f"got Y of shape {Ya.shape}"
        )
    G = (Xa @ Xa.T) / s
    data = np.concatenate(([float(m), float(n), float(s)], Xa.T.ravel(), Ya.ravel(), G.ravel()))
    # least-squares minimum: P X ~ Y  <=>  X^T P^T ~ Y^T; the value from the residual
    Pt = np.linalg.lstsq(Xa.T, Ya.T, rcond=None)[0]
    R = Pt.T @ Xa - Ya
    f_star = 0.5 * float(np.sum(R * R)) / s
    return Cost(
        name="linear_regression",
        shape=(m, n),
        vg_cfunc=_VG.get(),
        hvp_cfunc=_HVP.get(),
        data=data,
        f_star=f_star,
        hvp_exact=True,
        repr_args=f"samples={s}",
        spec=(linear_regression, (Xa, Ya)),
    )
