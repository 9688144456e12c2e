"""One ODE problem as the core takes it, shared by `solve_ivp` and the `OdeSolver` classes: the
state (real, or complex as real pairs), ``args``, the method (a name or a solver class), the
compiled right-hand side and Jacobian with their data buffer, and the events' functions."""

from __future__ import annotations

import inspect
import warnings
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
from numba.core.ccallback import CFunc

from . import _options as _o
from . import _validate as _v
from . import events as _events
from ._options import JACOBIAN_METHODS, SCIPY_METHODS
from ._solve_ivp_compile import RHS_SIG, arg_kinds, compiled_rhs, make_buffer, raise_failure
from .costs.base import callable_name

__all__ = ["Problem", "prepare", "method_name", "check_state", "check_args", "warn_unused", "problem_events"]

#: scipy's text for options a method does not use (scipy's ``common.warn_extraneous``).
_UNUSED = "The following arguments have no effect for a chosen solver: {names}."


def warn_unused(names: list[str], stacklevel: int = 3) -> None:
    """scipy's warning for options that have no effect on the chosen method."""
    if names:
        warnings.warn(_UNUSED.format(names=", ".join(f"`{x}`" for x in names)), stacklevel=stacklevel + 1)


def method_name(method: object) -> str | None:
    """The method name a ``method`` argument stands for: a string as given, an `OdeSolver` class
    of this package by its method, one of scipy's solver classes by its name. None for another
    scipy ``OdeSolver`` subclass (a solver written in Python)."""
    if isinstance(method, str):
        return method
    if inspect.isclass(method):
        core = getattr(method, "_method", None)
        if core is not None:
            return SCIPY_METHODS[core] if core in SCIPY_METHODS else core
        module = getattr(method, "__module__", "") or ""
        if module.startswith("scipy.") and method.__name__ in SCIPY_METHODS:
            return SCIPY_METHODS[method.__name__]
        from scipy.integrate import OdeSolver as ScipyOdeSolver

        if issubclass(method, ScipyOdeSolver):
            if getattr(method, "_is_base", False):
                raise ValueError(
                    "method=overflow.OdeSolver names no method: pass one of its subclasses "
                    "(overflow.RK45, ...) or a method name"
                )
            return None
    allowed = [*_o.ENTRY_METHODS["solve_ivp"], *SCIPY_METHODS]
    raise TypeError(f"method must be a string, one of {allowed}, or an OdeSolver class, got {_v.describe(method)}")


def check_state(y0: object) -> tuple[np.ndarray, bool]:
    """``y0`` as a 1-D float64 or complex128 array (a scalar is one component) and whether it is
    complex (scipy's rule: a complex dtype, even with zero imaginary parts)."""
    try:
        complex_state = np.iscomplexobj(y0)
    except ValueError:  # ragged nesting: float_array names it
        complex_state = False
    if complex_state:
        y = np.asarray(y0)
        if y.dtype.kind != "c":
            raise TypeError(f"y0 must be an array of numbers, got values of dtype {y.dtype}")
        y = y.astype(np.complex128)
    else:
        y = _v.float_array(y0, "y0", "an array of real or complex numbers")
    if y.ndim > 1:
        raise ValueError(f"y0 must be 1-D, got shape {y.shape}")
    y = np.ascontiguousarray(y.reshape(-1))  # a scalar y0 is a state of one entry
    if not np.all(np.isfinite(y)):
        bad = int(np.argmin(np.isfinite(y)))
        raise ValueError(f"y0 must be finite (all components of the initial state), got {y[bad]} at index {bad}")
    return y, complex_state


def check_args(args: object) -> tuple:
    """scipy's ``args``: None, or anything that unpacks (a tuple, a list ...) as the extra arguments."""
    if args is None:
        return ()
    if isinstance(args, tuple):
        return args
    try:
        return tuple(args)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(
            f"args must be a tuple of the extra arguments of fun(t, y, *args): Supplied 'args' cannot "
            f"be unpacked. Please supply `args` as a tuple (e.g. `args=({args!r},)`)"
        ) from None


