"""`integrate`: one trajectory of the gradient flow (eq. 4) by the C++ core, the GIL released."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from . import _core
from . import _options as _o
from . import _validate as _v
from . import events as _events
from ._options import AUTO_METHOD, IMPLICIT_METHODS, JACOBIAN_METHODS, METHODS, RunOptions  # noqa: F401 (re-exported)
from .activations import is_homogeneous
from .network import Network, _integer
from .reduced import integrate_reduced
from .result import Result

__all__ = ["integrate", "METHODS", "IMPLICIT_METHODS", "AUTO_METHOD", "ConvergenceWarning", "IntegrationInterrupted"]


class ConvergenceWarning(UserWarning):
    """A run given ``gtol`` ended without reaching it; the message says how far ``||grad g||`` got,
    whether it had stalled, and what to change."""


class IntegrationInterrupted(KeyboardInterrupt):
    """Raised on Ctrl-C during `integrate`; ``.result`` holds everything computed until then."""

    def __init__(self, result: Result) -> None:
        super().__init__(f"integration interrupted at t = {result.t_final:.6g}")
        self.result = result


# The checks under the names plot.py and vector.py import from here; they live in `_options`.
_check_t_span = _o.check_t_span
_check_t_eval = _o.check_t_eval
_RTOL_FLOOR = _o.RTOL_FLOOR
_D = _o.defaults("integrate")


def _check_project(net: Network, method: str) -> None:
    """``project=True`` projects onto the invariants the core knows: the ``C_i`` of the linear network and
    the per-neuron invariants of a positively homogeneous activation (linear, relu, leaky_relu) on data or
    on the identity input; the reduced method's state is not the weights."""
    if not is_homogeneous(net.activation) or method == "reduced":
        raise ValueError(
            "project=True needs a linear network or a positively homogeneous activation (linear, relu, leaky_relu: "
            f"the per-neuron invariants) and a method other than 'reduced', got {net!r} with method {method!r}"
        )


