"""`solve_ivp`'s right-hand sides compiled once per function: the Numba cfunc the core calls, its
cache, the ``args`` it reads from a per-call buffer, and the re-raise of an exception inside ``fun``.

One cfunc serves every call with the same function, the same form (in-place or returning), the
same kinds of ``args`` and the same state type (real, or complex): the state size, the ``args``
values and the error report all travel in the ``data`` buffer the core hands to every call
(``void* data`` of `RHS_SIG`), so nothing in the compiled code depends on them. The Jacobian
cfuncs of `overflow._jacobian_compile` get the same buffer. It is int64 words (float64 values
stored bit for bit), built by `make_buffer`::

    [0] error flag: 0 none, 1 fun raised, 2 fun returned the wrong length,
        3 jac raised, 4 jac returned the wrong shape
    [1] n, the length of y0 (complex entries for a complex state)
    [2] the length fun returned (flag 2), or the rows jac returned (flag 4)
    [3] t where fun or jac failed        [4] the columns jac returned (flag 4)
    [5] fun calls made by the Jacobian cfunc (finite differences, complex step): add to nfev
    [6] the buffer's size in words       [7] Y, where the failure's y starts
    [8] B, where the Jacobian block starts (0: none)
    [9 ...] the args: a real number in one word, a complex one in two (re, im); an array as its
            address and its shape (ndim words)
    [Y ... Y+2n) the core's state where fun or jac failed (n words, or 2n for a complex state;
                 2n words always, for the complex-step Jacobian's complex calls)
    [B ...] the Jacobian block (layout in `overflow._jacobian_compile`)

A complex state is the complex128 y viewed as float64 (2n words, re and im interleaved: numpy's
memory layout); ``fun`` sees the complex128 y and returns or fills complex dy.

Once the flag is set the cfuncs stop calling ``fun`` and return NaN, which the core rejects until
its step size underflows; `solve_ivp` then raises the recorded failure instead of that status.
"""

from __future__ import annotations

import math
import re
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

from .costs.base import callable_name, positional_arity

#: Numba signature of a right-hand side cfunc: ``void rhs(double t, const double* y, double* dy, void* data)``.
RHS_SIG = types.void(types.float64, types.CPointer(types.float64), types.CPointer(types.float64), types.voidptr)

FLAG_NONE, FLAG_RAISED, FLAG_LENGTH, FLAG_JAC_RAISED, FLAG_JAC_SHAPE = 0, 1, 2, 3, 4
# Header words (module docstring); the generated cfuncs index the buffer with these numbers.
FLAG, N, GOT_ROWS, T_FAIL, GOT_COLS, JAC_FUN_CALLS, SIZE, Y_AT, JAC_AT = range(9)
HEADER = 9

_FORMS = (
    "fun(t, y) -> dy, or fun(t, y, dy) -> None filling dy (with args=(a, b, ...): fun(t, y, a, b, ...) "
    "-> dy or fun(t, y, dy, a, b, ...) -> None), with y and dy 1-D float64 arrays"
)
_CHANGE = (
    "use numpy arrays, numbers and the numpy functions Numba supports only (no Python objects, "
    "dicts, classes or scipy calls), or pass a numba.cfunc"
)

_ARG_DTYPES = {
    np.dtype(d)
    for d in (
        "float64",
        "float32",
        "complex128",
        "complex64",
        "int64",
        "int32",
        "int16",
        "int8",
        "uint64",
        "uint32",
        "uint16",
        "uint8",
        "bool",
    )
}


