"""The losses on a network's outputs (overflow/costs/{squared,logistic,softmax,huber,log_cosh}_loss.py):
values against numpy formulas written here, gradients against the complex step of those formulas,
Hessian-vector products against differences of the gradient, stability at large outputs, the
cross-checks with the costs on ``P`` (``Yhat = P X``), input validation, the kernels' shape guard,
the data layout, pickling, and one flow of today's network on each."""

from __future__ import annotations

import importlib
import math
import pickle

import numpy as np
import pytest
from helpers import assert_kernels_answer_nan_on
from scipy.special import expit, logsumexp, softmax

import overflow as of
from overflow.costs import huber_loss, log_cosh_loss, logistic_loss, softmax_cross_entropy_loss, squared_loss

KINDS = ["squared", "logistic", "softmax", "softmax_soft", "huber", "log_cosh"]
SEEDS = [0, 1, 2]
DELTA = 0.7


# --------------------------------------------------------------------------------------------
# numpy references, complex-safe (the branch of a piecewise formula is chosen by the real part)


def ref_squared(Y):
    return lambda Z: 0.5 * np.sum((Z - Y) ** 2) / Y.shape[1]


def ref_logistic(y):
    return lambda Z: np.sum(np.log(1.0 + np.exp(-y * Z[0]))) / y.size


def ref_softmax(T):
    def f(Z):
        top = np.max(Z.real, axis=0)
        lse = top + np.log(np.sum(np.exp(Z - top), axis=0))
        return np.sum(T.sum(axis=0) * lse - np.sum(T * Z, axis=0)) / T.shape[1]

    return f


def ref_huber(Y, delta):
    def f(Z):
        R = Z - Y
        inside = np.abs(R.real) <= delta
        h = np.where(inside, 0.5 * R * R, delta * (np.sign(R.real) * R - 0.5 * delta))
        return np.sum(h) / Y.shape[1]

    return f


def ref_log_cosh(Y):
    return lambda Z: np.sum(np.log(np.cosh(Z - Y))) / Y.shape[1]


def make(kind, seed, m=3, s=9):
    """(cost, numpy reference, its targets) for a random problem of the given kind."""
    rng = np.random.default_rng(seed)
    Y = rng.standard_normal((m, s))
    if kind == "squared":
        return squared_loss(Y), ref_squared(Y), Y
    if kind == "logistic":
        y = np.where(rng.standard_normal(s) > 0, 1.0, -1.0)
        return logistic_loss(y), ref_logistic(y), y
    if kind == "softmax":
        labels = rng.integers(0, m, s)
        T = np.zeros((m, s))
        T[labels, np.arange(s)] = 1.0
        return softmax_cross_entropy_loss(labels, classes=m), ref_softmax(T), T
    if kind == "softmax_soft":
        T = softmax(rng.standard_normal((m, s)), axis=0)
        return softmax_cross_entropy_loss(T), ref_softmax(T), T
    if kind == "huber":
        return huber_loss(Y, delta=DELTA), ref_huber(Y, DELTA), Y
    if kind == "log_cosh":
        return log_cosh_loss(Y), ref_log_cosh(Y), Y
    raise AssertionError(kind)


def point(cost, kind, targets, rng):
    """A random output; for Huber, every residual kept 1e-3 away from the kink at |r| = delta."""
    Z = 1.5 * rng.standard_normal(cost.shape)
    if kind == "huber":
        R = Z - targets
        near = np.abs(np.abs(R) - DELTA) < 1e-3
        Z[near] += 0.01
    return Z


def complex_step_gradient(f, Z, h=1e-30):
    G = np.zeros(Z.shape)
    for idx in np.ndindex(Z.shape):
        E = np.zeros(Z.shape, dtype=complex)
        E[idx] = 1j * h
        G[idx] = f(Z + E).imag / h
    return G


