"""The vector case (section 3 of the paper): reduced flow (eq. 19), init_with, centre-stable distance
(Prop. 5 / Cor. 6), imbalance acceleration (Prop. 7) and time_to_loss, each against an independent
oracle (the full flow of ``overflow.integrate``, closed forms, or identities of appendix A.4)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import cumulative_trapezoid
from scipy.interpolate import CubicSpline
from scipy.optimize import brentq

import overflow as of
import overflow.vector as vec

RTOL, ATOL = 1e-11, 1e-13


@pytest.fixture(scope="module")
def quad_cost():
    """f(z) = (1 - z)^2: f'(0) = -2, s = -1."""
    return of.costs.scalar(lambda z: (1.0 - z) ** 2, lambda z: -2.0 * (1.0 - z), lambda z: 2.0)


@pytest.fixture(scope="module")
def logcosh_cost():
    """f(z) = log cosh(z - 1): non-polynomial, f'(0) = tanh(-1) < 0."""
    return of.costs.scalar(
        lambda z: math.log(math.cosh(z - 1.0)), lambda z: math.tanh(z - 1.0), lambda z: 1.0 - math.tanh(z - 1.0) ** 2
    )


@pytest.fixture(scope="module")
def half_cost():
    """f(z) = (z - a)^2 / 2 with a = 1.5."""
    a = 1.5
    return of.costs.scalar(lambda z: 0.5 * (z - a) ** 2, lambda z: z - a, lambda z: 1.0)


def full_flow(cost, w1, w2, t_eval, t1=None):
    net = of.Network(cost, depth=2, width=w1.shape[0])
    t1 = float(t_eval[-1]) if t1 is None else t1
    res = of.integrate(net, [w1, w2], (0.0, t1), method="dop853", rtol=RTOL, atol=ATOL, t_eval=t_eval)
    assert res.status == "t_end", res.status
    return res


# -- reduced flow vs full flow ------------------------------------------------------------------


@pytest.mark.parametrize("width", [1, 5, 50])
@pytest.mark.parametrize("name", ["quad_cost", "logcosh_cost"])
@pytest.mark.parametrize("z0,c", [(0.3, 0.5), (-0.4, 2.0), (0.2, 0.0)])
def test_reduced_flow_matches_full_flow(request, name, width, z0, c):
    cost = request.getfixturevalue(name)
    t = np.linspace(0.0, 4.0, 41)
    w1, w2 = vec.init_with(z0, c, width, seed=width)
    res = full_flow(cost, w1, w2, t)
    red = vec.reduced_flow(cost, z0, c, (0.0, 4.0), t_eval=t)
    assert red.status == 0
    np.testing.assert_allclose(red.t, t)
    np.testing.assert_allclose(red.z, res.product[:, 0, 0], rtol=0, atol=1e-8)
    np.testing.assert_allclose(red.loss, res.loss, rtol=0, atol=1e-8)


