"""User-defined costs: the `cost` decorator for Numba kernels ``fn(P, grad) -> float``."""

from __future__ import annotations

from typing import Any, Callable

import numba
import numpy as np

from .base import (
    HVP_SIG,
    MATRIX,
    VG_SIG,
    Cost,
    as_dispatcher,
    callable_name,
    check_shape,
    is_real_number_type,
    numba_error_summary,
    positional_arity,
    precheck_return,
)

__all__ = ["cost"]

_VG_EXPECTED = "fn(P, grad) -> float (P, grad: 2-D float64 arrays of the cost's shape)"
_HVP_EXPECTED = "hvp(P, V, out) -> None (P, V, out: 2-D float64 arrays of the cost's shape)"
_FD_STEP = float(np.cbrt(np.finfo(np.float64).eps))


def cost(
    shape: tuple[int, int],
    hvp: Callable[[np.ndarray, np.ndarray, np.ndarray], None] | None = None,
    *,
    f_star: float | None = None,
) -> Callable[[Callable[[np.ndarray, np.ndarray], float]], Cost]:
    r"""Decorator turning a Numba kernel ``fn(P, grad) -> float`` into a `Cost`.

    The kernel receives ``P`` (an ``(m, n)`` float64 array view, read it only) and ``grad`` (an
    ``(m, n)`` float64 output array, zero-filled before the call), writes :math:`\nabla f(P)`
    into ``grad`` and returns :math:`f(P)`. Returning NaN or inf (or raising inside the kernel)
    means "``P`` is outside the domain". The kernel must compile in Numba nopython mode; a plain
    Python function is ``numba.njit``-ed with ``error_model="numpy"``, a ``numba.njit``
    dispatcher is used as it is. Compilation happens at decoration time, so a bad kernel fails
    here, not inside the integrator.

    Parameters
    ----------
    shape : tuple[int, int]
        ``(m, n)``, the shape of ``P``.
    hvp : callable, optional
        A kernel ``hvp(P, V, out)`` writing :math:`\nabla^2 f(P)[V]` into ``out`` (zero-filled
        before the call). Without it the Hessian-vector product is the central difference

        .. math:: \nabla^2 f(P)[V] \approx \frac{\nabla f(P + hV) - \nabla f(P - hV)}{2h},
                  \qquad h = \sqrt[3]{\varepsilon}\,\frac{\max(1, \lVert P\rVert_F)}{\lVert V\rVert_F},

        and ``hvp_exact`` is False (issue 3 will replace this by complex-step differentiation).
    f_star : float, optional
        The global minimum value of ``f`` if known.

    Returns
    -------
    callable
        The decorator; applied to ``fn`` it returns a `Cost` of the given shape.

    Raises
    ------
    ValueError
        If ``shape`` is not a pair of positive integers.
    TypeError
        If ``fn`` (or ``hvp``) does not have the signature ``fn(P, grad) -> float``
        (``hvp(P, V, out)``) or Numba cannot compile it for 2-D float64 arrays.

    Examples
    --------
    >>> @cost(shape=(2, 3))
    ... def half_norm(P, grad):
    ...     grad[:] = P
    ...     return 0.5 * (P * P).sum()
    """
    shape = check_shape(shape)
    if hvp is not None and not callable(hvp):
        raise TypeError(f"hvp must be a callable {_HVP_EXPECTED} or None, got {type(hvp).__name__}")

    def decorator(fn: Callable[[np.ndarray, np.ndarray], float]) -> Cost:
        return _build(fn, shape, hvp, f_star)

    return decorator


def _kernel(fn: Any, role: str, arity: int, expected: str, number_return: bool) -> Any:
    name = callable_name(fn)
    if not callable(fn):
        raise TypeError(f"cost {role} must be a callable {expected}, got {type(fn).__name__}")
    if positional_arity(fn) != arity:
        raise TypeError(
            f"cost {role} {name!r} must take exactly {arity} positional parameters: {expected}"
        )
    try:
        disp = as_dispatcher(fn, f"cost {role} {name!r}")
        ret = precheck_return(disp, (MATRIX,) * arity)
    except Exception as err:
        raise TypeError(
            f"cost {role} {name!r} cannot be compiled by Numba (nopython) as {expected}: "
            f"{numba_error_summary(err)}"
        ) from None
    if number_return and ret is not None and not is_real_number_type(ret):
        raise TypeError(f"cost {role} {name!r} must return a real number: {expected}; it returns {ret}")
    return disp


