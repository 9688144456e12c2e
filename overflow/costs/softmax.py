"""Multi-class softmax cross-entropy cost ``f(P) = -(1/s) sum_k log softmax(P x_k)[label_k]``.

``data`` layout (`overflow.costs._layout`): ``[c, n, s, XT (s, n), labels (s)]`` with ``XT = X^T``
(class indices stored as floats).
Each call allocates two scratch vectors of length ``c`` (Numba's runtime is thread-safe, so the
kernels stay reentrant). The log-sum-exp is shifted by the largest logit, so no exponential
overflows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import carray

from .. import _validate as _v
from ._layout import Layout, matrix, vector
from .base import HVP_SIG, VG_SIG, Cost, _LazyCfunc, check_classes, real_array, shape_mismatch

__all__ = ["softmax_cross_entropy"]

_LAYOUT = Layout(dims=("c", "n", "s"), XT=("s", "n"), labels=("s",))
_XT, _LABELS = _LAYOUT.array("XT"), _LAYOUT.array("labels")


def _softmax_value_and_grad(P_, m, n, grad_, data_):  # pragma: no cover - compiled by Numba
    grad = carray(grad_, (m, n))
    if shape_mismatch(data_, m, n, grad_):
        return np.nan
    XT = matrix(data_, _XT)
    labels = vector(data_, _LABELS)
    s = XT.shape[0]
    P = carray(P_, (m, n))
    z = np.empty(m)
    grad[:, :] = 0.0
    acc = 0.0
    for k in range(s):
        lab = np.int64(labels[k])
        zmax = -np.inf
        for i in range(m):
            t = 0.0
            for j in range(n):
                t += P[i, j] * XT[k, j]
            z[i] = t
            if t > zmax:
                zmax = t
        zl = z[lab]
        se = 0.0
        for i in range(m):
            z[i] = np.exp(z[i] - zmax)
            se += z[i]
        acc += (zmax - zl) + np.log(se)
        inv_se = 1.0 / se
        for i in range(m):
            g = z[i] * inv_se
            if i == lab:
                g -= 1.0
            for j in range(n):
                grad[i, j] += g * XT[k, j]
    inv = 1.0 / s
    grad *= inv
    return acc * inv


def _softmax_hvp(P_, V_, m, n, out_, data_):  # pragma: no cover - compiled by Numba
    out = carray(out_, (m, n))
    if shape_mismatch(data_, m, n, out_):
        return
    XT = matrix(data_, _XT)
    s = XT.shape[0]
    P = carray(P_, (m, n))
    V = carray(V_, (m, n))
    p = np.empty(m)
    a = np.empty(m)
    out[:, :] = 0.0
    for k in range(s):
        zmax = -np.inf
        for i in range(m):
            t = 0.0
            u = 0.0
            for j in range(n):
                t += P[i, j] * XT[k, j]
                u += V[i, j] * XT[k, j]
            p[i] = t
            a[i] = u
            if t > zmax:
                zmax = t
        se = 0.0
        for i in range(m):
            p[i] = np.exp(p[i] - zmax)
            se += p[i]
        pa = 0.0
        for i in range(m):
            p[i] /= se
            pa += p[i] * a[i]
        for i in range(m):
            c = p[i] * (a[i] - pa)  # ((diag(p) - p p^T) V x_k)_i
            for j in range(n):
                out[i, j] += c * XT[k, j]
    inv = 1.0 / s
    out *= inv


_VG = _LazyCfunc(_softmax_value_and_grad, VG_SIG)
_HVP = _LazyCfunc(_softmax_hvp, HVP_SIG)


def _labels(Y: Any, s: int, n: int, classes: Any) -> tuple[np.ndarray, int]:
    """Class indices (int64, length s) and the number of classes from one-hot or integer labels."""
    if isinstance(Y, np.ndarray) and Y.dtype == np.bool_:
        Y = Y.astype(np.uint8)
    Ya = real_array(Y, "Y", (1, 2), "(c, s) one-hot or (s,) integer labels")
    classes = check_classes(classes)
    if classes is not None:
        # P is (classes, n): refuse a size that cannot exist before anything of that size is made
        _v.check_memory(8 * classes * n, "classes", classes, f"P of shape ({classes}, {n})")
    if Ya.ndim == 2:
        c, sy = Ya.shape
        if sy != s:
            raise ValueError(f"Y must have shape (c, s) = (c, {s}) to match X, got shape {Ya.shape}")
        if classes is not None and classes != c:
            raise ValueError(f"classes = {classes} disagrees with the {c} rows of the one-hot Y")
        if not np.all((Ya == 0.0) | (Ya == 1.0)) or not np.all(Ya.sum(axis=0) == 1.0):
            raise ValueError("Y of shape (c, s) must be one-hot: each column one 1 and zeros elsewhere")
        return np.argmax(Ya, axis=0).astype(np.int64), c
    if Ya.shape[0] != s:
        raise ValueError(f"Y must have s = {s} labels to match X, got {Ya.shape[0]}")
    if not np.all(Ya == np.round(Ya)) or np.any(Ya < 0):
        raise ValueError("Y given as a 1-D array must hold non-negative integer class labels")
    if classes is None:
        _v.check_memory(
            8 * (int(Ya.max()) + 1) * n,
            "Y",
            f"labels up to {int(Ya.max())}",
            f"P of shape ({int(Ya.max()) + 1}, {n}), one row per class",
        )
    labels = Ya.astype(np.int64)
    c = int(labels.max()) + 1 if classes is None else classes
    if labels.max() >= c:
        raise ValueError(f"Y has label {int(labels.max())}, outside range(classes) = range({c})")
    return labels, c


def softmax_cross_entropy(X: Any, Y: Any, classes: int | None = None) -> Cost:
    r"""Multi-class softmax cross-entropy cost over ``s`` samples and ``c`` classes.

    With :math:`p_k = \operatorname{softmax}(P x_k) \in \mathbb{R}^c` and :math:`\ell_k` the class of
    sample ``k``,

    .. math:: f(P) = -\frac1s \sum_{k=1}^{s} \log (p_k)_{\ell_k}
              = \frac1s \sum_k \Bigl(\log \sum_i e^{(P x_k)_i} - (P x_k)_{\ell_k}\Bigr),

    .. math:: \nabla f(P) = \frac1s \sum_k (p_k - e_{\ell_k}) x_k^\top, \qquad
              \nabla^2 f(P)[V] = \frac1s \sum_k \bigl(\operatorname{diag}(p_k) - p_k p_k^\top\bigr)
              (V x_k)\, x_k^\top,

    with ``P`` of shape ``(c, n)`` (no bias term: append a row of ones to ``X`` for one).

    Parameters
    ----------
    X : array_like, shape (n, s)
        Inputs, one sample per column. A 1-D array of length ``s`` is read as ``n = 1``.
    Y : array_like, shape (c, s) or (s,)
        Either one-hot targets (each column one 1, zeros elsewhere; bool allowed) or integer class
        labels in ``range(c)``.
    classes : int, optional
        The number of classes ``c`` for integer labels (default ``max(Y) + 1``).

    Returns
    -------
    Cost
        With ``shape == (c, n)``, an exact ``hvp`` and ``f_star = None``.

    Raises
    ------
    TypeError
        If ``X`` or ``Y`` is not a real numeric array.
    ValueError
        If a shape is wrong, the sample counts differ, an entry is not finite, ``Y`` is neither
        one-hot nor non-negative integer labels, or a label is out of ``range(classes)``.

    Notes
    -----
    ``f_star`` is left ``None``. ``f`` is invariant under adding the same row to every row of ``P``
    (so it has no strict minimiser), and when the classes are linearly separable through the
    origin its infimum 0 is not attained: the flow drives the loss to 0 with ``||P||`` growing
    without bound, logarithmically in ``t``.
    """
    Xa = real_array(X, "X", (1, 2), "(n, s)")
    if Xa.ndim == 1:
        Xa = Xa.reshape(1, -1)
    n, s = Xa.shape
    labels, c = _labels(Y, s, n, classes)
    data = _LAYOUT.pack(c=c, n=n, s=s, XT=Xa.T, labels=labels)
    return Cost(
        name="softmax_cross_entropy",
        shape=(c, n),
        vg_cfunc=_VG.get(),
        hvp_cfunc=_HVP.get(),
        data=data,
        f_star=None,
        hvp_exact=True,
        repr_args=f"samples={s}",
        spec=(softmax_cross_entropy, (Xa, labels, c)),
    )
