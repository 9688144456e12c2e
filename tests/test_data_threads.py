"""The data sweep's products split across the thread team (``threads=``, csrc/src/data_sweep.cpp and its
Jacobian-vector product, csrc/src/data_jvp.cpp): the right-hand side and the jvp equal the independent numpy
oracle, are the same bits for every team size (each share of rows or columns starts on Eigen's kernel blocks,
so every entry is summed in the same order as in the product computed whole) and on every run; whole explicit
integrations take the same steps and agree to rounding, whole implicit ones (rodas4, radau5) are the same bits."""

from __future__ import annotations

import numpy as np
import pytest
from data_network_oracle import flatten, rhs, unflatten
from test_data_jvp import complex_step_jvp

import overflow as of
from overflow import _core

# (n_in, hidden widths, m, samples, activation, bias): every product above the team's threshold of 16,384
# multiply-adds except where said; sample counts and widths off the 8- and 24-column blocks; the tails.
CASES = [
    (20, (64, 48), 5, 200, "tanh", False),
    (20, (64, 48), 5, 200, "relu", True),
    (7, (33, 130), 3, 77, "isru", True),
    (16, (40, 40, 40), 1, 409, "gelu", False),
    (3, (96,), 2, 1000, "leaky_relu", True),
    (64, (64, 64, 64), 16, 512, "tanh", False),
    (4, (6,), 2, 9, "sigmoid", True),  # all products below the threshold: one thread whatever the team
]


def _problem(case, seed=0):
    n_in, widths, m, s, act, bias = case
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_in, s))
    Y = rng.standard_normal((m, s))
    cost = of.costs.squared_loss(Y)
    net = of.Network(cost, depth=len(widths) + 1, widths=list(widths), activation=act, inputs=X, bias=bias)
    return net, X, Y, act, bias, net.flatten(net.init(seed=seed + 1, scale=1.0))


def _rhs(net, X, act, bias, y, threads):
    return _core.flow_rhs(net.dims, net.cost.vg_address, net.cost.data, y, act, inputs=X, bias=bias, threads=threads)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[4]}-s{c[3]}-bias{int(c[5])}")
def test_rhs_same_bits_for_every_team_size(case):
    net, X, Y, act, bias, y = _problem(case)
    g1, dy1 = _rhs(net, X, act, bias, y, 1)
    oracle = flatten(rhs(unflatten(y, net.shapes), X, Y, act, bias))
    assert np.max(np.abs(dy1 - oracle)) <= 1e-12 * np.max(np.abs(oracle))
    for threads in (2, 3, 4):
        g, dy = _rhs(net, X, act, bias, y, threads)
        assert g == g1
        assert np.array_equal(dy, dy1), f"threads={threads}: {np.max(np.abs(dy - dy1)):.3e} off the one-thread RHS"


def _jvp(net, y, v, threads):
    c = net.cost
    return _core.flow_jvp(
        net.dims, c.vg_address, c.hvp_address, c.data, y, v, net.activation, **net._flow_arguments(), threads=threads
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[4]}-s{c[3]}-bias{int(c[5])}")
def test_jvp_same_bits_for_every_team_size(case):
    net, X, Y, act, bias, y = _problem(case)
    v = np.random.default_rng(5).standard_normal(net.state_size)
    one = _jvp(net, y, v, 1)
    oracle = complex_step_jvp(net, X, Y, act, y, v)
    assert np.max(np.abs(one - oracle)) <= 1e-12 * np.max(np.abs(oracle))
    for threads in (2, 3, 4):
        got = _jvp(net, y, v, threads)
        assert np.array_equal(got, one), f"threads={threads}: {np.max(np.abs(got - one)):.3e} off the one-thread jvp"


def test_rhs_repeats_bitwise_on_a_team():
    net, X, _, act, bias, y = _problem(CASES[5])
    first = _rhs(net, X, act, bias, y, 2)[1]
    for _ in range(20):
        assert np.array_equal(_rhs(net, X, act, bias, y, 2)[1], first)


