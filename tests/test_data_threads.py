"""The data sweep's products split across the thread team (``threads=``, csrc/src/data_sweep.cpp): the
right-hand side equals the independent numpy oracle, is the same bits for every team size (each share of
rows or columns starts on Eigen's kernel blocks, so every entry is summed in the same order as in the
product computed whole) and on every run; whole integrations take the same steps and agree to rounding."""

from __future__ import annotations

import numpy as np
import pytest
from data_network_oracle import flatten, rhs, unflatten

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
    for threads in (2, 3):
        g, dy = _core.flow_rhs(net.dims, net.cost.vg_address, net.cost.data, y, "tanh", threads=threads)
        assert g == base[0]
        assert np.array_equal(dy, base[1])


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
