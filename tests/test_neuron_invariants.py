"""Per-neuron invariants of networks on data (overflow/neuron_invariants.py): the definition on hand-made
layers and against the diagonal of the layer-wise invariants, and their conservation along the gradient
flow computed by an independent numpy oracle (tests/data_network_oracle.py, itself checked against
complex-step differences) and scipy's DOP853: conserved for relu and leaky relu, not for tanh."""

import itertools

import numpy as np
import pytest
from data_network_oracle import (
    NON_SLIDING_STUDENTS,
    complex_step_gradient,
    flat_rhs,
    flatten,
    forward_pass,
    rhs,
    unflatten,
)
from scipy.integrate import solve_ivp

from overflow.activations import ACTIVATIONS, leaky_relu
from overflow.datasets import forward, teacher_student
from overflow.invariants import invariants
from overflow.neuron_invariants import neuron_invariants

HOMOGENEOUS = ["linear", "relu", "leaky_relu", leaky_relu(0.3)]
NOT_HOMOGENEOUS = ["tanh", "sigmoid", "isru", "softplus", "gelu"]


def problem(activation, depth, bias, width=4, samples=10, seed=0):
    """Data from a two-layer relu teacher (n_in = 3, m = 2) and a random student of the given shape."""
    data = teacher_student(3, m=2, width=4, samples=samples, activation="relu", bias=bias, seed=seed)
    student = teacher_student(
        3, m=2, width=width, samples=1, depth=depth, activation=activation, bias=bias, seed=seed + 1
    )
    return data.X, data.Y, [np.array(L) for L in student.layers]


# --- the oracle ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_oracle_rhs_is_minus_the_complex_step_gradient(name, depth, bias):
    X, Y, layers = problem(name, depth, bias, width=5, samples=6)
    got = rhs(layers, X, Y, name, bias)
    want = complex_step_gradient(layers, X, Y, name, bias)
    scale = max(np.max(np.abs(G)) for G in want)
    assert scale > 1e-3
    for G, R in zip(want, got):
        np.testing.assert_allclose(R, -G, rtol=0, atol=1e-12 * scale)


@pytest.mark.parametrize("bias", [False, True])
def test_oracle_forward_matches_datasets_forward(bias):
    X, Y, layers = problem("gelu", 3, bias)
    np.testing.assert_allclose(forward_pass(layers, X, "gelu", bias)[0][-1], forward(layers, X, "gelu", bias), 1e-14)


# --- the definition --------------------------------------------------------------------------------------


