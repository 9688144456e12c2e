"""Events: zero crossings of event(t, y) located on the interpolant, scipy's terminal/direction.

Oracles: scipy's own event location (solve_ivp, DOP853 at rtol 1e-12) on the numpy flow with the
same event function; the vector case's reduced ODE (eq. 19) for the time to reach a loss; an event
of t alone (sin 3t), whose crossings are known exactly.
"""

import math

import numpy as np
import pytest
from helpers import factorization_problem, flat, flow_rhs
from scipy.integrate import solve_ivp

import overflow as of


def _sum_of_squares_event(level):
    def event(t, y):
        return np.sum(y * y) - level

    return event


def test_event_times_match_scipy():
    # A small start learning a larger target: sum y^2 grows from 0.2 to 9.4 and crosses 4 once.
    net, Ws, grad_f = factorization_problem(m=2, n=2, widths=(3,), seed=1, scale=0.3, target_scale=2.0)
    y0 = flat(Ws)
    level = 4.0
    event = _sum_of_squares_event(level)
    event.direction = 1
    res = of.integrate(net, Ws, (0, 20), method="dop853", rtol=1e-12, atol=1e-14, events=event)
    assert res.status == "t_end" and len(res.t_events[0]) == 1

    def ref_event(t, y):
        return float(np.sum(y * y)) - level

    ref_event.direction = 1
    sol = solve_ivp(flow_rhs(net.dims, grad_f), (0, 20), y0, method="DOP853", rtol=1e-12, atol=1e-14, events=ref_event)
    # Both solutions carry errors ~1e-12 relative; the event function moves at |d/dt sum y^2| = O(1)
    # there, so the crossing times agree to ~1e-11.
    assert res.t_events[0][0] == pytest.approx(sol.t_events[0][0], abs=1e-9)
    np.testing.assert_allclose(res.y_events[0][0], sol.y_events[0][0], atol=1e-9)
    # The state recorded is on the interpolant at the root: the event vanishes there.
    assert abs(float(np.sum(res.y_events[0][0] ** 2)) - level) <= 1e-10 * level


def test_time_to_loss_in_the_vector_case_against_eq_19():
    f = of.costs.scalar(lambda z: 0.5 * (z - 1.0) ** 2, lambda z: z - 1.0, lambda z: 1.0, f_star=0.0)
    net = of.Network(f, depth=2, width=5)
    z0, c, level = 0.1, 0.7, 1e-6
    Ws = of.vector.init_with(z0, c, 5, seed=2)
    res = of.integrate(net, Ws, (0, np.inf), method="auto", rtol=1e-12, atol=1e-14, events=of.events.loss_below(level))
    assert res.status == "event" and res.final_loss == pytest.approx(level, rel=1e-9)

    def loss_event(t, z):
        return 0.5 * (z[0] - 1.0) ** 2 - level

    loss_event.terminal = True
    sol = solve_ivp(
        lambda t, z: [-(z[0] - 1.0) * np.sqrt(c + 4 * z[0] ** 2)],
        (0, 100),
        [z0],
        method="DOP853",
        rtol=1e-13,
        atol=1e-15,
        events=loss_event,
    )
    # The loss decays at rate ~2 sqrt(c + 4) ~ 4.3 at the crossing: relative errors ~1e-10 in the
    # loss (from states accurate to ~1e-12 against |z - 1| ~ 1.4e-3) move t by ~1e-10 / 4.3.
    assert res.t_final == pytest.approx(sol.t_events[0][0], abs=1e-8)


def test_direction_and_terminal_count_on_a_known_function_of_t():
    net, Ws, _ = factorization_problem()

    def rising(t, y):
        return math.sin(3.0 * t)

    rising.direction = 1
    rising.terminal = 3

    def both(t, y):
        return math.sin(3.0 * t + 0.1)

    res = of.integrate(net, Ws, (0, 10), rtol=1e-8, atol=1e-10, events=[rising, both])
    # sin 3t rises through 0 at t = 2 pi k / 3 (t = 0 is the start), so the third rise, 2 pi, ends
    # the run; sin(3t + 0.1) crosses at (k pi - 0.1) / 3, six times before that.
    assert res.status == "event"
    np.testing.assert_allclose(res.t_events[0], 2 * np.pi * np.arange(1, 4) / 3, rtol=1e-12, atol=0)
    np.testing.assert_allclose(res.t_events[1], (np.pi * np.arange(1, 7) - 0.1) / 3, rtol=1e-12, atol=0)
    assert res.t_final == res.t_events[0][-1]
    assert res.y_events[0].shape == (3, net.state_size)


