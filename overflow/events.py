"""Events: functions of ``(t, y)`` whose zero crossings `integrate` and `monte_carlo` locate on each
step's interpolant (to 4 units of rounding in t), with scipy's ``terminal`` and ``direction`` attributes.

A user event is a Python function ``event(t, y) -> float`` on the flat state ``y`` (the layers
``W_1 ... W_N`` row-major, concatenated), compiled by Numba in nopython mode::

    def norm_reached(t, y):
        return np.sum(y * y) - 4.0
    norm_reached.terminal = True      # stop at the first crossing (an int k: at the k-th)
    norm_reached.direction = 1        # only rising crossings count (-1 falling, 0 both)

The built-ins need no compilation and are terminal unless told otherwise:
`loss_below`, `grad_norm_below`, `invariant_drift_above`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
from numba import types

from .activations import is_homogeneous
from .costs.base import callable_name, numba_error_summary, positional_arity

__all__ = ["Event", "EVENT_SIG", "loss_below", "grad_norm_below", "invariant_drift_above"]

#: Numba signature of a compiled event: ``double event(double t, const double* y, int64 n, void* data)``.
EVENT_SIG = types.float64(types.float64, types.CPointer(types.float64), types.int64, types.voidptr)

_BUILTIN = ("loss_below", "grad_norm_below", "invariant_drift_above")


@dataclass(frozen=True)
class Event:
    """A built-in event: ``kind`` with its threshold ``value`` (see `loss_below` and the others).

    ``terminal`` is the number of occurrences after which the run stops (0: only record them);
    ``direction`` which crossings count (+1 rising, -1 falling, 0 both)."""

    kind: str
    value: float
    terminal: int = 1
    direction: int = 0


def _threshold(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise ValueError(f"{name}: value must be a finite real number, got {value!r}")
    return float(value)


def _terminal(terminal: object, where: str) -> int:
    """scipy's ``terminal``: a bool, or a count of occurrences (an int >= 0)."""
    if isinstance(terminal, (bool, np.bool_)):
        return int(bool(terminal))
    if isinstance(terminal, numbers.Integral) and int(terminal) >= 0:
        return int(terminal)
    raise ValueError(f"{where}: terminal must be a bool or an int >= 0, got {terminal!r}")


def _direction(direction: object, where: str) -> int:
    if isinstance(direction, bool) or not isinstance(direction, numbers.Real) or math.isnan(float(direction)):
        raise ValueError(f"{where}: direction must be a real number (its sign is used), got {direction!r}")
    return int(np.sign(float(direction)))


def loss_below(value: float, terminal: bool | int = True) -> Event:
    """Fires when the loss ``g = f(W_N ... W_1)`` falls to ``value`` (event ``g - value``, falling)."""
    return Event("loss_below", _threshold(value, "loss_below"), _terminal(terminal, "loss_below"), -1)


def grad_norm_below(value: float, terminal: bool | int = True) -> Event:
    """Fires when ``||grad g||_F`` falls to ``value`` (unlike ``gtol`` it may also be non-terminal)."""
    return Event("grad_norm_below", _threshold(value, "grad_norm_below"), _terminal(terminal, "grad_norm_below"), -1)


def invariant_drift_above(value: float, terminal: bool | int = True) -> Event:
    """Fires when ``max |C_i(t) - C_i(t0)|`` (definition 1) rises to ``value``: the integrator's error
    has moved the invariants that far (linear networks; with a positively homogeneous activation, on
    data too, the per-neuron invariants of `overflow.invariants`)."""
    return Event(
        "invariant_drift_above",
        _threshold(value, "invariant_drift_above"),
        _terminal(terminal, "invariant_drift_above"),
        1,
    )


_compiled: dict[tuple[Any, int], Any] = {}  # (function, state size) -> cfunc: compile each once

# Each run hands every user event a buffer of float64 (its ``data``): [0] 1 once the function has
# raised, [1] the t of that call, [2:] its y. Numba cannot carry the exception object out of
# compiled code, so the run stops on the NaN the event then returns and `raise_failure` calls the
# function again at that point to raise its own exception.
_HEADER = 2


def _compile(fun: Callable[..., Any], n: int) -> Any:
    key = (fun, n)
    if key in _compiled:
        return _compiled[key]
    name = callable_name(fun)
    if positional_arity(fun) != 2:
        raise TypeError(f"event {name!r} must take 2 positional parameters: event(t, y) -> float")
    disp = fun if isinstance(fun, numba.core.dispatcher.Dispatcher) else numba.njit(error_model="numpy")(fun)

    def event(t, y_, n_, data_):  # pragma: no cover - compiled by Numba
        y = numba.carray(y_, (n_,))
        record = numba.carray(data_, (_HEADER + n_,), np.float64)
        try:
            return float(disp(t, y))
        except Exception:
            record[0] = 1.0
            record[1] = t
            record[_HEADER:] = y
            return math.nan

    try:
        cf = numba.cfunc(EVENT_SIG, nopython=True, error_model="numpy")(event)
    except Exception as err:
        raise TypeError(
            f"event {name!r} cannot be compiled by Numba as event(t, y) -> float with y a 1-D "
            f"float64 array: {numba_error_summary(err)}"
        ) from None
    _compiled[key] = cf
    return cf


