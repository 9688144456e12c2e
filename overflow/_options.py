"""The run options: the names, defaults, checks and parameter docs of every option that
`integrate`, `Solver`, `solve_ivp`, `monte_carlo` and the command line share, each defined here
once.

- `DEFAULTS` holds the API's default of every option; `DIFFERENCES` the few entry points whose
  default differs, each with its reason (the only place such a difference may live). `defaults`
  gives an entry point its own, for its signature.
- `check_run` checks the options of a run (and the ``check_*`` functions one option each), raising
  TypeError or ValueError that names the argument, and returns them as the core takes them
  (`RunOptions`). Every entry point raises ``rtol`` to `RTOL_FLOOR` the same way, with a warning,
  so that equal options give equal steps whichever entry point runs them.
- `check_start` is the one check of a start outside the cost's domain.
- `document` fills the shared parameter docs into an entry point's numpy-style docstring.

The argument order is the same everywhere: the problem (``net, Ws`` or ``fun``, ``t_span``,
``y0``), then ``method``, then every option keyword-only.
"""

from __future__ import annotations

import math
import re
import textwrap
import types
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from . import _core
from . import _validate as _v

__all__ = [
    "METHODS",
    "IMPLICIT_METHODS",
    "AUTO_METHOD",
    "JACOBIAN_METHODS",
    "SCIPY_METHODS",
    "RTOL_FLOOR",
    "NO_STEP_CAP",
    "DEFAULTS",
    "DIFFERENCES",
    "ENTRY_POINTS",
    "defaults",
    "RunOptions",
    "check_run",
    "check_t_span",
    "check_method",
    "check_tolerance",
    "check_rtol",
    "check_t_eval",
    "check_gtol",
    "check_first_step",
    "check_max_step",
    "check_max_steps",
    "check_max_norm",
    "check_flag",
    "check_start",
    "IvpOptions",
    "check_ivp",
    "check_ivp_span",
    "check_ivp_t_eval",
    "check_ivp_tolerances",
    "check_ivp_first_step",
    "check_ivp_max_step",
    "document",
    "START_NOT_FINITE",
]

# ---------------------------------------------------------------- the method option's values

# Both dicts are read from the core's method table (csrc/src/tableau.cpp), in its order.
_TABLE = _core.method_table()
#: Explicit embedded Runge-Kutta pairs: name -> (order, embedded order, dense-output order):
#: Bogacki-Shampine 3(2) with a cubic Hermite interpolant, Dormand-Prince 5(4) and Tsitouras 5(4)
#: with quartic ones, Hairer's DOP853 8(5,3) with a 7th-order one (3 extra stages).
METHODS: dict[str, tuple[int, int, int]] = {
    m.name: (m.order, m.error_order, m.dense_order) for m in _TABLE if m.scheme == "explicit_rk"
}
#: Implicit methods, name -> (order, error-estimate order, dense-output order): Gauss-Legendre
#: collocation gauss4 and gauss6 (2 and 3 stages; error by step doubling; quintic Hermite
#: interpolant), which conserve the invariants C_i to rounding, Hairer & Wanner's RODAS, rodas4
#: (L-stable Rosenbrock, for stiff flows; cubic Hermite), and Radau IIA of order 5, radau5 (L-stable,
#: for stiff flows; its collocation polynomial). Linear networks only: they need the flow's Jacobian.
IMPLICIT_METHODS: dict[str, tuple[int, int, int]] = {
    m.name: (m.order, m.error_order, m.dense_order) for m in _TABLE if m.scheme != "explicit_rk"
}
#: Method "auto": this explicit pair, switched to this stiff method where the flow is stiff
#: (stability-limited steps) and back where it is not (the stiff method uses the flow's exact
#: Jacobian on linear networks, central differences of the right-hand side on activated ones).
AUTO_METHOD: tuple[str, str] = tuple(_core.AUTO_METHOD)
#: The method names that use the flow's Jacobian: the implicit methods and "auto".
JACOBIAN_METHODS = (*IMPLICIT_METHODS, "auto")
#: scipy's method names and the nearest method here. RK23, RK45 and DOP853 are the same embedded
#: pairs (Bogacki-Shampine 3(2), Dormand-Prince 5(4), Hairer's 8(5,3)). Radau is the same method,
#: Radau IIA of order 5 (radau5: Hairer & Wanner's simplified Newton and step control). BDF
#: (variable order 1-5, L-stable at low order) maps to rodas4: one-step, L-stable, order 4. LSODA
#: (Adams/BDF switched by stiffness detection) maps to auto: dop853 switched to rodas4 where stiff.
SCIPY_METHODS = {
    "RK23": "bs3",
    "RK45": "dopri5",
    "DOP853": "dop853",
    "Radau": "radau5",
    "BDF": "rodas4",
    "LSODA": "auto",
}