def test_builtin_events_record_without_stopping():
    net, Ws, _ = factorization_problem(seed=3)
    events = [
        of.events.loss_below(1e-3, terminal=False),
        of.events.grad_norm_below(1e-4, terminal=False),
        of.events.invariant_drift_above(1e-10, terminal=False),
    ]
    res = of.integrate(net, Ws, (0, 60), method="dopri5", rtol=1e-6, atol=1e-9, events=events)
    assert res.status == "t_end"
    (t_loss,), (t_grad,) = res.t_events[0], res.t_events[1]
    loss_there, grad_there = net.rhs(res.y_events[0][0])[0], np.linalg.norm(net.rhs(res.y_events[1][0])[1])
    assert loss_there == pytest.approx(1e-3, rel=1e-8) and grad_there == pytest.approx(1e-4, rel=1e-8)
    assert 0 < t_loss < 60 and 0 < t_grad < 60
    # dopri5 at rtol 1e-6 moves the invariants by more than 1e-10 early on.
    C0 = of.invariants(Ws)
    C = of.invariants(net.unflatten(res.y_events[2][0]))
    assert len(res.t_events[2]) >= 1
    assert max(float(np.max(np.abs(a - b))) for a, b in zip(C, C0)) == pytest.approx(1e-10, rel=1e-6)


def test_terminal_event_before_gtol_and_t_span_to_infinity():
    net, Ws, _ = factorization_problem(seed=4)
    res = of.integrate(net, Ws, (0, np.inf), method="auto", gtol=1e-12, events=of.events.loss_below(1e-2))
    assert res.status == "event" and res.final_loss == pytest.approx(1e-2, rel=1e-8)
    later = of.integrate(net, Ws, (0, np.inf), method="auto", gtol=1e-2, events=of.events.loss_below(1e-9))
    assert later.status == "converged" and len(later.t_events[0]) == 0


def test_monte_carlo_keeps_each_events_first_time():
    net, _, _ = factorization_problem(seed=5)
    ev = [of.events.loss_below(1e-2, terminal=False), of.events.grad_norm_below(1e-3)]
    mc = of.monte_carlo(net, 12, (0, np.inf), events=ev, rtol=1e-8, atol=1e-10, progress=False, workers=2)
    assert mc.t_event.shape == (12, 2) and np.all(mc.status == "event")
    for i in (0, 7):
        one = of.integrate(
            net, of.samplers.gaussian(0.3).states(net, 0, i, i + 1)[0], (0, np.inf), events=ev, rtol=1e-8, atol=1e-10
        )
        assert mc.t_event[i, 0] == one.t_events[0][0] and mc.t_event[i, 1] == one.t_final == mc.t_final[i]


# ------------------------------------------------------------------ bad input


def test_bad_events():
    net, Ws, _ = factorization_problem()
    with pytest.raises(ValueError, match="stops the run"):
        of.integrate(net, Ws, (0, np.inf), events=of.events.loss_below(1e-3, terminal=False))
    with pytest.raises(TypeError, match="cannot be compiled"):
        of.integrate(net, Ws, (0, 1), events=lambda t, y: y)  # returns an array, not a scalar
    with pytest.raises(TypeError, match="cannot be compiled"):
        of.integrate(net, Ws, (0, 1), events=lambda t, y: undefined_function(y))  # noqa: F821
    with pytest.raises(TypeError, match="2 positional"):
        of.integrate(net, Ws, (0, 1), events=lambda t: t)
    with pytest.raises(TypeError, match="events\\[0\\]"):
        of.integrate(net, Ws, (0, 1), events=[3.0])
    with pytest.raises(ValueError, match="terminal"):
        of.events.loss_below(1.0, terminal=-1)
    with pytest.raises(ValueError, match="finite"):
        of.events.grad_norm_below(math.nan)

    def ev(t, y):
        return y[0]

    ev.direction = "up"
    with pytest.raises(ValueError, match="direction"):
        of.integrate(net, Ws, (0, 1), events=ev)
    vnet = of.Network(of.costs.scalar(lambda z: (z - 1) ** 2, lambda z: 2 * (z - 1), lambda z: 2.0), depth=2, width=3)
    with pytest.raises(ValueError, match="reduced"):
        of.integrate(vnet, vnet.init(seed=0), (0, 1), method="reduced", events=of.events.loss_below(0.1))
    anet = of.Network(
        of.costs.scalar(lambda z: z * z, lambda z: 2 * z, lambda z: 2.0), depth=2, width=1, activation="isru"
    )
    with pytest.raises(ValueError, match="linear network"):
        of.integrate(anet, anet.init(seed=0), (0, 1), events=of.events.invariant_drift_above(1.0))


