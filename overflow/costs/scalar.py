"""1x1 costs from scalar functions ``f(z)``, ``f'(z)``, ``f''(z)`` (the vector case of the paper)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba
import numpy as np
from numba import types

from .base import (
    HVP_SIG,
    VG_SIG,
    Cost,
    as_dispatcher,
    callable_name,
    check_f_star,
    is_real_number_type,
    numba_error_summary,
    precheck_return,
)

__all__ = ["scalar"]

_FD_STEP = float(np.cbrt(np.finfo(np.float64).eps))
_CS_STEP = 1e-20  # complex step: Im g(z + ih) / h = g'(z) + O(h^2), no cancellation


def _compile_scalar_fn(fn: Any, role: str) -> Any:
    disp = as_dispatcher(fn, role)
    expected = f"{role}(z: float) -> float"
    try:
        ret = precheck_return(disp, (types.float64,))
    except Exception as err:
        raise TypeError(
            f"scalar cost: {role} {callable_name(fn)!r} cannot be compiled by Numba (nopython) as "
            f"{expected}: {numba_error_summary(err)}"
        ) from None
    if ret is not None and not is_real_number_type(ret):
        raise TypeError(
            f"scalar cost: {role} {callable_name(fn)!r} must return a real number ({expected}), returns {ret}"
        )
    return disp


def scalar(
    fn: Callable[[float], float],
    dfn: Callable[[float], float] | None = None,
    d2fn: Callable[[float], float] | None = None,
    *,
    f_star: float | None = None,
) -> Cost:
    r"""A 1x1 cost ``f(P) = fn(z)`` with ``z = P[0, 0]``.

    .. math:: f(P) = \mathrm{fn}(z), \quad \nabla f(P) = \mathrm{dfn}(z), \quad
              \nabla^2 f(P)[V] = \mathrm{d2fn}(z)\, v .

    Parameters
    ----------
    fn : callable
        ``f`` as a function of one float returning a float, either a plain Python function that
        Numba can compile in nopython mode (it is ``numba.njit``-ed with ``error_model="numpy"``)
        or a ``numba.njit`` dispatcher.
    dfn : callable, optional
        ``f'``, the same way. Without it, ``f'(z) = Im f(z + ih) / h`` (complex step,
        ``h = 1e-20``, exact to rounding when ``fn`` uses only analytic operations; ``fn`` must
        run on complex input, else TypeError).
    d2fn : callable, optional
        ``f''``. Without it, the complex step of ``f'`` when ``dfn`` is given and runs on complex
        input (exact), else the central difference ``(f'(z+h) - f'(z-h)) / (2h) * v`` with
        ``h = cbrt(eps) * max(1, |z|)`` (``hvp_exact`` False).
    f_star : float, optional
        The global minimum value of ``f`` if known.

    Returns
    -------
    Cost
        With ``shape == (1, 1)``. An exception raised inside ``fn``/``dfn`` is reported to the
        core as a NaN value ("outside the domain").

    Raises
    ------
    TypeError
        If a function is not callable or cannot be compiled as ``float -> float``.

    Notes
    -----
    The callbacks close over the user functions, so they are compiled on every call (Numba cannot
    cache them).
    """
    check_f_star(f_star)  # before the compilations, which take seconds
    f = _compile_scalar_fn(fn, "fn")
    if dfn is None:
        why = _complex_ready(f, callable_name(fn))
        if why is None:
            df = _complex_step_derivative(f)
            why = _probe(df, f, callable_name(fn))
        if why is not None:
            raise TypeError(f"scalar cost: without dfn, f' is derived by complex step, but {why}; pass dfn")
    else:
        df = _compile_scalar_fn(dfn, "dfn")
    d2f = None if d2fn is None else _compile_scalar_fn(d2fn, "d2fn")
    if d2f is None and dfn is not None and _complex_ready(df, callable_name(dfn)) is None:
        candidate = _complex_step_derivative(df)
        if _probe(candidate, df, callable_name(dfn)) is None:
            d2f = candidate  # else the central difference below

    def value_and_grad(P_, m, n, grad_, data_):  # pragma: no cover - compiled by Numba
        if m != 1 or n != 1:
            for i in range(m * n):
                grad_[i] = np.nan
            return np.nan
        z = P_[0]
        try:
            v = float(f(z))
            g = float(df(z))
        except Exception:
            v = np.nan
            g = np.nan
        grad_[0] = g
        return v

    if d2f is not None:

        def hvp(P_, V_, m, n, out_, data_):  # pragma: no cover - compiled by Numba
            if m != 1 or n != 1:
                for i in range(m * n):
                    out_[i] = np.nan
                return
            z = P_[0]
            try:
                h2 = float(d2f(z))
            except Exception:
                h2 = np.nan
            out_[0] = h2 * V_[0]

    else:

        def hvp(P_, V_, m, n, out_, data_):  # pragma: no cover - compiled by Numba
            if m != 1 or n != 1:
                for i in range(m * n):
                    out_[i] = np.nan
                return
            z = P_[0]
            h = _FD_STEP * max(1.0, abs(z))
            zp = z + h
            zm = z - h
            try:
                h2 = (float(df(zp)) - float(df(zm))) / (zp - zm)
            except Exception:
                h2 = np.nan
            out_[0] = h2 * V_[0]

    names = ", ".join(callable_name(g) for g in (fn, dfn, d2fn) if g is not None)
    try:
        vg_c = numba.cfunc(VG_SIG, nopython=True, error_model="numpy")(value_and_grad)
        hvp_c = numba.cfunc(HVP_SIG, nopython=True, error_model="numpy")(hvp)
    except Exception as err:
        raise TypeError(
            f"scalar cost: could not compile the callbacks for ({names}); each must be "
            f"float -> float: {numba_error_summary(err)}"
        ) from None
    return Cost(
        name="scalar",
        shape=(1, 1),
        vg_cfunc=vg_c,
        hvp_cfunc=hvp_c,
        f_star=f_star,
        hvp_exact=d2f is not None,
        repr_args=names,
        spec=(_rebuild, (fn, dfn, d2fn, f_star)),
    )


def _complex_ready(disp: Any, name: str) -> str | None:
    """None when ``disp`` compiles for complex128 and returns a complex value, else the reason."""
    try:
        disp.compile((types.complex128,))
    except Exception as err:
        return f"{name!r} cannot run on complex input: {numba_error_summary(err, 600)}"
    cres = disp.overloads.get((types.complex128,))
    ret = None if cres is None else cres.signature.return_type
    if ret is not None and not isinstance(ret, types.Complex):
        return f"{name!r} returns {ret} on complex input (abs, real or float() are not analytic)"
    return None


def _probe(derivative: Any, g: Any, name: str) -> str | None:
    """None when the complex-step ``derivative`` of ``g`` matches a central difference at test
    points (Numba's complex z**3 compiles but loses the imaginary part, abs is not analytic)."""
    for z in (0.3, -0.7, 1.3):
        h = 1e-6 * max(1.0, abs(z))
        try:
            cs, fd = float(derivative(z)), (float(g(z + h)) - float(g(z - h))) / (2 * h)
        except Exception:
            continue
        if np.isfinite(cs) and np.isfinite(fd) and abs(cs - fd) > 1e-5 * (1.0 + abs(fd)):
            return (
                f"the complex step through {name!r} disagrees with a central difference at z = {z} "
                f"({cs:.6g} vs {fd:.6g}): it is not analytic in complex arithmetic, or a complex operation "
                "loses the imaginary part (write integer powers as products, z*z*z rather than z**3)"
            )
    return None


def _complex_step_derivative(g: Any) -> Any:
    """z -> Im g(z + ih) / h: the derivative of g without subtractive cancellation."""

    @numba.njit(error_model="numpy")
    def derivative(z):  # pragma: no cover - compiled by Numba
        return g(complex(z, _CS_STEP)).imag / _CS_STEP

    return derivative


def _rebuild(fn: Any, dfn: Any, d2fn: Any, f_star: Any) -> Cost:
    return scalar(fn, dfn, d2fn, f_star=f_star)
