"""LSODA's ``min_step`` (method "LSODA" -> "auto"): no step but the last one is shorter than it, a
rejected step of that size ends the run with a message that names it, and a bound the run never
reaches changes nothing."""

import math

import numpy as np
import pytest

import overflow as of


def decay(t, y):
    # y' = -50 (y - cos t): a fast transient (time scale 0.02) onto a slow solution
    return np.array([-50.0 * (y[0] - math.cos(t))])


def test_a_bound_below_every_step_changes_nothing():
    free = of.solve_ivp(decay, (0.0, 2.0), [0.0], method="LSODA", rtol=1e-6, atol=1e-9)
    bounded = of.solve_ivp(decay, (0.0, 2.0), [0.0], method="LSODA", rtol=1e-6, atol=1e-9, min_step=1e-12)
    assert free.success and bounded.success
    assert np.min(np.diff(free.t)) > 1e-12
    np.testing.assert_array_equal(bounded.t, free.t)
    np.testing.assert_array_equal(bounded.y, free.y)


def test_no_step_below_min_step_but_the_last():
    free = of.solve_ivp(decay, (0.0, 1.01), [0.0], method="LSODA", rtol=1e-2, atol=1e-2)
    min_step = 0.05
    assert np.min(np.diff(free.t)) < min_step  # the transient takes shorter steps when free
    res = of.solve_ivp(decay, (0.0, 1.01), [0.0], method="LSODA", rtol=1e-2, atol=1e-2, min_step=min_step)
    assert res.success
    assert np.all(np.diff(res.t)[:-1] >= min_step * (1 - 1e-12))
    assert res.t[-1] == 1.01


def test_a_rejected_step_at_min_step_ends_the_run():
    # the transient at t = 0 needs steps ~1e-3 at rtol 1e-8; min_step = 0.1 forbids them
    res = of.solve_ivp(decay, (0.0, 2.0), [0.0], method="LSODA", rtol=1e-8, atol=1e-10, min_step=0.1)
    assert res.status == -1 and not res.success
    assert "min_step" in res.message
    assert res.t[-1] < 2.0


def test_backward_run_keeps_the_bound():
    res = of.solve_ivp(decay, (2.0, 0.0), [1.0], method="LSODA", rtol=1e-3, atol=1e-6, min_step=0.01)
    assert res.success
    assert np.all(-np.diff(res.t)[:-1] >= 0.01 * (1 - 1e-12))


def test_ode_solver_fails_at_min_step():
    solver = of.LSODA(decay, 0.0, [0.0], 2.0, rtol=1e-8, atol=1e-10, min_step=0.1)
    message = None
    while solver.status == "running":
        message = solver.step()
    assert solver.status == "failed"
    assert message is not None
    assert solver.t < 2.0


@pytest.mark.parametrize(("value", "error"), [(-1.0, ValueError), (math.inf, ValueError), ("a", TypeError)])
def test_bad_min_step(value, error):
    with pytest.raises(error, match="min_step"):
        of.solve_ivp(decay, (0.0, 1.0), [0.0], method="LSODA", min_step=value)


def test_min_step_above_max_step():
    with pytest.raises(ValueError, match=r"min_step .* must be <= max_step"):
        of.solve_ivp(decay, (0.0, 1.0), [0.0], method="LSODA", min_step=0.5, max_step=0.1)
    with pytest.raises(ValueError, match=r"min_step .* must be <= max_step"):
        of.LSODA(decay, 0.0, [0.0], 1.0, min_step=0.5, max_step=0.1)
