"""`solve_ivp`'s Jacobians as cfuncs the core calls: ``jac(t, y, J, data)`` with `RHS_SIG`, writing
J = d(dy)/d(y) of the core's state column-major (``J[i + j*m] = df_i/dy_j``, ``m = n``, or ``2n``
for a complex state: the (re, im) pairs of `overflow._solve_ivp_compile`), and reading the same
data buffer as the right-hand side (`make_buffer`). Four kinds:

- ``user``: ``jac(t, y, *args) -> (n, n)`` or ``jac(t, y, J, *args)`` filling J, compiled by Numba
  (or a numba.cfunc with `RHS_SIG`); a complex J of a complex state becomes the real 2n x 2n
  ``[[Re J, -Im J], [Im J, Re J]]`` per entry;
- ``constant``: an (n, n) array or scipy.sparse matrix, copied into the buffer;
- ``complex-step``: ``J e_j = Im f(t, y + i h e_j) / h`` (real states where ``fun`` is analytic:
  it compiles for complex y and agrees with central differences at y0);
- ``finite-difference``: forward differences as scipy's ``num_jac`` (increment sqrt(eps) times
  max(|y_j|, threshold), signed like f_j), ``fun``'s other cases.

The last two call the right-hand side's own cfunc through its address (the complex-state one for
the complex step), so they are compiled once per process, not per function, and ``fun``'s errors
are recorded exactly as in a right-hand side call. With ``jac_sparsity`` they perturb groups of
columns with no common row (Curtis-Powell-Reid, as scipy's ``group_columns``) and write zeros
outside the pattern.

The Jacobian block of the buffer (at B = buffer word 8) is int64 words, floats bit for bit::

    [B]   the rhs cfunc's address (finite differences, complex step; 0 otherwise)
    [B+1] m, the core's state size     [B+2] the finite-difference threshold (float64)
    [B+3] the number of column groups (0: one column at a time)
    [B+4 ...] constant: J, m*m float64 column-major;
              grouped: group_ptr (groups+1), the columns by group (m), the pattern's CSC
              column pointers (m+1) and row indices (nnz)
"""

from __future__ import annotations

import ctypes
import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.core.ccallback import CFunc
from numba.extending import intrinsic

from . import _solve_ivp_compile as rc
from .costs.base import callable_name, positional_arity

KINDS = ("user", "constant", "complex-step", "finite-difference")
_SQRT_EPS = math.sqrt(np.finfo(float).eps)
_CS_STEP = 1e-100  # complex-step increment relative to max(|y_j|, 1): no cancellation, so any tiny h works
_JAC_FORMS = (
    "jac(t, y) -> J, an (n, n) numpy array, or jac(t, y, J) -> None filling J (with args: "
    "jac(t, y, *args) or jac(t, y, J, *args))"
)
_JAC_CHANGE = (
    "use numpy arrays, numbers and the numpy functions Numba supports only (no Python objects, dicts, "
    "classes, scipy calls or sparse matrices), or pass jac=None (the Jacobian is then computed inside Numba) "
    "or a constant (n, n) array"
)
_RHS_ADDR, _DIM, _THRESHOLD, _GROUPS, _PAYLOAD = range(5)

#: Number of Jacobian cfunc compilations so far (tests check the caches).
compile_count = 0


# ---------------------------------------------------------------- calling a cfunc by its address


@intrinsic
def _call_rhs(typingctx, address, t, y, dy, data):  # pragma: no cover - typed and lowered by Numba
    """Call the `RHS_SIG` function at the int64 ``address`` with int64 addresses of y, dy and data."""
    if not all(isinstance(a, types.Integer) for a in (address, y, dy, data)):
        return None

    def codegen(context, builder, sig, args):
        ptr = ir.DoubleType().as_pointer()
        fnty = ir.FunctionType(ir.VoidType(), [ir.DoubleType(), ptr, ptr, cgutils.voidptr_t])
        fn = builder.inttoptr(args[0], fnty.as_pointer())
        builder.call(
            fn,
            [
                context.cast(builder, args[1], sig.args[1], types.float64),
                builder.inttoptr(args[2], ptr),
                builder.inttoptr(args[3], ptr),
                builder.inttoptr(args[4], cgutils.voidptr_t),
            ],
        )
        return context.get_dummy_value()

    return types.void(address, types.float64, y, dy, data), codegen


