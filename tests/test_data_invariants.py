"""`overflow.invariants(net, Ws)` and `Result.invariant_drift` for networks on data and with an activation:
the per-neuron invariants ||row j of [W_i | b_i]||^2 - ||column j of W_{i+1}||^2 for positively homogeneous
activations (checked against explicit sums), conserved along the core's flows of relu and leaky relu students
that cross their kinks, to rounding for a linear network on data; no invariant (a ValueError, NaN drift) for
tanh on data, whose per-neuron differences do drift along the same flow."""

import itertools

import numpy as np
import pytest
from data_network_oracle import NON_SLIDING_STUDENTS, forward_pass

import overflow as of

# The same problems as tests/test_neuron_invariants.py: a two-layer relu teacher labels 10 samples
# (n_in = 3, m = 2) and the student, drawn by the same generator, starts with nonzero biases.


def problem(activation, depth, bias, width=4, samples=10, seed=0):
    """``(net, layers)``: the student network on the teacher's data and its starting layers."""
    data = of.datasets.teacher_student(3, m=2, width=4, samples=samples, activation="relu", bias=bias, seed=seed)
    student = of.datasets.teacher_student(
        3, m=2, width=width, samples=1, depth=depth, activation=activation, bias=bias, seed=seed + 1
    )
    net = of.Network(
        of.costs.squared_loss(data.Y), depth=depth, width=width, activation=activation, inputs=data.X, bias=bias
    )
    return net, [np.array(L) for L in student.layers]


def explicit_invariants(layers, bias):
    """``[c_1, ..., c_{N-1}]`` entry by entry: incoming weights and bias of neuron j, minus its outgoing weights."""
    out = []
    for L, M in itertools.pairwise(layers):
        out.append(
            np.array(
                [sum(x * x for x in L[j]) - sum(M[r, j] ** 2 for r in range(M.shape[0])) for j in range(L.shape[0])]
            )
        )
    assert all(M.shape[1] == L.shape[0] + bias for L, M in itertools.pairwise(layers))
    return out


def magnitude(layers):
    """The size of the terms whose differences the invariants are: the largest squared layer norm."""
    return max(np.sum(L**2) for L in layers)


def relative_move(start, final):
    return np.sqrt(sum(np.sum((F - L) ** 2) for L, F in zip(start, final)) / sum(np.sum(L**2) for L in start))


def kinks_crossed(net, trajectory):
    """How many hidden pre-activations (neuron, sample) changed sign between consecutive saved states."""
    name = net.activation if net.activation != "leaky_relu" else of.activations.leaky_relu(net.leaky_slope)
    X = net.inputs if net.inputs is not None else np.eye(net.dims[0])
    signs = [
        np.concatenate([np.ravel(A > 0) for A in forward_pass([L[t] for L in trajectory], X, name, net.bias)[0][:-1]])
        for t in range(len(trajectory[0]))
    ]
    return sum(int(np.sum(a != b)) for a, b in itertools.pairwise(signs))


# --- the definition -----------------------------------------------------------------------------------


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("depth", [2, 3, 4])
@pytest.mark.parametrize("activation", ["relu", "leaky_relu", None, of.activations.leaky_relu(0.3)], ids=str)
def test_per_neuron_invariants_on_data(activation, depth, bias):
    net, layers = problem(activation, depth, bias, width=5)
    got = of.invariants(net, layers)
    want = explicit_invariants(layers, bias)
    assert len(got) == depth - 1
    for c, w in zip(got, want):
        assert c.shape == (5,)
        np.testing.assert_allclose(c, w, rtol=1e-13, atol=1e-13)
    # the flat state and of.neuron_invariants give the same, the latter concatenated
    flat = of.invariants(net, net.flatten(layers))
    for c, f in zip(got, flat):
        np.testing.assert_array_equal(c, f)
    np.testing.assert_array_equal(np.concatenate(got), of.neuron_invariants(layers, bias))


