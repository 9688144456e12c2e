"""Filippov sliding on teacher-student data (issue 18, item 4): a relu student whose hidden pre-activation
is pushed back to 0 from both sides, against scipy grinding through the chattering on the numpy
right-hand side of tests/data_network_oracle.py (the Filippov solution is the limit of the chattering
ones as the tolerance goes to 0)."""

from __future__ import annotations

import numpy as np
import pytest
from data_network_oracle import flat_rhs, forward_pass
from scipy.integrate import solve_ivp

import overflow as of


def sliding_student(activation, seed=0):
    """``(net, data, layers)``: a width-16 student on 16 samples of a width-4 teacher (n_in = 4, m = 1);
    one hidden entry begins to slide at t = 0.3494 (relu, seed 0), 0.3439 (leaky relu, seed 0) or 0.5242
    (leaky slope 2, seed 7) and still slides 0.05 later."""
    data = of.datasets.teacher_student(4, m=1, width=4, samples=16, activation=activation, seed=seed)
    net = of.Network(of.costs.squared_loss(data.Y), depth=2, width=16, activation=activation, inputs=data.X)
    return net, data, net.init(seed=seed)


def entry_rate(layers, X, Y, entry, gate, slope):
    """da/dt of hidden entry ``(row, column)`` with its sigma' replaced by ``gate`` in the backward pass
    (the forward pass does not see it: the entry's pre-activation is 0)."""
    row, col = entry
    W1, W2 = layers
    A1 = W1 @ X
    D = np.where(A1 > 0, 1.0, slope)
    D[row, col] = gate
    Z2 = (W2 @ (D * A1) - Y) / X.shape[1]
    Z1 = (W2.T @ Z2) * D
    dW1 = -Z1 @ X.T  # A1 = W1 X moves with W1 alone
    return (dW1 @ X[:, col])[row]


# The slopes are the registry's (relu 0, leaky relu 0.01), which the oracle uses too; a slope above 1
# turns the gates' range round ([1, 2]).
@pytest.mark.parametrize(
    "activation,slope,seed,t_end",
    [("relu", 0.0, 0, 0.4), ("leaky_relu", 0.01, 0, 0.394), (of.activations.leaky_relu(2.0), 2.0, 7, 0.5742)],
    ids=["relu", "leaky_relu", "slope_2"],
)
def test_sliding_entry_matches_the_chattering_limit(activation, slope, seed, t_end):
    net, data, layers = sliding_student(activation, seed)
    rtol, atol = 1e-10, 1e-12
    res = of.integrate(net, layers, (0.0, t_end), method="dop853", rtol=rtol, atol=atol)
    assert res.status == "t_end", res.message
    assert res.nkink > 0 and res.nslide >= 1
    # scipy's steps straddle the kink over and over while the entry slides: each keeps its local error to
    # its tolerance, and its state is within 10x that of the Filippov one (measured over 0.05 of sliding:
    # relu 1e-7 off at rtol 1e-8 and 4e-10 at 1e-10; leaky relu 6e-9 at 1e-8; slope 2 1.9e-7 at 1e-8).
    # Overflow's own error at rtol 1e-10 is far below, so the two agree to 1e-6 (scale ~1). The gates
    # solved on a Jacobian scaled by 0.4 or -1 (Newton does not converge) leave the relu state 2.3e-4
    # off, and the slope-2 state misses the bound with its gates' range taken as [slope, 1] (as before
    # activation_pattern.hpp's side_fraction turned it round).
    fun = flat_rhs(data.X, data.Y, activation, False, net.shapes)
    ref = solve_ivp(fun, (0.0, t_end), net.flatten(layers), method="DOP853", rtol=1e-8, atol=1e-10)
    assert ref.status == 0
    scale = max(1.0, float(np.max(np.abs(ref.y[:, -1]))))
    assert np.max(np.abs(res.final_state - ref.y[:, -1])) <= 1e-6 * scale

    final = net.unflatten(res.final_state)
    A1 = forward_pass(final, data.X, activation, False)[0][0]
    row, col = np.unravel_index(np.argmin(np.abs(A1)), A1.shape)
    # The sliding entry is held at its kink (to the kink tolerance; scipy's chattering is far looser) ...
    assert abs(A1[row, col]) <= 1e-9 * (1.0 + np.max(np.abs(A1)))
    second = np.partition(np.abs(A1).ravel(), 1)[1]
    assert second > 1e-4, "only one entry is at its kink"
    # ... because the flow pushes it back from both sides: da/dt < 0 with the gate 1 and > 0 with the slope,
    # so the Filippov gate lambda with da/dt = 0 lies between the slope and 1.
    rate = [entry_rate(final, data.X, data.Y, (row, col), gate, slope) for gate in (1.0, slope)]
    assert rate[0] < 0.0 < rate[1]


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_gauss6_keeps_the_per_neuron_invariants_while_an_entry_slides(activation):
    """A sliding entry's forward value is lambda a (a ~ 0, its gate lambda), as its backward gate: the
    per-neuron invariants' derivative, sum_c (lambda a g - lambda a g), is then 0, and gauss6 keeps
    them to rounding across the kinks and the sliding."""
    net, data, layers = sliding_student(activation)
    res = of.integrate(net, layers, (0.0, 1.0), method="gauss6", rtol=1e-8, atol=1e-10)
    assert res.status == "t_end" and res.nkink > 0 and res.nslide >= 1
    scale = max(float(np.max(np.abs(c))) for c in of.invariants(net, layers))
    assert res.invariant_drift <= 1e-13 * max(1.0, scale)