# --------------------------------------------------------------------------------------------
# value, gradient, Hessian-vector product


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("kind", KINDS)
def test_value_gradient_hvp(kind, seed):
    cost, ref, targets = make(kind, seed)
    rng = np.random.default_rng(100 + seed)
    Z = point(cost, kind, targets, rng)
    val, g = cost.value_and_grad(Z)
    assert val == pytest.approx(float(ref(Z)), rel=1e-13)
    assert cost.value(Z) == val
    np.testing.assert_array_equal(cost.gradient(Z), g)
    np.testing.assert_allclose(g, complex_step_gradient(ref, Z), rtol=1e-10, atol=1e-14 * np.max(np.abs(g)))
    V = rng.standard_normal(cost.shape)
    h = 1e-5
    hv_fd = (cost.gradient(Z + h * V) - cost.gradient(Z - h * V)) / (2 * h)
    hv = cost.hvp(Z, V)
    np.testing.assert_allclose(hv, hv_fd, rtol=1e-7, atol=1e-9 * np.max(np.abs(hv_fd)))
    # the Hessian is symmetric: <W, H V> = <V, H W>
    W = rng.standard_normal(cost.shape)
    assert np.sum(W * hv) == pytest.approx(np.sum(V * cost.hvp(Z, W)), rel=1e-12)
    assert cost.hvp_exact and cost.f_star is None


@pytest.mark.parametrize("kind", KINDS)
def test_shape_is_outputs_by_samples(kind):
    cost, _, targets = make(kind, 0, m=4, s=6)
    assert cost.shape == ((1, 6) if kind == "logistic" else (4, 6))
    assert repr(cost).endswith(f"shape={cost.shape})") and "samples=6" in repr(cost)


def test_one_output_and_one_sample():
    for cost in (squared_loss([[2.0]]), huber_loss(2.0 * np.ones(1)), log_cosh_loss([2.0]), logistic_loss([-1])):
        assert cost.shape == (1, 1)
    assert squared_loss([[2.0]]).value(5.0) == 4.5
    assert huber_loss([2.0], delta=1.0).value(5.0) == 2.5
    assert logistic_loss([-1]).value(0.0) == pytest.approx(math.log(2.0), rel=1e-15)
    assert log_cosh_loss([2.0]).value(2.0) == 0.0
    assert softmax_cross_entropy_loss([0]).value(3.0) == 0.0  # one class: log softmax is 0


# --------------------------------------------------------------------------------------------
# large outputs: finite and equal to stable formulas written independently


def test_stable_at_large_outputs():
    rng = np.random.default_rng(7)
    m, s = 3, 12
    Z = 1e3 * np.where(rng.standard_normal((m, s)) > 0, 1.0, -1.0) + rng.standard_normal((m, s))
    V = rng.standard_normal((m, s))
    Y = rng.standard_normal((m, s))
    y = np.where(rng.standard_normal(s) > 0, 1.0, -1.0)
    labels = rng.integers(0, m, s)
    T = np.zeros((m, s))
    T[labels, np.arange(s)] = 1.0
    with np.errstate(over="ignore"):  # 1/cosh^2 of 1e3 is 0 by way of inf
        expected = {
            "logistic": (
                np.mean(np.logaddexp(0.0, -y * Z[0])),
                -y * expit(-y * Z[0]) / s,
                expit(Z[0]) * expit(-Z[0]) * V[0] / s,
            ),
            "softmax": (
                np.mean(logsumexp(Z, axis=0) - Z[labels, np.arange(s)]),
                (softmax(Z, axis=0) - T) / s,
                None,
            ),
            "log_cosh": (
                np.sum(np.logaddexp(Z - Y, Y - Z) - math.log(2.0)) / s,
                np.tanh(Z - Y) / s,
                V / np.cosh(Z - Y) ** 2 / s,
            ),
            "huber": (np.sum(DELTA * (np.abs(Z - Y) - 0.5 * DELTA)) / s, DELTA * np.sign(Z - Y) / s, 0.0 * V),
            "squared": (0.5 * np.sum((Z - Y) ** 2) / s, (Z - Y) / s, V / s),
        }
    costs = {
        "logistic": (logistic_loss(y), Z[:1], V[:1]),
        "softmax": (softmax_cross_entropy_loss(labels, classes=m), Z, V),
        "log_cosh": (log_cosh_loss(Y), Z, V),
        "huber": (huber_loss(Y, delta=DELTA), Z, V),
        "squared": (squared_loss(Y), Z, V),
    }
    for name, (cost, Zc, Vc) in costs.items():
        val, g = cost.value_and_grad(Zc)
        hv = cost.hvp(Zc, Vc)
        assert np.isfinite(val) and np.all(np.isfinite(g)) and np.all(np.isfinite(hv)), name
        want_val, want_g, want_hv = expected[name]
        assert val == pytest.approx(want_val, rel=1e-13), name
        np.testing.assert_allclose(g, np.reshape(want_g, g.shape), rtol=1e-12, atol=1e-300, err_msg=name)
        if want_hv is not None:
            np.testing.assert_allclose(hv, np.reshape(want_hv, hv.shape), rtol=1e-12, atol=1e-300, err_msg=name)
    # softmax at 1e3: p is one-hot to rounding, so the Hessian (diag p - p p^T) V vanishes to e^-1000
    hv = costs["softmax"][0].hvp(Z, V)
    p = softmax(Z, axis=0)
    np.testing.assert_allclose(hv, p * (V - np.sum(p * V, axis=0)) / s, rtol=1e-12, atol=1e-300)
    # logistic: a right margin of 1e3 costs e^-1000 (0.0), a wrong one its size
    assert logistic_loss([1.0, -1.0]).value([[1e3, 1e3]]) == pytest.approx(1e3 / 2, rel=1e-15)