_PROTO = ctypes.CFUNCTYPE(None, ctypes.c_double, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)


def call_address(address: int, t: float, y: np.ndarray, out: np.ndarray, buf: np.ndarray) -> None:
    """Call the `RHS_SIG` cfunc at ``address`` from Python: ``out`` (float64 or complex128, C order)
    receives dy, or J column-major (pass ``out`` in Fortran order to read J[i, j])."""
    _PROTO(address)(float(t), y.ctypes.data, out.ctypes.data, buf.ctypes.data)


# ---------------------------------------------------------------- the generic cfuncs


def _fd_jacobian(t, y_, J_, data_):  # pragma: no cover - compiled by Numba
    d = numba.carray(data_, (rc.HEADER,), np.int64)
    d = numba.carray(data_, (d[rc.SIZE],), np.int64)
    fd = numba.carray(data_, (d.size,), np.float64)
    b = d[rc.JAC_AT]
    m = d[b + _DIM]
    J = numba.carray(J_, (m * m,))
    if d[rc.FLAG] != 0:
        J[:] = np.nan
        return
    y = numba.carray(y_, (m,))
    rhs, thr, groups = d[b + _RHS_ADDR], fd[b + _THRESHOLD], d[b + _GROUPS]
    z, f0, f1 = y.copy(), np.empty(m), np.empty(m)
    _call_rhs(rhs, t, z.ctypes.data, f0.ctypes.data, d.ctypes.data)
    d[rc.JAC_FUN_CALLS] += 1
    if d[rc.FLAG] != 0:
        J[:] = np.nan
        return
    h = np.empty(m)
    for j in range(m):
        s = max(abs(y[j]), thr)
        h[j] = (y[j] + _SQRT_EPS * (s if f0[j] >= 0 else -s)) - y[j]  # exact in floating point
    gp, gc, ip, ix = _group_offsets(b, m, groups)
    for g in range(groups if groups else m):
        lo, hi = (d[gp + g], d[gp + g + 1]) if groups else (g, g + 1)
        for k in range(lo, hi):
            j = d[gc + k] if groups else k
            z[j] = y[j] + h[j]
        _call_rhs(rhs, t, z.ctypes.data, f1.ctypes.data, d.ctypes.data)
        d[rc.JAC_FUN_CALLS] += 1
        if d[rc.FLAG] != 0:
            J[:] = np.nan
            return
        for k in range(lo, hi):
            j = d[gc + k] if groups else k
            z[j] = y[j]
            _scatter(J, m, j, d, ip, ix, groups, f1, f0, h[j], False)


def _cs_jacobian(t, y_, J_, data_):  # pragma: no cover - compiled by Numba
    d = numba.carray(data_, (rc.HEADER,), np.int64)
    d = numba.carray(data_, (d[rc.SIZE],), np.int64)
    fd = numba.carray(data_, (d.size,), np.float64)
    b = d[rc.JAC_AT]
    m = d[b + _DIM]
    J = numba.carray(J_, (m * m,))
    if d[rc.FLAG] != 0:
        J[:] = np.nan
        return
    y = numba.carray(y_, (m,))
    rhs, groups = d[b + _RHS_ADDR], d[b + _GROUPS]
    z, f1 = y.astype(np.complex128), np.empty(m, np.complex128)
    f0 = np.zeros(m)
    h = np.empty(m)
    for j in range(m):
        h[j] = _CS_STEP * max(abs(y[j]), 1.0)
    gp, gc, ip, ix = _group_offsets(b, m, groups)
    for g in range(groups if groups else m):
        lo, hi = (d[gp + g], d[gp + g + 1]) if groups else (g, g + 1)
        for k in range(lo, hi):
            j = d[gc + k] if groups else k
            z[j] = complex(y[j], h[j])
        _call_rhs(rhs, t, z.ctypes.data, f1.ctypes.data, d.ctypes.data)
        d[rc.JAC_FUN_CALLS] += 1
        if d[rc.FLAG] != 0:
            fd[d[rc.Y_AT] : d[rc.Y_AT] + m] = y  # the complex call recorded y + i h e_j as pairs
            J[:] = np.nan
            return
        for k in range(lo, hi):
            j = d[gc + k] if groups else k
            z[j] = y[j]
            _scatter(J, m, j, d, ip, ix, groups, f1.imag, f0, h[j], True)