@intrinsic
def _voidptr(typingctx, address):  # pragma: no cover - typed and lowered by Numba
    """An int64 address (an ``args`` array's, from the data buffer) as a ``void*`` for numba.carray."""
    if not isinstance(address, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return types.voidptr(address), codegen


# ---------------------------------------------------------------- Numba's errors, in a line


def numba_first_line(err: BaseException) -> str:
    """The line of a Numba compilation error that says what is wrong, with where it is when Numba
    tells it (its messages open with a pipeline header and continue with the source)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(err))
    lines = [line.strip() for line in text.splitlines()]
    what = next((line for line in lines if line and not line.startswith(("Failed in", "During:"))), "")
    where = next((m for m in (re.match(r'File "(.+)", line (\d+)', line) for line in lines) if m), None)
    summary = f"{type(err).__name__}: {what}" if what else type(err).__name__
    if where is not None:
        summary += f" (at {where.group(1).rsplit('/', 1)[-1]}, line {where.group(2)})"
    return summary


def compile_error(role: str, fn: Any, how: str, err: BaseException, change: str = _CHANGE) -> TypeError:
    """The TypeError for a ``role`` function (``fun``, ``jac``) that Numba cannot compile: its
    name, ``how`` it was compiled ("taken as ..."), Numba's first error line and what to change."""
    return TypeError(
        f"{role} {callable_name(fn)!r} cannot be compiled by Numba (nopython mode), {how}: "
        f"{numba_first_line(err)}. To fix: {change}"
    )


# ---------------------------------------------------------------- args: kinds and the data buffer


def arg_kinds(args: tuple) -> tuple[tuple, list[Any]]:
    """The compile-relevant kind of each of ``args`` (``("f8",)``, ``("c16",)``, ``("i8",)``,
    ``("b1",)`` for a number, ``("a", dtype, ndim)`` for an array) and the values as passed (arrays
    made C-contiguous)."""
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
        elif isinstance(a, (complex, np.complexfloating)):
            kinds.append(("c16",))
            values.append(complex(a))
        elif isinstance(a, np.ndarray) and a.dtype in _ARG_DTYPES and a.ndim >= 1:
            arr = np.ascontiguousarray(a)
            kinds.append(("a", arr.dtype.str, arr.ndim))
            values.append(arr)
        elif isinstance(a, np.ndarray) and a.ndim == 0 and a.dtype in _ARG_DTYPES:
            return arg_kinds(args[:i] + (a[()],) + args[i + 1 :])
        else:
            raise TypeError(
                f"{where} must be a number or a numpy array of a numeric dtype (what a Numba-compiled "
                f"fun can take), got {_describe(a)}"
            )
    return tuple(kinds), values


def _describe(value: object) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype} and shape {value.shape}"
    return type(value).__name__


def _words(kind: tuple) -> int:
    return 1 + kind[2] if kind[0] == "a" else 2 if kind[0] == "c16" else 1


def make_buffer(
    kinds: tuple,
    values: list[Any],
    n: int,
    *,
    complex_state: bool = False,
    jacobian: Any = None,
    fd_threshold: float = 1e-6,
) -> np.ndarray:
    """The data buffer for one run (layout in the module docstring), shared by the rhs cfunc and
    the Jacobian cfunc of ``jacobian`` (a `overflow._jacobian_compile.JacobianSource`, or None).

    ``n`` is the length of y0 (complex entries for a complex state). ``fd_threshold`` (> 0) is the
    smallest |y_j| that scales a finite-difference increment (scipy's ``num_jac`` uses atol). The
    buffer holds addresses of ``values``' arrays, which the caller keeps alive while the core runs;
    everything the Jacobian needs is copied into the buffer itself.
    """
    y_at = HEADER + sum(_words(k) for k in kinds)
    block = None
    if jacobian is not None:
        if jacobian.n != n or jacobian.complex_state != complex_state:
            raise ValueError(
                f"the Jacobian was compiled for n={jacobian.n}, complex_state={jacobian.complex_state}; "
                f"the buffer is for n={n}, complex_state={complex_state}"
            )
        if not (math.isfinite(fd_threshold) and fd_threshold > 0):
            raise ValueError(f"fd_threshold must be a finite number > 0, got {fd_threshold}")
        block = jacobian.block(float(fd_threshold))
    size = y_at + 2 * n + (0 if block is None else block.size)
    buf = np.zeros(size, dtype=np.int64)
    fbuf = buf.view(np.float64)
    buf[N], buf[SIZE], buf[Y_AT] = n, size, y_at
    at = HEADER
    for kind, value in zip(kinds, values):
        if kind[0] == "f8":
            fbuf[at] = value
        elif kind[0] == "c16":
            fbuf[at], fbuf[at + 1] = value.real, value.imag
        elif kind[0] == "a":
            buf[at] = value.ctypes.data
            buf[at + 1 : at + 1 + value.ndim] = value.shape
        else:
            buf[at] = int(value)
        at += _words(kind)
    if block is not None:
        buf[JAC_AT] = y_at + 2 * n
        buf[y_at + 2 * n :] = block
    return buf


