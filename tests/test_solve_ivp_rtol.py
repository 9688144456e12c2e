"""solve_ivp's array rtol: each component is tested against atol + rtol_i |y_i| (the core's
per-component tolerance), as in scipy; equal entries are the scalar run."""

import numpy as np
import pytest
import scipy.integrate as si

import overflow as of

EXACT_END = np.array([np.sin(100.0), np.exp(-10.0)])


def fast_and_slow(t, y):
    # y1 = sin(10 t): oscillating, many steps at a tight rtol; y2 = exp(-t): slow
    return np.array([10.0 * np.cos(10.0 * t), -y[1]])


def run(method, rtol, module=of):
    return module.solve_ivp(fast_and_slow, (0.0, 10.0), [0.0, 1.0], method=method, rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("method", ["RK23", "RK45", "DOP853", "Radau", "BDF", "LSODA"])
def test_equal_entries_are_the_scalar_run(method):
    a, b = run(method, [1e-7, 1e-7]), run(method, 1e-7)
    np.testing.assert_array_equal(a.t, b.t)
    np.testing.assert_array_equal(a.y, b.y)


@pytest.mark.parametrize("method", ["RK45", "DOP853"])
def test_same_steps_as_scipy(method):
    # scipy's RK45 and DOP853 are the same pairs: per-component rtol must give about the same steps
    # and errors (the fast component loose, the slow one tight)
    ours, theirs = run(method, [1e-2, 1e-10]), run(method, np.array([1e-2, 1e-10]), si)
    assert ours.success and theirs.success
    assert abs(ours.nfev / theirs.nfev - 1.0) < 0.2
    err_ours = np.abs(ours.y[:, -1] - EXACT_END) / np.abs(EXACT_END)
    err_theirs = np.abs(theirs.y[:, -1] - EXACT_END) / np.abs(EXACT_END)
    assert np.all(err_ours < 10.0 * err_theirs + 1e-12)


@pytest.mark.parametrize("method", ["RK23", "RK45", "DOP853", "Radau", "BDF", "LSODA"])
def test_each_component_gets_its_own_rtol(method):
    mixed, strict, loose = run(method, [1e-2, 1e-10]), run(method, 1e-10), run(method, 1e-2)
    assert mixed.success and strict.success and loose.success

    def err(res):
        return np.abs(res.y[:, -1] - EXACT_END) / np.abs(EXACT_END)

    # the loose component no longer sets the step: far fewer evaluations than all at 1e-10
    assert mixed.nfev < 0.5 * strict.nfev
    # the tight component is run tightly (far below the all-loose run's error on it) and the
    # loose one loosely (far above the all-strict run's error on it)
    assert err(mixed)[1] < 0.1 * err(loose)[1]
    assert err(mixed)[0] > 100 * err(strict)[0]


def test_complex_state_takes_each_entry_for_both_parts():
    def rotate(t, y):
        return np.array([10j * y[0], -y[1]])

    y0 = np.array([1.0 + 0j, 1.0 + 0j])
    exact = np.array([np.exp(100j), np.exp(-10.0)])
    mixed = of.solve_ivp(rotate, (0.0, 10.0), y0, method="DOP853", rtol=[1e-2, 1e-10], atol=1e-12)
    strict = of.solve_ivp(rotate, (0.0, 10.0), y0, method="DOP853", rtol=1e-10, atol=1e-12)
    assert mixed.nfev < 0.5 * strict.nfev
    assert abs(mixed.y[1, -1] - exact[1]) / abs(exact[1]) < 300 * 1e-10


def test_ode_solver_class_takes_array_rtol():
    solver = of.DOP853(fast_and_slow, 0.0, [0.0, 1.0], 10.0, rtol=[1e-2, 1e-10], atol=1e-12)
    while solver.status == "running":
        solver.step()
    assert solver.status == "finished"
    assert abs(solver.y[1] - EXACT_END[1]) / EXACT_END[1] < 300 * 1e-10
    ref = run("DOP853", [1e-2, 1e-10])
    np.testing.assert_allclose(solver.y, ref.y[:, -1], rtol=1e-14)


def test_array_rtol_below_the_floor_warns_and_is_raised():
    with pytest.warns(UserWarning, match="rtol"):
        res = run("RK45", [1e-20, 1e-3])
    assert res.success


def test_array_rtol_of_the_wrong_length():
    with pytest.raises(ValueError, match="rtol"):
        run("RK45", [1e-3, 1e-3, 1e-3])
