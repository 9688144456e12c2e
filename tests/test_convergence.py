"""Convergence as the result: t_span = (t0, inf) with gtol, method "auto" (an explicit pair that
switches to rodas4 where the flow is stiff), and the ConvergenceWarning of a gtol not reached.

Oracles: scipy's DOP853 on the numpy right-hand side (tests/helpers.py) at tight tolerances, with
its own event location for the time at which ||grad g|| crosses gtol; the stability function
R(z) = 1 + z b^T (I - z A)^-1 1 of each explicit tableau, evaluated here in numpy.
"""

import math
import warnings

import numpy as np
import pytest
from helpers import flat, flow_rhs, mf_grad
from scipy.integrate import solve_ivp

import overflow as of


def ill_conditioned(seed=0, depth=3, width=8, size=6):
    """Matrix factorization of a size x size target with singular values logspace(2, -2): near its
    minimum the flow's Jacobian spans about 1e3 ... 1e-3, stiff for explicit methods."""
    rng = np.random.default_rng(1)
    U, _ = np.linalg.qr(rng.standard_normal((size, size)))
    V, _ = np.linalg.qr(rng.standard_normal((size, size)))
    T = U @ np.diag(np.logspace(2, -2, size)) @ V.T
    net = of.Network(of.costs.matrix_factorization(T), depth=depth, width=width)
    return net, net.init(seed=seed, scale=0.3), T


def problem_a():
    T = np.diag([3.0, 2.0, 1.0, 0.5])
    net = of.Network(of.costs.matrix_factorization(T), depth=3, width=16)
    return net, net.init(seed=0, scale=0.3), T


# ------------------------------------------------------------------ the tableau registry


def _boundary(tab):
    """Where |R(z)| first exceeds 1 on the negative real axis, by scanning and bisection."""
    A, b = np.asarray(tab["a"]), np.asarray(tab["b"])
    s = len(b)

    def R(z):
        return 1 + z * b @ np.linalg.solve(np.eye(s) - z * A, np.ones(s))

    z = 0.0
    while abs(R(z - 0.001)) <= 1:
        z -= 0.001
    lo, hi = z, z - 0.001
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if abs(R(mid)) <= 1 else (lo, mid)
    return -lo


@pytest.mark.parametrize("method", sorted(of.METHODS))
def test_stability_boundary_and_stiffness_stage(method):
    tab = of._core.tableau(method)
    assert tab["stability_boundary"] == pytest.approx(_boundary(tab), rel=1e-9)
    c = np.asarray(tab["c"])
    expected = max((i for i in range(1, len(c)) if c[i] == 1.0), default=-1)
    assert tab["stiffness_stage"] == expected
    # Hairer & Wanner's figures: DOPRI5's real stability interval is about [-3.3, 0].
    if method == "dopri5":
        assert tab["stability_boundary"] == pytest.approx(3.31, abs=0.01)


# ------------------------------------------------------------------ method "auto"


def test_auto_switches_on_a_stiff_flow_and_agrees_with_dop853():
    net, Ws, T = ill_conditioned()
    rtol, atol = 1e-8, 1e-10
    res = of.integrate(net, Ws, (0, 20), method="auto", rtol=rtol, atol=atol, save_weights=False)
    assert res.status == "t_end"
    assert res.method_steps["dop853"] > 0 and res.method_steps["rodas4"] > 0
    assert sum(res.method_steps.values()) == res.naccept
    assert len(res.switch_times) >= 1 and np.all(np.diff(res.switch_times) > 0)
    assert 0 < res.switch_times[0] < 20
    ref = of.integrate(net, Ws, (0, 20), method="dop853", rtol=1e-12, atol=1e-14, save_weights=False, max_steps=10**6)
    assert ref.status == "t_end"
    # The flow contracts towards the manifold of minima (the stiff directions damp their errors) and
    # is neutral along it, where local errors add up: a few times the local tolerance.
    y, y_ref = res.final_state, ref.final_state
    assert np.max(np.abs(y - y_ref)) <= 10 * (rtol * np.max(np.abs(y_ref)) + atol)


