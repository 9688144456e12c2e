"""`solve_ivp`: any ODE dy/dt = f(t, y) integrated by the core's steppers (the same engine, step
control and dense output as `integrate`), with the right-hand side compiled by Numba once per
function (`overflow._solve_ivp_compile`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba.core.ccallback import CFunc

from . import _core
from . import _options as _o
from . import _validate as _v
from . import events as _events
from ._options import SCIPY_METHODS
from ._solve_ivp_compile import RHS_SIG, arg_kinds, compiled_rhs, make_buffer, raise_failure
from .result import STATUS_NAMES

__all__ = ["solve_ivp", "OdeResult", "RHS_SIG", "SCIPY_METHODS"]

_D = _o.defaults("solve_ivp")


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


def _real_array(value: object, name: str) -> np.ndarray:
    """``value`` as a float64 array (`_validate.float_array`), with complex values refused in words
    of their own: complex states are planned for solve_ivp, not merely unsupported."""
    try:
        complex_values = np.iscomplexobj(value)
    except ValueError:  # ragged nesting: float_array names it
        complex_values = False
    if complex_values:
        raise TypeError(f"{name} is complex: complex states are not supported by solve_ivp yet")
    return _v.float_array(value, name, "an array of real numbers")


def _state(y0: object) -> np.ndarray:
    y = _real_array(y0, "y0")
    if y.ndim > 1:
        raise ValueError(f"y0 must be 1-D, got shape {y.shape}")
    y = y.reshape(-1)  # a scalar y0 is a state of one entry, as in scipy
    if y.size == 0:
        raise ValueError("y0 must be non-empty")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"y0 must be finite, got {y[~np.isfinite(y)][0]} at index {int(np.argmin(np.isfinite(y)))}")
    return y


def _args(args: object) -> tuple:
    if args is None:
        return ()
    if isinstance(args, (tuple, list)):
        return tuple(args)
    raise TypeError(
        f"args must be a tuple of the extra arguments of fun(t, y, *args), e.g. args=(a,), got {_v.describe(args)}"
    )


@_o.document("solve_ivp")
def solve_ivp(
    fun: Callable[..., Any],
    t_span: Sequence[float],
    y0: Any,
    method: str = _D.method,
    *,
    rtol: float = _D.rtol,
    atol: float = _D.atol,
    t_eval: Sequence[float] | None = _D.t_eval,
    first_step: float | None = _D.first_step,
    max_step: float = _D.max_step,
    max_steps: int = _D.max_steps,
    max_norm: float = _D.max_norm,
    events: Any = _D.events,
    args: Sequence[Any] | None = None,
    vectorized: bool = False,
    dense_output: bool = False,
) -> OdeResult:
    """Integrate ``dy/dt = fun(t, y)`` from ``t_span[0]`` to ``t_span[1]`` with the core's explicit RK pairs.

    Parameters
    ----------
    fun : callable or numba cfunc
        The right-hand side, compiled by Numba in nopython mode on the first call with this
        function object and reused while it lives (a new lambda on every call compiles every
        time). Two forms, told apart by the number of positional parameters, ``k = len(args)``:

        - ``fun(t, y, *args) -> dy`` (``2 + k`` parameters), as scipy's: ``dy`` a 1-D array,
          list or tuple of the length of ``y0``;
        - ``fun(t, y, dy, *args) -> None`` (``3 + k`` parameters), the in-place form: it fills
          ``dy`` and must return None.

        So without ``args`` a 3-parameter ``fun`` is the in-place form; one that returns a value
        is refused (pass its third parameter with ``args=(a,)``). Or a ``numba.cfunc`` with
        `RHS_SIG`. An exception inside ``fun`` stops the run and is raised again with its type
        and message; a result of the wrong length is a ValueError; a non-finite ``dy`` rejects
        the step.
    t_span : (float, float)
        ``(t0, t1)`` with ``t0 < t1``, both finite.
    y0 : array_like
        The initial state: 1-D, finite, real (complex states are not supported yet).
    method : str
        ``bs3``, ``dopri5``, ``tsit5``, ``dop853`` (see `overflow.METHODS`), or scipy's names for
        the same pairs ``RK23``, ``RK45``, ``DOP853``.
    {options: rtol, atol; t_eval; first_step; max_step; max_steps; max_norm; events}
    args : tuple, optional
        Extra arguments passed to ``fun`` after ``y`` (or after ``dy``): real numbers or numpy
        arrays of a real dtype (C-contiguous ones are passed without a copy). A new value of the
        same kind needs no new compilation.
    vectorized : bool
        Accepted for scipy's signature; the explicit pairs call ``fun`` on one state at a time,
        so it changes nothing.
    dense_output : bool
        Only False: use ``t_eval`` to evaluate the steps' interpolants.

    Returns
    -------
    OdeResult
        ``t``, ``y`` of shape ``(n, T)`` (every accepted step, or ``t_eval``), ``status``
        (``t_end``, ``event``, ``blowup``, ``max_steps``, ``failed``), ``message``, ``nfev``,
        ``naccept``, ``nreject``, the final state, and with events ``t_events`` and ``y_events``
        (per event: the crossing times, and the states there, ``(k, n)``).
    """
    y = _state(y0)
    o = _o.check_run(
        "solve_ivp",
        t_span,
        method,
        rtol=rtol,
        atol=atol,
        t_eval=t_eval,
        first_step=first_step,
        max_step=max_step,
        max_steps=max_steps,
        max_norm=max_norm,
    )
    _o.check_flag(vectorized, "vectorized")
    if _o.check_flag(dense_output, "dense_output"):
        raise ValueError("dense_output=True is not supported: pass t_eval to evaluate the steps' interpolants there")
    extra = _args(args)
    event_args, keep_alive = _events.prepare(events, y.size)

    if isinstance(fun, CFunc):
        if fun._sig != RHS_SIG:
            raise TypeError(f"fun is a numba cfunc with signature {fun._sig}; expected {RHS_SIG}")
        if extra:
            raise TypeError("args cannot be passed to a numba cfunc fun (it receives only t, y, dy and data)")
        address, buf, comp, values = fun.address, np.zeros(1), None, []
    else:
        kinds, values = arg_kinds(extra)
        comp = compiled_rhs(fun, kinds)
        buf = make_buffer(kinds, values, y.size)
        address = comp.cfunc.address
    try:
        # buf is int64 words; the core takes float64, so pass the same bytes as float64 (no copy)
        with _events.reraising(keep_alive):
            sol = _core.integrate_rhs(
                address,
                buf.view(np.float64) if comp else buf,
                y,
                o.t0,
                o.t1,
                o.t_eval,
                o.core(save_states=True, events=event_args),
            )
    except Exception:
        if comp is None or buf[0] == 0:
            raise
        sol = None  # fun's own failure explains this one: raised below
    del keep_alive
    if comp is not None:
        raise_failure(fun, buf, comp, values)
    return OdeResult(
        t=sol.t,
        y=sol.states.T,
        status=STATUS_NAMES[sol.status.value],
        message=sol.message,
        nfev=sol.nfev,
        naccept=sol.naccept,
        nreject=sol.nreject,
        t_final=sol.t_final,
        y_final=sol.final_state,
        t_events=list(sol.t_events) if events is not None else None,
        y_events=list(sol.y_events) if events is not None else None,
    )
