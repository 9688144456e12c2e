"""The exact Jacobian-vector product of the flow of networks on data (csrc/src/data_jvp.cpp): ``J v`` for ``J``
the Jacobian of ``y -> -grad g(y)``, against the complex step of the independent numpy right-hand side
(tests/data_network_oracle.py) and central differences, for every activation, depths 1-4, with and without
biases, ``m != n_in``; symmetric (``J = -Hess g``); on the identity input with an activation; under the other
output losses, against differences of the core's own right-hand side."""

import numpy as np
import pytest
from data_network_oracle import flatten, rhs, unflatten

import overflow as of
from overflow import _core

ACTIVATIONS = ["linear", "relu", "leaky_relu", of.activations.leaky_relu(0.3), "tanh", "sigmoid", "isru"]
ACTIVATIONS += ["softplus", "gelu"]


def jvp(net, y, v):
    """``J(y) v`` by the core."""
    c = net.cost
    return _core.flow_jvp(
        net.dims, c.vg_address, c.hvp_address, c.data, y, v, net.activation or "none", **net._flow_arguments()
    )


def complex_step_jvp(net, X, Y, activation, y, v, h=1e-30):
    """``Im rhs(y + i h v) / h`` of the numpy oracle: the directional derivative without cancellation."""
    stepped = [L.astype(complex) for L in unflatten(y + 1j * h * v, net.shapes)]
    return flatten(rhs(stepped, X, Y, activation, net.bias)).imag / h


def central_difference_jvp(net, X, Y, activation, y, v, h=1e-6):
    """``(rhs(y + h v) - rhs(y - h v)) / 2h`` of the numpy oracle."""
    plus = flatten(rhs(unflatten(y + h * v, net.shapes), X, Y, activation, net.bias))
    minus = flatten(rhs(unflatten(y - h * v, net.shapes), X, Y, activation, net.bias))
    return (plus - minus) / (2 * h)


def problem(activation, depth, bias, seed=0, n_in=3, m=2, samples=7, width=4):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_in, samples))
    Y = rng.standard_normal((m, samples))
    net = of.Network(of.costs.squared_loss(Y), depth=depth, width=width, activation=activation, inputs=X, bias=bias)
    y = rng.standard_normal(net.state_size)
    return net, X, Y, y, rng


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("activation", ACTIVATIONS, ids=str)
def test_jvp_against_the_oracle(activation, depth, bias):
    net, X, Y, y, rng = problem(activation, depth, bias, seed=depth + 10 * bias)
    v = rng.standard_normal(net.state_size)
    got = jvp(net, y, v)
    want = complex_step_jvp(net, X, Y, activation, y, v)
    scale = np.max(np.abs(want))
    assert scale > 1e-3
    assert np.max(np.abs(got - want)) < 1e-12 * scale
    # central differences agree to their truncation (relu's kinks are far from these draws)
    fd = central_difference_jvp(net, X, Y, activation, y, v)
    assert np.max(np.abs(got - fd)) < 1e-8 * scale


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("activation", ACTIVATIONS, ids=str)
def test_jvp_is_symmetric(activation, bias):
    # J = -Hess g: <u, J v> = <J u, v> to rounding
    net, X, Y, y, rng = problem(activation, 3, bias, seed=3)
    u, v = rng.standard_normal((2, net.state_size))
    Ju, Jv = jvp(net, y, u), jvp(net, y, v)
    assert abs(u @ Jv - Ju @ v) < 1e-13 * np.linalg.norm(u) * np.linalg.norm(Jv)
    # and it is linear in v
    np.testing.assert_allclose(
        jvp(net, y, 2.0 * u - 3.0 * v), 2.0 * Ju - 3.0 * Jv, rtol=0, atol=1e-13 * np.abs(Jv).max()
    )


@pytest.mark.parametrize("activation", ["isru", "tanh", "relu", "gelu"])
def test_identity_input(activation):
    # section 4's path: the network on X = I (no inputs=), the oracle on the identity matrix
    rng = np.random.default_rng(5)
    Y = rng.standard_normal((2, 3))
    net = of.Network(of.costs.squared_loss(Y), depth=3, widths=[4, 5], activation=activation)
    y, v = rng.standard_normal((2, net.state_size))
    want = complex_step_jvp(net, np.eye(3), Y, activation, y, v)
    np.testing.assert_allclose(jvp(net, y, v), want, rtol=0, atol=1e-12 * np.abs(want).max())


def core_difference_jvp(net, y, v, h=1e-5):
    return (net.rhs(y + h * v)[1] - net.rhs(y - h * v)[1]) / (2 * h)


@pytest.mark.parametrize(
    "make_cost",
    [
        lambda Y, labels: of.costs.logistic_loss(np.where(labels % 2 == 0, 1.0, -1.0)[None, :]),
        lambda Y, labels: of.costs.softmax_cross_entropy_loss(labels, classes=3),
        lambda Y, labels: of.costs.huber_loss(Y[:3], delta=0.5),
        lambda Y, labels: of.costs.log_cosh_loss(Y[:3]),
    ],
    ids=["logistic", "softmax", "huber", "log_cosh"],
)
def test_other_losses(make_cost):
    # the cost's own hvp in the middle of the sweep: checked against differences of the core's rhs
    rng = np.random.default_rng(7)
    X, Y = rng.standard_normal((4, 9)), rng.standard_normal((3, 9))
    cost = make_cost(Y, np.arange(9) % 3)
    net = of.Network(cost, depth=3, width=5, activation="tanh", inputs=X, bias=True)
    y, v = rng.standard_normal((2, net.state_size))
    fd = core_difference_jvp(net, y, v)
    assert np.max(np.abs(jvp(net, y, v) - fd)) < 1e-8 * np.abs(fd).max()


def test_bad_arguments():
    net, X, Y, y, rng = problem("tanh", 2, True)
    with pytest.raises(ValueError, match="v"):
        jvp(net, y, y[:-1])