def test_auto_is_dop853_where_the_flow_is_not_stiff():
    # The vector case on [0, 2]: no stability-limited steps, so the same steps as dop853 exactly.
    net = of.Network(of.costs.matrix_factorization(np.array([[1.0]])), depth=2, width=10)
    Ws = net.init(seed=3, scale=0.5)
    a = of.integrate(net, Ws, (0, 2), method="auto", rtol=1e-8, atol=1e-10)
    b = of.integrate(net, Ws, (0, 2), method="dop853", rtol=1e-8, atol=1e-10)
    assert a.method_steps == {"dop853": b.naccept, "rodas4": 0} and len(a.switch_times) == 0
    np.testing.assert_array_equal(a.t, b.t)
    np.testing.assert_array_equal(a.final_state, b.final_state)


def test_t_converged_at_infinity_matches_scipy_event():
    # Problem (a) run to t = inf with gtol: the stop is where ||grad g|| crosses gtol, against
    # scipy DOP853 (rtol 1e-12) on the numpy flow with the event ||f(y)|| - gtol.
    net, Ws, T = problem_a()
    gtol = 1e-6
    res = of.integrate(net, Ws, (0, np.inf), method="auto", rtol=1e-12, atol=1e-14, gtol=gtol, save_weights=False)
    assert res.status == "converged" and res.final_grad_norm <= gtol

    rhs = flow_rhs(net.dims, mf_grad(T))

    def crossing(t, y):
        return np.log(np.linalg.norm(rhs(t, y)) / gtol)

    crossing.terminal = True
    crossing.direction = -1
    sol = solve_ivp(rhs, (0, 1e3), flat(Ws), method="DOP853", rtol=1e-12, atol=1e-14, events=crossing)
    t_ref = sol.t_events[0][0]
    # ||grad g|| decays at rate ~ lambda_min(Hess g) ~ 0.4 there. Each run's state error (rtol 1e-12
    # on |y| ~ 2) moves ||grad g|| by up to lambda_max ~ 13 times it, 2.6e-11, i.e. 2.6e-5 of gtol:
    # together ~5e-5 relative, so the crossing times agree to ~5e-5 / 0.4 ~ 1.3e-4.
    assert res.t_final == pytest.approx(t_ref, abs=2e-4)


def test_readme_first_example_converges_with_auto():
    net, Ws, _ = problem_a()
    with warnings.catch_warnings():
        warnings.simplefilter("error", of.ConvergenceWarning)
        res = of.integrate(net, Ws, t_span=(0, 50), method="auto", rtol=1e-8, atol=1e-10, gtol=1e-9)
    assert res.status == "converged" and res.final_grad_norm <= 1e-9 and res.t_final < 50


def test_explicit_method_warns_at_its_stability_floor():
    net, Ws, _ = problem_a()
    with pytest.warns(of.ConvergenceWarning, match="stability limit") as record:
        res = of.integrate(net, Ws, t_span=(0, 50), method="dop853", rtol=1e-8, atol=1e-10, gtol=1e-9)
    assert res.status == "t_end"
    message = str(record[0].message)
    assert message == res.message
    assert "method='auto'" in message and "gtol = 1e-09 not reached" in message
    assert f"{res.grad_norm_min:.6g}" in message and res.grad_norm_min > 1e-9


def test_warning_says_still_falling_when_time_ran_out():
    net, Ws, _ = problem_a()
    with pytest.warns(of.ConvergenceWarning, match="still falling"):
        res = of.integrate(net, Ws, t_span=(0, 3), method="dop853", gtol=1e-9)
    assert res.status == "t_end"


def test_auto_reaches_rounding_level_near_a_minimum():
    net, Ws, _ = ill_conditioned(seed=2)
    res = of.integrate(net, Ws, (0, np.inf), method="auto", gtol=1e-11, save_weights=False)
    assert res.status == "converged" and res.final_grad_norm <= 1e-11
    assert res.final_loss < 1e-18


def test_infinite_horizon_with_rodas4_and_max_steps():
    net, Ws, _ = ill_conditioned(seed=1)
    res = of.integrate(net, Ws, (0, np.inf), method="rodas4", gtol=1e-10, save_weights=False)
    assert res.status == "converged"
    with pytest.warns(of.ConvergenceWarning):
        short = of.integrate(net, Ws, (0, np.inf), method="rodas4", gtol=1e-10, max_steps=5, save_weights=False)
    assert short.status == "max_steps" and short.naccept == 5