@numba.njit(cache=False)
def _group_offsets(b, m, groups):  # pragma: no cover - compiled by Numba
    gp = b + _PAYLOAD
    gc = gp + groups + 1
    ip = gc + m
    return gp, gc, ip, ip + m + 1


@numba.njit(cache=False)
def _scatter(J, m, j, d, ip, ix, groups, f1, f0, h, zero_first):  # pragma: no cover - compiled by Numba
    """Column j of J from the difference f1 - f0 over h: every row, or the pattern's rows (zeros
    elsewhere) when the columns are grouped."""
    if groups == 0:
        for i in range(m):
            J[i + j * m] = (f1[i] - f0[i]) / h
        return
    J[j * m : (j + 1) * m] = 0.0
    for p in range(d[ip + j], d[ip + j + 1]):
        i = d[ix + p]
        J[i + j * m] = (f1[i] - f0[i]) / h


def _constant_jacobian(t, y_, J_, data_):  # pragma: no cover - compiled by Numba
    d = numba.carray(data_, (rc.HEADER,), np.int64)
    d = numba.carray(data_, (d[rc.SIZE],), np.int64)
    fd = numba.carray(data_, (d.size,), np.float64)
    b = d[rc.JAC_AT]
    m = d[b + _DIM]
    J = numba.carray(J_, (m * m,))
    J[:] = fd[b + _PAYLOAD : b + _PAYLOAD + m * m]


_generic: dict[str, Any] = {}


def _generic_cfunc(kind: str) -> Any:
    """The process-wide cfunc of ``kind`` ('finite-difference', 'complex-step', 'constant')."""
    global compile_count
    with rc._lock:
        if kind not in _generic:
            py = {"finite-difference": _fd_jacobian, "complex-step": _cs_jacobian, "constant": _constant_jacobian}
            _generic[kind] = numba.cfunc(rc.RHS_SIG, nopython=True, error_model="numpy")(py[kind])
            compile_count += 1
        return _generic[kind]


# ---------------------------------------------------------------- what compiled_jacobian returns


@dataclass(frozen=True)
class Grouping:
    """Columns in groups with no common row, and the pattern (CSC) each column writes."""

    group_ptr: np.ndarray  # (groups + 1,) offsets into cols
    cols: np.ndarray  # (m,) the columns, group by group
    indptr: np.ndarray  # (m + 1,)
    indices: np.ndarray  # (nnz,)

    @property
    def count(self) -> int:
        return self.group_ptr.size - 1


@dataclass(frozen=True)
class JacobianSource:
    """A Jacobian the core can call: ``address`` (a `RHS_SIG` cfunc taking the rhs's data buffer)
    and what `make_buffer` copies into that buffer; it keeps its cfuncs alive."""

    kind: str
    n: int
    complex_state: bool
    address: int
    rhs_address: int = 0
    grouping: Grouping | None = None
    constant: np.ndarray | None = None  # (m, m) float64, the core's state
    jac: Any = None  # the user's jac (its exceptions are raised again from the buffer's record)
    inplace: bool = False
    keep: tuple = field(default=(), repr=False)

    @property
    def m(self) -> int:
        """The core's state size (2n for a complex state)."""
        return 2 * self.n if self.complex_state else self.n

    def block(self, threshold: float) -> np.ndarray:
        """The buffer's Jacobian block (layout in the module docstring)."""
        head = np.zeros(_PAYLOAD, dtype=np.int64)
        head[_RHS_ADDR], head[_DIM] = self.rhs_address, self.m
        head.view(np.float64)[_THRESHOLD] = threshold
        parts = [head]
        if self.constant is not None:
            parts.append(np.asfortranarray(self.constant, dtype=np.float64).reshape(-1, order="F").view(np.int64))
        elif self.grouping is not None:
            g = self.grouping
            head[_GROUPS] = g.count
            parts += [g.group_ptr, g.cols, g.indptr, g.indices]
        return np.concatenate([np.asarray(p, dtype=np.int64) for p in parts])


