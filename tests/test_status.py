"""Every way a run can end is a status with a message, and the result keeps what was computed."""

import os
import signal
import threading

import numpy as np
import pytest

import overflow as of


def vector_net(fn, dfn, width=3):
    return of.Network(of.costs.scalar(fn, dfn), depth=2, width=width)


def test_converged_when_gradient_small():
    net = of.Network(of.costs.matrix_factorization(np.diag([3.0, 2.0, 1.0])), depth=2, width=6)
    res = of.integrate(net, net.init(seed=1), (0, 1e4), rtol=1e-10, atol=1e-12, gtol=1e-6)
    assert res.status == "converged", res.message
    assert res.final_grad_norm <= 1e-6
    assert res.t_final < 1e4
    assert res.t[-1] == res.t_final and res.grad_norm[-1] == res.final_grad_norm


def test_t_end():
    net = of.Network(of.costs.matrix_factorization(np.eye(2)), depth=2, width=3)
    res = of.integrate(net, net.init(seed=0), (0, 1.0))
    assert res.status == "t_end" and res.success and res.t_final == 1.0


def test_blowup_on_unbounded_cost():
    # f(z) = -z: dz/dt = S grows exponentially, the weights leave any bound.
    net = vector_net(lambda z: -z, lambda z: -1.0)
    res = of.integrate(net, net.init(seed=0, scale=1.0), (0, 1e3), max_norm=1e3)
    assert res.status == "blowup", res.message
    assert np.max(np.abs(np.concatenate([W.ravel() for W in res.final_weights]))) > 1e3
    assert not res.success


def test_domain_when_flow_runs_into_the_wall():
    # f(z) = -z on z < 1 and NaN beyond: the exact flow reaches z = 1 in finite time.
    def fn(z):
        return -z if z < 1.0 else np.nan

    net = vector_net(fn, lambda z: -1.0 if z < 1.0 else np.nan)
    Ws = [np.full((3, 1), 0.3), np.full((1, 3), 0.3)]
    res = of.integrate(net, Ws, (0, 100.0))
    assert res.status == "domain", res.message
    assert res.ndomain > 0
    z_final = (res.final_weights[1] @ res.final_weights[0]).item()
    assert 0.9 < z_final < 1.0
    assert np.isfinite(res.final_loss)


def test_max_steps():
    net = of.Network(of.costs.matrix_factorization(np.eye(2)), depth=2, width=3)
    res = of.integrate(net, net.init(seed=0), (0, 100.0), max_steps=5)
    assert res.status == "max_steps" and res.naccept == 5 and len(res.t) == 6
    assert "max_steps" in res.message


def test_failed_on_finite_time_singularity():
    # f(z) = -z^3: dz/dt = 3 z^2 S explodes in finite time; with no norm bound the step size underflows.
    net = vector_net(lambda z: -(z**3), lambda z: -3.0 * z**2)
    Ws = [np.full((3, 1), 0.5), np.full((1, 3), 0.5)]
    res = of.integrate(net, Ws, (0, 100.0), max_norm=np.inf)
    assert res.status in ("failed", "domain"), res.message  # domain if the cost overflows to -inf first
    assert res.t_final < 100.0
    assert len(res.t) == res.naccept + 1
    assert "h = " in res.message and "0.000000" not in res.message  # the step size is readable


def test_ctrl_c_returns_partial_result():
    f = of.costs.matrix_factorization(np.random.default_rng(0).standard_normal((8, 8)))
    net = of.Network(f, depth=6, width=64)
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(of.IntegrationInterrupted) as info:
            of.integrate(
                net,
                net.init(seed=0, scale=1.0),
                (0, 1e7),
                method="dopri5",
                rtol=1e-12,
                atol=1e-14,
                max_steps=10**9,
                save_weights=False,
            )  # dopri5: minutes at its stability limit
    finally:
        timer.cancel()
    res = info.value.result
    assert isinstance(info.value, KeyboardInterrupt)
    assert res.status == "interrupted" and 0 < res.t_final < 1e7 and res.naccept > 0


def _affine_user_cost(hole):
    """f(p) = p (gradient 1) on a 1x1 network of depth 1, NaN on the open interval `hole`."""
    lo, hi = hole

    @of.cost(shape=(1, 1))
    def affine(P, grad):
        p = P[0, 0]
        if lo < p < hi:
            return np.nan
        grad[0, 0] = 1.0
        return p

    return of.Network(affine, depth=1)


def test_rejected_step_that_reaches_t_end_does_not_loop_forever():
    # The domain wall p <= 0.5 is reached when t = 0.5; the span ends 6e-13 later, so the last
    # step is stretched to t1, rejected, shrunk, and must not be stretched back again.
    net = _affine_user_cost((-np.inf, 0.5 + 1e-300))
    res = of.integrate(net, [np.ones((1, 1))], (0, 0.5 + 6e-13))
    assert res.status == "domain", res.message
    res = of.integrate(net, [np.ones((1, 1))], (1e6, 1e6 + 0.5 + 1.1e-6))
    assert res.status == "domain", res.message


def test_dop853_extra_stage_outside_domain_rejects_the_step():
    # Only the interpolant's extra stage at c = 0.1 of a unit step lands in the hole around 0.9:
    # the step must be rejected, not interpolated with stale stages. Exact solution p = 1 - t.
    net = _affine_user_cost((0.8999, 0.9001))
    res = of.integrate(net, [np.array([[1.0]])], (0, 1.0), method="dop853", first_step=1.0, t_eval=[0.05, 0.5, 1.0])
    assert res.status == "t_end" and res.ndomain >= 1
    np.testing.assert_allclose(res.weights[0].ravel(), 1.0 - res.t, atol=1e-12)


def test_tiny_first_step_and_span():
    net = of.Network(of.costs.matrix_factorization(np.eye(2)), depth=2, width=2)
    Ws = net.init(seed=0)
    res = of.integrate(net, Ws, (1e9, 1e9 + 10), first_step=1e-9)
    assert res.status == "t_end", res.message
    with pytest.raises(ValueError, match="rounding"):
        of.integrate(net, Ws, (1.0, 1.0 + 1e-15))


def test_non_finite_gradient_is_reported():
    @of.cost(shape=(1, 1))
    def bad_gradient(P, grad):
        grad[0, 0] = np.nan
        return 1.0

    # refused before any step, as Solver refuses it (overflow._options.check_start)
    with pytest.raises(ValueError, match="gradient is not finite at the initial point"):
        of.integrate(of.Network(bad_gradient, depth=1), [np.ones((1, 1))], (0, 1))
