"""`integrate`: one trajectory of the gradient flow (eq. 4) by the C++ core, the GIL released."""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple, Sequence

import numpy as np

from . import _core
from . import _validate as _v
from . import events as _events
from .network import Network, _integer
from .reduced import integrate_reduced
from .result import Result

__all__ = ["integrate", "METHODS", "IMPLICIT_METHODS", "AUTO_METHOD", "ConvergenceWarning", "IntegrationInterrupted"]

#: Explicit embedded Runge-Kutta pairs: name -> (order, embedded order, dense-output order).
METHODS = {
    "bs3": (3, 2, 3),       # Bogacki-Shampine 3(2), cubic Hermite interpolant
    "dopri5": (5, 4, 4),    # Dormand-Prince 5(4), Shampine's quartic interpolant
    "tsit5": (5, 4, 4),     # Tsitouras 5(4), its quartic interpolant
    "dop853": (8, 5, 7),    # Hairer's DOP853 8(5,3), 7th-order interpolant (3 extra stages)
}
#: Implicit methods: Gauss-Legendre collocation (order, error-estimate order, dense-output order).
#: They conserve the invariants C_i to rounding; linear networks only (they need the flow's Jacobian).
IMPLICIT_METHODS = {
    "gauss4": (4, 4, 5),    # 2 stages; error by step doubling; quintic Hermite interpolant
    "gauss6": (6, 6, 5),    # 3 stages
    "rodas4": (4, 3, 3),    # Hairer & Wanner's RODAS: L-stable Rosenbrock, for stiff flows; cubic Hermite
}
#: Method "auto": this explicit pair, switched to this stiff method where the flow is stiff
#: (stability-limited steps) and back where it is not (the stiff method uses the flow's exact
#: Jacobian on linear networks, central differences of the right-hand side on activated ones).
AUTO_METHOD: tuple[str, str] = tuple(_core.AUTO_METHOD)
#: The method names that use the flow's Jacobian: the implicit methods and "auto".
JACOBIAN_METHODS = (*IMPLICIT_METHODS, "auto")


class ConvergenceWarning(UserWarning):
    """A run given ``gtol`` ended without reaching it; the message says how far ``||grad g||`` got,
    whether it had stalled, and what to change."""


class IntegrationInterrupted(KeyboardInterrupt):
    """Raised on Ctrl-C during `integrate`; ``.result`` holds everything computed until then."""

    def __init__(self, result: Result) -> None:
        super().__init__(f"integration interrupted at t = {result.t_final:.6g}")
        self.result = result


# The shared checks, under the names solve_ivp, Solver and monte_carlo import from here.
_real = _v.real
_finite_float = _v.finite_real
_positive = _v.positive


def _check_t_span(t_span: Sequence[float], allow_inf: bool = False) -> tuple[float, float]:
    """``(t0, t1)`` as floats with ``t0 < t1``; ``t1 = inf`` too where ``allow_inf``."""
    if isinstance(t_span, (str, bytes, dict)) or (isinstance(t_span, np.ndarray) and t_span.ndim != 1):
        raise ValueError(f"t_span must be a pair (t0, t1), got {_v.describe(t_span)}")
    try:
        t0, t1 = t_span
    except (TypeError, ValueError):
        raise ValueError(f"t_span must be a pair (t0, t1), got {_v.describe(t_span)}") from None
    t0 = _finite_float(t0, "t_span[0]")
    t1 = _real(t1, "t_span[1]")
    if not (math.isfinite(t1) or (allow_inf and t1 == math.inf)):
        raise ValueError(f"t_span[1] must be finite{' or +inf' if allow_inf else ''}, got {t1}")
    if not t1 > t0:
        raise ValueError(f"t_span must satisfy t0 < t1 (the flow runs forward in time), got ({t0}, {t1})")
    if math.isfinite(t1) and not math.isfinite(t1 - t0):
        # the steppers work with t1 - t0 (first step, remaining span): it must be a float too
        raise ValueError(f"t_span must have a length t1 - t0 within the float64 range, got ({t0!r}, {t1!r})")
    if math.isfinite(t1) and t1 - t0 <= 10 * math.ulp(max(abs(t0), abs(t1))):
        raise ValueError(f"t_span ({t0!r}, {t1!r}) is shorter than 10 units of rounding of t: no step can resolve it")
    return t0, t1


