"""The `Cost` object: compiled cost kernels plus their float64 parameter array.

A cost ``f : R^{m x n} -> R`` is handed to the C++ core as two C function pointers following the
cost ABI of ``csrc/include/overflow/overflow.h``::

    double value_and_grad(const double* P, int64 m, int64 n, double* grad_out, void* data)
    void   hvp(const double* P, const double* V, int64 m, int64 n, double* out, void* data)

Both are Numba ``cfunc`` objects compiled in nopython mode. ``data`` is declared as
``CPointer(float64)`` in the Numba signatures (ABI-identical to ``void*``) and points at
``Cost.data``. This module holds the `Cost` class, the two Numba signatures, the lazily compiled
cached kernels of the generic costs and the input validation shared by the constructors.
It must not import ``overflow._core``.
"""

from __future__ import annotations

import inspect
import math
import numbers
import threading
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
from numba import types

from .. import _validate as _v

__all__ = ["Cost", "VG_SIG", "HVP_SIG", "shape_mismatch"]

_DPTR = types.CPointer(types.float64)

#: Numba signature of ``value_and_grad`` (the ``data`` argument is ``void*`` on the C side).
VG_SIG = types.float64(_DPTR, types.int64, types.int64, _DPTR, _DPTR)
#: Numba signature of ``hvp``.
HVP_SIG = types.void(_DPTR, _DPTR, types.int64, types.int64, _DPTR, _DPTR)

#: Numba type of the (m, n) views the kernels build with ``numba.carray``.
MATRIX = types.Array(types.float64, 2, "C")


@numba.njit(cache=True)
def shape_mismatch(data_: Any, m: int, n: int, out_: Any) -> bool:  # pragma: no cover - compiled by Numba
    """True, with the ``m * n`` entries of ``out_`` set to NaN, when the core calls a generic kernel
    with an ``(m, n)`` other than the cost's own (``data[0], data[1]``): the guard every generic
    kernel starts with, so a mismatched call never reads past its parameter array."""
    head = numba.carray(data_, 2)
    if head[0] == m and head[1] == n:
        return False
    out = numba.carray(out_, m * n)
    for i in range(m * n):
        out[i] = np.nan
    return True


class _LazyCfunc:
    """A module-level kernel compiled as a cached ``cfunc`` the first time it is needed.

    Compiling at first use (not at import) keeps ``import overflow`` fast; ``cache=True`` lets later
    processes load the machine code from Numba's on-disk cache instead of recompiling.
    """

    def __init__(self, pyfunc: Callable[..., Any], sig: Any) -> None:
        self._pyfunc = pyfunc
        self._sig = sig
        self._cfunc: Any = None
        self._lock = threading.Lock()

    @property
    def compiled(self) -> bool:
        return self._cfunc is not None

    def get(self) -> Any:
        if self._cfunc is None:
            with self._lock:
                if self._cfunc is None:
                    self._cfunc = numba.cfunc(self._sig, nopython=True, cache=True, error_model="numpy")(self._pyfunc)
        return self._cfunc