@dataclass
class _Record:
    """One run's buffer for the user event ``fun`` (index ``index`` in ``events``)."""

    fun: Callable[..., Any]
    index: int
    buffer: np.ndarray


def raise_failure(keep: Sequence[Any]) -> None:
    """Raise the exception a user event raised during the run whose `prepare` returned ``keep``
    (called again in Python at the recorded point, with a note saying where); returns if none did."""
    for rec in keep:
        if not isinstance(rec, _Record) or rec.buffer[0] == 0:
            continue
        t, y = float(rec.buffer[1]), rec.buffer[_HEADER:].copy()
        rec.buffer[0] = 0  # reported once: a Solver's later steps start clean
        name = callable_name(rec.fun)
        py = getattr(rec.fun, "py_func", rec.fun)
        try:
            py(t, y)
        except Exception as err:
            if hasattr(err, "add_note"):  # Python 3.11+
                err.add_note(f"raised by event {name!r} (events[{rec.index}]) at t = {t!r}")
            raise
        raise RuntimeError(
            f"event {name!r} (events[{rec.index}]) raised an exception in Numba-compiled code at "
            f"t = {t!r}, but not when called again in Python at the same point"
        )


@contextmanager
def reraising(keep: Sequence[Any]) -> Iterator[None]:
    """Around a core call: where the core stopped on a user event's NaN, raise the event's own
    exception instead (`raise_failure`)."""
    try:
        yield
    except (ValueError, RuntimeError):
        raise_failure(keep)
        raise


def _as_list(events: object) -> list[Any]:
    return list(events) if isinstance(events, (list, tuple)) else [events]


def prepare(events: object, n: int, network: Any = None) -> tuple[list[tuple], list[Any]]:
    """The core's event tuples ``(kind, address, value, direction, terminal, data)`` for ``events``
    (None, one event or a sequence) on a state of ``n`` entries, and the objects that must stay
    alive while the core runs (`raise_failure` reads them after it). ``network`` is the `Network`
    whose flow runs; None for a plain ODE (`solve_ivp`), where the built-ins, which read a gradient
    flow's loss, do not apply."""
    if events is None:
        return [], []
    out, keep = [], []
    for i, ev in enumerate(_as_list(events)):
        where = f"events[{i}]"
        if isinstance(ev, Event):
            if network is None:
                raise ValueError(
                    f"{where}: the built-ins (loss_below, ...) read a gradient flow's loss; solve_ivp "
                    "takes functions event(t, y) -> float"
                )
            # an Event built by hand rather than by loss_below & co.: the same rules as theirs
            if ev.kind not in _BUILTIN:
                raise ValueError(f"{where} must be one of overflow.events' built-ins {_BUILTIN}, got kind {ev.kind!r}")
            _threshold(ev.value, where)
            _terminal(ev.terminal, where)
            if isinstance(ev.direction, bool) or ev.direction not in (-1, 0, 1):
                raise ValueError(f"{where}: direction must be -1, 0 or 1, got {ev.direction!r}")
            if ev.kind == "invariant_drift_above" and not is_homogeneous(network.activation):
                raise ValueError(
                    f"{where}: invariant_drift_above needs a linear network or a positively homogeneous "
                    "activation (linear, relu, leaky_relu: the per-neuron invariants)"
                )
            out.append((ev.kind, 0, ev.value, ev.direction, ev.terminal, 0))
            continue
        if not callable(ev):
            raise TypeError(
                f"{where} must be an overflow.events built-in or a function event(t, y) -> float, "
                f"got {type(ev).__name__}"
            )
        # an event function's attribute set to None is False, as scipy reads it
        terminal = _terminal(getattr(ev, "terminal", None) or False, where)
        direction = _direction(getattr(ev, "direction", 0), where)
        cf = _compile(ev, n)
        record = _Record(ev, i, np.zeros(_HEADER + n))
        keep += [cf, record]
        out.append(("function", cf.address, 0.0, direction, terminal, record.buffer.ctypes.data))
    return out, keep


def describe(events: object) -> list[dict[str, Any]]:
    """JSON-able descriptions of ``events`` (a Monte Carlo run's parameters): a built-in by its kind
    and numbers, a function by its qualified name, source and attributes."""
    import hashlib
    import inspect

    out = []
    for ev in _as_list(events):
        if isinstance(ev, Event):
            out.append({"kind": ev.kind, "value": ev.value, "terminal": ev.terminal, "direction": ev.direction})
            continue
        fn = getattr(ev, "py_func", ev)
        try:
            source = hashlib.sha256(inspect.getsource(fn).encode()).hexdigest()
        except (OSError, TypeError):
            source = None
        out.append(
            {
                "kind": "function",
                "name": callable_name(ev),
                "source_sha256": source,
                "terminal": _terminal(getattr(ev, "terminal", None) or False, "event"),
                "direction": _direction(getattr(ev, "direction", 0), "event"),
            }
        )
    return out


def any_terminal(events: Sequence[tuple]) -> bool:
    return any(e[4] > 0 for e in events)