def _check_bool(value: object, name: str) -> None:
    """TypeError unless ``value`` is a bool (numpy's included)."""
    _v.boolean(value, name)


_NO_T_EVAL = np.zeros(0)
_RTOL_FLOOR = 100 * float(np.finfo(float).eps)


def _check_t_eval(t_eval: object, t0: float, t1: float) -> np.ndarray:
    if t_eval is None:
        return _NO_T_EVAL
    te = _v.float_array(t_eval, "t_eval", "a 1-D array of real times", allow_bool=False)
    if te.ndim == 0:
        te = te.reshape(1)
    if te.ndim != 1:
        raise ValueError(f"t_eval must be 1-D, got shape {te.shape}")
    if te.size == 0:
        raise ValueError("t_eval is empty: pass None to save every step")
    # Fast path: strictly increasing with finite ends means every entry is finite (NaN fails every
    # comparison); only on failure work out which rule was broken.
    if not ((te.size == 1 or (te[1:] > te[:-1]).all()) and math.isfinite(te[0]) and math.isfinite(te[-1])):
        if not np.all(np.isfinite(te)):
            raise ValueError("t_eval contains NaN or infinite values")
        raise ValueError("t_eval must be strictly increasing")
    if te[0] < t0 or te[-1] > t1:
        raise ValueError(f"t_eval must lie inside t_span = ({t0}, {t1}), got [{te[0]}, {te[-1]}]")
    return np.ascontiguousarray(te)


def _check_implicit(net: Network, method: str) -> None:
    """The Gauss-Legendre methods need the flow's exact Jacobian: linear networks only. rodas4 and
    ``"auto"`` also run on activated networks (their Jacobian-vector products by central
    differences)."""
    if net.activation is not None and method.startswith("gauss"):
        raise ValueError(f"method {method!r} needs the flow's exact Jacobian, implemented for linear networks only "
                         f"(activation={net.activation!r})")


class RunOptions(NamedTuple):
    """Validated integration options, as the core takes them (0 means "not set" for gtol and first_step)."""

    t0: float
    t1: float
    method: str
    rtol: float
    atol: float
    t_eval: np.ndarray
    gtol: float
    first_step: float
    max_step: float
    max_steps: int
    max_norm: float


def check_options(t_span: Sequence[float], method: str, rtol: float, atol: float, t_eval: Sequence[float] | None,
                  gtol: float | None, first_step: float | None, max_step: float, max_steps: int, max_norm: float,
                  extra_methods: tuple[str, ...] = (), terminal_event: bool = False) -> RunOptions:
    """Checks the options shared by `integrate` and ``monte_carlo``; raises naming the bad argument."""
    t0, t1 = _check_t_span(t_span, allow_inf=True)
    if not isinstance(method, str) or (method not in METHODS and method not in extra_methods):
        raise ValueError(f"unknown method {method!r}: choose one of {sorted(METHODS) + list(extra_methods)}")
    rtol = _positive(rtol, "rtol")
    atol = _positive(atol, "atol")
    if rtol < _RTOL_FLOOR:
        warnings.warn(f"rtol={rtol} is below 100 * machine epsilon; using {_RTOL_FLOOR:.3g}", stacklevel=3)
        rtol = _RTOL_FLOOR
    te = _check_t_eval(t_eval, t0, t1)
    gtol_value = 0.0 if gtol is None else _positive(gtol, "gtol")
    if math.isinf(t1) and gtol_value == 0.0 and not terminal_event:
        raise ValueError(f"t_span = ({t0}, inf) needs a rule that stops the run: pass gtol (stop once "
                         "||grad g|| <= gtol) or a terminal event")
    first = 0.0 if first_step is None else _positive(first_step, "first_step")
    max_step = _positive(max_step, "max_step", allow_inf=True)
    max_steps = _v.integer(max_steps, "max_steps", minimum=1)  # the core's int64_t
    max_norm = _positive(max_norm, "max_norm", allow_inf=True)
    return RunOptions(t0, t1, method, rtol, atol, te, gtol_value, first, max_step, int(max_steps), max_norm)


