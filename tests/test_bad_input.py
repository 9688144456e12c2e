"""Bad input gets a clear exception naming the argument; nothing crashes the process."""

import numpy as np
import pytest

import overflow as of


@pytest.fixture(scope="module")
def net():
    return of.Network(of.costs.matrix_factorization(np.diag([2.0, 1.0])), depth=3, width=4)


@pytest.fixture(scope="module")
def Ws(net):
    return net.init(seed=0)


def test_wrong_number_of_layers(net, Ws):
    with pytest.raises(ValueError, match="3 layers"):
        of.integrate(net, Ws[:2], (0, 1))


def test_wrong_shape(net, Ws):
    bad = [Ws[0], np.zeros((4, 5)), Ws[2]]
    with pytest.raises(ValueError, match=r"Ws\[1\].*shape \(4, 4\)"):
        of.integrate(net, bad, (0, 1))


def test_flat_state_of_wrong_size(net):
    with pytest.raises(ValueError, match="flat state"):
        of.integrate(net, np.zeros(7), (0, 1))


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_weights(net, Ws, value):
    bad = [W.copy() for W in Ws]
    bad[2][0, 0] = value
    with pytest.raises(ValueError, match="NaN or infinite"):
        of.integrate(net, bad, (0, 1))


def test_integer_and_non_contiguous_arrays_are_converted(net, Ws):
    as_int = [np.ones(W.shape, dtype=np.int64) for W in Ws]
    non_contig = [np.asfortranarray(W) for W in Ws]
    strided = [np.repeat(W, 2, axis=1)[:, ::2] for W in Ws]
    ref = of.integrate(net, Ws, (0, 1), t_eval=[1.0])
    assert of.integrate(net, as_int, (0, 1)).status == "t_end"
    for variant in (non_contig, strided):
        res = of.integrate(net, variant, (0, 1), t_eval=[1.0])
        np.testing.assert_array_equal(res.final_weights[0], ref.final_weights[0])


def test_complex_weights_are_refused(net, Ws):
    with pytest.raises(TypeError, match=r"Ws\[1\] is complex"):
        of.integrate(net, [Ws[0], Ws[1] + 1j, Ws[2]], (0, 1))


def test_non_numeric_weights(net):
    with pytest.raises(TypeError, match=r"Ws\[0\]"):
        of.integrate(net, [np.array([["a"] * 2] * 4), np.zeros((4, 4)), np.zeros((2, 4))], (0, 1))


@pytest.mark.parametrize(
    "t_span,match",
    [
        ((1, 1), "t0 < t1"),
        ((2, 1), "t0 < t1"),
        ((0,), "pair"),
        ((0, np.nan), "finite"),
        ((0, np.inf), "stops the run"),
        (None, "pair"),
    ],
)
def test_bad_t_span(net, Ws, t_span, match):
    with pytest.raises(ValueError, match=match):
        of.integrate(net, Ws, t_span)


@pytest.mark.parametrize(
    "name,value",
    [
        ("rtol", 0.0),
        ("rtol", -1e-6),
        ("atol", 0.0),
        ("atol", -1.0),
        ("rtol", np.nan),
        ("gtol", -1.0),
        ("first_step", 0.0),
        ("max_step", 0.0),
        ("max_norm", -1.0),
    ],
)
def test_bad_tolerances(net, Ws, name, value):
    with pytest.raises(ValueError, match=name):
        of.integrate(net, Ws, (0, 1), **{name: value})


def test_bad_max_steps(net, Ws):
    with pytest.raises(ValueError, match="max_steps"):
        of.integrate(net, Ws, (0, 1), max_steps=0)


def test_unknown_method(net, Ws):
    with pytest.raises(ValueError, match=r"unknown method 'rk4'.*dopri5"):
        of.integrate(net, Ws, (0, 1), method="rk4")


@pytest.mark.parametrize(
    "t_eval,match",
    [
        ([0.5, 2.0], "inside t_span"),
        ([-1.0, 0.5], "inside t_span"),
        ([0.5, 0.2], "increasing"),
        ([0.5, 0.5], "increasing"),
        ([], "empty"),
        ([0.1, np.nan], "NaN"),
    ],
)
def test_bad_t_eval(net, Ws, t_eval, match):
    with pytest.raises(ValueError, match=match):
        of.integrate(net, Ws, (0, 1), t_eval=t_eval)


