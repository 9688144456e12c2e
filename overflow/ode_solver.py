"""`OdeSolver` and scipy's solver class names (`RK23`, `RK45`, `DOP853`, `Radau`, `BDF`, `LSODA`):
any ODE ``dy/dt = fun(t, y)`` stepped one accepted step at a time with scipy's ``OdeSolver``
semantics, on the core's stepping session (``_core.RhsSolver``: the same C++ session as
`overflow.Solver` uses for the flow, on a Numba-compiled right-hand side).

Each class is a subclass of scipy's ``scipy.integrate.OdeSolver``, so ``from overflow import RK45``
replaces scipy's class in a script, and ``scipy.integrate.solve_ivp(..., method=overflow.RK45)``
drives one.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from scipy.integrate import OdeSolver as _ScipyOdeSolver

from . import _core
from . import _options as _o
from . import _validate as _v
from ._ivp_problem import check_args, check_state, method_name, prepare_with_options, warn_unused
from .ode_solution import DenseOutput

__all__ = ["OdeSolver", "RK23", "RK45", "DOP853", "Radau", "BDF", "LSODA", "OPTIONS_OF"]

#: The options each kind of method uses; the others get scipy's "no effect" warning. The implicit
#: methods and "auto" use a Jacobian (``jac``, ``jac_sparsity``); "auto" (scipy's LSODA) also takes
#: LSODA's ``lband``/``uband`` (turned into a sparsity pattern, or unpacking a banded ``jac``) and
#: ``min_step`` (no step below it but the last one; a rejected step of that size ends the run).
_BASE = ("rtol", "atol", "first_step", "max_step")
OPTIONS_OF: dict[str, tuple[str, ...]] = {
    **{m: _BASE for m in _o.METHODS},
    **{m: (*_BASE, "jac", "jac_sparsity") for m in _o.IMPLICIT_METHODS},
    "auto": (*_BASE, "jac", "jac_sparsity", "lband", "uband", "min_step"),
}
_ALL_OPTIONS = frozenset(o for opts in OPTIONS_OF.values() for o in opts)

_STEP_FAILURES = {
    "failed": "Required step size is less than spacing between numbers.",
    "domain": "The right-hand side was not finite (NaN or inf) at every step size tried.",
    "interrupted": "Interrupted.",
}


def split_options(method: str, options: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``options`` split into those ``method`` uses and the names of the others (which warn)."""
    used = OPTIONS_OF.get(method, _BASE)
    unused = [k for k, v in options.items() if k not in used and not (k in _ALL_OPTIONS and v is None)]
    return {k: v for k, v in options.items() if k in used}, unused


def check_min_step(value: object, max_step: float) -> float:
    """LSODA's ``min_step``: a real number >= 0, at most ``max_step``."""
    min_step = _v.positive(value, "min_step", allow_zero=True, allow_inf=False)
    if min_step > max_step:
        raise ValueError(f"min_step ({min_step}) must be <= max_step ({max_step})")
    return min_step


