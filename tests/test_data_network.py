"""Networks on data (issue 18): ``Network(cost, ..., activation=..., inputs=X, bias=...)``.

The core's right-hand side against the complex-step gradient of a numpy forward pass written here;
linear activation on data against the linear network on ``linear_regression(X, Y)`` (RHS and whole
trajectories); ``inputs = ones((1, 1))`` against the identity-input path of section 4; integrate,
Solver and the initializers on such networks; and the errors for bad input.
"""

import numpy as np
import pytest
from scipy.special import erfc

import overflow as of

SMOOTH = ["linear", "tanh", "sigmoid", "isru", "softplus", "gelu"]
KINKED = {"relu": None, "leaky_relu": 0.2}  # the slope of leaky_relu(alpha) used below
DEPTHS = {1: [], 2: [5], 3: [5, 4], 4: [4, 6, 3]}


def sigma(name, x, slope):
    """The activations written out again for complex arguments (the piecewise ones on the branch of Re x)."""
    if name == "linear":
        return x
    if name == "tanh":
        return np.tanh(x)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if name == "isru":
        return x / np.sqrt(1.0 + x * x)
    if name == "softplus":
        return np.log(1.0 + np.exp(x))
    if name == "gelu":
        return 0.5 * x * erfc(-x / np.sqrt(2.0))
    if name == "relu":
        return np.where(x.real > 0, x, 0.0)
    if name == "leaky_relu":
        return np.where(x.real > 0, x, slope * x)
    raise AssertionError(name)


def forward(y, dims, X, bias, name, slope):
    """Yhat and every pre-activation for the flat state y (real or complex), layers [W_i | b_i]."""
    H, pos, pre = X.astype(y.dtype), 0, []
    for i in range(len(dims) - 1):
        r, c = dims[i + 1], dims[i] + bias
        L = y[pos : pos + r * c].reshape(r, c)
        pos += r * c
        A = L[:, : dims[i]] @ H + (L[:, -1:] if bias else 0.0)
        if i + 2 < len(dims):
            pre.append(A)
            H = sigma(name, A, slope)
        else:
            H = A
    return H, pre


def squared_loss_value(Yhat, Y):
    """1/2 ||Yhat - Y||_F^2 / s, without abs so that the complex step goes through it."""
    return 0.5 * np.sum((Yhat - Y) ** 2) / Y.shape[1]


def complex_step_gradient(y, dims, X, Y, bias, name, slope):
    h = 1e-30
    grad = np.empty_like(y)
    for i in range(y.size):
        z = y.astype(complex)
        z[i] += 1j * h
        grad[i] = squared_loss_value(forward(z, dims, X, bias, name, slope)[0], Y).imag / h
    return grad


def problem(seed, n_in=3, m=2, s=11):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n_in, s)), rng.standard_normal((m, s)), rng


def network(name, depth, X, Y, bias):
    act = of.activations.leaky_relu(KINKED[name]) if name == "leaky_relu" else name
    return of.Network(of.costs.squared_loss(Y), depth=depth, widths=DEPTHS[depth], activation=act, inputs=X, bias=bias)


def check_rhs(name, depth, bias, seed):
    X, Y, rng = problem(seed)
    net = network(name, depth, X, Y, bias)
    assert net.dims == [3, *DEPTHS[depth], 2] and net.shapes[0] == (net.dims[1], 3 + bias)
    y = rng.standard_normal(net.state_size)
    slope = KINKED.get(name)
    if name in KINKED:  # complex step and kinks: only where every pre-activation is away from 0
        pre = forward(y, net.dims, X, bias, name, slope)[1]
        assert all(np.min(np.abs(A)) > 1e-6 for A in pre), "draw a state away from the kinks"
    value, dy = net.rhs(y)
    Yhat = forward(y, net.dims, X, bias, name, slope)[0]
    np.testing.assert_allclose(net.product(y), Yhat, rtol=1e-13, atol=1e-13)
    assert value == pytest.approx(squared_loss_value(Yhat, Y), rel=1e-13)
    grad = complex_step_gradient(y, net.dims, X, Y, bias, name, slope)
    assert np.max(np.abs(dy + grad)) <= 1e-10 * np.max(np.abs(grad))


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("name", SMOOTH)
def test_rhs_is_the_complex_step_gradient(name, depth, bias):
    check_rhs(name, depth, bias, seed=10 * depth + bias)


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("name", sorted(KINKED))
def test_rhs_of_kinked_activations_away_from_kinks(name, depth, bias):
    check_rhs(name, depth, bias, seed=100 + 10 * depth + bias)