#: The methods each entry point takes ("cli" is what ``--method`` offers).
ENTRY_METHODS: dict[str, tuple[str, ...]] = {
    "integrate": (*sorted(METHODS), *JACOBIAN_METHODS, "reduced"),
    "Solver": (*sorted(METHODS), *JACOBIAN_METHODS),
    "monte_carlo": (*sorted(METHODS), *JACOBIAN_METHODS),
    "solve_ivp": (*sorted(METHODS), *JACOBIAN_METHODS),
    "cli": (*sorted(METHODS), "auto"),
}
ENTRY_POINTS = tuple(ENTRY_METHODS)
_ALLOWED = {entry: frozenset(names) for entry, names in ENTRY_METHODS.items()}  # checked on every call

# ---------------------------------------------------------------- defaults

#: The API's default of every option (``None``: not set; the core reads 0 for gtol and first_step).
DEFAULTS: dict[str, Any] = {
    "method": "auto",
    "rtol": 1e-6,
    "atol": 1e-9,
    "t_eval": None,
    "gtol": None,
    "first_step": None,
    "max_step": math.inf,
    "max_steps": 100_000,
    "max_norm": 1e10,
    "events": None,
    "project": False,
    "save_weights": True,
    "threads": 1,
    "t_end": math.inf,  # the command line's end of t_span (the API has no default t_span)
}

#: Where an entry point's default differs from `DEFAULTS`: entry point -> {option: (default, why)}.
#: Changing an entry point's default is one line here.
DIFFERENCES: dict[str, dict[str, tuple[Any, str]]] = {
    "solve_ivp": {
        "method": ("RK45", "scipy's default (Dormand-Prince 5(4), dopri5 here): a ported script gets the same steps"),
        "rtol": (1e-3, "scipy's default: a scipy script ported by changing the import gets the same answer"),
        "atol": (1e-6, "scipy's default, as rtol"),
        "max_steps": (None, "scipy's solve_ivp has no step cap"),
        "max_norm": (math.inf, "scipy's solve_ivp has no blow-up stop, and a scipy user expects none"),
    },
    "cli": {
        "rtol": (
            1e-8,
            "overflow run and mc run each start to convergence (gtol): an explicit method holds "
            "||grad g|| at about lambda_max * tol, so the command line's tolerances are tighter",
        ),
        "atol": (1e-10, "as rtol"),
        "gtol": (1e-9, "with t_end = inf, the rule that stops each run (0 on the command line: none)"),
    },
}

#: The options of a whole run, shared by `integrate` and `monte_carlo` (one trajectory each).
_RUN_OPTIONS = (
    "rtol",
    "atol",
    "t_eval",
    "gtol",
    "first_step",
    "max_step",
    "max_steps",
    "max_norm",
    "events",
    "project",
)

#: The options each entry point takes besides method (Solver has no end time: gtol, t_eval,
#: max_steps and max_norm are the caller's loop's business there).
ENTRY_OPTIONS: dict[str, tuple[str, ...]] = {
    "integrate": (*_RUN_OPTIONS, "save_weights", "threads"),
    "Solver": ("rtol", "atol", "first_step", "max_step", "events", "project"),
    "monte_carlo": _RUN_OPTIONS,
    "solve_ivp": ("rtol", "atol", "t_eval", "first_step", "max_step", "max_steps", "max_norm", "events"),
    "cli": ("rtol", "atol", "gtol", "max_steps", "t_end"),
}


def default(entry: str, name: str) -> Any:
    """The default of option ``name`` at entry point ``entry`` (`DIFFERENCES`, else `DEFAULTS`)."""
    override = DIFFERENCES.get(entry, {}).get(name)
    return DEFAULTS[name] if override is None else override[0]