# ---------------------------------------------------------------- the entry point


_decisions: weakref.WeakKeyDictionary[Any, dict[tuple, str]] = weakref.WeakKeyDictionary()
_user_cache: weakref.WeakKeyDictionary[Any, dict[tuple, tuple]] = weakref.WeakKeyDictionary()


def compiled_jacobian(
    fun: Callable[..., Any],
    kinds: tuple,
    values: list[Any],
    n: int,
    *,
    jac: Any = None,
    jac_sparsity: Any = None,
    complex_state: bool = False,
    t0: float = 0.0,
    y0: Any = None,
) -> JacobianSource:
    """The Jacobian of ``fun`` (args of ``kinds`` with ``values``, from `arg_kinds`) for a state
    of ``n`` entries, as a cfunc the core calls with the rhs's buffer (`make_buffer(...,
    jacobian=source)`).

    Parameters
    ----------
    fun : callable or numba.cfunc
        The right-hand side (as for `compiled_rhs`; a cfunc gets finite differences).
    kinds, values : tuple, list
        The args' kinds and values (`arg_kinds`).
    n : int
        The length of y0 (complex entries for a complex state).
    jac : None, callable, array_like or scipy.sparse matrix
        None: computed inside Numba (complex step where ``fun`` is analytic, else finite
        differences; decided once per ``fun`` and ``kinds`` at the first ``t0, y0``). A callable
        ``jac(t, y, *args) -> (n, n)`` or ``jac(t, y, J, *args)`` (Numba-compiled), or a
        numba.cfunc with `RHS_SIG` writing the core's J. An array: a constant J.
    jac_sparsity : None, array_like or scipy.sparse matrix
        (n, n), nonzero where J may be nonzero: with ``jac=None`` columns are evaluated in groups.
    complex_state : bool
        The core's state is the complex y as 2n float64 (re, im pairs).
    t0, y0 : float, array_like
        Where the analyticity of ``fun`` is checked (default: ones).

    Returns
    -------
    JacobianSource
        ``.address``, ``.kind`` ('user', 'constant', 'complex-step', 'finite-difference').

    Raises
    ------
    TypeError, ValueError
        Naming ``jac`` or ``jac_sparsity`` and what was expected.
    """
    n = _check_n(n)
    if jac is None:
        return _computed(fun, kinds, values, n, jac_sparsity, bool(complex_state), t0, y0)
    if isinstance(jac, CFunc):
        if jac._sig != rc.RHS_SIG:
            raise TypeError(f"jac is a numba cfunc with signature {jac._sig}; expected {rc.RHS_SIG}")
        return JacobianSource("user", n, bool(complex_state), jac.address, keep=(jac,))
    if callable(jac):
        return _user(jac, kinds, n, bool(complex_state))
    return _constant(jac, n, bool(complex_state))


