"""Logistic loss on a network's one output ``f(Yhat) = (1/s) sum_k log(1 + exp(-y_k Yhat_k))``, labels +-1.

``data`` layout (`overflow.costs._layout`): ``[m, s, y (s)]`` with ``m = 1``. As in `logistic`, the
loss ``log(1 + e^{-z})`` of the margin ``z = y_k Yhat_k`` is evaluated as ``max(-z, 0) + log1p(e^{-|z|})``
and the sigmoids from ``e^{-|z|}``, so that no exponential overflows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import carray

from ._layout import Layout, vector
from ._pointwise import log_loss, log_loss_curvature
from .base import HVP_SIG, VG_SIG, Cost, _LazyCfunc, real_array, shape_mismatch

__all__ = ["logistic_loss"]

_LAYOUT = Layout(dims=("m", "s"), y=("s",))
_LABELS = _LAYOUT.array("y")


def _logistic_value_and_grad(P_, m, n, grad_, data_):  # pragma: no cover - compiled by Numba
    size = m * n
    grad = carray(grad_, size)
    if shape_mismatch(data_, m, n, grad_):
        return np.nan
    P = carray(P_, size)
    y = vector(data_, _LABELS)
    inv = 1.0 / n
    acc = 0.0
    for k in range(size):
        z = y[k] * P[k]
        value, w = log_loss(z)  # w = sigma(-z)
        acc += value
        grad[k] = -y[k] * w * inv
    return acc * inv


def _logistic_hvp(P_, V_, m, n, out_, data_):  # pragma: no cover - compiled by Numba
    size = m * n
    out = carray(out_, size)
    if shape_mismatch(data_, m, n, out_):
        return
    P = carray(P_, size)
    V = carray(V_, size)
    inv = 1.0 / n
    for k in range(size):
        # sigma(z) sigma(-z) is even in z = y P: the label's sign drops out
        out[k] = log_loss_curvature(P[k]) * V[k] * inv


_VG = _LazyCfunc(_logistic_value_and_grad, VG_SIG)
_HVP = _LazyCfunc(_logistic_hvp, HVP_SIG)


def logistic_loss(y: Any) -> Cost:
    r"""Logistic loss on a network's single output row ``Yhat`` (shape ``(1, s)``), labels :math:`\pm 1`.

    With the margins :math:`z_k = y_k \hat Y_k` and :math:`\sigma(z) = 1/(1 + e^{-z})`,

    .. math:: f(\hat Y) = \frac1s \sum_{k=1}^{s} \log\bigl(1 + e^{-z_k}\bigr), \qquad
              \frac{\partial f}{\partial \hat Y_k} = -\frac1s\, y_k\, \sigma(-z_k), \qquad
              \nabla^2 f(\hat Y)[V]_k = \frac1s\, \sigma(z_k) \sigma(-z_k)\, V_k.

    The value is computed without overflow for any margin.

    Parameters
    ----------
    y : array_like, shape (s,) or (1, s)
        Labels, each exactly ``-1`` or ``+1``.

    Returns
    -------
    Cost
        With ``shape == (1, s)``, an exact ``hvp`` and ``f_star = None`` (the infimum 0 is not
        attained: it needs infinite margins).

    Raises
    ------
    TypeError
        If ``y`` is not a real numeric array.
    ValueError
        If ``y`` is not of shape ``(s,)`` or ``(1, s)``, is empty, or holds a label other than
        ``-1`` and ``+1``.
    """
    ya = real_array(y, "y", (1, 2), "(s,) or (1, s)")
    if ya.ndim == 2:
        if ya.shape[0] != 1:
            raise ValueError(f"y must have shape (s,) or (1, s), got shape {ya.shape}")
        ya = ya.reshape(-1)
    if not np.all((ya == 1.0) | (ya == -1.0)):
        bad = float(ya[(ya != 1.0) & (ya != -1.0)][0])
        raise ValueError(f"y must contain only the labels -1 and +1, got {bad!r}")
    s = ya.shape[0]
    return Cost(
        name="logistic_loss",
        shape=(1, s),
        vg_cfunc=_VG.get(),
        hvp_cfunc=_HVP.get(),
        data=_LAYOUT.pack(m=1, s=s, y=ya),
        f_star=None,
        hvp_exact=True,
        repr_args=f"samples={s}",
        spec=(logistic_loss, (ya,)),
    )
