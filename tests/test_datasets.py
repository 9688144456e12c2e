"""The teacher-student generator and the numpy forward pass (overflow/datasets.py): shapes, the seed's
streams, the forward pass against hand-written formulas, the documented scales, noise statistics, errors."""

import dataclasses
import itertools
import math

import numpy as np
import pytest
from scipy.integrate import quad

from overflow.activations import ACTIVATIONS, Activation, leaky_relu
from overflow.datasets import TeacherStudent, forward, layer_gain, teacher_student


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("depth", [1, 2, 4])
def test_shapes(depth, bias):
    data = teacher_student(5, m=3, width=7, samples=11, depth=depth, bias=bias, seed=0)
    assert isinstance(data, TeacherStudent)
    assert data.X.shape == (5, 11) and data.Y.shape == (3, 11) and data.samples == 11
    dims = (5,) + (7,) * (depth - 1) + (3,)
    assert data.dims == dims
    assert [L.shape for L in data.layers] == [(k, k_prev + bias) for k_prev, k in itertools.pairwise(dims)]
    assert all(a.dtype == np.float64 and a.flags.c_contiguous for a in (data.X, data.Y, *data.layers))
    assert isinstance(data.activation, Activation) and data.activation.name == "relu"
    assert data.bias is bias and data.noise == 0.0 and data.seed == 0