def _check_n(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be an integer >= 0 (the length of y0), got {n!r}")
    return int(n)


# ---------------------------------------------------------------- constant J


def _matrix(value: Any, name: str, n: int) -> np.ndarray:
    """``value`` (array_like or scipy.sparse) as a dense (n, n) array of real or complex numbers."""
    if hasattr(value, "toarray") and hasattr(value, "nnz"):  # scipy.sparse, without importing scipy
        value = value.toarray()
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as err:
        raise TypeError(f"{name} must be an (n, n) array_like or scipy.sparse matrix, got {err}") from None
    if arr.dtype.kind not in "biufc":
        forms = "None, a callable or an (n, n) array" if name == "jac" else "None or an (n, n) array"
        raise TypeError(
            f"{name} must be {forms} of real or complex numbers (or a scipy.sparse matrix), got "
            f"{type(value).__name__} of dtype {arr.dtype}"
        )
    if arr.shape != (n, n):
        raise ValueError(f"{name} must have shape (n, n) = ({n}, {n}) with n the length of y0, got shape {arr.shape}")
    return arr


def _constant(jac: Any, n: int, complex_state: bool) -> JacobianSource:
    arr = _matrix(jac, "jac", n)
    if not np.all(np.isfinite(arr)):
        raise ValueError("jac must be finite: it has NaN or infinite entries")
    if arr.dtype.kind == "c" and not complex_state:
        raise TypeError("jac is complex but y0 is real: pass a real J (or a complex y0)")
    J = _real_pairs(arr.astype(np.complex128)) if complex_state else arr.astype(np.float64)
    return JacobianSource("constant", n, complex_state, _generic_cfunc("constant").address, constant=J)


def _real_pairs(J: np.ndarray) -> np.ndarray:
    """The real (2n, 2n) Jacobian of the (re, im) pairs for a complex-analytic J: each entry
    p + iq becomes [[p, -q], [q, p]]."""
    n = J.shape[0]
    out = np.empty((2 * n, 2 * n))
    out[0::2, 0::2], out[0::2, 1::2] = J.real, -J.imag
    out[1::2, 0::2], out[1::2, 1::2] = J.imag, J.real
    return out


# ---------------------------------------------------------------- jac=None: complex step or differences


def _computed(
    fun: Any, kinds: tuple, values: list, n: int, sparsity: Any, complex_state: bool, t0: float, y0: Any
) -> JacobianSource:
    grouping = None if sparsity is None else _grouping(_pattern(sparsity, n, complex_state))
    if isinstance(fun, CFunc):
        fd = _generic_cfunc("finite-difference")
        return JacobianSource("finite-difference", n, complex_state, fd.address, fun.address, grouping, keep=(fd, fun))
    real = rc.compiled_rhs(fun, kinds, complex_state)
    kind = "finite-difference"
    if not complex_state and n > 0:
        kind = rc.cached(_decisions, fun, kinds, lambda: _decide(fun, kinds, values, n, real, t0, y0))
    if kind == "complex-step":
        cplx = rc.compiled_rhs(fun, kinds, True)
        cs = _generic_cfunc("complex-step")
        return JacobianSource(kind, n, False, cs.address, cplx.cfunc.address, grouping, keep=(cs, cplx))
    fd = _generic_cfunc("finite-difference")
    return JacobianSource(kind, n, complex_state, fd.address, real.cfunc.address, grouping, keep=(fd, real))


def _decide(fun: Any, kinds: tuple, values: list, n: int, real: rc.Compiled, t0: float, y0: Any) -> str:
    """'complex-step' if ``fun`` compiles for complex y (the one extra compilation) and its
    complex-step Jacobian agrees with central differences at y0 and near it, else 'finite-difference'."""
    try:
        cplx = rc.compiled_rhs(fun, kinds, True)
    except TypeError:  # comparisons, abs of a real, ... : not for complex y
        return "finite-difference"
    y = np.ones(n) if y0 is None else np.asarray(y0, dtype=np.float64).reshape(-1)
    if y.size != n or not np.all(np.isfinite(y)):
        raise ValueError(f"y0 must be {n} finite real numbers to check fun's Jacobian, got {y0!r}")
    cs = JacobianSource("complex-step", n, False, _generic_cfunc("complex-step").address, cplx.cfunc.address)
    nudge = 1e-3 * max(np.max(np.abs(y)), 1e-3) * (0.5 + 0.5 * np.cos(np.arange(n)))  # off the axes too
    verdicts = [_agrees(cs, real, kinds, values, float(t0), point) for point in (y, y + nudge)]
    return "complex-step" if True in verdicts and False not in verdicts else "finite-difference"


def _agrees(cs: JacobianSource, real: rc.Compiled, kinds: tuple, values: list, t: float, y: np.ndarray) -> Any:
    """Whether the complex-step J at (t, y) matches central differences at two increments to their
    own accuracy; None where fun is not finite or fails there (no verdict)."""
    n = y.size
    buf = rc.make_buffer(kinds, values, n, jacobian=cs)
    Jcs = np.zeros((n, n), order="F")
    call_address(cs.address, t, y, Jcs, buf)
    if buf[rc.FLAG] != 0:
        return None
    cols = np.unique(np.linspace(0, n - 1, min(n, 64)).astype(int))  # enough to catch abs/conj/real/imag
    scale = np.maximum(np.abs(y), 1e-3 * max(np.max(np.abs(y)), 1e-12))
    central = []
    for h in (np.cbrt(np.finfo(float).eps) * scale, 0.5 * np.cbrt(np.finfo(float).eps) * scale):
        D = np.empty((n, cols.size))
        for c, j in enumerate(cols):
            hi, lo, yp, ym = np.empty(n), np.empty(n), y.copy(), y.copy()
            yp[j] += h[j]
            ym[j] -= h[j]
            call_address(real.cfunc.address, t, yp, hi, buf)
            call_address(real.cfunc.address, t, ym, lo, buf)
            D[:, c] = (hi - lo) / (yp[j] - ym[j])
        central.append(D)
    if buf[rc.FLAG] != 0 or not all(np.all(np.isfinite(D)) for D in central):
        return None
    J = Jcs[:, cols]
    fine = central[1]
    tol = 1e-6 * (np.abs(J) + np.abs(fine)) + 10 * np.abs(central[0] - fine)
    tol += 1e-9 * np.max(np.abs(fine), axis=1, keepdims=True) + 1e-300
    return bool(np.all(np.isfinite(J)) and np.all(np.abs(J - fine) <= tol))


def _pattern(sparsity: Any, n: int, complex_state: bool) -> np.ndarray:
    """``jac_sparsity`` as a bool (m, m) pattern of the core's state (2 x 2 blocks for complex pairs)."""
    arr = _matrix(sparsity, "jac_sparsity", n)
    if not np.all(np.isfinite(arr)):
        raise ValueError("jac_sparsity must be finite: nonzero where J may be nonzero")
    pattern = arr != 0
    return np.kron(pattern, np.ones((2, 2), dtype=bool)) if complex_state else pattern


def group_columns(pattern: np.ndarray) -> np.ndarray:
    """Greedy Curtis-Powell-Reid grouping: each column joins the first group none of whose
    columns shares a row with it; returns each column's group (as scipy's ``group_columns``)."""
    m = pattern.shape[1]
    group = np.empty(m, dtype=np.int64)
    rows_used: list[np.ndarray] = []
    for j in range(m):
        col = pattern[:, j]
        for g, used in enumerate(rows_used):
            if not np.any(used & col):
                used |= col
                group[j] = g
                break
        else:
            rows_used.append(col.copy())
            group[j] = len(rows_used) - 1
    return group


def _grouping(pattern: np.ndarray) -> Grouping:
    group = group_columns(pattern)
    order = np.argsort(group, kind="stable")
    group_ptr = np.concatenate([[0], np.cumsum(np.bincount(group))])
    rows, cols = np.nonzero(pattern.T)  # column-major: for each column, its rows in order
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=pattern.shape[1]))])
    return Grouping(group_ptr.astype(np.int64), order.astype(np.int64), indptr.astype(np.int64), cols.astype(np.int64))


