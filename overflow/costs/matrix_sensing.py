"""Matrix sensing cost ``f(P) = 1/2 sum_i (<A_i, P> - b_i)^2`` from ``r`` linear measurements.

``data`` layout (`overflow.costs._layout`): ``[m, n, r, A (r, m*n), b (r)]`` (row ``i`` of ``A`` is
``A_i`` row-major). The value and
gradient cost ``O(r m n)``, as does the exact Hessian-vector product ``sum_i <A_i, V> A_i``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import carray

from ._layout import Layout, matrix, vector
from .base import HVP_SIG, VG_SIG, Cost, _LazyCfunc, real_array, shape_mismatch

__all__ = ["matrix_sensing"]

_LAYOUT = Layout(dims=("m", "n", "r"), A=("r", "m*n"), b=("r",))
_A, _B = _LAYOUT.array("A"), _LAYOUT.array("b")


def _ms_value_and_grad(P_, m, n, grad_, data_):  # pragma: no cover - compiled by Numba
    size = m * n
    grad = carray(grad_, size)
    if shape_mismatch(data_, m, n, grad_):
        return np.nan
    A = matrix(data_, _A)
    b = vector(data_, _B)
    r = A.shape[0]
    P = carray(P_, size)
    grad[:] = 0.0
    acc = 0.0
    for i in range(r):
        e = -b[i]
        for j in range(size):
            e += A[i, j] * P[j]
        acc += e * e
        for j in range(size):
            grad[j] += e * A[i, j]
    return 0.5 * acc


def _ms_hvp(P_, V_, m, n, out_, data_):  # pragma: no cover - compiled by Numba
    size = m * n
    out = carray(out_, size)
    if shape_mismatch(data_, m, n, out_):
        return
    A = matrix(data_, _A)
    r = A.shape[0]
    V = carray(V_, size)
    out[:] = 0.0
    for i in range(r):
        a = 0.0
        for j in range(size):
            a += A[i, j] * V[j]
        for j in range(size):
            out[j] += a * A[i, j]


_VG = _LazyCfunc(_ms_value_and_grad, VG_SIG)
_HVP = _LazyCfunc(_ms_hvp, HVP_SIG)


def matrix_sensing(A_ops: Any, b: Any) -> Cost:
    r"""Matrix sensing (linear measurements of a matrix) cost.

    .. math:: f(P) = \tfrac12 \sum_{i=1}^{r} \bigl(\langle A_i, P \rangle - b_i\bigr)^2, \qquad
              \nabla f(P) = \sum_i \bigl(\langle A_i, P \rangle - b_i\bigr) A_i, \qquad
              \nabla^2 f(P)[V] = \sum_i \langle A_i, V \rangle A_i,

    with :math:`\langle A, P \rangle = \operatorname{tr}(A^\top P)` the Frobenius inner product.
    Matrix completion is the case where each ``A_i`` is a unit matrix ``e_j e_l^T``.

    Parameters
    ----------
    A_ops : array_like, shape (r, m, n)
        The ``r`` measurement matrices ``A_i``.
    b : array_like, shape (r,)
        The measurements ``b_i``.

    Returns
    -------
    Cost
        With ``shape == (m, n)``, an exact ``hvp`` and ``f_star`` the least-squares minimum of the
        vectorised system :math:`\mathcal{A}\,\mathrm{vec}(P) = b` (``numpy.linalg.lstsq``; 0 up to
        rounding when the system is consistent).

    Raises
    ------
    TypeError
        If ``A_ops`` or ``b`` is not a real numeric array.
    ValueError
        If ``A_ops`` is not 3-D, ``b`` does not have shape ``(r,)``, or an entry is not finite.
    """
    A = real_array(A_ops, "A_ops", (3,), "(r, m, n)")
    ba = real_array(b, "b", (1,), "(r,)")
    r, m, n = A.shape
    if ba.shape[0] != r:
        raise ValueError(f"b must have shape (r,) = ({r},) to match A_ops of shape {A.shape}, got {ba.shape}")
    Amat = A.reshape(r, m * n)
    data = _LAYOUT.pack(m=m, n=n, r=r, A=Amat, b=ba)
    p = np.linalg.lstsq(Amat, ba, rcond=None)[0]
    e = Amat @ p - ba
    f_star = 0.5 * float(e @ e)
    return Cost(
        name="matrix_sensing",
        shape=(m, n),
        vg_cfunc=_VG.get(),
        hvp_cfunc=_HVP.get(),
        data=data,
        f_star=f_star,
        hvp_exact=True,
        repr_args=f"measurements={r}",
        spec=(matrix_sensing, (A, ba)),
    )
