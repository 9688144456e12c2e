"""Relu-family networks on data (issue 18, item 4): activation-pattern switches located as events and
sliding along a kink, against independent oracles (scipy on the numpy right-hand side of
tests/data_network_oracle.py, and a hand-built sliding problem with its reduced flow)."""

from __future__ import annotations

import numpy as np
import pytest
from data_network_oracle import flat_rhs, forward_pass, unflatten
from scipy.integrate import solve_ivp

import overflow as of


def teacher_student(activation, samples=10, width=4, seed=0):
    """``(net, layers)``: a depth-2 student (width 4) on a depth-2 teacher's data (n_in = 3, m = 1)."""
    data = of.datasets.teacher_student(3, width=4, samples=samples, activation=activation, seed=seed)
    net = of.Network(of.costs.squared_loss(data.Y), depth=2, width=width, activation=activation, inputs=data.X)
    return net, data, net.init(seed=seed + 1, scale=0.8)


def reference(net, data, layers, activation, t_end):
    """scipy DOP853 at rtol 1e-12 on the numpy right-hand side (it steps through the kinks by itself)."""
    fun = flat_rhs(data.X, data.Y, activation, False, net.shapes)
    return solve_ivp(fun, (0.0, t_end), net.flatten(layers), method="DOP853", rtol=1e-12, atol=1e-14)


# Problems whose flows cross kinks without sliding to t = 2 (where scipy's steps collapse at each).
@pytest.mark.parametrize("samples,seed", [(10, 0), (10, 5), (20, 4), (20, 5)])
def test_leaky_relu_matches_scipy_in_far_fewer_evaluations(samples, seed):
    net, data, layers = teacher_student("leaky_relu", samples=samples, seed=seed)
    ref = reference(net, data, layers, "leaky_relu", 2.0)
    rtol, atol = 1e-6, 1e-9
    res = of.integrate(net, layers, (0.0, 2.0), method="dop853", rtol=rtol, atol=atol)
    assert res.status == "t_end", res.message
    assert res.nkink > 0 and res.nslide == 0
    scale = np.max(np.abs(ref.y[:, -1]))
    assert np.max(np.abs(res.final_state - ref.y[:, -1])) <= 100 * rtol * scale
    plain = solve_ivp(
        flat_rhs(data.X, data.Y, "leaky_relu", False, net.shapes),
        (0.0, 2.0),
        net.flatten(layers),
        method="DOP853",
        rtol=rtol,
        atol=atol,
    )
    assert res.nfev * 3 < plain.nfev


@pytest.mark.parametrize("method", ["dop853", "gauss6"])
def test_a_crossing_that_comes_back_inside_a_step_is_located(method):
    """Depth 3, width 8 on 40 samples: at rtol 1e-6 some pre-activations cross their kink and come back
    inside one step, where the step's end is on their side again. Taken as a whole, such a step ran on the
    wrong branch (4e-3 off scipy); the stages that saw the entry cross send the step to the crossing."""
    data = of.datasets.teacher_student(4, width=4, samples=40, activation="relu", seed=0)
    net = of.Network(of.costs.squared_loss(data.Y), depth=3, width=8, activation="leaky_relu", inputs=data.X)
    layers = net.init(seed=1, scale=0.5)
    fun = flat_rhs(data.X, data.Y, "leaky_relu", False, net.shapes)
    want = solve_ivp(fun, (0.0, 5.0), net.flatten(layers), method="DOP853", rtol=1e-11, atol=1e-13).y[:, -1]
    rtol = 1e-6
    res = of.integrate(net, layers, (0.0, 5.0), method=method, rtol=rtol, atol=1e-3 * rtol)
    assert res.status == "t_end", res.message
    assert res.nkink > 0 and res.nslide == 0
    assert np.max(np.abs(res.final_state - want)) <= 10 * rtol * np.max(np.abs(want))


def crossing_times(net, data, layers, activation, t_end):
    """scipy's times where a hidden pre-activation entry changes sign (events on the numpy forward pass)."""
    fun = flat_rhs(data.X, data.Y, activation, False, net.shapes)
    count = net.widths[0] * data.X.shape[1]

    def entry(k):
        def event(t, y):
            return forward_pass(unflatten(y, net.shapes), data.X, activation, False)[0][0].ravel()[k]

        return event

    sol = solve_ivp(
        fun,
        (0.0, t_end),
        net.flatten(layers),
        method="DOP853",
        rtol=1e-12,
        atol=1e-14,
        events=[entry(k) for k in range(count)],
    )
    return np.sort(np.concatenate(sol.t_events))