@dataclass
class Problem:
    """The compiled problem of one run or solver: what the core calls, and what must stay alive."""

    address: int  # the rhs cfunc (RHS_SIG)
    data: np.ndarray  # the data buffer as float64 (the core's type; the same bytes)
    n_core: int  # the core's state size: n, or 2n for a complex state
    complex_state: bool
    jac_address: int = 0
    keep: list[Any] = field(default_factory=list)
    fun: Any = None
    comp: Any = None
    values: list[Any] = field(default_factory=list)
    buf: np.ndarray | None = None
    jacobian: Any = None

    def raise_failure(self) -> None:
        """Raise what ``fun`` (or ``jac``) raised or returned wrongly during the last call into the core."""
        if self.comp is not None and self.buf is not None:
            raise_failure(self.fun, self.buf, self.comp, self.values, jacobian=self.jacobian)

    def failed(self) -> bool:
        """Whether fun or jac failed in the last call (the buffer's flag)."""
        return self.buf is not None and int(self.buf[0]) != 0

    def njev(self, core_njev: int) -> int:
        """Jacobian evaluations as scipy counts them: none for a constant ``jac`` (the core copies it)."""
        return 0 if self.jacobian is not None and self.jacobian.kind == "constant" else core_njev

    def jacobian_fun_calls(self) -> int:
        """fun calls the Jacobian cfunc made (scipy counts them in nfev; 0 where not recorded)."""
        if self.jacobian is None or self.buf is None:
            return 0
        from ._solve_ivp_compile import jacobian_fun_calls

        return jacobian_fun_calls(self.buf)

    def per_core_component(self, values: np.ndarray | None) -> np.ndarray | None:
        """Per-component values of the user's state (a scale, rtols) for the core's state: each entry
        twice for a complex state (its real and imaginary parts); None stays None."""
        if values is None or not self.complex_state:
            return values
        return np.repeat(values, 2)

    def core_keywords(self, scale: np.ndarray | None, direction: int) -> dict[str, Any]:
        """The keyword arguments of `_core.integrate_rhs` and `_core.RhsSolver` for this problem: its
        Jacobian, the scale of an array atol and a backward run's direction, each only where it applies."""
        kw: dict[str, Any] = {}
        if self.jac_address:
            kw["jac_address"] = self.jac_address
        if scale is not None:
            kw["scale"] = self.per_core_component(scale)
        if direction < 0:
            kw["direction"] = -1
        return kw


def _band_sparsity(n: int, lband: int | None, uband: int | None) -> np.ndarray:
    """LSODA's band (``jac[i, j] != 0`` only for ``i - lband <= j <= i + uband``) as a sparsity pattern."""
    lo = n if lband is None else lband
    up = n if uband is None else uband
    i, j = np.indices((n, n))
    return ((j >= i - lo) & (j <= i + up)).astype(np.int8)


def _check_band(value: object, name: str) -> int | None:
    return None if value is None else _v.integer(value, name, minimum=0)


def prepare_with_options(
    fun: Callable[..., Any],
    args: tuple,
    y0: np.ndarray,
    t0: float,
    complex_state: bool,
    method: str,
    used: dict[str, Any],
    atol: float,
    scale: np.ndarray | None,
) -> Problem:
    """`prepare` with the Jacobian options among ``used`` (``jac``, ``jac_sparsity``, ``lband``,
    ``uband``: `solve_ivp`'s and the solver classes' options) and, as the smallest |y_j| that scales a
    finite-difference increment, the absolute tolerance (its smallest entry for an array atol)."""
    return prepare(
        fun,
        args,
        y0,
        t0,
        complex_state,
        method,
        jac=used.get("jac"),
        jac_sparsity=used.get("jac_sparsity"),
        lband=used.get("lband"),
        uband=used.get("uband"),
        fd_threshold=atol * (1.0 if scale is None else float(np.min(scale))),
    )


def prepare(
    fun: Callable[..., Any],
    args: tuple,
    y0: np.ndarray,
    t0: float,
    complex_state: bool,
    method: str,
    *,
    jac: object = None,
    jac_sparsity: object = None,
    lband: object = None,
    uband: object = None,
    fd_threshold: float = 1e-6,
) -> Problem:
    """Compile ``fun`` (and for the methods that use a Jacobian, ``jac`` or its approximation) for
    the state ``y0`` at ``t0`` (where the Jacobian's kind is decided) and build the data buffer
    they share."""
    n = y0.size
    lo, up = _check_band(lband, "lband"), _check_band(uband, "uband")
    uses_jacobian = method in JACOBIAN_METHODS and n > 0
    if uses_jacobian and jac_sparsity is None and jac is None and (lo is not None or up is not None):
        jac_sparsity = _band_sparsity(n, lo, up)
    if uses_jacobian and jac is not None and callable(jac) and (lo is not None or up is not None):
        jac = _unpacked_band_jac(jac, len(args), n, lo, up)
    if isinstance(fun, CFunc):
        if fun._sig != RHS_SIG:
            raise TypeError(f"fun is a numba cfunc with signature {fun._sig}; expected {RHS_SIG}")
        if args:
            raise TypeError("args cannot be passed to a numba cfunc fun (it receives only t, y, dy and data)")
        if complex_state:
            raise TypeError("a numba cfunc fun works on a real state: y0 must be real")
        if not uses_jacobian or (jac is None and jac_sparsity is None):
            # the core's own forward differences serve a cfunc's Jacobian
            return Problem(fun.address, np.zeros(1), n, False, keep=[fun])
        kinds, values, comp = (), [], None
        address = fun.address
    else:
        kinds, values = arg_kinds(args)
        comp = compiled_rhs(fun, kinds, complex_state=True) if complex_state else compiled_rhs(fun, kinds)
        address = comp.cfunc.address
    source = None
    if uses_jacobian:
        from ._jacobian_compile import compiled_jacobian

        source = compiled_jacobian(
            fun, kinds, values, n, jac=jac, jac_sparsity=jac_sparsity, complex_state=complex_state, t0=t0, y0=y0
        )
        buf = make_buffer(kinds, values, n, complex_state=complex_state, jacobian=source, fd_threshold=fd_threshold)
    else:
        buf = make_buffer(kinds, values, n, complex_state=complex_state)
    return Problem(
        address,
        buf.view(np.float64),
        2 * n if complex_state else n,
        complex_state,
        jac_address=0 if source is None else int(source.address),
        keep=[fun, comp, source],
        fun=fun,
        comp=comp,
        values=values,
        buf=buf,
        jacobian=source,
    )


