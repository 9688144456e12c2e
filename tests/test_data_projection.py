"""``project=True`` and ``invariant_drift_above`` on networks with a positively homogeneous activation (linear,
relu, leaky relu; on data or the identity input): the per-neuron invariants of `overflow.invariants` are
projected back after every step (csrc/src/neuron_projection.cpp), so their drift is at rounding where the
same run without projection drifts at its tolerance, and the trajectory stays the flow's (against scipy's
DOP853 on the numpy oracle). Other activations conserve nothing and are refused."""

import numpy as np
import pytest
from data_network_oracle import NON_SLIDING_STUDENTS, flat_rhs
from scipy.integrate import solve_ivp
from test_data_invariants import kinks_crossed, magnitude, problem, relative_move

import overflow as of


def drift(net, res):
    """``max |c(t) - c(0)|`` over the saved states, from `overflow.invariants` (numpy)."""
    cs = of.invariants(net, res.weights)
    return max(float(np.max(np.abs(c - c[:1]))) for c in cs)


def scipy_final(net, layers, activation, t_end):
    Y = net.cost.data[2:].reshape(net.dims[-1], -1)  # squared_loss's data: [m, s, Y]
    sol = solve_ivp(
        flat_rhs(net.inputs, Y, activation, net.bias, net.shapes),
        (0.0, t_end),
        net.flatten(layers),
        method="DOP853",
        rtol=1e-12,
        atol=1e-14,
    )
    assert sol.status == 0
    return sol.y[:, -1]


CASES = [(None, 3, False, 4, 0), (None, 3, True, 4, 0)] + [c for c in NON_SLIDING_STUDENTS if c[1] == 3]


@pytest.mark.parametrize("activation, depth, bias, width, seed", CASES)
def test_projection_keeps_the_invariants_at_rounding(activation, depth, bias, width, seed):
    net, layers = problem(activation, depth, bias, width=width, seed=seed)
    kw = dict(method="dopri5", rtol=1e-6, atol=1e-9, max_steps=20_000)
    free = of.integrate(net, layers, (0.0, 2.0), **kw)
    projected = of.integrate(net, layers, (0.0, 2.0), project=True, **kw)
    assert free.status == projected.status == "t_end"
    size = magnitude(layers)
    assert drift(net, free) > 1e-10 * size  # the tolerance's drift
    assert drift(net, projected) < 1e-13 * size  # rounding
    assert projected.invariant_drift == pytest.approx(drift(net, projected), rel=1e-6, abs=1e-15)
    assert 0.0 < projected.projection < 1e-5  # the largest correction, about the step's error
    if activation is not None:
        assert kinks_crossed(net, projected.weights) > 0
    assert relative_move(layers, projected.final_weights) > 0.1
    # still the flow: within the tolerance of scipy's DOP853 on the numpy oracle
    want = scipy_final(net, layers, activation or "linear", 2.0)
    np.testing.assert_allclose(projected.final_state, want, rtol=0, atol=1e-4)
    np.testing.assert_allclose(free.final_state, want, rtol=0, atol=1e-4)


def test_solver_projects_on_data():
    net, layers = problem("leaky_relu", 3, True, width=5)
    s = of.Solver(net, layers, method="dopri5", rtol=1e-6, atol=1e-9, project=True)
    c0 = np.concatenate(of.invariants(net, layers))
    while s.t < 1.0:
        assert s.step(1.0) in ("stepped", "t_end")
    assert np.max(np.abs(np.concatenate(of.invariants(net, s.y)) - c0)) < 1e-13 * magnitude(layers)
    assert s.projection > 0.0


def test_relu_on_the_identity_input():
    net = of.Network(of.costs.matrix_factorization(np.diag([1.0, -0.5, 0.3])), depth=3, width=4, activation="relu")
    layers = net.init(seed=0, scale=1.0)
    res = of.integrate(net, layers, (0.0, 3.0), rtol=1e-6, atol=1e-9, method="dop853", project=True)
    assert res.status == "t_end"
    assert drift(net, res) < 1e-13 * magnitude(layers)


def test_drift_event_on_data():
    # the event reads the same per-neuron invariants: at a loose tolerance it fires where the saved
    # states' drift reaches the threshold
    net, layers = problem(None, 3, True, width=4)
    free = of.integrate(net, layers, (0.0, 20.0), method="bs3", rtol=1e-4, atol=1e-6)
    threshold = 0.5 * drift(net, free)
    res = of.integrate(
        net,
        layers,
        (0.0, 20.0),
        method="bs3",
        rtol=1e-4,
        atol=1e-6,
        events=[of.events.invariant_drift_above(threshold)],
    )
    assert res.status == "event"
    c0 = np.concatenate(of.invariants(net, layers))
    y = res.y_events[0][0]
    assert np.max(np.abs(np.concatenate(of.invariants(net, y)) - c0)) == pytest.approx(threshold, rel=1e-6)


@pytest.mark.parametrize("activation", ["tanh", "gelu", "sigmoid"])
def test_other_activations_are_refused(activation):
    net, layers = problem(activation, 2, False)
    match = "project=True needs a linear network or a positively homogeneous activation"
    with pytest.raises(ValueError, match=match):
        of.integrate(net, layers, (0.0, 1.0), project=True)
    with pytest.raises(ValueError, match=match):
        of.Solver(net, layers, project=True)
    with pytest.raises(ValueError, match="invariant_drift_above needs a linear network or a positively homogeneous"):
        of.integrate(net, layers, (0.0, 1.0), events=[of.events.invariant_drift_above(1e-3)])
