"""Log-cosh loss on a network's outputs ``f(Yhat) = (1/s) sum_{i,k} log cosh((Yhat - Y)_{ik})``.

``data`` layout (`overflow.costs._layout`): ``[m, s, Y (m, s)]`` (the targets, row-major). As in
`log_cosh`, ``log cosh r`` is evaluated as ``|r| + log1p(e^{-2|r|}) - log 2`` and ``sech^2 r`` as
``4 e^{-2|r|} / (1 + e^{-2|r|})^2``, so that nothing overflows for large residuals.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import carray

from ._layout import Layout, vector
from ._pointwise import log_cosh_residual, sech2
from .base import HVP_SIG, VG_SIG, Cost, _LazyCfunc, shape_mismatch
from .squared_loss import targets

__all__ = ["log_cosh_loss"]

_LAYOUT = Layout(dims=("m", "s"), Y=("m", "s"))
_Y = _LAYOUT.array("Y")


def _lc_value_and_grad(P_, m, n, grad_, data_):  # pragma: no cover - compiled by Numba
    size = m * n
    grad = carray(grad_, size)
    if shape_mismatch(data_, m, n, grad_):
        return np.nan
    P = carray(P_, size)
    Y = vector(data_, _Y)
    inv = 1.0 / n
    acc = 0.0
    for i in range(size):
        r = P[i] - Y[i]
        acc += log_cosh_residual(r)
        grad[i] = np.tanh(r) * inv
    return acc * inv


def _lc_hvp(P_, V_, m, n, out_, data_):  # pragma: no cover - compiled by Numba
    size = m * n
    out = carray(out_, size)
    if shape_mismatch(data_, m, n, out_):
        return
    P = carray(P_, size)
    V = carray(V_, size)
    Y = vector(data_, _Y)
    inv = 1.0 / n
    for i in range(size):
        out[i] = sech2(P[i] - Y[i]) * V[i] * inv  # sech^2(r) V


_VG = _LazyCfunc(_lc_value_and_grad, VG_SIG)
_HVP = _LazyCfunc(_lc_hvp, HVP_SIG)


def log_cosh_loss(Y: Any) -> Cost:
    r"""Log-cosh loss on a network's outputs ``Yhat`` (one sample per column) against targets ``Y``.

    With the residual :math:`R = \hat Y - Y`,

    .. math:: f(\hat Y) = \frac1s \sum_{i,k} \log\cosh R_{ik}, \qquad
              \nabla f(\hat Y) = \frac1s \tanh R, \qquad
              \nabla^2 f(\hat Y)[V] = \frac1s \operatorname{sech}^2(R) \odot V,

    entrywise. Quadratic for small residuals (:math:`\log\cosh r \approx r^2/2`), linear for large
    ones (:math:`\approx |r| - \log 2`) and real analytic: a smooth Huber loss.

    Parameters
    ----------
    Y : array_like, shape (m, s)
        Targets, one sample per column. A 1-D array of length ``s`` is read as ``m = 1``.

    Returns
    -------
    Cost
        With ``shape == (m, s)``, an exact ``hvp`` and ``f_star = None`` (as for `squared_loss`: the
        minimum a network reaches is not known in general).

    Raises
    ------
    TypeError
        If ``Y`` is not a real numeric array.
    ValueError
        If ``Y`` is not 1-D or 2-D, is empty or has an entry that is not finite.
    """
    Ya = targets(Y)
    m, s = Ya.shape
    return Cost(
        name="log_cosh_loss",
        shape=(m, s),
        vg_cfunc=_VG.get(),
        hvp_cfunc=_HVP.get(),
        data=_LAYOUT.pack(m=m, s=s, Y=Ya),
        f_star=None,
        hvp_exact=True,
        repr_args=f"samples={s}",
        spec=(log_cosh_loss, (Ya,)),
    )
