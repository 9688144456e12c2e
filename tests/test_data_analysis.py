"""The Hessian analyses on networks on data (`hessian_vector_product`, `dense_hessian`, `critical_point`,
`linearization`) through the core's exact Jacobian of the flow: against an independent Hessian (central
differences and the complex step of the numpy oracle's gradient, tests/data_network_oracle.py), and the
known case: the linear activation on data is the linear network on ``linear_regression(X, Y)``, so their
Hessians, classifications and linearizations agree. relu and leaky relu are refused."""

import numpy as np
import pytest
from data_network_oracle import flatten, rhs, unflatten

import overflow as of
from overflow.analysis import dense_hessian, hessian_vector_product


def oracle_hessian(net, X, Y, activation, y, step="complex"):
    """``Hess g`` column by column from the numpy gradient ``-rhs``: complex step or central differences."""
    size = net.state_size
    H = np.empty((size, size))
    for j in range(size):
        e = np.zeros(size)
        if step == "complex":
            layers = [L.astype(complex) for L in unflatten(y + 1e-30j * np.eye(size)[j], net.shapes)]
            H[:, j] = -flatten(rhs(layers, X, Y, activation, net.bias)).imag / 1e-30
        else:
            h = 1e-5
            e[j] = h
            plus = flatten(rhs(unflatten(y + e, net.shapes), X, Y, activation, net.bias))
            minus = flatten(rhs(unflatten(y - e, net.shapes), X, Y, activation, net.bias))
            H[:, j] = -(plus - minus) / (2 * h)
    return H


def problem(activation, depth, bias, seed=0, n_in=3, m=2, samples=8, width=3):
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((n_in, samples)), rng.standard_normal((m, samples))
    net = of.Network(of.costs.squared_loss(Y), depth=depth, width=width, activation=activation, inputs=X, bias=bias)
    return net, X, Y, rng


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("activation", ["linear", "tanh", "sigmoid", "isru", "softplus", "gelu"])
def test_hessian_against_the_oracle(activation, depth, bias):
    net, X, Y, rng = problem(activation, depth, bias, seed=depth)
    y = rng.standard_normal(net.state_size)
    H = dense_hessian(net, y)
    want = oracle_hessian(net, X, Y, activation, y)
    scale = np.abs(want).max()
    np.testing.assert_allclose(H, want, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(H, oracle_hessian(net, X, Y, activation, y, "central"), rtol=0, atol=1e-7 * scale)
    # one product, on layers
    D = [rng.standard_normal(s) for s in net.shapes]
    got = np.concatenate([h.ravel() for h in hessian_vector_product(net, net.unflatten(y), D)])
    np.testing.assert_allclose(got, want @ flatten(D), rtol=0, atol=1e-12 * scale * np.abs(flatten(D)).sum())


def test_critical_point_and_linearization_against_the_oracle():
    # a tanh network at the end of its flow: critical for g, and its spectrum is the oracle Hessian's
    net, X, Y, rng = problem("tanh", 2, True, seed=4, samples=12, width=2)
    res = of.integrate(net, net.init(seed=1, scale=1.0), (0.0, np.inf), rtol=1e-11, atol=1e-13, gtol=1e-11)
    assert res.status == "converged"
    y = res.final_state
    w = np.linalg.eigvalsh(oracle_hessian(net, X, Y, "tanh", y))
    cp = of.critical_point(net, y, tol=1e-8)
    assert cp.grad_norm <= 1e-10
    assert cp.f_grad_norm == pytest.approx(np.linalg.norm(net.cost.gradient(net.product(y))), rel=1e-12)
    assert cp.min_eigenvalue == pytest.approx(w[0], abs=1e-11 * np.abs(w).max())
    assert cp.lemma17_direction is None  # lemma 17 is the linear network's
    lin = of.linearization(net, y, tol=1e-8)
    np.testing.assert_allclose(lin.eigenvalues, np.sort(-w), rtol=0, atol=1e-11 * np.abs(w).max())
    assert lin.stable + lin.centre + lin.unstable == net.state_size
    # and away from it, not critical
    assert of.critical_point(net, net.init(seed=1, scale=1.0)).kind == "not_critical"


def linear_pair(depth, seed=0):
    """The linear network on data and the linear network on the regression cost of the same data."""
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((3, 10)), rng.standard_normal((2, 10))
    on_data = of.Network(of.costs.squared_loss(Y), depth=depth, width=3, inputs=X)
    linear = of.Network(of.costs.linear_regression(X, Y), depth=depth, width=3)
    assert on_data.shapes == linear.shapes
    return on_data, linear


@pytest.mark.parametrize("depth", [2, 3])
def test_linear_on_data_is_the_linear_network_on_regression(depth):
    on_data, linear = linear_pair(depth)
    Ws = linear.init(seed=2, scale=0.8)
    H1, H2 = dense_hessian(on_data, Ws), dense_hessian(linear, Ws)
    np.testing.assert_allclose(H1, H2, rtol=0, atol=1e-13 * np.abs(H2).max())
    # at the origin, a strict saddle for both (grad g = 0, grad f != 0, negative curvature)
    zeros = [np.zeros(s) for s in linear.shapes]
    a, b = of.critical_point(on_data, zeros, scale=1.0), of.critical_point(linear, zeros, scale=1.0)
    assert a.kind == b.kind == ("strict_saddle" if depth == 2 else "degenerate")
    assert a.min_eigenvalue == pytest.approx(b.min_eigenvalue, abs=1e-13)
    # at the regression's minimum, reached by the flow: the same linearization
    res = of.integrate(linear, Ws, (0.0, np.inf), rtol=1e-12, atol=1e-14, gtol=1e-12)
    assert res.status == "converged"
    la, lb = of.linearization(on_data, res.final_state, scale=1.0), of.linearization(linear, res.final_state, scale=1.0)
    np.testing.assert_allclose(la.eigenvalues, lb.eigenvalues, rtol=0, atol=1e-12 * np.abs(lb.eigenvalues).max())
    assert (la.stable, la.centre, la.unstable) == (lb.stable, lb.centre, lb.unstable)
    ca, cb = (
        of.critical_point(on_data, res.final_state, scale=1.0),
        of.critical_point(linear, res.final_state, scale=1.0),
    )
    assert ca.grad_norm == pytest.approx(cb.grad_norm, rel=1e-6, abs=1e-14)
    assert ca.min_eigenvalue == pytest.approx(cb.min_eigenvalue, abs=1e-12)
    # the classifications differ only where f differs: f(P) is at its minimum (grad f(P) = 0), while the
    # loss on the outputs is not (the data are not interpolated)
    assert cb.kind == "critical_of_f" and ca.kind != "critical_of_f"
    assert ca.f_grad_norm > 1e-3


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", of.activations.leaky_relu(0.2)], ids=str)
def test_relu_family_is_refused(activation):
    net, X, Y, rng = problem(activation, 2, False)
    Ws = net.init(seed=0)
    for call in (of.critical_point, of.linearization, dense_hessian):
        with pytest.raises(ValueError, match=r"twice differentiable.*kinks"):
            call(net, Ws)
    with pytest.raises(ValueError, match="twice differentiable"):
        hessian_vector_product(net, Ws, Ws)


def test_lemma17_is_for_linear_networks():
    net, X, Y, rng = problem("tanh", 2, False)
    with pytest.raises(ValueError, match="lemma 17 is for linear networks"):
        of.analysis.lemma17_direction(net, net.init(seed=0))
