"""The Butcher tableaux as data (as scipy's test_rk.py does): consistency, embedded estimates, the
dense-output polynomials and the rooted-tree order conditions up to each method's order."""

from __future__ import annotations

import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest

import overflow as of
from overflow import _core

METHOD_NAMES = sorted(of.METHODS)
# Coefficients are given to ~16 digits (some as decimal literals), and the conditions sum up to
# ~16 products: 1e-13 is far above their rounding and far below any real violation (>= 1e-4).
COND_TOL = 1e-13


# --------------------------------------------------------------------------------------------
# rooted trees: a tree is the sorted tuple of its children's trees; the leaf is ()


@cache
def trees(order):
    """All rooted trees with `order` nodes, each once (canonical forms)."""
    if order == 1:
        return ((),)
    out = set()
    for smaller in trees(order - 1):
        out.update(_graft_leaf(smaller))
    return tuple(sorted(out))


def _graft_leaf(tree):
    """Every tree obtained by adding one leaf to some node of `tree`."""
    yield tuple(sorted(tree + ((),)))  # at the root
    for i, child in enumerate(tree):
        for grown in _graft_leaf(child):
            yield tuple(sorted(tree[:i] + (grown,) + tree[i + 1 :]))


def size(tree):
    return 1 + sum(size(c) for c in tree)


def gamma(tree):
    """The density: gamma(leaf) = 1, gamma([t_1..t_k]) = |t| prod gamma(t_j)."""
    return size(tree) * int(np.prod([gamma(c) for c in tree]))


def phi(tree, A):
    """Elementary weights per stage: Phi(leaf) = 1, Phi([t_1..t_k]) = prod_j (A Phi(t_j))."""
    out = np.ones(A.shape[0])
    for child in tree:
        out = out * (A @ phi(child, A))
    return out


def test_tree_counts():
    # OEIS A000081: 1, 1, 2, 4, 9, 20, 48, 115
    assert [len(trees(p)) for p in range(1, 9)] == [1, 1, 2, 4, 9, 20, 48, 115]
    assert gamma(((), ())) == 3 and gamma((((),),)) == 6  # [t, t] -> 1/3, [[t]] -> 1/6


# --------------------------------------------------------------------------------------------
# the tableaux


def full_tableau(tab):
    """(A, c) over every slot: the stages, slot s = f(t + h, y_new) (its row is b) and the extras."""
    s, e = tab["stages"], tab["extra_stages"]
    n = s + 1 + e
    A = np.zeros((n, n))
    A[:s, :s] = tab["a"]
    A[s, :s] = tab["b"]
    if e:
        A[s + 1 :, :] = tab["extra_a"]
    c = np.concatenate([tab["c"], [1.0], tab["extra_c"]])
    return A, c


@pytest.fixture(params=METHOD_NAMES)
def tab(request):
    t = _core.tableau(request.param)
    assert t["name"] == request.param
    assert (t["order"], t["error_order"], t["dense_order"]) == of.METHODS[request.param]
    return t


def test_shapes_and_explicitness(tab):
    s, e = tab["stages"], tab["extra_stages"]
    assert tab["a"].shape == (s, s) and tab["b"].shape == (s,) and tab["c"].shape == (s,)
    assert tab["e"].shape == (s + 1,)
    assert tab["extra_a"].shape == (e, s + 1 + e) and tab["extra_c"].shape == (e,)
    assert tab["dense"].shape[0] == s + 1 + e
    A, _ = full_tableau(tab)
    np.testing.assert_array_equal(np.triu(A), 0.0)  # explicit: strictly lower triangular
    assert tab["c"][0] == 0.0


def test_consistency(tab):
    assert np.sum(tab["b"]) == pytest.approx(1.0, abs=COND_TOL)
    A, c = full_tableau(tab)
    np.testing.assert_allclose(A @ np.ones(len(c)), c, rtol=0, atol=COND_TOL)  # row sums = c, extras too