def test_hand_example_with_biases():
    X = np.ones((2, 3))
    net = of.Network(of.costs.squared_loss(np.zeros((1, 3))), depth=2, width=2, activation="relu", inputs=X, bias=True)
    L1 = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 2.0]])  # [W_1 | b_1]
    L2 = np.array([[4.0, 5.0, 7.0]])  # [W_2 | b_2]: the bias 7 is not an outgoing weight
    (c,) = of.invariants(net, [L1, L2])
    np.testing.assert_array_equal(c, [1 + 4 + 9 - 16, 0 + 1 + 4 - 25])


def test_trajectories_and_stacks_of_flat_states():
    net, layers = problem("leaky_relu", 3, True, width=4)
    rng = np.random.default_rng(1)
    traj = [L + 0.1 * rng.standard_normal((6, *L.shape)) for L in layers]
    got = of.invariants(net, traj)
    assert [c.shape for c in got] == [(6, 4), (6, 4)]
    stacked = of.invariants(net, np.stack([net.flatten([L[t] for L in traj]) for t in range(6)]))
    for t in range(6):
        for c, s, w in zip(got, stacked, explicit_invariants([L[t] for L in traj], True)):
            np.testing.assert_allclose(c[t], w, rtol=1e-13, atol=1e-13)
            np.testing.assert_array_equal(s[t], c[t])


def test_depth_one_has_none():
    net, layers = problem("relu", 1, True)
    assert of.invariants(net, layers) == []


def test_networks_without_data_keep_their_invariants():
    # the linear network of eq. 4: the matrices C_i, as invariants(Ws)
    linear = of.Network(of.costs.matrix_factorization(np.ones((2, 3))), depth=3, widths=[4, 5])
    Ws = linear.init(seed=2, scale=0.9)
    for C, D in zip(of.invariants(linear, Ws), of.invariants(Ws)):
        assert C.shape == D.shape
        np.testing.assert_array_equal(C, D)
    # section 4: isru and tanh with one hidden layer on one input
    for name in ("isru", "tanh"):
        net = of.Network(of.costs.matrix_factorization(np.ones((2, 1))), depth=2, width=3, activation=name)
        Ws = net.init(seed=3)
        np.testing.assert_array_equal(of.invariants(net, Ws)[0], of.invariants(Ws, activation=name)[0])
    # relu on the identity input is the data network on X = I: per-neuron invariants
    net = of.Network(of.costs.matrix_factorization(np.ones((2, 3))), depth=3, width=4, activation="relu")
    Ws = net.init(seed=4)
    for c, w in zip(of.invariants(net, Ws), explicit_invariants(Ws, False)):
        np.testing.assert_allclose(c, w, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "isru", "softplus", "gelu"])
def test_other_activations_on_data_have_none(activation):
    net, layers = problem(activation, 2, False)
    with pytest.raises(ValueError, match=f"on data with activation '{activation}'.*does not conserve"):
        of.invariants(net, layers)


@pytest.mark.parametrize("name", ["isru", "tanh"])
def test_one_input_of_ones_is_the_identity_input(name):
    # inputs = [[1]] without biases is section 4's network and flow (tests/test_data_network.py): the same
    # invariants a_j^2 - h(b_j), and the same drift report
    cost = of.costs.matrix_factorization(np.array([[0.7, -1.3]]).T)
    ident = of.Network(cost, depth=2, width=3, activation=name)
    ones = of.Network(cost, depth=2, width=3, activation=name, inputs=np.ones((1, 1)))
    Ws = ident.init(seed=2, scale=1.0)
    np.testing.assert_array_equal(of.invariants(ones, Ws)[0], of.invariants(ident, Ws)[0])
    a = of.integrate(ident, Ws, (0.0, 3.0), rtol=1e-9, atol=1e-12)
    b = of.integrate(ones, Ws, (0.0, 3.0), rtol=1e-9, atol=1e-12)
    assert b.invariant_drift == pytest.approx(a.invariant_drift, rel=1e-6, abs=1e-15)
    assert 0.0 < b.invariant_drift < 1e-7
    # other data on one input are not the identity: no invariant
    for X in (2.0 * np.ones((1, 1)), np.ones((1, 3))):
        cost = of.costs.squared_loss(np.ones((2, X.shape[1])))
        net = of.Network(cost, depth=2, width=3, activation=name, inputs=X)
        with pytest.raises(ValueError, match="on data"):
            of.invariants(net, net.init())
    with pytest.raises(ValueError, match="on data"):
        biased = of.Network(cost, depth=2, width=3, activation=name, inputs=np.ones((1, 3)), bias=True)
        of.invariants(biased, biased.init())