def test_hand_example():
    L1 = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 2.0]])  # [W_1 | b_1], n_in = 2, k_1 = 2
    L2 = np.array([[4.0, 5.0, 7.0]])  # [W_2 | b_2]: the bias 7 is not an outgoing weight
    np.testing.assert_array_equal(neuron_invariants([L1, L2], bias=True), [1 + 4 + 9 - 16, 0 + 1 + 4 - 25])
    W1, W2 = L1[:, :2], L2[:, :2]
    np.testing.assert_array_equal(neuron_invariants([W1, W2]), [1 + 4 - 16, 0 + 1 - 25])
    # depth 3: both hidden layers, in order
    W3 = np.array([[1.0], [2.0], [-2.0]])  # k_2 = 1 -> m = 3
    got = neuron_invariants([W1, W2, W3])
    np.testing.assert_array_equal(got, [1 + 4 - 16, 0 + 1 - 25, 16 + 25 - 9])


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_linear_without_bias_is_the_diagonal_of_the_layer_invariants(depth):
    X, Y, layers = problem("linear", depth, False, width=5)
    want = np.concatenate([np.diag(C) for C in invariants(layers)])
    np.testing.assert_allclose(neuron_invariants(layers), want, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("bias", [False, True])
def test_trajectory_is_the_states_stacked(bias):
    rng = np.random.default_rng(0)
    shapes = [(4, 3 + bias), (5, 4 + bias), (2, 5 + bias)]
    traj = [rng.standard_normal((6,) + s) for s in shapes]
    got = neuron_invariants(traj, bias)
    assert got.shape == (6, 9)
    want = np.stack([neuron_invariants([L[t] for L in traj], bias) for t in range(6)])
    np.testing.assert_array_equal(got, want)


def test_one_layer_has_no_hidden_neuron():
    assert neuron_invariants([np.ones((2, 3))]).shape == (0,)
    assert neuron_invariants([np.ones((5, 2, 4))], bias=True).shape == (5, 0)


def test_lists_and_integers_are_accepted():
    np.testing.assert_array_equal(neuron_invariants([[[1, 2]], [[3], [1]]]), [5 - 10])


@pytest.mark.parametrize(
    "layers, bias, error, match",
    [
        (np.ones((2, 2)), False, TypeError, "layers must be a list of layers"),
        ("W", False, TypeError, "layers must be a list of layers"),
        ([], False, ValueError, "layers must hold at least one layer"),
        (
            [np.ones((4, 3)), np.ones((2, 4))],
            True,
            ValueError,
            r"layers\[1\] must have 5 columns \(4 rows of layers\[0\] \+ 1",
        ),
        (
            [np.ones((4, 3)), np.ones((2, 5))],
            False,
            ValueError,
            r"layers\[1\] must have 4 columns \(4 rows of layers\[0\]\)",
        ),
        ([np.ones(3)], False, ValueError, r"layers\[0\] must be a 2-D array"),
        ([np.ones((4, 3)), np.ones((1, 2, 4))], False, ValueError, "all 2-D .* or all 3-D"),
        ([np.ones((2, 4, 3)), np.ones((3, 2, 4))], False, ValueError, "number of saved states T"),
        ([np.ones((2, 2), dtype=complex)], False, TypeError, r"layers\[0\] must be a real 2-D array .* complex"),
        ([np.ones((2, 2))], 1, TypeError, "bias must be a bool"),
    ],
)
def test_errors(layers, bias, error, match):
    with pytest.raises(error, match=match):
        neuron_invariants(layers, bias)


# --- conservation by the flow ----------------------------------------------------------------------------


def rate(layers, bias, activation, X, Y):
    """``dc/dt`` along the oracle's flow: ``c`` is quadratic, so the central difference with step 1 along
    the right-hand side is its derivative exactly (up to rounding)."""
    v = rhs(layers, X, Y, activation, bias)
    plus = neuron_invariants([L + V for L, V in zip(layers, v)], bias)
    minus = neuron_invariants([L - V for L, V in zip(layers, v)], bias)
    return (plus - minus) / 2


def magnitude(layers):
    """The size of the terms whose differences the invariants are: the largest squared layer norm."""
    return max(np.sum(L**2) for L in layers)


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("depth", [2, 3, 4])
@pytest.mark.parametrize("activation", HOMOGENEOUS, ids=str)
def test_rate_vanishes_for_homogeneous_activations(activation, depth, bias):
    X, Y, layers = problem(activation, depth, bias, width=5)
    speed = max(np.max(np.abs(V)) for V in rhs(layers, X, Y, activation, bias))
    assert speed > 1e-2  # the weights do move
    assert np.max(np.abs(rate(layers, bias, activation, X, Y))) < 1e-13 * magnitude(layers)


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("activation", NOT_HOMOGENEOUS)
def test_rate_does_not_vanish_for_other_activations(activation, bias):
    X, Y, layers = problem(activation, 3, bias, width=5)
    assert np.max(np.abs(rate(layers, bias, activation, X, Y))) > 1e-3 * magnitude(layers)


MAX_EVALUATIONS = 100_000


def integrate(activation, depth, bias, width, t_end, seed):
    """The oracle's flow from a random student by DOP853 at rtol 1e-10, atol 1e-12: the states at 21 times."""
    X, Y, layers = problem(activation, depth, bias, width=width, seed=seed)
    shapes = [L.shape for L in layers]
    fun = flat_rhs(X, Y, activation, bias, shapes)
    count = [0]

    def counted(t, theta):
        # a pre-activation held at a kink makes adaptive steps collapse (issue 18, item 4): fail, do not hang
        count[0] += 1
        if count[0] > MAX_EVALUATIONS:
            raise RuntimeError(f"more than {MAX_EVALUATIONS} evaluations by t = {t}: the flow slides along a kink")
        return fun(t, theta)

    times = np.linspace(0.0, t_end, 21)
    sol = solve_ivp(counted, (0.0, t_end), flatten(layers), method="DOP853", t_eval=times, rtol=1e-10, atol=1e-12)
    assert sol.success, sol.message
    trajectory = [np.stack([unflatten(y, shapes)[i] for y in sol.y.T]) for i in range(len(shapes))]
    return X, Y, layers, trajectory


def kinks_crossed(X, trajectory, activation, bias):
    """How many hidden pre-activations (neuron, sample) changed sign between consecutive saved states."""
    signs = [
        np.concatenate([np.ravel(A > 0) for A in forward_pass([L[t] for L in trajectory], X, activation, bias)[0][:-1]])
        for t in range(len(trajectory[0]))
    ]
    return sum(int(np.sum(a != b)) for a, b in itertools.pairwise(signs))


FLOWS = NON_SLIDING_STUDENTS  # to t = 2 (tests/data_network_oracle.py)


@pytest.mark.parametrize("activation, depth, bias, width, seed", FLOWS)
def test_conserved_along_the_flow(activation, depth, bias, width, seed):
    X, Y, layers, trajectory = integrate(activation, depth, bias, width, 2.0, seed)
    assert kinks_crossed(X, trajectory, activation, bias) > 0
    moved = np.sqrt(
        sum(np.sum((T[-1] - L) ** 2) for L, T in zip(layers, trajectory)) / sum(np.sum(L**2) for L in layers)
    )
    assert moved > 0.1
    c = neuron_invariants(trajectory, bias)
    drift = np.max(np.abs(c - c[0]))
    assert drift < 1e-8 * magnitude(layers)


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("depth", [2, 3])
def test_not_conserved_for_tanh(depth, bias):
    """The same check fails where sigma is not homogeneous: the invariants drift by O(1e-2)."""
    X, Y, layers, trajectory = integrate("tanh", depth, bias, 4, 2.0, 0)
    c = neuron_invariants(trajectory, bias)
    assert np.max(np.abs(c - c[0])) > 1e-3 * magnitude(layers)
