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
        assert res.status == "t_end" and res.success
        errors.append(np.max(np.abs(res.y_final - ARENSTORF_Y0)))
    # the orbit amplifies errors strongly; what is checked is that tighter tolerance buys accuracy
    assert errors[2] < errors[1] < errors[0]
    assert errors[2] < 1e-4


def test_arenstorf_with_dop853_at_tight_tolerance():
    res = of.solve_ivp(arenstorf, (0, ARENSTORF_T), ARENSTORF_Y0, method="dop853", rtol=1e-13, atol=1e-15)
    assert np.max(np.abs(res.y_final - ARENSTORF_Y0)) < 1e-7


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
    np.testing.assert_allclose(ours.y_final, ref.y[:, -1], atol=1e-8)
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
    with pytest.raises(ValueError, match="t0 < t1"):
        of.solve_ivp(lambda t, y: y, (1, 0), [1.0])
    # a right-hand side that blows up in finite time: y' = y^2 from 1 reaches infinity at t = 1
    res = of.solve_ivp(lambda t, y: y * y, (0, 2), [1.0], max_norm=1e8)
    # y = 1 / (1 - t) passes 1e8 at t = 1 - 1e-8; the default rtol 1e-6 places that within ~1e-6
    assert res.status == "blowup" and res.t_final == pytest.approx(1.0, abs=1e-5)
