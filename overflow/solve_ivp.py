"""`solve_ivp`: scipy's ``solve_ivp`` on the core's steppers, for any ODE dy/dt = f(t, y) with a
right-hand side compiled by Numba once per function (`overflow._solve_ivp_compile`). A whole run is
one call into the core (``_core.integrate_rhs``): steps, events, ``t_eval`` and dense output are
all handled there, so the Python layer costs a few microseconds per call."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy.optimize import OptimizeResult

from . import _core
from . import _options as _o
from ._ivp_problem import (
    Problem,
    check_args,
    check_state,
    method_name,
    prepare_events,
    prepare_with_options,
    warn_unused,
)
from ._options import SCIPY_METHODS
from ._solve_ivp_compile import RHS_SIG
from .events import any_terminal, reraising
from .ode_solution import DenseOutput, OdeSolution
from .ode_solver import check_min_step, split_options
from .result import STATUS_NAMES

__all__ = ["solve_ivp", "OdeResult", "RHS_SIG", "SCIPY_METHODS", "MESSAGES"]

_D = _o.defaults("solve_ivp")

#: scipy's messages for status 0 and 1 (a failure's message is the core's).
MESSAGES = {
    0: "The solver successfully reached the end of the integration interval.",
    1: "A termination event occurred.",
}
_STATUS = {"t_end": 0, "event": 1}  # every other way a run ends is a failure: -1


class OdeResult(OptimizeResult):
    """The result of `solve_ivp`: scipy's ``OdeResult`` (a dict whose keys are also attributes).

    Attributes
    ----------
    t : ndarray, shape (n_points,)
        Every accepted step (``t0`` first), or ``t_eval``.
    y : ndarray, shape (n, n_points)
        The solution at ``t`` (complex for a complex ``y0``).
    sol : OdeSolution or None
        The dense output of the whole run with ``dense_output=True``.
    t_events, y_events : list of ndarray or None
        Per event: the times of its occurrences, and the states there (``(k, n)``); None without
        events.
    nfev, njev, nlu : int
        Right-hand side evaluations, Jacobian evaluations and LU factorisations.
    naccept, nreject : int
        Accepted and rejected steps (this package's extras).
    status : int
        -1: the integration failed, 0: it reached ``t_span[1]``, 1: a terminal event ended it.
    message : str
        Why it stopped (scipy's texts for 0 and 1; what failed otherwise).
    success : bool
        ``status >= 0``.
    """


def _resolve_method(method: object) -> str | None:
    """``method`` as a method name (package or scipy's), or None for a Python solver class."""
    return method_name(method)


def _empty_events(events: object, n: int, dtype: Any) -> tuple[list | None, list | None]:
    if events is None:
        return None, None
    count = len(events) if isinstance(events, (list, tuple)) else 1
    return [np.zeros(0) for _ in range(count)], [np.zeros(0, dtype) for _ in range(count)]


def _no_integration(y: np.ndarray, o: _o.IvpOptions, dense: bool, events: object) -> OdeResult:
    """scipy's result where nothing is integrated (an empty state, or ``t0 == t1``): the constant
    solution, saved at ``t0`` and ``t1`` (or at ``t_eval``; none of it for a zero-length span,
    where scipy saves nothing of ``t_eval``)."""
    if o.t_eval is None:
        t = np.array([o.t0, o.t1])
    elif o.t0 == o.t1:
        t = np.zeros(0)
    else:
        t = o.t_eval.copy()
    t_events, y_events = _empty_events(events, y.size, y.dtype)
    sol = OdeSolution([o.t0, o.t1], [DenseOutput(o.t0, o.t1, y[None, :])]) if dense else None
    return OdeResult(
        t=t,
        y=np.repeat(y[:, None], t.size, axis=1),
        sol=sol,
        t_events=t_events,
        y_events=y_events,
        nfev=0,
        njev=0,
        nlu=0,
        status=0,
        message=MESSAGES[0],
        success=True,
        naccept=0,
        nreject=0,
    )


def _dense_solution(sol: Any, t_final: float, complex_state: bool) -> OdeSolution:
    """The run's `OdeSolution` from the core's recording: breakpoints ``dense_t`` (the last moved
    to ``t_final`` where a terminal event cut the last step short), nodes ``(S, d + 1, n)``."""
    bounds = np.ascontiguousarray(sol.dense_t, dtype=np.float64)
    nodes = np.ascontiguousarray(sol.dense_nodes)
    if complex_state:
        nodes = nodes.view(np.complex128)
    ts = bounds.copy()
    ts[-1] = t_final
    if ts.size > 2 and ts[-1] == ts[-2]:  # an event at a step's very start: no last segment
        ts, bounds, nodes = ts[:-1], bounds[:-1], nodes[:-1]
    return OdeSolution.from_nodes(ts, bounds, nodes)


def solve_ivp(
    fun: Callable[..., Any],
    t_span: Sequence[float],
    y0: Any,
    method: Any = _D.method,
    t_eval: Sequence[float] | None = None,
    dense_output: bool = False,
    events: Any = None,
    vectorized: bool = False,
    args: Sequence[Any] | None = None,
    **options: Any,
) -> OdeResult:
    """Solve the initial value problem ``dy/dt = fun(t, y)``, ``y(t0) = y0``: scipy's ``solve_ivp``
    on the core's compiled steppers.

    A scipy script ported by changing the import gets the same answer: the same arguments, defaults
    (``rtol=1e-3``, ``atol=1e-6``, method ``"RK45"``, no step cap) and result. ``fun`` (and ``jac``,
    the events) are compiled by Numba in nopython mode, and the whole run is one call into the C++
    core.

    Parameters
    ----------
    fun : callable or numba cfunc
        The right-hand side, compiled by Numba on the first call with this function object and
        reused while it lives (a new lambda on every call compiles every time). Two forms, told
        apart by the number of positional parameters, ``k = len(args)``:

        - ``fun(t, y, *args) -> dy`` (``2 + k`` parameters), as scipy's: ``dy`` a 1-D array,
          list or tuple of the length of ``y0``;
        - ``fun(t, y, dy, *args) -> None`` (``3 + k`` parameters), the in-place form: it fills
          ``dy`` and must return None.

        So without ``args`` a 3-parameter ``fun`` is the in-place form; one that returns a value
        is refused (pass its third parameter with ``args=(a,)``). Or a ``numba.cfunc`` with
        `RHS_SIG` (real states). An exception inside ``fun`` stops the run and is raised again
        with its type and message; a result of the wrong length is a ValueError; a non-finite
        ``dy`` rejects the step. A function Numba cannot compile is a TypeError saying what to
        change.
    t_span : (float, float)
        ``(t0, t1)``, both finite: ``t1 < t0`` integrates backward, ``t1 == t0`` integrates nothing
        (scipy's result: ``t = [t0, t0]``, a constant ``sol``).
    y0 : array_like, shape (n,)
        The initial state, finite. A complex ``y0`` (a complex dtype, as scipy's rule) is
        integrated as real and imaginary parts, and ``fun`` sees and returns complex values. An
        empty ``y0`` integrates nothing (``y`` of shape ``(0, 2)``).
    method : str or OdeSolver class
        scipy's names, each run by the nearest method here (`SCIPY_METHODS`):

        - ``"RK45"`` (default): ``dopri5``, Dormand-Prince 5(4), the same pair and quartic dense
          output as scipy's.
        - ``"RK23"``: ``bs3``, Bogacki-Shampine 3(2), cubic Hermite dense output, as scipy's.
        - ``"DOP853"``: ``dop853``, Hairer's 8(5,3) with its 7th-order dense output, as scipy's.
        - ``"Radau"``: ``radau5``, the same method as scipy's: Radau IIA of order 5 (3-stage collocation,
          L-stable), simplified Newton with Hairer & Wanner's predictive step control.
        - ``"BDF"``: ``rodas4``, Hairer & Wanner's RODAS: an L-stable Rosenbrock method of order 4
          (``(I - h gamma J) k_i = h f(y + sum a_ij k_j) + h J sum gamma_ij k_j``, one LU per
          step). scipy's BDF is multistep (NDF, orders 1-5); the nearest one-step method with the
          same stability (L-stable, for stiff problems) is rodas4.
        - ``"LSODA"``: ``auto``, dop853 switched to rodas4 where the steps are stability-limited
          and back, as LSODA switches Adams and BDF.

        Or this package's names: ``bs3``, ``dopri5``, ``tsit5``, ``dop853`` (explicit pairs,
        ``y_{n+1} = y_n + h sum b_i k_i``, ``k_i = f(t_n + c_i h, y_n + h sum a_ij k_j)``),
        ``gauss4``, ``gauss6`` (Gauss-Legendre collocation, implicit), ``rodas4``, ``radau5``
        (where the core has it) and ``auto``. Or a solver class: `overflow.RK45` and its siblings,
        or scipy's own classes (taken by name); another subclass of scipy's ``OdeSolver`` (a
        solver written in Python) is run by ``scipy.integrate.solve_ivp``.
    t_eval : array_like, optional
        Times at which to save the solution, inside ``t_span`` and sorted strictly in the run's
        direction (decreasing for a backward run), served by each step's interpolant. None saves
        every accepted step.
    dense_output : bool
        With True, ``sol`` is the run's `OdeSolution`: callable on a time or an array of times,
        built from every step's interpolant.
    events : callable or list of callables, optional
        scipy's events ``event(t, y, *args) -> float``, compiled by Numba, with the ``terminal``
        (bool, or the count of occurrences after which the run stops) and ``direction`` (+1: rising
        only, -1: falling only, 0: both, in the user's time) attributes. Their zero crossings are
        located on each step's interpolant and kept in ``t_events`` / ``y_events``; a terminal one
        ends the run there (status 1; ``t`` and ``y`` end with the event's time and state).
    vectorized : bool
        Accepted for scipy's signature; ``fun`` is always called on one state ``y`` of shape
        ``(n,)`` (compiled code gains nothing from batching the columns of a finite-difference
        Jacobian).
    args : tuple, optional
        Extra arguments passed to ``fun`` after ``y`` (or after ``dy``), and to a callable ``jac``
        and the events: real or complex numbers, or numpy arrays of a numeric dtype. Anything that
        unpacks is taken, as in scipy. A new value of the same kind needs no new compilation of
        ``fun``.
    **options
        ``rtol``, ``atol`` : float or array_like of shape (n,)
            The local error of each step is kept below ``atol + rtol * |y|`` in the RMS norm
            (defaults 1e-3 and 1e-6, scipy's). An array ``atol`` is exact (the core integrates
            ``y / (atol / max(atol))`` with ``atol = max(atol)``, the same test per component), and
            so is an array ``rtol`` (the core's per-component test ``atol_i + rtol_i |y_i|``). An
            ``rtol`` below 100 machine epsilons is raised to it with scipy's warning. Both must be
            > 0.
        ``first_step`` : float, optional
            The initial step size, ``0 < first_step <= |t1 - t0|`` (scipy's rule); by default
            Hairer's estimate.
        ``max_step`` : float
            The largest step size (default inf).
        ``jac`` : callable, array_like, sparse matrix, optional
            The Jacobian ``d fun / d y`` (n, n) for the methods that use one (the implicit ones
            and ``auto``): ``jac(t, y, *args)`` compiled by Numba, or a constant matrix. None: the
            Jacobian is computed in compiled code (complex step where ``fun`` is analytic in ``y``,
            finite differences otherwise). The explicit methods ignore it with scipy's warning.
        ``jac_sparsity`` : array_like or sparse matrix, optional
            The Jacobian's nonzero pattern: its approximation evaluates only the needed columns,
            grouped (Curtis-Powell-Reid).
        ``lband``, ``uband``, ``min_step`` :
            LSODA's options, taken with ``method="LSODA"`` (``auto``): the band turns into a
            sparsity pattern (a callable ``jac`` then returns scipy's packed banded form);
            ``min_step`` (``0 <= min_step <= max_step``, default 0) is LSODA's least step: no
            step but the last one is shorter, and a rejected step of that size ends the run
            (status -1, a message naming ``min_step``). Every step is also longer than 10 units of
            rounding of t.
        ``max_steps`` : int, optional
            This package's: stop with status -1 after this many accepted steps (default None: no
            cap, as scipy).
        ``max_norm`` : float
            This package's: stop with status -1 once some ``|y_i|`` exceeds it (default inf).

        Any other option warns, as in scipy ("The following arguments have no effect for a
        chosen solver: ...").

    Returns
    -------
    OdeResult
        scipy's fields ``t``, ``y`` (``(n, n_points)``), ``sol``, ``t_events``, ``y_events``,
        ``nfev``, ``njev``, ``nlu``, ``status`` (-1, 0, 1), ``message``, ``success``, and this
        package's ``naccept`` and ``nreject``.
    """
    name = _resolve_method(method)
    if name is None:  # a solver written in Python (a scipy OdeSolver subclass of the user's)
        from scipy.integrate import solve_ivp as scipy_solve_ivp

        return scipy_solve_ivp(fun, t_span, y0, method, t_eval, dense_output, events, vectorized, args, **options)
    y, complex_state = check_state(y0)
    n = y.size
    extra = check_args(args)
    dense = _o.check_flag(dense_output, "dense_output")
    _o.check_flag(vectorized, "vectorized")
    max_steps = options.pop("max_steps", _D.max_steps)
    max_norm = options.pop("max_norm", _D.max_norm)
    o = _o.check_ivp(
        t_span,
        name,
        n,
        rtol=options.pop("rtol", _D.rtol),
        atol=options.pop("atol", _D.atol),
        t_eval=t_eval,
        first_step=options.get("first_step"),
        max_step=options.get("max_step", _D.max_step),
        max_steps=max_steps,
        max_norm=max_norm,
    )
    options.pop("first_step", None)
    options.pop("max_step", None)
    used, unused = split_options(o.method, options)
    warn_unused(unused, stacklevel=2)
    if used.get("min_step") is not None:
        o = o._replace(min_step=check_min_step(used["min_step"], o.max_step))
    problem = prepare_with_options(fun, extra, y, o.t0, complex_state, o.method, used, o.atol, o.scale)
    if n == 0 or o.t0 == o.t1:
        return _no_integration(y, o, dense, events)
    event_args, keep_alive = prepare_events(events, extra, complex_state, problem.n_core)
    if math.isinf(o.t1) and not any_terminal(event_args):
        # scipy would step for ever: a run to an infinite end needs a rule that stops it
        raise ValueError(f"t_span = ({o.t0}, {o.t1}) needs a terminal event to stop the run (none is terminal)")

    y_core = y.view(np.float64) if complex_state else y
    t_eval_core = o.t_eval if o.t_eval is not None else _NO_T_EVAL
    try:
        with reraising(keep_alive):
            sol = _core.integrate_rhs(
                problem.address,
                problem.data,
                y_core,
                o.t0,
                o.t1,
                t_eval_core,
                o.core(
                    events=event_args,
                    record_dense=dense,
                    rtol_components=problem.per_core_component(o.rtol_components),
                ),
                **problem.core_keywords(o.scale, o.direction),
            )
    except Exception:
        if not problem.failed():
            raise
        sol = None  # fun's own failure explains this one: raised below
    del keep_alive
    problem.raise_failure()
    return _result(sol, o, problem, dense, events is not None)


_NO_T_EVAL = np.zeros(0)


def _result(sol: Any, o: _o.IvpOptions, problem: Problem, dense: bool, has_events: bool) -> OdeResult:
    """The core's `_core.Solution` as scipy's result."""
    complex_state = problem.complex_state
    states = sol.states
    t = sol.t
    if o.t_eval is not None and o.t_eval.size == 0:
        t, states = _NO_T_EVAL, states[:0]
    if complex_state:
        states = np.ascontiguousarray(states).view(np.complex128)
    name = STATUS_NAMES[sol.status.value]  # (.value: pybind11's .name costs ~1 us)
    status = _STATUS.get(name, -1)
    t_events = y_events = None
    if has_events:
        t_events = list(sol.t_events)
        y_events = list(sol.y_events)
        if complex_state:
            y_events = [np.ascontiguousarray(ye).view(np.complex128) for ye in y_events]
        # scipy's y_events entry for an event that never occurred is an empty 1-D array
        y_events = [ye if len(ye) else np.zeros(0, ye.dtype) for ye in y_events]
    return OdeResult(
        t=t,
        y=states.T,
        sol=_dense_solution(sol, sol.t_final, complex_state) if dense else None,
        t_events=t_events,
        y_events=y_events,
        nfev=sol.nfev + problem.jacobian_fun_calls(),
        njev=problem.njev(sol.njev),
        nlu=sol.nlu,
        status=status,
        message=MESSAGES[status] if status >= 0 else sol.message,
        success=status >= 0,
        naccept=sol.naccept,
        nreject=sol.nreject,
    )