def jacobian_fun_calls(buf: np.ndarray) -> int:
    """How many times the Jacobian cfunc called ``fun`` in the run that used ``buf`` (scipy counts
    these in ``nfev``)."""
    return int(buf[JAC_FUN_CALLS])


# ---------------------------------------------------------------- compiling


@dataclass(frozen=True)
class Compiled:
    """A compiled right-hand side: the cfunc the core calls and its form."""

    cfunc: Any
    inplace: bool  # fun(t, y, dy, *args) -> None, else fun(t, y, *args) -> dy
    complex_state: bool = False


_cache: weakref.WeakKeyDictionary[Any, dict[tuple, Compiled]] = weakref.WeakKeyDictionary()
_lock = threading.RLock()
#: Number of compilations so far (tests check that a second call reuses the cfunc).
compile_count = 0


def cached(cache: weakref.WeakKeyDictionary, owner: Any, key: tuple, make: Callable[[], Any]) -> Any:
    """``cache[owner][key]``, made by ``make()`` on the first call; an ``owner`` that cannot be
    weakly referenced is not cached (a new lambda each call compiles each time)."""
    with _lock:
        try:
            per_owner = cache.get(owner)
        except TypeError:
            per_owner = None
        if per_owner is not None and key in per_owner:
            return per_owner[key]
        value = make()
        try:
            cache.setdefault(owner, {})[key] = value
        except TypeError:
            pass
        return value


def compiled_rhs(fun: Callable[..., Any], kinds: tuple, complex_state: bool = False) -> Compiled:
    """The cfunc for ``fun`` with ``args`` of ``kinds``, compiled on the first call and cached while
    ``fun`` lives (keyed weakly by the function object: a new lambda each call compiles each time).

    With ``complex_state`` the core's state is the complex128 y viewed as float64 (2n words) and
    ``fun`` is compiled for complex128 y; it may return (or fill) complex or real dy.
    """
    return cached(_cache, fun, (kinds, bool(complex_state)), lambda: _compile(fun, kinds, bool(complex_state)))


def numba_type(kind: tuple) -> Any:
    """The Numba type of an argument of ``kind`` (`arg_kinds`)."""
    if kind[0] == "f8":
        return types.float64
    if kind[0] == "c16":
        return types.complex128
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


def dispatcher(fun: Callable[..., Any]) -> Any:
    """``fun`` as a Numba dispatcher: itself, or a new njit of a plain function (not cached: the
    dispatcher holds the function strongly and cannot be freed in a cycle with it)."""
    if isinstance(fun, numba.core.dispatcher.Dispatcher):
        return fun
    return numba.njit(error_model="numpy")(fun)


def fun_form(fun: Callable[..., Any], kinds: tuple) -> bool:
    """Whether ``fun`` takes the in-place form (``3 + len(kinds)`` positional parameters) rather
    than the returning one (``2 + len(kinds)``); a TypeError names anything else."""
    if not callable(fun):
        raise TypeError(f"fun must be callable: {_FORMS}; got {type(fun).__name__}")
    k = len(kinds)
    arity = positional_arity(fun)
    if arity not in (2 + k, 3 + k):
        extra = f" and {k} for args" if k else ""
        got = "*args, **kwargs or required keyword-only parameters" if arity is None else f"{arity}"
        raise TypeError(
            f"fun {callable_name(fun)!r} must take {2 + k} or {3 + k} positional parameters "
            f"(t, y[, dy]{extra}), got {got}: {_FORMS}"
        )
    return arity == 3 + k


def fun_argtypes(kinds: tuple, inplace: bool, complex_y: bool) -> tuple:
    """The Numba types ``fun`` is compiled for: t, y (and dy) as 1-D float64 or complex128 arrays, the args."""
    vec = types.Array(types.complex128 if complex_y else types.float64, 1, "C")
    head = (types.float64, vec, vec) if inplace else (types.float64, vec)
    return (*head, *map(numba_type, kinds))


def return_type(disp: Any, argtypes: tuple) -> Any:
    """``disp``'s return type for ``argtypes`` (compiling it; Numba's error propagates), or None
    where the dispatcher may not compile (explicit signatures: the cfunc resolves the overload)."""
    if not getattr(disp, "_can_compile", True):
        return None
    disp.compile(argtypes)
    cres = disp.overloads.get(tuple(argtypes))
    return None if cres is None else cres.signature.return_type


