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


@pytest.mark.parametrize("t_span,match", [((1, 1), "t0 < t1"), ((2, 1), "t0 < t1"), ((0,), "pair"),
                                          ((0, np.nan), "finite"), ((0, np.inf), "stops the run"), (None, "pair")])
def test_bad_t_span(net, Ws, t_span, match):
    with pytest.raises(ValueError, match=match):
        of.integrate(net, Ws, t_span)


@pytest.mark.parametrize("name,value", [("rtol", 0.0), ("rtol", -1e-6), ("atol", 0.0), ("atol", -1.0),
                                        ("rtol", np.nan), ("gtol", -1.0), ("first_step", 0.0),
                                        ("max_step", 0.0), ("max_norm", -1.0)])
def test_bad_tolerances(net, Ws, name, value):
    with pytest.raises(ValueError, match=name):
        of.integrate(net, Ws, (0, 1), **{name: value})


def test_bad_max_steps(net, Ws):
    with pytest.raises(ValueError, match="max_steps"):
        of.integrate(net, Ws, (0, 1), max_steps=0)


def test_unknown_method(net, Ws):
    with pytest.raises(ValueError, match=r"unknown method 'rk4'.*dopri5"):
        of.integrate(net, Ws, (0, 1), method="rk4")


@pytest.mark.parametrize("t_eval,match", [([0.5, 2.0], "inside t_span"), ([-1.0, 0.5], "inside t_span"),
                                          ([0.5, 0.2], "increasing"), ([0.5, 0.5], "increasing"),
                                          ([], "empty"), ([0.1, np.nan], "NaN")])
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
