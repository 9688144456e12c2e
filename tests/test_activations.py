"""The activation registry (overflow/activations.py): sigma and sigma' against independent formulas,
differences and the complex step; the conventions at the kinks; homogeneity; the lookup's errors."""

import dataclasses
import math
import pickle

import numpy as np
import pytest

import overflow.activations as acts
from overflow.activations import ACTIVATIONS, Activation, as_activation, is_homogeneous, is_smooth, leaky_relu

NAMES = ("linear", "relu", "leaky_relu", "tanh", "sigmoid", "isru", "softplus", "gelu")
ANALYTIC = ("linear", "tanh", "sigmoid", "isru", "softplus", "gelu")
# away from the kink at 0, over the range where the functions bend
POINTS = np.array([-7.5, -3.2, -1.1, -0.4, -0.013, 0.021, 0.37, 0.9, 1.7, 4.1, 8.3])


def scalar_reference(name, x, alpha=0.01):
    """sigma(x) from the math module, one float at a time (an implementation independent of numpy's)."""
    return {
        "linear": x,
        "relu": x if x > 0 else 0.0,
        "leaky_relu": x if x > 0 else alpha * x,
        "tanh": math.tanh(x),
        "sigmoid": 1.0 / (1.0 + math.exp(-x)),
        "isru": x / math.sqrt(1.0 + x * x),
        "softplus": math.log1p(math.exp(x)),
        "gelu": x * 0.5 * math.erfc(-x * math.sqrt(0.5)),
    }[name]


def test_registry_names_and_flags():
    assert tuple(ACTIVATIONS) == NAMES
    assert {n for n in NAMES if ACTIVATIONS[n].homogeneous} == {"linear", "relu", "leaky_relu"}
    assert {n for n in NAMES if ACTIVATIONS[n].smooth} == set(ANALYTIC)
    assert ACTIVATIONS["leaky_relu"].slope == 0.01
    assert all(ACTIVATIONS[n].slope is None for n in NAMES if n != "leaky_relu")
    with pytest.raises(TypeError):
        ACTIVATIONS["relu"] = ACTIVATIONS["tanh"]  # the registry is read-only


@pytest.mark.parametrize("name", NAMES)
def test_values_match_math_module(name):
    got = ACTIVATIONS[name].sigma(POINTS)
    want = np.array([scalar_reference(name, float(x)) for x in POINTS])
    np.testing.assert_allclose(got, want, rtol=2e-15, atol=0)


def test_values_at_known_points():
    assert ACTIVATIONS["sigmoid"].sigma(0.0) == 0.5
    assert ACTIVATIONS["softplus"].sigma(0.0) == pytest.approx(math.log(2.0), rel=1e-16)
    assert ACTIVATIONS["isru"].sigma(1.0) == pytest.approx(math.sqrt(0.5), rel=1e-16)
    assert ACTIVATIONS["gelu"].sigma(0.0) == 0.0
    assert ACTIVATIONS["gelu"].derivative(0.0) == 0.5
    assert ACTIVATIONS["sigmoid"].derivative(0.0) == 0.25
    assert ACTIVATIONS["isru"].derivative(0.0) == 1.0
    assert ACTIVATIONS["tanh"].derivative(0.0) == 1.0
    np.testing.assert_array_equal(leaky_relu(0.2).sigma([-2.0, 0.0, 3.0]), [-0.4, 0.0, 3.0])
    np.testing.assert_array_equal(ACTIVATIONS["relu"].sigma([-2.0, 0.0, 3.0]), [0.0, 0.0, 3.0])


def test_derivative_conventions_at_the_kink():
    assert ACTIVATIONS["relu"].derivative(0.0) == 0.0
    assert ACTIVATIONS["leaky_relu"].derivative(0.0) == 0.01
    assert leaky_relu(0.3).derivative(0.0) == 0.3
    assert leaky_relu(0.3).derivative(1e-300) == 1.0
    assert ACTIVATIONS["relu"].derivative(5e-324) == 1.0
    assert ACTIVATIONS["linear"].derivative(0.0) == 1.0


@pytest.mark.parametrize("activation", [*NAMES, leaky_relu(0.25)])
def test_derivative_matches_central_differences(activation):
    act = as_activation(activation)
    h = 1e-5
    fd = (act.sigma(POINTS + h) - act.sigma(POINTS - h)) / (2 * h)
    np.testing.assert_allclose(act.derivative(POINTS), fd, rtol=1e-7, atol=1e-10)  # atol: eps / h


@pytest.mark.parametrize("activation", [*NAMES, leaky_relu(0.25)])
def test_derivative_matches_complex_step(activation):
    # sigma is analytic (or piecewise analytic on the branch of Re x) at the points: exact to rounding
    act = as_activation(activation)
    h = 1e-30
    step = act.sigma(POINTS + 1j * h)
    assert step.dtype == np.complex128
    np.testing.assert_allclose(step.real, act.sigma(POINTS), rtol=1e-15, atol=0)
    np.testing.assert_allclose(step.imag / h, act.derivative(POINTS), rtol=1e-14, atol=1e-300)


