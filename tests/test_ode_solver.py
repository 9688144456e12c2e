"""`overflow.OdeSolver` and scipy's class names (issue 17, item 6): scipy's stepping semantics on the
core's RhsSolver, against closed forms and scipy's own classes."""

import warnings

import numpy as np
import pytest
import scipy.integrate

import overflow as of

CLASSES = [of.RK23, of.RK45, of.DOP853, of.Radau, of.BDF, of.LSODA]


def decay(t, y):
    return -0.5 * y


def _run(solver):
    dense = []
    while solver.status == "running":
        assert solver.step() is None
        dense.append(solver.dense_output())
    return dense


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("t_bound", [3.0, -2.0])
def test_steps_to_t_bound_with_scipys_attributes(cls, t_bound):
    rtol, atol = 1e-8, 1e-10
    s = cls(decay, 0.0, [1.0, 2.0], t_bound, rtol=rtol, atol=atol)
    assert isinstance(s, of.OdeSolver) and isinstance(s, scipy.integrate.OdeSolver)
    assert s.n == 2 and s.status == "running" and s.t_old is None and s.step_size is None
    assert s.direction == np.sign(t_bound) and s.t_bound == t_bound
    with pytest.raises(RuntimeError, match="after a successful step"):
        s.dense_output()
    dense = _run(s)
    assert s.status == "finished" and s.t == t_bound
    np.testing.assert_allclose(s.y, np.array([1.0, 2.0]) * np.exp(-0.5 * t_bound), rtol=100 * rtol)
    assert s.nfev > 0 and s.step_size == abs(s.t - s.t_old)
    # each step's interpolant: from t_old to t, accurate inside the step
    last = dense[-1]
    assert (last.t_old, last.t) == (s.t_old, s.t)
    tt = np.linspace(last.t_old, last.t, 5)
    np.testing.assert_allclose(last(tt), np.array([[1.0], [2.0]]) * np.exp(-0.5 * tt), rtol=100 * rtol)
    with pytest.raises(RuntimeError, match=r"Attempt to step on a failed or finished solver\."):
        s.step()


def test_implicit_classes_count_jacobians_on_a_stiff_problem():
    def robertson(t, y):
        return np.array(
            [-0.04 * y[0] + 1e4 * y[1] * y[2], 0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2, 3e7 * y[1] ** 2]
        )

    ref = scipy.integrate.solve_ivp(robertson, (0, 100), [1, 0, 0], method="Radau", rtol=1e-10, atol=1e-14)
    for cls in (of.Radau, of.BDF, of.LSODA):
        s = cls(robertson, 0.0, [1.0, 0.0, 0.0], 100.0, rtol=1e-6, atol=1e-10)
        _run(s)
        assert s.njev > 0 and s.nlu > 0
        np.testing.assert_allclose(s.y, ref.y[:, -1], rtol=1e-4, atol=1e-9)


def test_corner_cases_as_scipy():
    s = of.RK45(decay, 1.0, [3.0], 1.0)  # t0 == t_bound: one step to t_bound, a constant interpolant
    assert s.step() is None and s.status == "finished" and s.t == s.t_old == 1.0
    np.testing.assert_array_equal(s.dense_output()(5.0), [3.0])
    e = of.RK45(decay, 0.0, [], 1.0)  # an empty state
    assert e.n == 0 and e.step() is None and e.t == 1.0 and e.status == "finished"
    assert e.dense_output()(np.array([0.5])).shape == (0, 1)


def test_a_failing_step_and_an_exception_in_fun():
    def blows_up(t, y):
        return y * y

    s = of.RK45(blows_up, 0.0, [1.0], 2.0, rtol=1e-6)  # y = 1 / (1 - t): no step passes t = 1
    message = None
    while s.status == "running" and message is None:
        message = s.step()
    assert s.status == "failed" and isinstance(message, str) and s.t == pytest.approx(1.0, abs=1e-3)
    with pytest.raises(RuntimeError, match="Attempt to step"):
        s.step()

    def raising(t, y):
        if t > 0.5:
            raise KeyError("nope")
        return -y

    s = of.DOP853(raising, 0.0, [1.0], 2.0)
    with pytest.raises(KeyError, match="nope"):
        _run(s)


def test_base_class_arguments_and_warnings():
    s = of.OdeSolver(lambda t, y, k: -k * y, 0.0, [1.0], 1.0, method="dop853", args=(2.0,), rtol=1e-10, atol=1e-12)
    _run(s)
    np.testing.assert_allclose(s.y, np.exp(-2.0), rtol=1e-8)
    assert s.method == "dop853"
    with pytest.warns(UserWarning, match="no effect for a chosen solver: `jac`"):
        of.RK45(decay, 0.0, [1.0], 1.0, jac=np.eye(1))
    with pytest.raises(ValueError, match="`first_step` exceeds bounds"):
        of.Radau(decay, 0.0, [1.0], 1.0, first_step=2.0)
    with pytest.raises(ValueError, match="max_step must be > 0"):
        of.BDF(decay, 0.0, [1.0], 1.0, max_step=0.0)
    with pytest.raises(ValueError, match="min_step must be >= 0"):
        of.LSODA(decay, 0.0, [1.0], 1.0, min_step=-1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        of.LSODA(decay, 0.0, [1.0], 1.0, min_step=0.0, lband=0, uband=0)


def test_scipys_solve_ivp_drives_our_classes_and_ours_takes_classes():
    ours = scipy.integrate.solve_ivp(decay, (0, 4), [1.0], method=of.DOP853, rtol=1e-9, atol=1e-12, dense_output=True)
    assert ours.status == 0
    np.testing.assert_allclose(ours.y[0, -1], np.exp(-2.0), rtol=1e-7)
    np.testing.assert_allclose(ours.sol(1.0), np.exp(-0.5), rtol=1e-7)
    by_class = of.solve_ivp(decay, (0, 4), [1.0], method=of.DOP853, rtol=1e-9, atol=1e-12)
    by_name = of.solve_ivp(decay, (0, 4), [1.0], method="DOP853", rtol=1e-9, atol=1e-12)
    by_scipy_class = of.solve_ivp(decay, (0, 4), [1.0], method=scipy.integrate.DOP853, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(by_class.y, by_name.y)
    np.testing.assert_array_equal(by_scipy_class.y, by_name.y)
    # the stepping session takes the same steps as the whole-run call
    np.testing.assert_allclose(ours.t, by_name.t, rtol=1e-14)
    with pytest.raises(ValueError, match="names no method"):
        of.solve_ivp(decay, (0, 1), [1.0], method=of.OdeSolver)


def test_complex_state_steps():
    s = of.RK45(lambda t, y: 1j * y, 0.0, np.array([1.0 + 0j]), np.pi, rtol=1e-10, atol=1e-12)
    _run(s)
    assert s.y.dtype == np.complex128
    np.testing.assert_allclose(s.y, [-1.0 + 0j], atol=1e-8)
    d = s.dense_output()
    np.testing.assert_allclose(d(d.t_old), np.exp(1j * np.array([d.t_old])), atol=1e-8)