def _build(fn: Any, shape: tuple[int, int], hvp: Any, f_star: Any) -> Cost:
    m, n = shape
    kernel = _kernel(fn, "kernel", 2, _VG_EXPECTED, True)
    hvp_kernel = None if hvp is None else _kernel(hvp, "hvp", 3, _HVP_EXPECTED, False)

    @numba.njit(error_model="numpy")
    def grad_into(P, G):  # pragma: no cover - compiled by Numba
        """G <- grad f(P); returns f(P) (NaN when the kernel raises)."""
        G[:] = 0.0
        try:
            v = float(kernel(P, G))
        except Exception:
            v = np.nan
        return v

    def value_and_grad(P_, m_, n_, grad_, data_):  # pragma: no cover - compiled by Numba
        if m_ != m or n_ != n:
            for i in range(m_ * n_):
                grad_[i] = np.nan
            return np.nan
        return grad_into(numba.carray(P_, (m, n)), numba.carray(grad_, (m, n)))

    if hvp_kernel is not None:

        def hvp_fn(P_, V_, m_, n_, out_, data_):  # pragma: no cover - compiled by Numba
            if m_ != m or n_ != n:
                for i in range(m_ * n_):
                    out_[i] = np.nan
                return
            out = numba.carray(out_, (m, n))
            out[:] = 0.0
            try:
                hvp_kernel(numba.carray(P_, (m, n)), numba.carray(V_, (m, n)), out)
            except Exception:
                out[:] = np.nan

    else:

        def hvp_fn(P_, V_, m_, n_, out_, data_):  # pragma: no cover - compiled by Numba
            if m_ != m or n_ != n:
                for i in range(m_ * n_):
                    out_[i] = np.nan
                return
            P = numba.carray(P_, (m, n))
            V = numba.carray(V_, (m, n))
            out = numba.carray(out_, (m, n))
            norm_p = 0.0
            norm_v = 0.0
            for i in range(m):
                for j in range(n):
                    norm_p += P[i, j] * P[i, j]
                    norm_v += V[i, j] * V[i, j]
            if norm_v == 0.0:
                out[:] = 0.0
                return
            h = _FD_STEP * max(1.0, np.sqrt(norm_p)) / np.sqrt(norm_v)
            T = np.empty((m, n))
            G = np.empty((m, n))
            for i in range(m):
                for j in range(n):
                    T[i, j] = P[i, j] + h * V[i, j]
            fp = grad_into(T, out)
            for i in range(m):
                for j in range(n):
                    T[i, j] = P[i, j] - h * V[i, j]
            fm = grad_into(T, G)
            if not (np.isfinite(fp) and np.isfinite(fm)):
                out[:] = np.nan
                return
            inv = 0.5 / h
            for i in range(m):
                for j in range(n):
                    out[i, j] = (out[i, j] - G[i, j]) * inv

    name = callable_name(fn)
    try:
        vg_c = numba.cfunc(VG_SIG, nopython=True, error_model="numpy")(value_and_grad)
        hvp_c = numba.cfunc(HVP_SIG, nopython=True, error_model="numpy")(hvp_fn)
    except Exception as err:
        raise TypeError(
            f"cost kernel {name!r} could not be compiled into the cost callbacks; expected "
            f"{_VG_EXPECTED}" + ("" if hvp is None else f" and {_HVP_EXPECTED}")
            + f": {numba_error_summary(err)}"
        ) from None
    return Cost(
        name="cost",
        shape=shape,
        vg_cfunc=vg_c,
        hvp_cfunc=hvp_c,
        f_star=f_star,
        hvp_exact=hvp is not None,
        repr_args=name,
        spec=(_rebuild, (fn, shape, hvp, f_star)),
    )


def _rebuild(fn: Any, shape: tuple[int, int], hvp: Any, f_star: Any) -> Cost:
    return cost(shape, hvp, f_star=f_star)(fn)
