"""`overflow.solve_ivp` on stiff problems (issue 17): Robertson's chemical kinetics on [0, 1e5], Van der
Pol with mu = 1000 on [0, 3000] and a stiff non-autonomous linear equation with a closed form, with
the package's implicit methods and scipy's names for them, against tight independent references.

Every run uses scipy's tolerance semantics (error per component <= atol + rtol |y|); the final error
is allowed ``ERROR_FACTOR`` times that tolerance (Van der Pol: ``VDP_ERROR_FACTOR``), the margin the
problems need for the local error control to bound the global error (scipy's own Radau, BDF and
LSODA land within 0.03x-6x of it at the same tolerances on Robertson)."""

from __future__ import annotations

import numpy as np
import pytest

import overflow as of

STIFF_METHODS = ("rodas4", "radau5", "BDF", "Radau", "LSODA")
ERROR_FACTOR = 20.0


def robertson(t, y):
    return np.array(
        [
            -0.04 * y[0] + 1e4 * y[1] * y[2],
            0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2,
            3e7 * y[1] ** 2,
        ]
    )


def robertson_jac(t, y):
    return np.array(
        [
            [-0.04, 1e4 * y[2], 1e4 * y[1]],
            [0.04, -1e4 * y[2] - 6e7 * y[1], -1e4 * y[1]],
            [0.0, 6e7 * y[1], 0.0],
        ]
    )


# Robertson, y(0) = (1, 0, 0), at t = 1e5: scipy 1.17 Radau with the analytic Jacobian at rtol 1e-13,
# atol 1e-16; its run at rtol 1e-12, atol 1e-14 agrees to 7e-14 absolute (y2 to 4e-12 relative)
ROBERTSON_T1 = 1e5
ROBERTSON_REF = np.array([0.017865921142103842, 7.274751468438161e-08, 0.9821340061103777])
ROBERTSON_RTOL, ROBERTSON_ATOL = 1e-6, 1e-10

MU = 1000.0


def van_der_pol(t, y):
    return np.array([y[1], MU * (1 - y[0] ** 2) * y[1] - y[0]])


def van_der_pol_jac(t, y):
    return np.array([[0.0, 1.0], [-2 * MU * y[0] * y[1] - 1, MU * (1 - y[0] ** 2)]])


# Van der Pol y'' = mu (1 - y^2) y' - y, mu = 1000, y(0) = (2, 0), at t = 3000 (on the slow branch,
# after two relaxation jumps): scipy 1.17 Radau with the analytic Jacobian at rtol 1e-12, atol 1e-14;
# its run at rtol 1e-10, atol 1e-12 agrees to 3e-14, scipy LSODA at rtol 1e-13, atol 1e-15 to 7e-11
VDP_T1 = 3000.0
VDP_REF = np.array([-1.5106069367439976, 0.0011783800007311384])
VDP_RTOL, VDP_ATOL = 1e-6, 1e-6
# the phase error made crossing each jump adds up: scipy at these tolerances ends 0.3x (Radau),
# 90x (BDF) and 110x (LSODA) the tolerance off
VDP_ERROR_FACTOR = 200.0

LAMBDA = 50.0


def relaxation(t, y):
    # y' = -50 (y - cos t): the solution relaxes in 1/50 onto a slowly moving target
    return -LAMBDA * (y - np.cos(t))


def relaxation_exact(t):
    c = LAMBDA**2 / (LAMBDA**2 + 1)
    return c * np.cos(t) + c / LAMBDA * np.sin(t) - c * np.exp(-LAMBDA * t)


def _steps(res):
    return res.naccept + res.nreject


def _assert_within_tolerance(y, ref, rtol, atol, factor=ERROR_FACTOR):
    scaled = np.abs(y - ref) / (atol + rtol * np.abs(ref))
    assert np.all(scaled <= factor), f"error / tolerance = {scaled}"


@pytest.mark.parametrize("jac", [None, robertson_jac], ids=["own-jacobian", "analytic-jacobian"])
@pytest.mark.parametrize("method", STIFF_METHODS)
def test_robertson(method, jac):
    res = of.solve_ivp(
        robertson,
        (0.0, ROBERTSON_T1),
        [1.0, 0.0, 0.0],
        method=method,
        rtol=ROBERTSON_RTOL,
        atol=ROBERTSON_ATOL,
        jac=jac,
    )
    assert res.success and res.status == 0
    _assert_within_tolerance(res.y[:, -1], ROBERTSON_REF, ROBERTSON_RTOL, ROBERTSON_ATOL)
    # y1 + y2 + y3 is conserved by the equations; each step keeps linear invariants up to rounding
    assert np.max(np.abs(res.y.sum(axis=0) - 1.0)) < 1e-9
    # scipy Radau takes 188 steps here; an explicit method needs millions (issue 17)
    assert 10 <= _steps(res) <= 2000
    assert res.njev > 0 and res.nlu > 0


@pytest.mark.parametrize("method", STIFF_METHODS)
def test_van_der_pol_mu_1000(method):
    res = of.solve_ivp(
        van_der_pol, (0.0, VDP_T1), [2.0, 0.0], method=method, rtol=VDP_RTOL, atol=VDP_ATOL, jac=van_der_pol_jac
    )
    assert res.success and res.status == 0
    _assert_within_tolerance(res.y[:, -1], VDP_REF, VDP_RTOL, VDP_ATOL, VDP_ERROR_FACTOR)
    # scipy Radau takes about 900 steps here; explicit methods 0.9-2.2 million (issue 17)
    assert 50 <= _steps(res) <= 10000


@pytest.mark.parametrize("method", STIFF_METHODS)
def test_stiff_non_autonomous_against_closed_form(method):
    t_eval = np.linspace(0.0, 10.0, 41)
    res = of.solve_ivp(relaxation, (0.0, 10.0), [0.0], method=method, rtol=1e-8, atol=1e-10, t_eval=t_eval)
    assert res.success
    np.testing.assert_allclose(res.y[0], relaxation_exact(t_eval), rtol=0, atol=ERROR_FACTOR * 1e-8)
    # past the transient the step is set by the slow cos t, not by the rate 50
    assert _steps(res) < 2000


def growth(t, y):
    # y' = +50 (y - cos t): stiff and stable integrated backward in time, where it relaxes onto
    # its particular solution (2500 cos t - 50 sin t) / 2501
    return LAMBDA * (y - np.cos(t))


def growth_particular(t):
    return (LAMBDA**2 * np.cos(t) - LAMBDA * np.sin(t)) / (LAMBDA**2 + 1)


@pytest.mark.parametrize("method", ["rodas4", "radau5", "BDF", "Radau"])
def test_stiff_backward_with_dense_output(method):
    res = of.solve_ivp(growth, (10.0, 0.0), [0.0], method=method, rtol=1e-8, atol=1e-10, dense_output=True)
    assert res.success and res.t[-1] == 0.0
    # started off the particular solution at t = 10, it is back on it after a layer of width ~1/50
    tc = np.linspace(9.0, 0.0, 37)
    np.testing.assert_allclose(res.sol(tc)[0], growth_particular(tc), rtol=0, atol=ERROR_FACTOR * 1e-8)
    assert _steps(res) < 2000