# ---------------------------------------------------------------- a user's jac


def _user(jac: Callable[..., Any], kinds: tuple, n: int, complex_state: bool) -> JacobianSource:
    cf, inplace = rc.cached(_user_cache, jac, (kinds, complex_state), lambda: _compile_user(jac, kinds, complex_state))
    return JacobianSource("user", n, complex_state, cf.address, jac=jac, inplace=inplace, keep=(cf,))


def _jac_form(jac: Callable[..., Any], kinds: tuple) -> bool:
    k = len(kinds)
    arity = positional_arity(jac)
    if arity not in (2 + k, 3 + k):
        got = "*args, **kwargs or required keyword-only parameters" if arity is None else f"{arity}"
        raise TypeError(
            f"jac {callable_name(jac)!r} must take {2 + k} or {3 + k} positional parameters "
            f"(t, y[, J]{f' and {k} for args' if k else ''}), got {got}: {_JAC_FORMS}"
        )
    return arity == 3 + k


def _compile_user(jac: Callable[..., Any], kinds: tuple, complex_state: bool) -> tuple[Any, bool]:
    global compile_count
    inplace = _jac_form(jac, kinds)
    name = callable_name(jac)
    disp = rc.dispatcher(jac)
    dtype = types.complex128 if complex_state else types.float64
    vec, mat = types.Array(dtype, 1, "C"), types.Array(dtype, 2, "C")
    argtypes = (types.float64, vec, mat) if inplace else (types.float64, vec)
    argtypes += tuple(map(rc.numba_type, kinds))
    how = f"taken as {'jac(t, y, J, *args) -> None' if inplace else 'jac(t, y, *args) -> J'}"
    how += f" with y {'complex128' if complex_state else 'float64'}"
    try:
        ret = rc.return_type(disp, argtypes)
    except Exception as err:
        raise rc.compile_error("jac", jac, how, err, _JAC_CHANGE) from None
    _check_jac_return(ret, inplace, name, complex_state)

    ns: dict[str, Any] = {"numba": numba, "np": np, "_voidptr": rc._voidptr, "disp": disp, "nan": math.nan}
    arg_lines, call_args = rc.args_source(kinds, ns)
    rest = "".join(", " + a for a in call_args)
    view = ".view(np.complex128)" if complex_state else ""
    m = "2 * n" if complex_state else "n"
    call = (
        [f"r = np.zeros((n, n), np.{'complex128' if complex_state else 'float64'})", f"disp(t, y{view}, r{rest})"]
        if inplace
        else [f"r = disp(t, y{view}{rest})"]
    )
    store = (
        _store_pairs()
        if complex_state
        else ["for j in range(n):", "    for i in range(n):", "        J[i + j * n] = r[i, j]"]
    )
    src = "\n".join(
        [
            "def jacobian(t, y_, J_, data_):",
            *("    " + line for line in rc.buffer_source()),
            f"    J = numba.carray(J_, ({m} * {m},))",
            f"    if d[{rc.FLAG}] != 0:",
            "        J[:] = nan",
            "        return",
            f"    y = numba.carray(y_, ({m},))",
            *("    " + line for line in arg_lines),
            "    try:",
            *("        " + line for line in call),
            "        if r.shape[0] != n or r.shape[1] != n:",
            f"            d[{rc.FLAG}] = {rc.FLAG_JAC_SHAPE}",
            f"            d[{rc.GOT_ROWS}] = r.shape[0]",
            f"            d[{rc.GOT_COLS}] = r.shape[1]",
            "        else:",
            *("            " + line for line in store),
            "    except Exception:",
            f"        d[{rc.FLAG}] = {rc.FLAG_JAC_RAISED}",
            f"    if d[{rc.FLAG}] != 0:",
            *("        " + line for line in rc.failure_source("y")),
            "        J[:] = nan",
        ]
    )
    exec(compile(src, f"<solve_ivp jac for {name}>", "exec"), ns)
    try:
        cf = numba.cfunc(rc.RHS_SIG, nopython=True, error_model="numpy")(ns["jacobian"])
    except Exception as err:
        raise rc.compile_error("jac", jac, how, err, _JAC_CHANGE) from None
    del ns["disp"]  # the cache is keyed weakly by jac: the cfunc must not hold it
    compile_count += 1
    return cf, inplace


