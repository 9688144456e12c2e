"""The linearization of the gradient flow ``dW/dt = -grad g(W)`` at an equilibrium.

Its Jacobian is ``-Hess g(W)``: symmetric, so its eigenvalues are real and it is diagonalisable.
The stable / centre / unstable dimensions are the numbers of Hessian eigenvalues that are
positive / zero / negative (up to ``tol * scale``, ``scale = max(1, ||P||_F)`` as in
`overflow.analysis.critical`). The centre directions include the ``GL(k)`` symmetry orbits
``W_{i+1} A^{-1}, A W_i`` of the network, so equilibria are never hyperbolic when ``N >= 2``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .hessian import _tested_point, dense_hessian

__all__ = ["Linearization", "linearization"]


@dataclass
class Linearization:
    """Eigen-decomposition of the flow's Jacobian ``J = -Hess g(W)`` at an equilibrium.

    Attributes
    ----------
    eigenvalues : ndarray
        The eigenvalues of ``J``, ascending.
    eigenvectors : ndarray
        Orthonormal eigenvectors (columns, flat-state layout), matching ``eigenvalues``.
    stable, centre, unstable : int
        Counts of eigenvalues ``< -tol*scale``, ``|.| <= tol*scale``, ``> tol*scale``.
    grad_norm : float
        ``||grad g(W)||_F`` at the point.
    scale : float
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    stable: int
    centre: int
    unstable: int
    grad_norm: float
    scale: float


def linearization(net, Ws: Sequence[np.ndarray], tol: float = 1e-9, scale: float | None = None) -> Linearization:
    """Eigenvalues of the Jacobian ``-Hess g(W)`` of the flow at the equilibrium ``W``.

    The dense Hessian is formed (``state_size`` HVPs and one ``eigh``), so this is meant for
    states of up to a few thousand entries. Networks on data and activated ones take the core's exact
    Jacobian of the flow (``scale = max(1, ||Yhat||_F)`` by default); their activation must be twice
    differentiable.

    Raises
    ------
    ValueError
        If ``||grad g(W)||_F > tol * scale`` (not an equilibrium), on wrong layer shapes, or for the
        activations relu and leaky_relu (no Hessian at the kinks).
    """
    point, scale, thr, grad_norm = _tested_point(net, Ws, tol, scale)
    if grad_norm > thr:
        raise ValueError(f"not an equilibrium: ||grad g||_F = {grad_norm:.3e} > tol*scale = {thr:.3e}")
    w, V = np.linalg.eigh(-dense_hessian(net, None, point))
    return Linearization(
        eigenvalues=w,
        eigenvectors=V,
        stable=int(np.sum(w < -thr)),
        centre=int(np.sum(np.abs(w) <= thr)),
        unstable=int(np.sum(w > thr)),
        grad_norm=grad_norm,
        scale=scale,
    )
