r"""The vector case: one hidden layer of width ``k`` on a scalar cost (section 3 of the paper).

The network is ``z = w2 w1`` with ``w1`` of shape ``(k, 1)`` and ``w2`` of shape ``(1, k)``; the
gradient flow of ``g(w1, w2) = f(w2 w1)`` is eq. 7,

.. math:: \dot w_1 = -f'(z)\, w_2^\top, \qquad \dot w_2^\top = -f'(z)\, w_1 .

Everything the flow does to the product ``z`` is captured by two numbers: the initial product
``z0`` and the conserved imbalance ``c = (|w1|^2 + |w2|^2)^2 - 4 z^2`` (``2 tr(C^2) - tr(C)^2``
in the paper's notation), since ``z`` obeys the scalar ODE of eq. 19,

.. math:: \dot z = -f'(z) \sqrt{c + 4 z^2} .

This module provides that reduced flow (`reduced_flow`), initial weights with a prescribed
``(z0, c)`` (`init_with`), the centre-stable distance of Proposition 5
(`center_stable_distance`, `sign`, `predict`) and the time-change of the proof of Proposition 7
(`time_to_loss`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from scipy.integrate import quad, solve_ivp

from . import _validate as _v
from .costs import Cost

__all__ = [
    "ReducedFlow",
    "center_stable_distance",
    "imbalance",
    "init_with",
    "predict",
    "reduced_flow",
    "sign",
    "time_to_loss",
]


# -- validation ---------------------------------------------------------------------------------


def _check_cost(cost: Any) -> Cost:
    if not isinstance(cost, Cost):
        raise TypeError(
            f"cost must be an overflow.costs.Cost (e.g. overflow.costs.scalar(...)), got {type(cost).__name__}"
        )
    if tuple(cost.shape) != (1, 1):
        raise ValueError(f"the vector case needs a scalar cost of shape (1, 1), got shape {cost.shape}")
    return cost


def _vector(w: Any, name: str, column: bool) -> np.ndarray:
    if isinstance(w, (str, bytes)):
        raise TypeError(f"{name} must be a real array, got {type(w).__name__}")
    arr = np.asarray(w)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{name} must be a real array, got dtype {arr.dtype}")
    want = "(k, 1)" if column else "(1, k)"
    if arr.ndim == 1:
        out = arr
    elif arr.ndim == 2 and column and arr.shape[1] == 1:
        out = arr[:, 0]
    elif arr.ndim == 2 and not column and arr.shape[0] == 1:
        out = arr[0, :]
    else:
        raise ValueError(f"{name} must have shape {want} or be 1-D (depth-2 vector case), got shape {arr.shape}")
    if out.size == 0:
        raise ValueError(f"{name} must have at least one entry (width k >= 1)")
    out = np.asarray(out, dtype=np.float64)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{name} must be finite")
    return out


def _pair(w1: Any, w2: Any) -> tuple[np.ndarray, np.ndarray]:
    a = _vector(w1, "w1", column=True)
    b = _vector(w2, "w2", column=False)
    if a.size != b.size:
        raise ValueError(f"w1 and w2 must have the same width k, got {a.size} and {b.size}")
    return a, b


_real = _v.finite_real


def _imbalance_value(c: Any) -> float:
    c = _real(c, "c")
    if c < 0:
        raise ValueError(f"the imbalance c = (|w1|^2 + |w2|^2)^2 - 4 z^2 is >= 0, got c = {c}")
    return c


class _Scalar:
    """``f`` and ``f'`` of a 1x1 cost through its compiled ``value_and_grad`` (one call each)."""

    def __init__(self, cost: Cost) -> None:
        self.cost = cost
        self._P = np.zeros((1, 1))

    def vg(self, z: float) -> tuple[float, float]:
        self._P[0, 0] = z
        val, grad = self.cost.value_and_grad(self._P)
        return float(val), float(grad[0, 0])

    def f(self, z: float) -> float:
        return self.vg(z)[0]

    def df(self, z: float) -> float:
        return self.vg(z)[1]


# -- invariants and the centre-stable manifold --------------------------------------------------