def test_leaky_slope_reaches_the_core():
    X, Y, rng = problem(3)
    y = rng.standard_normal(network("leaky_relu", 3, X, Y, False).state_size)
    dys = [
        of.Network(of.costs.squared_loss(Y), depth=3, widths=[5, 4], activation=a, inputs=X).rhs(y)[1]
        for a in ("leaky_relu", of.activations.leaky_relu(0.01), of.activations.leaky_relu(0.3), "relu")
    ]
    np.testing.assert_array_equal(dys[0], dys[1])  # the default slope is 0.01
    assert np.max(np.abs(dys[0] - dys[2])) > 1e-3 and np.max(np.abs(dys[0] - dys[3])) > 1e-6


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_linear_on_data_is_the_linear_network_on_regression(depth):
    X, Y, rng = problem(7, n_in=4, m=3, s=25)
    widths = DEPTHS[depth]
    on_data = of.Network(of.costs.squared_loss(Y), depth=depth, widths=widths, activation="linear", inputs=X)
    linear = of.Network(of.costs.linear_regression(X, Y), depth=depth, widths=widths)
    assert on_data.dims == linear.dims and on_data.activation is None and not on_data.linear and linear.linear
    Ws = linear.init(seed=5, scale=0.8)
    y = linear.flatten(Ws)
    v1, d1 = on_data.rhs(y)
    v2, d2 = linear.rhs(y)
    assert v1 == pytest.approx(v2, rel=1e-13)
    np.testing.assert_allclose(d1, d2, rtol=0, atol=1e-13 * np.max(np.abs(d2)))
    np.testing.assert_allclose(on_data.product(Ws), linear.product(Ws) @ X, rtol=1e-12, atol=1e-12)
    t_eval = np.linspace(0.0, 20.0, 9)
    for method in ("dopri5", "dop853"):
        r1 = of.integrate(on_data, Ws, (0.0, 20.0), method, rtol=1e-9, atol=1e-12, t_eval=t_eval, save_weights=True)
        r2 = of.integrate(linear, Ws, (0.0, 20.0), method, rtol=1e-9, atol=1e-12, t_eval=t_eval, save_weights=True)
        assert r1.status == r2.status == "t_end"
        assert r1.naccept == r2.naccept and r1.nfev == r2.nfev  # the same steps
        np.testing.assert_allclose(r1.loss, r2.loss, rtol=1e-11, atol=1e-14)
        np.testing.assert_allclose(r1.final_state, r2.final_state, rtol=0, atol=1e-10)
        for W1, W2 in zip(r1.weights, r2.weights):
            np.testing.assert_allclose(W1, W2, rtol=0, atol=1e-10)


@pytest.mark.parametrize("activation", ["isru", "tanh"])
def test_one_input_of_ones_is_the_identity_input_path(activation):
    cost = of.costs.matrix_factorization(np.array([[0.7, -1.3]]).T)  # m = 2, n = 1: section 4's shape
    ident = of.Network(cost, depth=2, width=3, activation=activation)
    ones = of.Network(cost, depth=2, width=3, activation=activation, inputs=np.ones((1, 1)))
    assert ident.dims == ones.dims == [1, 3, 2] and ident.shapes == ones.shapes
    Ws = ident.init(seed=2, scale=1.0)
    for y in (ident.flatten(Ws), np.random.default_rng(4).standard_normal(ident.state_size)):
        v1, d1 = ident.rhs(y)
        v2, d2 = ones.rhs(y)
        assert v1 == pytest.approx(v2, rel=1e-15)
        np.testing.assert_allclose(d1, d2, rtol=1e-14, atol=1e-15)
    r1 = of.integrate(ident, Ws, (0.0, 10.0), "dop853", rtol=1e-10, t_eval=np.linspace(0, 10, 6), save_weights=True)
    r2 = of.integrate(ones, Ws, (0.0, 10.0), "dop853", rtol=1e-10, t_eval=np.linspace(0, 10, 6), save_weights=True)
    assert r1.nfev == r2.nfev
    np.testing.assert_allclose(r1.final_state, r2.final_state, rtol=0, atol=1e-12)
    np.testing.assert_allclose(r1.loss, r2.loss, rtol=1e-12, atol=1e-15)


def test_section4_isru_invariant_through_data_path():
    # eq. 10: C = w2^2 - (1 + w1^2)^2 / 2 is conserved by the width-1 isru network; here on X = [[1]].
    cost = of.costs.matrix_factorization(np.array([[1.0]]))
    net = of.Network(cost, depth=2, width=1, activation="isru", inputs=np.ones((1, 1)))
    res = of.integrate(net, [np.array([[0.3]]), np.array([[0.4]])], (0.0, 8.0), "dop853", rtol=1e-11, atol=1e-13)
    w1, w2 = res.final_state
    assert w2**2 - 0.5 * (1 + w1**2) ** 2 == pytest.approx(0.4**2 - 0.5 * (1 + 0.3**2) ** 2, abs=1e-9)


