"""`of.solve_ivp`: the core's steppers on any ODE, against classic problems with published or
closed-form references (issue 6)."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp as scipy_solve_ivp
from scipy.linalg import expm

import overflow as of

METHODS = sorted(of.METHODS)

# Arenstorf orbit (Hairer, Norsett & Wanner, Solving ODEs I, section II.0): the restricted three-body
# problem with mu = 0.012277471 has a periodic orbit of period T below through this initial value.
MU = 0.012277471
ARENSTORF_T = 17.0652165601579625588917206249
ARENSTORF_Y0 = np.array([0.994, 0.0, 0.0, -2.00158510637908252240537862224])


def arenstorf(t, y, dy):
    mu, mup = MU, 1.0 - MU
    d1 = ((y[0] + mu) ** 2 + y[1] ** 2) ** 1.5
    d2 = ((y[0] - mup) ** 2 + y[1] ** 2) ** 1.5
    dy[0] = y[2]
    dy[1] = y[3]
    dy[2] = y[0] + 2.0 * y[3] - mup * (y[0] + mu) / d1 - mu * (y[0] - mup) / d2
    dy[3] = y[1] - 2.0 * y[2] - mup * y[1] / d1 - mu * y[1] / d2


@pytest.mark.parametrize("method", ["dopri5", "tsit5", "dop853"])
def test_arenstorf_orbit_closes_and_error_falls_with_tolerance(method):
    errors = []
    for rtol in (1e-6, 1e-8, 1e-10):
        res = of.solve_ivp(arenstorf, (0, ARENSTORF_T), ARENSTORF_Y0, method=method, rtol=rtol, atol=rtol * 1e-2)
        assert res.status == 0 and res.success
        errors.append(np.max(np.abs(res.y[:, -1] - ARENSTORF_Y0)))
    # the orbit amplifies errors strongly; what is checked is that tighter tolerance buys accuracy
    assert errors[2] < errors[1] < errors[0]
    assert errors[2] < 1e-4


def test_arenstorf_with_dop853_at_tight_tolerance():
    res = of.solve_ivp(arenstorf, (0, ARENSTORF_T), ARENSTORF_Y0, method="dop853", rtol=1e-13, atol=1e-15)
    assert np.max(np.abs(res.y[:, -1] - ARENSTORF_Y0)) < 1e-7


@pytest.mark.parametrize("method", METHODS)
def test_linear_system_against_the_matrix_exponential(method):
    A = np.array([[-0.5, 2.0, 0.0], [-2.0, -0.5, 0.3], [0.0, -0.3, -0.1]])

    def linear(t, y):
        return A @ y

    y0 = np.array([1.0, 0.0, -1.0])
    te = np.linspace(0, 5, 6)
    res = of.solve_ivp(linear, (0, 5), y0, method=method, rtol=1e-10, atol=1e-12, t_eval=te)
    exact = np.stack([expm(A * t) @ y0 for t in te], axis=1)
    # global error ~ tolerance times the (contracting) problem's growth; 1e-7 leaves a wide margin
    np.testing.assert_allclose(res.y, exact, atol=1e-7)
    assert res.y.shape == (3, 6)


def test_lorenz_short_span_against_scipy():
    def lorenz(t, y, dy):
        dy[0] = 10.0 * (y[1] - y[0])
        dy[1] = y[0] * (28.0 - y[2]) - y[1]
        dy[2] = y[0] * y[1] - 8.0 / 3.0 * y[2]

    ours = of.solve_ivp(lorenz, (0, 2), [1.0, 1.0, 1.0], method="dop853", rtol=1e-12, atol=1e-12)
    ref = scipy_solve_ivp(
        lambda t, y: [10 * (y[1] - y[0]), y[0] * (28 - y[2]) - y[1], y[0] * y[1] - 8 / 3 * y[2]],
        (0, 2),
        [1.0, 1.0, 1.0],
        method="DOP853",
        rtol=1e-13,
        atol=1e-13,
    )
    np.testing.assert_allclose(ours.y[:, -1], ref.y[:, -1], atol=1e-8)
    assert len(ours.t) == ours.naccept + 1


def test_bad_input_and_failures():
    with pytest.raises(TypeError, match="2 or 3 positional"):
        of.solve_ivp(lambda t: 0.0, (0, 1), [1.0])
    with pytest.raises(TypeError, match="cannot be compiled"):
        of.solve_ivp(lambda t, y, dy: y.no_such_attribute, (0, 1), [1.0])
    with pytest.raises(ValueError, match="1-D"):
        of.solve_ivp(lambda t, y: y, (0, 1), np.ones((2, 2)))
    with pytest.raises(ValueError, match="unknown method"):
        of.solve_ivp(lambda t, y: y, (0, 1), [1.0], method="reduced")
    # a right-hand side that blows up in finite time: y' = y^2 from 1 reaches infinity at t = 1
    res = of.solve_ivp(lambda t, y: y * y, (0, 2), [1.0], max_norm=1e8, rtol=1e-6, atol=1e-9)
    # y = 1 / (1 - t) passes 1e8 at t = 1 - 1e-8; rtol 1e-6 places that within ~1e-6
    assert res.status == -1 and not res.success and res.t[-1] == pytest.approx(1.0, abs=1e-5)
    assert "1e+08" in res.message or "max_norm" in res.message or "blow" in res.message


# ---------------------------------------------------------------- scipy's semantics (issue 17)


def decay(t, y):
    return -0.5 * y


def test_scipy_defaults_and_result():
    res = of.solve_ivp(decay, (0, 10), [2.0, 4.0, 8.0])
    ref = scipy_solve_ivp(decay, (0, 10), [2.0, 4.0, 8.0])
    assert isinstance(res, dict) and res["status"] == res.status == 0 and res.success
    assert res.message == "The solver successfully reached the end of the integration interval."
    assert res.sol is None and res.t_events is None and res.y_events is None
    assert res.y.shape == (3, len(res.t)) and res.t[0] == 0 and res.t[-1] == 10
    assert res.nfev > 0 and res.njev == 0 and res.nlu == 0 and res.naccept + 1 == len(res.t)
    # the same first step (Hairer's estimate), and scipy's default accuracy (rtol 1e-3): both
    # within a few rtol of the exact solution, far from what rtol 1e-6 would give
    assert res.t[1] == pytest.approx(ref.t[1], rel=1e-12)
    exact = np.exp(-5.0) * np.array([2.0, 4.0, 8.0])
    err = np.max(np.abs(res.y[:, -1] - exact) / exact)
    assert 1e-7 < err < 1e-2
    assert "status" in repr(res) and "message" in repr(res)


@pytest.mark.parametrize("method", ["RK23", "RK45", "DOP853", "Radau", "BDF", "LSODA"])
def test_backward_integration_against_the_closed_form(method):
    te = np.linspace(4.0, 1.0, 7)
    res = of.solve_ivp(decay, (4.0, 1.0), [1.0, -2.0], method=method, t_eval=te, rtol=1e-8, atol=1e-10)
    exact = np.array([1.0, -2.0])[:, None] * np.exp(-0.5 * (te - 4.0))
    assert res.status == 0
    np.testing.assert_array_equal(res.t, te)
    np.testing.assert_allclose(res.y, exact, rtol=1e-5, atol=1e-8)


def test_zero_length_span_and_empty_state_integrate_nothing():
    res = of.solve_ivp(decay, (2.0, 2.0), [1.0, 3.0], dense_output=True)
    assert res.status == 0 and res.nfev == 0
    np.testing.assert_array_equal(res.t, [2.0, 2.0])
    np.testing.assert_array_equal(res.y, [[1.0, 1.0], [3.0, 3.0]])
    np.testing.assert_array_equal(res.sol(7.0), [1.0, 3.0])
    empty = of.solve_ivp(decay, (0.0, 1.0), [], dense_output=True)
    assert empty.status == 0 and empty.y.shape == (0, 2)
    np.testing.assert_array_equal(empty.t, [0.0, 1.0])
    assert empty.sol(np.array([0.5, 0.7])).shape == (0, 2)
    with pytest.raises(ValueError, match="first_step"):
        of.solve_ivp(decay, (2.0, 2.0), [1.0], first_step=0.1)


@pytest.mark.parametrize("method", ["RK45", "DOP853", "Radau", "LSODA"])
def test_dense_output_against_the_closed_form(method):
    rtol, atol = 1e-8, 1e-10
    res = of.solve_ivp(decay, (0.0, 6.0), [1.0], method=method, dense_output=True, rtol=rtol, atol=atol)
    assert isinstance(res.sol, of.OdeSolution) and res.sol.n_segments == len(res.t) - 1
    np.testing.assert_array_equal(res.sol.ts, res.t)
    tt = np.linspace(0.0, 6.0, 101)
    # the interpolants carry the steps' accuracy: global error ~ a few tol over the run
    np.testing.assert_allclose(res.sol(tt)[0], np.exp(-0.5 * tt), rtol=100 * rtol, atol=100 * atol)
    np.testing.assert_allclose(res.sol(res.t), res.y, rtol=1e-12, atol=1e-15)  # nodes at the steps
    assert res.sol(3.0).shape == (1,)


def test_complex_state_against_the_matrix_exponential():
    A = np.array([[-0.25 + 0.14j, 0, 0.33 + 0.44j], [0.25 + 0.58j, -0.2 + 0.14j, 0], [0, 0.2 + 0.4j, -0.1 + 0.97j]])

    def rhs(t, y):
        return A @ y

    y0 = np.array([10 + 0j, 20 + 0j, 30 + 0j])
    te = np.linspace(0, 25, 6)
    res = of.solve_ivp(rhs, (0, 25), y0, t_eval=te, rtol=1e-9, atol=1e-9, dense_output=True)
    exact = np.stack([expm(A * t) @ y0 for t in te], axis=1)
    assert res.y.dtype == np.complex128 and res.status == 0
    np.testing.assert_allclose(res.y, exact, rtol=1e-6)
    np.testing.assert_allclose(res.sol(te), exact, rtol=1e-6)


def test_array_tolerances_control_each_component():
    # two decoupled decays of very different sizes: atol per component is what keeps the small
    # one accurate (to its own rtol, 1e-3: the tolerance is atol_i + rtol_i |y_i|)
    def rhs(t, y):
        return np.array([-y[0], -2.0 * y[1]])

    y0 = np.array([1.0, 1e-6])
    per = of.solve_ivp(rhs, (0, 3), y0, rtol=[1e-6, 1e-3], atol=[1e-3, 1e-12])
    exact = y0 * np.exp(-np.array([1.0, 2.0]) * 3)
    assert per.status == 0
    assert abs(per.y[1, -1] - exact[1]) < 1e-3 * exact[1] * 10
    loose = of.solve_ivp(rhs, (0, 3), y0, rtol=1e-3, atol=1e-3)
    assert abs(loose.y[1, -1] - exact[1]) > abs(per.y[1, -1] - exact[1])
    with pytest.warns(UserWarning, match="rtol"):
        of.solve_ivp(rhs, (0, 1), y0, rtol=[1e-20, 1e-6])


def cannon(t, y):
    return np.array([y[1], -0.5])


def ground(t, y):
    return y[0]


def apex(t, y):
    return y[1]


def test_events_terminal_direction_and_counts():
    ground.terminal, ground.direction = True, -1
    try:
        res = of.solve_ivp(cannon, (0, 100), [0.0, 10.0], events=[ground, apex], dense_output=True)
    finally:
        del ground.terminal, ground.direction
    # closed form: y = 10 t - t^2 / 4: apex at t = 20 (y = 100), ground at t = 40
    assert res.status == 1 and res.message == "A termination event occurred."
    np.testing.assert_allclose(res.t_events[0], [40.0], rtol=1e-10)
    np.testing.assert_allclose(res.t_events[1], [20.0], rtol=1e-10)
    np.testing.assert_allclose(res.y_events[1], [[100.0, 0.0]], atol=1e-9)
    assert res.y_events[0].shape == (1, 2)
    assert res.t[-1] == pytest.approx(40.0, rel=1e-10) and abs(res.y[0, -1]) < 1e-9
    np.testing.assert_allclose(res.sol(20.0), [100.0, 0.0], atol=1e-9)

    def cross(t, y):
        return np.sin(y[0])

    cross.terminal = 3  # y = 0.5 + t crosses k pi at t = k pi - 0.5: stop at the third
    # (max_step resolves each crossing: two inside one step would cancel, in scipy as here)
    res = of.solve_ivp(lambda t, y: np.ones(1), (0, 20), [0.5], events=cross, max_step=0.5)
    np.testing.assert_allclose(res.t_events[0], np.pi * np.arange(1, 4) - 0.5, rtol=1e-10)
    assert res.status == 1 and res.t[-1] == pytest.approx(3 * np.pi - 0.5, rel=1e-10)


@pytest.mark.parametrize("method", ["Radau", "BDF", "LSODA"])
def test_stiff_robertson_against_scipy_at_tight_tolerance(method):
    def robertson(t, y):
        return np.array(
            [-0.04 * y[0] + 1e4 * y[1] * y[2], 0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2, 3e7 * y[1] ** 2]
        )

    rtol, atol = 1e-6, 1e-10
    res = of.solve_ivp(robertson, (0, 1e5), [1.0, 0.0, 0.0], method=method, rtol=rtol, atol=atol)
    ref = scipy_solve_ivp(robertson, (0, 1e5), [1.0, 0.0, 0.0], method="Radau", rtol=1e-10, atol=1e-14)
    assert res.status == 0 and res.njev > 0 and res.nlu > 0
    np.testing.assert_allclose(res.y[:, -1], ref.y[:, -1], rtol=100 * rtol, atol=100 * atol)
    assert res.naccept < 2000  # an explicit method needs ~1e5+ steps here


def test_complex_args_reach_fun_jac_and_events():
    # y' = lam y + B y with a complex number lam and a complex matrix B as args, on a complex state
    def rhs(t, y, lam, B):
        return lam * y + B @ y

    def jac(t, y, lam, B):
        return lam * np.eye(2) + B

    def crossing(t, y, lam, B):
        return y[0].real - 0.5

    lam = -0.3 + 2.0j
    B = np.array([[0.0, 0.1j], [0.1j, 0.0]])
    y0 = np.array([1.0 + 0.0j, 0.5 - 0.5j])
    w, V = np.linalg.eig(lam * np.eye(2) + B)
    exact = V @ (np.exp(w * 2.0) * np.linalg.solve(V, y0))
    for method in ("DOP853", "Radau"):
        kw = {"jac": jac} if method == "Radau" else {}
        res = of.solve_ivp(rhs, (0, 2), y0, method=method, args=(lam, B), rtol=1e-10, atol=1e-12, events=crossing, **kw)
        assert res.success
        np.testing.assert_allclose(res.y[:, -1], exact, rtol=1e-7)
        for te, ye in zip(res.t_events[0], res.y_events[0]):
            assert abs(ye[0].real - 0.5) < 1e-9, te
        assert len(res.t_events[0]) >= 1