def defaults(entry: str) -> types.SimpleNamespace:
    """The defaults of entry point ``entry`` as attributes, for its signature (``method=D.method``)."""
    return types.SimpleNamespace(**{name: default(entry, name) for name in ("method", *ENTRY_OPTIONS[entry])})


# ---------------------------------------------------------------- checks, one per option

#: ``rtol`` below 100 machine epsilons is raised to it (as scipy's solve_ivp does): the error
#: estimate of a step cannot resolve less.
RTOL_FLOOR = 100 * float(np.finfo(float).eps)
_NO_T_EVAL = np.zeros(0)


def check_t_span(t_span: Sequence[float], allow_inf: bool = False) -> tuple[float, float]:
    """``(t0, t1)`` as floats with ``t0 < t1``; ``t1 = inf`` too where ``allow_inf``."""
    if isinstance(t_span, (str, bytes, dict)) or (isinstance(t_span, np.ndarray) and t_span.ndim != 1):
        raise ValueError(f"t_span must be a pair (t0, t1), got {_v.describe(t_span)}")
    try:
        t0, t1 = t_span
    except (TypeError, ValueError):
        raise ValueError(f"t_span must be a pair (t0, t1), got {_v.describe(t_span)}") from None
    t0 = _v.finite_real(t0, "t_span[0]")
    t1 = _v.real(t1, "t_span[1]")
    if not (math.isfinite(t1) or (allow_inf and t1 == math.inf)):
        raise ValueError(f"t_span[1] must be finite{' or +inf' if allow_inf else ''}, got {t1}")
    if not t1 > t0:
        raise ValueError(f"t_span must satisfy t0 < t1 (the flow runs forward in time), got ({t0}, {t1})")
    if math.isfinite(t1) and not math.isfinite(t1 - t0):
        # the steppers work with t1 - t0 (first step, remaining span): it must be a float too
        raise ValueError(f"t_span must have a length t1 - t0 within the float64 range, got ({t0!r}, {t1!r})")
    if math.isfinite(t1) and t1 - t0 <= 10 * math.ulp(max(abs(t0), abs(t1))):
        raise ValueError(f"t_span ({t0!r}, {t1!r}) is shorter than 10 units of rounding of t: no step can resolve it")
    return t0, t1


def check_method(method: object, entry: str) -> str:
    """``method`` as the core's name (scipy's names for solve_ivp): TypeError unless a str,
    ValueError unless one of the entry point's `ENTRY_METHODS`."""
    if type(method) is str and method in _ALLOWED[entry]:
        return method
    allowed = ENTRY_METHODS[entry]
    scipy = entry == "solve_ivp"
    if not isinstance(method, str):
        also = f" (or scipy's {sorted(SCIPY_METHODS)})" if scipy else ""
        raise TypeError(f"method must be a string, one of {list(allowed)}{also}, got {_v.describe(method)}")
    if method in allowed:
        return method
    if scipy and method in SCIPY_METHODS:
        return SCIPY_METHODS[method]
    if scipy:
        raise ValueError(
            f"unknown method {method!r}: choose one of {list(allowed)} or scipy's names {list(SCIPY_METHODS)}"
        )
    raise ValueError(f"unknown method {method!r}: choose one of {list(allowed)}")


def check_tolerance(value: object, name: str) -> float:
    """One positive finite real number (per-component tolerances are refused by name)."""
    if type(value) is not float and (
        isinstance(value, (list, tuple)) or (isinstance(value, np.ndarray) and value.ndim > 0)
    ):
        raise TypeError(
            f"{name} must be one positive real number (per-component tolerances are not supported), "
            f"got {_v.describe(np.asarray(value))}"
        )
    return _v.positive(value, name)


def check_rtol(value: object, stacklevel: int = 2) -> float:
    """`check_tolerance`, raised to `RTOL_FLOOR` with a warning (``stacklevel`` counted from the caller)."""
    rtol = check_tolerance(value, "rtol")
    if rtol < RTOL_FLOOR:
        warnings.warn(f"rtol={rtol} is below 100 * machine epsilon; using {RTOL_FLOOR:.3g}", stacklevel=stacklevel + 1)
        rtol = RTOL_FLOOR
    return rtol