def test_crossings_where_scipy_crosses_and_invariants_kept():
    net, data, layers = teacher_student("leaky_relu", seed=0)
    expected = crossing_times(net, data, layers, "leaky_relu", 1.0)
    assert expected.size >= 2
    solver = of.Solver(net, layers, method="dop853", rtol=1e-9, atol=1e-12)
    located = []
    while solver.t < 1.0:
        kinks = solver.stats["nkink"]
        assert solver.step(1.0) in ("stepped", "t_end")
        if solver.stats["nkink"] > kinks:
            located.append(solver.t)
    assert len(located) == expected.size
    assert np.max(np.abs(np.array(located) - expected)) < 1e-7
    c0 = of.invariants(net, layers)
    c1 = of.invariants(net, net.unflatten(solver.y))
    assert max(float(np.max(np.abs(a - b))) for a, b in zip(c0, c1)) < 1e-8


def sliding_problem():
    """One relu neuron, two samples x1 = (1, 0), x2 = (1, 1) with targets -2 and 2, output weight v = 1.

    Sample 1 wants a negative output, which a relu neuron with v > 0 cannot give, so it pushes
    a1 = w1 down; sample 2 wants more and pushes w (w1 too) up. Once a1 reaches 0 the flow on the
    active side pushes it down (da1/dt = -v (r1 + r2) / 2 < 0) and on the inactive side up
    (-v r2 / 2 > 0): it slides, w1 = 0, with the gate lambda = -r2 / r1 in [0, 1].
    """
    X = np.array([[1.0, 1.0], [0.0, 1.0]])
    Y = np.array([[-2.0, 2.0]])
    net = of.Network(of.costs.squared_loss(Y), depth=2, width=1, activation="relu", inputs=X)
    return net, [np.array([[0.05, 0.5]]), np.array([[1.0]])]


def sliding_reference(t_end):
    """The flow of `sliding_problem` in closed phases: both entries active until w1 = 0 (scipy, with
    that event), then the Filippov flow with w1 held at 0: dw2/dt = -v r2 / 2, dv/dt = -r2 w2 / 2."""

    def both(t, z):
        w1, w2, v = z
        r1, r2 = v * w1 + 2.0, v * (w1 + w2) - 2.0
        return [-v * (r1 + r2) / 2, -v * r2 / 2, -(r1 * w1 + r2 * (w1 + w2)) / 2]

    def hit(t, z):
        return z[0]

    hit.terminal = True
    first = solve_ivp(both, (0.0, t_end), [0.05, 0.5, 1.0], method="DOP853", rtol=1e-13, atol=1e-15, events=hit)
    t_slide = first.t_events[0][0]
    w2, v = first.y_events[0][0][1:]

    def sliding(t, z):
        w2, v = z
        r2 = v * w2 - 2.0
        return [-v * r2 / 2, -r2 * w2 / 2]

    second = solve_ivp(sliding, (t_slide, t_end), [w2, v], method="DOP853", rtol=1e-13, atol=1e-15, dense_output=True)
    return t_slide, second


def test_sliding_entry_held_at_zero_with_the_filippov_flow():
    net, layers = sliding_problem()
    t_end = 3.0
    t_slide, ref = sliding_reference(t_end)
    assert 0.0 < t_slide < 1.0
    t_eval = np.linspace(0.0, t_end, 31)
    res = of.integrate(net, layers, (0.0, t_end), method="dop853", rtol=1e-10, atol=1e-12, t_eval=t_eval)
    assert res.status == "t_end", res.message
    assert res.nkink >= 1 and res.nslide == 1
    W1, W2 = res.weights
    after = t_eval > t_slide
    assert np.max(np.abs(W1[after, 0, 0])) < 1e-9  # a1 = w1 stays at its kink
    w2, v = ref.sol(t_eval[after])
    assert np.max(np.abs(W1[after, 0, 1] - w2)) < 1e-8
    assert np.max(np.abs(W2[after, 0, 0] - v)) < 1e-8
    # the Filippov gate along the reference: lambda = -r2 / r1 with r1 = -(-2) at a1 = 0
    lam = -(v * w2 - 2.0) / 2.0
    assert np.all((lam >= 0.0) & (lam <= 1.0))
    # the per-neuron invariant |w|^2 - v^2 through the switch and the sliding
    c = W1[:, 0, 0] ** 2 + W1[:, 0, 1] ** 2 - W2[:, 0, 0] ** 2
    assert np.max(np.abs(c - c[0])) < 1e-8


