"""Log-cosh robust regression cost ``f(P) = (1/s) sum_{i,k} log cosh((P X - Y)_{ik})``.

``data`` layout (`overflow.costs._layout`): ``[m, n, s, XT (s, n), Y (m, s)]`` with ``XT = X^T``.
``log cosh r`` is evaluated as ``|r| + log1p(e^{-2|r|}) - log 2`` and ``sech^2 r`` as
``4 e^{-2|r|} / (1 + e^{-2|r|})^2``, so that nothing overflows for large residuals.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import carray

from ._layout import Layout, matrix
from ._pointwise import log_cosh_residual, sech2
from .base import HVP_SIG, VG_SIG, Cost, _LazyCfunc, shape_mismatch
from .ridge import samples

__all__ = ["log_cosh"]

_LAYOUT = Layout(dims=("m", "n", "s"), XT=("s", "n"), Y=("m", "s"))
_XT, _Y = _LAYOUT.array("XT"), _LAYOUT.array("Y")


def _lc_value_and_grad(P_, m, n, grad_, data_):  # pragma: no cover - compiled by Numba
    grad = carray(grad_, (m, n))
    if shape_mismatch(data_, m, n, grad_):
        return np.nan
    XT = matrix(data_, _XT)
    Y = matrix(data_, _Y)
    s = XT.shape[0]
    P = carray(P_, (m, n))
    grad[:, :] = 0.0
    acc = 0.0
    for i in range(m):
        for k in range(s):
            r = -Y[i, k]
            for j in range(n):
                r += P[i, j] * XT[k, j]
            acc += log_cosh_residual(r)
            t = np.tanh(r)
            for j in range(n):
                grad[i, j] += t * XT[k, j]
    inv = 1.0 / s
    grad *= inv
    return acc * inv


def _lc_hvp(P_, V_, m, n, out_, data_):  # pragma: no cover - compiled by Numba
    out = carray(out_, (m, n))
    if shape_mismatch(data_, m, n, out_):
        return
    XT = matrix(data_, _XT)
    Y = matrix(data_, _Y)
    s = XT.shape[0]
    P = carray(P_, (m, n))
    V = carray(V_, (m, n))
    out[:, :] = 0.0
    for i in range(m):
        for k in range(s):
            r = -Y[i, k]
            a = 0.0
            for j in range(n):
                r += P[i, j] * XT[k, j]
                a += V[i, j] * XT[k, j]
            c = sech2(r) * a  # sech^2(r) (V x_k)_i
            for j in range(n):
                out[i, j] += c * XT[k, j]
    inv = 1.0 / s
    out *= inv


_VG = _LazyCfunc(_lc_value_and_grad, VG_SIG)
_HVP = _LazyCfunc(_lc_hvp, HVP_SIG)


def log_cosh(X: Any, Y: Any) -> Cost:
    r"""Log-cosh robust regression cost over ``s`` samples.

    With the residual :math:`R = P X - Y`,

    .. math:: f(P) = \frac1s \sum_{i,k} \log\cosh R_{ik}, \qquad
              \nabla f(P) = \frac1s \tanh(R)\, X^\top, \qquad
              \nabla^2 f(P)[V] = \frac1s \bigl(\operatorname{sech}^2(R) \odot (V X)\bigr) X^\top,

    with ``tanh`` and ``sech`` applied entrywise. Like the Huber loss it is quadratic for small
    residuals (:math:`\log\cosh r \approx r^2/2`) and linear for large ones
    (:math:`\approx |r| - \log 2`), but it is real analytic, as the theory of the flow requires.
    It is convex, and strictly convex when ``X`` has full row rank.

    Parameters
    ----------
    X : array_like, shape (n, s)
        Inputs, one sample per column. A 1-D array of length ``s`` is read as ``n = 1``.
    Y : array_like, shape (m, s)
        Targets, one sample per column. A 1-D array of length ``s`` is read as ``m = 1``.

    Returns
    -------
    Cost
        With ``shape == (m, n)``, an exact ``hvp`` and ``f_star = None``.

    Raises
    ------
    TypeError
        If ``X`` or ``Y`` is not a real numeric array.
    ValueError
        If a shape is wrong, the sample counts differ, or an entry is not finite.

    Notes
    -----
    ``f_star`` is left ``None``: the minimiser has no closed form in general. (When ``P X = Y`` is
    solvable the minimum is 0, attained at that solution.)
    """
    Xa, Ya = samples(X, Y)
    n, s = Xa.shape
    m = Ya.shape[0]
    data = _LAYOUT.pack(m=m, n=n, s=s, XT=Xa.T, Y=Ya)
    return Cost(
        name="log_cosh",
        shape=(m, n),
        vg_cfunc=_VG.get(),
        hvp_cfunc=_HVP.get(),
        data=data,
        f_star=None,
        hvp_exact=True,
        repr_args=f"samples={s}",
        spec=(log_cosh, (Xa, Ya)),
    )
