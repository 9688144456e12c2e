"""`Result`: one trajectory of the flow, with everything computed up to the stop."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from .invariants import invariants

if TYPE_CHECKING:
    from .network import Network

__all__ = ["Result", "STATUSES"]

STATUSES = ("converged", "t_end", "event", "blowup", "domain", "max_steps", "failed", "interrupted")


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
    nfev, naccept, nreject : int
        Right-hand side evaluations (stepping and interpolation), accepted and rejected steps.
    ndomain : int
        Rejections because the cost returned NaN/inf (left its domain).
    nvalue : int
        Extra evaluations made only to report loss and gradient norm at ``t_eval`` points.
    """

    def __init__(self, net: "Network", y0: np.ndarray, raw: dict, method: str) -> None:
        self.network = net
        self.method = method
        self.t: np.ndarray = raw["t"]
        self._states: np.ndarray = raw["states"]
        self.loss: np.ndarray = raw["loss"]
        self.grad_norm: np.ndarray = raw["grad_norm"]
        self.status: str = raw["status"]
        self.message: str = raw["message"]
        self.t_final: float = float(raw["t_final"])
        self._y_final: np.ndarray = raw["y_final"]
        self.final_loss: float = float(raw["loss_final"])
        self.final_grad_norm: float = float(raw["grad_norm_final"])
        self.nfev: int = int(raw["nfev"])
        self.naccept: int = int(raw["naccept"])
        self.nreject: int = int(raw["nreject"])
        self.ndomain: int = int(raw["ndomain"])
        self.nvalue: int = int(raw["nvalue"])
        self._y0 = y0

    @cached_property
    def weights(self) -> list[np.ndarray]:
        """One array per layer, shape ``(T, rows, cols)`` (views of the saved states)."""
        return self.network.unflatten(self._states)

    @cached_property
    def final_weights(self) -> list[np.ndarray]:
        """The layers at ``t_final``."""
        return self.network.unflatten(self._y_final)

    @property
    def success(self) -> bool:
        """True when the run reached ``t_end`` or met ``gtol``."""
        return self.status in ("converged", "t_end")

    @cached_property
    def product(self) -> np.ndarray:
        """``P(t) = W_N ... W_1`` at the saved times, shape ``(T, m, n)``."""
        if not self.weights or self.weights[0].shape[0] == 0:
            return np.zeros((0, *self.network.cost.shape))
        P = self.weights[0]
        for W in self.weights[1:]:
            P = W @ P
        return P

    @cached_property
    def invariant_drift(self) -> float:
        """``max |C_i(t) - C_i(0)|`` over every entry of every invariant, at the saved times and the
        final state (definition 1; zero for the exact flow)."""
        if self.network.depth < 2:
            return 0.0
        C0 = invariants(self.network.unflatten(self._y0))
        drift = 0.0
        for Ws in (self.weights, [W[None] for W in self.final_weights]):
            if Ws[0].shape[0] == 0:
                continue
            for C, c0 in zip(invariants(Ws), C0):
                drift = max(drift, float(np.max(np.abs(C - c0))))
        return drift

    def __repr__(self) -> str:
        return (f"Result(status={self.status!r}, t_final={self.t_final:.6g}, final_loss={self.final_loss:.6g}, "
                f"final_grad_norm={self.final_grad_norm:.3g}, nfev={self.nfev}, naccept={self.naccept}, "
                f"nreject={self.nreject}, saved={len(self.t)})")
