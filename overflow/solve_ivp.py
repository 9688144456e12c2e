"""`solve_ivp`: any ODE dy/dt = f(t, y) integrated by the core's steppers (the same engine, step
control and dense output as `integrate`), with the right-hand side compiled by Numba."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numba
import numpy as np
from numba import types
from numba.core.ccallback import CFunc

from . import _core
from . import events as _events
from .costs.base import callable_name, numba_error_summary, positional_arity
from .integrate import METHODS, _check_t_eval, _check_t_span, _positive

__all__ = ["solve_ivp", "OdeResult", "RHS_SIG"]

#: Numba signature of a right-hand side cfunc: ``void rhs(double t, const double* y, double* dy, void* data)``.
RHS_SIG = types.void(types.float64, types.CPointer(types.float64), types.CPointer(types.float64), types.voidptr)
_EXPECTED = "fun(t, y, dy) -> None (fills dy) or fun(t, y) -> dy, with y, dy 1-D float64 arrays"


@dataclass
class OdeResult:
    """Result of `solve_ivp`, laid out as scipy's: ``y`` has shape ``(n, T)``."""

    t: np.ndarray
    y: np.ndarray
    status: str
    message: str
    nfev: int
    naccept: int
    nreject: int
    t_final: float
    y_final: np.ndarray
    t_events: list[np.ndarray] | None = None
    y_events: list[np.ndarray] | None = None

    @property
    def success(self) -> bool:
        return self.status in ("t_end", "event")


def _compile(fun: Callable[..., Any], n: int) -> Any:
    if isinstance(fun, CFunc):
        return fun  # already a cfunc with RHS_SIG (checked by the caller's address use)
    if not callable(fun):
        raise TypeError(f"fun must be callable: {_EXPECTED}, got {type(fun).__name__}")
    arity = positional_arity(fun)
    if arity not in (2, 3):
        raise TypeError(f"fun {callable_name(fun)!r} must take 2 or 3 positional parameters: {_EXPECTED}")
    disp = fun if isinstance(fun, numba.core.dispatcher.Dispatcher) else numba.njit(error_model="numpy")(fun)

    if arity == 3:
        def rhs(t, y_, dy_, data_):  # pragma: no cover - compiled by Numba
            dy = numba.carray(dy_, (n,))
            try:
                disp(t, numba.carray(y_, (n,)), dy)
            except Exception:
                dy[:] = np.nan
    else:
        def rhs(t, y_, dy_, data_):  # pragma: no cover - compiled by Numba
            dy = numba.carray(dy_, (n,))
            try:
                dy[:] = disp(t, numba.carray(y_, (n,)))
            except Exception:
                dy[:] = np.nan

    try:
        return numba.cfunc(RHS_SIG, nopython=True, error_model="numpy")(rhs)
    except Exception as err:
        raise TypeError(f"fun {callable_name(fun)!r} cannot be compiled by Numba as {_EXPECTED}: "
                        f"{numba_error_summary(err)}") from None


def solve_ivp(fun: Callable[..., Any], t_span: Sequence[float], y0: Any, method: str = "dopri5",
              t_eval: Sequence[float] | None = None, rtol: float = 1e-6, atol: float = 1e-9,
              first_step: float | None = None, max_step: float = math.inf, max_steps: int = 100_000,
              max_norm: float = math.inf, events: Any = None) -> OdeResult:
    """Integrate ``dy/dt = fun(t, y)`` from ``t_span[0]`` to ``t_span[1]`` with the core's explicit RK pairs.

    Parameters
    ----------
    fun : callable or numba cfunc
        ``fun(t, y, dy)`` filling ``dy``, or ``fun(t, y)`` returning it, compilable by Numba in
        nopython mode (compiled here once per call), or a ``numba.cfunc`` with `RHS_SIG`. An
        exception inside ``fun`` or a non-finite ``dy`` rejects the step.
    t_span, t_eval, method, rtol, atol, first_step, max_step, max_steps
        As in `overflow.integrate` (``method`` one of ``bs3, dopri5, tsit5, dop853``).
    max_norm : float
        Stop with status ``"blowup"`` once some ``|y_i|`` exceeds it.
    events : callable or list of callables, optional
        ``event(t, y) -> float`` compiled by Numba, with scipy's ``terminal`` and ``direction``
        attributes (see `overflow.events`); crossings located on the interpolant, a terminal one
        ends the run with status ``"event"``. (The gradient-flow built-ins do not apply here.)

    Returns
    -------
    OdeResult
        ``t``, ``y`` of shape ``(n, T)`` (every accepted step, or ``t_eval``), ``status``
        (``t_end``, ``event``, ``blowup``, ``max_steps``, ``failed``), ``message``, ``nfev``,
        ``naccept``, ``nreject``, the final state, and with events ``t_events`` and ``y_events``
        (per event: the crossing times, and the states there, ``(k, n)``).
    """
    y = np.array(y0, dtype=np.float64, copy=True).reshape(-1) if np.ndim(y0) <= 1 else None
    if y is None:
        raise ValueError(f"y0 must be 1-D, got shape {np.shape(y0)}")
    if y.size == 0 or not np.all(np.isfinite(y)):
        raise ValueError("y0 must be non-empty and finite")
    t0, t1 = _check_t_span(t_span)
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"unknown method {method!r}: choose one of {sorted(METHODS)}")
    rtol, atol = _positive(rtol, "rtol"), _positive(atol, "atol")
    te = _check_t_eval(t_eval, t0, t1)
    first = 0.0 if first_step is None else _positive(first_step, "first_step")
    max_step = _positive(max_step, "max_step", allow_inf=True)
    if isinstance(max_steps, bool) or not isinstance(max_steps, numbers.Integral) or max_steps < 1:
        raise ValueError(f"max_steps must be an integer >= 1, got {max_steps!r}")
    max_norm = _positive(max_norm, "max_norm", allow_inf=True)
    event_args, keep_alive = _events.prepare(events, y.size)
    cf = _compile(fun, y.size)
    raw = _core.integrate_rhs(cf.address, np.zeros(1), y, t0, t1, te, method, rtol, atol, first, max_step,
                              int(max_steps), max_norm, True, event_args)
    del keep_alive
    return OdeResult(t=raw["t"], y=raw["states"].T, status=raw["status"], message=raw["message"],
                     nfev=int(raw["nfev"]), naccept=int(raw["naccept"]), nreject=int(raw["nreject"]),
                     t_final=float(raw["t_final"]), y_final=raw["y_final"],
                     t_events=list(raw["t_events"]) if events is not None else None,
                     y_events=list(raw["y_events"]) if events is not None else None)
