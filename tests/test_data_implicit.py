"""The implicit methods on networks on data, with the exact Jacobian (csrc/src/data_jvp.cpp): gauss4/gauss6
conserve the per-neuron invariants of linear, relu and leaky relu networks to rounding (across kinks too:
Gauss collocation conserves every quadratic first integral whenever its stage equations are solved), where
an explicit method leaves them at its tolerance; gauss6, rodas4 and radau5 trajectories of smooth networks
agree with scipy's DOP853 on the independent numpy right-hand side (tests/data_network_oracle.py)."""

import numpy as np
import pytest
from data_network_oracle import NON_SLIDING_STUDENTS, flat_rhs
from scipy.integrate import solve_ivp
from test_data_invariants import kinks_crossed, magnitude, problem, relative_move

import overflow as of

EPS = np.finfo(float).eps


@pytest.mark.parametrize("method", ["gauss4", "gauss6"])
@pytest.mark.parametrize("bias", [False, True])
def test_gauss_conserves_the_invariants_of_linear_on_data(method, bias):
    net, layers = problem(None, 3, bias, width=4)
    res = of.integrate(net, layers, (0.0, 20.0), method=method, rtol=1e-8, atol=1e-10)
    assert res.status == "t_end" and res.naccept >= 10
    assert relative_move(layers, res.final_weights) > 0.1
    assert 0.0 <= res.invariant_drift < 1e-12 * magnitude(layers)
    # the check can fail: dop853 at a loose tolerance drifts far above rounding
    loose = of.integrate(net, layers, (0.0, 20.0), method="dop853", rtol=1e-6, atol=1e-9)
    assert loose.invariant_drift > 10 * 1e-12 * magnitude(layers)


@pytest.mark.parametrize("method", ["gauss4", "gauss6"])
@pytest.mark.parametrize("activation, depth, bias, width, seed", NON_SLIDING_STUDENTS)
def test_gauss_conserves_the_invariants_across_kinks(method, activation, depth, bias, width, seed):
    net, layers = problem(activation, depth, bias, width=width, seed=seed)
    rtol = 1e-8
    res = of.integrate(net, layers, (0.0, 2.0), method=method, rtol=rtol, atol=1e-2 * rtol, max_steps=20_000)
    assert res.status == "t_end", res.message
    assert kinks_crossed(net, res.weights) > 0 and res.nkink > 0
    # a step cut at a kink is a Gauss step retaken to the crossing: the invariants stay at rounding
    assert res.invariant_drift < 1e-12 * magnitude(layers)
    assert relative_move(layers, res.final_weights) > 0.1
    # and it is the flow to the tolerance (as in test_trajectories_against_scipy), against dop853 far tighter
    ref = of.integrate(net, layers, (0.0, 2.0), method="dop853", rtol=1e-11, atol=1e-13, max_steps=20_000)
    assert res.nkink == ref.nkink
    scale = np.max(np.abs(ref.final_state))
    np.testing.assert_allclose(res.final_state, ref.final_state, rtol=0, atol=100 * rtol * scale)


def scipy_reference(net, layers, activation, t_end, rtol=1e-12, atol=1e-14):
    """The final flat state by scipy's DOP853 on the numpy oracle's right-hand side."""
    Y = net.cost.data[2:].reshape(net.dims[-1], -1)  # squared_loss's layout: [m, s, Y]
    sol = solve_ivp(
        flat_rhs(net.inputs, Y, activation, net.bias, net.shapes),
        (0.0, t_end),
        net.flatten(layers),
        method="DOP853",
        rtol=rtol,
        atol=atol,
    )
    assert sol.status == 0
    return sol.y[:, -1]


@pytest.mark.parametrize(
    "method, activation, bias, rtol",
    [
        ("gauss6", "tanh", False, 1e-10),
        ("gauss6", "tanh", True, 1e-10),
        ("gauss4", "gelu", True, 1e-9),
        ("rodas4", "tanh", True, 1e-9),
        ("rodas4", "softplus", False, 1e-9),
        ("radau5", "sigmoid", True, 1e-9),
        ("radau5", "isru", False, 1e-9),
    ],
)
def test_trajectories_against_scipy(method, activation, bias, rtol):
    net, layers = problem(activation, 3, bias, width=4)
    t_end = 3.0
    res = of.integrate(net, layers, (0.0, t_end), method=method, rtol=rtol, atol=rtol * 1e-2)
    assert res.status == "t_end" and res.njvp > 0
    assert relative_move(layers, res.final_weights) > 0.05
    want = scipy_reference(net, layers, activation, t_end)
    scale = np.max(np.abs(want))
    np.testing.assert_allclose(res.final_state, want, rtol=0, atol=100 * rtol * scale)


def test_solver_steps_gauss6_on_data():
    net, layers = problem("leaky_relu", 3, True, width=5)
    s = of.Solver(net, layers, method="gauss6", rtol=1e-8, atol=1e-10)
    c0 = np.concatenate(of.invariants(net, layers))
    while s.t < 1.0:
        assert s.step(1.0) in ("stepped", "t_end")
    c1 = np.concatenate(of.invariants(net, s.y))
    assert np.max(np.abs(c1 - c0)) < 1e-12 * magnitude(layers)


@pytest.mark.parametrize("activation", ["isru", "tanh"])
def test_gauss_on_the_identity_input(activation):
    # section 4's activated network on X = I: gauss6 now has its exact Jacobian and agrees with dop853
    net = of.Network(of.costs.matrix_factorization(np.diag([1.0, -0.5])), depth=3, width=3, activation=activation)
    Ws = net.init(seed=2, scale=0.8)
    a = of.integrate(net, Ws, (0.0, 4.0), method="gauss6", rtol=1e-10, atol=1e-12)
    b = of.integrate(net, Ws, (0.0, 4.0), method="dop853", rtol=1e-12, atol=1e-14)
    assert a.status == b.status == "t_end"
    np.testing.assert_allclose(a.final_state, b.final_state, rtol=0, atol=1e-8)