def integrate(net: Network, Ws: Sequence[np.ndarray] | np.ndarray, t_span: Sequence[float],
              method: str = "auto", rtol: float = 1e-6, atol: float = 1e-9, t_eval: Sequence[float] | None = None,
              gtol: float | None = None, first_step: float | None = None, max_step: float = math.inf,
              max_steps: int = 100_000, max_norm: float = 1e10, save_weights: bool = True,
              project: bool = False, threads: int = 1, events: object = None) -> Result:
    """Integrate the gradient flow ``dW_i/dt = -(W_N...W_{i+1})^T grad f(P) (W_{i-1}...W_1)^T`` (eq. 4).

    Parameters
    ----------
    net : Network
        The network and its cost.
    Ws : list of ndarray or ndarray
        Initial layers ``[W_1, ..., W_N]`` with ``net.shapes`` (or one flat state).
    t_span : (float, float)
        ``(t0, t1)`` with ``t0 < t1``; ``t1 = np.inf`` runs until ``gtol`` is met or a terminal
        event occurs (one of them is required then), ``max_steps`` runs out, or the run fails.
    method : {"bs3", "dopri5", "tsit5", "dop853", "auto", "gauss4", "gauss6", "rodas4", "reduced"}
        Explicit embedded Runge-Kutta pair; see `METHODS`. ``"auto"`` (the default) starts with
        dop853, watches Hairer's estimate of ``h rho(J)`` from two stages at the same time, and
        where the steps are stability-limited (the flow is stiff, as near a minimum:
        ``J = -Hess g`` spans ``lambda_max ... lambda_min``) switches to rodas4 with the exact
        Jacobian, and back once rodas4's steps are well inside dop853's stability region (power
        iterations on ``J v``); ``Result.method_steps`` and ``Result.switch_times`` say what ran
        when. ``"gauss4"``, ``"gauss6"``: Gauss-Legendre collocation (2 and 3 implicit stages,
        orders 4 and 6), the stages solved by simplified Newton with the flow's exact Jacobian (through the cost's Hessian-vector product:
        assembled and LU-factorised up to 100 weights, matrix-free GMRES on Jacobian-vector
        products above) to rounding level (corrections below 1e-15 (1 + max|w|), or stalled
        within 1e3 times that), so every invariant ``C_i`` is conserved to rounding whatever
        ``rtol``; the error is estimated by step doubling. ``"rodas4"``: Hairer & Wanner's L-stable Rosenbrock
        method of order 4(3) with the same exact Jacobian, for stiff flows (large imbalance).
        The implicit methods need linear networks. ``"reduced"`` is
        exact for the vector case (depth 2, 1x1 cost): DOP853 on eq. 19's two variables (z,
        int f'), the weights rebuilt from the u, v coordinates of section 3, at a cost independent
        of the width (there ``max_norm`` bounds ``|z|`` and ``|int f'|``).
    rtol, atol : float
        Error per step below ``atol + rtol * |y|`` in the weighted RMS norm (as scipy's ``solve_ivp``).
    t_eval : array_like, optional
        Strictly increasing times inside ``t_span`` at which to save, served by each method's
        interpolant (steps are never shortened for them). None saves every accepted step. After an
        early stop (``gtol`` met, blow-up, ...) the later points are not saved; the final state is
        always in ``Result.final_weights``.
    gtol : float, optional
        Stop with status ``"converged"`` once ``||grad g||_F <= gtol``. The stop is placed where
        ``||grad g||`` crosses ``gtol`` inside the step that crossed it (regula falsi on the
        step's interpolant, about 5-12 extra evaluations), not at that step's end; the final
        point satisfies ``||grad g|| <= gtol``. A run that ends without reaching it warns
        (`ConvergenceWarning`) with ``Result.message`` saying how far ``||grad g||`` got and
        whether it had stalled at the floor an explicit method's tolerances set on a stiff flow
        (about ``lambda_max(Hess g) * atol``; ``method="auto"`` goes below it).
    first_step : float, optional
        Initial step; by default Hairer's estimate.
    max_step : float
        Largest step allowed.
    max_steps : int
        Most accepted steps before stopping with status ``"max_steps"``.
    max_norm : float
        Stop with status ``"blowup"`` once some ``|w|`` exceeds it.
    save_weights : bool
        False saves only times, loss and gradient norm (the final weights are always kept).
    project : bool
        After every accepted step, move the weights back onto the invariant set
        ``{C_i = C_i(0)}`` by the minimal-norm Newton correction (conjugate gradients on the
        constraints' normal equations, to ~1e-15 relative), so explicit methods keep the invariants
        at rounding level. ``Result.projection`` is the largest correction made. Linear networks;
        each projection costs a few tens of right-hand sides' worth of work.
    threads : int
        Threads for this one trajectory (default 1). Above 1, each right-hand side splits its
        layer products across them (linear networks, products of at least 16,384
        multiply-adds) and the explicit methods split their vector passes (states of at least
        16,384 weights); smaller work stays on the calling thread. Worth it for wide networks
        only: on 2 cores, depth 6 and width 128 (67,584 weights) ran 1.4x faster. The result
        equals the one-thread run up to the order of the error norm's sums (bitwise where nothing
        is split). The team needs free cores: a share a helper thread has not started when the
        calling thread is done with its own runs on the calling thread, but one preempted midway
        is waited for, so with the other core busy (another process, or OpenBLAS's pool, which
        spins for ~0.1 s after a multi-threaded BLAS call; ``OPENBLAS_NUM_THREADS=1`` avoids
        that) ``threads=2`` measured 1.1-1.3x slower than one thread. For many trajectories,
        parallelise over them instead (`monte_carlo`).
    events : callable, overflow.events built-in, or a list of them, optional
        Functions ``event(t, y) -> float`` of the flat state (compiled by Numba), with scipy's
        ``terminal`` (bool or a count) and ``direction`` attributes, or the built-ins
        `overflow.events.loss_below`, ``grad_norm_below``, ``invariant_drift_above``. Their zero
        crossings are located on each step's interpolant to 1e-12 relative in t and kept in
        ``Result.t_events`` / ``Result.y_events`` (one array per event); a terminal one ends the
        run there with status ``"event"``, and is a stopping rule for ``t_span = (t0, inf)``.

    Returns
    -------
    Result
        ``t, weights, product, loss, grad_norm, status, message, nfev, naccept, nreject,
        invariant_drift`` and the final state; see `Result`.

    Raises
    ------
    IntegrationInterrupted
        On Ctrl-C, carrying the partial `Result`.

    Warns
    -----
    ConvergenceWarning
        When ``gtol`` was given and not reached.
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be an overflow.Network, got {type(net).__name__}")
    y0 = net.flatten(Ws)
    event_args, keep_alive = _events.prepare(events, y0.size, net)
    o = check_options(t_span, method, rtol, atol, t_eval, gtol, first_step, max_step, max_steps, max_norm,
                      extra_methods=("reduced", *JACOBIAN_METHODS), terminal_event=_events.any_terminal(event_args))
    if event_args and method == "reduced":
        raise ValueError("events are not supported with method='reduced' (its state is (z, int f'), not the weights)")
    if method in JACOBIAN_METHODS:
        _check_implicit(net, method)
    _check_bool(project, "project")
    if project and (net.activation is not None or method == "reduced"):
        raise ValueError("project=True needs a linear network (activation=None) and a method other than 'reduced'")
    threads = _integer(threads, "threads", minimum=1, maximum=_v.INT32_MAX)  # the core's int
    t0, t1, te, rtol, atol = o.t0, o.t1, o.t_eval, o.rtol, o.atol
    gtol_value, first, max_step, max_steps, max_norm = o.gtol, o.first_step, o.max_step, o.max_steps, o.max_norm

    if method == "reduced":
        raw = integrate_reduced(net, y0, t0, t1, te, rtol, atol, first, max_step, max_steps, gtol_value,
                                max_norm, bool(save_weights))
    else:
        with _events.reraising(keep_alive):
            raw = _core.integrate_flow(net.dims, net.cost.vg_address, net.cost.hvp_address, net.cost.data, y0, t0,
                                       t1, te, method, rtol, atol, first, max_step, max_steps, gtol_value, max_norm,
                                       bool(save_weights), net.activation or "none", bool(project), threads,
                                       event_args)
    del keep_alive  # the compiled events were needed only while the core ran
    # Every accepted state has a finite loss, so a non-finite one can only be the initial point.
    if not math.isfinite(raw["loss_final"]):
        raise ValueError(f"the cost is not finite at the initial point: f(W_N...W_1) = {raw['loss_final']}")
    result = Result(net, y0, raw, method)
    if result.status == "interrupted":
        raise IntegrationInterrupted(result)
    if gtol_value > 0 and result.status not in ("converged", "event"):  # an event is the user's own stop
        warnings.warn(result.message, ConvergenceWarning, stacklevel=2)
    return result