class Cost:
    """A cost ``f : R^{m x n} -> R`` compiled for the C++ core.

    Attributes
    ----------
    shape : tuple[int, int]
        ``(m, n)``, the shape of the argument ``P``.
    vg_address : int
        Address of the ``value_and_grad`` C callback.
    hvp_address : int
        Address of the ``hvp`` C callback (Hessian-vector product ``Hess f(P)[V]``).
    data : numpy.ndarray
        1-D C-contiguous float64 parameter array passed as the ``data`` pointer of both callbacks;
        it lives as long as this object. A built-in cost lays it out as its module's
        `overflow.costs._layout.Layout` states (``[m, n, ...]`` first, for `shape_mismatch`).
    f_star : float or None
        The global minimum value of ``f`` when known.
    hvp_exact : bool
        Whether ``hvp`` is exact (up to rounding) or a finite-difference approximation.

    Notes
    -----
    Instances are created by the constructors of `overflow.costs` (``matrix_factorization``,
    ``linear_regression``, ``scalar``, ``cost``), not directly. A cost whose description can be
    rebuilt (kind + parameters) pickles by recompiling (or loading from Numba's cache) on the
    receiving side, since a callback address cannot travel between processes.
    """

    def __init__(
        self,
        *,
        name: str,
        shape: tuple[int, int],
        vg_cfunc: Any,
        hvp_cfunc: Any,
        data: np.ndarray | None = None,
        f_star: float | None = None,
        hvp_exact: bool,
        repr_args: str = "",
        spec: tuple[Callable[..., Cost], tuple[Any, ...]] | None = None,
    ) -> None:
        self.shape: tuple[int, int] = check_shape(shape)
        if data is None:
            data = np.zeros(1)
        data = np.ascontiguousarray(data, dtype=np.float64).reshape(-1)
        if data.size == 0:
            data = np.zeros(1)
        self.data: np.ndarray = data
        self._vg_cfunc = vg_cfunc
        self._hvp_cfunc = hvp_cfunc
        self.vg_address: int = int(vg_cfunc.address)
        self.hvp_address: int = int(hvp_cfunc.address)
        self.f_star: float | None = check_f_star(f_star)
        self.hvp_exact: bool = bool(hvp_exact)
        self._name = name
        self._repr_args = repr_args
        self._spec = spec

    # -- Python-side evaluation (analysis and tests) -------------------------------------------

    def value(self, P: Any) -> float:
        """``f(P)``; NaN or inf when ``P`` is outside the domain."""
        return _call_value_and_grad(self, self._point(P, "P"))[0]

    def gradient(self, P: Any) -> np.ndarray:
        """``grad f(P)`` as an ``(m, n)`` array."""
        return _call_value_and_grad(self, self._point(P, "P"))[1]

    def value_and_grad(self, P: Any) -> tuple[float, np.ndarray]:
        """``(f(P), grad f(P))`` from one kernel call."""
        return _call_value_and_grad(self, self._point(P, "P"))

    def hvp(self, P: Any, V: Any) -> np.ndarray:
        """Hessian-vector product ``Hess f(P)[V]`` as an ``(m, n)`` array."""
        return _call_hvp(self, self._point(P, "P"), self._point(V, "V"))

    def _point(self, P: Any, name: str) -> np.ndarray:
        """Validate an argument of shape ``self.shape`` (a real scalar is accepted for 1x1)."""
        if isinstance(P, (str, bytes)):
            raise TypeError(f"{name} must be a real array of shape {self.shape}, got {type(P).__name__}")
        arr = np.asarray(P)
        if arr.dtype.kind not in "fiu":
            raise TypeError(
                f"{name} must be a real (float64-convertible) array of shape {self.shape}, got dtype {arr.dtype}"
            )
        if arr.ndim == 0 and self.shape == (1, 1):
            arr = arr.reshape(1, 1)
        if arr.shape != self.shape:
            raise ValueError(f"{name} must have shape {self.shape}, got shape {arr.shape}")
        return np.ascontiguousarray(arr, dtype=np.float64)

    # -- misc ----------------------------------------------------------------------------------

    def __repr__(self) -> str:
        args = f"{self._repr_args}, " if self._repr_args else ""
        return f"{self._name}({args}shape={self.shape})"

    def __reduce__(self) -> tuple[Any, ...]:
        if self._spec is None:
            raise TypeError(f"{self!r} cannot be pickled: it has no re-creatable description")
        return self._spec


def _call_value_and_grad(cost: Cost, P: np.ndarray) -> tuple[float, np.ndarray]:
    """Call the compiled ``value_and_grad`` on a validated float64 C-contiguous ``P``, through the core
    (the same C ABI path the integrator uses, with the GIL released)."""
    from .. import _core  # deferred: the core imports nothing from here, and costs load without it

    val, grad = _core.cost_value_and_grad(cost.vg_address, cost.data, P)
    return float(val), grad


