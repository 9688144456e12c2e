"""Our DOP853 against scipy's DOP853 on an independent numpy right-hand side of eq. 4: depth 1 to 5,
unequal widths, rectangular products (m > n and m < n), both built-in data costs."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import factorization_problem, flow_rhs, reference, regression_problem, rel_err, states, unflatten

import overflow as of

WIDTHS = {1: (), 2: (4,), 3: (3, 5), 4: (2, 3, 4), 5: (3, 5, 2, 4)}
SHAPES = [(3, 2), (2, 4)]  # (m, n): m > n and m < n
T_END = 2.0
T_EVAL = np.linspace(0.0, T_END, 6)
# Both solvers run at rtol 1e-12 on a contracting flow: each is within ~1e-10 (relative) of the
# exact solution, so they agree to 1e-8 with a 100x margin.
AGREE = 1e-8


def build(cost_kind, m, n, widths, seed):
    if cost_kind == "factorization":
        return factorization_problem(m=m, n=n, widths=widths, seed=seed, scale=0.7)
    return regression_problem(m=m, n=n, widths=widths, samples=6, seed=seed, scale=0.7)


@pytest.mark.parametrize("cost_kind", ["factorization", "regression"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("depth", sorted(WIDTHS))
def test_dop853_matches_scipy(depth, shape, cost_kind):
    m, n = shape
    net, Ws, grad_f = build(cost_kind, m, n, WIDTHS[depth], seed=depth)
    assert net.dims == [n, *WIDTHS[depth], m]
    ref = reference(net.dims, grad_f, Ws, T_EVAL, rtol=1e-12, atol=1e-14)
    res = of.integrate(net, Ws, (0.0, T_END), method="dop853", rtol=1e-12, atol=1e-14, t_eval=T_EVAL)
    assert res.status == "t_end"
    np.testing.assert_array_equal(res.t, T_EVAL)
    assert rel_err(states(res), ref) < AGREE
    # the product and the loss at the saved points, from the reference states
    P_ref = []
    for y in ref:
        P = np.eye(n)
        for W in unflatten(net.dims, y):
            P = W @ P
        P_ref.append(P)
    P_ref = np.array(P_ref)
    assert rel_err(res.product, P_ref) < AGREE
    loss_ref = np.array([net.cost.value(P) for P in P_ref])
    np.testing.assert_allclose(res.loss, loss_ref, rtol=AGREE, atol=AGREE)
    # the flow really moved (the test is not comparing two copies of the initial point)
    assert res.loss[-1] < 0.9 * res.loss[0]


@pytest.mark.parametrize("depth", sorted(WIDTHS))
def test_rhs_matches_numpy(depth):
    # The core's right-hand side at one point against the numpy one (rounding-level agreement).
    net, Ws, grad_f = build("regression", 2, 4, WIDTHS[depth], seed=10 + depth)
    y = net.flatten(Ws)
    value, dy = net.rhs(y)
    np.testing.assert_allclose(dy, flow_rhs(net.dims, grad_f)(0.0, y), rtol=1e-12, atol=1e-13)
    assert value == pytest.approx(net.loss(Ws), rel=1e-13)


# From 32,768 weights on, the explicit stepper keeps the inner layers' stages as the factors of
# -Z Pre^T (stage_factors.hpp) and corrects the RHS products instead of forming the stage inputs.
# The same agreement through that path: n = 8 (vector kernels) and n = 5 (run-time loops), each
# explicit method, one and two threads.
WIDE = {"8x8": (8, 8, 128), "6x5": (6, 5, 130)}
WIDE_T = np.linspace(0.0, 1.0, 3)
_wide_refs = {}


def wide_problem(key):
    m, n, width = WIDE[key]
    net, Ws, grad_f = factorization_problem(m=m, n=n, widths=(width,) * 3, seed=3, scale=1.0, target_scale=2.0)
    assert sum(W.size for W in Ws) >= 32768
    if key not in _wide_refs:
        _wide_refs[key] = reference(net.dims, grad_f, Ws, WIDE_T, rtol=1e-12, atol=1e-14)
    return net, Ws, _wide_refs[key]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("method", ["bs3", "dopri5", "tsit5", "dop853"])
@pytest.mark.parametrize("key", sorted(WIDE))
def test_wide_network_matches_scipy(key, method, threads):
    net, Ws, ref = wide_problem(key)
    # bs3 is third order: rtol 1e-10 keeps its step count moderate (its error stays below 1e-9).
    rtol = 1e-10 if method == "bs3" else 1e-12
    res = of.integrate(
        net, Ws, (0.0, WIDE_T[-1]), method=method, rtol=rtol, atol=rtol * 1e-2, t_eval=WIDE_T, threads=threads
    )
    assert res.status == "t_end"
    assert rel_err(states(res), ref) < AGREE
    assert res.loss[-1] < 0.9 * res.loss[0]