@pytest.mark.parametrize("method", ["rodas4", "radau5"])
@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_implicit_steps_carry_the_sliding_gates_in_their_jacobian(method, activation):
    """While an entry slides its gate is a function of the state (it keeps da/dt = 0), and the Jacobian
    the implicit steps are built on carries that dependence (ActivationPattern::add_sliding_jvp; its
    oracle is the CTest test_sliding_jvp). A Rosenbrock step on a Jacobian without it is of lower order:
    rodas4 took 70 accepted steps over [0, 0.6] (72 leaky), against 20 with it; radau5, which iterates
    to its stages, 19 and 21 either way. The states agree with dop853's (itself checked against scipy's
    chattering limit above) to the tolerance."""
    net, data, layers = sliding_student(activation)
    rtol, atol = 1e-8, 1e-10
    res = of.integrate(net, layers, (0.0, 0.6), method=method, rtol=rtol, atol=atol)
    assert res.status == "t_end" and res.nkink > 0 and res.nslide >= 1
    ref = of.integrate(net, layers, (0.0, 0.6), method="dop853", rtol=1e-11, atol=1e-13)
    scale = max(1.0, float(np.max(np.abs(ref.final_state))))
    assert np.max(np.abs(res.final_state - ref.final_state)) <= 100 * rtol * scale
    assert res.naccept <= 30


def test_trajectories_through_exchanges_of_sliding_entries_converge_with_the_tolerance():
    """Where one entry begins to slide and moves another's gate out of its range, the other leaves; an
    entry that the flow on its side then pushes back slides again. Leaving one at a time, the farthest
    first, and letting a leaver slide again (ActivationPattern::switch_at) keeps the trajectory a
    function of the flow, not of the steps: on this student (16 samples, 147 kinks to t = 1000) dop853 at
    rtol 1e-8 and 1e-10 ends 4.2e-8 and 4.5e-11 from rtol 1e-12. Pushing every such entry out at once,
    never to slide again, left them 2.3e-3 apart (two entries pushing each other out, switch after switch)."""
    data = of.datasets.teacher_student(4, m=1, width=4, samples=16, activation="relu", seed=2)
    net = of.Network(of.costs.squared_loss(data.Y), depth=2, width=16, activation="relu", inputs=data.X)
    layers = net.init(seed=2, scale=0.3)
    runs = {
        rtol: of.integrate(net, layers, (0.0, 1e3), method="dop853", rtol=rtol, atol=1e-2 * rtol, save_weights=False)
        for rtol in (1e-8, 1e-10, 1e-12)
    }
    ref = runs[1e-12].final_state
    scale = max(1.0, float(np.max(np.abs(ref))))
    assert runs[1e-12].nslide > 0
    for rtol in (1e-8, 1e-10):
        assert np.max(np.abs(runs[rtol].final_state - ref)) <= 100 * rtol * scale, rtol