def test_solver_step_reports_a_terminal_event():
    net, Ws, _ = factorization_problem(seed=6)
    ev = of.events.loss_below(1e-2)
    s = of.Solver(net, Ws, method="dop853", rtol=1e-9, atol=1e-12, events=ev)
    while (status := s.step()) == "stepped":
        pass
    assert status == "event" and len(s.t_events[0]) == 1
    t_event = s.t_events[0][0]
    assert s.t_prev < t_event <= s.t  # the solver stands at the end of the step that crossed
    assert net.rhs(s.y_events[0][0])[0] == pytest.approx(1e-2, rel=1e-8)
    ref = of.integrate(net, Ws, (0, np.inf), method="dop853", rtol=1e-9, atol=1e-12, events=ev)
    assert ref.t_final == t_event  # the same steps, the same interpolant


def test_solve_ivp_events_on_an_oscillator():
    # y = (cos t, -sin t): y[0] crosses 0 at t = pi/2 + k pi, falling at k even.
    def osc(t, y):
        return np.array([y[1], -y[0]])

    def y0_zero(t, y):
        return y[0]

    y0_zero.terminal = 2

    def y0_falls(t, y):
        return y[0]

    y0_falls.direction = -1
    res = of.solve_ivp(osc, (0, 10), [1.0, 0.0], method="dop853", rtol=1e-12, atol=1e-14, events=[y0_zero, y0_falls])
    assert res.status == 1 and res.success
    np.testing.assert_allclose(res.t_events[0], [np.pi / 2, 3 * np.pi / 2], rtol=1e-11)
    np.testing.assert_allclose(res.t_events[1], [np.pi / 2], rtol=1e-11)
    np.testing.assert_allclose(res.y_events[0][:, 0], 0.0, atol=1e-11)
    assert res.t[-1] == res.t_events[0][-1]
    with pytest.raises(ValueError, match="built-ins"):
        of.solve_ivp(osc, (0, 1), [1.0, 0.0], events=of.events.loss_below(0.1))


class _Late(Exception):
    pass


def _raises_after_one(t, y):
    if t > 1.0:
        raise _Late("too late")
    return 1.0


_raises_after_one.terminal = True


@pytest.mark.parametrize("where", ["integrate", "monte_carlo", "solve_ivp", "Solver"])
def test_an_exception_in_an_event_stops_the_run_and_is_raised(where):
    # Numba cannot carry the exception out of compiled code: the event records where it raised,
    # the core stops on the NaN it returns, and the same exception is raised again from Python.
    net = of.Network(of.costs.matrix_factorization(np.diag([2.0, 1.0])), depth=2, width=3)
    Ws = net.init(seed=0)
    with pytest.raises(_Late, match="too late") as info:
        if where == "integrate":
            of.integrate(net, Ws, (0, 5), events=_raises_after_one, method="dopri5")
        elif where == "monte_carlo":
            of.monte_carlo(net, n=8, t_span=(0, 5), events=_raises_after_one, progress=False, workers=2)
        elif where == "solve_ivp":
            of.solve_ivp(lambda t, y: -y, (0, 5), [1.0], events=_raises_after_one)
        else:
            solver = of.Solver(net, Ws, 0.0, events=_raises_after_one)
            while solver.step(5.0) == "stepped":
                pass
    notes = getattr(info.value, "__notes__", [])
    if notes:  # Python 3.11+: where it happened
        t = float(notes[0].rsplit("t = ", 1)[1])
        assert t > 1.0 and "events[0]" in notes[0]


def test_an_event_returning_nan_is_an_error_not_a_missed_crossing():
    net = of.Network(of.costs.matrix_factorization(np.diag([2.0, 1.0])), depth=2, width=3)

    def nan_after_one(t, y):
        return math.nan if t > 1.0 else 1.0

    with pytest.raises(ValueError, match=r"event 0 returned NaN at t = 1\.\d+"):
        of.integrate(net, net.init(seed=0), (0, 5), events=nan_after_one, method="dopri5")