def sign(cost: Cost) -> int:
    """``s = sign f'(0)``, the sign that fixes the centre-stable manifold of the saddle (Prop. 5).

    Parameters
    ----------
    cost : Cost
        A scalar cost, ``cost.shape == (1, 1)``.

    Returns
    -------
    int
        ``+1`` or ``-1``.

    Raises
    ------
    TypeError, ValueError
        If ``cost`` is not a 1x1 overflow cost; ValueError if ``f'(0)`` is 0 or not finite: the
        centre-stable analysis of Proposition 5 / Corollary 6 needs ``f'(0) != 0`` (the origin is then
        a strict saddle of ``g``).
    """
    df0 = _Scalar(_check_cost(cost)).df(0.0)
    if not math.isfinite(df0):
        raise ValueError(f"f'(0) is not finite ({df0}); the centre-stable analysis (Prop. 5) needs f'(0) != 0")
    if df0 == 0.0:
        raise ValueError(
            "f'(0) == 0: the centre-stable analysis of Proposition 5 / Corollary 6 needs f'(0) != 0 "
            "(s = sign f'(0) is undefined)"
        )
    return 1 if df0 > 0 else -1


def imbalance(w1: Any, w2: Any) -> float:
    r"""The conserved imbalance ``c = (|w1|^2 + |w2|^2)^2 - 4 (w2 w1)^2 >= 0``.

    It equals ``2 tr(C^2) - tr(C)^2`` of Proposition 7 and ``D = S^2 - 4 z^2`` of the proof of
    Proposition 5 (appendix A.4), which shows ``D`` is constant along the flow (eq. 7) and
    ``D = |u|^2 |v|^2`` with ``u = w1 - s w2^T``, ``v = w1 + s w2^T``.

    Parameters
    ----------
    w1 : array_like
        First layer, shape ``(k, 1)`` or ``(k,)``.
    w2 : array_like
        Second layer, shape ``(1, k)`` or ``(k,)``.

    Returns
    -------
    float
        ``c``, computed as ``|w1 - w2^T|^2 |w1 + w2^T|^2`` (the same number, but without the
        cancellation of ``S^2 - 4 z^2`` near balance), hence always ``>= 0``.
    """
    a, b = _pair(w1, w2)
    return float(np.dot(a - b, a - b) * np.dot(a + b, a + b))


def center_stable_distance(w1: Any, w2: Any, cost: Cost) -> float:
    r"""``d(w1, w2) = |w1 - s w2^T|`` with ``s = sign f'(0)`` (Proposition 5).

    With ``u = w1 - s w2^T`` and ``v = w1 + s w2^T`` the flow reads ``u' = s f'(z) u`` and
    ``v' = -s f'(z) v`` (appendix A.4), so ``d(t) = d(0) exp(s \int_0^t f'(z) dt)``: ``d = 0``
    (the centre-stable manifold of the saddle at the origin) is invariant, and ``d > 0`` stays
    positive.

    Parameters
    ----------
    w1, w2 : array_like
        Layers of shapes ``(k, 1)`` and ``(1, k)`` (or 1-D of length ``k``).
    cost : Cost
        A 1x1 cost with ``f'(0) != 0``.

    Returns
    -------
    float
        ``d >= 0``.
    """
    s = sign(cost)
    a, b = _pair(w1, w2)
    return float(np.linalg.norm(a - s * b))


def predict(w1: Any, w2: Any, cost: Cost, tol: float = 1e-12) -> str:
    r"""Predict the limit of the flow from ``(w1, w2)`` by Proposition 5 / Corollary 6.

    Parameters
    ----------
    w1, w2 : array_like
        Initial layers, shapes ``(k, 1)`` and ``(1, k)`` (or 1-D).
    cost : Cost
        A 1x1 cost with ``f'(0) != 0``.
    tol : float
        ``d`` counts as zero when ``d <= tol * max(1, |w1| + |w2|)``.

    Returns
    -------
    str
        ``"critical_of_f"`` when ``d > 0``: the flow converges to a point with ``f'(z) = 0``
        (Proposition 5). ``"saddle"`` when ``d = 0``: the flow stays on the centre-stable manifold
        ``w1 = s w2^T`` and, when ``f`` satisfies a PD-PLI with ``f(0) > f*`` (Corollary 6), converges
        to the saddle at the origin (``z -> 0``).

    Notes
    -----
    Without the PD-PLI assumption a trajectory with ``d = 0`` may instead stop at a critical point
    of ``f`` on the ray ``s z > 0`` that lies between ``z0`` and 0; this function does not look for
    one.
    """
    tol = _real(tol, "tol")
    if tol < 0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    a, b = _pair(w1, w2)
    d = center_stable_distance(a, b, cost)
    scale = max(1.0, float(np.linalg.norm(a) + np.linalg.norm(b)))
    return "saddle" if d <= tol * scale else "critical_of_f"


# -- initial weights with prescribed product and imbalance --------------------------------------