class OdeSolver(_ScipyOdeSolver):
    """A solver for ``dy/dt = fun(t, y)``, stepped by the caller (scipy's ``OdeSolver``).

    Parameters
    ----------
    fun : callable or numba cfunc
        The right-hand side, as in `overflow.solve_ivp`: ``fun(t, y, *args) -> dy`` or the in-place
        ``fun(t, y, dy, *args) -> None``, compiled by Numba once per function.
    t0 : float
        Initial time.
    y0 : array_like, shape (n,)
        Initial state, real or complex (a complex state is integrated as real pairs).
    t_bound : float
        The boundary time: steps never go past it, and it sets the direction (``t_bound < t0``
        integrates backward).
    method : str or OdeSolver subclass
        A method name (``"RK45"``, ``"dopri5"``, ... as `overflow.solve_ivp` takes them).
    vectorized : bool
        Accepted for scipy's signature: ``fun`` is always called on one state.
    args : tuple, optional
        Extra arguments of ``fun`` (and of a callable ``jac``).
    **options
        ``rtol``, ``atol`` (float or array of shape (n,)), ``first_step``, ``max_step``, and for the
        methods that use a Jacobian ``jac``, ``jac_sparsity`` (and LSODA's ``lband``, ``uband``,
        ``min_step`` for "auto"), with `overflow.solve_ivp`'s meaning; any other option warns as
        in scipy ("The following arguments have no effect for a chosen solver: ...").

    Attributes
    ----------
    n : int
        Number of equations.
    status : str
        ``'running'``, ``'finished'`` (``t_bound`` reached) or ``'failed'``.
    t, y : float, ndarray
        Current time and state.
    t_old : float or None
        The previous time; None before the first step.
    t_bound : float
    direction : float
        +1.0 or -1.0 (+1.0 when ``t0 == t_bound``).
    step_size : float or None
        ``|t - t_old|``.
    nfev, njev, nlu : int
        Right-hand side evaluations (the Jacobian's own finite differences not counted, as in
        scipy), Jacobian evaluations and LU factorisations so far.
    naccept, nreject : int
        Accepted and rejected steps so far.
    method : str
        The method of this package that runs.
    """

    #: The method name this class stands for (scipy's name for the subclasses); None: given.
    _method: ClassVar[str | None] = None
    #: `overflow.solve_ivp` refuses the base class as a method: it names none.
    _is_base: ClassVar[bool] = True

    def __init__(
        self,
        fun: Any,
        t0: float,
        y0: Any,
        t_bound: float,
        method: Any = "RK45",
        vectorized: bool = False,
        args: Any = None,
        **options: Any,
    ) -> None:
        self._setup(fun, t0, y0, t_bound, method, vectorized, args, options)

    def _setup(
        self, fun: Any, t0: object, y0: object, t_bound: object, method: Any, vectorized: object, args: object, options
    ) -> None:
        name = method_name(method)
        if name is None:
            raise ValueError("method must be a method name or one of overflow's OdeSolver classes")
        self.method = _o.check_method(name, "solve_ivp")
        t0, t_bound = _o.check_ivp_span((t0, t_bound))
        y, complex_state = check_state(y0)
        self.vectorized = _o.check_flag(vectorized, "vectorized")
        extra = check_args(args)
        used, unused = split_options(self.method, options)
        warn_unused(unused, stacklevel=3)
        n = y.size
        rtol, atol, scale, components = _o.check_ivp_tolerances(
            used.get("rtol", 1e-3), used.get("atol", 1e-6), n, stacklevel=3
        )
        first = _o.check_ivp_first_step(used.get("first_step"), t0, t_bound)
        max_step = _o.check_ivp_max_step(used.get("max_step", math.inf))
        min_step = check_min_step(0.0 if used.get("min_step") is None else used["min_step"], max_step)

        self.t_old: float | None = None
        self.t = t0
        self.y = y.copy()
        self.t_bound = t_bound
        self.direction = -1.0 if t_bound < t0 else 1.0
        self.n = n
        self.status = "running"
        self._complex = complex_state
        self._session = None
        self._problem = p = prepare_with_options(fun, extra, y, t0, complex_state, self.method, used, atol, scale)
        if n == 0 or t0 == t_bound:
            return  # scipy's corner cases: step() goes to t_bound at once
        opts = _o.RunOptions(
            t0, t_bound, self.method, rtol, atol, np.zeros(0), 0.0, first, max_step, _o.NO_STEP_CAP, math.inf, min_step
        ).core(rtol_components=p.per_core_component(components))
        self._session = _core.RhsSolver(
            p.address, p.data, p.n_core, opts, **p.core_keywords(scale, int(self.direction))
        )
        try:
            self._session.init(t0, self._core_state(self.y))
        except (ValueError, RuntimeError):
            p.raise_failure()
            raise
        p.raise_failure()

    # ------------------------------------------------------------ the state as the core has it

    def _core_state(self, y: np.ndarray) -> np.ndarray:
        return y.view(np.float64) if self._complex else y

    def _user_state(self, y: np.ndarray) -> np.ndarray:
        y = np.ascontiguousarray(y)
        return y.view(np.complex128) if self._complex else y

    # ------------------------------------------------------------ scipy's interface

    def step(self) -> str | None:
        """Take one accepted step towards ``t_bound`` (never past it).

        Returns
        -------
        str or None
            None after a successful step; the reason when the step failed (``status`` is then
            ``'failed'``).

        Raises
        ------
        RuntimeError
            When the solver has already finished or failed. An exception raised inside ``fun`` is
            raised again with its own type and message.
        """
        if self.status != "running":
            raise RuntimeError("Attempt to step on a failed or finished solver.")
        if self._session is None:  # an empty state or t0 == t_bound: no integration
            self.t_old = self.t
            self.t = self.t_bound
            self.status = "finished"
            return None
        t = self.t
        try:
            result = self._session.step(self.t_bound)
        except (ValueError, RuntimeError):
            self.status = "failed"
            self._problem.raise_failure()
            raise
        if self._problem.failed():
            self.status = "failed"
            self._problem.raise_failure()
        if result in ("stepped", "t_end"):
            self.t_old = t
            self.t = float(self._session.t)
            self.y = self._user_state(self._session.y)
            if self.direction * (self.t - self.t_bound) >= 0:
                self.status = "finished"
            return None
        self.status = "failed"
        message = getattr(self._session, "message", None)
        return message or _STEP_FAILURES.get(result, f"The step failed with status {result!r}.")

    def dense_output(self) -> DenseOutput:
        """The interpolant of the last step (`DenseOutput`, from ``t_old`` to ``t``)."""
        if self.t_old is None:
            raise RuntimeError("Dense output is available after a successful step was made.")
        if self._session is None or self.t == self.t_old:
            return DenseOutput(self.t_old, self.t, self.y[None, :])
        nodes = np.ascontiguousarray(self._session.dense_nodes())
        return DenseOutput(self.t_old, self.t, nodes.view(np.complex128) if self._complex else nodes)

    def _stat(self, name: str) -> int:
        return 0 if self._session is None else int(self._session.stats.get(name, 0))

    @property
    def nfev(self) -> int:
        return self._stat("nfev") + self._problem.jacobian_fun_calls()

    @property
    def njev(self) -> int:
        return self._problem.njev(self._stat("njev"))

    @property
    def nlu(self) -> int:
        return self._stat("nlu")

    @property
    def naccept(self) -> int:
        return self._stat("naccept")

    @property
    def nreject(self) -> int:
        return self._stat("nreject")

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(method={self.method!r}, t={self.t!r}, t_bound={self.t_bound!r}, "
            f"status={self.status!r}, n={self.n}, nfev={self.nfev})"
        )


