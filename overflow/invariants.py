"""The conserved quantities of the flow (definition 1, proposition 2; eq. 19's imbalance)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from . import _validate as _v

__all__ = ["invariants", "imbalance"]


# h with h' = 2 sigma / sigma' for each activation: a_j^2 - h(b_j) is conserved per neuron.
_H = {
    "isru": lambda b: 0.5 * (1.0 + b * b) ** 2,  # sigma' = (1 + b^2)^(-3/2): h' = 2 b (1 + b^2)
    "tanh": lambda b: 0.5 * np.cosh(2.0 * b),  # h' = 2 tanh / sech^2 = sinh(2b)
}


def _layers(Ws: object) -> list[np.ndarray]:
    """``Ws`` as float64 layers: a list of 2-D arrays (one state) or of 3-D arrays with a common
    first axis (a trajectory). An array is refused rather than iterated: its rows are not layers."""
    if not isinstance(Ws, (list, tuple)):
        raise TypeError(
            "Ws must be a list of layers [W_1, ..., W_N] (2-D arrays, or 3-D (T, rows, cols) for a "
            f"trajectory), got {_v.describe(Ws)}"
        )
    if not Ws:
        raise ValueError("Ws must hold at least one layer, got an empty list")
    out = []
    for i, W in enumerate(Ws):
        A = _v.float_array(W, f"Ws[{i}]", "a real 2-D array (or 3-D for a trajectory)")
        if A.ndim not in (2, 3):
            raise ValueError(
                f"Ws[{i}] must be a 2-D array (or 3-D (T, rows, cols) for a trajectory), got shape {A.shape}"
            )
        if A.ndim != out[0].ndim if out else False:
            raise ValueError(
                f"Ws must be all 2-D (one state) or all 3-D (a trajectory), got shapes {out[0].shape} and {A.shape}"
            )
        if A.ndim == 3 and out and A.shape[0] != out[0].shape[0]:
            raise ValueError(
                f"Ws must share the number of saved states T (first axis), got shapes {out[0].shape} and {A.shape}"
            )
        out.append(A)
    return out


def invariants(Ws: Sequence[np.ndarray], activation: str | None = None) -> list[np.ndarray]:
    """``[C_1, ..., C_{N-1}]`` with ``C_i = W_i W_i^T - W_{i+1}^T W_{i+1}`` (definition 1).

    Each ``C_i`` is constant along exact solutions of the flow (proposition 2). Accepts one
    network state (a list of 2-D layers) or a trajectory (a list of 3-D arrays ``(T, rows, cols)``,
    as in ``Result.weights``), in which case each ``C_i`` has shape ``(T, k_i, k_i)``.

    With ``activation="isru"`` or ``"tanh"`` (one hidden layer on one input: ``W_1`` of shape
    ``(k, 1)``), returns ``[c]`` with the per-neuron invariants ``c_j = sum_i a_ij^2 - h(b_j)``,
    ``a = W_2``, ``b = W_1``, ``h' = 2 sigma / sigma'`` (section 4): for isru
    ``h(b) = (1 + b^2)^2 / 2``, so width 1 gives eq. 10's ``C = w_2^2 - (1 + w_1^2)^2 / 2``; for tanh
    ``h(b) = cosh(2b) / 2``.
    """
    Ws = _layers(Ws)
    if activation is not None:
        if not isinstance(activation, str) or activation not in _H:
            raise (ValueError if isinstance(activation, str) else TypeError)(
                f"activation must be None or one of {tuple(_H)}, got {_v.describe(activation)}"
            )
        if len(Ws) != 2 or Ws[0].shape[-1] != 1 or Ws[1].shape[-1] != Ws[0].shape[-2]:
            raise ValueError(
                "per-neuron invariants exist for one hidden layer on one input: Ws = [W_1 (k, 1), "
                f"W_2 (m, k)], got shapes {[W.shape for W in Ws]}"
            )
        b = Ws[0][..., 0]
        return [np.sum(Ws[1] ** 2, axis=-2) - _H[activation](b)]
    for i in range(len(Ws) - 1):
        if Ws[i].shape[-2] != Ws[i + 1].shape[-1]:
            raise ValueError(f"layers {i + 1} and {i + 2} do not chain: shapes {Ws[i].shape} and {Ws[i + 1].shape}")
    return [W @ np.swapaxes(W, -1, -2) - np.swapaxes(V, -1, -2) @ V for W, V in itertools.pairwise(Ws)]


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