def init_with(
    z0: float, c: float, width: int, seed: int | np.random.Generator | None = 0
) -> tuple[np.ndarray, np.ndarray]:
    r"""Random layers ``(w1, w2)`` with ``w2 w1 = z0`` and imbalance ``c`` (up to rounding).

    In the coordinates ``u = w1 - w2^T``, ``v = w1 + w2^T`` of appendix A.4 (with ``s = 1``),
    ``S = (|u|^2 + |v|^2) / 2``, ``z = (|v|^2 - |u|^2) / 4`` and ``c = S^2 - 4 z^2 = |u|^2 |v|^2``,
    whatever the directions of ``u`` and ``v``. So with ``S = sqrt(c + 4 z0^2)`` (``>= 2 |z0|``) we
    take ``|u|^2 = S - 2 z0``, ``|v|^2 = S + 2 z0`` and independent uniformly random directions.

    Parameters
    ----------
    z0 : float
        The product ``w2 w1``.
    c : float
        The imbalance ``(|w1|^2 + |w2|^2)^2 - 4 z0^2``, ``>= 0`` (eq. 19, Prop. 7).
    width : int
        ``k >= 1``. Width 1 works too (``u`` and ``v`` are then random signs times their norms).
    seed : int, Generator or None
        Seed for ``numpy.random.default_rng``.

    Returns
    -------
    (ndarray, ndarray)
        ``w1`` of shape ``(k, 1)`` and ``w2`` of shape ``(1, k)``, ready for ``overflow.integrate``
        on ``Network(cost, depth=2, width=k)``.
    """
    from .network import _rng

    z0 = _real(z0, "z0")
    c = _imbalance_value(c)
    width = _v.integer(width, "width")
    _v.check_memory(32 * width, "width", width, f"the layers and directions of width {width}")
    rng = _rng(seed)
    S = math.sqrt(c + 4.0 * z0 * z0)
    nu = math.sqrt(max(0.0, S - 2.0 * z0))
    nv = math.sqrt(max(0.0, S + 2.0 * z0))

    def direction() -> np.ndarray:
        while True:
            e = rng.standard_normal(int(width))
            n = float(np.linalg.norm(e))
            if n > 1e-8:
                return e / n

    u = nu * direction()
    v = nv * direction()
    w1 = 0.5 * (v + u)
    w2 = 0.5 * (v - u)
    return w1.reshape(-1, 1), w2.reshape(1, -1)


# -- the reduced flow (eq. 19) ------------------------------------------------------------------


class ReducedFlow(NamedTuple):
    """Solution of the reduced flow ``z' = -f'(z) sqrt(c + 4 z^2)`` (eq. 19)."""

    t: np.ndarray
    """Times."""
    z: np.ndarray
    """Product ``z(t) = w2(t) w1(t)``."""
    loss: np.ndarray
    """``f(z(t))``."""
    status: int
    """``scipy.integrate.solve_ivp`` status (0: reached the end, -1: failed)."""
    message: str
    """The solver's message."""


def reduced_flow(
    cost: Cost,
    z0: float,
    c: float,
    t_span: Sequence[float],
    t_eval: Sequence[float] | None = None,
    rtol: float = 1e-10,
    atol: float = 1e-12,
) -> ReducedFlow:
    r"""Integrate the product's own ODE, ``z' = -f'(z) sqrt(c + 4 z^2)`` (eq. 19).

    For any width ``k``, the product ``z(t) = w2(t) w1(t)`` of the full flow (eq. 7) from weights
    with ``w2 w1 = z0`` and imbalance ``c`` follows this scalar ODE (proof of Proposition 7).

    Parameters
    ----------
    cost : Cost
        A 1x1 cost; ``f'`` comes from its compiled ``value_and_grad``.
    z0 : float
        Initial product.
    c : float
        Imbalance, ``>= 0`` (see `imbalance`).
    t_span : (float, float)
        ``(t0, t1)`` with ``t0 < t1``.
    t_eval : array_like, optional
        Times at which to save (inside ``t_span``); by default every accepted step.
    rtol, atol : float
        Tolerances of ``scipy.integrate.solve_ivp`` (method ``"DOP853"``).

    Returns
    -------
    ReducedFlow
        ``t, z, loss, status, message``.
    """
    fs = _Scalar(_check_cost(cost))
    z0 = _real(z0, "z0")
    c = _imbalance_value(c)
    from .integrate import _check_t_eval, _check_t_span

    t0, t1 = _check_t_span(t_span)
    te = None if t_eval is None else _check_t_eval(t_eval, t0, t1)
    rtol, atol = _v.positive(rtol, "rtol"), _v.positive(atol, "atol")

    def rhs(_t: float, y: np.ndarray) -> np.ndarray:
        z = y[0]
        return np.array([-fs.df(z) * math.sqrt(c + 4.0 * z * z)])

    sol = solve_ivp(rhs, (t0, t1), [z0], method="DOP853", t_eval=te, rtol=rtol, atol=atol)
    z = np.asarray(sol.y[0], dtype=np.float64)
    loss = np.array([fs.f(float(x)) for x in z])
    return ReducedFlow(
        t=np.asarray(sol.t, dtype=np.float64), z=z, loss=loss, status=int(sol.status), message=str(sol.message)
    )