def test_error_estimates_sum_to_zero(tab):
    # e = b - b_hat of two consistent methods, so sum(e) = 1 - 1
    assert np.sum(tab["e"]) == pytest.approx(0.0, abs=COND_TOL)
    assert np.max(np.abs(tab["e"])) > 1e-6  # and it is not trivially zero
    if tab["e_low"].size:
        assert np.sum(tab["e_low"]) == pytest.approx(0.0, abs=COND_TOL)


def dense_weights(tab, theta):
    """b_i(theta) = sum_p dense[i, p] theta^(p+1), per slot."""
    D = tab["dense"]
    powers = theta ** np.arange(1, D.shape[1] + 1)
    return D @ powers


def test_dense_output_ends(tab):
    s = tab["stages"]
    np.testing.assert_allclose(dense_weights(tab, 0.0), 0.0, atol=0)
    b1 = dense_weights(tab, 1.0)
    # b_i(1) sums coefficients of size up to ~1e2 (DOP853) that cancel: allow 8 ulps of their sum
    tol = 8 * np.finfo(float).eps * np.maximum(1.0, np.abs(tab["dense"]).sum(axis=1))
    assert np.all(np.abs(b1[:s] - tab["b"]) <= tol[:s])  # b_i(1) = b_i
    assert np.all(np.abs(b1[s:]) <= tol[s:])  # the FSAL and extra slots vanish at theta = 1


def test_order_conditions(tab):
    A, _ = full_tableau(tab)
    s = tab["stages"]
    b = np.concatenate([tab["b"], np.zeros(A.shape[0] - s)])
    p = tab["order"]
    for order in range(1, p + 1):
        for tree in trees(order):
            assert b @ phi(tree, A) == pytest.approx(1.0 / gamma(tree), abs=COND_TOL), (order, tree)
    # and the method is not of order p + 1 by accident (the order is exactly what it claims)
    worst = max(abs(b @ phi(t, A) - 1.0 / gamma(t)) for t in trees(p + 1))
    assert worst > 1e-8


def test_embedded_order_conditions(tab):
    # b_hat = b - e over the first s + 1 slots (slot s is f(t + h, y_new), the FSAL stage)
    A, _ = full_tableau(tab)
    s = tab["stages"]
    n = A.shape[0]
    b = np.concatenate([tab["b"], np.zeros(n - s)])
    estimates = [(tab["e"], tab["error_order"])]
    if tab["e_low"].size:  # DOP853's second estimate, of order 3
        estimates.append((tab["e_low"], 3))
    for e, q in estimates:
        b_hat = b - np.concatenate([e, np.zeros(n - s - 1)])
        for order in range(1, q + 1):
            for tree in trees(order):
                assert b_hat @ phi(tree, A) == pytest.approx(1.0 / gamma(tree), abs=1e-12), (q, tree)


def test_dense_output_order_conditions(tab):
    # sum_i b_i(theta) Phi_i(t) = theta^|t| / gamma(t) for every tree up to the dense order; both
    # sides are polynomials of degree <= the dense degree, so 2 + degree points prove it.
    A, _ = full_tableau(tab)
    q = tab["dense_order"]
    for theta in np.linspace(0.1, 1.0, tab["dense"].shape[1] + 2):
        bt = dense_weights(tab, theta)
        for order in range(1, q + 1):
            for tree in trees(order):
                assert bt @ phi(tree, A) == pytest.approx(theta**order / gamma(tree), abs=1e-12), (theta, tree)


def test_bushy_tree_quadrature(tab):
    # the bushy trees alone: b . c^(k-1) = 1/k, the quadrature conditions
    c = tab["c"]
    for k in range(1, tab["order"] + 1):
        assert tab["b"] @ c ** (k - 1) == pytest.approx(1.0 / k, abs=COND_TOL)


def test_generated_data_is_the_repository_tableaux():
    # csrc/src/tableau_data.cpp is what tools/generate_tableaux.py writes from tools/tableaux/.
    script = Path(__file__).resolve().parents[1] / "tools" / "generate_tableaux.py"
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
