"""The Runge-Kutta solvers: observed convergence order with fixed steps, the order of the dense
output, and agreement of every adaptive method with scipy's DOP853 at a tight tolerance."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import METHOD_NAMES, balanced_scalar_problem, factorization_problem, reference, rel_err, slope, states

import overflow as of

# The balanced scalar factorization with a = 1, |w|^2 = 0.04 at t = 0: a smooth logistic flow with
# a closed form, so the error floor is roundoff (~1e-16), not a reference solver's tolerance.
A, V0, T_END = 1.0, (0.12, -0.16), 3.0

# Step counts (T_END / n is a dyadic rational, so t + h accumulates exactly and exactly n steps are
# taken) chosen per method so that the global error is in its asymptotic regime and above roundoff:
# errors between ~1e-5 and ~1e-14 (roundoff is ~n * 1e-16 * |w| < 1e-15).
STEP_COUNTS = {
    "bs3": [32, 48, 64, 96, 128],
    "dopri5": [32, 48, 64, 96, 128],
    "tsit5": [32, 48, 64, 96, 128],
    "dop853": [8, 12, 16, 24],
}
# Single-step sizes h = 2^(-k/2) for the dense-output test, same criterion (local errors 1e-6..1e-14).
DENSE_K = {
    "bs3": range(4, 11),
    "dopri5": range(6, 12),
    "tsit5": range(6, 12),
    "dop853": range(3, 7),
}
# Observed orders are fitted slopes of log(error) vs log(h); +-0.3 absorbs the next term of the
# error expansion at the largest h of each window (measured slopes are within 0.15 of the order).
SLOPE_TOL = 0.3


def fixed_step_run(net, Ws, t1, n, method, t_eval=None):
    """n steps of exactly t1 / n: first_step = max_step = h and tolerances so loose that no step
    is rejected (the error estimate is divided by atol + rtol |y| >= 1e3)."""
    h = t1 / n
    res = of.integrate(net, Ws, (0.0, t1), method=method, rtol=1e3, atol=1e3, first_step=h, max_step=h, t_eval=t_eval)
    assert res.status == "t_end"
    assert res.nreject == 0
    assert res.naccept == n
    return res


@pytest.mark.parametrize("method", METHOD_NAMES)
def test_fixed_step_global_order(method):
    net, Ws, exact = balanced_scalar_problem(A, V0)
    t_eval = np.array([T_END / 2, T_END])  # both are step ends for the (even) step counts used
    ns = np.array(STEP_COUNTS[method])
    errs = []
    for n in ns:
        res = fixed_step_run(net, Ws, T_END, int(n), method, t_eval)
        errs.append(np.max(np.abs(states(res) - exact(t_eval))))
    errs = np.array(errs)
    assert np.all(errs > 1e-15), errs  # above roundoff, or the slope means nothing
    order = of.METHODS[method][0]
    assert abs(slope(T_END / ns, errs) - order) < SLOPE_TOL, (method, errs)


@pytest.mark.parametrize("method", METHOD_NAMES)
def test_dense_output_order(method):
    # One step of size h from t = 0, read at interior points t = theta h by the interpolant: the
    # exact start makes the error the interpolant's local error, O(h^(q+1)) for dense order q.
    net, Ws, exact = balanced_scalar_problem(A, V0)
    hs = 2.0 ** (-np.array(DENSE_K[method]) / 2.0)
    errs = []
    for h in hs:
        t_eval = h * np.array([0.3, 0.7])
        res = fixed_step_run(net, Ws, h, 1, method, t_eval)
        np.testing.assert_array_equal(res.t, t_eval)
        errs.append(np.max(np.abs(states(res) - exact(t_eval))))
    errs = np.array(errs)
    assert np.all(errs > 1e-15), errs
    dense_order = of.METHODS[method][2]
    assert abs(slope(hs, errs) - (dense_order + 1)) < SLOPE_TOL, (method, errs)


@pytest.mark.parametrize("method", METHOD_NAMES)
def test_dense_output_global_order(method):
    # Fixed steps, output at points inside steps (t = (j + 1/3) h never is a step end): the global
    # error there is O(h^min(p, q + 1)): the propagated error plus the interpolant's local error.
    net, Ws, exact = balanced_scalar_problem(A, V0)
    ns = np.array(STEP_COUNTS[method])
    errs = []
    for n in ns:
        h = T_END / n
        t_eval = h * (np.arange(1, n, max(1, n // 8)) + 1.0 / 3.0)
        res = fixed_step_run(net, Ws, T_END, int(n), method, t_eval)
        errs.append(np.max(np.abs(states(res) - exact(t_eval))))
    order, _, dense_order = of.METHODS[method]
    assert abs(slope(T_END / ns, np.array(errs)) - min(order, dense_order + 1)) < SLOPE_TOL, (method, errs)


def test_fixed_step_counts_and_grid():
    # With t_eval=None every accepted step is saved: the grid is exactly j h.
    net, Ws, _ = balanced_scalar_problem(A, V0)
    res = fixed_step_run(net, Ws, T_END, 24, "dopri5")
    np.testing.assert_array_equal(res.t, np.arange(25) * (T_END / 24))


@pytest.mark.parametrize("method", METHOD_NAMES)
def test_adaptive_agrees_with_scipy(method):
    # Depth-3 factorization (a genuine system, not reducible to a scalar ODE). With rtol = 1e-10
    # the global error of a tolerance-proportional controller is ~rtol times a growth factor of
    # order 10 on this contracting flow; 1e-8 (relative) leaves a margin of 10x.
    net, Ws, grad_f = factorization_problem(m=2, n=3, widths=(3, 2), seed=1, scale=0.6, target_scale=1.0)
    t_eval = np.linspace(0.0, 2.0, 9)
    ref = reference(net.dims, grad_f, Ws, t_eval)
    res = of.integrate(net, Ws, (0.0, 2.0), method=method, rtol=1e-10, atol=1e-12, t_eval=t_eval)
    assert res.status == "t_end"
    assert rel_err(states(res), ref) < 1e-8
