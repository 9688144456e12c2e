"""User costs (of.cost / of.costs.cost kernels and of.costs.scalar) drive the same flow as the
built-in costs computing the same function."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import states

import overflow as of

TARGET = np.array([[1.0, -0.5, 0.3], [0.2, 0.8, -1.1]])
T_EVAL = np.linspace(0.0, 2.0, 9)
# Both costs return the same gradient (P - T, computed the same way up to rounding), so the two
# runs take the same steps; only rounding can differ: 1e-12 allows ~1e3 ulps of accumulation.
SAME = 1e-12


def make_user_factorization(target):
    """1/2 ||P - T||^2 as a user kernel; the closure's array is frozen as a constant by Numba."""

    @of.cost(shape=target.shape)
    def half_sq_dist(P, grad):
        m, n = P.shape
        total = 0.0
        for i in range(m):
            for j in range(n):
                d = P[i, j] - target[i, j]
                grad[i, j] = d
                total += 0.5 * d * d
        return total

    return half_sq_dist


@pytest.fixture(scope="module")
def user_mf():
    return make_user_factorization(TARGET)


def test_user_kernel_value_and_gradient(user_mf):
    builtin = of.costs.matrix_factorization(TARGET)
    assert user_mf.shape == builtin.shape == TARGET.shape
    rng = np.random.default_rng(0)
    for _ in range(3):
        P = rng.standard_normal(TARGET.shape)
        assert user_mf.value(P) == pytest.approx(0.5 * np.sum((P - TARGET) ** 2), rel=1e-14)
        np.testing.assert_allclose(user_mf.gradient(P), P - TARGET, rtol=1e-15, atol=1e-15)
        V = rng.standard_normal(TARGET.shape)
        # the Hessian is the identity; without an hvp kernel the package uses central differences,
        # exact for a quadratic up to rounding of order eps / h ~ 1e-10
        np.testing.assert_allclose(user_mf.hvp(P, V), V, rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("method", ["bs3", "dop853"])
@pytest.mark.parametrize("widths", [[], [4], [2, 3]], ids=["depth1", "depth2", "depth3"])
def test_user_kernel_trajectory_equals_builtin(user_mf, widths, method):
    depth = len(widths) + 1
    ref_net = of.Network(of.costs.matrix_factorization(TARGET), depth=depth, widths=widths)
    net = of.Network(user_mf, depth=depth, widths=widths)
    Ws = ref_net.init(seed=1, scale=0.5)
    ref = of.integrate(ref_net, Ws, (0.0, 2.0), method=method, rtol=1e-8, atol=1e-10, t_eval=T_EVAL)
    res = of.integrate(net, Ws, (0.0, 2.0), method=method, rtol=1e-8, atol=1e-10, t_eval=T_EVAL)
    assert res.status == ref.status == "t_end"
    assert (res.naccept, res.nreject) == (ref.naccept, ref.nreject)
    np.testing.assert_allclose(states(res), states(ref), rtol=0, atol=SAME)
    np.testing.assert_allclose(res.loss, ref.loss, rtol=SAME, atol=SAME)
    np.testing.assert_allclose(res.grad_norm, ref.grad_norm, rtol=SAME, atol=SAME)


def lc(z):
    return math.log(math.cosh(z - 1.0))


def dlc(z):
    return math.tanh(z - 1.0)


def d2lc(z):
    return 1.0 / math.cosh(z - 1.0) ** 2


@pytest.fixture(scope="module")
def scalar_pair():
    scalar = of.costs.scalar(lc, dlc, d2lc)

    @of.cost(shape=(1, 1))
    def kernel(P, grad):
        grad[0, 0] = math.tanh(P[0, 0] - 1.0)
        return math.log(math.cosh(P[0, 0] - 1.0))

    return scalar, kernel


def test_scalar_and_kernel_agree_pointwise(scalar_pair):
    scalar, kernel = scalar_pair
    assert scalar.shape == kernel.shape == (1, 1)
    for z in (-2.0, 0.0, 0.7, 1.0, 3.5):
        P = np.array([[z]])
        assert scalar.value(P) == pytest.approx(lc(z), rel=1e-14, abs=1e-15)
        assert kernel.value(P) == pytest.approx(lc(z), rel=1e-14, abs=1e-15)
        np.testing.assert_allclose(scalar.gradient(P), [[dlc(z)]], rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(kernel.gradient(P), [[dlc(z)]], rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(scalar.hvp(P, np.array([[2.0]])), [[2.0 * d2lc(z)]], rtol=1e-14)


@pytest.mark.parametrize("width", [1, 5])
def test_scalar_and_kernel_trajectories_agree(scalar_pair, width):
    scalar, kernel = scalar_pair
    rng = np.random.default_rng(width)
    Ws = [0.7 * rng.standard_normal((width, 1)), 0.4 * rng.standard_normal((1, width))]
    runs = []
    for cost in (scalar, kernel):
        net = of.Network(cost, depth=2, width=width)
        runs.append(of.integrate(net, Ws, (0.0, 3.0), method="dopri5", rtol=1e-9, atol=1e-11, t_eval=T_EVAL * 1.5))
    a, b = runs
    assert a.status == b.status == "t_end"
    np.testing.assert_allclose(states(a), states(b), rtol=0, atol=SAME)
    np.testing.assert_allclose(a.loss, b.loss, rtol=SAME, atol=SAME)
    assert abs(a.product[-1, 0, 0] - 1.0) < abs(a.product[0, 0, 0] - 1.0)  # it moved towards z = 1