def test_result_is_frozen_and_read_only():
    data = teacher_student(2, samples=4, seed=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.Y = np.zeros((1, 4))
    for a in (data.X, data.Y, *data.layers):
        with pytest.raises(ValueError, match="read-only"):
            a[0, 0] = 1.0
    assert data == data and data != teacher_student(2, samples=4, seed=1)  # identity, not array truth values
    assert len({data, data}) == 1


def test_activation_object_and_none():
    data = teacher_student(2, samples=4, activation=leaky_relu(0.3), seed=1)
    assert data.activation == Activation("leaky_relu", 0.3)
    assert teacher_student(2, samples=4, activation=None, seed=1).activation.name == "linear"


def test_reproducible_by_seed():
    kw = dict(n_in=4, m=2, width=6, samples=9, depth=3, activation="tanh", bias=True, noise=0.1)
    a, b = teacher_student(**kw, seed=42), teacher_student(**kw, seed=42)
    for x, y in zip((a.X, a.Y, *a.layers), (b.X, b.Y, *b.layers)):
        np.testing.assert_array_equal(x, y)
    c = teacher_student(**kw, seed=43)
    assert not np.array_equal(a.X, c.X) and not np.array_equal(a.layers[0], c.layers[0])


def test_seed_none_is_recorded():
    a = teacher_student(3, width=4, samples=5, noise=0.5)
    b = teacher_student(3, width=4, samples=5, noise=0.5, seed=a.seed)
    np.testing.assert_array_equal(a.Y, b.Y)
    assert teacher_student(3, width=4, samples=5).seed != a.seed  # fresh entropy each time


def test_streams_are_independent():
    """More samples extend X and Y by columns; the noise level rescales the same noise; the teacher
    depends on its sizes only."""
    small = teacher_student(3, m=2, width=4, samples=6, noise=0.1, seed=7)
    big = teacher_student(3, m=2, width=4, samples=15, noise=0.1, seed=7)
    np.testing.assert_array_equal(big.X[:, :6], small.X)
    np.testing.assert_array_equal(big.Y[:, :6], small.Y)
    for L, M in zip(small.layers, big.layers):
        np.testing.assert_array_equal(L, M)
    clean = teacher_student(3, m=2, width=4, samples=6, noise=0.0, seed=7)
    loud = teacher_student(3, m=2, width=4, samples=6, noise=0.3, seed=7)
    np.testing.assert_array_equal(clean.X, small.X)
    np.testing.assert_allclose(loud.Y - clean.Y, 3.0 * (small.Y - clean.Y), rtol=1e-12, atol=1e-15)


def hand_two_layer(W1, b1, W2, b2, X, sigma):
    """Y[r, a] = sum_j W2[r, j] sigma(sum_k W1[j, k] X[k, a] + b1[j]) + b2[r], one scalar at a time."""
    m, k = W2.shape
    Y = np.zeros((m, X.shape[1]))
    for a in range(X.shape[1]):
        hidden = [sigma(sum(W1[j, i] * X[i, a] for i in range(X.shape[0])) + b1[j]) for j in range(k)]
        for r in range(m):
            Y[r, a] = sum(W2[r, j] * hidden[j] for j in range(k)) + b2[r]
    return Y


SCALAR = {
    "relu": lambda x: max(x, 0.0),
    "tanh": math.tanh,
    "sigmoid": lambda x: 1.0 / (1.0 + math.exp(-x)),
    "softplus": lambda x: math.log1p(math.exp(x)),
}


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("name", list(SCALAR) + ["leaky_relu"])
def test_forward_matches_hand_formula(name, bias):
    data = teacher_student(3, m=2, width=5, samples=8, activation=name, bias=bias, seed=3)
    L1, L2 = data.layers
    sigma = SCALAR.get(name, lambda x: x if x > 0 else 0.01 * x)
    if bias:
        want = hand_two_layer(L1[:, :-1], L1[:, -1], L2[:, :-1], L2[:, -1], data.X, sigma)
    else:
        want = hand_two_layer(L1, np.zeros(5), L2, np.zeros(2), data.X, sigma)
    np.testing.assert_allclose(data.Y, want, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(forward(list(data.layers), data.X, name, bias), want, rtol=1e-13, atol=1e-15)


def test_forward_leaky_slope_is_used():
    data = teacher_student(2, m=1, width=6, samples=10, activation=leaky_relu(0.25), seed=4)
    L1, L2 = data.layers
    want = hand_two_layer(L1, np.zeros(6), L2, np.zeros(1), data.X, lambda x: x if x > 0 else 0.25 * x)
    np.testing.assert_allclose(data.Y, want, rtol=1e-13, atol=1e-15)


def test_forward_linear_is_the_product():
    data = teacher_student(4, m=3, width=5, samples=7, depth=4, activation="linear", seed=5)
    W1, W2, W3, W4 = data.layers
    np.testing.assert_allclose(data.Y, W4 @ W3 @ W2 @ W1 @ data.X, rtol=1e-12, atol=1e-14)


def test_forward_complex_step():
    """Complex layers are carried through: Im forward(L + ih E) / h is the derivative along E."""
    data = teacher_student(3, m=2, width=4, samples=5, depth=3, activation="tanh", bias=True, seed=6)
    layers = [np.array(L) for L in data.layers]
    h, eps = 1e-30, 1e-6
    E = np.zeros_like(layers[1])
    E[2, 4] = 1.0  # a bias of the second layer
    stepped = [layers[0], layers[1] + 1j * h * E, layers[2]]
    got = forward(stepped, data.X, "tanh", True).imag / h
    plus = forward([layers[0], layers[1] + eps * E, layers[2]], data.X, "tanh", True)
    minus = forward([layers[0], layers[1] - eps * E, layers[2]], data.X, "tanh", True)
    np.testing.assert_allclose(got, (plus - minus) / (2 * eps), rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(forward(stepped, data.X, "tanh", True).real, data.Y, rtol=1e-14, atol=1e-15)


def test_inputs_are_standard_normal():
    X = teacher_student(4, samples=20000, seed=8).X
    assert np.all(np.abs(X.mean(axis=1)) < 4.0 / math.sqrt(20000))
    np.testing.assert_allclose(X.var(axis=1), 1.0, atol=0.05)
    np.testing.assert_allclose(np.corrcoef(X), np.eye(4), atol=0.05)


@pytest.mark.parametrize("m", [1, 3])
def test_noise_statistics(m):
    s, noise = 20000, 0.3
    data = teacher_student(4, m=m, width=6, samples=s, noise=noise, bias=True, seed=9)
    eps = data.Y - forward(list(data.layers), data.X, data.activation, True)
    assert np.all(np.abs(eps.mean(axis=1)) < 4.0 * noise / math.sqrt(s))
    np.testing.assert_allclose(eps.std(axis=1), noise, rtol=0.03)
    # independent of the inputs
    assert np.all(np.abs(eps @ data.X.T / s) < 4.0 * noise / math.sqrt(s))


@pytest.mark.parametrize("name", ["linear", "relu", "leaky_relu", "tanh", "gelu"])
@pytest.mark.parametrize("bias", [False, True])
def test_outputs_have_unit_second_moment(name, bias):
    """The documented scale: averaged over teachers, E[Y^2] = 1 (a gain of 1 instead of He's 2 for relu
    would give 1/4 at depth 3)."""
    means = [
        np.mean(teacher_student(10, m=4, width=64, samples=200, depth=3, activation=name, bias=bias, seed=s).Y ** 2)
        for s in range(60)
    ]
    assert abs(np.mean(means) - 1.0) < 0.15


def test_layer_gain():
    assert layer_gain(None) == 1.0 and layer_gain("relu") == 2.0
    assert layer_gain(leaky_relu(0.5)) == 2.0 / 1.25
    assert layer_gain("leaky_relu") == 2.0 / (1.0 + 0.01**2)
    for name in ("tanh", "sigmoid", "isru", "softplus", "gelu"):
        act = ACTIVATIONS[name]

        def integrand(z):
            return float(act.sigma(np.array([z]))[0]) ** 2 * math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)

        second_moment = quad(integrand, -40, 40, points=[0.0], limit=200, epsabs=0, epsrel=1e-13)[0]
        assert layer_gain(name) == pytest.approx(1.0 / second_moment, rel=1e-9)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(n_in=0), ValueError, "n_in must be >= 1"),
        (dict(n_in=2.5), TypeError, "n_in must be an integer"),
        (dict(m=0), ValueError, "m must be >= 1"),
        (dict(width=0), ValueError, "width must be >= 1"),
        (dict(width="8"), TypeError, "width must be an integer"),
        (dict(samples=0), ValueError, "samples must be >= 1"),
        (dict(samples=2**60), ValueError, "samples must fit in memory"),
        (dict(width=2**40), ValueError, "width must fit in memory"),
        (dict(n_in=2**40, m=3, depth=1), ValueError, "n_in must fit in memory"),
        (dict(m=2**40, width=3), ValueError, "m must fit in memory"),
        (dict(depth=0), ValueError, "depth must be >= 1"),
        (dict(activation="swish"), ValueError, "activation must be"),
        (dict(activation=3), TypeError, "activation must be"),
        (dict(bias=1), TypeError, "bias must be a bool"),
        (dict(noise=-0.1), ValueError, "noise must be >= 0"),
        (dict(noise=math.inf), ValueError, "noise must be >= 0 and finite"),
        (dict(noise=1j), TypeError, "noise must be a real number"),
        (dict(seed=-1), ValueError, "seed must be >= 0"),
        (dict(seed=1.0), TypeError, "seed must be an integer"),
    ],
)
def test_teacher_student_errors(kwargs, error, match):
    args = dict(n_in=2, samples=4, seed=0) | kwargs
    with pytest.raises(error, match=match):
        teacher_student(**args)