def test_stable_far_from_zero():
    big = np.array([-1e300, -800.0, -40.0, 40.0, 800.0, 1e300])
    with np.errstate(all="raise"):  # no overflow, no 0 * inf on the way
        values = {n: ACTIVATIONS[n].sigma(big) for n in NAMES}
        slopes = {n: ACTIVATIONS[n].derivative(big) for n in NAMES}
    np.testing.assert_array_equal(values["sigmoid"], [0.0, 0.0, math.exp(-40) / (1 + math.exp(-40)), 1, 1, 1])
    np.testing.assert_array_equal(values["softplus"][3:], big[3:])
    assert values["softplus"][2] == pytest.approx(math.exp(-40.0), rel=1e-15)
    isru = [-1, -800 / math.sqrt(640001), -40 / math.sqrt(1601), 40 / math.sqrt(1601), 800 / math.sqrt(640001), 1]
    np.testing.assert_allclose(values["isru"], isru, rtol=5e-16, atol=0)
    np.testing.assert_array_equal(values["gelu"][3:], big[3:])
    assert values["gelu"][2] == pytest.approx(-40.0 * 0.5 * math.erfc(40.0 / math.sqrt(2.0)), rel=1e-14)
    # sech^2 40 = 4 e^-80 / (1 + e^-80)^2, where 1 - tanh^2 would round to 0
    assert slopes["tanh"][2] == pytest.approx(1.0 / math.cosh(40.0) ** 2, rel=1e-14)
    assert slopes["sigmoid"][3] == pytest.approx(math.exp(-40.0), rel=1e-14)
    assert slopes["isru"][3] == pytest.approx(1601.0**-1.5, rel=1e-14)
    assert ACTIVATIONS["isru"].derivative(1e100) == pytest.approx(1e-300, rel=1e-14)
    for n in NAMES:
        assert np.all(np.isfinite(values[n])) and np.all(np.isfinite(slopes[n])), n


@pytest.mark.parametrize("name", NAMES)
def test_homogeneity_flag_is_what_sigma_does(name):
    act = ACTIVATIONS[name]
    homogeneous = all(np.allclose(act.sigma(c * POINTS), c * act.sigma(POINTS), rtol=1e-14) for c in (0.5, 3.0))
    assert homogeneous == act.homogeneous == is_homogeneous(name)


@pytest.mark.parametrize("name", NAMES)
def test_smooth_flag_is_whether_sigma_prime_is_continuous_at_zero(name):
    act = ACTIVATIONS[name]
    jump = abs(act.derivative(1e-12) - act.derivative(-1e-12))
    assert (jump < 1e-9) == act.smooth == is_smooth(name)


def test_lookup_accepts_none_names_and_objects():
    assert as_activation(None) is ACTIVATIONS["linear"]
    assert as_activation("tanh") is ACTIVATIONS["tanh"]
    spec = leaky_relu(0.2)
    assert as_activation(spec) is spec
    assert is_homogeneous(None) and is_homogeneous(spec) and not is_homogeneous("gelu")
    assert is_smooth(None) and not is_smooth(spec)


def test_activation_objects_are_values():
    assert leaky_relu() == ACTIVATIONS["leaky_relu"] == Activation("leaky_relu", 0.01)
    assert leaky_relu(0.2) != leaky_relu(0.3)
    assert hash(leaky_relu(0.2)) == hash(Activation("leaky_relu", slope=0.2))
    assert repr(leaky_relu(0.2)) == "Activation('leaky_relu', slope=0.2)"
    assert repr(ACTIVATIONS["gelu"]) == "Activation('gelu')"
    assert eval(repr(leaky_relu(0.2)), {"Activation": Activation}) == leaky_relu(0.2)
    assert pickle.loads(pickle.dumps(leaky_relu(0.2))) == leaky_relu(0.2)
    assert isinstance(leaky_relu(1).slope, float)
    with pytest.raises(dataclasses.FrozenInstanceError):
        leaky_relu(0.2).slope = 0.5
    assert leaky_relu(0.0).sigma(-np.inf) == 0.0


@pytest.mark.parametrize("bad", [5, 1.5, b"relu", ["relu"], np.tanh])
def test_lookup_refuses_other_types(bad):
    with pytest.raises(TypeError, match=r"activation must be None, an overflow.activations.Activation or one of"):
        as_activation(bad)


@pytest.mark.parametrize("bad", ["ReLU", "swish", "none", ""])
def test_lookup_refuses_unknown_names(bad):
    with pytest.raises(ValueError, match=r"activation must be .*'linear', 'relu', 'leaky_relu', 'tanh'.*got"):
        as_activation(bad)


@pytest.mark.parametrize(
    ("alpha", "error"),
    [(-0.1, ValueError), (math.nan, ValueError), (math.inf, ValueError), ("0.1", TypeError), (1j, TypeError)],
)
def test_leaky_relu_refuses_bad_slopes(alpha, error):
    with pytest.raises(error, match="alpha must be"):
        leaky_relu(alpha)


def test_constructor_checks_name_and_slope():
    with pytest.raises(ValueError, match="name must be one of"):
        Activation("swish")
    with pytest.raises(TypeError, match="name must be one of"):
        Activation(3)
    with pytest.raises(ValueError, match="slope is only for 'leaky_relu'"):
        Activation("relu", slope=0.1)
    with pytest.raises(ValueError, match="slope must be"):
        Activation("leaky_relu", slope=-1.0)


def test_module_exports():
    for name in acts.__all__:
        assert hasattr(acts, name)
