"""1x1 costs from scalar functions ``f(z)``, ``f'(z)``, ``f''(z)`` (the vector case of the paper)."""

from __future__ import annotations

from typing import Any, Callable

import numba
import numpy as np
from numba import types

from .base import (
    HVP_SIG,
    VG_SIG,
    Cost,
    as_dispatcher,
    callable_name,
    is_real_number_type,
    numba_error_summary,
    precheck_return,
)

__all__ = ["scalar"]

_FD_STEP = float(np.cbrt(np.finfo(np.float64).eps))


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
            f"scalar cost: {role} {callable_name(fn)!r} must return a real number ({expected}), "
            f"returns {ret}"
        )
    return disp


def scalar(
    fn: Callable[[float], float],
    dfn: Callable[[float], float],
    d2fn: Callable[[float], float] | None = None,
    *,
    f_star: float | None = None,
) -> Cost:
    r"""A 1x1 cost ``f(P) = fn(z)`` with ``z = P[0, 0]``.

    .. math:: f(P) = \mathrm{fn}(z), \quad \nabla f(P) = \mathrm{dfn}(z), \quad
              \nabla^2 f(P)[V] = \mathrm{d2fn}(z)\, v .

    Parameters
    ----------
    fn, dfn : callable
        ``f`` and ``f'`` as functions of one float returning a float, either plain Python functions
        that Numba can compile in nopython mode (they are ``numba.njit``-ed with
        ``error_model="numpy"``) or ``numba.njit`` dispatchers.
    d2fn : callable, optional
        ``f''``. Without it the Hessian-vector product is the central difference
        ``(f'(z+h) - f'(z-h)) / (2h) * v`` with ``h = cbrt(eps) * max(1, |z|)`` and
        ``hvp_exact`` is False.
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
    f = _compile_scalar_fn(fn, "fn")
    df = _compile_scalar_fn(dfn, "dfn")
    d2f = None if d2fn is None else _compile_scalar_fn(d2fn, "d2fn")

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
        hvp_exact=d2fn is not None,
        repr_args=names,
        spec=(_rebuild, (fn, dfn, d2fn, f_star)),
    )


def _rebuild(fn: Any, dfn: Any, d2fn: Any, f_star: Any) -> Cost:
    return scalar(fn, dfn, d2fn, f_star=f_star)