def test_forward_errors():
    X = np.ones((3, 4))
    W1, W2 = np.ones((5, 3)), np.ones((2, 5))
    with pytest.raises(TypeError, match="layers must be a list"):
        forward(W1, X)
    with pytest.raises(ValueError, match="layers must hold at least one layer"):
        forward([], X)
    with pytest.raises(ValueError, match=r"layers\[1\] must have 6 columns \(5 rows of layers\[0\] \+ 1 for the bias"):
        forward([np.ones((5, 4)), W2], X, bias=True)
    with pytest.raises(ValueError, match=r"layers\[0\] must have 3 columns \(3 rows of X\)"):
        forward([np.ones((5, 4)), W2], X)
    with pytest.raises(ValueError, match=r"layers\[1\] must be a 2-D array"):
        forward([W1, np.ones(5)], X)
    with pytest.raises(ValueError, match="X must be a 2-D array"):
        forward([W1, W2], np.ones(3))
    with pytest.raises(TypeError, match="X must be a real or complex 2-D array"):
        forward([W1, W2], "X")
    with pytest.raises(ValueError, match=r"layers\[0\] must be a real or complex 2-D array, got a ragged"):
        forward([[[1.0, 2.0, 3.0], [1.0]], W2], X)
    with pytest.raises(TypeError, match="bias must be a bool"):
        forward([W1, W2], X, bias=None)
    with pytest.raises(ValueError, match="activation must be"):
        forward([W1, W2], X, "swish")
