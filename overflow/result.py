"""`Result`: one trajectory of the flow, with everything computed up to the stop."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from . import _core

if TYPE_CHECKING:
    from .network import Network

__all__ = ["Result", "STATUSES", "STATUS_NAMES"]

from .invariants import invariants

_BLOCK = 1 << 22  # entries of C computed at once


def _max_change(W: np.ndarray, V: np.ndarray, W0: np.ndarray, V0: np.ndarray) -> float:
    """max over t and entries of |(W W^T - V^T V)(t) - (W0 W0^T - V0^T V0)| for W (T, k, a), V (T, b, k)."""
    T, k = W.shape[0], W.shape[1]
    rows = max(1, min(k, _BLOCK // max(1, k * (T if k * k * T <= _BLOCK else 1))))
    batched = k * k * T <= _BLOCK
    out = 0.0
    for r in range(0, k, rows):
        sl = slice(r, r + rows)
        C0 = W0[sl] @ W0.T - V0[:, sl].T @ V0
        if batched:
            C = W[:, sl] @ np.swapaxes(W, 1, 2) - np.swapaxes(V[:, :, sl], 1, 2) @ V
            out = max(out, float(np.max(np.abs(C - C0))))
            continue
        for t in range(T):
            C = W[t, sl] @ W[t].T - V[t][:, sl].T @ V[t]
            out = max(out, float(np.max(np.abs(C - C0))))
    return out


#: Every status by its code: the core's Status enum (csrc/include/overflow/status.hpp), which the C
#: ABI's OF_* codes and the Monte Carlo status codes are too.
STATUS_NAMES: tuple[str, ...] = tuple(s.name for s in sorted(_core.Status.__members__.values(), key=int))
#: How a run can end (a `Solver` step can also return "stepped").
STATUSES: tuple[str, ...] = tuple(name for name in STATUS_NAMES if name != "stepped")


class Result:
    """The output of `overflow.integrate`.

    Attributes
    ----------
    t : ndarray, shape (T,)
        Saved times: every accepted step (``t_eval=None``) or the requested ``t_eval`` reached.
    weights : list of ndarray
        One array per layer, shape ``(T, rows, cols)`` (empty when ``save_weights=False``).
    loss, grad_norm : ndarray, shape (T,)
        ``g`` and ``||grad g||_F`` at the saved times.
    status : str
        One of ``converged`` (gtol met), ``t_end``, ``event``, ``blowup``, ``domain``,
        ``max_steps``, ``failed``, ``interrupted``.
    message : str
        Why it stopped.
    t_final, final_weights, final_loss, final_grad_norm
        The last accepted state, whatever was saved.
    final_state : ndarray, shape (state_size,)
        The same final weights as one flat vector (``W_1, ..., W_N`` row-major, concatenated: the
        layout ``Network.flatten`` returns and every ``Ws`` argument accepts).
    nfev, naccept, nreject : int
        Right-hand side evaluations (stepping and interpolation), accepted and rejected steps.
    ndomain : int
        Rejections because the cost returned NaN/inf (left its domain).
    nvalue : int
        Extra evaluations made only to report loss and gradient norm at ``t_eval`` points.
    method_steps : dict
        Accepted steps by method: ``{method: naccept}``, or for ``"auto"``
        ``{"dop853": ..., "rodas4": ...}``.
    switch_times : ndarray
        ``"auto"``: the times it switched method, first to rodas4, then alternating (empty
        otherwise).
    nkink, nslide : int
        Relu-family networks (``"relu"``, ``"leaky_relu"``): the kinks located and stepped to (each
        a point where pre-activations crossed 0 and the activation pattern switched), and the
        pre-activation entries that began to slide along their kink (held at 0 by the flow from both
        sides); 0 for other networks.
    grad_norm_min : float
        The smallest ``||grad g||`` over the accepted steps (for a run with ``gtol``).
    t_events, y_events : list of ndarray
        One entry per event given: the times of its crossings, and the flat states there
        (``(k, state_size)``); empty lists without events.
    """

    def __init__(
        self,
        net: Network,
        y0: np.ndarray,
        sol: _core.Solution,
        method: str,
        states: np.ndarray | None = None,
        final_state: np.ndarray | None = None,
    ) -> None:
        """From the core's `_core.Solution`; ``states`` and ``final_state`` replace its own where the
        weights are rebuilt from another state (``method="reduced"``)."""
        self.network = net
        self.method = method
        self.t: np.ndarray = sol.t
        self._states: np.ndarray = sol.states if states is None else states
        self.loss: np.ndarray = sol.loss
        self.grad_norm: np.ndarray = sol.grad_norm
        self.status: str = STATUS_NAMES[sol.status.value]  # (.value: pybind11's .name costs ~1 us)
        self.message: str = sol.message
        self.t_final: float = sol.t_final
        self._y_final: np.ndarray = sol.final_state if final_state is None else final_state
        self.final_loss: float = sol.final_loss
        self.final_grad_norm: float = sol.final_grad_norm
        self.nfev: int = sol.nfev
        self.naccept: int = sol.naccept
        self.nreject: int = sol.nreject
        self.ndomain: int = sol.ndomain
        self.nvalue: int = sol.nvalue
        self.njvp: int = sol.njvp
        self.projection: float = sol.max_projection
        self.switch_times: np.ndarray = sol.switch_times
        self.nkink: int = sol.nkink
        self.nslide: int = sol.nslide
        self.grad_norm_min: float = sol.grad_norm_min
        self.method_steps: dict[str, int] = dict(sol.method_steps)
        self.t_events: list[np.ndarray] = list(sol.t_events)
        self.y_events: list[np.ndarray] = list(sol.y_events)
        self._y0 = y0

    @cached_property
    def weights(self) -> list[np.ndarray]:
        """One array per layer, shape ``(T, rows, cols)`` (views of the saved states)."""
        return self.network.unflatten(self._states)

    @property
    def final_state(self) -> np.ndarray:
        """The final weights as one flat vector (a read-only view)."""
        view = self._y_final.view()
        view.flags.writeable = False
        return view

    @cached_property
    def final_weights(self) -> list[np.ndarray]:
        """The layers at ``t_final``."""
        return self.network.unflatten(self._y_final)

    @property
    def success(self) -> bool:
        """True when the run reached ``t_end``, met ``gtol`` or stopped at a terminal event."""
        return self.status in ("converged", "t_end", "event")

    @cached_property
    def product(self) -> np.ndarray:
        """``P(t) = W_N ... W_1`` at the saved times, shape ``(T, m, n)``."""
        if not self.weights or self.weights[0].shape[0] == 0:
            return np.zeros((0, *self.network.cost.shape))
        return self.network.output(self.weights)

    @cached_property
    def invariant_drift(self) -> float:
        r"""The largest change of the flow's invariants: ``max |c(t) - c(0)|`` over every entry of every
        invariant ``c`` of ``overflow.invariants(network, weights)``, at the saved times and the final state
        (zero for the exact flow). Computed on first access.

        - Linear networks (eq. 4): the ``C_i = W_i W_i^T - W_{i+1}^T W_{i+1}`` (definition 1), in blocks of
          rows so that wide layers (``k x k`` invariants) never need more than a few MB at once.
        - Positively homogeneous activations (linear, relu, leaky_relu), on data or not, with or without
          biases: the per-neuron invariants
          :math:`\lVert (W_i)_{j,:} \rVert^2 + (b_i)_j^2 - \lVert (W_{i+1})_{:,j} \rVert^2` of every hidden
          neuron (`overflow.neuron_invariants`).
        - isru or tanh on one input with one hidden layer: section 4's ``a_j^2 - h(b_j)`` (on the identity
          input, or on data ``inputs=np.ones((1, 1))`` without biases, the same flow).

        NaN for the other networks, which have no known invariant (tanh on data, ...); 0 at depth 1.
        """
        if self.network.depth < 2:
            return 0.0
        start = self.network.unflatten(self._y0)
        trajectories = [W for W in self.weights] if self._states.shape[0] else None
        finals = [W[None] for W in self.final_weights]
        drift = 0.0
        if self.network.linear:
            for Ws in (trajectories, finals):
                if Ws is None:
                    continue
                for i in range(self.network.depth - 1):
                    drift = max(drift, _max_change(Ws[i], Ws[i + 1], start[i], start[i + 1]))
            return drift
        try:
            c0 = invariants(self.network, start)
        except ValueError:
            return float("nan")  # no invariant is known for this activation and shape
        for Ws in (trajectories, finals):
            if Ws is not None:
                for c, c_start in zip(invariants(self.network, Ws), c0):
                    drift = max(drift, float(np.max(np.abs(c - c_start), initial=0.0)))
        return drift

    def __repr__(self) -> str:
        return (
            f"Result(status={self.status!r}, t_final={self.t_final:.6g}, final_loss={self.final_loss:.6g}, "
            f"final_grad_norm={self.final_grad_norm:.3g}, nfev={self.nfev}, naccept={self.naccept}, "
            f"nreject={self.nreject}, saved={len(self.t)})"
        )