def test_huber_second_derivative_at_the_kink_is_the_quadratic_pieces():
    cost = huber_loss(np.zeros((1, 4)), delta=0.5)
    Z = np.array([[0.5, -0.5, np.nextafter(0.5, 1.0), 0.25]])
    V = np.ones((1, 4))
    np.testing.assert_array_equal(cost.hvp(Z, V), [[0.25, 0.25, 0.0, 0.25]])
    np.testing.assert_array_equal(cost.gradient(Z), [[0.125, -0.125, 0.125, 0.0625]])  # C^1 at the kink


def test_softmax_integer_labels_equal_one_hot_and_bool():
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 4, 10)
    T = np.zeros((4, 10))
    T[labels, np.arange(10)] = 1.0
    Z = rng.standard_normal((4, 10))
    a = softmax_cross_entropy_loss(labels, classes=4)
    for b in (
        softmax_cross_entropy_loss(T),
        softmax_cross_entropy_loss(T.astype(bool)),
        softmax_cross_entropy_loss(T, 4),
    ):
        np.testing.assert_array_equal(a.data, b.data)
        assert a.value(Z) == b.value(Z)
    assert softmax_cross_entropy_loss([0, 2, 1]).shape == (3, 3)
    assert softmax_cross_entropy_loss([0, 2, 1], classes=5).shape == (5, 3)


def test_soft_targets_minimum_is_their_entropy():
    # with probabilities T, f(log T) = mean entropy of the columns and the gradient vanishes there
    T = softmax(np.random.default_rng(5).standard_normal((3, 6)), axis=0)
    cost = softmax_cross_entropy_loss(T)
    val, g = cost.value_and_grad(np.log(T))
    assert val == pytest.approx(-np.sum(T * np.log(T)) / 6, rel=1e-14)
    np.testing.assert_allclose(g, 0.0, atol=1e-16)


def test_logistic_equals_two_class_softmax():
    rng = np.random.default_rng(6)
    y = np.where(rng.standard_normal(8) > 0, 1.0, -1.0)
    z = 3.0 * rng.standard_normal((1, 8))
    two = softmax_cross_entropy_loss((y > 0).astype(int), classes=2)
    Z2 = np.vstack([np.zeros_like(z), z])  # class 1 has logit z: -log softmax = log(1 + e^-z) for y = +1
    assert logistic_loss(y).value(z) == pytest.approx(two.value(Z2), rel=1e-14)
    np.testing.assert_allclose(logistic_loss(y).gradient(z), two.gradient(Z2)[1:], rtol=1e-13, atol=1e-17)


# --------------------------------------------------------------------------------------------
# cross-checks with the costs on P: Yhat = P X


def chained(loss, on_p, P, V, X):
    """(value, gradient in P, Hessian-vector product in P) of Yhat = P X, from the loss on Yhat."""
    val, g = loss.value_and_grad(P @ X)
    return val, g @ X.T, loss.hvp(P @ X, V @ X) @ X.T