def test_bad_network_arguments():
    f = of.costs.matrix_factorization(np.eye(2))
    with pytest.raises(ValueError, match="depth"):
        of.Network(f, depth=0, width=3)
    with pytest.raises(ValueError, match="width"):
        of.Network(f, depth=2, width=0)
    with pytest.raises(ValueError, match=r"widths\[1\]"):
        of.Network(f, depth=3, widths=[2, -1])
    with pytest.raises(ValueError, match="depth - 1"):
        of.Network(f, depth=3, widths=[2])
    with pytest.raises(ValueError, match="width"):
        of.Network(f, depth=3)
    with pytest.raises(TypeError, match="depth"):
        of.Network(f, depth=2.5, width=3)
    with pytest.raises(TypeError, match="cost"):
        of.Network(lambda P: 0.0, depth=2, width=3)
    with pytest.raises(ValueError, match="kind"):
        of.Network(f, depth=2, width=3).init(kind="xavier")


def test_cost_not_finite_at_initial_point():
    f = of.costs.scalar(lambda z: np.log(z - 10.0), lambda z: 1.0 / (z - 10.0))
    net = of.Network(f, depth=2, width=2)
    with pytest.raises(ValueError, match="not finite at the initial point"):
        of.integrate(net, net.init(seed=0), (0, 1))


def test_user_kernel_with_wrong_signature():
    with pytest.raises(TypeError, match=r"fn\(P, grad\)"):

        @of.cost(shape=(2, 2))
        def three_args(P, grad, extra):
            return 0.0


def test_net_must_be_a_network(Ws):
    with pytest.raises(TypeError, match="net"):
        of.integrate("net", Ws, (0, 1))


# -- issue 15: every case it lists is a TypeError/ValueError naming the argument ---------------------


@pytest.mark.parametrize("name", ["max_steps", "threads"])
@pytest.mark.parametrize("value", [2**31, 2**63, 2**64])
def test_integers_beyond_the_core_types(net, Ws, name, value):
    if name == "max_steps" and value == 2**31:
        pytest.skip("max_steps is an int64_t: 2**31 is valid")
    with pytest.raises(ValueError, match=rf"{name} must be <= \d+, got {value}"):
        of.integrate(net, Ws, (0, 1), **{name: value})


def test_t_eval_of_strings(net, Ws):
    with pytest.raises(TypeError, match="t_eval must be a 1-D array of real times"):
        of.integrate(net, Ws, (0, 1), t_eval=["a"])


def test_complex_t_eval_is_refused(net, Ws):
    with pytest.raises(TypeError, match=r"t_eval.*complex"):
        of.integrate(net, Ws, (0, 1), t_eval=np.array([0.5 + 0j]))


def test_invariants_of_one_layer(Ws):
    with pytest.raises(TypeError, match="Ws must be a list of layers"):
        of.invariants(Ws[0])
    with pytest.raises(TypeError, match="Ws must be a list of layers"):
        of.imbalance(Ws[0])


def test_critical_point_with_swapped_arguments(net, Ws):
    with pytest.raises(TypeError, match=r"net must be an overflow.Network, got list.*swapped"):
        of.critical_point(Ws, net)
    with pytest.raises(TypeError, match=r"net must be an overflow.Network"):
        of.linearization(Ws, net)


def test_lqr_without_sigma0():
    A, B = np.array([[0.0, 1.0], [-1.0, -0.5]]), np.array([[0.0], [1.0]])
    for ctor in (of.costs.lqr, of.costs.dlqr):
        with pytest.raises(TypeError, match=r"Sigma0 must be .* got None"):
            ctor(0.5 * A, B, np.eye(2), np.eye(1), None)


def _needs_more_than_memory(nbytes):
    from overflow._validate import physical_memory

    if nbytes <= physical_memory():
        pytest.skip("this machine has the memory for it")


def test_depth_beyond_memory_is_refused_before_allocating():
    f = of.costs.matrix_factorization(np.eye(2))
    _needs_more_than_memory(8 * 16 * 16 * 10**9)
    with pytest.raises(ValueError, match=r"depth and width must fit in memory.*\(1000000000, 16\)"):
        of.Network(f, depth=10**9, width=16)
    with pytest.raises(ValueError, match="widths must fit in memory"):
        of.Network(f, depth=2, widths=[10**13])