def _times(t_eval: object) -> np.ndarray:
    """``t_eval`` as a 1-D float64 array (a scalar is one time); its values are the callers' to check."""
    te = _v.float_array(t_eval, "t_eval", "a 1-D array of real times", allow_bool=False)
    if te.ndim == 0:
        te = te.reshape(1)
    if te.ndim != 1:
        raise ValueError(f"t_eval must be 1-D, got shape {te.shape}")
    return te


def check_t_eval(t_eval: object, t0: float, t1: float) -> np.ndarray:
    """Strictly increasing finite times inside ``[t0, t1]`` (an empty array for None)."""
    if t_eval is None:
        return _NO_T_EVAL
    te = _times(t_eval)
    if te.size == 0:
        raise ValueError("t_eval is empty: pass None to save every step")
    # Fast path: strictly increasing with finite ends means every entry is finite (NaN fails every
    # comparison); only on failure work out which rule was broken.
    if not ((te.size == 1 or (te[1:] > te[:-1]).all()) and math.isfinite(te[0]) and math.isfinite(te[-1])):
        if not np.all(np.isfinite(te)):
            raise ValueError("t_eval contains NaN or infinite values")
        raise ValueError("t_eval must be strictly increasing")
    if te[0] < t0 or te[-1] > t1:
        raise ValueError(f"t_eval must lie inside t_span = ({t0}, {t1}), got [{te[0]}, {te[-1]}]")
    return np.ascontiguousarray(te)


def check_gtol(value: object) -> float:
    """None (no such stop: 0.0, as the core reads it) or a positive finite number."""
    return 0.0 if value is None else _v.positive(value, "gtol")


def check_first_step(value: object, span: float = math.inf) -> float:
    """None (Hairer's estimate: 0.0, as the core reads it) or a positive finite number at most ``span``."""
    if value is None:
        return 0.0
    first = _v.positive(value, "first_step")
    if first > span:
        raise ValueError(f"first_step must not exceed t1 - t0 = {span}, got {first}")
    return first


def check_max_step(value: object) -> float:
    return _v.positive(value, "max_step", allow_inf=True)


def check_max_steps(value: object) -> int:
    return _v.integer(value, "max_steps", minimum=1)  # the core's int64_t


def check_max_norm(value: object) -> float:
    return _v.positive(value, "max_norm", allow_inf=True)


def check_flag(value: object, name: str) -> bool:
    """A bool (numpy's included); anything else, 0 and 1 included, is a TypeError."""
    return _v.boolean(value, name)


class RunOptions(NamedTuple):
    """Checked run options (0 means "not set" for gtol and first_step); `core` hands them to the core."""

    t0: float
    t1: float
    method: str
    rtol: float
    atol: float
    t_eval: np.ndarray
    gtol: float
    first_step: float
    max_step: float
    max_steps: int
    max_norm: float
    min_step: float = 0.0

    def core(
        self,
        *,
        method: str | None = None,
        save_states: bool = True,
        project: bool = False,
        threads: int = 1,
        events: Sequence[tuple] = (),
        record_dense: bool = False,
        rtol_components: np.ndarray | None = None,
    ) -> _core.RunOptions:
        """These options as the core takes them (`_core.RunOptions`, without the span and ``t_eval``),
        with the core's other fields and, where given, another ``method``; ``record_dense`` records
        every step's interpolant (``_core.Solution.dense_t``, ``dense_nodes``, ``dense_degree``);
        ``rtol_components``: one rtol per component of the core's state (``rtol`` their smallest).
        Without events or components the object is shared by the calls with equal options (building one costs
        ~1.5 us, a tenth of a small integrate call): the core only reads it, and neither may the
        caller change it."""
        key = (
            method or self.method,
            self.rtol,
            self.atol,
            self.first_step,
            self.max_step,
            self.min_step,
            self.max_steps,
            self.gtol,
            self.max_norm,
            save_states,
            project,
            threads,
            record_dense,
        )
        shared = not events and rtol_components is None
        options = _CORE_OPTIONS.get(key) if shared else None
        if options is None:
            options = _core.RunOptions(
                method=key[0],
                rtol=self.rtol,
                atol=self.atol,
                first_step=self.first_step,
                max_step=self.max_step,
                min_step=self.min_step,
                max_steps=self.max_steps,
                gtol=self.gtol,
                max_norm=self.max_norm,
                save_states=save_states,
                project=project,
                threads=threads,
                events=list(events),
                # only when asked: the field is the core's dense recording (_core.Solution.dense_*)
                **({"record_dense": True} if record_dense else {}),
                **({} if rtol_components is None else {"rtol_components": [float(r) for r in rtol_components]}),
            )
            if shared:
                if len(_CORE_OPTIONS) >= 256:  # a sweep over many options: keep the cache small
                    _CORE_OPTIONS.clear()
                _CORE_OPTIONS[key] = options
        return options


