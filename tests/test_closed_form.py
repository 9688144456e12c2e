"""Trajectories against closed forms: the balanced scalar factorization (a logistic equation) and
the vector case's reduction to one scalar ODE, dz/dt = -f'(z) sqrt(c + 4 z^2) (paper, eq. 19)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import METHOD_NAMES, balanced_scalar_problem, logistic, states
from scipy.integrate import solve_ivp

import overflow as of

RTOL, ATOL = 1e-10, 1e-12
# Global error of a tolerance-proportional controller on these contracting 1-D flows: a few times
# rtol * |z| (|z| <= 2); bs3 takes ~1e3 steps, each error ~atol, so 100 * rtol is a 10x margin.
TOL = 100 * RTOL


# --------------------------------------------------------------------------------------------
# balanced scalar factorization: f = (z - a)^2 / 2, w_1 = w_2^T, z(t) = a / (1 + (a/z0 - 1) e^(-2at))


@pytest.mark.parametrize("method", METHOD_NAMES)
@pytest.mark.parametrize("width", [1, 4])
@pytest.mark.parametrize("a", [1.5, 0.7])
def test_balanced_logistic(method, width, a):
    rng = np.random.default_rng(width)
    v0 = rng.standard_normal(width)
    v0 *= math.sqrt(0.05) / np.linalg.norm(v0)  # z0 = |v0|^2 = 0.05
    net, Ws, exact = balanced_scalar_problem(a, v0)
    t_eval = np.linspace(0.0, 4.0, 17)
    res = of.integrate(net, Ws, (0.0, 4.0), method=method, rtol=RTOL, atol=ATOL, t_eval=t_eval)
    assert res.status == "t_end"
    z = res.product[:, 0, 0]
    np.testing.assert_allclose(z, logistic(a, 0.05, t_eval), rtol=0, atol=TOL)
    # the whole state: w_1 = w_2^T stays parallel to v0 with |w_1|^2 = z(t)
    np.testing.assert_allclose(states(res), exact(t_eval), rtol=0, atol=TOL)
    np.testing.assert_allclose(res.loss, 0.5 * (logistic(a, 0.05, t_eval) - a) ** 2, rtol=0, atol=TOL)


# --------------------------------------------------------------------------------------------
# vector case with non-polynomial costs: dz/dt = -f'(z) sqrt(c + 4 z^2), c = S^2 - 4 z^2


def logcosh(z):
    return math.log(math.cosh(z - 1.0))


def dlogcosh(z):
    return math.tanh(z - 1.0)


def d2logcosh(z):
    return 1.0 / math.cosh(z - 1.0) ** 2


def expcost(z):  # exp(z - 1) - z, minimised at z = 1
    return math.exp(z - 1.0) - z


def dexpcost(z):
    return math.exp(z - 1.0) - 1.0


def d2expcost(z):
    return math.exp(z - 1.0)


SCALAR_COSTS = {
    "logcosh": (logcosh, dlogcosh, d2logcosh),
    "exp": (expcost, dexpcost, d2expcost),
}
_COMPILED: dict = {}


def scalar_cost(name):
    """of.costs.scalar compiles its callbacks on every call: build each cost once."""
    if name not in _COMPILED:
        _COMPILED[name] = of.costs.scalar(*SCALAR_COSTS[name])
    return _COMPILED[name]


def scalar_ode_reference(df, z0, c, t_eval):
    """z(t) from the scalar ODE of eq. 19, by scipy DOP853 at rtol 1e-12."""
    sol = solve_ivp(
        lambda t, z: -df(z[0]) * np.sqrt(c + 4.0 * z**2),
        (0.0, t_eval[-1]),
        [z0],
        method="DOP853",
        t_eval=t_eval,
        rtol=1e-12,
        atol=1e-14,
    )
    assert sol.success
    return sol.y[0]


@pytest.mark.parametrize("method", METHOD_NAMES)
@pytest.mark.parametrize("width", [1, 10])
@pytest.mark.parametrize("cost_name", sorted(SCALAR_COSTS))
def test_vector_case_reduces_to_scalar_ode(method, width, cost_name):
    fn, dfn, d2fn = SCALAR_COSTS[cost_name]
    net = of.Network(scalar_cost(cost_name), depth=2, width=width)
    rng = np.random.default_rng(7 + width)
    # unbalanced: |w_1| != |w_2|, so c > 0
    Ws = [
        0.8 * rng.standard_normal((width, 1)) / math.sqrt(width),
        0.3 * rng.standard_normal((1, width)) / math.sqrt(width),
    ]
    z0 = float((Ws[1] @ Ws[0])[0, 0])
    c = of.imbalance(Ws)
    assert c > 1e-3
    t_eval = np.linspace(0.0, 3.0, 13)
    z_ref = scalar_ode_reference(dfn, z0, c, t_eval)
    assert abs(z_ref[-1] - 1.0) < 0.5  # the test problem really moves towards the minimiser
    res = of.integrate(net, Ws, (0.0, 3.0), method=method, rtol=RTOL, atol=ATOL, t_eval=t_eval)
    assert res.status == "t_end"
    np.testing.assert_allclose(res.product[:, 0, 0], z_ref, rtol=0, atol=TOL)
    np.testing.assert_allclose(res.loss, [fn(z) for z in z_ref], rtol=0, atol=TOL)