def test_other_shapes_on_the_identity_input_have_none():
    deep = of.Network(of.costs.matrix_factorization(np.ones((2, 1))), depth=3, width=3, activation="isru")
    with pytest.raises(ValueError, match="one hidden layer on one input"):
        of.invariants(deep, deep.init())
    net = of.Network(of.costs.matrix_factorization(np.ones((2, 1))), depth=2, width=3, activation="gelu")
    with pytest.raises(ValueError, match="on the identity input with activation 'gelu'"):
        of.invariants(net, net.init())


def test_bad_weights():
    net, layers = problem("relu", 2, True)
    with pytest.raises(TypeError, match="needs the network's weights"):
        of.invariants(net)
    with pytest.raises(ValueError, match="must have 2 layers"):
        of.invariants(net, layers[:1])
    with pytest.raises(ValueError, match=r"Ws\[1\] \(layer 2\) must have shape \(2, 5\)"):
        of.invariants(net, [layers[0], layers[1][:, :-1]])
    with pytest.raises(ValueError, match=r"y must have shape \(..., state_size\)"):
        of.invariants(net, net.flatten(layers)[:-1])
    with pytest.raises(ValueError, match="a flat state"):
        of.invariants(net, np.zeros((2, 2, net.state_size)))
    with pytest.raises(TypeError, match="complex"):
        of.invariants(net, net.flatten(layers) + 0j)
    with pytest.raises(TypeError, match="Ws must be a list of layers"):
        of.invariants(net, "weights")


# --- conservation by the core's flow ------------------------------------------------------------------

#: The steps at which a run that starts sliding along a kink fails instead of grinding (issue 18, item 4).
MAX_STEPS = 20_000

FLOWS = NON_SLIDING_STUDENTS  # to t = 2 (tests/data_network_oracle.py)


def run(net, layers, t_end=2.0, rtol=1e-10, atol=1e-12):
    res = of.integrate(net, layers, (0.0, t_end), method="dop853", rtol=rtol, atol=atol, max_steps=MAX_STEPS)
    assert res.status == "t_end", res.message
    return res


def explicit_drift(res, bias):
    """``max |c(t) - c(0)|`` over the saved states, by explicit sums."""
    c0 = explicit_invariants([L[0] for L in res.weights], bias)
    return max(
        float(np.max(np.abs(c - d)))
        for t in range(len(res.t))
        for c, d in zip(explicit_invariants([L[t] for L in res.weights], bias), c0)
    )


@pytest.mark.parametrize("activation, depth, bias, width, seed", FLOWS)
def test_drift_is_at_the_tolerance_across_kinks(activation, depth, bias, width, seed):
    net, layers = problem(activation, depth, bias, width=width, seed=seed)
    res = run(net, layers)
    assert kinks_crossed(net, res.weights) > 0
    assert relative_move(layers, res.final_weights) > 0.1
    assert res.invariant_drift < 1e-8 * magnitude(layers)
    # the drift is that of the saved states (every step), computed independently
    assert res.invariant_drift == pytest.approx(explicit_drift(res, bias), rel=1e-6, abs=1e-15)
    assert res.invariant_drift > 0.0  # a number, not a NaN nor a skipped check