#: `RunOptions.core`'s shared objects, by their fields.
_CORE_OPTIONS: dict[tuple, _core.RunOptions] = {}


def check_run(
    entry: str,
    t_span: Sequence[float],
    method: object,
    *,
    rtol: object,
    atol: object,
    t_eval: object = None,
    gtol: object = None,
    first_step: object = None,
    max_step: object = math.inf,
    max_steps: object = DEFAULTS["max_steps"],
    max_norm: object = math.inf,
    terminal_event: bool = False,
    stacklevel: int = 2,
) -> RunOptions:
    """The options of a run from ``entry`` checked in one order, whatever the entry point.

    ``t_span = (t0, inf)`` is allowed where the entry point has a stopping rule (gtol or a
    terminal event; not solve_ivp); ``first_step`` must fit in ``t_span`` for solve_ivp (as in
    scipy). ``stacklevel`` locates the rtol warning, counted from the caller."""
    t0, t1 = check_t_span(t_span, allow_inf=entry != "solve_ivp")
    method = check_method(method, entry)
    rtol = check_rtol(rtol, stacklevel + 1)
    atol = check_tolerance(atol, "atol")
    te = check_t_eval(t_eval, t0, t1)
    gtol_value = check_gtol(gtol)
    if math.isinf(t1) and gtol_value == 0.0 and not terminal_event:
        raise ValueError(
            f"t_span = ({t0}, inf) needs a rule that stops the run: pass gtol (stop once "
            "||grad g|| <= gtol) or a terminal event"
        )
    first = check_first_step(first_step, t1 - t0 if entry == "solve_ivp" else math.inf)
    return RunOptions(
        t0,
        t1,
        method,
        rtol,
        atol,
        te,
        gtol_value,
        first,
        check_max_step(max_step),
        check_max_steps(max_steps),
        check_max_norm(max_norm),
    )


# ---------------------------------------------------------------- solve_ivp and OdeSolver (scipy's rules)

#: ``max_steps`` for "no cap" (solve_ivp's default, as scipy has none): the core's int64_t maximum.
NO_STEP_CAP = _v.INT64_MAX


class IvpOptions(NamedTuple):
    """Checked options of a `solve_ivp` run: the span in user time and its ``direction`` (+1 or -1;
    +1 for a zero-length span), the scalar ``rtol`` and ``atol`` the core takes, and ``scale`` (None,
    or the per-component ``atol / atol_ref`` of an array ``atol``, passed to the core beside it)."""

    t0: float
    t1: float
    direction: int
    method: str
    rtol: float
    atol: float
    scale: np.ndarray | None
    t_eval: np.ndarray | None
    first_step: float
    max_step: float
    max_steps: int
    max_norm: float
    min_step: float = 0.0
    rtol_components: np.ndarray | None = None

    def core(
        self, *, events: Sequence[tuple] = (), record_dense: bool = False, rtol_components: np.ndarray | None = None
    ) -> _core.RunOptions:
        """These options as the core takes them (`RunOptions.core`: shared among equal calls without
        events or per-component rtol); ``rtol_components``: `rtol_components` mapped to the core's
        state (`Problem.per_core_component`)."""
        run = RunOptions(
            self.t0,
            self.t1,
            self.method,
            self.rtol,
            self.atol,
            _NO_T_EVAL,
            0.0,
            self.first_step,
            self.max_step,
            self.max_steps,
            self.max_norm,
            self.min_step,
        )
        return run.core(save_states=True, events=events, record_dense=record_dense, rtol_components=rtol_components)