@pytest.mark.parametrize("kind", ["gaussian", "orthogonal", "balanced"])
def test_initializers_with_biases(kind):
    X, Y, _ = problem(1, n_in=4, m=3, s=9)
    net = network("tanh", 3, X, Y, True)
    Ws = net.init(seed=0, scale=0.7, kind=kind)
    assert [W.shape for W in Ws] == net.shapes == [(5, 5), (4, 6), (3, 5)]
    assert all(np.all(W[:, -1] == 0.0) for W in Ws)  # zero biases
    assert all(np.any(W[:, :-1] != 0.0) for W in Ws)
    if kind == "balanced":  # the weights (biases left out) are balanced: C_i = 0
        Wt = [W[:, :-1] for W in Ws]
        for C in of.invariants(Wt):
            np.testing.assert_allclose(C, 0.0, atol=1e-12)
    assert np.isfinite(net.loss(Ws))


def test_integrate_and_solver_on_data():
    X, Y, _ = problem(2, n_in=3, m=2, s=16)
    net = network("softplus", 3, X, Y, True)
    Ws = net.init(seed=3, scale=1.0)
    res = of.integrate(net, Ws, (0.0, 3.0), "dopri5", rtol=1e-9, atol=1e-12)
    assert res.status == "t_end" and res.final_loss < net.loss(Ws)
    assert res.final_loss == pytest.approx(net.loss(net.unflatten(res.final_state)), rel=1e-12)
    assert np.isnan(res.invariant_drift)  # the C_i are the linear network's
    solver = of.Solver(net, Ws, method="dopri5", rtol=1e-9, atol=1e-12)
    while solver.status not in ("t_end", "failed", "domain"):
        solver.step(3.0)
    assert solver.status == "t_end"
    np.testing.assert_allclose(solver.y, res.final_state, rtol=0, atol=1e-12)
    # the implicit methods run on data (the exact Jacobian: csrc/src/data_jvp.cpp) and agree to the tolerance
    stiff = of.integrate(net, Ws, (0.0, 3.0), "rodas4", rtol=1e-8, atol=1e-11)
    assert stiff.status == "t_end" and stiff.njvp > 0
    np.testing.assert_allclose(stiff.final_state, res.final_state, rtol=0, atol=1e-5)


def test_bad_input():
    X, Y, _ = problem(0)
    loss = of.costs.squared_loss(Y)
    with pytest.raises(ValueError, match="inputs must be a 2-D array"):
        of.Network(loss, depth=2, width=3, inputs=X[0])
    with pytest.raises(ValueError, match="inputs must be a 2-D array"):
        of.Network(loss, depth=2, width=3, inputs=X[None])
    with pytest.raises(ValueError, match="inputs contains NaN"):
        of.Network(loss, depth=2, width=3, inputs=np.where(X > 1, np.nan, X))
    with pytest.raises(ValueError, match="inputs contains NaN or infinite"):
        of.Network(loss, depth=2, width=3, inputs=np.where(X > 1, np.inf, X))
    with pytest.raises(TypeError, match="inputs"):
        of.Network(loss, depth=2, width=3, inputs=X + 1j)
    with pytest.raises(TypeError, match="inputs"):
        of.Network(loss, depth=2, width=3, inputs="X")
    with pytest.raises(ValueError, match=r"cost's shape \(2, 11\) must be \(m, s\) for inputs of shape \(3, 10\)"):
        of.Network(loss, depth=2, width=3, inputs=X[:, :10])
    with pytest.raises(ValueError, match="activation must be"):
        of.Network(loss, depth=2, width=3, activation="swish", inputs=X)
    with pytest.raises(TypeError, match="activation must be"):
        of.Network(loss, depth=2, width=3, activation=3, inputs=X)
    with pytest.raises(TypeError, match="bias"):
        of.Network(loss, depth=2, width=3, inputs=X, bias=1)
    with pytest.raises(ValueError, match="bias=True needs inputs"):
        of.Network(of.costs.matrix_factorization(np.eye(2)), depth=2, width=3, bias=True)
    net = of.Network(loss, depth=2, width=3, activation="tanh", inputs=X, bias=True)
    Ws = net.init()
    with pytest.raises(ValueError, match=r"W_1\) must have shape \(3, 4\)"):
        net.flatten([W[:, :-1] for W in Ws])
    # tanh conserves no invariant to project onto or to watch (tests/test_data_projection.py for the others)
    with pytest.raises(ValueError, match="project=True needs a linear network or a positively homogeneous"):
        of.integrate(net, Ws, (0, 1), project=True)
    with pytest.raises(ValueError, match="project=True needs a linear network or a positively homogeneous"):
        of.Solver(net, Ws, project=True)
    with pytest.raises(ValueError, match="invariant_drift_above needs a linear network or a positively"):
        of.integrate(net, Ws, (0, 1), events=[of.events.invariant_drift_above(1e-3)])
    X.flags.writeable = True
    X[0, 0] = 1e6  # the network keeps its own copy
    assert net.inputs[0, 0] != 1e6 and not net.inputs.flags.writeable