@_o.document("integrate")
def integrate(
    net: Network,
    Ws: Sequence[np.ndarray] | np.ndarray,
    t_span: Sequence[float],
    method: str = _D.method,
    *,
    rtol: float = _D.rtol,
    atol: float = _D.atol,
    t_eval: Sequence[float] | None = _D.t_eval,
    gtol: float | None = _D.gtol,
    first_step: float | None = _D.first_step,
    max_step: float = _D.max_step,
    max_steps: int = _D.max_steps,
    max_norm: float = _D.max_norm,
    events: object = _D.events,
    project: bool = _D.project,
    save_weights: bool = _D.save_weights,
    threads: int = _D.threads,
) -> Result:
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
    method : {"bs3", "dopri5", "tsit5", "dop853", "auto", "gauss4", "gauss6", "rodas4", "radau5", "reduced"}
        Explicit embedded Runge-Kutta pair; see `METHODS`. ``"auto"`` (the default) starts with dop853,
        watches Hairer's estimate of ``h rho(J)`` from two stages at the same time, and where the steps are
        stability-limited (the flow is stiff, as near a minimum: ``J = -Hess g`` spans ``lambda_max ...
        lambda_min``) switches to rodas4 with the exact Jacobian, and back once rodas4's steps are well inside
        dop853's stability region (power iterations on ``J v``); ``Result.method_steps`` and
        ``Result.switch_times`` say what ran when. ``"gauss4"``, ``"gauss6"``: Gauss-Legendre collocation (2
        and 3 implicit stages, orders 4 and 6), the stages solved by simplified Newton with the flow's exact
        Jacobian (through the cost's Hessian-vector product: assembled and LU-factorised up to 100 weights,
        matrix-free GMRES on Jacobian-vector products above) to rounding level (corrections below 1e-15 (1 +
        max|w|), or stalled within 1e3 times that), so every invariant ``C_i`` is conserved to rounding
        whatever ``rtol``; the error is estimated by step doubling. ``"rodas4"``: Hairer & Wanner's L-stable
        Rosenbrock method of order 4(3) with the same exact Jacobian, for stiff flows (large imbalance).
        ``"radau5"``: Radau IIA of order 5 (L-stable), Hairer & Wanner's radau5.f: simplified Newton with the
        Jacobian kept across steps while it converges fast, always assembled and LU-factorised. Every
        network has this exact Jacobian (on data and with an activation: forward-over-reverse through the
        data sweep; for relu and leaky relu the Jacobian off the kinks), so the Gauss methods also conserve
        the per-neuron invariants of positively homogeneous activations to rounding. ``"reduced"`` is exact
        for the vector case (depth 2, 1x1 cost): DOP853 on eq. 19's two variables (z, int f'), the weights
        rebuilt from the u, v coordinates of section 3, at a cost independent of the width (there
        ``max_norm`` bounds ``|z|`` and ``|int f'|``).
    {options: rtol, atol; t_eval; gtol; first_step; max_step; max_steps; max_norm; events; project}
    save_weights : bool
        False saves only times, loss and gradient norm (the final weights are always kept).
    threads : int
        Threads for this one trajectory (default 1). Above 1, each right-hand side splits its
        layer products across them (products of at least 16,384 multiply-adds; on data,
        the same bits as one thread), so does each exact Jacobian-vector product of the implicit
        methods on data (the same bits too), and the explicit methods split their vector passes (states
        of at least 16,384 weights); smaller work stays on the calling thread. Worth it for wide networks
        only: on 2 cores, depth 6 and width 128 (67,584 weights) ran 1.4x faster. The result
        equals the one-thread run up to the order of the error norm's sums (bitwise where nothing
        is split, and for rodas4 and radau5 on data, whose own linear algebra stays on the calling
        thread). The team needs free cores: a share a helper thread has not started when the
        calling thread is done with its own runs on the calling thread, but one preempted midway
        is waited for, so with the other core busy (another process, or OpenBLAS's pool, which
        spins for ~0.1 s after a multi-threaded BLAS call; ``OPENBLAS_NUM_THREADS=1`` avoids
        that) ``threads=2`` measured 1.1-1.3x slower than one thread. For many trajectories,
        parallelise over them instead (`monte_carlo`).

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

    Notes
    -----
    **Kinks.** With ``"relu"`` and ``"leaky_relu"`` the right-hand side jumps where a pre-activation
    ``(W_i H_{i-1})_{jc}`` crosses 0. Every method steps with the activation pattern (which side of 0
    each entry is on) frozen at the step's start, so the right-hand side is smooth inside a step; the
    first crossing is located on the step's interpolant (including a crossing that returns before the
    step ends, caught at the stages) and the step ends there, where the pattern switches. An entry
    that the flow pushes back towards 0 from both sides slides along it (Filippov): its gate
    ``lambda`` in ``[alpha, 1]`` (``alpha`` the leaky slope, 0 for relu) is solved at every evaluation
    so that the entry stays at 0, and it leaves to the side its gate reaches. ``Result.nkink`` and
    ``Result.nslide`` count both; at most 32 entries may slide at once (beyond that the run stops with
    status ``"failed"`` and a message saying so). The implicit methods' Jacobian is that of the frozen
    pattern's right-hand side, with the sliding gates' own dependence on the state (they keep their
    entries at 0 wherever the state moves), so ``"rodas4"``, ``"radau5"`` and ``"auto"``'s switch to
    rodas4 near a minimum keep their order through sliding.
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be an overflow.Network, got {type(net).__name__}")
    y0 = net.flatten(Ws)
    event_args, keep_alive = _events.prepare(events, y0.size, net)
    o = _o.check_run(
        "integrate",
        t_span,
        method,
        rtol=rtol,
        atol=atol,
        t_eval=t_eval,
        gtol=gtol,
        first_step=first_step,
        max_step=max_step,
        max_steps=max_steps,
        max_norm=max_norm,
        terminal_event=_events.any_terminal(event_args),
    )
    if event_args and method == "reduced":
        raise ValueError("events are not supported with method='reduced' (its state is (z, int f'), not the weights)")
    project = _o.check_flag(project, "project")
    save_weights = _o.check_flag(save_weights, "save_weights")
    if project:
        _check_project(net, method)
    threads = _integer(threads, "threads", minimum=1, maximum=_v.INT32_MAX)  # the core's int

    if method == "reduced":
        result = integrate_reduced(net, y0, o, save_weights)
    else:
        options = o.core(save_states=save_weights, project=project, threads=threads, events=event_args)
        with _events.reraising(keep_alive):
            sol = _core.integrate_flow(
                net.dims,
                net.cost.vg_address,
                net.cost.hvp_address,
                net.cost.data,
                net.activation or "none",
                y0,
                o.t0,
                o.t1,
                o.t_eval,
                options,
                **net._flow_arguments(),
            )
        result = Result(net, y0, sol, method)
    del keep_alive  # the compiled events were needed only while the core ran
    if result.naccept == 0:  # the core stops at a start where the flow is not finite: refuse it
        _o.check_start(result.final_loss, result.final_grad_norm)
    if result.status == "interrupted":
        raise IntegrationInterrupted(result)
    if o.gtol > 0 and result.status not in ("converged", "event"):  # an event is the user's own stop
        warnings.warn(result.message, ConvergenceWarning, stacklevel=2)
    return result