def check_ivp_span(t_span: object) -> tuple[float, float]:
    """``(t0, t1)`` as floats in either order (t1 < t0 integrates backward, t1 == t0 is a
    zero-length span): t0 finite, t1 finite or an infinite end as scipy allows (`solve_ivp` then
    needs a terminal event); a finite non-zero span must be longer than 10 units of rounding of t."""
    if isinstance(t_span, (str, bytes, dict)) or (isinstance(t_span, np.ndarray) and t_span.ndim != 1):
        raise ValueError(f"t_span must be a pair (t0, t1), got {_v.describe(t_span)}")
    try:
        t0, t1 = t_span  # type: ignore[misc]
    except (TypeError, ValueError):
        raise ValueError(f"t_span must be a pair (t0, t1), got {_v.describe(t_span)}") from None
    t0 = _v.finite_real(t0, "t_span[0]")
    t1 = _v.real(t1, "t_span[1]")
    if math.isnan(t1):
        raise ValueError("t_span[1] must be a number or +-inf, got nan")
    if t0 != t1 and math.isfinite(t1):
        if not math.isfinite(t1 - t0):
            raise ValueError(f"t_span must have a length t1 - t0 within the float64 range, got ({t0!r}, {t1!r})")
        if abs(t1 - t0) <= 10 * math.ulp(max(abs(t0), abs(t1))):
            raise ValueError(
                f"t_span ({t0!r}, {t1!r}) is shorter than 10 units of rounding of t: no step can resolve it"
            )
    return t0, t1


def check_ivp_t_eval(t_eval: object, t0: float, t1: float) -> np.ndarray | None:
    """None, or finite times inside ``t_span`` sorted strictly in the run's direction (decreasing
    for a backward run); an empty array is allowed (nothing saved), as in scipy."""
    if t_eval is None:
        return None
    te = _times(t_eval)
    if te.size == 0:
        return np.ascontiguousarray(te)
    if not np.all(np.isfinite(te)):
        raise ValueError("t_eval contains NaN or infinite values")
    lo, hi = min(t0, t1), max(t0, t1)
    if te.min() < lo or te.max() > hi:
        raise ValueError(
            f"t_eval must lie inside t_span = ({t0}, {t1}) (values in `t_eval` are not within `t_span`), "
            f"got [{te.min()}, {te.max()}]"
        )
    d = np.diff(te)
    if (t1 > t0 and np.any(d <= 0)) or (t1 < t0 and np.any(d >= 0)):
        order = "increasing" if t1 > t0 else "decreasing (the run goes backward)"
        raise ValueError(f"t_eval must be strictly {order}: values in `t_eval` are not properly sorted")
    return np.ascontiguousarray(te)


def _tolerance_array(value: object, name: str, n: int) -> np.ndarray:
    arr = _v.float_array(value, name, "a positive number or an array of them, one per component of y0")
    if arr.ndim > 1 or (arr.ndim == 1 and arr.shape != (n,)):
        raise ValueError(
            f"{name} must be one number or an array of shape ({n},), one per component of y0 "
            f"(`{name}` has wrong shape), got shape {arr.shape}"
        )
    if arr.size and not (np.all(arr > 0) and np.all(np.isfinite(arr))):
        bad = arr[~((arr > 0) & np.isfinite(arr))][0]
        raise ValueError(f"{name} must be > 0 and finite, got {bad}")
    return arr


#: scipy's warning for an rtol below 100 machine epsilons (solve_ivp and the OdeSolver classes).
_SCIPY_RTOL_WARNING = "At least one element of `rtol` is too small. Setting `rtol = np.maximum(rtol, {floor})`."


