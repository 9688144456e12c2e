"""Tests of the data-driven costs (ridge, logistic, softmax cross-entropy, matrix sensing, log-cosh):
values against independent numpy formulas, gradients and Hessian-vector products against finite
differences, known minima, stability for large arguments, input validation, the shape guard of
the kernels, pickling, and one integration of the flow each."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from helpers import assert_kernels_answer_nan_on

import overflow as of
from overflow.costs.log_cosh import log_cosh
from overflow.costs.logistic import logistic
from overflow.costs.matrix_sensing import matrix_sensing
from overflow.costs.ridge import ridge
from overflow.costs.softmax import softmax_cross_entropy

SEEDS = [0, 1, 2]


# --------------------------------------------------------------------------------------------
# independent numpy references (written from the formulas)


def ref_ridge(X, Y, lam):
    s = X.shape[1]
    return lambda P: 0.5 * np.sum((P @ X - Y) ** 2) / s + 0.5 * lam * np.sum(P * P)


def ref_logistic(X, y):
    return lambda P: float(np.mean(np.logaddexp(0.0, -y * (P @ X)[0])))


def ref_softmax(X, labels):
    def f(P):
        Z = P @ X
        lse = np.logaddexp.reduce(Z, axis=0)
        return float(np.mean(lse - Z[labels, np.arange(X.shape[1])]))

    return f


def ref_sensing(A, b):
    return lambda P: 0.5 * float(np.sum((np.einsum("imn,mn->i", A, P) - b) ** 2))


def ref_log_cosh(X, Y):
    return lambda P: float(np.sum(np.log(np.cosh(P @ X - Y))) / X.shape[1])


def make(kind, seed):
    """(cost, numpy reference value function) for a random problem of the given kind."""
    rng = np.random.default_rng(seed)
    n, s = 3, 11
    X = rng.standard_normal((n, s))
    if kind == "ridge":
        Y = rng.standard_normal((2, s))
        lam = 0.25
        return ridge(X, Y, lam), ref_ridge(X, Y, lam)
    if kind == "logistic":
        y = np.where(rng.standard_normal(s) > 0, 1.0, -1.0)
        return logistic(X, y), ref_logistic(X, y)
    if kind == "softmax":
        labels = rng.integers(0, 4, s)
        return softmax_cross_entropy(X, labels, classes=4), ref_softmax(X, labels)
    if kind == "sensing":
        A = rng.standard_normal((5, 2, 3))
        b = rng.standard_normal(5)
        return matrix_sensing(A, b), ref_sensing(A, b)
    if kind == "log_cosh":
        Y = rng.standard_normal((2, s))
        return log_cosh(X, Y), ref_log_cosh(X, Y)
    raise AssertionError(kind)


KINDS = ["ridge", "logistic", "softmax", "sensing", "log_cosh"]


def fd_grad(f, P, h=1e-5):
    G = np.zeros_like(P)
    for idx in np.ndindex(P.shape):
        E = np.zeros_like(P)
        E[idx] = h
        G[idx] = (f(P + E) - f(P - E)) / (2 * h)
    return G


# --------------------------------------------------------------------------------------------
# values, gradients, Hessian-vector products


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("kind", KINDS)
def test_value_gradient_hvp(kind, seed):
    cost, ref = make(kind, seed)
    rng = np.random.default_rng(100 + seed)
    P = rng.standard_normal(cost.shape)
    V = rng.standard_normal(cost.shape)
    val, g = cost.value_and_grad(P)
    assert val == pytest.approx(ref(P), rel=1e-12, abs=1e-14)
    assert cost.value(P) == val
    # central differences: truncation ~ h^2 |f'''| ~ 1e-10, rounding ~ eps |f| / h ~ 1e-11
    scale = 1.0 + np.max(np.abs(g))
    np.testing.assert_allclose(g, fd_grad(cost.value, P), rtol=0, atol=1e-6 * scale)
    np.testing.assert_allclose(g, fd_grad(ref, P), rtol=0, atol=1e-6 * scale)
    h = 1e-5
    hv_fd = (cost.gradient(P + h * V) - cost.gradient(P - h * V)) / (2 * h)
    hv = cost.hvp(P, V)
    np.testing.assert_allclose(hv, hv_fd, rtol=0, atol=1e-6 * (1.0 + np.max(np.abs(hv_fd))))
    assert cost.hvp_exact
    # the Hessian is symmetric: <W, H V> = <V, H W>
    W = rng.standard_normal(cost.shape)
    assert np.sum(W * hv) == pytest.approx(np.sum(V * cost.hvp(P, W)), rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("kind", ["logistic", "softmax", "log_cosh"])
def test_large_arguments_are_finite(kind):
    cost, ref = make(kind, 0)
    P = 1e4 * np.random.default_rng(3).standard_normal(cost.shape)
    val, g = cost.value_and_grad(P)
    assert np.isfinite(val) and np.all(np.isfinite(g))
    assert np.all(np.isfinite(cost.hvp(P, np.ones(cost.shape))))
    if kind != "log_cosh":  # np.cosh overflows in the reference there
        assert val == pytest.approx(ref(P), rel=1e-12)


def test_log_cosh_large_residual_is_linear():
    cost = log_cosh(np.ones((1, 1)), np.zeros((1, 1)))
    assert cost.value(np.array([[1e3]])) == pytest.approx(1e3 - np.log(2.0), rel=1e-15)
    assert cost.gradient(np.array([[-1e3]]))[0, 0] == -1.0


def test_softmax_one_hot_equals_labels():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((3, 9))
    labels = np.array([0, 1, 2, 2, 1, 0, 0, 2, 1])
    one_hot = np.eye(3)[:, labels]
    a = softmax_cross_entropy(X, labels)
    b = softmax_cross_entropy(X, one_hot)
    c = softmax_cross_entropy(X, one_hot.astype(bool))
    P = rng.standard_normal((3, 3))
    assert a.shape == b.shape == c.shape == (3, 3)
    assert a.value(P) == b.value(P) == c.value(P)
    # classes beyond the largest label
    assert softmax_cross_entropy(X, labels, classes=5).shape == (5, 3)


def test_logistic_matches_two_class_softmax():
    # log(1 + e^{-y z}) is the cross-entropy of logits (0, z) with the class (y + 1) / 2
    rng = np.random.default_rng(5)
    X = rng.standard_normal((2, 8))
    y = np.array([1, -1, 1, 1, -1, -1, 1, -1], dtype=float)
    lg = logistic(X, y)
    sm = softmax_cross_entropy(X, ((y + 1) // 2).astype(int), classes=2)
    P = rng.standard_normal((1, 2))
    assert lg.value(P) == pytest.approx(sm.value(np.vstack([np.zeros((1, 2)), P])), rel=1e-13)


# --------------------------------------------------------------------------------------------
# minima


@pytest.mark.parametrize("lam", [0.0, 1e-3, 0.7])
def test_ridge_minimum(lam):
    rng = np.random.default_rng(6)
    X = rng.standard_normal((4, 10))
    Y = rng.standard_normal((3, 10))
    cost = ridge(X, Y, lam)
    s = X.shape[1]
    Pstar = np.linalg.solve(X @ X.T + s * lam * np.eye(4), X @ Y.T).T
    np.testing.assert_allclose(cost.gradient(Pstar), 0.0, atol=1e-12)
    assert cost.value(Pstar) == pytest.approx(cost.f_star, rel=1e-12)
    for _ in range(5):
        assert cost.f_star <= cost.value(Pstar + rng.standard_normal(Pstar.shape))


def test_ridge_rank_deficient_lam_zero():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((2, 6))
    X = np.vstack([X, X[0] + X[1]])  # XX^T singular: lstsq branch
    Y = rng.standard_normal((1, 6))
    cost = ridge(X, Y, 0)
    Pt = np.linalg.lstsq(X.T, Y.T, rcond=None)[0]
    assert cost.value(Pt.T) == pytest.approx(cost.f_star, rel=1e-12)


@pytest.mark.parametrize("r", [3, 6, 10])
def test_matrix_sensing_minimum(r):
    rng = np.random.default_rng(8)
    A = rng.standard_normal((r, 2, 3))
    b = rng.standard_normal(r)
    cost = matrix_sensing(A, b)
    p = np.linalg.lstsq(A.reshape(r, 6), b, rcond=None)[0]
    Pstar = p.reshape(2, 3)
    assert cost.value(Pstar) == pytest.approx(cost.f_star, rel=1e-10, abs=1e-24)
    if r <= 6:  # consistent (underdetermined) system
        assert cost.f_star == pytest.approx(0.0, abs=1e-20)
    else:
        assert cost.f_star > 0.0
    for _ in range(5):
        assert cost.f_star <= cost.value(Pstar + rng.standard_normal((2, 3)))


def test_f_star_none_where_unknown():
    for kind in ["logistic", "softmax", "log_cosh"]:
        assert make(kind, 0)[0].f_star is None


# --------------------------------------------------------------------------------------------
# validation and the kernel shape guard


def test_bad_inputs():
    X = np.ones((2, 4))
    Y = np.ones((1, 4))
    with pytest.raises(ValueError, match="lam"):
        ridge(X, Y, -1.0)
    with pytest.raises(ValueError, match="lam"):
        ridge(X, Y, np.nan)
    with pytest.raises(TypeError, match="lam"):
        ridge(X, Y, "1")
    with pytest.raises(ValueError, match="Y"):
        ridge(X, np.ones((1, 5)), 0.1)
    with pytest.raises(ValueError, match="X"):
        ridge(np.array([[np.nan, 1.0]]), np.ones((1, 2)), 0.1)
    with pytest.raises(ValueError, match="X"):
        ridge(np.ones((2, 2, 2)), Y, 0.1)
    with pytest.raises(TypeError, match="X"):
        ridge(np.array([["a", "b"]]), Y, 0.1)
    with pytest.raises(ValueError, match="-1 and \\+1"):
        logistic(X, np.array([1.0, 0.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="y"):
        logistic(X, np.array([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="y"):
        logistic(X, np.array([1.0, -1.0, np.nan, 1.0]))
    with pytest.raises(ValueError, match="y"):
        logistic(X, np.ones((2, 4)))
    with pytest.raises(ValueError, match="one-hot"):
        softmax_cross_entropy(X, np.array([[1, 0, 1, 0], [1, 1, 0, 1]]))
    with pytest.raises(ValueError, match="integer"):
        softmax_cross_entropy(X, np.array([0.5, 1, 0, 1]))
    with pytest.raises(ValueError, match="integer"):
        softmax_cross_entropy(X, np.array([-1, 1, 0, 1]))
    with pytest.raises(ValueError, match="classes"):
        softmax_cross_entropy(X, np.array([0, 3, 0, 1]), classes=2)
    with pytest.raises(ValueError, match="Y"):
        softmax_cross_entropy(X, np.array([0, 1, 0]))
    with pytest.raises(ValueError, match="A_ops"):
        matrix_sensing(np.ones((3, 2)), np.ones(3))
    with pytest.raises(ValueError, match="b"):
        matrix_sensing(np.ones((3, 2, 2)), np.ones(2))
    with pytest.raises(ValueError, match="b"):
        matrix_sensing(np.ones((3, 2, 2)), np.array([1.0, np.inf, 0.0]))
    with pytest.raises(ValueError, match="Y"):
        log_cosh(X, np.ones((1, 3)))
    with pytest.raises(ValueError, match="X"):
        log_cosh(np.full((2, 4), np.inf), Y)


@pytest.mark.parametrize("kind", KINDS)
def test_point_shape_is_checked(kind):
    cost, _ = make(kind, 0)
    m, n = cost.shape
    with pytest.raises(ValueError, match="shape"):
        cost.value(np.ones((m + 1, n)))
    with pytest.raises(ValueError, match="shape"):
        cost.hvp(np.ones((m, n)), np.ones((m, n + 1)))


@pytest.mark.parametrize("kind", KINDS)
def test_kernel_shape_guard_returns_nan(kind):
    """Called through the raw C ABI with (m, n) not matching data, the kernels answer NaN."""
    cost, _ = make(kind, 0)
    m, n = cost.shape
    assert_kernels_answer_nan_on(cost, m + 1, n + 2)


@pytest.mark.parametrize("kind", KINDS)
def test_pickle_round_trip(kind):
    cost, _ = make(kind, 1)
    back = pickle.loads(pickle.dumps(cost))
    assert back.shape == cost.shape and back.f_star == cost.f_star and repr(back) == repr(cost)
    np.testing.assert_array_equal(back.data, cost.data)
    P = np.random.default_rng(9).standard_normal(cost.shape)
    assert back.value(P) == cost.value(P)
    np.testing.assert_array_equal(back.gradient(P), cost.gradient(P))
    np.testing.assert_array_equal(back.hvp(P, P), cost.hvp(P, P))


# --------------------------------------------------------------------------------------------
# the flow


def assert_monotone(loss):
    loss = np.asarray(loss)
    assert np.all(np.diff(loss) <= 1e-12 * np.abs(loss[:-1])), np.max(np.diff(loss))


@pytest.mark.parametrize("kind", KINDS)
def test_flow_decreases_loss(kind):
    cost, _ = make(kind, 0)
    net = of.Network(cost, depth=2, width=4)
    res = of.integrate(net, net.init(seed=0, scale=0.5), (0, 20.0), rtol=1e-8, atol=1e-10)
    assert res.status == "t_end", res.message
    assert_monotone(res.loss)
    assert res.loss[-1] < res.loss[0]
    if cost.f_star is not None:
        assert res.loss[-1] >= cost.f_star - 1e-12


def test_flow_ridge_reaches_minimum():
    cost, _ = make("ridge", 0)
    net = of.Network(cost, depth=2, width=4)
    res = of.integrate(net, net.init(seed=0, scale=0.5), (0, 1e4), rtol=1e-8, atol=1e-10, gtol=1e-8)
    assert res.status == "converged", res.message
    assert_monotone(res.loss)
    assert res.loss[-1] - cost.f_star <= 1e-8 * max(1.0, abs(cost.f_star))


def test_flow_matrix_sensing_reaches_minimum():
    cost, _ = make("sensing", 0)  # 5 measurements of a 2x3 matrix: consistent, f_star = 0
    net = of.Network(cost, depth=2, width=4)
    # gtol well above the noise floor of an explicit method on this stiff problem (~lambda_max * atol)
    res = of.integrate(net, net.init(seed=0, scale=0.5), (0, 1e4), rtol=1e-8, atol=1e-10, gtol=1e-6)
    assert res.status == "converged", res.message
    assert_monotone(res.loss)
    assert res.loss[-1] <= 1e-10


def test_flow_logistic_separable_diverges_slowly():
    """On separable data there is no minimiser: the loss tends to 0 and ||P|| grows (like log t)."""
    rng = np.random.default_rng(10)
    X = rng.standard_normal((3, 20))
    y = np.sign(np.array([1.0, -2.0, 0.5]) @ X)
    cost = logistic(X, y)
    net = of.Network(cost, depth=2, width=4)
    t_eval = [0.0, 1.0, 10.0, 100.0, 1000.0]
    res = of.integrate(net, net.init(seed=0, scale=0.5), (0, 1000.0), rtol=1e-8, atol=1e-10, t_eval=t_eval)
    assert res.status == "t_end", res.message
    np.testing.assert_allclose(res.t, t_eval)
    assert_monotone(res.loss)
    assert res.loss[-1] < 1e-2 * res.loss[0]
    norms = [np.linalg.norm(P) for P in res.product]
    assert norms[4] > norms[3] > norms[2] > norms[1]
    # every sample correctly classified at the end
    assert np.all(y * (res.product[-1] @ X)[0] > 0)


def test_flow_logistic_separable_long_runs_end():
    """No minimiser, yet a run to t = 1e9 ends: the gradient decays like 1/t, so steps grow and the
    run takes few of them ("t_end"); with gtol it stops as "converged" once ||grad g|| <= gtol,
    with the loss still positive and ||P|| large (the flow only approaches the infimum 0)."""
    rng = np.random.default_rng(10)
    X = rng.standard_normal((3, 20))
    y = np.sign(np.array([1.0, -2.0, 0.5]) @ X)
    net = of.Network(logistic(X, y), depth=2, width=4)
    Ws = net.init(seed=0, scale=0.5)
    long = of.integrate(net, Ws, (0, 1e9), rtol=1e-8, atol=1e-10, save_weights=False)
    assert long.status == "t_end" and long.naccept < 20_000, (long.status, long.naccept)
    assert 0 < long.final_loss < 1e-6
    early = of.integrate(net, Ws, (0, 1e9), rtol=1e-8, atol=1e-10, gtol=1e-4, save_weights=False)
    assert early.status == "converged" and early.t_final < 1e9
    assert early.final_loss > long.final_loss > 0