def test_sizes_beyond_memory_are_refused_before_allocating():
    X = np.array([[1.0, 0.5, -0.3]])
    _needs_more_than_memory(8 * 10**12)
    with pytest.raises(ValueError, match=r"classes must fit in memory.*P of shape \(1000000000000, 1\).*classes = 10"):
        of.costs.softmax_cross_entropy(X, [0, 1, 0], classes=10**12)
    with pytest.raises(ValueError, match=r"Y must fit in memory"):
        of.costs.softmax_cross_entropy(X, [0, 10**12, 0])
    with pytest.raises(ValueError, match=r"shape must fit in memory.*\(1000000, 1000000\)"):
        of.cost(shape=(10**6, 10**6))
    with pytest.raises(ValueError, match="width must fit in memory"):
        of.vector.init_with(0.3, 0.5, 10**13)
    with pytest.raises(ValueError, match="A must fit in memory"):
        of.costs.lqr(np.zeros((1000, 1000)), np.ones((1000, 1)), np.eye(1000), np.eye(1), np.eye(1000))


def test_init_scale_as_a_string(net):
    with pytest.raises(TypeError, match="scale must be a real number, got '1e-6'"):
        net.init(scale="1e-6")
    with pytest.raises(TypeError, match="seed must be"):
        net.init(seed=1.5)
    with pytest.raises(ValueError, match="seed must be"):
        net.init(seed=-1)


def test_widths_as_an_integer():
    f = of.costs.matrix_factorization(np.eye(2))
    with pytest.raises(TypeError, match=r"widths must be a sequence of depth - 1 = 2 integers, got 5"):
        of.Network(f, depth=3, widths=5)
    with pytest.raises(TypeError, match="widths must be a sequence"):
        of.Network(f, depth=3, widths="55")


@pytest.mark.parametrize("call", ["from_array", "from_array layers", "invariants", "imbalance", "unflatten"])
def test_complex_input_is_refused(net, Ws, call):
    complex_layers = [W + 1j for W in Ws]
    states = np.stack([net.flatten(Ws)] * 2) + 1j
    calls = {
        "from_array": lambda: of.samplers.from_array(states),
        "from_array layers": lambda: of.samplers.from_array([np.stack([W] * 2) for W in complex_layers]),
        "invariants": lambda: of.invariants(complex_layers),
        "imbalance": lambda: of.imbalance(complex_layers),
        "unflatten": lambda: net.unflatten(states[0]),
    }
    with pytest.raises(TypeError, match="complex"):
        calls[call]()


def test_t_span_whose_length_overflows(net, Ws):
    with pytest.raises(ValueError, match=r"t_span must have a length t1 - t0 within the float64 range"):
        of.integrate(net, Ws, (-1e308, 1e308))


def test_real_argument_beyond_the_float_range(net, Ws):
    with pytest.raises(ValueError, match="rtol must be a real number within the float64 range"):
        of.integrate(net, Ws, (0, 1), rtol=10**400)


def test_hand_built_event_is_checked(net, Ws):
    with pytest.raises(ValueError, match=r"events\[0\] must be one of overflow.events' built-ins"):
        of.integrate(net, Ws, (0, 1), events=of.events.Event("bogus", 1.0))
    with pytest.raises(ValueError, match=r"events\[0\].*finite"):
        of.integrate(net, Ws, (0, 1), events=of.events.Event("loss_below", float("nan")))


def test_numpy_leniency_is_kept(net, Ws):
    """ints where floats are expected, numpy scalars and 0-d arrays for numbers, lists for arrays."""
    ref = of.integrate(net, Ws, (0, 1), t_eval=[0.5, 1.0])
    res = of.integrate(
        net,
        [W.tolist() for W in Ws],
        [0, np.float32(1)],
        rtol=np.array(1e-6),
        atol=np.float64(1e-9),
        t_eval=np.array([0.5, 1.0], dtype=np.float32),
        max_steps=np.int64(100_000),
        threads=np.int32(1),
    )
    np.testing.assert_array_equal(res.final_state, ref.final_state)
    assert len(net.init(seed=np.int64(0), scale=np.array(0.3))) == net.depth
