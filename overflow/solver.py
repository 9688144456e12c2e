"""`Solver`: the flow of eq. 4 advanced one adaptive step at a time, for a user's own loop."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from . import _core
from . import _options as _o
from . import _validate as _v
from . import events as _events
from .integrate import _check_project
from .network import Network

_D = _o.defaults("Solver")

__all__ = ["Solver"]


@_o.document("Solver")
class Solver:
    """The core's adaptive solver on ``net``'s flow, driven by the caller (like scipy's
    ``RK45(fun, t0, y0, t_bound)`` objects, without a fixed end).

    ``step(t_bound)`` takes one accepted step towards ``t_bound`` (rejected attempts are retried
    inside), never past it; ``step_to(t)`` steps until ``t`` is reached exactly; ``dense(t)`` reads
    the method's interpolant anywhere inside the last step. A run of ``step(t1)`` calls from ``t0``
    takes exactly the steps of ``overflow.integrate(net, Ws, (t0, t1), method=...)``.

    Parameters
    ----------
    net : Network
    Ws : list of ndarray or ndarray
        Initial layers (or a flat state).
    t0 : float
        Initial time.
    method : {"bs3", "dopri5", "tsit5", "dop853", "auto", "gauss4", "gauss6", "rodas4", "radau5"}
        As in `overflow.integrate`; with ``"auto"`` a step towards ``t_bound = inf`` may switch to
        the stiff method as soon as the steps are stability-limited.
    {options: rtol, atol; first_step; max_step; events; project}

    A terminal event inside a step makes `step` return ``"event"``; the solver stands at the
    step's end, the crossings are in `t_events` and `y_events`. `projection` is the largest
    correction ``project`` made. There is no ``gtol``, ``max_steps`` or ``max_norm``: the caller's
    loop decides when to stop (`grad_norm`, `stats`, `y`).

    Attributes
    ----------
    t, t_prev : float
        Current time and the start of the last step.
    y : ndarray
        Current flat state (a copy); `weights` splits it into layers.
    loss, grad_norm : float
        ``g`` and ``||grad g||_F`` at ``t``.
    stats : dict
        ``nfev``, ``naccept``, ``nreject``, ``njvp`` so far; ``naccept_stiff``, ``switch_times``
        and ``method_now`` for ``"auto"``; ``nkink`` and ``nslide`` (relu-family networks, as
        `Result`'s).
    status : str
        ``"ready"`` after construction, then what the last step returned: ``"stepped"``,
        ``"t_end"`` (``t_bound`` reached), ``"event"`` (a terminal event occurred in the step),
        ``"domain"`` or ``"failed"`` (the state did not change).
    t_events, y_events : list of ndarray
        Per event: the crossings since the start, and the flat states there.
    """

    def __init__(
        self,
        net: Network,
        Ws: Sequence[np.ndarray] | np.ndarray,
        t0: float = 0.0,
        method: str = _D.method,
        *,
        rtol: float = _D.rtol,
        atol: float = _D.atol,
        first_step: float | None = _D.first_step,
        max_step: float = _D.max_step,
        events: object = _D.events,
        project: bool = _D.project,
    ) -> None:
        if not isinstance(net, Network):
            raise TypeError(f"net must be an overflow.Network, got {type(net).__name__}")
        method = _o.check_method(method, "Solver")
        project = _o.check_flag(project, "project")
        if project:
            _check_project(net, method)
        y0 = net.flatten(Ws)
        event_args, self._event_functions = _events.prepare(events, y0.size, net)
        # the same checks and rtol floor as integrate's, so that stepping takes integrate's steps
        rtol = _o.check_rtol(rtol, stacklevel=2)
        atol = _o.check_tolerance(atol, "atol")
        first = _o.check_first_step(first_step)
        max_step = _o.check_max_step(max_step)
        t0 = _v.finite_real(t0, "t0")
        cost = net.cost
        self.net = net
        self.method = method
        options = _core.RunOptions(
            method=method, rtol=rtol, atol=atol, first_step=first, max_step=max_step, project=project, events=event_args
        )
        self._core = _core.FlowSolver(
            net.dims,
            cost.vg_address,
            cost.hvp_address,
            cost.data,
            net.activation or "none",
            options,
            **net._flow_arguments(),
        )
        try:
            self._core.init(t0, y0)
        except ValueError:
            # the core refuses a start where the flow is not finite: say so as integrate does
            loss, grad = net.rhs(y0)
            _o.check_start(loss, math.sqrt(float(np.dot(grad, grad))))
            raise
        self.status = "ready"

    def step(self, t_bound: float = math.inf) -> str:
        """One accepted step towards ``t_bound`` (default: no bound); returns and sets `status`.

        Ctrl-C during the step raises KeyboardInterrupt with the solver unchanged."""
        t_bound = _v.real(t_bound, "t_bound")
        if math.isnan(t_bound) or not t_bound > self.t:
            raise ValueError(f"t_bound must be > t = {self.t}, got {t_bound}")
        with _events.reraising(self._event_functions):
            status = self._core.step(t_bound)  # the Status name
        if status == "interrupted":
            raise KeyboardInterrupt("Solver.step interrupted")
        self.status = status
        return status

    def step_to(self, t: float) -> str:
        """Steps until ``t`` (> current time) is reached exactly, a step fails or a terminal event occurs;
        returns `status`."""
        t = _v.finite_real(t, "t")
        if not t > self.t:
            raise ValueError(f"t must be > the current time {self.t}, got {t}")
        while True:
            status = self.step(t)
            if status != "stepped":
                return status

    def dense(self, t: float) -> list[np.ndarray]:
        """The layers at time ``t`` inside the last step ``[t_prev, t]``, from the method's interpolant
        (order 3, 4, 4 and 7 for bs3, dopri5, tsit5, dop853)."""
        t = _v.finite_real(t, "t")
        try:
            y = self._core.dense(t)
        except IndexError as exc:  # std::out_of_range
            raise ValueError(str(exc)) from None
        except RuntimeError as exc:
            raise ValueError(str(exc)) from None
        return self.net.unflatten(y)

    @property
    def t(self) -> float:
        return self._core.t

    @property
    def t_prev(self) -> float:
        return self._core.t_prev

    @property
    def y(self) -> np.ndarray:
        return self._core.y

    @property
    def weights(self) -> list[np.ndarray]:
        return self.net.unflatten(self._core.y)

    @property
    def loss(self) -> float:
        return self._core.loss

    @property
    def grad_norm(self) -> float:
        return self._core.grad_norm

    @property
    def t_events(self) -> list[np.ndarray]:
        return list(self._core.t_events)

    @property
    def y_events(self) -> list[np.ndarray]:
        return list(self._core.y_events)

    @property
    def projection(self) -> float:
        return self._core.max_projection

    @property
    def stats(self) -> dict[str, int]:
        return dict(self._core.stats)

    def __repr__(self) -> str:
        return f"Solver({self.method}, t={self.t:.6g}, loss={self.loss:.6g}, status={self.status!r})"