def check_ivp_tolerances(
    rtol: object, atol: object, n: int, stacklevel: int = 2
) -> tuple[float, float, np.ndarray | None, np.ndarray | None]:
    """``(rtol, atol, scale, rtol_components)`` as the core takes them from scipy's scalar-or-(n,)
    tolerances.

    An array ``atol`` whose entries differ becomes ``atol = max(atol)`` and ``scale = atol_i / max``:
    the core integrates ``y / scale``, whose error test is exactly ``atol_i + rtol |y_i|``. An array
    ``rtol`` whose entries differ becomes ``rtol_components`` (the core's per-component test
    ``atol + rtol_i |y_i|``, the same in the scaled coordinates) with ``rtol`` their smallest; else
    ``rtol_components`` is None. rtol below `RTOL_FLOOR` is raised to it with scipy's warning."""
    if type(rtol) is float and rtol >= RTOL_FLOOR and type(atol) is float and atol > 0 and math.isfinite(atol):
        if math.isfinite(rtol):
            return rtol, atol, None, None  # the common case, without arrays
    r = _tolerance_array(rtol, "rtol", n)
    a = _tolerance_array(atol, "atol", n)
    if r.size == 0:  # an empty state: nothing to control
        r = np.array(RTOL_FLOOR)
    if a.size == 0:
        a = np.array(1.0)
    if float(r.min()) < RTOL_FLOOR:
        warnings.warn(_SCIPY_RTOL_WARNING.format(floor=RTOL_FLOOR), stacklevel=stacklevel + 1)
        r = np.maximum(r, RTOL_FLOOR)
    rtol_value = float(r.min())
    components = None if r.ndim == 0 or float(r.max()) == rtol_value else np.ascontiguousarray(r, dtype=np.float64)
    atol_ref = float(a.max())
    scale = None if a.ndim == 0 or float(a.min()) == atol_ref else np.ascontiguousarray(a / atol_ref)
    return rtol_value, atol_ref, scale, components


def check_ivp_first_step(value: object, t0: float, t1: float) -> float:
    """None (the core's estimate: 0.0) or ``0 < first_step <= |t1 - t0|`` (scipy's rule)."""
    if value is None:
        return 0.0
    first = _v.positive(value, "first_step")
    if first > abs(t1 - t0):
        raise ValueError(
            f"`first_step` exceeds bounds: first_step must be at most |t1 - t0| = {abs(t1 - t0)}, got {first}"
        )
    return first


def check_ivp_max_step(value: object) -> float:
    return _v.positive(value, "max_step", allow_inf=True)


def check_ivp(
    t_span: object,
    method: str,
    n: int,
    *,
    rtol: object,
    atol: object,
    t_eval: object = None,
    first_step: object = None,
    max_step: object = math.inf,
    max_steps: object = None,
    max_norm: object = math.inf,
    stacklevel: int = 2,
) -> IvpOptions:
    """The options of a `solve_ivp` run on a state of ``n`` components, checked with scipy's rules
    (backward and zero-length spans, array tolerances, ``first_step <= |t1 - t0|``, no step cap by
    default). ``stacklevel`` locates the rtol warning, counted from the caller."""
    t0, t1 = check_ivp_span(t_span)
    core_method = check_method(method, "solve_ivp")
    r, a, scale, components = check_ivp_tolerances(rtol, atol, n, stacklevel + 1)
    return IvpOptions(
        t0,
        t1,
        -1 if t1 < t0 else 1,
        core_method,
        r,
        a,
        scale,
        check_ivp_t_eval(t_eval, t0, t1),
        check_ivp_first_step(first_step, t0, t1),
        check_ivp_max_step(max_step),
        NO_STEP_CAP if max_steps is None else check_max_steps(max_steps),
        check_max_norm(max_norm),
        rtol_components=components,
    )


# ---------------------------------------------------------------- the start

#: The one message for a start outside the cost's domain (matched by the tests).
START_NOT_FINITE = "the cost is not finite at the initial point (outside its domain): f(W_N...W_1) = {loss}"


def check_start(loss: float, grad_norm: float) -> None:
    """ValueError when the flow cannot start: the cost or its gradient is not finite there.

    `integrate` reads them from the core's result (which stops at such a start), `Solver` from
    the start itself; both raise this."""
    if not math.isfinite(loss):
        raise ValueError(START_NOT_FINITE.format(loss=loss))
    if not math.isfinite(grad_norm):
        raise ValueError(
            f"the gradient is not finite at the initial point (a finite cost with a non-finite "
            f"gradient): ||grad g|| = {grad_norm}"
        )


# ---------------------------------------------------------------- the shared parameter docs

