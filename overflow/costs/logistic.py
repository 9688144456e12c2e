"""Binary logistic regression cost ``f(P) = (1/s) sum_k log(1 + exp(-y_k P x_k))``, ``P`` of shape (1, n).

``data`` layout (`overflow.costs._layout`): ``[m, n, s, U (s, n)]`` with ``m = 1`` and row ``k`` of
``U`` holding ``u_k = y_k x_k`` (the label folded into the sample, so that the margin is
``z_k = P u_k``). The loss ``log(1 + e^{-z})`` is evaluated as ``max(-z, 0) + log1p(e^{-|z|})`` and
the sigmoids from ``e^{-|z|}``, so that no exponential overflows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import carray

from ._layout import Layout, matrix
from ._pointwise import log_loss, log_loss_curvature
from .base import HVP_SIG, VG_SIG, Cost, _LazyCfunc, real_array, shape_mismatch

__all__ = ["logistic"]

_LAYOUT = Layout(dims=("m", "n", "s"), U=("s", "n"))
_U = _LAYOUT.array("U")


def _logistic_value_and_grad(P_, m, n, grad_, data_):  # pragma: no cover - compiled by Numba
    grad = carray(grad_, n * m)
    if shape_mismatch(data_, m, n, grad_):
        return np.nan
    U = matrix(data_, _U)
    s = U.shape[0]
    P = carray(P_, n)
    grad[:] = 0.0
    acc = 0.0
    for k in range(s):
        z = 0.0
        for j in range(n):
            z += P[j] * U[k, j]
        value, w = log_loss(z)  # w = sigma(-z)
        acc += value
        for j in range(n):
            grad[j] -= w * U[k, j]
    inv = 1.0 / s
    grad *= inv
    return acc * inv


def _logistic_hvp(P_, V_, m, n, out_, data_):  # pragma: no cover - compiled by Numba
    out = carray(out_, n * m)
    if shape_mismatch(data_, m, n, out_):
        return
    U = matrix(data_, _U)
    s = U.shape[0]
    P = carray(P_, n)
    V = carray(V_, n)
    out[:] = 0.0
    for k in range(s):
        z = 0.0
        a = 0.0
        for j in range(n):
            z += P[j] * U[k, j]
            a += V[j] * U[k, j]
        c = log_loss_curvature(z) * a  # sigma(z) sigma(-z) (V u_k)
        for j in range(n):
            out[j] += c * U[k, j]
    inv = 1.0 / s
    out *= inv


_VG = _LazyCfunc(_logistic_value_and_grad, VG_SIG)
_HVP = _LazyCfunc(_logistic_hvp, HVP_SIG)


def logistic(X: Any, y: Any) -> Cost:
    r"""Binary logistic regression cost over ``s`` samples with labels :math:`y_k \in \{-1, +1\}`.

    .. math:: f(P) = \frac1s \sum_{k=1}^{s} \log\bigl(1 + e^{-y_k P x_k}\bigr), \qquad
              \nabla f(P) = -\frac1s \sum_k \sigma(-y_k P x_k)\, y_k x_k^\top,

    .. math:: \nabla^2 f(P)[V] = \frac1s \sum_k \sigma(z_k)\bigl(1 - \sigma(z_k)\bigr)
              (V x_k)\, x_k^\top, \qquad z_k = y_k P x_k,

    with :math:`\sigma(z) = 1/(1 + e^{-z})` and ``P`` a row vector of shape ``(1, n)`` (no bias term:
    append a row of ones to ``X`` for one). The value is computed without overflow for any margin.

    Parameters
    ----------
    X : array_like, shape (n, s)
        Inputs, one sample per column. A 1-D array of length ``s`` is read as ``n = 1``.
    y : array_like, shape (s,) or (1, s)
        Labels, each exactly ``-1`` or ``+1``.

    Returns
    -------
    Cost
        With ``shape == (1, n)``, an exact ``hvp`` and ``f_star = None``.

    Raises
    ------
    TypeError
        If ``X`` or ``y`` is not a real numeric array.
    ValueError
        If a shape is wrong, the sample counts differ, an entry is not finite, or a label is not
        ``-1`` or ``+1``.

    Notes
    -----
    ``f_star`` is left ``None``: separability is not detected. When the data are linearly
    separable through the origin (some ``P`` has ``y_k P x_k > 0`` for every ``k``), ``f`` has no
    minimiser: its infimum 0 is not attained. The gradient flow then drives the loss to 0 while
    ``||P||`` grows without bound, only logarithmically in ``t`` (the direction of ``P`` tends to a
    max-margin separator); an integration over a long span ends at ``t_end`` or by ``gtol``, never at
    a minimiser. On non-separable data ``f`` is coercive and the minimum is attained.
    """
    Xa = real_array(X, "X", (1, 2), "(n, s)")
    ya = real_array(y, "y", (1, 2), "(s,) or (1, s)")
    if Xa.ndim == 1:
        Xa = Xa.reshape(1, -1)
    if ya.ndim == 2:
        if ya.shape[0] != 1:
            raise ValueError(f"y must have shape (s,) or (1, s), got shape {ya.shape}")
        ya = ya.reshape(-1)
    n, s = Xa.shape
    if ya.shape[0] != s:
        raise ValueError(f"y must have s = {s} labels to match X of shape (n, s) = {Xa.shape}, got {ya.shape[0]}")
    if not np.all((ya == 1.0) | (ya == -1.0)):
        bad = ya[(ya != 1.0) & (ya != -1.0)][0]
        raise ValueError(f"y must contain only the labels -1 and +1, got {bad!r}")
    U = Xa.T * ya[:, None]  # row k: y_k x_k
    data = _LAYOUT.pack(m=1, n=n, s=s, U=U)
    return Cost(
        name="logistic",
        shape=(1, n),
        vg_cfunc=_VG.get(),
        hvp_cfunc=_HVP.get(),
        data=data,
        f_star=None,
        hvp_exact=True,
        repr_args=f"samples={s}",
        spec=(logistic, (Xa, ya)),
    )