def _call_hvp(cost: Cost, P: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Call the compiled ``hvp`` on validated float64 C-contiguous ``P`` and ``V`` through the core."""
    from .. import _core

    return _core.cost_hvp(cost.hvp_address, cost.data, P, V)


# -- validation helpers shared by the constructors ---------------------------------------------


def check_shape(shape: Any, name: str = "shape") -> tuple[int, int]:
    """Return ``shape`` as a tuple of two positive ints or raise ValueError."""
    try:
        items = tuple(shape)
    except TypeError:
        raise ValueError(f"{name} must be a pair (m, n) of positive integers, got {shape!r}") from None
    if len(items) != 2 or not all(
        isinstance(k, numbers.Integral) and not isinstance(k, bool) and int(k) >= 1 for k in items
    ):
        raise ValueError(f"{name} must be a pair (m, n) of positive integers, got {shape!r}")
    m, n = int(items[0]), int(items[1])
    # before anything of that size exists: a (10**6, 10**6) cost would ask for terabytes per matrix
    _v.check_memory(8 * m * n, name, (m, n), f"one {m} x {n} float64 matrix")
    return m, n


def check_classes(classes: Any) -> int | None:
    """The number of classes of a softmax cost: None (read from the labels) or a positive integer."""
    if classes is None:
        return None
    if isinstance(classes, (bool, np.bool_)) or not isinstance(classes, numbers.Integral):
        raise TypeError(f"classes must be a positive integer or None, got {_v.describe(classes)}")
    if classes < 1:
        raise ValueError(f"classes must be a positive integer or None, got {classes!r}")
    return int(classes)


def check_f_star(f_star: Any) -> float | None:
    """``f_star`` as a finite float, or None."""
    if f_star is None:
        return None
    if isinstance(f_star, bool) or not isinstance(f_star, numbers.Real):
        raise TypeError(f"f_star must be a real number or None, got {type(f_star).__name__}")
    if not math.isfinite(float(f_star)):
        raise ValueError(f"f_star must be finite, got {f_star!r}")
    return float(f_star)


def real_array(x: Any, name: str, ndims: tuple[int, ...], expected: str) -> np.ndarray:
    """``x`` as a finite float64 C-contiguous array with ``ndim`` in ``ndims``.

    Raises TypeError for non-real dtypes and ValueError for a wrong dimension, an empty array or
    non-finite entries; messages name the argument ``name`` and the ``expected`` shape.
    """
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be a real float array of shape {expected}, got {type(x).__name__}")
    try:
        arr = np.asarray(x)
    except ValueError as err:
        raise ValueError(f"{name} must be a real float array of shape {expected}: {err}") from None
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{name} must be a real float array of shape {expected}, got dtype {arr.dtype}")
    if arr.ndim not in ndims:
        raise ValueError(f"{name} must have shape {expected}, got a {arr.ndim}-D array of shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must be non-empty with shape {expected}, got shape {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf entries)")
    return arr


def callable_name(fn: Any) -> str:
    """A readable name for a user function or Numba dispatcher."""
    py = getattr(fn, "py_func", fn)
    return getattr(py, "__name__", None) or repr(fn)


def as_dispatcher(fn: Any, role: str) -> Any:
    """``fn`` as a Numba CPU dispatcher, njit-ing a plain Python function (error_model='numpy',
    so that ``x / 0`` gives inf or NaN, i.e. "outside the domain", rather than an exception)."""
    if not callable(fn):
        raise TypeError(f"{role} must be a callable, got {type(fn).__name__}")
    if isinstance(fn, numba.core.dispatcher.Dispatcher):
        return fn
    if not inspect.isfunction(fn):
        raise TypeError(f"{role} must be a plain Python function or a numba.njit function, got {type(fn).__name__}")
    return numba.njit(error_model="numpy")(fn)


def positional_arity(fn: Any) -> int | None:
    """Number of positional parameters of ``fn``; None if it has ``*args``/``**kwargs``, required
    keyword-only parameters, or no inspectable signature."""
    py = getattr(fn, "py_func", fn)
    try:
        params = inspect.signature(py).parameters.values()
    except (TypeError, ValueError):
        return None
    count = 0
    for p in params:
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            count += 1
        elif p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            return None
        elif p.default is p.empty:  # required keyword-only
            return None
    return count


def precheck_return(disp: Any, argtypes: tuple[Any, ...]) -> Any:
    """Compile ``disp`` for ``argtypes`` when it may compile; return the return type or None.

    A dispatcher with explicit signatures (compilation disabled) is left alone: the cfunc that
    calls it resolves the overload and reports any mismatch.
    """
    if not getattr(disp, "_can_compile", True):
        return None
    disp.compile(argtypes)
    cres = disp.overloads.get(tuple(argtypes))
    return None if cres is None else cres.signature.return_type


def is_real_number_type(ty: Any) -> bool:
    return isinstance(ty, (types.Float, types.Integer, types.Boolean))


def numba_error_summary(err: BaseException, limit: int = 1500) -> str:
    text = f"{type(err).__name__}: {err}".strip()
    return text if len(text) <= limit else text[:limit] + " ..."
