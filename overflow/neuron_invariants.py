r"""The per-neuron invariants of networks on data with a positively homogeneous activation (issue 18).

For ``sigma`` with ``sigma(c a) = c sigma(a)`` for ``c >= 0`` (linear, relu, leaky relu) the flow moves
the squared norms of a hidden neuron's incoming and outgoing weights at the same rate, so their
difference is conserved: the layer-wise ``C_i`` of overflow/invariants.py has these as its diagonal
for linear networks without biases, and they survive the nonlinearity where ``C_i`` does not.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from . import _validate as _v

__all__ = ["neuron_invariants"]


def _layers(layers: object) -> list[np.ndarray]:
    """``layers`` as float64 arrays, all 2-D (one state) or all 3-D with a common first axis."""
    if isinstance(layers, np.ndarray) or not isinstance(layers, Sequence) or isinstance(layers, str):
        raise TypeError(
            "layers must be a list of layers [L_1, ..., L_N] (2-D arrays, or 3-D (T, rows, cols) for a "
            f"trajectory), got {_v.describe(layers)}"
        )
    if not layers:
        raise ValueError("layers must hold at least one layer, got an empty sequence")
    out: list[np.ndarray] = []
    for i, L in enumerate(layers):
        A = _v.float_array(L, f"layers[{i}]", "a real 2-D array (or 3-D for a trajectory)")
        if A.ndim not in (2, 3):
            raise ValueError(
                f"layers[{i}] must be a 2-D array (or 3-D (T, rows, cols) for a trajectory), got shape {A.shape}"
            )
        if out and A.ndim != out[0].ndim:
            raise ValueError(
                f"layers must be all 2-D (one state) or all 3-D (a trajectory), got shapes {out[0].shape} and {A.shape}"
            )
        if out and A.ndim == 3 and A.shape[0] != out[0].shape[0]:
            raise ValueError(
                f"layers must share the number of saved states T (first axis), got shapes {out[0].shape} and {A.shape}"
            )
        out.append(A)
    return out


def neuron_invariants(layers: Sequence[np.ndarray], bias: bool = False) -> np.ndarray:
    r"""The differences of squared incoming and outgoing weights of every hidden neuron.

    For hidden layer ``i = 1, ..., N-1`` and its neuron ``j``,

    .. math:: c_{ij} = \lVert (W_i)_{j,:} \rVert^2 + (b_i)_j^2 - \lVert (W_{i+1})_{:,j} \rVert^2 ,

    incoming weights with the bias (row ``j`` of the stored layer ``[W_i | b_i]``), outgoing weights
    without layer ``i+1``'s bias; the result is ``c_{1,:}, ..., c_{N-1,:}`` concatenated.

    Why it is conserved: the flow of any cost ``f(Yhat)`` on the network of overflow/datasets.py's
    ``forward`` is ``dW_i/dt = -Z_i H_{i-1}^T``, ``db_i/dt = -Z_i 1``, with the backward pass
    ``Z_N = grad f(Yhat)``, ``Z_i = (W_{i+1}^T Z_{i+1}) * sigma'(A_i)``, so that

    .. math:: \frac{d}{dt}\big(\lVert (W_i)_{j,:} \rVert^2 + (b_i)_j^2\big)
              = -2 \sum_a (Z_i)_{ja} (A_i)_{ja}
              = -2 \sum_a (W_{i+1}^T Z_{i+1})_{ja}\, \sigma'(A_i)_{ja} (A_i)_{ja}, \qquad
              \frac{d}{dt} \lVert (W_{i+1})_{:,j} \rVert^2 = -2 \sum_a (W_{i+1}^T Z_{i+1})_{ja} (H_i)_{ja},

    and the two agree when ``sigma'(a) a = sigma(a)``: Euler's identity for positively homogeneous
    ``sigma`` of degree 1 (linear, relu, leaky relu; at the kink ``a = 0`` both sides are 0 whatever
    ``sigma'(0)`` is). For other activations (tanh, ...) ``c`` is not conserved.

    Parameters
    ----------
    layers : sequence of array_like
        ``[L_1, ..., L_N]`` with ``L_i = [W_i | b_i]`` of shape ``(k_i, k_{i-1} + 1)`` when ``bias``,
        ``W_i`` of shape ``(k_i, k_{i-1})`` otherwise (the layout of ``Network(..., inputs=X)``). 3-D
        arrays ``(T, rows, cols)`` are a trajectory of ``T`` states.
    bias : bool
        Whether each layer's last column is its bias.

    Returns
    -------
    ndarray
        Shape ``(k_1 + ... + k_{N-1},)``, or ``(T, k_1 + ... + k_{N-1})`` for a trajectory; empty for
        one layer (no hidden neuron).

    Raises
    ------
    TypeError
        If ``layers`` is not a sequence of real arrays or ``bias`` is not a bool.
    ValueError
        If ``layers`` is empty, mixes 2-D and 3-D arrays, or consecutive layers do not chain
        (``L_{i+1}`` must have ``k_i + bias`` columns).
    """
    bias = _v.boolean(bias, "bias")
    Ls = _layers(layers)
    for i in range(len(Ls) - 1):
        rows, cols = Ls[i].shape[-2], Ls[i + 1].shape[-1]
        if cols != rows + bias:
            raise ValueError(
                f"layers[{i + 1}] must have {rows + bias} columns ({rows} rows of layers[{i}]"
                f"{' + 1 for the bias' if bias else ''}), got shape {Ls[i + 1].shape}"
            )
    parts = [np.sum(L * L, axis=-1) - np.sum(M[..., : L.shape[-2]] ** 2, axis=-2) for L, M in itertools.pairwise(Ls)]
    if not parts:
        return np.zeros(Ls[0].shape[:-2] + (0,))
    return np.concatenate(parts, axis=-1)
