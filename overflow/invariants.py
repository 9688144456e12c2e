"""The conserved quantities of the flow (definition 1, proposition 2; eq. 19's imbalance), and of a
`Network`'s flow whatever its kind: the layer-wise ``C_i`` of linear networks, section 4's per-neuron
invariants, and the per-neuron invariants of overflow/neuron_invariants.py for positively homogeneous
activations (on data too)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import overload

import numpy as np

from . import _validate as _v
from .activations import is_homogeneous
from .network import Network
from .neuron_invariants import neuron_invariants

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


@overload
def invariants(Ws: Network, activation: Sequence[np.ndarray] | np.ndarray, /) -> list[np.ndarray]: ...
@overload
def invariants(Ws: Sequence[np.ndarray], activation: str | None = None) -> list[np.ndarray]: ...
def invariants(Ws, activation=None):
    r"""The quantities the gradient flow conserves: ``invariants(Ws)``, ``invariants(Ws, activation)``
    or ``invariants(net, Ws)``.

    ``invariants(Ws)``: ``[C_1, ..., C_{N-1}]`` with ``C_i = W_i W_i^T - W_{i+1}^T W_{i+1}``
    (definition 1), each constant along exact solutions of the linear network's flow (proposition 2).

    ``invariants(Ws, activation)`` with ``activation="isru"`` or ``"tanh"`` (one hidden layer on one
    input: ``W_1`` of shape ``(k, 1)``): ``[c]`` with the per-neuron invariants
    ``c_j = sum_i a_ij^2 - h(b_j)``, ``a = W_2``, ``b = W_1``, ``h' = 2 sigma / sigma'`` (section 4): for
    isru ``h(b) = (1 + b^2)^2 / 2``, so width 1 gives eq. 10's ``C = w_2^2 - (1 + w_1^2)^2 / 2``; for tanh
    ``h(b) = cosh(2b) / 2``.

    ``invariants(net, Ws)``: the invariants of the `Network` ``net``'s flow at the weights ``Ws``:

    - the linear network of eq. 4 (``net.linear``: no activation, no inputs): the ``C_i`` above;
    - a positively homogeneous activation (linear, relu, leaky_relu; ``sigma(c a) = c sigma(a)`` for
      ``c >= 0``), on data or on the identity input, with or without biases: ``[c_1, ..., c_{N-1}]``,
      the per-neuron invariants of each hidden layer ``i``

      .. math:: (c_i)_j = \lVert (W_i)_{j,:} \rVert^2 + (b_i)_j^2 - \lVert (W_{i+1})_{:,j} \rVert^2,

      incoming weights with the bias (row ``j`` of the stored ``[W_i | b_i]``), outgoing weights without
      ``b_{i+1}`` (see `overflow.neuron_invariants`, which says why the flow of any cost conserves them);
    - isru or tanh on the identity input with one hidden layer on one input: section 4's ``[c]``; data
      ``X = I_n`` without biases (``inputs=np.ones((1, 1))``) is the identity input and has them too.

    Other networks have no invariant this function knows, and it raises ValueError: for an activation
    that is not positively homogeneous (tanh, sigmoid, isru, softplus, gelu) on data the per-neuron
    differences are not conserved (their rate is ``2 sum_a (W_{i+1}^T Z_{i+1})_{ja} (sigma(A) -
    sigma'(A) A)_{ja}``, zero only by Euler's identity).

    Parameters
    ----------
    Ws : list of array_like, or Network
        One network state (a list of 2-D layers) or a trajectory (a list of 3-D arrays
        ``(T, rows, cols)``, as in ``Result.weights``); or the `Network` whose invariants are wanted,
        with its weights as the second argument.
    activation : None, str, or the weights
        With layers first: None (the ``C_i``), ``"isru"`` or ``"tanh"``. With a `Network` first: its
        weights, as a list of layers of its ``shapes`` (2-D, or 3-D for a trajectory), a flat state
        (``state_size``,) or a stack of flat states ``(T, state_size)``.

    Returns
    -------
    list of ndarray
        One entry per hidden layer ``i = 1, ..., N-1`` (empty for ``N = 1``): ``C_i`` of shape
        ``(k_i, k_i)``, or ``c_i`` of shape ``(k_i,)``; with a leading ``T`` axis for a trajectory.

    Raises
    ------
    TypeError
        If the layers are not a list of real arrays (an array is not iterated as layers), or the
        activation is neither None nor a string.
    ValueError
        If the layers do not chain or do not have ``net.shapes``, the activation or the shapes have no
        section 4 invariant, or ``net``'s activation conserves no per-neuron invariant.
    """
    if isinstance(Ws, Network):
        return _network_invariants(Ws, activation)
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


def _network_invariants(net: Network, Ws: object) -> list[np.ndarray]:
    """``invariants(net, Ws)``: the invariants of ``net``'s flow (see `invariants`)."""
    layers = _network_layers(net, Ws)
    if net.linear:
        return invariants(layers)
    if is_homogeneous(net.activation):
        if net.depth < 2:
            return []
        c = neuron_invariants(layers, net.bias)
        return np.split(c, np.cumsum(net.widths)[:-1], axis=-1)
    if _identity_input(net) and net.activation in _H:
        return invariants(layers, net.activation)
    where = "on data" if net.inputs is not None else "on the identity input"
    raise ValueError(
        f"a network {where} with activation {net.activation!r} has no known invariants: its flow does not "
        "conserve the per-neuron differences ||incoming weights||^2 - ||outgoing weights||^2 (only positively "
        "homogeneous activations do: linear, relu, leaky_relu), and section 4's a_j^2 - h(b_j) are for isru "
        "and tanh with one hidden layer on the identity input of one row"
    )


def _identity_input(net: Network) -> bool:
    """Whether ``net`` runs on the identity input: without inputs, or on data ``X = I_n`` without biases
    (such as ``inputs=np.ones((1, 1))``), which is the same network and the same flow."""
    X = net.inputs
    if X is None:
        return True
    return not net.bias and X.shape[0] == X.shape[1] and np.array_equal(X, np.eye(X.shape[0]))


def _network_layers(net: Network, Ws: object) -> list[np.ndarray]:
    """``Ws`` as ``net``'s layers: a list of layers of ``net.shapes`` (2-D, or 3-D for a trajectory), or
    a flat state ``(state_size,)`` or a stack of them ``(T, state_size)``."""
    if Ws is None:
        raise TypeError("invariants(net, Ws) needs the network's weights Ws as its second argument, got None")
    if isinstance(Ws, np.ndarray):
        if Ws.ndim not in (1, 2):
            raise ValueError(
                f"Ws must be a list of layers, a flat state ({net.state_size},) or a stack of flat states "
                f"(T, {net.state_size}), got an array of shape {Ws.shape}"
            )
        if Ws.dtype.kind == "c":
            raise TypeError("Ws is complex; the weights must be real")
        return net.unflatten(Ws)
    layers = _layers(Ws)
    if len(layers) != net.depth:
        raise ValueError(f"Ws must have {net.depth} layers for {net!r}, got {len(layers)}")
    for i, (L, shape) in enumerate(zip(layers, net.shapes)):
        if L.shape[-2:] != shape:
            raise ValueError(f"Ws[{i}] (layer {i + 1}) must have shape {shape} (or (T, *{shape})), got {L.shape}")
    return layers


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