@pytest.mark.parametrize("seed", SEEDS)
def test_squared_loss_of_linear_outputs_is_linear_regression(seed):
    rng = np.random.default_rng(seed)
    m, n, s = 2, 3, 13
    X, Y = rng.standard_normal((n, s)), rng.standard_normal((m, s))
    P, V = rng.standard_normal((m, n)), rng.standard_normal((m, n))
    lr = of.costs.linear_regression(X, Y)
    val, g, hv = chained(squared_loss(Y), lr, P, V, X)
    assert val == pytest.approx(lr.value(P), rel=1e-13)
    np.testing.assert_allclose(g, lr.gradient(P), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(hv, lr.hvp(P, V), rtol=1e-12, atol=1e-15)


def test_log_cosh_loss_of_linear_outputs_is_log_cosh():
    rng = np.random.default_rng(8)
    X, Y = rng.standard_normal((3, 11)), rng.standard_normal((2, 11))
    P, V = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    lc = of.costs.log_cosh(X, Y)
    val, g, hv = chained(log_cosh_loss(Y), lc, P, V, X)
    assert val == pytest.approx(lc.value(P), rel=1e-13)
    np.testing.assert_allclose(g, lc.gradient(P), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(hv, lc.hvp(P, V), rtol=1e-12, atol=1e-15)


def test_logistic_and_softmax_losses_of_linear_outputs_are_the_costs_on_p():
    rng = np.random.default_rng(9)
    X = rng.standard_normal((3, 10))
    y = np.where(rng.standard_normal(10) > 0, 1.0, -1.0)
    labels = rng.integers(0, 4, 10)
    for loss, on_p, m in (
        (logistic_loss(y), of.costs.logistic(X, y), 1),
        (softmax_cross_entropy_loss(labels, classes=4), of.costs.softmax_cross_entropy(X, labels, classes=4), 4),
    ):
        P, V = rng.standard_normal((m, 3)), rng.standard_normal((m, 3))
        val, g, hv = chained(loss, on_p, P, V, X)
        assert val == pytest.approx(on_p.value(P), rel=1e-13)
        np.testing.assert_allclose(g, on_p.gradient(P), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(hv, on_p.hvp(P, V), rtol=1e-11, atol=1e-15)


# --------------------------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize("build", [squared_loss, log_cosh_loss, huber_loss])
def test_targets_are_checked(build):
    with pytest.raises(TypeError, match="Y must be a real"):
        build("abc")
    with pytest.raises(TypeError, match="Y must be a real"):
        build(np.ones((2, 3), dtype=complex))
    with pytest.raises(ValueError, match=r"Y must have shape \(m, s\)"):
        build(np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match="Y must be non-empty"):
        build(np.ones((2, 0)))
    with pytest.raises(ValueError, match="Y must be finite"):
        build([[1.0, np.nan]])


@pytest.mark.parametrize(
    ("delta", "error"),
    [(0.0, ValueError), (-1.0, ValueError), (math.inf, ValueError), ("1", TypeError), (None, TypeError)],
)
def test_huber_delta_is_checked(delta, error):
    with pytest.raises(error, match="delta must be"):
        huber_loss(np.ones((1, 3)), delta=delta)


def test_logistic_labels_are_checked():
    with pytest.raises(ValueError, match=r"y must contain only the labels -1 and \+1, got 0.0"):
        logistic_loss([1.0, 0.0, -1.0])
    with pytest.raises(ValueError, match=r"y must have shape \(s,\) or \(1, s\), got shape \(2, 3\)"):
        logistic_loss(np.ones((2, 3)))
    with pytest.raises(TypeError, match="y must be a real"):
        logistic_loss(["a", "b"])
    with pytest.raises(ValueError, match="y must be finite"):
        logistic_loss([1.0, np.inf])


def test_softmax_labels_are_checked():
    with pytest.raises(ValueError, match="non-negative integer class labels"):
        softmax_cross_entropy_loss([0, 1.5])
    with pytest.raises(ValueError, match="non-negative integer class labels"):
        softmax_cross_entropy_loss([0, -1])
    with pytest.raises(ValueError, match=r"labels has label 3, outside range\(classes\) = range\(2\)"):
        softmax_cross_entropy_loss([0, 3], classes=2)
    with pytest.raises(ValueError, match="classes must be a positive integer"):
        softmax_cross_entropy_loss([0, 1], classes=0)
    with pytest.raises(TypeError, match="classes must be a positive integer"):
        softmax_cross_entropy_loss([0, 1], classes=2.0)
    with pytest.raises(TypeError, match="classes must be a positive integer"):
        softmax_cross_entropy_loss([0, 1], classes=True)
    with pytest.raises(ValueError, match="class probabilities: non-negative, each column summing to 1"):
        softmax_cross_entropy_loss([[0.5, 1.0], [0.4, 0.0]])
    with pytest.raises(ValueError, match="class probabilities"):
        softmax_cross_entropy_loss([[1.5, 1.0], [-0.5, 0.0]])
    with pytest.raises(ValueError, match="classes = 3 disagrees with the 2 rows of labels"):
        softmax_cross_entropy_loss([[1.0, 0.0], [0.0, 1.0]], classes=3)
    with pytest.raises(TypeError, match="labels must be a real"):
        softmax_cross_entropy_loss("cat")
    with pytest.raises(ValueError, match="labels must be finite"):
        softmax_cross_entropy_loss([0.0, np.nan])
    with pytest.raises(ValueError, match="classes"):
        softmax_cross_entropy_loss([0, 1], classes=10**15)  # refused before allocating the one-hot matrix


@pytest.mark.parametrize("kind", KINDS)
def test_point_shape_is_checked(kind):
    cost, _, _ = make(kind, 0)
    m, s = cost.shape
    with pytest.raises(ValueError, match="shape"):
        cost.value(np.ones((m + 1, s)))
    with pytest.raises(ValueError, match="shape"):
        cost.hvp(np.ones((m, s)), np.ones((m, s + 1)))


@pytest.mark.parametrize("kind", KINDS)
def test_kernel_shape_guard_returns_nan(kind):
    """Called through the raw C ABI with (m, n) not matching data, the kernels answer NaN."""
    cost, _, _ = make(kind, 0)
    m, s = cost.shape
    for mm, nn in ((m + 1, s), (m, s + 2), (s, m)):
        assert_kernels_answer_nan_on(cost, mm, nn)


# --------------------------------------------------------------------------------------------
# layout, pickling, exports, the flow

MODULES = {
    "squared": "squared_loss",
    "logistic": "logistic_loss",
    "softmax": "softmax_loss",
    "softmax_soft": "softmax_loss",
    "huber": "huber_loss",
    "log_cosh": "log_cosh_loss",
}


@pytest.mark.parametrize("kind", KINDS)
def test_data_is_the_layout_stated_in_the_module_docstring(kind):
    cost, _, targets = make(kind, 2)
    m, s = cost.shape
    scalars = [DELTA] if kind == "huber" else []
    expected = np.concatenate([[m, s, *scalars], np.ravel(targets)])
    np.testing.assert_array_equal(cost.data, expected)
    mod = importlib.import_module(f"overflow.costs.{MODULES[kind]}")
    assert f"``{mod._LAYOUT!r}``" in mod.__doc__


@pytest.mark.parametrize("kind", KINDS)
def test_pickle_round_trip(kind):
    cost, _, _ = make(kind, 1)
    back = pickle.loads(pickle.dumps(cost))
    assert back.shape == cost.shape and back.f_star == cost.f_star and repr(back) == repr(cost)
    np.testing.assert_array_equal(back.data, cost.data)
    Z = np.random.default_rng(9).standard_normal(cost.shape)
    assert back.value(Z) == cost.value(Z)
    np.testing.assert_array_equal(back.gradient(Z), cost.gradient(Z))
    np.testing.assert_array_equal(back.hvp(Z, Z), cost.hvp(Z, Z))


def test_exported_from_costs():
    for name in ("squared_loss", "logistic_loss", "softmax_cross_entropy_loss", "huber_loss", "log_cosh_loss"):
        assert name in of.costs.__all__ and f"`{name}`" in of.costs.__doc__
        assert getattr(of.costs, name).__doc__.count("Parameters") == 1


@pytest.mark.parametrize("kind", KINDS)
def test_flow_of_a_linear_network_decreases_the_loss(kind):
    """Today's network (identity input) with ``P = W_2 W_1`` of the loss's shape: the core runs the kernels."""
    cost, _, _ = make(kind, 0, m=2, s=5)
    net = of.Network(cost, depth=2, width=3)
    res = of.integrate(net, net.init(seed=0, scale=0.5), (0, 5.0), rtol=1e-8, atol=1e-10)
    assert res.status == "t_end", res.message
    loss = np.asarray(res.loss)
    assert np.all(np.diff(loss) <= 1e-12 * np.abs(loss[:-1]))
    assert loss[-1] < loss[0]
