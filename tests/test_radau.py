"""radau5, the Radau IIA method of order 5 (csrc/include/overflow/detail/radau.hpp), on gradient
flows through overflow.integrate, Solver and monte_carlo: the convergence rodas4 reaches, the
solution of scipy's DOP853 at tight tolerances (step ends and the collocation polynomial at
t_eval), errors that fall with the tolerance, scipy's Radau step counts on the same flow, and a
stiff flow. The stiff classics (Robertson, Van der Pol) are in csrc/tests/test_radau.cpp."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import balanced_scalar_problem, factorization_problem, flat, flow_rhs, reference, rel_err, states
from scipy.integrate import solve_ivp

import overflow as of


def test_radau5_is_an_implicit_method_of_order_5():
    assert of.IMPLICIT_METHODS["radau5"] == (5, 3, 3)
    row = {m.name: m for m in of._core.method_table()}["radau5"]
    assert row.c_code == 8 and row.scheme == "radau" and row.control_order == 3


def test_converges_where_rodas4_does():
    net, Ws, _ = factorization_problem(3, 2, widths=(4, 3), seed=11)
    runs = {
        m: of.integrate(net, Ws, (0, np.inf), method=m, rtol=1e-8, atol=1e-10, gtol=1e-8, save_weights=False)
        for m in ("radau5", "rodas4")
    }
    for m, res in runs.items():
        assert res.status == "converged" and res.final_grad_norm <= 1e-8, (m, res.status)
    a, b = runs["radau5"], runs["rodas4"]
    # The same minimum: weights agree to the tolerances' scale, the loss to rounding of it.
    assert np.max(np.abs(flat(a.final_weights) - flat(b.final_weights))) < 1e-6
    assert abs(a.final_loss - b.final_loss) <= 1e-10 * max(1.0, abs(b.final_loss))


def test_agrees_with_scipy_at_tight_tolerance():
    net, Ws, grad_f = factorization_problem(3, 2, widths=(4, 3), seed=9)
    t_eval = np.linspace(0, 4, 9)
    res = of.integrate(net, Ws, (0, 4), method="radau5", rtol=1e-10, atol=1e-12, t_eval=t_eval)
    ref = reference(net.dims, grad_f, Ws, t_eval)
    # t_eval points come from the collocation polynomial (order 4 inside a step): at rtol 1e-10
    # its error is ~1e-9, the step ends' ~1e-10.
    assert rel_err(states(res), ref) < 1e-7


def test_error_falls_with_the_tolerance():
    net, Ws, exact = balanced_scalar_problem(1.0, (0.12, -0.16))
    T = 3.0
    errs = []
    for rtol in (1e-4, 1e-6, 1e-8, 1e-10):
        res = of.integrate(net, Ws, (0.0, T), method="radau5", rtol=rtol, atol=rtol, t_eval=[T])
        errs.append(np.max(np.abs(states(res) - exact([T]))))
        assert errs[-1] < 10 * rtol, (rtol, errs)
    assert all(np.diff(errs) < 0), errs


def test_steps_like_scipy_radau():
    # The same algorithm (radau5.f; scipy's radau.py follows it): step counts of the same order.
    net, Ws, grad_f = factorization_problem(3, 2, widths=(4, 3), seed=9)
    for rtol in (1e-4, 1e-7):
        res = of.integrate(net, Ws, (0, 20), method="radau5", rtol=rtol, atol=rtol * 1e-3)
        sp = solve_ivp(flow_rhs(net.dims, grad_f), (0, 20), flat(Ws), method="Radau", rtol=rtol, atol=rtol * 1e-3)
        steps = sp.t.size - 1
        assert 0.5 * steps <= res.naccept <= 2 * steps, (rtol, res.naccept, steps)


def test_stiff_flow_takes_ten_times_fewer_steps_than_dopri5():
    # The vector case with imbalance c = 1e6 (eigenvalues ~ -1e3): explicit steps are capped by
    # stability, radau5's (L-stable) only by accuracy.
    f = of.costs.scalar(lambda z: 0.5 * (z - 1.0) ** 2, lambda z: z - 1.0, lambda z: 1.0, f_star=0.0)
    net = of.Network(f, depth=2, width=4)
    Ws = list(of.vector.init_with(0.2, 1e6, 4, seed=0))
    ref = net.flatten(of.integrate(net, Ws, (0, 10), method="dop853", rtol=1e-12, atol=1e-12).final_weights)
    explicit = of.integrate(net, Ws, (0, 10), method="dopri5", rtol=1e-6, atol=1e-9)
    stiff = of.integrate(net, Ws, (0, 10), method="radau5", rtol=1e-6, atol=1e-9)
    assert stiff.status == explicit.status == "t_end"
    assert 10 * stiff.naccept <= explicit.naccept, (stiff.naccept, explicit.naccept)
    err_explicit = np.max(np.abs(net.flatten(explicit.final_weights) - ref))
    assert np.max(np.abs(net.flatten(stiff.final_weights) - ref)) <= err_explicit


@pytest.mark.parametrize("entry", ["Solver", "monte_carlo"])
def test_other_entry_points(entry):
    net, Ws, _ = factorization_problem(2, 2, widths=(3,), seed=10)
    ref = of.integrate(net, Ws, (0, 5), method="radau5", rtol=1e-8, atol=1e-10)
    if entry == "Solver":
        s = of.Solver(net, Ws, method="radau5", rtol=1e-8, atol=1e-10)
        while s.step(5.0) == "stepped":
            pass
        np.testing.assert_array_equal(s.y, net.flatten(ref.final_weights))
        st = s.stats
        # J assembled from state_size products J e_j, and kept across most steps (rodas4 takes one
        # per step); two factorisations (real and complex) per attempt with a new step size and per
        # new J, fewer where h is held.
        assert st["njvp"] == st["njev"] * net.state_size and 0 < st["njev"] < st["naccept"] / 4, st
        attempts = st["naccept"] + st["nreject"]
        assert st["nlu"] % 2 == 0 and 0 < st["nlu"] < 2 * (attempts + st["njev"]), st
    else:
        mc = of.monte_carlo(net, 4, (0, 5), method="radau5", rtol=1e-8, atol=1e-10, progress=False, workers=2)
        assert np.all(mc.status == "t_end")
