"""Networks with an activation between layers (section 4): the core's RHS is the gradient of
g = f(W_N sigma(... sigma(W_1))), eq. 9's example, the per-neuron invariants (eq. 10) and the
saddle's manifolds (eq. 11)."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import overflow as of


def sigma(name, x):
    return x / np.sqrt(1 + x * x) if name == "isru" else np.tanh(x)


def quadratic():
    return of.costs.scalar(lambda z: (1 - z) * (1 - z), lambda z: -2 * (1 - z), lambda z: 2.0)


@pytest.mark.parametrize("activation", ["isru", "tanh"])
@pytest.mark.parametrize("dims", [(1, [1], 1), (1, [5], 1), (3, [4], 2), (2, [3, 5], 4), (4, [6, 3, 2], 3)])
def test_gradient_matches_finite_differences(activation, dims):
    n, widths, m = dims
    T = np.random.default_rng(len(widths)).standard_normal((m, n))
    net = of.Network(of.costs.matrix_factorization(T), depth=len(widths) + 1, widths=widths, activation=activation)
    Ws = net.init(seed=3, scale=1.0)
    y = net.flatten(Ws)
    # the numpy forward pass is an independent oracle for the value
    assert net.loss(Ws) == pytest.approx(0.5 * np.sum((net.product(Ws) - T) ** 2), rel=1e-14)
    grad = np.concatenate([g.ravel() for g in net.gradient(Ws)])
    fd = np.empty_like(y)
    for i in range(y.size):
        h = 1e-6 * (1 + abs(y[i]))
        yp, ym = y.copy(), y.copy()
        yp[i] += h
        ym[i] -= h
        fd[i] = (net.loss(net.unflatten(yp)) - net.loss(net.unflatten(ym))) / (2 * h)
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)  # central differences: O(h^2) + O(eps/h)


def test_eq9_loss_and_eq10_invariant():
    net = of.Network(quadratic(), depth=2, width=1, activation="isru")
    w1, w2 = 0.5, 0.3
    Ws = [np.array([[w1]]), np.array([[w2]])]
    assert net.loss(Ws) == pytest.approx((1 - w2 * w1 / np.sqrt(1 + w1 * w1)) ** 2, rel=1e-15)  # eq. 9
    (C,) = of.invariants(Ws, activation="isru")
    assert C[0] == pytest.approx(w2 * w2 - 0.5 * (1 + w1 * w1) ** 2, rel=1e-15)  # eq. 10
    drifts = []
    for rtol in (1e-6, 1e-9, 1e-12):
        res = of.integrate(net, Ws, (0, 30), method="dop853", rtol=rtol, atol=rtol * 1e-2)
        assert res.status == "t_end" and res.final_loss < 1e-10
        drifts.append(res.invariant_drift)
    assert drifts[2] < drifts[1] < drifts[0] and drifts[2] < 1e-12


@pytest.mark.parametrize("activation", ["isru", "tanh"])
def test_per_neuron_invariants_are_conserved_at_any_width(activation):
    T = np.array([[1.0], [-0.5], [2.0]])
    net = of.Network(of.costs.matrix_factorization(T), depth=2, width=7, activation=activation)
    Ws = net.init(seed=5, scale=0.8)
    res = of.integrate(net, Ws, (0, 20), method="dop853", rtol=1e-11, atol=1e-13)
    c = of.invariants(res.weights, activation=activation)[0]  # (T, 7)
    assert c.shape == (len(res.t), 7)
    assert np.max(np.abs(c - c[0])) < 1e-9
    assert res.invariant_drift < 1e-9


def test_activated_flow_agrees_with_scipy():
    net = of.Network(of.costs.matrix_factorization(np.array([[1.0, -1.0]])), depth=3, widths=[4, 3], activation="tanh")
    Ws = net.init(seed=2, scale=1.0)
    te = np.linspace(0, 5, 6)
    ours = of.integrate(net, Ws, (0, 5), method="dop853", rtol=1e-12, atol=1e-14, t_eval=te)
    ref = solve_ivp(
        lambda t, y: net.rhs(y)[1], (0, 5), net.flatten(Ws), method="DOP853", rtol=1e-12, atol=1e-14, t_eval=te
    )
    ours_states = np.concatenate([W.reshape(len(te), -1) for W in ours.weights], axis=1)
    np.testing.assert_allclose(ours_states, ref.y.T, atol=1e-9)


def test_saddle_manifolds_of_eq11():
    # C = w2^2 - (1 + w1^2)^2 / 2 equals -1/2 at the saddle (0, 0): its manifolds are the level set
    # w2 = +-w1 sqrt((2 + w1^2) / 2). With f'(0) < 0 the branch with w1 w2 < 0 is the centre-stable
    # one (flows into the saddle); the other is the unstable one (flows to the target w2 sigma(w1) = 1).
    net = of.Network(quadratic(), depth=2, width=1, activation="isru")
    w1 = 0.6
    branch = w1 * np.sqrt((2 + w1 * w1) / 2)
    # The saddle repels off its stable manifold like e^{2t}: rounding (1e-16) stays below 1e-10 until
    # t ~ 7, while the approach along the manifold contracts like e^{-2t}. So read it at t = 6.
    to_saddle = of.integrate(net, [np.array([[w1]]), np.array([[-branch]])], (0, 6), rtol=1e-13, atol=1e-15)
    to_target = of.integrate(net, [np.array([[w1]]), np.array([[branch]])], (0, 40), rtol=1e-12, atol=1e-14)
    assert np.abs(np.concatenate([W.ravel() for W in to_saddle.final_weights])).max() < 1e-4
    assert to_saddle.final_loss == pytest.approx(1.0, abs=1e-4)  # f(0) = 1
    assert to_target.final_loss < 1e-12
    # both stay on the level set C = -1/2 of the saddle
    for res in (to_saddle, to_target):
        np.testing.assert_allclose(of.invariants(res.weights, activation="isru")[0], -0.5, atol=1e-10)


def test_bad_activation_input():
    f = of.costs.matrix_factorization(np.eye(2))
    with pytest.raises(ValueError, match="activation"):
        of.Network(f, depth=2, width=3, activation="swish")
    with pytest.raises(ValueError, match="one hidden layer on one input"):
        of.invariants([np.ones((3, 2)), np.ones((2, 3))], activation="isru")
    with pytest.raises(ValueError, match="activation"):
        of.invariants([np.ones((3, 1)), np.ones((1, 3))], activation="gelu")
    net = of.Network(quadratic(), depth=2, width=2, activation="tanh")
    with pytest.raises(ValueError, match="linear vector case"):
        of.integrate(net, net.init(), (0, 1), method="reduced")
    deep = of.Network(f, depth=3, width=2, activation="tanh")
    assert np.isnan(of.integrate(deep, deep.init(), (0, 1)).invariant_drift)  # no known invariants there