def _store_pairs() -> list[str]:
    """Lines that write the complex (n, n) ``r`` as the real 2n x 2n J of the (re, im) pairs."""
    return [
        "m2 = 2 * n",
        "for j in range(n):",
        "    for i in range(n):",
        "        v = complex(r[i, j])",
        "        J[2 * i + 2 * j * m2] = v.real",
        "        J[2 * i + 1 + 2 * j * m2] = v.imag",
        "        J[2 * i + (2 * j + 1) * m2] = -v.imag",
        "        J[2 * i + 1 + (2 * j + 1) * m2] = v.real",
    ]


def _check_jac_return(ret: Any, inplace: bool, name: str, complex_state: bool) -> None:
    if ret is None:
        return
    if inplace:
        if ret != types.none:
            raise TypeError(
                f"jac {name!r} is taken as the in-place form jac(t, y, J, *args) (one more positional parameter "
                f"than the args), which fills J and returns None, but it returns {ret}"
            )
        return
    if not (isinstance(ret, types.Array) and ret.ndim == 2 and isinstance(ret.dtype, types.Number)):
        raise TypeError(f"jac {name!r} returns {ret}: it must return an (n, n) numpy array of real or complex numbers")
    if isinstance(ret.dtype, types.Complex) and not complex_state:
        raise TypeError(
            f"jac {name!r} returns complex values ({ret}) for a real y0: it must return a real (n, n) array"
        )