def test_identity_input_activated_path_on_a_team():
    """No inputs=: the section 4 path (the first product a copy of W_1) through the same split kernels."""
    T = np.random.default_rng(3).standard_normal((72, 72)) / 8
    net = of.Network(of.costs.matrix_factorization(T), depth=3, width=72, activation="tanh")
    y = net.flatten(net.init(seed=2, scale=1.0))
    base = _core.flow_rhs(net.dims, net.cost.vg_address, net.cost.data, y, "tanh")
    v = np.random.default_rng(4).standard_normal(net.state_size)
    c = net.cost
    jvp = _core.flow_jvp(net.dims, c.vg_address, c.hvp_address, c.data, y, v, "tanh")
    for threads in (2, 3):
        g, dy = _core.flow_rhs(net.dims, net.cost.vg_address, net.cost.data, y, "tanh", threads=threads)
        assert g == base[0]
        assert np.array_equal(dy, base[1])
        got = _core.flow_jvp(net.dims, c.vg_address, c.hvp_address, c.data, y, v, "tanh", threads=threads)
        assert np.array_equal(got, jvp)


@pytest.mark.parametrize("method", ["dopri5", "dop853"])
def test_integration_on_a_team_agrees_to_rounding(method):
    ts = of.datasets.teacher_student(n_in=12, m=3, width=8, samples=300, depth=3, activation="tanh", seed=0)
    net = of.Network(of.costs.squared_loss(ts.Y), depth=3, width=48, activation="tanh", inputs=ts.X)
    Ws = net.init(seed=1, scale=1.0)
    runs = [
        of.integrate(net, Ws, t_span=(0.0, 5.0), method=method, rtol=1e-8, atol=1e-10, threads=threads)
        for threads in (1, 2, 2)
    ]
    one, two, again = runs
    assert one.nfev == two.nfev == again.nfev
    assert np.array_equal(two.final_state, again.final_state)  # a fixed team: the same bits every run
    # the stepper's error norm sums its shares in another order: the states agree to rounding
    scale = np.max(np.abs(one.final_state))
    assert np.max(np.abs(one.final_state - two.final_state)) <= 1e-12 * scale
    assert one.loss[-1] < one.loss[0]


@pytest.mark.parametrize("method", ["rodas4", "radau5", "gauss6"])
def test_implicit_integration_on_a_team_is_the_same_bits(method):
    # 336 weights: rodas4 solves its stages matrix-free (a Krylov space of jvps), radau5 and gauss6 assemble J
    # from 336 jvps; every product of the RHS and the jvp is above the team's threshold (the smallest, W_3 on 1,024
    # samples, exactly at it). The stepper's own linear algebra stays on the calling thread: nothing is
    # summed in another order, so the trajectories are the same bits, not only the same to rounding.
    ts = of.datasets.teacher_student(n_in=4, m=1, width=4, samples=1024, depth=2, activation="tanh", seed=0)
    net = of.Network(of.costs.squared_loss(ts.Y), depth=3, width=16, activation="tanh", inputs=ts.X, bias=True)
    Ws = net.init(seed=1, scale=1.0)
    one, two = (
        of.integrate(net, Ws, t_span=(0.0, 2.0), method=method, rtol=1e-6, atol=1e-8, threads=threads)
        for threads in (1, 2)
    )
    assert one.status == "t_end" and one.njvp > 0
    assert (one.nfev, one.njvp, one.naccept, one.nreject) == (two.nfev, two.njvp, two.naccept, two.nreject)
    assert np.array_equal(one.t, two.t)
    assert np.array_equal(one.final_state, two.final_state)
    assert one.loss[-1] < 0.9 * one.loss[0]


@pytest.mark.parametrize("method", ["rodas4", "radau5"])
def test_relu_integration_through_sliding_on_a_team_is_the_same_bits(method):
    # Width 64 on 128 samples: the first layer's products are above the team's threshold; an entry slides
    # from t = 10 or so. The kinks' margins, the sliding gates' solves and their share of the Jacobian
    # (ActivationPattern) run on the calling thread, on products the team computed: the same bits for any
    # team.
    ts = of.datasets.teacher_student(n_in=4, m=1, width=4, samples=128, activation="relu", seed=0)
    net = of.Network(of.costs.squared_loss(ts.Y), depth=2, width=64, activation="relu", inputs=ts.X)
    Ws = net.init(seed=0, scale=0.3)
    one, two = (
        of.integrate(net, Ws, t_span=(0.0, 12.0), method=method, rtol=1e-6, atol=1e-8, threads=threads)
        for threads in (1, 2)
    )
    assert one.status == "t_end" and one.nslide > 0 and one.njvp > 0
    assert (one.nfev, one.njvp, one.naccept, one.nkink, one.nslide) == (
        two.nfev,
        two.njvp,
        two.naccept,
        two.nkink,
        two.nslide,
    )
    assert np.array_equal(one.final_state, two.final_state)