def _unpacked_band_jac(jac: Any, k: int, n: int, lband: int | None, uband: int | None) -> Any:
    """LSODA's banded ``jac`` (packed: ``P[uband + i - j, j] = J[i, j]``, shape (lband + uband + 1, n))
    as a function returning the full ``(n, n)`` Jacobian, compiled by Numba like any ``jac``."""
    lo = n - 1 if lband is None else lband
    up = n - 1 if uband is None else uband
    inner = jac if isinstance(jac, numba.core.dispatcher.Dispatcher) else numba.njit(error_model="numpy")(jac)
    names = ", ".join(f"a{i}" for i in range(k))
    rest = f", {names}" if k else ""
    src = "\n".join(
        [
            f"def full_jac(t, y{rest}):",
            f"    P = inner(t, y{rest})",
            "    J = np.zeros((n, n), dtype=P.dtype)",
            "    for j in range(n):",
            "        for i in range(max(0, j - up), min(n, j + lo + 1)):",
            "            J[i, j] = P[up + i - j, j]",
            "    return J",
        ]
    )
    ns: dict[str, Any] = {"np": np, "inner": inner, "n": n, "lo": lo, "up": up}
    exec(compile(src, f"<banded jac of {callable_name(jac)}>", "exec"), ns)
    full = ns["full_jac"]
    full.__qualname__ = full.__name__ = callable_name(jac)
    return full


# ---------------------------------------------------------------- events: args and complex states

# event function -> {(complex_state, args key): wrapper}; weak in the event so that it can go away
_wrappers: weakref.WeakKeyDictionary[Any, dict[tuple, Any]] = weakref.WeakKeyDictionary()


def _args_key(args: tuple) -> tuple | None:
    key = []
    for a in args:
        if isinstance(a, np.ndarray):
            key.append(("a", a.dtype.str, a.shape, a.tobytes()))
        elif isinstance(a, (bool, int, float, np.generic)):
            key.append((type(a).__name__, a))
        else:
            return None
    return tuple(key)


def problem_events(events: object, args: tuple, complex_state: bool) -> object:
    """``events`` as functions ``event(t, y)`` of the core's float64 state, as `overflow.events`
    compiles them: with ``args`` each is called as ``event(t, y, *args)`` (scipy passes ``args`` to
    the events too), with a complex state on ``y`` viewed as complex128. The wrappers keep the
    events' ``terminal`` and ``direction`` and are cached per event, state type and args values."""
    if events is None or (not args and not complex_state):
        return events
    single = not isinstance(events, (list, tuple))
    out = [_wrapped(ev, args, complex_state) if callable(ev) else ev for ev in ([events] if single else events)]
    return out


def _wrapped(ev: Any, args: tuple, complex_state: bool) -> Any:
    key_args = _args_key(args)
    key = None if key_args is None else (complex_state, key_args)
    try:
        per = _wrappers.setdefault(ev, {})
    except TypeError:
        per = None
    if per is not None and key is not None and key in per:
        wrapper = per[key]
        wrapper.terminal = getattr(ev, "terminal", False)  # read each run, as the event's own are
        wrapper.direction = getattr(ev, "direction", 0)
        return wrapper
    inner = ev if isinstance(ev, numba.core.dispatcher.Dispatcher) else numba.njit(error_model="numpy")(ev)
    ns: dict[str, Any] = {"inner": inner, "np": np}
    names = []
    for i, a in enumerate(args):
        ns[f"a{i}"] = a  # frozen into the compiled code as a constant (Numba's globals)
        names.append(f"a{i}")
    rest = "".join(", " + a for a in names)
    y = "y.view(np.complex128)" if complex_state else "y"
    src = f"def event(t, y):\n    return inner(t, {y}{rest})\n"
    exec(compile(src, f"<event {callable_name(ev)}>", "exec"), ns)
    wrapper = ns["event"]
    wrapper.__name__ = wrapper.__qualname__ = callable_name(ev)
    wrapper.terminal = getattr(ev, "terminal", False)
    wrapper.direction = getattr(ev, "direction", 0)
    if per is not None and key is not None:
        if len(per) >= 16:
            per.clear()
        per[key] = wrapper
    return wrapper


def prepare_events(events: object, args: tuple, complex_state: bool, n_core: int) -> tuple[list[tuple], list[Any]]:
    """The core's event tuples and what must stay alive (`overflow.events.prepare`) for ``events``."""
    return _events.prepare(problem_events(events, args, complex_state), n_core)
