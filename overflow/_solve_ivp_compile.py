"""`solve_ivp`'s right-hand sides compiled once per function: the Numba cfunc the core calls, its
cache, the ``args`` it reads from a per-call buffer, and the re-raise of an exception inside ``fun``.

One cfunc serves every call with the same function, the same form (in-place or returning) and the
same kinds of ``args``: the state size, the ``args`` values and the error report all travel in the
``data`` buffer the core hands to every call (``void* data`` of `RHS_SIG`), so nothing in the
compiled code depends on them. The buffer is int64 words (float64 values stored bit for bit)::

    [0] error flag: 0 none, 1 fun raised, 2 fun returned the wrong length
    [1] n, the state size          [2] the length fun returned (flag 2)
    [3] t where fun failed         [4 ...] the args: a number in one word; an array as its
                                   address and its shape (ndim words)
    [Y ... Y+n) y where fun failed (Y = 4 + the args' words)

Once the flag is set the cfunc stops calling ``fun`` and returns NaN, which the core rejects until
its step size underflows; `solve_ivp` then raises the recorded failure instead of that status.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .costs.base import callable_name, numba_error_summary, positional_arity

#: Numba signature of a right-hand side cfunc: ``void rhs(double t, const double* y, double* dy, void* data)``.
RHS_SIG = types.void(types.float64, types.CPointer(types.float64), types.CPointer(types.float64), types.voidptr)

FLAG_NONE, FLAG_RAISED, FLAG_LENGTH = 0, 1, 2
_HEADER = 4  # words before the args: flag, n, returned length, t of the failure

_FORMS = (
    "fun(t, y) -> dy, or fun(t, y, dy) -> None filling dy (with args=(a, b, ...): fun(t, y, a, b, ...) "
    "-> dy or fun(t, y, dy, a, b, ...) -> None), with y and dy 1-D float64 arrays"
)

_ARG_DTYPES = {
    np.dtype(d)
    for d in ("float64", "float32", "int64", "int32", "int16", "int8", "uint64", "uint32", "uint16", "uint8", "bool")
}


@intrinsic
def _voidptr(typingctx, address):  # pragma: no cover - typed and lowered by Numba
    """An int64 address (an ``args`` array's, from the data buffer) as a ``void*`` for numba.carray."""
    if not isinstance(address, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return types.voidptr(address), codegen


# ---------------------------------------------------------------- args: kinds and the data buffer


def arg_kinds(args: tuple) -> tuple[tuple, list[Any]]:
    """The compile-relevant kind of each of ``args`` (``("f8",)``, ``("i8",)``, ``("b1",)`` for a
    number, ``("a", dtype, ndim)`` for an array) and the values as passed (arrays made C-contiguous)."""
    kinds, values = [], []
    for i, a in enumerate(args):
        where = f"args[{i}]"
        if isinstance(a, (bool, np.bool_)):
            kinds.append(("b1",))
            values.append(bool(a))
        elif isinstance(a, (int, np.integer)):
            if not -(2**63) <= int(a) < 2**63:
                raise ValueError(f"{where} must fit in int64 (fun is compiled by Numba), got {a}")
            kinds.append(("i8",))
            values.append(int(a))
        elif isinstance(a, (float, np.floating)):
            kinds.append(("f8",))
            values.append(float(a))
        elif isinstance(a, (complex, np.complexfloating)) or (isinstance(a, np.ndarray) and a.dtype.kind == "c"):
            raise TypeError(f"{where} is complex: complex values are not supported by solve_ivp yet")
        elif isinstance(a, np.ndarray) and a.dtype in _ARG_DTYPES and a.ndim >= 1:
            arr = np.ascontiguousarray(a)
            kinds.append(("a", arr.dtype.str, arr.ndim))
            values.append(arr)
        elif isinstance(a, np.ndarray) and a.ndim == 0 and a.dtype in _ARG_DTYPES:
            return arg_kinds(args[:i] + (a[()],) + args[i + 1 :])
        else:
            raise TypeError(
                f"{where} must be a real number or a numpy array of a real dtype (what a Numba-compiled "
                f"fun can take), got {_describe(a)}"
            )
    return tuple(kinds), values


def _describe(value: object) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype} and shape {value.shape}"
    return type(value).__name__


def _words(kind: tuple) -> int:
    return 1 if kind[0] != "a" else 1 + kind[2]


def make_buffer(kinds: tuple, values: list[Any], n: int) -> np.ndarray:
    """The data buffer for one run (layout in the module docstring); it holds addresses of
    ``values``' arrays, which the caller keeps alive while the core runs."""
    y_at = _HEADER + sum(_words(k) for k in kinds)
    buf = np.zeros(y_at + n, dtype=np.int64)
    fbuf = buf.view(np.float64)
    buf[1] = n
    at = _HEADER
    for kind, value in zip(kinds, values):
        if kind[0] == "f8":
            fbuf[at] = value
        elif kind[0] == "a":
            buf[at] = value.ctypes.data
            buf[at + 1 : at + 1 + value.ndim] = value.shape
        else:
            buf[at] = int(value)
        at += _words(kind)
    return buf


# ---------------------------------------------------------------- compiling


@dataclass(frozen=True)
class Compiled:
    """A compiled right-hand side: the cfunc the core calls and its form."""

    cfunc: Any
    inplace: bool  # fun(t, y, dy, *args) -> None, else fun(t, y, *args) -> dy


_cache: weakref.WeakKeyDictionary[Any, dict[tuple, Compiled]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()
#: Number of compilations so far (tests check that a second call reuses the cfunc).
compile_count = 0


def compiled_rhs(fun: Callable[..., Any], kinds: tuple) -> Compiled:
    """The cfunc for ``fun`` with ``args`` of ``kinds``, compiled on the first call and cached while
    ``fun`` lives (keyed weakly by the function object: a new lambda each call compiles each time)."""
    key = kinds
    with _lock:
        try:
            per_fun = _cache.get(fun)
        except TypeError:  # not weakly referenceable: compile every time
            per_fun = None
        if per_fun is not None and key in per_fun:
            return per_fun[key]
        comp = _compile(fun, kinds)
        try:
            _cache.setdefault(fun, {})[key] = comp
        except TypeError:
            pass
        return comp


def _numba_type(kind: tuple) -> Any:
    if kind[0] == "f8":
        return types.float64
    if kind[0] == "i8":
        return types.int64
    if kind[0] == "b1":
        return types.boolean
    return types.Array(numba.from_dtype(np.dtype(kind[1])), kind[2], "C")


def _is_complex(ty: Any) -> bool:
    if isinstance(ty, types.Complex):
        return True
    if isinstance(ty, types.Array):
        return isinstance(ty.dtype, types.Complex)
    if isinstance(ty, (types.BaseTuple,)):
        return any(_is_complex(t) for t in ty.types)
    if isinstance(ty, types.List):
        return _is_complex(ty.dtype)
    return False


def _compile(fun: Callable[..., Any], kinds: tuple) -> Compiled:
    global compile_count
    if not callable(fun):
        raise TypeError(f"fun must be callable: {_FORMS}; got {type(fun).__name__}")
    name = callable_name(fun)
    k = len(kinds)
    arity = positional_arity(fun)
    if arity not in (2 + k, 3 + k):
        extra = f" and {k} for args" if k else ""
        got = "*args, **kwargs or required keyword-only parameters" if arity is None else f"{arity}"
        raise TypeError(
            f"fun {name!r} must take {2 + k} or {3 + k} positional parameters (t, y[, dy]{extra}), got {got}: {_FORMS}"
        )
    inplace = arity == 3 + k
    disp = fun if isinstance(fun, numba.core.dispatcher.Dispatcher) else numba.njit(error_model="numpy")(fun)
    vec = types.Array(types.float64, 1, "C")
    argtypes = (
        (types.float64, vec, vec, *map(_numba_type, kinds))
        if inplace
        else (types.float64, vec, *map(_numba_type, kinds))
    )
    form = (
        f"taken as the in-place form fun(t, y, dy{', *args' if k else ''}) -> None"
        if inplace
        else f"taken as fun(t, y{', *args' if k else ''}) -> dy"
    )
    form += f": {arity} positional parameters with {k} args"
    ret = _return_type(disp, argtypes, name, form)
    _check_return(ret, inplace, k, name)

    # Source of the cfunc: the args read from the buffer, fun called in a try, its result checked.
    lines, call_args, at = [], [], _HEADER
    ns: dict[str, Any] = {"numba": numba, "np": np, "_voidptr": _voidptr, "disp": disp, "nan": math.nan}
    for i, kind in enumerate(kinds):
        if kind[0] == "f8":
            lines.append(f"a{i} = fd[{at}]")
        elif kind[0] == "i8":
            lines.append(f"a{i} = d[{at}]")
        elif kind[0] == "b1":
            lines.append(f"a{i} = d[{at}] != 0")
        else:
            ns[f"dt{i}"] = np.dtype(kind[1])
            shape = ", ".join(f"d[{at + 1 + j}]" for j in range(kind[2]))
            lines.append(f"a{i} = numba.carray(_voidptr(d[{at}]), ({shape},), dt{i})")
        call_args.append(f"a{i}")
        at += _words(kind)
    y_at = at
    rest = "".join(", " + a for a in call_args)
    if inplace:
        body = [f"disp(t, y, dy{rest})"]
    else:
        body = [f"r = disp(t, y{rest})", *_store_result(ret)]
    src = "\n".join(
        [
            "def rhs(t, y_, dy_, data_):",
            "    d = numba.carray(data_, (2,), np.int64)",
            "    n = d[1]",
            f"    d = numba.carray(data_, ({y_at} + n,), np.int64)",
            "    fd = numba.carray(data_, (d.size,), np.float64)",
            "    dy = numba.carray(dy_, (n,))",
            "    if d[0] != 0:",  # fun failed earlier: no more calls, NaN until the core gives up
            "        dy[:] = nan",
            "        return",
            "    y = numba.carray(y_, (n,))",
            *("    " + line for line in lines),
            "    try:",
            *("        " + line for line in body),
            "    except Exception:",
            "        d[0] = 1",
            "    if d[0] != 0:",
            "        fd[3] = t",
            f"        fd[{y_at}:{y_at} + n] = y",
            "        dy[:] = nan",
        ]
    )
    exec(compile(src, f"<solve_ivp rhs for {name}>", "exec"), ns)
    try:
        cf = numba.cfunc(RHS_SIG, nopython=True, error_model="numpy")(ns["rhs"])
    except Exception as err:
        raise TypeError(f"fun {name!r} cannot be compiled by Numba as {_FORMS}: {numba_error_summary(err)}") from None
    # The cache is keyed weakly by fun: the cfunc must not hold it (nor the dispatcher, which holds it).
    del ns["disp"]
    compile_count += 1
    return Compiled(cf, inplace)


def _return_type(disp: Any, argtypes: tuple, name: str, form: str) -> Any:
    """``fun``'s return type for ``argtypes`` (compiling it), or None where the dispatcher may not compile."""
    if not getattr(disp, "_can_compile", True):
        return None
    try:
        disp.compile(argtypes)
    except Exception as err:
        raise TypeError(f"fun {name!r} ({form}) cannot be compiled by Numba: {numba_error_summary(err)}") from None
    cres = disp.overloads.get(tuple(argtypes))
    return None if cres is None else cres.signature.return_type


def _check_return(ret: Any, inplace: bool, k: int, name: str) -> None:
    if ret is None:
        return
    if _is_complex(ret):
        raise TypeError(
            f"fun {name!r} returns complex values ({ret}): complex states are not supported by solve_ivp yet"
        )
    if inplace:
        if ret != types.none:
            hint = (
                "pass the extra parameter with args=(a,) to call fun(t, y, a) -> dy"
                if k == 0
                else f"with args of length {k}, fun(t, y, *args) returns dy"
            )
            raise TypeError(
                f"fun {name!r} takes {3 + k} positional parameters, so it is taken as the in-place form "
                f"fun(t, y, dy{', *args' if k else ''}) that fills dy and returns None, but it returns {ret}: {hint}"
            )
        return
    if ret == types.none:
        raise TypeError(
            f"fun {name!r} returns None: with {2 + k} positional parameters it must return dy "
            f"(the in-place form fun(t, y, dy{', *args' if k else ''}) takes dy third)"
        )
    if isinstance(ret, types.Array) and ret.ndim != 1:
        raise TypeError(f"fun {name!r} returns a {ret.ndim}-D array: it must return a 1-D array of the length of y0")
    if isinstance(ret, (types.Array, types.BaseTuple, types.List, types.Number, types.Boolean)):
        return
    raise TypeError(f"fun {name!r} returns {ret}: it must return a 1-D array, list or tuple of real numbers")


def _store_result(ret: Any) -> list[str]:
    """Lines that check fun's result ``r`` against n and copy it into dy (flag 2 on a wrong length)."""
    if isinstance(ret, (types.Number, types.Boolean)):
        return ["if n != 1:", "    d[0] = 2", "    d[2] = 1", "else:", "    dy[0] = r"]
    if isinstance(ret, types.BaseTuple):
        count = len(ret.types)
        return [
            f"if n != {count}:",
            "    d[0] = 2",
            f"    d[2] = {count}",
            "else:",
            *(f"    dy[{i}] = r[{i}]" for i in range(count)),
        ]
    return [
        "if len(r) != n:",
        "    d[0] = 2",
        "    d[2] = len(r)",
        "else:",
        "    for i in range(n):",
        "        dy[i] = r[i]",
    ]


# ---------------------------------------------------------------- the failure, re-raised


def raise_failure(fun: Callable[..., Any], buf: np.ndarray, comp: Compiled, args: list[Any]) -> None:
    """Raise what the run's buffer records: fun's own exception (called again at the recorded
    point, in Python first, then compiled) or the wrong length it returned. Returns if none."""
    flag = int(buf[0])
    if flag == FLAG_NONE:
        return
    n = int(buf[1])
    if flag == FLAG_LENGTH:
        raise ValueError(f"fun {callable_name(fun)!r} returned {int(buf[2])} values, expected {n} (the length of y0)")
    fbuf = buf.view(np.float64)
    t = float(fbuf[3])
    y = fbuf[buf.size - n :].copy()
    note = f"raised by fun {callable_name(fun)!r} at t = {t!r} during solve_ivp"
    py = getattr(fun, "py_func", fun)
    tries = [py] + ([fun] if fun is not py else [numba.njit(error_model="numpy")(py)])
    for f in tries:  # Python's own exception first: its message is the one the user wrote
        call = (t, y.copy(), np.zeros(n), *args) if comp.inplace else (t, y.copy(), *args)
        try:
            f(*call)
        except Exception as err:
            if hasattr(err, "add_note"):  # Python 3.11+
                err.add_note(note)
            raise
    raise RuntimeError(
        f"fun {callable_name(fun)!r} raised an exception in Numba-compiled code at t = {t!r}, "
        "but not when called again at the same point"
    )
