"""Ridge regression cost ``f(P) = 1/2 ||P X - Y||_F^2 / s + lam/2 ||P||_F^2``.

``data`` layout (`overflow.costs._layout`): ``[m, n, s, lam, XT (s, n), Y (m, s), H (n, n)]`` with
``XT = X^T`` and ``H = X X^T / s + lam I``. As in `linear_regression`, storing ``X^T`` keeps the inner loops
contiguous and ``H`` makes the exact Hessian-vector product ``V H`` cost ``O(m n^2)``; the value is
computed from the residual ``P X - Y`` so that it is accurate near the minimum.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import carray

from .. import _validate as _v
from ._layout import Layout, matrix
from .base import HVP_SIG, VG_SIG, Cost, _LazyCfunc, real_array, shape_mismatch

__all__ = ["ridge", "samples", "least_squares"]

_LAYOUT = Layout(dims=("m", "n", "s"), scalars=("lam",), XT=("s", "n"), Y=("m", "s"), H=("n", "n"))
_LAM, _XT, _Y, _H = _LAYOUT.slot("lam"), _LAYOUT.array("XT"), _LAYOUT.array("Y"), _LAYOUT.array("H")


def _ridge_value_and_grad(P_, m, n, grad_, data_):  # pragma: no cover - compiled by Numba
    grad = carray(grad_, (m, n))
    if shape_mismatch(data_, m, n, grad_):
        return np.nan
    XT = matrix(data_, _XT)
    Y = matrix(data_, _Y)
    lam = data_[_LAM]
    s = XT.shape[0]
    P = carray(P_, (m, n))
    grad[:, :] = 0.0
    acc = 0.0
    for i in range(m):
        for k in range(s):
            r = -Y[i, k]
            for j in range(n):
                r += P[i, j] * XT[k, j]
            acc += r * r
            for j in range(n):
                grad[i, j] += r * XT[k, j]
    inv = 1.0 / s
    pp = 0.0
    for i in range(m):
        for j in range(n):
            p = P[i, j]
            pp += p * p
            grad[i, j] = grad[i, j] * inv + lam * p
    return 0.5 * acc * inv + 0.5 * lam * pp


def _ridge_hvp(P_, V_, m, n, out_, data_):  # pragma: no cover - compiled by Numba
    out = carray(out_, (m, n))
    if shape_mismatch(data_, m, n, out_):
        return
    H = matrix(data_, _H)
    V = carray(V_, (m, n))
    for i in range(m):
        for j in range(n):
            out[i, j] = 0.0
        for j in range(n):
            v = V[i, j]
            for k in range(n):
                out[i, k] += v * H[j, k]


_VG = _LazyCfunc(_ridge_value_and_grad, VG_SIG)
_HVP = _LazyCfunc(_ridge_hvp, HVP_SIG)


def _check_lam(lam: Any) -> float:
    return _v.positive(lam, "lam", allow_zero=True)


def ridge(X: Any, Y: Any, lam: float) -> Cost:
    r"""Ridge (Tikhonov-regularised least squares) cost over ``s`` samples.

    .. math:: f(P) = \frac{1}{2s} \lVert P X - Y \rVert_F^2 + \frac{\lambda}{2} \lVert P \rVert_F^2,
              \qquad \nabla f(P) = \frac{1}{s} (P X - Y) X^\top + \lambda P,
              \qquad \nabla^2 f(P)[V] = \frac{1}{s} V X X^\top + \lambda V.

    For ``lam > 0`` the cost is strongly convex with the unique minimiser
    :math:`P^* = Y X^\top (X X^\top + s \lambda I)^{-1}`; for ``lam == 0`` it is
    `linear_regression`.

    Parameters
    ----------
    X : array_like, shape (n, s)
        Inputs, one sample per column. A 1-D array of length ``s`` is read as ``n = 1``.
    Y : array_like, shape (m, s)
        Targets, one sample per column. A 1-D array of length ``s`` is read as ``m = 1``.
    lam : float
        The regularisation weight :math:`\lambda \ge 0`.

    Returns
    -------
    Cost
        With ``shape == (m, n)``, an exact ``hvp`` and ``f_star = f(P^*)`` (for ``lam == 0`` the
        least-squares minimum from ``numpy.linalg.lstsq``).

    Raises
    ------
    TypeError
        If ``X`` or ``Y`` is not a real numeric array, or ``lam`` is not a real number.
    ValueError
        If a shape is wrong, the sample counts differ, an entry is not finite, or ``lam`` is
        negative or not finite.
    """
    Xa, Ya = samples(X, Y)
    lam = _check_lam(lam)
    return least_squares(
        Xa, Ya, lam, name="ridge", repr_args=f"samples={Xa.shape[1]}, lam={lam!r}", spec=(ridge, (Xa, Ya, lam))
    )


def samples(X: Any, Y: Any) -> tuple[np.ndarray, np.ndarray]:
    """``X`` (n, s) and ``Y`` (m, s) as finite float64 arrays with the same number of samples ``s``
    (1-D arrays are read as one row), or a ValueError/TypeError naming the argument."""
    Xa = real_array(X, "X", (1, 2), "(n, s)")
    Ya = real_array(Y, "Y", (1, 2), "(m, s)")
    if Xa.ndim == 1:
        Xa = Xa.reshape(1, -1)
    if Ya.ndim == 1:
        Ya = Ya.reshape(1, -1)
    if Ya.shape[1] != Xa.shape[1]:
        raise ValueError(
            f"Y must have shape (m, s) = (m, {Xa.shape[1]}) to match X of shape (n, s) = {Xa.shape}, "
            f"got Y of shape {Ya.shape}"
        )
    return Xa, Ya


def least_squares(Xa: np.ndarray, Ya: np.ndarray, lam: float, *, name: str, repr_args: str, spec: Any) -> Cost:
    """The ridge kernels on checked data; ``lam == 0`` is `linear_regression`."""
    n, s = Xa.shape
    m = Ya.shape[0]
    H = (Xa @ Xa.T) / s + lam * np.eye(n)
    data = _LAYOUT.pack(m=m, n=n, s=s, lam=lam, XT=Xa.T, Y=Ya, H=H)
    # minimiser: P (X X^T + s lam I) = Y X^T, i.e. (X X^T + s lam I) P^T = X Y^T (symmetric matrix)
    if lam > 0.0:
        Pstar = np.linalg.solve(Xa @ Xa.T + s * lam * np.eye(n), Xa @ Ya.T).T
    else:
        Pstar = np.linalg.lstsq(Xa.T, Ya.T, rcond=None)[0].T
    R = Pstar @ Xa - Ya
    f_star = 0.5 * float(np.sum(R * R)) / s + 0.5 * lam * float(np.sum(Pstar * Pstar))
    return Cost(
        name=name,
        shape=(m, n),
        vg_cfunc=_VG.get(),
        hvp_cfunc=_HVP.get(),
        data=data,
        f_star=f_star,
        hvp_exact=True,
        repr_args=repr_args,
        spec=spec,
    )
