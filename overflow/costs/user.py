"""User-defined costs: the `cost` decorator for Numba kernels ``fn(P) -> float`` (value only) or
``fn(P, grad) -> float`` (value and gradient), with complex-step derivatives where none are given."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba
import numpy as np
from numba import types

from .base import (
    HVP_SIG,
    MATRIX,
    VG_SIG,
    Cost,
    as_dispatcher,
    callable_name,
    check_f_star,
    check_shape,
    is_real_number_type,
    numba_error_summary,
    positional_arity,
    precheck_return,
)

__all__ = ["cost", "HVP_MODES"]

_VG_EXPECTED = "fn(P, grad) -> float (P, grad: 2-D float64 arrays of the cost's shape)"
_VALUE_EXPECTED = "fn(P) -> float (P: a 2-D float64 array of the cost's shape)"
_HVP_EXPECTED = "hvp(P, V, out) -> None (P, V, out: 2-D float64 arrays of the cost's shape)"
_FD_STEP = float(np.cbrt(np.finfo(np.float64).eps))
# Complex step: f(x + ih) = f(x) + ih f'(x) - h^2 f''(x)/2 + ..., so Im f(x + ih) / h = f'(x) + O(h^2)
# with no subtraction: at h = 1e-20 the truncation is far below rounding for any reasonable f.
_CS_STEP = 1e-20
CMATRIX = types.Array(types.complex128, 2, "C")

#: Values of ``hvp`` that select how a missing Hessian-vector product is derived.
HVP_MODES = ("auto", "complex-step", "central-difference")


def cost(
    shape: tuple[int, int],
    hvp: Callable[[np.ndarray, np.ndarray, np.ndarray], None] | str | None = None,
    *,
    f_star: float | None = None,
) -> Callable[[Callable[..., float]], Cost]:
    r"""Decorator turning a Numba kernel into a `Cost`.

    Two kernel forms are accepted:

    - ``fn(P) -> float``: the value alone. The gradient is derived by complex-step
      differentiation, one complex evaluation per entry of ``P``:
      :math:`\partial f / \partial P_{ij} = \operatorname{Im} f(P + i h E_{ij}) / h`,
      :math:`h = 10^{-20}`, exact to rounding (no subtractive cancellation).
    - ``fn(P, grad) -> float``: writes :math:`\nabla f(P)` into ``grad`` (zero-filled before the
      call) and returns :math:`f(P)`.

    ``P`` is an ``(m, n)`` float64 array view (read it only). Returning NaN or inf (or raising
    inside the kernel) means "``P`` is outside the domain". The kernel must compile in Numba
    nopython mode; a plain Python function is ``numba.njit``-ed with ``error_model="numpy"``.
    Compilation happens at decoration time, so a bad kernel fails here, not in the integrator.

    Complex-step derivatives are exact when the kernel, run on a complex128 ``P``, computes the
    analytic continuation of ``f``: only analytic operations of ``P`` (``+``, ``-``, ``*``, ``/``, powers, exp,
    log, trig and hyperbolic functions, sums, matrix products). ``abs``, ``real``, ``imag``,
    ``conj``, ``max``/``min`` and branches on values of ``P`` are not analytic and give wrong
    derivatives; comparisons on complex values do not compile, which is reported here. At
    construction every complex-step derivative is also checked against a central difference at a
    test point, which catches non-analytic kernels that do compile and complex operations that
    lose the tiny imaginary part (Numba's complex ``z**3``: write ``z*z*z``). A value-only kernel
    that fails is refused; ``hvp="auto"`` falls back to the central difference.

    Parameters
    ----------
    shape : tuple[int, int]
        ``(m, n)``, the shape of ``P``.
    hvp : callable or {"auto", "complex-step", "central-difference"}, optional
        A kernel ``hvp(P, V, out)`` writing :math:`\nabla^2 f(P)[V]` into ``out`` (zero-filled
        before the call), or how to derive it:

        - ``"complex-step"``: :math:`\operatorname{Im} \nabla f(P + i h V) / h` from a gradient
          kernel run on complex input, exact to rounding; a kernel that cannot run on complex
          input raises TypeError.
        - ``"central-difference"``:
          :math:`(\nabla f(P + hV) - \nabla f(P - hV)) / 2h`,
          :math:`h = \sqrt[3]{\varepsilon}\max(1, \lVert P\rVert_F)/\lVert V\rVert_F` (``hvp_exact``
          False).
        - ``"auto"`` (or None): complex step when the kernel has a gradient and compiles for
          complex input, else the central difference (of the exact complex-step gradient for a
          value-only kernel). ``Cost.hvp_exact`` says which was chosen.
    f_star : float, optional
        The global minimum value of ``f`` if known.

    Returns
    -------
    callable
        The decorator; applied to ``fn`` it returns a `Cost` of the given shape.

    Raises
    ------
    ValueError
        If ``shape`` is not a pair of positive integers, or ``hvp`` is an unknown mode.
    TypeError
        If ``fn`` (or ``hvp``) does not have one of the signatures above or Numba cannot compile
        it for 2-D float64 arrays, or complex-step derivatives are needed (a value-only kernel, or
        ``hvp="complex-step"``) and the kernel cannot run on complex input.

    Examples
    --------
    >>> @cost(shape=(2, 3))
    ... def half_norm(P, grad):
    ...     grad[:] = P
    ...     return 0.5 * (P * P).sum()
    >>> @cost(shape=(2, 3))
    ... def half_norm_value(P):          # gradient and hvp by complex step
    ...     return 0.5 * (P * P).sum()
    """
    shape = check_shape(shape)
    check_f_star(f_star)  # at decoration time, before the kernel's compilation (seconds)
    if hvp is None:
        hvp = "auto"
    if isinstance(hvp, str):
        if hvp not in HVP_MODES:
            raise ValueError(f"hvp must be a callable {_HVP_EXPECTED} or one of {HVP_MODES}, got {hvp!r}")
    elif not callable(hvp):
        raise TypeError(f"hvp must be a callable {_HVP_EXPECTED} or one of {HVP_MODES}, got {type(hvp).__name__}")

    def decorator(fn: Callable[..., float]) -> Cost:
        return _build(fn, shape, hvp, f_star)

    return decorator


def _kernel(fn: Any, role: str, arities: tuple[int, ...], expected: str, number_return: bool) -> tuple[Any, int]:
    name = callable_name(fn)
    if not callable(fn):
        raise TypeError(f"cost {role} must be a callable {expected}, got {type(fn).__name__}")
    arity = positional_arity(fn)
    if arity not in arities:
        raise TypeError(
            f"cost {role} {name!r} must take {' or '.join(map(str, arities))} positional parameters: {expected}"
        )
    try:
        disp = as_dispatcher(fn, f"cost {role} {name!r}")
        ret = precheck_return(disp, (MATRIX,) * arity)
    except Exception as err:
        raise TypeError(
            f"cost {role} {name!r} cannot be compiled by Numba (nopython) as {expected}: {numba_error_summary(err)}"
        ) from None
    if number_return and ret is not None and not is_real_number_type(ret):
        raise TypeError(f"cost {role} {name!r} must return a real number: {expected}; it returns {ret}")
    return disp, arity


def _complex_ready(disp: Any, arity: int, name: str, needs_complex_return: bool) -> str | None:
    """None when ``disp`` compiles for complex128 input (returning a complex value when
    ``needs_complex_return``), else the reason."""
    try:
        disp.compile((CMATRIX,) * arity)
    except Exception as err:
        return f"kernel {name!r} cannot run on complex input: {numba_error_summary(err, 600)}"
    cres = disp.overloads.get((CMATRIX,) * arity)
    ret = None if cres is None else cres.signature.return_type
    if needs_complex_return and ret is not None and not isinstance(ret, types.Complex):
        return (
            f"kernel {name!r} returns {ret} on complex input, so its imaginary part is lost "
            "(abs, real or float() of a complex value are not analytic)"
        )
    return None


def _build(fn: Any, shape: tuple[int, int], hvp: Any, f_star: Any) -> Cost:
    m, n = shape
    kernel, arity = _kernel(fn, "kernel", (1, 2), f"{_VALUE_EXPECTED} or {_VG_EXPECTED}", True)
    name = callable_name(fn)
    if arity == 1:
        why = _complex_ready(kernel, 1, name, True)
        if why is None:
            grad_into = _complex_step_gradient(kernel, m, n)
            why = _probe_gradient(grad_into, kernel, shape, name)
        if why is not None:
            raise TypeError(
                f"cost: the gradient of a value-only kernel is derived by complex step, but the {why}; "
                f"write it as {_VG_EXPECTED} instead"
            )
    else:
        grad_into = _given_gradient(kernel)

    if callable(hvp):
        hvp_kernel, _ = _kernel(hvp, "hvp", (3,), _HVP_EXPECTED, False)
        hvp_into, exact = _given_hvp(hvp_kernel), True
    else:
        why = "it has no gradient kernel to differentiate" if arity == 1 else _complex_ready(kernel, 2, name, False)
        if why is None and hvp != "central-difference":
            hvp_into = _complex_step_hvp(kernel, m, n)
            why = _probe_hvp(hvp_into, grad_into, shape, name)
        if hvp == "complex-step" and why is not None:
            raise TypeError(f"cost: hvp='complex-step' needs the kernel on complex input, but {why}")
        if hvp != "central-difference" and why is None:
            exact = True
        else:
            hvp_into, exact = _central_difference_hvp(grad_into, m, n), False

    def value_and_grad(P_, m_, n_, grad_, data_):  # pragma: no cover - compiled by Numba
        if m_ != m or n_ != n:
            for i in range(m_ * n_):
                grad_[i] = np.nan
            return np.nan
        return grad_into(numba.carray(P_, (m, n)), numba.carray(grad_, (m, n)))

    def hvp_fn(P_, V_, m_, n_, out_, data_):  # pragma: no cover - compiled by Numba
        if m_ != m or n_ != n:
            for i in range(m_ * n_):
                out_[i] = np.nan
            return
        hvp_into(numba.carray(P_, (m, n)), numba.carray(V_, (m, n)), numba.carray(out_, (m, n)))

    try:
        vg_c = numba.cfunc(VG_SIG, nopython=True, error_model="numpy")(value_and_grad)
        hvp_c = numba.cfunc(HVP_SIG, nopython=True, error_model="numpy")(hvp_fn)
    except Exception as err:
        raise TypeError(
            f"cost kernel {name!r} could not be compiled into the cost callbacks; expected "
            f"{_VALUE_EXPECTED if arity == 1 else _VG_EXPECTED}"
            + ("" if not callable(hvp) else f" and {_HVP_EXPECTED}")
            + f": {numba_error_summary(err)}"
        ) from None
    return Cost(
        name="cost",
        shape=shape,
        vg_cfunc=vg_c,
        hvp_cfunc=hvp_c,
        f_star=f_star,
        hvp_exact=exact,
        repr_args=name,
        spec=(_rebuild, (fn, shape, hvp, f_star)),
    )


# -- probes: complex step agrees with a central difference at a test point ----------------------
# A kernel can compile for complex input and still lose the tiny imaginary part: Numba's complex
# z**3 goes through polar form (its imaginary part at z = -1.3 + 1e-20i is rounding noise), and
# abs/real-valued branches are not analytic. Such kernels are caught here, at construction.

_PROBE_RTOL = 1e-5  # central differences with h ~ 1e-6 agree to ~1e-10 relative; garbage is far off
_FD_PROBE = 1e-6


def _probe_points(shape: tuple[int, int]) -> list[np.ndarray]:
    rng = np.random.default_rng(20260)
    return [0.5 * rng.standard_normal(shape), np.full(shape, 0.1), np.zeros(shape)]


def _disagree(cs: np.ndarray, fd: np.ndarray) -> bool:
    scale = 1.0 + float(np.max(np.abs(fd)))
    return bool(np.max(np.abs(cs - fd)) > _PROBE_RTOL * scale)


def _probe_gradient(grad_into: Any, kernel: Any, shape: tuple[int, int], name: str) -> str | None:
    for P in _probe_points(shape):
        G = np.empty(shape)
        if not np.isfinite(grad_into(P, G)) or not np.all(np.isfinite(G)):
            continue  # outside the domain: try another point
        fd = np.empty(shape)
        for idx in np.ndindex(*shape):
            h = _FD_PROBE * max(1.0, abs(P[idx]))
            Pp, Pm = P.copy(), P.copy()
            Pp[idx] += h
            Pm[idx] -= h
            fd[idx] = (float(kernel(Pp)) - float(kernel(Pm))) / (Pp[idx] - Pm[idx])
        if np.all(np.isfinite(fd)) and _disagree(G, fd):
            return (
                f"complex step through kernel {name!r} disagrees with a central difference at a test point "
                f"(max gap {np.max(np.abs(G - fd)):.3g}): it is not analytic in complex arithmetic (abs, real, "
                "max or branches on P) or a complex operation loses the imaginary part (write integer powers as "
                "products, z*z*z rather than z**3)"
            )
        return None
    return None


def _probe_hvp(hvp_into: Any, grad_into: Any, shape: tuple[int, int], name: str) -> str | None:
    V = np.random.default_rng(20261).standard_normal(shape)
    for P in _probe_points(shape):
        out, Gp, Gm = np.empty(shape), np.empty(shape), np.empty(shape)
        hvp_into(P, V, out)
        h = _FD_PROBE * max(1.0, float(np.linalg.norm(P))) / float(np.linalg.norm(V))
        fp, fm = grad_into(P + h * V, Gp), grad_into(P - h * V, Gm)
        if not (np.isfinite(fp) and np.isfinite(fm) and np.all(np.isfinite(out))):
            continue
        fd = (Gp - Gm) / (2 * h)
        if _disagree(out, fd):
            return (
                f"the complex-step Hessian-vector product through kernel {name!r} disagrees with a central "
                f"difference at a test point (max gap {np.max(np.abs(out - fd)):.3g}): the gradient kernel is "
                "not analytic in complex arithmetic, or a complex operation loses the imaginary part (write "
                "integer powers as products)"
            )
        return None
    return None


# -- the pieces, each a Numba function of (m, n) arrays ------------------------------------------


def _given_gradient(kernel: Any) -> Any:
    @numba.njit(error_model="numpy")
    def grad_into(P, G):  # pragma: no cover - compiled by Numba
        """G <- grad f(P); returns f(P) (NaN when the kernel raises)."""
        G[:] = 0.0
        try:
            v = float(kernel(P, G))
        except Exception:
            v = np.nan
        return v

    return grad_into


def _complex_step_gradient(kernel: Any, m: int, n: int) -> Any:
    @numba.njit(error_model="numpy")
    def grad_into(P, G):  # pragma: no cover - compiled by Numba
        """G <- grad f(P) by complex step (m n complex evaluations); returns f(P)."""
        try:
            v = float(kernel(P))
        except Exception:
            v = np.nan
        if not np.isfinite(v):
            G[:] = np.nan
            return v
        Pc = np.empty((m, n), dtype=np.complex128)
        for i in range(m):
            for j in range(n):
                Pc[i, j] = P[i, j]
        for i in range(m):
            for j in range(n):
                Pc[i, j] = complex(P[i, j], _CS_STEP)
                try:
                    G[i, j] = kernel(Pc).imag / _CS_STEP
                except Exception:
                    G[i, j] = np.nan
                Pc[i, j] = P[i, j]
        return v

    return grad_into


def _given_hvp(hvp_kernel: Any) -> Any:
    @numba.njit(error_model="numpy")
    def hvp_into(P, V, out):  # pragma: no cover - compiled by Numba
        out[:] = 0.0
        try:
            hvp_kernel(P, V, out)
        except Exception:
            out[:] = np.nan

    return hvp_into


def _complex_step_hvp(kernel: Any, m: int, n: int) -> Any:
    @numba.njit(error_model="numpy")
    def hvp_into(P, V, out):  # pragma: no cover - compiled by Numba
        """out <- Im grad f(P + i h V) / h, the step scaled so that ||h V|| = 1e-20."""
        norm_v = 0.0
        for i in range(m):
            for j in range(n):
                norm_v += V[i, j] * V[i, j]
        if norm_v == 0.0:
            out[:] = 0.0
            return
        h = _CS_STEP / np.sqrt(norm_v)
        Pc = np.empty((m, n), dtype=np.complex128)
        Gc = np.zeros((m, n), dtype=np.complex128)
        for i in range(m):
            for j in range(n):
                Pc[i, j] = complex(P[i, j], h * V[i, j])
        try:
            kernel(Pc, Gc)
        except Exception:
            out[:] = np.nan
            return
        for i in range(m):
            for j in range(n):
                out[i, j] = Gc[i, j].imag / h

    return hvp_into


def _central_difference_hvp(grad_into: Any, m: int, n: int) -> Any:
    @numba.njit(error_model="numpy")
    def hvp_into(P, V, out):  # pragma: no cover - compiled by Numba
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

    return hvp_into


def _rebuild(fn: Any, shape: tuple[int, int], hvp: Any, f_star: Any) -> Cost:
    return cost(shape, hvp, f_star=f_star)(fn)