# -- time to a loss level (time change of the proof of Prop. 7) ---------------------------------


def _tau_endpoint(fs: _Scalar, z0: float, target: float, rtol: float, atol: float, tau_max: float) -> float | None:
    """Follow ``dz/dtau = -f'(z)`` from ``z0`` until ``f(z) = target``; None if it never gets there."""

    def rhs(_tau: float, y: np.ndarray) -> np.ndarray:
        return np.array([-fs.df(y[0])])

    def hit(_tau: float, y: np.ndarray) -> float:
        return fs.f(y[0]) - target

    hit.terminal = True  # type: ignore[attr-defined]
    hit.direction = -1  # type: ignore[attr-defined]
    tau0, z, span = 0.0, z0, 1.0
    while tau0 < tau_max:
        tau1 = min(tau0 + span, tau_max)
        sol = solve_ivp(rhs, (tau0, tau1), [z], method="DOP853", events=hit, rtol=rtol, atol=atol)
        if sol.status == 1 and sol.t_events[0].size:
            return float(sol.y_events[0][0][0])
        if sol.status != 0:
            return None
        z_new = float(sol.y[0, -1])
        val, df = fs.vg(z_new)
        if not (math.isfinite(val) and math.isfinite(df)):
            return None
        # stalled at a critical point of f whose value is above the target
        # z no longer moves (to the solver's tolerance) over a doubled span: it has settled at a
        # critical point of f whose value is above the target
        if df == 0.0 or abs(z_new - z) <= 10.0 * (atol + rtol * abs(z)):
            return None
        z, tau0, span = z_new, tau1, span * 2.0
    return None


def time_to_loss(
    cost: Cost, z0: float, c: float, target: float, rtol: float = 1e-12, atol: float = 1e-14, tau_max: float = 1e12
) -> float:
    r"""First time at which the loss ``f(z(t))`` of the flow from ``(z0, c)`` reaches ``target``.

    Uses the time change of the proof of Proposition 7: with ``d tau / dt = sqrt(c + 4 z^2)`` the
    product follows ``dz/dtau = -f'(z)`` whatever ``c``; the endpoint ``z*`` with ``f(z*) = target``
    is found on that monotone path (an event of the tau-flow), and then

    .. math:: t = \int_{z_0}^{z^*} \frac{dz}{-f'(z) \sqrt{c + 4 z^2}}

    by ``scipy.integrate.quad``.

    Parameters
    ----------
    cost : Cost
        A 1x1 cost.
    z0 : float
        Initial product.
    c : float
        Imbalance, ``>= 0``.
    target : float
        Loss level.
    rtol, atol : float
        Tolerances of the tau-flow that locates ``z*``.
    tau_max : float
        Give up (return inf) after this much tau-time without reaching the target.

    Returns
    -------
    float
        ``0.0`` if ``f(z0) <= target``; ``inf`` if the target is never reached (it lies below the
        value of the critical point the flow converges to, or ``c = 0`` and reaching it would need
        ``z`` to cross the saddle ``z = 0``, which the balanced flow cannot do).
    """
    fs = _Scalar(_check_cost(cost))
    z0 = _real(z0, "z0")
    c = _imbalance_value(c)
    target = _real(target, "target")
    rtol, atol = _v.positive(rtol, "rtol"), _v.positive(atol, "atol")
    tau_max = _v.positive(tau_max, "tau_max")
    f0, df0 = fs.vg(z0)
    if f0 <= target:
        return 0.0
    if df0 == 0.0 or (c == 0.0 and z0 == 0.0):
        return math.inf
    zt = _tau_endpoint(fs, z0, target, rtol, atol, float(tau_max))
    if zt is None:
        return math.inf
    if c == 0.0 and (zt == 0.0 or (zt > 0) != (z0 > 0)):
        return math.inf  # the balanced flow stops at z = 0 (dtau/dt = 2|z| vanishes there)

    def integrand(z: float) -> float:
        return 1.0 / (-fs.df(z) * math.sqrt(c + 4.0 * z * z))

    lo, hi = (z0, zt) if zt > z0 else (zt, z0)
    val, _err = quad(integrand, lo, hi, epsabs=0.0, epsrel=1e-12, limit=500)
    return float(abs(val))