@pytest.mark.parametrize("method", ["auto", "rodas4"])
def test_stiff_steps_on_an_activated_network(method):
    # Section 4's neuron g = (1 - w2 sigma(w1))^2 with isru. rodas4's Jacobian-vector products are
    # central differences here (accurate to ~1e-10 relative): its steps keep their order, so the run
    # reaches gtol and agrees with dop853 at rtol 1e-12 to a few times its own tolerance.
    f = of.costs.scalar(lambda z: (1 - z) ** 2, lambda z: -2 * (1 - z), lambda z: 2.0, f_star=0.0)
    net = of.Network(f, depth=2, width=1, activation="isru")
    Ws = [np.array([[0.3]]), np.array([[0.4]])]
    rtol, atol = 1e-9, 1e-12
    res = of.integrate(net, Ws, (0, np.inf), method=method, rtol=rtol, atol=atol, gtol=1e-10)
    assert res.status == "converged" and res.final_grad_norm <= 1e-10
    if method == "rodas4":
        assert res.njvp > 0
    t_mid = res.t_final / 2  # agreement mid-run, where the state still moves
    a = of.integrate(net, Ws, (0, t_mid), method=method, rtol=rtol, atol=atol)
    ref = of.integrate(net, Ws, (0, t_mid), method="dop853", rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(a.final_state, ref.final_state, rtol=0, atol=10 * (rtol * 2 + atol))


def test_gauss_on_an_activated_network():
    # the exact Jacobian of the activated network (csrc/src/data_jvp.cpp): gauss4 runs and agrees with dop853
    net = of.Network(
        of.costs.scalar(lambda z: z * z, lambda z: 2 * z, lambda z: 2.0), depth=2, width=1, activation="isru"
    )
    Ws = [np.array([[0.3]]), np.array([[0.4]])]
    a = of.integrate(net, Ws, (0, 1), method="gauss4", rtol=1e-10, atol=1e-12)
    b = of.integrate(net, Ws, (0, 1), method="dop853", rtol=1e-12, atol=1e-14)
    assert a.status == b.status == "t_end"
    np.testing.assert_allclose(a.final_state, b.final_state, rtol=0, atol=1e-9)


def test_solver_auto_steps_to_infinity():
    net, Ws, _ = ill_conditioned()
    s = of.Solver(net, Ws, method="auto", rtol=1e-6, atol=1e-9)
    while s.grad_norm > 1e-9:
        assert s.step() == "stepped"
    stats = s.stats
    assert stats["naccept_stiff"] > 0 and len(stats["switch_times"]) >= 1
    assert stats["method_now"] == "rodas4"


# ------------------------------------------------------------------ Monte Carlo


def test_monte_carlo_to_infinity_converges_and_warns_once():
    net, _, _ = problem_a()
    res = of.monte_carlo(
        net, 40, (0, np.inf), method="auto", gtol=1e-9, rtol=1e-8, atol=1e-10, progress=False, workers=2
    )
    assert np.all(res.status == "converged") and np.all(np.isfinite(res.t_converged))
    assert np.all(res.naccept_stiff > 0)
    assert res.summary().t_converged_quantiles
    with pytest.warns(of.ConvergenceWarning) as record:
        bad = of.monte_carlo(net, 40, (0, 50), method="dop853", gtol=1e-9, rtol=1e-8, atol=1e-10, progress=False)
    assert len(record) == 1
    missed = int(np.sum(bad.status != "converged"))
    assert missed > 0 and str(record[0].message).startswith(f"{missed} of 40 trajectories did not reach gtol")
    assert "method='auto'" in str(record[0].message) and np.any(bad.stalled)


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "t_span,match",
    [
        ((0, math.inf), "stops the run"),
        ((0, -math.inf), "finite or \\+inf"),
        ((math.inf, 1), "t_span\\[0\\] must be finite"),
        ((0, math.nan), "finite or \\+inf"),
    ],
)
def test_bad_infinite_spans(t_span, match):
    net, Ws, _ = problem_a()
    with pytest.raises(ValueError, match=match):
        of.integrate(net, Ws, t_span)
    with pytest.raises(ValueError, match=match):
        of.monte_carlo(net, 2, t_span, progress=False)


def test_auto_is_solve_ivps_lsoda():
    # scipy's LSODA maps to "auto" (dop853 switched to rodas4 where stiff): both names give its result
    auto = of.solve_ivp(lambda t, y: -y, (0, 1), [1.0], method="auto", rtol=1e-10, atol=1e-12)
    lsoda = of.solve_ivp(lambda t, y: -y, (0, 1), [1.0], method="LSODA", rtol=1e-10, atol=1e-12)
    assert auto.status == 0 and abs(auto.y[0, -1] - np.exp(-1)) < 1e-9
    np.testing.assert_array_equal(auto.y, lsoda.y)