def _compile(fun: Callable[..., Any], kinds: tuple, complex_state: bool) -> Compiled:
    global compile_count
    inplace = fun_form(fun, kinds)
    name = callable_name(fun)
    k = len(kinds)
    disp = dispatcher(fun)
    form = (
        f"taken as the in-place form fun(t, y, dy{', *args' if k else ''}) -> None"
        if inplace
        else f"taken as fun(t, y{', *args' if k else ''}) -> dy"
    )
    form += f" ({positional_arity(fun)} positional parameters with {k} args"
    form += ", y complex128)" if complex_state else ")"
    try:
        ret = return_type(disp, fun_argtypes(kinds, inplace, complex_state))
    except Exception as err:
        raise compile_error("fun", fun, form, err) from None
    _check_return(ret, inplace, k, name, complex_state)

    ns: dict[str, Any] = {"numba": numba, "np": np, "_voidptr": _voidptr, "disp": disp, "nan": math.nan}
    arg_lines, call_args = args_source(kinds, ns)
    m = "2 * n" if complex_state else "n"
    view = ".view(np.complex128)" if complex_state else ""
    src = "\n".join(
        [
            "def rhs(t, y_, dy_, data_):",
            *("    " + line for line in buffer_source()),
            f"    dy = numba.carray(dy_, ({m},))",
            "    if d[0] != 0:",  # fun failed earlier: no more calls, NaN until the core gives up
            "        dy[:] = nan",
            "        return",
            f"    y = numba.carray(y_, ({m},))",
            *("    " + line for line in arg_lines),
            *("    " + line for line in call_source(ret, inplace, call_args, f"y{view}", f"dy{view}")),
            "    if d[0] != 0:",
            *("        " + line for line in failure_source("y")),
            "        dy[:] = nan",
        ]
    )
    exec(compile(src, f"<solve_ivp rhs for {name}>", "exec"), ns)
    try:
        cf = numba.cfunc(RHS_SIG, nopython=True, error_model="numpy")(ns["rhs"])
    except Exception as err:
        raise compile_error("fun", fun, f"as {_FORMS}", err) from None
    # The cache is keyed weakly by fun: the cfunc must not hold it (nor the dispatcher, which holds it).
    del ns["disp"]
    compile_count += 1
    return Compiled(cf, inplace, complex_state)


# ---------------------------------------------------------------- source shared with the Jacobian cfuncs


def buffer_source() -> list[str]:
    """Lines that view the ``data_`` buffer as int64 ``d`` and float64 ``fd`` and read ``n``."""
    return [
        f"d = numba.carray(data_, ({HEADER},), np.int64)",
        f"d = numba.carray(data_, (d[{SIZE}],), np.int64)",
        "fd = numba.carray(data_, (d.size,), np.float64)",
        f"n = d[{N}]",
    ]


