"""Linear regression cost ``f(P) = 1/2 ||P X - Y||_F^2 / s``: the ridge cost with ``lam = 0``.

It runs `ridge`'s kernels (one compiled pair for both) on `ridge`'s layout with ``lam = 0``:
``data`` is ``[m, n, s, lam, XT (s, n), Y (m, s), H (n, n)]`` with ``XT = X^T`` and ``H = X X^T / s``;
storing ``X^T`` keeps the inner loops contiguous, ``X X^T / s`` makes the exact Hessian-vector product
cost ``O(m n^2)`` whatever the number of samples, and the value is computed from the residual
``P X - Y`` (not from an expanded quadratic) so that it is accurate near the minimum.
"""

from __future__ import annotations

from typing import Any

from .base import Cost
from .ridge import least_squares, samples

__all__ = ["linear_regression"]


def linear_regression(X: Any, Y: Any) -> Cost:
    r"""Linear regression (least squares) cost over ``s`` samples.

    .. math:: f(P) = \frac{1}{2s} \lVert P X - Y \rVert_F^2, \qquad
              \nabla f(P) = \frac{1}{s} (P X - Y) X^\top, \qquad
              \nabla^2 f(P)[V] = \frac{1}{s} V X X^\top.

    Parameters
    ----------
    X : array_like, shape (n, s)
        Inputs, one sample per column. A 1-D array of length ``s`` is read as ``n = 1``.
    Y : array_like, shape (m, s)
        Targets, one sample per column. A 1-D array of length ``s`` is read as ``m = 1``.

    Returns
    -------
    Cost
        With ``shape == (m, n)``, an exact ``hvp`` and ``f_star`` the least-squares minimum
        ``min_P f(P)`` (computed with ``numpy.linalg.lstsq``; 0 when ``P X = Y`` is solvable).

    Raises
    ------
    TypeError
        If ``X`` or ``Y`` is not a real numeric array.
    ValueError
        If a shape is wrong, the sample counts differ, or an entry is not finite.
    """
    Xa, Ya = samples(X, Y)
    return least_squares(
        Xa, Ya, 0.0, name="linear_regression", repr_args=f"samples={Xa.shape[1]}", spec=(linear_regression, (Xa, Ya))
    )
