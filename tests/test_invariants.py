"""The conserved quantities C_i = W_i W_i^T - W_{i+1}^T W_{i+1} (definition 1, proposition 2):
their computation, their drift along numerical solutions, balanced initialization and the
vector-case imbalance c = S^2 - 4 z^2."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from helpers import factorization_problem, regression_problem

import overflow as of


def direct_invariants(Ws):
    """C_i entry by entry, with explicit sums (no matrix products)."""
    out = []
    for W, V in itertools.pairwise(Ws):
        k = W.shape[0]
        C = np.zeros((k, k))
        for a in range(k):
            for b in range(k):
                C[a, b] = sum(W[a, j] * W[b, j] for j in range(W.shape[1])) - sum(
                    V[j, a] * V[j, b] for j in range(V.shape[0])
                )
        out.append(C)
    return out


def test_invariants_match_direct_computation():
    rng = np.random.default_rng(0)
    dims = [3, 4, 2, 5, 2]  # n, k_1, k_2, k_3, m
    Ws = [rng.standard_normal((dims[i + 1], dims[i])) for i in range(len(dims) - 1)]
    Cs = of.invariants(Ws)
    assert len(Cs) == len(Ws) - 1
    for C, D, k in zip(Cs, direct_invariants(Ws), dims[1:-1]):
        assert C.shape == (k, k)
        np.testing.assert_allclose(C, D, rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(C, C.T, rtol=0, atol=1e-14)
    # one layer: no invariants
    assert of.invariants(Ws[:1]) == []


def test_invariants_of_a_trajectory():
    # a stack of states (T, rows, cols), as Result.weights holds, gives C_i per time
    net, Ws, _ = factorization_problem(m=2, n=3, widths=(4, 3), seed=2)
    res = of.integrate(net, Ws, (0.0, 1.0), t_eval=np.linspace(0, 1, 5))
    Cs = of.invariants(res.weights)
    for j in range(len(res.t)):
        for C, D in zip(Cs, direct_invariants([W[j] for W in res.weights])):
            np.testing.assert_allclose(C[j], D, rtol=1e-13, atol=1e-13)


def drift_of(res, Ws0):
    C0 = direct_invariants(Ws0)
    drift = 0.0
    for j in range(len(res.t)):
        for C, c0 in zip(direct_invariants([W[j] for W in res.weights]), C0):
            drift = max(drift, float(np.max(np.abs(C - c0))))
    return drift


@pytest.mark.parametrize("method", ["dopri5", "dop853"])
def test_drift_shrinks_with_tolerance(method):
    net, Ws, _ = regression_problem(m=2, n=3, widths=(4, 3), seed=3, scale=0.8)
    drifts = []
    for rtol in (1e-4, 1e-8, 1e-11):
        res = of.integrate(net, Ws, (0.0, 3.0), method=method, rtol=rtol, atol=rtol * 1e-2)
        assert res.status == "t_end"
        # res.invariant_drift is the max over saved points and the final state; saved = every step
        assert res.invariant_drift == pytest.approx(drift_of(res, Ws), rel=1e-6, abs=1e-15)
        drifts.append(res.invariant_drift)
    # The drift is a global error: ~rtol * |W|^2 times a modest factor. Tolerances fall by 1e4 and
    # 1e3, so the drift must fall by at least 1e2 and 1e1 (a generous allowance for the factor).
    assert drifts[0] < 1e-2
    assert drifts[1] < drifts[0] / 100
    assert drifts[2] < drifts[1] / 10
    assert drifts[2] < 1e-9


BALANCED_SHAPES = [  # (m, n, widths), including hidden layers narrower than min(m, n)
    (3, 4, [2]),
    (4, 3, [1, 2]),
    (5, 5, [2, 3, 4]),
    (2, 6, [3, 1]),
    (3, 3, [3, 3, 3, 3]),
    (1, 1, [5]),
    (4, 2, [6, 7]),
]


@pytest.mark.parametrize("m,n,widths", BALANCED_SHAPES)
def test_balanced_init_has_zero_invariants(m, n, widths):
    net = of.Network(of.costs.matrix_factorization(np.ones((m, n))), depth=len(widths) + 1, widths=widths)
    Ws = net.init(seed=4, scale=1.3, kind="balanced")
    assert [W.shape for W in Ws] == net.shapes
    for C in direct_invariants(Ws):
        np.testing.assert_allclose(C, 0.0, rtol=0, atol=1e-12)
    # the product has the largest rank the narrowest layer allows, and is not zero
    P = net.product(Ws)
    assert np.linalg.matrix_rank(P, tol=1e-10) == min(m, n, *widths)


def test_balanced_start_stays_balanced():
    net = of.Network(of.costs.matrix_factorization(np.diag([2.0, 1.0, 0.5])), depth=3, widths=[2, 4])
    Ws = net.init(seed=5, scale=0.5, kind="balanced")
    res = of.integrate(net, Ws, (0.0, 2.0), method="dop853", rtol=1e-10, atol=1e-12)
    # zero up to the global error, ~rtol * |W|^2 with |W|^2 <= 2
    assert res.invariant_drift < 1e-8
    for C in of.invariants(res.final_weights):
        np.testing.assert_allclose(C, 0.0, rtol=0, atol=1e-8)


@pytest.mark.parametrize("width", [1, 2, 7])
def test_vector_case_imbalance(width):
    rng = np.random.default_rng(width)
    net = of.Network(of.costs.matrix_factorization(np.array([[1.5]])), depth=2, width=width)
    Ws = [rng.standard_normal((width, 1)), rng.standard_normal((1, width))]
    S = float(np.sum(Ws[0] ** 2) + np.sum(Ws[1] ** 2))
    z = float((Ws[1] @ Ws[0])[0, 0])
    c = of.imbalance(Ws)
    assert isinstance(c, float)
    assert c == pytest.approx(S**2 - 4 * z**2, rel=1e-12, abs=1e-12)
    assert c >= -1e-12  # S >= 2|z| by Cauchy-Schwarz
    # conserved along the flow, to the global error (rtol 1e-10 times |W|^4 ~ 10 times a factor)
    res = of.integrate(net, Ws, (0.0, 2.0), method="dop853", rtol=1e-10, atol=1e-12, t_eval=np.linspace(0, 2, 5))
    cs = of.imbalance(res.weights)
    assert cs.shape == res.t.shape
    assert cs.shape == (5,)
    np.testing.assert_allclose(cs, c, rtol=0, atol=1e-7)
    S_t = np.sum(res.weights[0] ** 2, axis=(1, 2)) + np.sum(res.weights[1] ** 2, axis=(1, 2))
    np.testing.assert_allclose(cs, S_t**2 - 4 * res.product[:, 0, 0] ** 2, rtol=1e-12, atol=1e-12)


def test_imbalance_of_deeper_networks_is_per_invariant():
    rng = np.random.default_rng(9)
    dims = [2, 3, 4, 2]
    Ws = [rng.standard_normal((dims[i + 1], dims[i])) for i in range(3)]
    vals = np.asarray(of.imbalance(Ws))
    expected = [2 * np.trace(C @ C) - np.trace(C) ** 2 for C in direct_invariants(Ws)]
    np.testing.assert_allclose(vals, expected, rtol=1e-12)