@pytest.mark.parametrize("z0", [0.1, 0.7, 3.0])
def test_reduced_flow_balanced_logistic(half_cost, z0):
    a = 1.5
    t = np.linspace(0.0, 5.0, 51)
    red = vec.reduced_flow(half_cost, z0, 0.0, (0.0, 5.0), t_eval=t)
    exact = a / (1.0 + (a / z0 - 1.0) * np.exp(-2.0 * a * t))
    np.testing.assert_allclose(red.z, exact, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(red.loss, 0.5 * (exact - a) ** 2, rtol=0, atol=1e-10)


# -- init_with ----------------------------------------------------------------------------------


@pytest.mark.parametrize("width", range(1, 11))
@pytest.mark.parametrize("c", [0.0, 0.5, 10.0])
@pytest.mark.parametrize("z0", [0.0, 0.3, -1.7])
def test_init_with_exact(width, c, z0):
    w1, w2 = vec.init_with(z0, c, width, seed=123 + width)
    assert w1.shape == (width, 1) and w2.shape == (1, width)
    # oracles: the product directly, and overflow's own imbalance 2tr(C^2) - tr(C)^2 = S^2 - 4z^2
    S = float(np.sum(w1**2) + np.sum(w2**2))
    scale = 1.0 + c + 4 * z0**2
    assert abs((w2 @ w1).item() - z0) <= 1e-12 * (1 + abs(z0))
    assert abs(S**2 - 4 * (w2 @ w1).item() ** 2 - c) <= 1e-12 * scale
    assert abs(of.imbalance([w1, w2]) - c) <= 1e-12 * scale
    assert abs(vec.imbalance(w1, w2) - c) <= 1e-12 * scale


def test_init_with_random_and_bad_input():
    a = vec.init_with(0.3, 1.0, 6, seed=1)
    b = vec.init_with(0.3, 1.0, 6, seed=2)
    assert not np.allclose(a[0], b[0])
    with pytest.raises(ValueError, match="c"):
        vec.init_with(0.3, -0.1, 4)
    with pytest.raises(ValueError, match="width"):
        vec.init_with(0.3, 1.0, 0)
    with pytest.raises(TypeError):
        vec.init_with(0.3, 1.0, 2.5)


def test_imbalance_matches_core():
    rng = np.random.default_rng(0)
    w1, w2 = rng.standard_normal((7, 1)), rng.standard_normal((1, 7))
    assert vec.imbalance(w1, w2) == pytest.approx(of.imbalance([w1, w2]), rel=1e-12)
    assert vec.imbalance(w1.ravel(), w2.ravel()) == pytest.approx(of.imbalance([w1, w2]), rel=1e-12)


# -- centre-stable distance (Prop. 5 / Cor. 6) ---------------------------------------------------


def test_sign(quad_cost, logcosh_cost, half_cost):
    assert vec.sign(quad_cost) == -1
    assert vec.sign(logcosh_cost) == -1
    assert vec.sign(half_cost) == -1
    up = of.costs.scalar(lambda z: (z + 2.0) ** 2, lambda z: 2.0 * (z + 2.0), lambda z: 2.0)
    assert vec.sign(up) == 1


def test_distance_evolution_and_limit(quad_cost):
    """d(t) = d(0) exp(s int f'(z) dt) along the full flow, and also d^2 = sqrt(c + 4z^2) - 2 s z
    (|u|^2 from S and z, appendix A.4); d > 0 converges to the critical point z = 1 of f."""
    s = vec.sign(quad_cost)
    w1, w2 = vec.init_with(-0.5, 0.3, 6, seed=7)
    assert vec.predict(w1, w2, quad_cost) == "critical_of_f"
    t = np.linspace(0.0, 2.0, 20001)
    res = full_flow(quad_cost, w1, w2, t)
    z = res.product[:, 0, 0]
    d = np.array([vec.center_stable_distance(a, b, quad_cost) for a, b in zip(res.weights[0], res.weights[1])])
    dfz = -2.0 * (1.0 - z)
    np.testing.assert_allclose(d, d[0] * np.exp(s * cumulative_trapezoid(dfz, t, initial=0.0)), rtol=1e-6)
    np.testing.assert_allclose(d**2, np.sqrt(0.3 + 4 * z**2) - 2 * s * z, rtol=1e-9)
    late = full_flow(quad_cost, w1, w2, np.array([0.0, 30.0]))
    assert late.product[-1, 0, 0] == pytest.approx(1.0, abs=1e-8)


@pytest.mark.parametrize("width", [1, 4])
def test_distance_zero_goes_to_saddle(quad_cost, width):
    s = vec.sign(quad_cost)
    rng = np.random.default_rng(width)
    w2 = rng.standard_normal((1, width))
    w1 = s * w2.T.copy()
    assert vec.center_stable_distance(w1, w2, quad_cost) == 0.0
    assert vec.predict(w1, w2, quad_cost) == "saddle"
    t = np.linspace(0.0, 15.0, 31)
    res = full_flow(quad_cost, w1, w2, t)
    d = [vec.center_stable_distance(a, b, quad_cost) for a, b in zip(res.weights[0], res.weights[1])]
    assert max(d) <= 1e-12
    assert abs(res.product[-1, 0, 0]) <= 1e-12
    assert res.loss[-1] == pytest.approx(1.0, abs=1e-10)  # f(0) > f* = 0: Cor. 6


def test_predict_tolerance(quad_cost):
    w2 = np.array([[0.5, -0.2]])
    w1 = -w2.T + 1e-6
    assert vec.predict(w1, w2, quad_cost) == "critical_of_f"
    assert vec.predict(w1, w2, quad_cost, tol=1e-3) == "saddle"


# -- Prop. 7: imbalance accelerates -------------------------------------------------------------


@pytest.mark.parametrize("name", ["quad_cost", "logcosh_cost"])
@pytest.mark.parametrize("z0", [0.2, -0.6])
def test_larger_imbalance_is_faster(request, name, z0):
    cost = request.getfixturevalue(name)
    t = np.linspace(0.0, 3.0, 301)
    l1 = vec.reduced_flow(cost, z0, 0.5, (0.0, 3.0), t_eval=t).loss
    l2 = vec.reduced_flow(cost, z0, 4.0, (0.0, 3.0), t_eval=t).loss
    assert l1[0] == l2[0]
    assert np.all(l2[1:] <= l1[1:] + 1e-14)
    big = l1[1:] > 1e-8
    assert big.any() and np.all(l2[1:][big] < l1[1:][big])
    # the same on the full flow, at width 3
    a = full_flow(cost, *vec.init_with(z0, 0.5, 3, seed=1), t).loss
    b = full_flow(cost, *vec.init_with(z0, 4.0, 3, seed=2), t).loss
    assert np.all(b[1:] <= a[1:] + 1e-12)


# -- time_to_loss -------------------------------------------------------------------------------


def _crossing_time(t, loss, target):
    i = int(np.argmax(loss <= target))
    assert i > 0 and loss[i] <= target
    lo, hi = max(0, i - 4), min(len(t), i + 4)
    spline = CubicSpline(t[lo:hi], np.log(loss[lo:hi]))
    return brentq(lambda x: spline(x) - math.log(target), t[i - 1], t[i], xtol=1e-14)


@pytest.mark.parametrize("name", ["quad_cost", "logcosh_cost"])
@pytest.mark.parametrize("z0,c", [(0.3, 0.5), (-0.4, 2.0), (0.2, 0.0)])
@pytest.mark.parametrize("target", [1e-2, 1e-4])
def test_time_to_loss_matches_trajectory(request, name, z0, c, target):
    cost = request.getfixturevalue(name)
    T = vec.time_to_loss(cost, z0, c, target)
    assert 0 < T < math.inf
    t = np.linspace(0.0, 1.5 * T, 3001)
    res = full_flow(cost, *vec.init_with(z0, c, 4, seed=3), t)
    assert _crossing_time(t, res.loss, target) == pytest.approx(T, rel=1e-6)


def test_time_to_loss_closed_form(half_cost):
    # balanced f = (z-a)^2/2: z = a / (1 + (a/z0 - 1) e^{-2at}); loss L at z = a - sqrt(2L)
    a, z0, L = 1.5, 0.2, 1e-6
    z = a - math.sqrt(2 * L)
    exact = math.log((a / z0 - 1) / (a / z - 1)) / (2 * a)
    assert vec.time_to_loss(half_cost, z0, 0.0, L) == pytest.approx(exact, rel=1e-9)


def test_time_to_loss_unreachable(quad_cost, half_cost):
    assert vec.time_to_loss(quad_cost, 0.3, 0.5, -1.0) == math.inf  # below min f
    assert vec.time_to_loss(quad_cost, 0.3, 0.5, 0.0) == math.inf  # reached only as t -> inf
    assert vec.time_to_loss(quad_cost, 0.3, 0.5, 5.0) == 0.0  # already below
    assert vec.time_to_loss(quad_cost, -0.3, 0.0, 1e-3) == math.inf  # balanced: stuck at the saddle z=0
    assert vec.time_to_loss(quad_cost, 0.0, 0.0, 1e-3) == math.inf
    assert 0 < vec.time_to_loss(quad_cost, -0.3, 1e-3, 1e-3) < math.inf
    # a tilted double well: from z0 = -2 the flow settles in the upper well near z = -0.93
    # (f ~ 0.48), so f = 0 (reached only in the lower well near z = 1.06) is never reached
    well = of.costs.scalar(
        lambda z: (z * z - 1.0) ** 2 - 0.5 * z, lambda z: 4.0 * z * (z * z - 1.0) - 0.5, lambda z: 12.0 * z * z - 4.0
    )
    assert vec.time_to_loss(well, -2.0, 0.5, 0.0) == math.inf
    assert 0 < vec.time_to_loss(well, -2.0, 0.5, 0.6) < math.inf


# -- bad input ----------------------------------------------------------------------------------


def test_bad_input(quad_cost):
    w1, w2 = vec.init_with(0.3, 0.5, 4)
    with pytest.raises(ValueError, match="same width"):
        vec.imbalance(w1, w2[:, :3])
    with pytest.raises(ValueError, match="shape"):
        vec.imbalance(np.ones((4, 2)), w2)
    with pytest.raises(ValueError, match="shape"):
        vec.center_stable_distance(w1, w2.T, quad_cost)  # w2 given as a column
    with pytest.raises(ValueError, match="shape"):
        vec.predict(np.ones((2, 2, 1)), w2, quad_cost)  # a deeper stack of layers
    with pytest.raises(TypeError):
        vec.imbalance(w1.astype(complex), w2)
    with pytest.raises(TypeError, match="Cost"):
        vec.sign(lambda z: z)
    mat = of.costs.matrix_factorization(np.eye(2))
    with pytest.raises(ValueError, match=r"\(1, 1\)"):
        vec.reduced_flow(mat, 0.3, 0.5, (0, 1))
    with pytest.raises(ValueError, match=r"\(1, 1\)"):
        vec.sign(mat)
    flat = of.costs.scalar(lambda z: z * z, lambda z: 2.0 * z, lambda z: 2.0)
    with pytest.raises(ValueError, match="f'\\(0\\)"):
        vec.sign(flat)
    with pytest.raises(ValueError, match="f'\\(0\\)"):
        vec.predict(w1, w2, flat)
    with pytest.raises(ValueError):
        vec.reduced_flow(quad_cost, 0.3, -1.0, (0, 1))
    with pytest.raises(ValueError):
        vec.reduced_flow(quad_cost, 0.3, 0.5, (1, 0))
    with pytest.raises(ValueError):
        vec.time_to_loss(quad_cost, 0.3, -1.0, 0.1)
