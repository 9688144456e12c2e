"""Scalar pieces of the costs' Numba kernels, written once in their overflow-free forms: the logistic
loss of a margin and the log cosh of a residual, with the derivatives the kernels need. The costs on
``P`` (`logistic`, `log_cosh`) and on a network's outputs (`logistic_loss`, `log_cosh_loss`) share them.
"""

from __future__ import annotations

import math

import numba
import numpy as np

_LOG2 = math.log(2.0)


@numba.njit(cache=True)
def log_loss(z):  # pragma: no cover - compiled by Numba
    """``(log(1 + e^{-z}), sigma(-z))``: the logistic loss of the margin ``z`` and minus its
    derivative, with ``e^{-|z|} <= 1`` on both branches."""
    e = np.exp(-abs(z))
    if z >= 0.0:
        return np.log1p(e), e / (1.0 + e)
    return -z + np.log1p(e), 1.0 / (1.0 + e)


@numba.njit(cache=True)
def log_loss_curvature(z):  # pragma: no cover - compiled by Numba
    """``sigma(z) sigma(-z)``, the logistic loss's second derivative (even in ``z``)."""
    e = np.exp(-abs(z))
    return e / ((1.0 + e) * (1.0 + e))


@numba.njit(cache=True)
def log_cosh_residual(r):  # pragma: no cover - compiled by Numba
    """``log cosh r = |r| + log1p(e^{-2|r|}) - log 2``: no overflow of ``cosh`` for large ``|r|``."""
    ar = abs(r)
    return (ar - _LOG2) + np.log1p(np.exp(-2.0 * ar))


@numba.njit(cache=True)
def sech2(r):  # pragma: no cover - compiled by Numba
    """``sech^2 r = 4 e / (1 + e)^2`` with ``e = e^{-2|r|}``, the second derivative of log cosh."""
    e = np.exp(-2.0 * abs(r))
    return 4.0 * e / ((1.0 + e) * (1.0 + e))