#: numpy-style docs of the shared options: the type line, then the description. ``{default}``
#: is filled per entry point; ``{state}`` is "weights" for the flow, "y" for solve_ivp.
_DOCS: dict[str, str] = {
    "rtol, atol": """float
        Error per step below ``atol + rtol * |{state}|`` in the weighted RMS norm (as scipy's
        ``solve_ivp``); one number each (defaults {rtol_default} and {atol_default}). An ``rtol``
        below 100 machine epsilons is raised to that, with a warning.""",
    "t_eval": """array_like, optional
        Strictly increasing times inside ``t_span`` at which to save, served by each method's
        interpolant (steps are never shortened for them). None saves every accepted step. After an
        early stop the later points are not saved; the final state is always kept.""",
    "gtol": """float, optional
        Stop with status ``"converged"`` once ``||grad g||_F <= gtol``. The stop is placed where
        ``||grad g||`` crosses ``gtol`` inside the step that crossed it (regula falsi on the
        step's interpolant, about 5-12 extra evaluations), not at that step's end. A run that ends
        without reaching it warns (`ConvergenceWarning`), saying how far ``||grad g||`` got and
        whether it had stalled at the floor an explicit method's tolerances set on a stiff flow
        (about ``lambda_max(Hess g) * atol``; ``method="auto"`` goes below it). The final point
        satisfies ``||grad g|| <= gtol``.""",
    "first_step": """float, optional
        Initial step; by default Hairer's estimate{first_note}.""",
    "max_step": """float
        Largest step allowed (default {default}).""",
    "max_steps": """int
        Most accepted steps before stopping with status ``"max_steps"`` (default {default}).""",
    "max_norm": """float
        Stop with status ``"blowup"`` once some ``|{state}_i|`` exceeds it
        (default {default}{norm_note}).""",
    "events": """{events_type}, optional
        Functions ``event(t, y) -> float`` of the flat state (compiled by Numba), with scipy's
        ``terminal`` (bool or a count) and ``direction`` attributes{builtins}. Their zero
        crossings are located on each step's interpolant to 4 units of rounding in t and kept in
        ``t_events`` / ``y_events`` (one array per event); a terminal one ends the run there with
        status ``"event"``{event_note}.""",
    "project": """bool
        After every accepted step, move the weights back onto the invariant set
        ``{{C_i = C_i(0)}}`` by the minimal-norm Newton correction (conjugate gradients on the
        constraints' normal equations, to ~1e-15 relative), so explicit methods keep the
        invariants at rounding level. Linear networks, and positively homogeneous activations
        (linear, relu, leaky_relu; on data too) with their per-neuron invariants (see
        `overflow.invariants`); each projection costs a few tens of right-hand sides' worth of
        work.""",
}
_BUILTINS = (
    ",\n        or the built-ins `overflow.events.loss_below`, ``grad_norm_below``,\n        ``invariant_drift_above``"
)
_MARK = re.compile(r"^( *)\{options: *([^}]*)\}$", re.M)


def _shown(value: Any) -> str:
    """A default as the docs show it: 1e+10, inf, 100000."""
    return f"{value:g}" if isinstance(value, float) else repr(value)


def _doc(entry: str, key: str) -> str:
    names = key.split(", ")
    fill = {
        "default": _shown(default(entry, names[0])) if names[0] in DEFAULTS else "",
        "rtol_default": _shown(default(entry, "rtol")),
        "atol_default": _shown(default(entry, "atol")),
        "state": "y" if entry == "solve_ivp" else "w",
        "builtins": "" if entry == "solve_ivp" else _BUILTINS,
        "events_type": (
            "callable or list of callables"
            if entry == "solve_ivp"
            else "callable, overflow.events built-in, or a list of them"
        ),
        "first_note": "; at most t1 - t0, as in scipy" if entry == "solve_ivp" else "",
        "norm_note": ": no blow-up stop, as in scipy" if default(entry, "max_norm") == math.inf else "",
        "event_note": (
            ""
            if entry == "Solver"
            else " (and, for t_span = (t0, inf), is a stopping rule)"
            if entry != "solve_ivp"
            else ""
        ),
    }
    return f"{key} : {_DOCS[key].format(**fill)}"


def document(entry: str) -> Callable[[Any], Any]:
    """Decorator filling each line ``{options: rtol, atol; t_eval; ...}`` of a docstring with those
    options' docs (separated by ``;``), indented as the line, defaults as ``entry`` has them."""

    def fill(obj: Any) -> Any:
        def block(match: re.Match[str]) -> str:
            indent, keys = match.group(1), [k.strip() for k in match.group(2).split(";") if k.strip()]
            text = "\n".join(_doc(entry, k).replace("\n        ", "\n    ") for k in keys)
            return textwrap.indent(text, indent)

        if obj.__doc__:
            obj.__doc__ = _MARK.sub(block, obj.__doc__)
        return obj

    return fill