@pytest.mark.parametrize("bias", [False, True])
def test_linear_on_data_at_rounding(bias):
    # dop853 at rtol 1e-12: the per-neuron invariants (quadratic) stay within a few units of rounding of
    # their terms (gauss6 conserves them at any tolerance: tests/test_data_implicit.py)
    net, layers = problem(None, 3, bias, width=4)
    res = run(net, layers, t_end=5.0, rtol=1e-12, atol=1e-14)
    assert relative_move(layers, res.final_weights) > 0.1
    assert res.invariant_drift < 100 * np.finfo(float).eps * magnitude(layers)
    assert res.invariant_drift == pytest.approx(explicit_drift(res, bias), rel=1e-6, abs=1e-15)


@pytest.mark.parametrize("bias", [False, True])
def test_tanh_on_data_has_no_drift_report_and_does_drift(bias):
    """The check can fail: along the core's tanh flow the per-neuron differences move by O(1e-2), and the
    result reports no invariant (NaN) rather than a drift of quantities that are not conserved."""
    net, layers = problem("tanh", 3, bias, width=4)
    res = run(net, layers)
    assert np.isnan(res.invariant_drift)
    with pytest.raises(ValueError, match="does not conserve"):
        of.invariants(net, res.weights)
    c = of.neuron_invariants(res.weights, bias)
    assert np.max(np.abs(c - c[0])) > 1e-3 * magnitude(layers)


def test_relu_on_the_identity_input():
    # without data the relu network's flow conserves the same per-neuron invariants (X = I)
    net = of.Network(of.costs.matrix_factorization(np.diag([1.0, -0.5, 0.3])), depth=3, width=4, activation="relu")
    layers = net.init(seed=0, scale=1.0)  # seed 1 slides along a kink before t = 1
    res = run(net, layers, t_end=3.0)
    assert kinks_crossed(net, res.weights) > 0
    assert relative_move(layers, res.final_weights) > 0.1
    assert 0.0 < res.invariant_drift < 1e-8 * magnitude(layers)
    assert res.invariant_drift == pytest.approx(explicit_drift(res, False), rel=1e-6, abs=1e-15)


def test_monte_carlo_reports_the_same_invariants():
    # relu on the identity input: the per-neuron invariants, their sum as the "trace", drift at the tolerance
    # where the flow reached t_end (some draws slide along a kink and stop at max_steps)
    net = of.Network(of.costs.matrix_factorization(np.diag([1.0, -0.5, 0.3])), depth=3, width=4, activation="relu")
    sampler = of.samplers.gaussian(1.0)
    res = of.monte_carlo(
        net, 6, t_span=(0.0, 1.0), sampler=sampler, rtol=1e-10, atol=1e-12, max_steps=2000, progress=False
    )
    done = res.status == "t_end"
    assert np.sum(done) >= 2
    cs = of.invariants(net, sampler.states(net, 0, 0, 6))  # [(6, 4), (6, 4)]
    np.testing.assert_allclose(res.imbalance_trace, np.stack([c.sum(axis=1) for c in cs], axis=1), rtol=1e-13)
    assert np.all(np.isfinite(res.invariant_drift))
    assert np.all(res.invariant_drift[done] < 1e-8 * np.max([np.abs(c).max() for c in cs]))
    # sigmoid has none: NaN, as Result.invariant_drift, instead of an error
    net = of.Network(of.costs.matrix_factorization(np.diag([1.0, -0.5, 0.3])), depth=3, width=4, activation="sigmoid")
    res = of.monte_carlo(net, 2, t_span=(0.0, 1.0), progress=False)
    assert np.all(np.isnan(res.invariant_drift)) and np.all(np.isnan(res.imbalance_trace))
    assert np.isnan(of.integrate(net, net.init(), (0.0, 1.0)).invariant_drift)
