"""Matrix factorization cost ``f(P) = 1/2 ||P - T||_F^2``.

``data`` layout (`overflow.costs._layout`): ``[m, n, T (m, n)]`` (the target, row-major), which the
C++ ``matrix_factorization_cost`` of ``csrc/src/reference_costs.cpp`` reads too. The kernels are
generic (one compiled pair for every target) and cached on disk by Numba.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import carray

from ._layout import Layout, vector
from .base import HVP_SIG, VG_SIG, Cost, _LazyCfunc, real_array, shape_mismatch

__all__ = ["matrix_factorization"]

_LAYOUT = Layout(dims=("m", "n"), T=("m", "n"))
_T = _LAYOUT.array("T")


def _mf_value_and_grad(P_, m, n, grad_, data_):  # pragma: no cover - compiled by Numba
    size = m * n
    grad = carray(grad_, size)
    if shape_mismatch(data_, m, n, grad_):
        return np.nan
    P = carray(P_, size)
    T = vector(data_, _T)  # flat: the loop below runs over the m n entries
    # four partial sums: one accumulator is a chain of dependent adds (a third of the call at 4x4)
    a0 = a1 = a2 = a3 = 0.0
    i = 0
    while i + 4 <= size:
        r0 = P[i] - T[i]
        r1 = P[i + 1] - T[i + 1]
        r2 = P[i + 2] - T[i + 2]
        r3 = P[i + 3] - T[i + 3]
        grad[i] = r0
        grad[i + 1] = r1
        grad[i + 2] = r2
        grad[i + 3] = r3
        a0 += r0 * r0
        a1 += r1 * r1
        a2 += r2 * r2
        a3 += r3 * r3
        i += 4
    while i < size:
        r = P[i] - T[i]
        grad[i] = r
        a0 += r * r
        i += 1
    return 0.5 * ((a0 + a1) + (a2 + a3))


def _mf_hvp(P_, V_, m, n, out_, data_):  # pragma: no cover - compiled by Numba
    size = m * n
    out = carray(out_, size)
    if shape_mismatch(data_, m, n, out_):
        return
    V = carray(V_, size)
    for i in range(size):
        out[i] = V[i]


_VG = _LazyCfunc(_mf_value_and_grad, VG_SIG)
_HVP = _LazyCfunc(_mf_hvp, HVP_SIG)


def matrix_factorization(target: Any) -> Cost:
    r"""Matrix factorization cost.

    .. math:: f(P) = \tfrac12 \lVert P - T \rVert_F^2, \qquad
              \nabla f(P) = P - T, \qquad \nabla^2 f(P)[V] = V.

    Parameters
    ----------
    target : array_like, shape (m, n)
        The finite real matrix ``T``.

    Returns
    -------
    Cost
        With ``shape == (m, n)``, ``f_star == 0.0`` and an exact ``hvp``.

    Raises
    ------
    TypeError
        If ``target`` is not a real numeric array.
    ValueError
        If ``target`` is not 2-D, is empty or has non-finite entries.
    """
    T = real_array(target, "target", (2,), "(m, n)")
    m, n = T.shape
    data = _LAYOUT.pack(m=m, n=n, T=T)
    return Cost(
        name="matrix_factorization",
        shape=(m, n),
        vg_cfunc=_VG.get(),
        hvp_cfunc=_HVP.get(),
        data=data,
        f_star=0.0,
        hvp_exact=True,
        spec=(matrix_factorization, (T,)),
    )