def args_source(kinds: tuple, ns: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Lines that read the args ``a0, a1, ...`` from the buffer, and their names."""
    lines, names, at = [], [], HEADER
    for i, kind in enumerate(kinds):
        if kind[0] == "f8":
            lines.append(f"a{i} = fd[{at}]")
        elif kind[0] == "c16":
            lines.append(f"a{i} = complex(fd[{at}], fd[{at + 1}])")
        elif kind[0] == "i8":
            lines.append(f"a{i} = d[{at}]")
        elif kind[0] == "b1":
            lines.append(f"a{i} = d[{at}] != 0")
        else:
            ns[f"dt{i}"] = np.dtype(kind[1])
            shape = ", ".join(f"d[{at + 1 + j}]" for j in range(kind[2]))
            lines.append(f"a{i} = numba.carray(_voidptr(d[{at}]), ({shape},), dt{i})")
        names.append(f"a{i}")
        at += _words(kind)
    return lines, names


def call_source(ret: Any, inplace: bool, call_args: list[str], y: str, dy: str) -> list[str]:
    """Lines that call ``disp`` (fun) at ``y`` and leave its result in ``dy``; flag 1 when it
    raises, flag 2 (and the length it returned) when the length is not ``n``."""
    rest = "".join(", " + a for a in call_args)
    body = [f"disp(t, {y}, {dy}{rest})"] if inplace else [f"r = disp(t, {y}{rest})", *_store_result(ret, dy)]
    return ["try:", *("    " + line for line in body), "except Exception:", f"    d[{FLAG}] = {FLAG_RAISED}"]


def failure_source(y: str) -> list[str]:
    """Lines that record where a call failed: t, and the core's state ``y`` (float64)."""
    return [f"fd[{T_FAIL}] = t", f"fd[d[{Y_AT}] : d[{Y_AT}] + {y}.size] = {y}"]


def _check_return(ret: Any, inplace: bool, k: int, name: str, complex_state: bool) -> None:
    if ret is None:
        return
    if _is_complex(ret) and not complex_state:
        raise TypeError(
            f"fun {name!r} returns complex values ({ret}) for a real y0: pass a complex y0 to integrate complex states"
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
    raise TypeError(f"fun {name!r} returns {ret}: it must return a 1-D array, list or tuple of numbers")


def _store_result(ret: Any, dy: str) -> list[str]:
    """Lines that check fun's result ``r`` against n and copy it into ``dy`` (flag 2 on a wrong length)."""
    fail = [f"    d[{FLAG}] = {FLAG_LENGTH}"]
    if isinstance(ret, (types.Number, types.Boolean)):
        return ["if n != 1:", *fail, f"    d[{GOT_ROWS}] = 1", "else:", f"    {dy}[0] = r"]
    if isinstance(ret, types.BaseTuple):
        count = len(ret.types)
        return [
            f"if n != {count}:",
            *fail,
            f"    d[{GOT_ROWS}] = {count}",
            "else:",
            *(f"    {dy}[{i}] = r[{i}]" for i in range(count)),
        ]
    return [
        "if len(r) != n:",
        *fail,
        f"    d[{GOT_ROWS}] = len(r)",
        "else:",
        "    for i_ in range(n):",
        f"        {dy}[i_] = r[i_]",
    ]


# ---------------------------------------------------------------- the failure, re-raised


def raise_failure(
    fun: Callable[..., Any], buf: np.ndarray, comp: Compiled, args: list[Any], *, jacobian: Any = None
) -> None:
    """Raise what the run's buffer records: fun's (or jac's, with ``jacobian`` the run's
    `overflow._jacobian_compile.JacobianSource`) own exception, called again at the recorded point
    in Python first, then compiled; or the wrong length or shape it returned. Returns if none."""
    flag = int(buf[FLAG])
    if flag == FLAG_NONE:
        return
    n = int(buf[N])
    if flag == FLAG_LENGTH:
        raise ValueError(
            f"fun {callable_name(fun)!r} returned {int(buf[GOT_ROWS])} values, expected {n} (the length of y0)"
        )
    user_jac = getattr(jacobian, "jac", None)
    if flag == FLAG_JAC_SHAPE:
        raise ValueError(
            f"jac {callable_name(user_jac)!r} returned an array of shape ({int(buf[GOT_ROWS])}, "
            f"{int(buf[GOT_COLS])}), expected ({n}, {n}) (n = the length of y0)"
        )
    fbuf = buf.view(np.float64)
    t = float(fbuf[T_FAIL])
    y_at = int(buf[Y_AT])
    y = fbuf[y_at : y_at + (2 * n if comp.complex_state else n)].copy()
    if comp.complex_state:
        y = y.view(np.complex128)
    if flag == FLAG_JAC_RAISED and user_jac is not None:
        _raise_again("jac", user_jac, jacobian.inplace, t, y, (n, n), args)
    elif flag == FLAG_RAISED:
        _raise_again("fun", fun, comp.inplace, t, y, (n,), args)
    raise RuntimeError(
        f"{'jac' if flag == FLAG_JAC_RAISED else 'fun'} raised an exception in Numba-compiled code at t = {t!r}, "
        "but not when called again at the same point"
    )


def _raise_again(role: str, fn: Callable[..., Any], inplace: bool, t: float, y: np.ndarray, out: tuple, args) -> None:
    note = f"raised by {role} {callable_name(fn)!r} at t = {t!r} during solve_ivp"
    py = getattr(fn, "py_func", fn)
    tries = [py] + ([fn] if fn is not py else [numba.njit(error_model="numpy")(py)])
    for f in tries:  # Python's own exception first: its message is the one the user wrote
        call = (t, y.copy(), np.zeros(out, y.dtype), *args) if inplace else (t, y.copy(), *args)
        try:
            f(*call)
        except Exception as err:
            if hasattr(err, "add_note"):  # Python 3.11+
                err.add_note(note)
            raise
