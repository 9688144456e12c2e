"""Huber loss on a network's outputs ``f(Yhat) = (1/s) sum_{i,k} h_delta((Yhat - Y)_{ik})``.

``data`` layout (`overflow.costs._layout`): ``[m, s, delta, Y (m, s)]`` (the targets, row-major).
``h_delta`` is C^1, not C^2: its second derivative jumps from 1 to 0 at ``|r| = delta``, and the
``hvp`` kernel returns the second derivative of the quadratic piece there (1 for ``|r| <= delta``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import carray

from .. import _validate as _v
from ._layout import Layout, vector
from .base import HVP_SIG, VG_SIG, Cost, _LazyCfunc, shape_mismatch
from .squared_loss import targets

__all__ = ["huber_loss"]

_LAYOUT = Layout(dims=("m", "s"), scalars=("delta",), Y=("m", "s"))
_DELTA, _Y = _LAYOUT.slot("delta"), _LAYOUT.array("Y")


def _huber_value_and_grad(P_, m, n, grad_, data_):  # pragma: no cover - compiled by Numba
    size = m * n
    grad = carray(grad_, size)
    if shape_mismatch(data_, m, n, grad_):
        return np.nan
    P = carray(P_, size)
    Y = vector(data_, _Y)
    delta = data_[_DELTA]
    inv = 1.0 / n
    acc = 0.0
    for i in range(size):
        r = P[i] - Y[i]
        if abs(r) <= delta:
            acc += 0.5 * r * r
            grad[i] = r * inv
        else:
            acc += delta * (abs(r) - 0.5 * delta)
            grad[i] = (delta if r > 0.0 else -delta) * inv
    return acc * inv


def _huber_hvp(P_, V_, m, n, out_, data_):  # pragma: no cover - compiled by Numba
    size = m * n
    out = carray(out_, size)
    if shape_mismatch(data_, m, n, out_):
        return
    P = carray(P_, size)
    V = carray(V_, size)
    Y = vector(data_, _Y)
    delta = data_[_DELTA]
    inv = 1.0 / n
    for i in range(size):
        out[i] = V[i] * inv if abs(P[i] - Y[i]) <= delta else 0.0


_VG = _LazyCfunc(_huber_value_and_grad, VG_SIG)
_HVP = _LazyCfunc(_huber_hvp, HVP_SIG)


def huber_loss(Y: Any, delta: float = 1.0) -> Cost:
    r"""Huber loss on a network's outputs ``Yhat`` (one sample per column) against targets ``Y``.

    With the residual :math:`R = \hat Y - Y`,

    .. math:: f(\hat Y) = \frac1s \sum_{i,k} h_\delta(R_{ik}), \qquad
              h_\delta(r) = \begin{cases} r^2/2 & |r| \le \delta \\
              \delta (|r| - \delta/2) & |r| > \delta \end{cases},

    .. math:: \nabla f(\hat Y) = \frac1s \operatorname{clip}(R, -\delta, \delta), \qquad
              \nabla^2 f(\hat Y)[V] = \frac1s \mathbf 1_{|R| \le \delta} \odot V.

    ``f`` is continuously differentiable but not twice: the ``hvp`` is the second derivative where
    it exists (everywhere but ``|R_{ik}| = delta``, where the quadratic piece's is taken). For a
    twice differentiable robust loss use `log_cosh_loss`.

    Parameters
    ----------
    Y : array_like, shape (m, s)
        Targets, one sample per column. A 1-D array of length ``s`` is read as ``m = 1``.
    delta : float, optional
        The threshold between the quadratic and the linear piece, finite and ``> 0`` (default 1).

    Returns
    -------
    Cost
        With ``shape == (m, s)``, an exact ``hvp`` (almost everywhere) and ``f_star = None``.

    Raises
    ------
    TypeError
        If ``Y`` is not a real numeric array or ``delta`` is not a real number.
    ValueError
        If ``Y`` is not 1-D or 2-D, is empty or has an entry that is not finite, or ``delta`` is not
        finite and positive.
    """
    Ya = targets(Y)
    delta = _v.positive(delta, "delta")
    m, s = Ya.shape
    return Cost(
        name="huber_loss",
        shape=(m, s),
        vg_cfunc=_VG.get(),
        hvp_cfunc=_HVP.get(),
        data=_LAYOUT.pack(m=m, s=s, delta=delta, Y=Ya),
        f_star=None,
        hvp_exact=True,
        repr_args=f"samples={s}, delta={delta!r}",
        spec=(huber_loss, (Ya, delta)),
    )