def _explicit(scipy_name: str, summary: str) -> type[OdeSolver]:
    """scipy's explicit class ``scipy_name`` (signature ``fun, t0, y0, t_bound, max_step, rtol, atol,
    vectorized, first_step``) on the method `SCIPY_METHODS` maps it to."""

    def __init__(
        self: OdeSolver,
        fun: Any,
        t0: float,
        y0: Any,
        t_bound: float,
        max_step: float = np.inf,
        rtol: Any = 1e-3,
        atol: Any = 1e-6,
        vectorized: bool = False,
        first_step: float | None = None,
        **extraneous: Any,
    ) -> None:
        args = extraneous.pop("args", None)
        options = dict(max_step=max_step, rtol=rtol, atol=atol, first_step=first_step, **extraneous)
        self._setup(fun, t0, y0, t_bound, scipy_name, vectorized, args, options)

    return _make(scipy_name, summary, __init__)


def _implicit(scipy_name: str, summary: str) -> type[OdeSolver]:
    """scipy's Radau or BDF (signature with ``jac`` and ``jac_sparsity``)."""

    def __init__(
        self: OdeSolver,
        fun: Any,
        t0: float,
        y0: Any,
        t_bound: float,
        max_step: float = np.inf,
        rtol: Any = 1e-3,
        atol: Any = 1e-6,
        jac: Any = None,
        jac_sparsity: Any = None,
        vectorized: bool = False,
        first_step: float | None = None,
        **extraneous: Any,
    ) -> None:
        args = extraneous.pop("args", None)
        options = dict(
            max_step=max_step, rtol=rtol, atol=atol, jac=jac, jac_sparsity=jac_sparsity, first_step=first_step
        )
        options.update(extraneous)
        self._setup(fun, t0, y0, t_bound, scipy_name, vectorized, args, options)

    return _make(scipy_name, summary, __init__)