@pytest.mark.parametrize("activation", [None, "tanh"])
def test_smooth_networks_have_no_pattern(activation):
    net, data, layers = teacher_student(activation or "linear")
    net = of.Network(net.cost, depth=2, width=4, activation=activation, inputs=data.X)
    res = of.integrate(net, layers, (0.0, 2.0), method="dop853", rtol=1e-8, atol=1e-10)
    assert res.status == "t_end"
    assert res.nkink == 0 and res.nslide == 0
    ref = reference(net, data, layers, activation or "linear", 2.0)
    assert np.max(np.abs(res.final_state - ref.y[:, -1])) < 1e-6


def test_auto_switches_to_rodas4_where_a_relu_flow_is_stiff():
    """Under the frozen pattern of each step the flow is smooth, and the implicit steps' Jacobian carries the
    kinks' gates (sliding ones included), so "auto" takes rodas4 where the flow turns stiff near its minimum.
    On a 64-sample teacher-student problem it takes 393 of its 1081 steps with rodas4 to t = 5000, and its
    state agrees with dop853's at rtol 1e-10 to its tolerance (measured 2.3e-8; dop853's own states at
    rtol 1e-9 and 1e-10 are 1.7e-9 and 3e-11 from rtol 1e-11's)."""
    data = of.datasets.teacher_student(4, m=1, width=4, samples=64, activation="relu", seed=2)
    net = of.Network(of.costs.squared_loss(data.Y), depth=2, width=16, activation="relu", inputs=data.X)
    layers = net.init(seed=2, scale=0.3)
    rtol = 1e-8
    res = of.integrate(net, layers, (0.0, 5e3), method="auto", rtol=rtol, atol=1e-10, save_weights=False)
    assert res.status == "t_end", res.message
    assert res.method_steps["rodas4"] > 0 and res.switch_times.size > 0 and res.nslide > 0
    ref = of.integrate(net, layers, (0.0, 5e3), method="dop853", rtol=1e-10, atol=1e-12, save_weights=False)
    scale = max(1.0, float(np.max(np.abs(ref.final_state))))
    assert np.max(np.abs(res.final_state - ref.final_state)) <= 100 * rtol * scale


def test_solver_stats_count_kinks():
    net, data, layers = teacher_student("relu")
    solver = of.Solver(net, layers, method="dop853")
    solver.step(2.0)
    while solver.t < 2.0:
        solver.step(2.0)
    res = of.integrate(net, layers, (0.0, 2.0), method="dop853")
    assert solver.stats["nkink"] == res.nkink > 0
    assert solver.stats["nslide"] == res.nslide


@pytest.mark.parametrize("seed", [2, 3])
def test_a_leaky_slope_above_one_matches_scipy(seed):
    """sigma(x) = x above 0 and 2x below is still positively homogeneous: its kinks are located like
    relu's, with the gates' range [1, 2] the other way round (scipy grinds through them, 10x the
    evaluations)."""
    act = of.activations.leaky_relu(2.0)
    net, data, layers = teacher_student(act, seed=seed)
    ref = reference(net, data, layers, act, 2.0)
    rtol = 1e-6
    res = of.integrate(net, layers, (0.0, 2.0), method="dop853", rtol=rtol, atol=1e-9)
    assert res.status == "t_end" and res.nkink > 0
    assert np.max(np.abs(res.final_state - ref.y[:, -1])) <= 100 * rtol * np.max(np.abs(ref.y[:, -1]))
    assert res.nfev * 5 < ref.nfev


def test_a_leaky_slope_of_one_has_no_kinks():
    """leaky_relu(1) is the identity: no pattern, no kinks, the linear network's flow."""
    net, data, layers = teacher_student(of.activations.leaky_relu(1.0))
    res = of.integrate(net, layers, (0.0, 2.0), method="dop853", rtol=1e-10, atol=1e-12)
    linear = of.Network(net.cost, depth=2, width=4, activation=None, inputs=data.X)
    ref = of.integrate(linear, layers, (0.0, 2.0), method="dop853", rtol=1e-10, atol=1e-12)
    assert res.nkink == 0 and res.nslide == 0
    assert np.max(np.abs(res.final_state - ref.final_state)) <= 1e-8 * np.max(np.abs(ref.final_state))
