"""of.Solver: the flow one step at a time, in a user's own loop. Stepping with the same bound takes
exactly the steps of of.integrate (same code), and dense output reads the same interpolant."""

import math

import numpy as np
import pytest
from helpers import METHOD_NAMES
from helpers import states as saved_states

import overflow as of


def _net():
    f = of.costs.matrix_factorization(np.diag([3.0, 2.0, 1.0, 0.5]))
    net = of.Network(f, depth=3, width=6)
    return net, net.init(seed=3, scale=0.5)


@pytest.mark.parametrize("method", METHOD_NAMES)
def test_stepping_reproduces_integrate(method):
    net, Ws = _net()
    ref = of.integrate(net, Ws, (0, 5), method=method, rtol=1e-8, atol=1e-10)
    s = of.Solver(net, Ws, method=method, rtol=1e-8, atol=1e-10)
    ts, ys = [s.t], [s.y]
    while s.step(5.0) == "stepped":
        ts.append(s.t)
        ys.append(s.y)
    assert s.status == "t_end" and s.t == 5.0
    ts.append(s.t)
    ys.append(s.y)
    np.testing.assert_array_equal(ts, ref.t)
    np.testing.assert_array_equal(np.stack(ys), saved_states(ref))
    assert s.stats["naccept"] == ref.naccept and s.stats["nfev"] == ref.nfev
    assert s.loss == ref.loss[-1]


@pytest.mark.parametrize("method", METHOD_NAMES)
def test_dense_output_is_the_interpolant_integrate_uses(method):
    net, Ws = _net()
    s = of.Solver(net, Ws, method=method, rtol=1e-8, atol=1e-10)
    for _ in range(4):
        s.step(5.0)
    t_mid = 0.5 * (s.t_prev + s.t)
    ref = of.integrate(net, Ws, (0, 5), method=method, rtol=1e-8, atol=1e-10, t_eval=[t_mid])
    dense = s.dense(t_mid)
    for W, R in zip(dense, ref.weights):
        np.testing.assert_array_equal(W, R[0])
    for W, R in zip(s.dense(s.t), s.weights):  # the step's end is the state itself
        np.testing.assert_array_equal(W, R)


def test_step_to_lands_on_each_time_and_follows_the_flow():
    net, Ws = _net()
    s = of.Solver(net, Ws, method="dop853", rtol=1e-10, atol=1e-12)
    times = np.linspace(0.5, 5.0, 10)
    states = []
    for t in times:
        assert s.step_to(t) == "t_end"
        assert s.t == t
        states.append(s.y)
    ref = of.integrate(net, Ws, (0, 5), method="dop853", rtol=1e-10, atol=1e-12, t_eval=times)
    # Different steps (cut at every time), the same flow: both within ~1e-9 of the exact solution.
    np.testing.assert_allclose(np.stack(states), saved_states(ref), rtol=0, atol=1e-7)


def test_unbounded_steps_and_stats():
    net, Ws = _net()
    s = of.Solver(net, Ws)
    loss0 = s.loss
    for _ in range(20):
        assert s.step() == "stepped"
    assert s.t > 0 and s.loss < loss0 and s.grad_norm > 0
    assert s.stats["naccept"] == 20 and s.stats["nfev"] >= 6 * 20
    assert "auto" in repr(s)  # the default method


def test_a_start_outside_the_domain_is_refused():
    # f(z) = -log z is defined for z > 0 only; the start has z = w2 w1 = -1.
    f = of.costs.scalar(lambda z: -math.log(z) if z > 0 else math.nan, lambda z: -1.0 / z, lambda z: 1.0 / z**2)
    net = of.Network(f, depth=2, width=1)
    with pytest.raises(ValueError, match="domain"):
        of.Solver(net, [np.array([[1.0]]), np.array([[-1.0]])])


def test_bad_arguments():
    net, Ws = _net()
    with pytest.raises(ValueError, match="method"):
        of.Solver(net, Ws, method="rk4")
    with pytest.raises(ValueError, match="rtol"):
        of.Solver(net, Ws, rtol=-1.0)
    with pytest.raises(ValueError, match="NaN"):
        of.Solver(net, [np.full_like(W, np.nan) for W in Ws])
    with pytest.raises(TypeError, match="Network"):
        of.Solver("net", Ws)
    s = of.Solver(net, Ws)
    with pytest.raises(ValueError, match="step"):
        s.dense(0.0)  # no step yet
    s.step(1.0)
    with pytest.raises(ValueError, match="t_bound"):
        s.step(s.t)
    with pytest.raises(ValueError, match="t_bound"):
        s.step(float("nan"))
    with pytest.raises(ValueError, match="outside the last step"):
        s.dense(s.t + 1.0)
    with pytest.raises(ValueError, match="must be >"):
        s.step_to(s.t)


def test_stepping_with_projection_matches_integrate():
    net, Ws = _net()
    ref = of.integrate(net, Ws, (0, 5), method="bs3", rtol=1e-5, atol=1e-7, project=True)
    s = of.Solver(net, Ws, method="bs3", rtol=1e-5, atol=1e-7, project=True)
    while s.step(5.0) == "stepped":
        pass
    np.testing.assert_array_equal(s.y, net.flatten(ref.final_weights))
    assert s.projection == ref.projection > 0
