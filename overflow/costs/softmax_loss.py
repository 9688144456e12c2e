"""Softmax cross-entropy on a network's outputs: ``f(Yhat) = -(1/s) sum_{i,k} T_ik log softmax(Yhat[:, k])_i``.

``data`` layout (`overflow.costs._layout`): ``[m, s, T (m, s)]``, the target probabilities of the ``m``
classes, one sample per column (one-hot for integer labels). The kernels run over the rows of the
row-major ``(m, s)`` arrays with per-sample scratch vectors of length ``s`` (Numba's runtime is
thread-safe, so the kernels stay reentrant). The log-sum-exp is shifted by each column's largest
output and the value summed from the non-negative terms ``T_ik (max_j Yhat_jk - Yhat_ik)``, so nothing
overflows or cancels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import carray

from .. import _validate as _v
from ._layout import Layout, matrix
from .base import HVP_SIG, VG_SIG, Cost, _LazyCfunc, check_classes, real_array, shape_mismatch

__all__ = ["softmax_cross_entropy_loss"]

_LAYOUT = Layout(dims=("m", "s"), T=("m", "s"))
_T = _LAYOUT.array("T")
#: How far a column of probabilities may sum from 1 (rounding in the caller's normalisation).
_SUM_TOL = 1e-9


def _softmax_value_and_grad(P_, m, n, grad_, data_):  # pragma: no cover - compiled by Numba
    grad = carray(grad_, (m, n))
    if shape_mismatch(data_, m, n, grad_):
        return np.nan
    Z = carray(P_, (m, n))
    T = matrix(data_, _T)
    zmax = np.full(n, -np.inf)
    se = np.zeros(n)
    tsum = np.zeros(n)
    for i in range(m):
        for k in range(n):
            zmax[k] = max(zmax[k], Z[i, k])
    acc = 0.0
    for i in range(m):
        for k in range(n):
            e = np.exp(Z[i, k] - zmax[k])
            grad[i, k] = e
            se[k] += e
            tsum[k] += T[i, k]
            acc += T[i, k] * (zmax[k] - Z[i, k])
    for k in range(n):
        acc += tsum[k] * np.log(se[k])
        se[k] = tsum[k] / se[k]  # now the factor turning e into (sum_i T_ik) p_ik
    inv = 1.0 / n
    for i in range(m):
        for k in range(n):
            grad[i, k] = (grad[i, k] * se[k] - T[i, k]) * inv
    return acc * inv


def _softmax_hvp(P_, V_, m, n, out_, data_):  # pragma: no cover - compiled by Numba
    out = carray(out_, (m, n))
    if shape_mismatch(data_, m, n, out_):
        return
    Z = carray(P_, (m, n))
    V = carray(V_, (m, n))
    T = matrix(data_, _T)
    zmax = np.full(n, -np.inf)
    se = np.zeros(n)
    tsum = np.zeros(n)
    pv = np.zeros(n)
    for i in range(m):
        for k in range(n):
            zmax[k] = max(zmax[k], Z[i, k])
    for i in range(m):
        for k in range(n):
            e = np.exp(Z[i, k] - zmax[k])
            out[i, k] = e
            se[k] += e
            tsum[k] += T[i, k]
            pv[k] += e * V[i, k]
    for k in range(n):
        pv[k] /= se[k]  # p_k^T v_k
        se[k] = tsum[k] / se[k]
    inv = 1.0 / n
    for i in range(m):
        for k in range(n):
            # (sum_i T_ik) ((diag(p_k) - p_k p_k^T) v_k)_i
            out[i, k] = out[i, k] * se[k] * (V[i, k] - pv[k]) * inv


_VG = _LazyCfunc(_softmax_value_and_grad, VG_SIG)
_HVP = _LazyCfunc(_softmax_hvp, HVP_SIG)


def _one_hot(labels: np.ndarray, classes: Any) -> np.ndarray:
    """The ``(classes, s)`` one-hot matrix of 1-D integer ``labels`` (``classes`` default max + 1)."""
    if not np.all(labels == np.round(labels)) or np.any(labels < 0):
        raise ValueError("labels given as a 1-D array must hold non-negative integer class labels")
    top = int(labels.max())
    if classes is None:
        _v.check_memory(8 * (top + 1) * labels.size, "labels", f"labels up to {top}", "one output row per class")
        classes = top + 1
    elif top >= classes:
        raise ValueError(f"labels has label {top}, outside range(classes) = range({classes})")
    T = np.zeros((classes, labels.size))
    T[labels.astype(np.int64), np.arange(labels.size)] = 1.0
    return T


def softmax_cross_entropy_loss(labels: Any, classes: int | None = None) -> Cost:
    r"""Softmax cross-entropy on a network's outputs ``Yhat`` (``m`` classes by ``s`` samples).

    With :math:`p_k = \operatorname{softmax}(\hat Y_{:,k}) \in \mathbb{R}^m` and the target
    probabilities :math:`t_k` of sample ``k`` (one-hot for a label),

    .. math:: f(\hat Y) = -\frac1s \sum_{k=1}^{s} t_k^\top \log p_k
              = \frac1s \sum_k \Bigl(\log \sum_i e^{\hat Y_{ik}} - t_k^\top \hat Y_{:,k}\Bigr),

    .. math:: \nabla f(\hat Y)_{:,k} = \frac1s (p_k - t_k), \qquad
              \nabla^2 f(\hat Y)[V]_{:,k} = \frac1s \bigl(\operatorname{diag}(p_k) - p_k p_k^\top\bigr) V_{:,k}.

    Parameters
    ----------
    labels : array_like, shape (s,) or (m, s)
        Either integer class labels in ``range(m)``, or target probabilities, one sample per column
        (non-negative, each column summing to 1; one-hot and bool allowed).
    classes : int, optional
        The number of classes ``m`` (default: ``max(labels) + 1`` for integer labels, the rows of a
        probability matrix, which it must then equal).

    Returns
    -------
    Cost
        With ``shape == (m, s)``, an exact ``hvp`` and ``f_star = None`` (the infimum, the targets'
        mean entropy, is attained only in the limit for one-hot targets).

    Raises
    ------
    TypeError
        If ``labels`` is not a real numeric array, or ``classes`` is not an integer.
    ValueError
        If ``labels`` is neither non-negative integer labels nor columns of probabilities, has an
        entry that is not finite, or a label is outside ``range(classes)``.

    Notes
    -----
    ``f`` does not change when the same value is added to every output of a sample, so its Hessian
    is singular along those directions.
    """
    if isinstance(labels, np.ndarray) and labels.dtype == np.bool_:
        labels = labels.astype(np.float64)
    La = real_array(labels, "labels", (1, 2), "(s,) integer class labels or (m, s) class probabilities")
    classes = check_classes(classes)
    if classes is not None:
        _v.check_memory(8 * classes * La.shape[-1], "classes", classes, f"one output row per class ({classes})")
    if La.ndim == 1:
        T = _one_hot(La, classes)
    else:
        if classes is not None and classes != La.shape[0]:
            raise ValueError(f"classes = {classes} disagrees with the {La.shape[0]} rows of labels")
        if np.any(La < 0) or np.any(np.abs(La.sum(axis=0) - 1.0) > _SUM_TOL):
            raise ValueError(
                "labels of shape (m, s) must be class probabilities: non-negative, each column summing to 1"
            )
        T = La
    m, s = T.shape
    return Cost(
        name="softmax_cross_entropy_loss",
        shape=(m, s),
        vg_cfunc=_VG.get(),
        hvp_cfunc=_HVP.get(),
        data=_LAYOUT.pack(m=m, s=s, T=T),
        f_star=None,
        hvp_exact=True,
        repr_args=f"samples={s}",
        spec=(softmax_cross_entropy_loss, (T,)),
    )
