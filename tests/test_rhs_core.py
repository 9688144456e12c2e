"""The core's generic-ODE API (`_core.integrate_rhs`, `_core.RhsSolver`) called directly with numba cfuncs:
user coordinates (backward time, per-component scale), events, recorded dense output, the Jacobian."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest

from overflow import _core
from overflow._solve_ivp_compile import RHS_SIG
from overflow.events import EVENT_SIG

METHODS = ["bs3", "dopri5", "tsit5", "dop853", "gauss4", "gauss6", "rodas4", "auto"]
NO_DATA = np.zeros(1)
NO_T_EVAL = np.zeros(0)


@numba.cfunc(RHS_SIG)
def pendulum(t, y, dy, data):  # a forced pendulum: nonlinear and non-autonomous
    dy[0] = y[1]
    dy[1] = -math.sin(y[0]) + 0.3 * math.cos(1.7 * t)


@numba.cfunc(RHS_SIG)
def pendulum_reversed(s, u, du, data):  # u(s) = y(-s): du/ds = -f(-s, u)
    du[0] = -u[1]
    du[1] = -(-math.sin(u[0]) + 0.3 * math.cos(1.7 * -s))


SCALE = np.array([10.0, 0.01])


@numba.cfunc(RHS_SIG)
def pendulum_prescaled(t, u, du, data):  # u = y / SCALE: du/dt = f(t, SCALE u) / SCALE, in the core's arithmetic
    y0 = 10.0 * u[0]
    y1 = 0.01 * u[1]
    du[0] = y1 * (1.0 / 10.0)
    du[1] = (-math.sin(y0) + 0.3 * math.cos(1.7 * t)) * (1.0 / 0.01)


@numba.cfunc(RHS_SIG)
def rotation(t, y, dy, data):  # y = (cos t, -sin t)
    dy[0] = y[1]
    dy[1] = -y[0]


LAMBDA = 1000.0


@numba.cfunc(RHS_SIG)
def stiff_growing(t, y, dy, data):  # y = cos t + (y(t0) - cos t0) exp(LAMBDA (t - t0)): decays backwards in t
    dy[0] = LAMBDA * (y[0] - math.cos(t)) - math.sin(t)


@numba.cfunc(RHS_SIG)
def stiff_growing_jac(t, y, J, data):
    J[0] = LAMBDA


@numba.cfunc(RHS_SIG)
def stiff_pair(t, y, dy, data):  # y' = A y, A = [[-1, 1], [0, -LAMBDA]] (eigenvalues -1, -LAMBDA)
    dy[0] = -y[0] + y[1]
    dy[1] = -LAMBDA * y[1]


@numba.cfunc(RHS_SIG)
def stiff_pair_jac(t, y, J, data):  # column-major
    J[0] = -1.0
    J[1] = 0.0
    J[2] = 1.0
    J[3] = -LAMBDA


@numba.cfunc(RHS_SIG)
def stiff_growing_pair(t, y, dy, data):  # stiff_pair with t reversed: decays backwards in t
    dy[0] = y[0] - y[1]
    dy[1] = LAMBDA * y[1]


def stiff_pair_exact(t, y0):
    # y1 = b e^{-L t}; y0' = -y0 + b e^{-L t}, so y0 = (a - k) e^{-t} + k e^{-L t} with k = b / (1 - L)
    a, b = y0
    k = b / (1.0 - LAMBDA)
    return np.array([(a - k) * np.exp(-t) + k * np.exp(-LAMBDA * t), b * np.exp(-LAMBDA * t)])


@numba.cfunc(EVENT_SIG)
def cos_half(t, y, n, data):
    return y[0] - 0.5


@numba.cfunc(EVENT_SIG)
def t_one_and_half(t, y, n, data):
    return t - 1.5


@numba.cfunc(EVENT_SIG)
def nan_after_one(t, y, n, data):
    return math.nan if t < 1.0 else 1.0


def event(cf, direction=0, terminal=0):
    return ("function", cf.address, 0.0, direction, terminal, 0)


def options(method="dopri5", **kw):
    kw.setdefault("rtol", 1e-8)
    kw.setdefault("atol", 1e-10)
    return _core.RunOptions(method=method, **kw)


def lobatto_eval(nodes, theta):
    """The polynomial through nodes (d + 1, n) at theta_k = (1 - cos(k pi / d)) / 2, at theta (barycentric)."""
    d = nodes.shape[0] - 1
    x = (1 - np.cos(np.pi * np.arange(d + 1) / d)) / 2
    w = (-1.0) ** np.arange(d + 1)
    w[0] *= 0.5
    w[-1] *= 0.5
    diff = theta - x
    if np.any(diff == 0):
        return nodes[np.argmin(np.abs(diff))]
    c = w / diff
    return c @ nodes / c.sum()


# --------------------------------------------------------------------------------------------
# recorded dense output


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("direction", [1, -1])
def test_recorded_dense_output_is_the_steppers_interpolant(method, direction):
    t0, t1 = (0.0, 6.0) if direction == 1 else (6.0, 0.0)
    y0 = np.array([1.0, 0.0])
    scale = SCALE if direction == -1 else None
    opt = options(method, rtol=1e-6, atol=1e-8, record_dense=True)
    sol = _core.integrate_rhs(pendulum.address, NO_DATA, y0, t0, t1, NO_T_EVAL, opt, scale=scale, direction=direction)
    assert sol.status == _core.Status.t_end
    S = sol.naccept
    d = sol.dense_degree
    expected_degree = {"bs3": 3, "dopri5": 4, "tsit5": 4, "dop853": 7, "gauss4": 5, "gauss6": 5, "rodas4": 3}
    assert d == expected_degree.get(method, 7)
    assert sol.dense_t.shape == (S + 1,) and sol.dense_nodes.shape == (S, d + 1, 2)
    assert sol.dense_t[0] == t0 and sol.dense_t[-1] == t1
    assert np.all(np.diff(sol.dense_t) * direction > 0)
    np.testing.assert_array_equal(sol.dense_t, sol.t)  # every step saved: the same times
    np.testing.assert_array_equal(sol.dense_nodes[:, 0], sol.states[:-1])
    np.testing.assert_array_equal(sol.dense_nodes[:, -1], sol.states[1:])

    # The stepping session takes the same steps; its interpolant at random points of each step.
    s = _core.RhsSolver(pendulum.address, NO_DATA, 2, opt, scale=scale, direction=direction)
    s.init(t0, y0)
    assert s.dense_degree == d
    rng = np.random.default_rng(3)
    worst = 0.0
    for k in range(S):
        assert s.step(t1) in ("stepped", "t_end")
        assert (s.t_prev, s.t) == (sol.dense_t[k], sol.dense_t[k + 1])
        np.testing.assert_array_equal(s.dense_nodes(), sol.dense_nodes[k])
        for theta in rng.uniform(0, 1, 5):
            t = s.t_prev + theta * (s.t - s.t_prev)
            theta = (t - s.t_prev) / (s.t - s.t_prev)
            ref = s.dense(t)
            got = lobatto_eval(sol.dense_nodes[k], theta)
            worst = max(worst, np.max(np.abs(got - ref)) / np.abs(sol.dense_nodes[k]).max())
    assert worst < 1e-13, worst


@pytest.mark.parametrize("direction", [1, -1])
def test_recorded_dense_output_across_method_switches(direction):
    # "auto" on a stiff system switches to rodas4, whose cubic interpolants are recorded at dop853's 8 nodes.
    t0, t1 = (0.0, 3.0) if direction == 1 else (3.0, 0.0)
    rhs = stiff_pair if direction == 1 else stiff_growing_pair
    y0 = np.array([1.0, 1.0])
    opt = options("auto", rtol=1e-6, atol=1e-9, record_dense=True)
    sol = _core.integrate_rhs(rhs.address, NO_DATA, y0, t0, t1, NO_T_EVAL, opt, direction=direction)
    assert sol.naccept_stiff > 0 and sol.dense_degree == 7
    s = _core.RhsSolver(rhs.address, NO_DATA, 2, opt, direction=direction)
    s.init(t0, y0)
    worst = 0.0
    for k in range(sol.naccept):
        s.step(t1)
        np.testing.assert_array_equal(s.dense_nodes(), sol.dense_nodes[k])
        for theta in (0.1, 0.35, 0.8):
            ref = s.dense(s.t_prev + theta * (s.t - s.t_prev))
            worst = max(worst, np.max(np.abs(lobatto_eval(sol.dense_nodes[k], theta) - ref)) / np.max(np.abs(ref)))
    assert s.stats["naccept_stiff"] == sol.naccept_stiff
    assert worst < 1e-13, worst


@pytest.mark.parametrize("method", ["dopri5", "dop853", "gauss6", "rodas4"])
def test_recorded_dense_output_gives_the_t_eval_states(method):
    # With t_eval the run saves the interpolant there and records every step: the two must agree.
    t_eval = np.linspace(5.0, 0.0, 23)
    scale = np.array([0.5, 4.0])
    opt = options(method, rtol=1e-7, atol=1e-9, record_dense=True)
    y0 = np.array([0.2, 0.1])
    sol = _core.integrate_rhs(pendulum.address, NO_DATA, y0, 5.0, 0.0, t_eval, opt, scale=scale, direction=-1)
    np.testing.assert_array_equal(sol.t, t_eval)
    assert sol.dense_t.size == sol.naccept + 1 > 2
    for t, y in zip(t_eval, sol.states):
        s = min(max(np.searchsorted(-sol.dense_t, -t, side="right") - 1, 0), sol.naccept - 1)
        theta = (t - sol.dense_t[s]) / (sol.dense_t[s + 1] - sol.dense_t[s])
        np.testing.assert_allclose(lobatto_eval(sol.dense_nodes[s], theta), y, rtol=0, atol=1e-13)


def test_dense_record_ends_at_a_terminal_event():
    opt = options("dop853", record_dense=True, events=[event(cos_half, terminal=1)])
    sol = _core.integrate_rhs(rotation.address, NO_DATA, np.array([1.0, 0.0]), 0.0, 5.0, NO_T_EVAL, opt)
    assert sol.status == _core.Status.event
    t_event = sol.t_events[0][0]
    assert abs(t_event - np.pi / 3) < 1e-9
    assert sol.dense_t[-1] == t_event == sol.t_final
    np.testing.assert_allclose(sol.dense_nodes[-1, -1], sol.y_events[0][0], rtol=0, atol=1e-14)
    # the last segment's polynomial is the step's interpolant restricted to [t_prev, t_event]
    t = np.linspace(sol.dense_t[-2], t_event, 7)
    theta = (t - sol.dense_t[-2]) / (t_event - sol.dense_t[-2])
    got = np.array([lobatto_eval(sol.dense_nodes[-1], th) for th in theta])
    np.testing.assert_allclose(got, np.c_[np.cos(t), -np.sin(t)], atol=1e-8)


def test_no_dense_record_unless_asked():
    sol = _core.integrate_rhs(rotation.address, NO_DATA, np.array([1.0, 0.0]), 0.0, 1.0, NO_T_EVAL, options())
    assert sol.dense_t.shape == (0,) and sol.dense_nodes.shape[0] == 0


# --------------------------------------------------------------------------------------------
# user coordinates


@pytest.mark.parametrize("method", METHODS)
def test_backward_run_is_the_forward_run_of_the_reversed_ode(method):
    y0 = np.array([0.3, -0.2])
    t_eval = np.linspace(4.0, -1.0, 11)
    back = _core.integrate_rhs(pendulum.address, NO_DATA, y0, 4.0, -1.0, t_eval, options(method), direction=-1)
    fwd = _core.integrate_rhs(pendulum_reversed.address, NO_DATA, y0, -4.0, 1.0, -t_eval, options(method))
    assert back.status == fwd.status == _core.Status.t_end
    np.testing.assert_array_equal(back.t, t_eval)
    np.testing.assert_array_equal(back.states, fwd.states)
    assert back.t_final == -1.0 and (back.naccept, back.nreject) == (fwd.naccept, fwd.nreject)


@pytest.mark.parametrize("method", ["dopri5", "dop853", "rodas4"])
def test_scale_is_a_per_component_atol(method):
    # The run on y with scale s is the run on u = y / s without one (atol then applies to u: atol_i = atol s_i).
    y0 = np.array([0.5, 0.002])
    opt = options(method, rtol=1e-5, atol=1e-7)
    scaled = _core.integrate_rhs(pendulum.address, NO_DATA, y0, 0.0, 5.0, NO_T_EVAL, opt, scale=SCALE)
    plain = _core.integrate_rhs(pendulum_prescaled.address, NO_DATA, y0 / SCALE, 0.0, 5.0, NO_T_EVAL, opt)
    assert (scaled.naccept, scaled.nreject) == (plain.naccept, plain.nreject)
    np.testing.assert_array_equal(scaled.states, plain.states * SCALE)
    np.testing.assert_array_equal(scaled.t, plain.t)
    # A uniform scale c is atol * c.
    c = 1e3
    a = _core.integrate_rhs(pendulum.address, NO_DATA, y0, 0.0, 5.0, NO_T_EVAL, opt, scale=np.array([c, c]))
    b = _core.integrate_rhs(pendulum.address, NO_DATA, y0, 0.0, 5.0, NO_T_EVAL, options(method, rtol=1e-5, atol=1e-4))
    assert a.naccept == b.naccept
    # the same steps; rodas4's difference Jacobian has other increments (floored at atol in z), which moves the
    # result far below the tolerance
    np.testing.assert_allclose(a.final_state, b.final_state, rtol=1e-8)


@pytest.mark.parametrize("direction", [1, -1])
@pytest.mark.parametrize("scale", [None, np.array([100.0, 0.1])])
def test_events_see_user_time_and_state(direction, scale):
    # y = (cos t, -sin t). Forward on [0, 2]: cos t falls through 0.5 at pi/3, t - 1.5 rises at 1.5; backward on
    # [2, 0] the other way round (a direction counts along the integration, as scipy's).
    t0, t1 = (0.0, 2.0) if direction == 1 else (2.0, 0.0)
    y0 = np.array([np.cos(t0), -np.sin(t0)])
    for sign in (1, -1):
        opt = options(events=[event(cos_half, direction=sign), event(t_one_and_half, direction=sign)])
        sol = _core.integrate_rhs(
            rotation.address, NO_DATA, y0, t0, t1, NO_T_EVAL, opt, scale=scale, direction=direction
        )
        cos_found = sign == -direction
        time_found = sign == direction
        assert len(sol.t_events[0]) == int(cos_found) and len(sol.t_events[1]) == int(time_found)
        if cos_found:
            assert abs(sol.t_events[0][0] - np.pi / 3) < 1e-7  # the solution's error at rtol 1e-8
            np.testing.assert_allclose(sol.y_events[0][0], [0.5, -np.sin(np.pi / 3)], atol=1e-8)
        if time_found:
            assert abs(sol.t_events[1][0] - 1.5) < 1e-12
            np.testing.assert_allclose(sol.y_events[1][0], [np.cos(1.5), -np.sin(1.5)], atol=1e-9)
    # direction 0 counts both, and a terminal one stops the run there in user time
    opt = options(events=[event(cos_half), event(t_one_and_half, terminal=1)])
    sol = _core.integrate_rhs(rotation.address, NO_DATA, y0, t0, t1, NO_T_EVAL, opt, scale=scale, direction=direction)
    assert sol.status == _core.Status.event and abs(sol.t_final - 1.5) < 1e-12
    np.testing.assert_allclose(sol.final_state, [np.cos(1.5), -np.sin(1.5)], atol=1e-9)
    assert abs(sol.t[-1] - 1.5) < 1e-12 and len(sol.t_events[0]) == int(direction == 1)


@pytest.mark.parametrize("scale", [None, np.array([2.0, 2.0])])
def test_an_event_returning_nan_is_named_in_user_time(scale):
    y0 = np.array([1.0, 0.0])
    opt = options("dopri5", events=[event(cos_half), event(nan_after_one)])
    with pytest.raises(ValueError, match=r"event 1 returned NaN at t = 0\.\d+"):
        _core.integrate_rhs(rotation.address, NO_DATA, y0, 2.0, 0.0, NO_T_EVAL, opt, scale=scale, direction=-1)


def test_t_eval_backward_with_scale():
    t_eval = np.linspace(3.0, 0.5, 6)
    y0 = np.array([np.cos(3.0), -np.sin(3.0)])
    sol = _core.integrate_rhs(
        rotation.address, NO_DATA, y0, 3.0, 0.5, t_eval, options("dop853"), scale=np.array([2.0, 0.5]), direction=-1
    )
    np.testing.assert_array_equal(sol.t, t_eval)
    np.testing.assert_allclose(sol.states, np.c_[np.cos(t_eval), -np.sin(t_eval)], atol=1e-8)
    assert sol.t_final == 0.5


# --------------------------------------------------------------------------------------------
# the stepping session


def test_rhs_solver_steps_backwards_in_user_coordinates():
    scale = np.array([3.0, 0.2])
    s = _core.RhsSolver(rotation.address, NO_DATA, 2, options("dopri5", rtol=1e-7), scale=scale, direction=-1)
    assert s.n == 2 and s.direction == -1
    with pytest.raises(RuntimeError, match="init"):
        s.step(0.0)
    s.init(2.0, np.array([np.cos(2.0), -np.sin(2.0)]))
    assert s.t == 2.0
    with pytest.raises(ValueError, match="t_bound"):
        s.step(3.0)
    ts = [s.t]
    while True:
        status = s.step(0.0)
        assert s.t < s.t_prev and s.h_next > 0
        ts.append(s.t)
        np.testing.assert_allclose(s.y, [np.cos(s.t), -np.sin(s.t)], atol=1e-6)
        mid = 0.5 * (s.t + s.t_prev)
        np.testing.assert_allclose(s.dense(mid), [np.cos(mid), -np.sin(mid)], atol=1e-6)
        nodes = s.dense_nodes()
        assert nodes.shape == (s.dense_degree + 1, 2) == (5, 2)
        np.testing.assert_array_equal(nodes[-1], s.y)
        if status == "t_end":
            break
        assert status == "stepped"
    assert s.t == 0.0 and len(ts) > 3
    assert s.stats["naccept"] == len(ts) - 1 and s.stats["nfev"] > 0
    with pytest.raises(ValueError, match=r"t = 1 is outside the last step \["):
        s.dense(1.0)


def test_rhs_solver_events_and_auto():
    opt = options("auto", events=[event(t_one_and_half, terminal=1)])
    s = _core.RhsSolver(rotation.address, NO_DATA, 2, opt, direction=-1)
    s.init(2.0, np.array([np.cos(2.0), -np.sin(2.0)]))
    status = "stepped"
    while status == "stepped":
        status = s.step(0.0)
    assert status == "event"
    assert abs(s.t_events[0][0] - 1.5) < 1e-12 and s.t <= 1.5
    np.testing.assert_allclose(s.y_events[0][0], [np.cos(1.5), -np.sin(1.5)], atol=1e-8)


# --------------------------------------------------------------------------------------------
# the Jacobian


@pytest.mark.parametrize("method", ["rodas4", "gauss4", "gauss6", "auto"])
@pytest.mark.parametrize("with_jac", [False, True])
def test_stiff_linear_system_with_and_without_jac(method, with_jac):
    y0 = np.array([1.0, 1.0])
    jac = stiff_pair_jac.address if with_jac else 0
    opt = options(method, rtol=1e-8, atol=1e-10)
    sol = _core.integrate_rhs(stiff_pair.address, NO_DATA, y0, 0.0, 2.0, NO_T_EVAL, opt, jac_address=jac)
    assert sol.status == _core.Status.t_end
    np.testing.assert_allclose(sol.final_state, stiff_pair_exact(2.0, y0), rtol=1e-6, atol=1e-10)
    if method != "auto":
        assert sol.njev >= 1 and sol.nlu >= 1
        assert sol.naccept < 400  # stable at steps far beyond 2 / LAMBDA


@pytest.mark.parametrize("with_jac", [False, True])
def test_jacobian_in_core_coordinates_backward_scaled(with_jac):
    # Backwards in t this stiff ODE decays; a wrongly mapped J (sign, scale) would make rodas4 unstable.
    t0, t1 = 1.0, 0.0
    y0 = np.array([np.cos(1.0) + 0.5])
    jac = stiff_growing_jac.address if with_jac else 0
    opt = options("rodas4", rtol=1e-6, atol=1e-8)
    for scale in (None, np.array([1e-3])):
        sol = _core.integrate_rhs(
            stiff_growing.address, NO_DATA, y0, t0, t1, NO_T_EVAL, opt, jac_address=jac, scale=scale, direction=-1
        )
        assert sol.status == _core.Status.t_end and sol.naccept < 200
        assert abs(sol.final_state[0] - 1.0) < 1e-5  # cos 0 + 0.5 e^{-1000}


def test_difference_jacobian_evaluations_count_in_nfev():
    y0 = np.array([1.0, 1.0])
    opt = options("rodas4", rtol=1e-6, atol=1e-9)
    fd = _core.integrate_rhs(stiff_pair.address, NO_DATA, y0, 0.0, 1.0, NO_T_EVAL, opt)
    exact = _core.integrate_rhs(
        stiff_pair.address, NO_DATA, y0, 0.0, 1.0, NO_T_EVAL, opt, jac_address=stiff_pair_jac.address
    )
    # rodas4: 6 stage evaluations per attempt and the end point; the difference J costs n + 1 more each
    assert fd.nfev >= fd.njev * 3 + 6 * (fd.naccept + fd.nreject)
    assert exact.nfev < fd.nfev
    np.testing.assert_allclose(fd.final_state, exact.final_state, rtol=1e-5, atol=1e-12)


# --------------------------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"direction": 2}, ValueError, "direction"),
        ({"direction": 0}, ValueError, "direction"),
        ({"scale": np.array([1.0])}, ValueError, "scale"),
        ({"scale": np.array([1.0, -1.0])}, ValueError, "scale"),
        ({"scale": np.array([1.0, np.nan])}, ValueError, "scale"),
        ({"scale": np.ones((2, 1))}, ValueError, "scale"),
        ({"scale": "ab"}, TypeError, "scale"),
        ({"scale": 2.0}, ValueError, "scale"),
        ({"direction": -1}, ValueError, "t1"),
        ({"jac_address": "x"}, TypeError, "jac_address"),
    ],
)
def test_bad_input_is_an_exception(kwargs, error, match):
    y0 = np.array([1.0, 0.0])
    with pytest.raises(error, match=match):
        _core.integrate_rhs(rotation.address, NO_DATA, y0, 0.0, 1.0, NO_T_EVAL, options(), **kwargs)
    if "jac_address" not in kwargs and "t1" not in match:
        with pytest.raises(error, match=match):
            _core.RhsSolver(rotation.address, NO_DATA, 2, options(), **kwargs)


def test_bad_sizes_and_positional_extras_are_refused():
    with pytest.raises(ValueError, match="empty"):
        _core.integrate_rhs(rotation.address, NO_DATA, np.zeros(0), 0.0, 1.0, NO_T_EVAL, options())
    with pytest.raises(ValueError, match="n must be"):
        _core.RhsSolver(rotation.address, NO_DATA, 0, options())
    s = _core.RhsSolver(rotation.address, NO_DATA, 2, options())
    with pytest.raises(ValueError, match="y0"):
        s.init(0.0, np.zeros(3))
    with pytest.raises(RuntimeError):
        s.dense_nodes()
    with pytest.raises(TypeError):  # the new arguments are keyword-only
        _core.integrate_rhs(rotation.address, NO_DATA, np.ones(2), 0.0, 1.0, NO_T_EVAL, options(), 0)
    with pytest.raises(TypeError, match="unexpected keyword argument 'jac'"):
        _core.integrate_rhs(rotation.address, NO_DATA, np.ones(2), 0.0, 1.0, NO_T_EVAL, options(), jac=0)
    with pytest.raises(TypeError, match="direction must be an int"):
        _core.RhsSolver(rotation.address, NO_DATA, 2, options(), direction=1.0)
    with pytest.raises(TypeError, match="direction must be an int"):
        _core.RhsSolver(rotation.address, NO_DATA, 2, options(), direction=True)
    assert _core.RhsSolver(rotation.address, NO_DATA, 2, options(), direction=np.int64(-1)).direction == -1
    with pytest.raises(ValueError, match="null"):
        _core.integrate_rhs(0, NO_DATA, np.ones(2), 0.0, 1.0, NO_T_EVAL, options())


# --------------------------------------------------------------------------------------------
# Rosenbrock on a non-autonomous ODE: the h gamma_i f_t terms


@numba.cfunc(RHS_SIG)
def relaxation(t, y, dy, data):  # y' = -50 (y - cos t)
    dy[0] = -50.0 * (y[0] - math.cos(t))


@numba.cfunc(RHS_SIG)
def repulsion(t, y, dy, data):  # y' = 50 (y - cos t): decays backwards in t
    dy[0] = 50.0 * (y[0] - math.cos(t))


def particular(t, rate):
    # y' = rate (y - cos t) has the solution a cos t + b sin t with a = rate^2 / (rate^2 + 1) and
    # b = -rate / (rate^2 + 1); every other solution adds c e^{rate t}
    a, b = rate**2 / (rate**2 + 1), -rate / (rate**2 + 1)
    return a * math.cos(t) + b * math.sin(t)


@pytest.mark.parametrize(
    ("rhs", "rate", "t0", "t1", "direction"), [(relaxation, -50.0, 0.0, 1.0, 1), (repulsion, 50.0, 1.0, 0.0, -1)]
)
def test_rodas4_reaches_order_4_on_a_non_autonomous_ode(rhs, rate, t0, t1, direction):
    # Fixed steps h (loose tolerances never reject; max_step = first_step = h) over a span of 1: the largest error
    # over the steps falls as h^4 (measured slopes 4.1, 4.0, 4.0); without the f_t terms the order drops.
    y0 = 0.0
    errors = []
    hs = [1 / 40, 1 / 80, 1 / 160, 1 / 320]
    for h in hs:
        opt = options("rodas4", rtol=1e3, atol=1e3, first_step=h, max_step=h)
        sol = _core.integrate_rhs(rhs.address, NO_DATA, np.array([y0]), t0, t1, NO_T_EVAL, opt, direction=direction)
        assert sol.naccept == round(1 / h) and sol.nreject == 0
        exact = [particular(t, rate) + (y0 - particular(t0, rate)) * math.exp(rate * (t - t0)) for t in sol.t]
        errors.append(np.max(np.abs(sol.states[:, 0] - exact)))
    slopes = np.diff(np.log(errors)) / np.diff(np.log(hs))
    assert np.all(slopes > 3.7), (errors, slopes)
