"""Squared loss on a network's outputs ``f(Yhat) = 1/2 ||Yhat - Y||_F^2 / s``.

``data`` layout (`overflow.costs._layout`): ``[m, s, Y (m, s)]`` (the targets, row-major). The
normalisation by the number of samples ``s`` is `linear_regression`'s, so that on a linear network
``Yhat = P X`` the two costs are the same function of ``P``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import carray

from ._layout import Layout, vector
from .base import HVP_SIG, VG_SIG, Cost, _LazyCfunc, real_array, shape_mismatch

__all__ = ["squared_loss", "targets"]

_LAYOUT = Layout(dims=("m", "s"), Y=("m", "s"))
_Y = _LAYOUT.array("Y")


def _sq_value_and_grad(P_, m, n, grad_, data_):  # pragma: no cover - compiled by Numba
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
        grad[i] = r * inv
        acc += r * r
    return 0.5 * acc * inv


def _sq_hvp(P_, V_, m, n, out_, data_):  # pragma: no cover - compiled by Numba
    size = m * n
    out = carray(out_, size)
    if shape_mismatch(data_, m, n, out_):
        return
    V = carray(V_, size)
    inv = 1.0 / n
    for i in range(size):
        out[i] = V[i] * inv


_VG = _LazyCfunc(_sq_value_and_grad, VG_SIG)
_HVP = _LazyCfunc(_sq_hvp, HVP_SIG)


def targets(Y: Any, name: str = "Y") -> np.ndarray:
    """``Y`` as a finite float64 ``(m, s)`` array (a 1-D array of length ``s`` is one row), or a
    TypeError/ValueError naming the argument ``name``."""
    Ya = real_array(Y, name, (1, 2), "(m, s)")
    return Ya.reshape(1, -1) if Ya.ndim == 1 else Ya


def squared_loss(Y: Any) -> Cost:
    r"""Squared loss on a network's outputs ``Yhat`` (one sample per column) against targets ``Y``.

    .. math:: f(\hat Y) = \frac{1}{2s} \lVert \hat Y - Y \rVert_F^2, \qquad
              \nabla f(\hat Y) = \frac1s (\hat Y - Y), \qquad
              \nabla^2 f(\hat Y)[V] = \frac1s V.

    With ``Yhat = P X`` this is `linear_regression` ``(X, Y)`` as a function of ``P``.

    Parameters
    ----------
    Y : array_like, shape (m, s)
        Targets, one sample per column. A 1-D array of length ``s`` is read as ``m = 1``.

    Returns
    -------
    Cost
        With ``shape == (m, s)``, an exact ``hvp`` and ``f_star = None``.

    Raises
    ------
    TypeError
        If ``Y`` is not a real numeric array.
    ValueError
        If ``Y`` is not 1-D or 2-D, is empty or has an entry that is not finite.

    Notes
    -----
    ``f_star`` is left ``None``: ``f`` itself has the minimum 0 at ``Yhat = Y``, but a network reaches
    only the outputs its architecture and inputs allow, and that minimum is not known in general.
    """
    Ya = targets(Y)
    m, s = Ya.shape
    return Cost(
        name="squared_loss",
        shape=(m, s),
        vg_cfunc=_VG.get(),
        hvp_cfunc=_HVP.get(),
        data=_LAYOUT.pack(m=m, s=s, Y=Ya),
        f_star=None,
        hvp_exact=True,
        repr_args=f"samples={s}",
        spec=(squared_loss, (Ya,)),
    )
