"""The conserved quantities of the flow (definition 1, proposition 2; eq. 19's imbalance)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["invariants", "imbalance"]


def invariants(Ws: Sequence[np.ndarray]) -> list[np.ndarray]:
    """``[C_1, ..., C_{N-1}]`` with ``C_i = W_i W_i^T - W_{i+1}^T W_{i+1}`` (definition 1).

    Each ``C_i`` is constant along exact solutions of the flow (proposition 2). Accepts one
    network state (a list of 2-D layers) or a trajectory (a list of 3-D arrays ``(T, rows, cols)``,
    as in ``Result.weights``), in which case each ``C_i`` has shape ``(T, k_i, k_i)``.
    """
    Ws = [np.asarray(W, dtype=np.float64) for W in Ws]
    if not Ws:
        raise ValueError("Ws must hold at least one layer")
    for i in range(len(Ws) - 1):
        if Ws[i].shape[-2] != Ws[i + 1].shape[-1]:
            raise ValueError(f"layers {i + 1} and {i + 2} do not chain: shapes {Ws[i].shape} and {Ws[i + 1].shape}")
    return [W @ np.swapaxes(W, -1, -2) - np.swapaxes(V, -1, -2) @ V for W, V in zip(Ws[:-1], Ws[1:])]


def imbalance(Ws: Sequence[np.ndarray]) -> float | np.ndarray:
    """``c = 2 tr(C^2) - tr(C)^2`` for each invariant ``C`` (section 3).

    In the vector case (``N = 2``, ``m = n = 1``) this is ``S^2 - 4 z^2`` with
    ``S = ||w_1||^2 + ||w_2||^2`` and ``z = w_2 w_1``, so ``dz/dt = -f'(z) sqrt(c + 4 z^2)`` (eq. 19).
    For one state: a float for a depth-2 network, else an array with one value per ``C_i``. For a
    trajectory (layers of shape ``(T, rows, cols)``): shape ``(T,)`` at depth 2, else ``(N - 1, T)``.
    """
    Cs = invariants(Ws)
    vals = np.array([2.0 * np.trace(C @ C, axis1=-2, axis2=-1) - np.trace(C, axis1=-2, axis2=-1) ** 2 for C in Cs])
    if len(Cs) == 1:
        return float(vals[0]) if vals.ndim == 1 else vals[0]
    return vals