def _make(scipy_name: str, summary: str, init: Any) -> type[OdeSolver]:
    method = _o.SCIPY_METHODS[scipy_name]
    doc = f"""{summary}

    scipy's ``{scipy_name}`` class, with its signature, on this package's ``{method}`` method
    (`overflow.SCIPY_METHODS`). Everything else is `OdeSolver`'s: ``step()``, ``dense_output()``,
    ``t``, ``y``, ``t_old``, ``status``, ``nfev``, ``njev``, ``nlu`` ... An extra ``args=`` keyword
    passes extra arguments to ``fun``.
    """
    cls = type(scipy_name, (OdeSolver,), {"__init__": init, "__doc__": doc, "_method": scipy_name, "_is_base": False})
    cls.__module__ = __name__
    init.__qualname__ = f"{scipy_name}.__init__"
    return cls


RK23 = _explicit(
    "RK23", "Bogacki-Shampine 3(2): explicit Runge-Kutta of order 3, error estimate of order 2, cubic Hermite dense."
)
RK45 = _explicit(
    "RK45", "Dormand-Prince 5(4): explicit Runge-Kutta of order 5 with a 4th-order error estimate, quartic dense."
)
DOP853 = _explicit(
    "DOP853", "Hairer's DOP853: explicit Runge-Kutta of order 8, error estimates of orders 5 and 3, 7th-order dense."
)
Radau = _implicit(
    "Radau",
    "Stiff solver: radau5, Radau IIA of order 5 (3-stage collocation, L-stable), as scipy's Radau.",
)
BDF = _implicit(
    "BDF",
    "Stiff solver in BDF's place: rodas4, an L-stable one-step Rosenbrock method of order 4 "
    "(W-method: one LU of I - h gamma J per step, no Newton iteration).",
)


class LSODA(OdeSolver):
    """Switching solver in LSODA's place: ``auto``, dop853 switched to rodas4 where the steps are
    stability-limited (stiff) and back where they are not.

    scipy's ``LSODA`` signature: ``first_step``, ``min_step`` (no step but the last one is
    shorter; a rejected step of that size fails the solver), ``max_step``, ``rtol``, ``atol``, ``jac``,
    ``lband``/``uband`` (a band of the Jacobian: with ``jac=None`` the finite differences evaluate
    only the band's columns in groups; a callable ``jac`` then returns scipy's packed banded form
    ``P[uband + i - j, j] = J[i, j]``). Everything else is `OdeSolver`'s.
    """

    _method = "LSODA"
    _is_base = False

    def __init__(
        self,
        fun: Any,
        t0: float,
        y0: Any,
        t_bound: float,
        first_step: float | None = None,
        min_step: float = 0.0,
        max_step: float = np.inf,
        rtol: Any = 1e-3,
        atol: Any = 1e-6,
        jac: Any = None,
        lband: int | None = None,
        uband: int | None = None,
        vectorized: bool = False,
        **extraneous: Any,
    ) -> None:
        args = extraneous.pop("args", None)
        options = dict(
            first_step=first_step,
            min_step=min_step,
            max_step=max_step,
            rtol=rtol,
            atol=atol,
            jac=jac,
            lband=lband,
            uband=uband,
        )
        options.update(extraneous)
        self._setup(fun, t0, y0, t_bound, "LSODA", vectorized, args, options)
