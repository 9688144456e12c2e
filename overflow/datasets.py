r"""Problems on data for networks ``W_N sigma(... sigma(W_1 X))``: the teacher-student generator.

A teacher network with random weights labels standard normal inputs; a student network (the one the
flow trains, ``Network(squared_loss(Y), ..., inputs=X)``) learns to reproduce it. `forward` is the
numpy forward pass of a network in the layout of issue 18 (layer ``i`` stored as the
``k_i x (k_{i-1} + 1)`` matrix ``[W_i | b_i]`` with biases, ``W_i`` alone without), written
independently of the core so that tests and benches can use it as the oracle of a network's outputs.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from . import _validate as _v
from .activations import Activation, as_activation

__all__ = ["TeacherStudent", "teacher_student", "forward", "layer_gain"]

# Streams of the generator keyed by (seed, stream), as overflow/montecarlo/samplers.py keys its draws:
# the inputs, the teacher and the noise are independent of each other's sizes and of `noise`.
_X_STREAM, _TEACHER_STREAM, _NOISE_STREAM = 0, 1, 2


@dataclass(frozen=True, eq=False)  # eq=False: arrays have no truth value; compare the fields themselves
class TeacherStudent:
    """A teacher-student problem: inputs ``X``, the teacher that labels them and its targets ``Y``.

    Made by `teacher_student`; the arrays are read-only.

    Attributes
    ----------
    X : ndarray, shape (n_in, s)
        Inputs, one sample per column, entries standard normal.
    Y : ndarray, shape (m, s)
        Targets: ``forward(layers, X, activation, bias)`` plus Gaussian noise of standard deviation
        ``noise``.
    layers : tuple of ndarray
        The teacher's layers ``[W_i | b_i]`` (``bias=True``) or ``W_i``, each of shape
        ``(k_i, k_{i-1} + bias)``.
    activation : Activation
        The teacher's ``sigma`` (`overflow.activations.Activation`).
    bias : bool
        Whether the layers carry biases (their last column).
    noise : float
        The standard deviation of the noise added to the teacher's outputs.
    seed : int
        The seed of the draws: ``teacher_student(..., seed=seed)`` with the same sizes reproduces
        the problem (the fresh entropy drawn when the call gave ``seed=None``).
    """

    X: np.ndarray
    Y: np.ndarray
    layers: tuple[np.ndarray, ...]
    activation: Activation
    bias: bool
    noise: float
    seed: int

    @property
    def dims(self) -> tuple[int, ...]:
        """``(n_in, k_1, ..., k_{N-1}, m)``: the teacher's widths from input to output."""
        return (self.X.shape[0],) + tuple(L.shape[0] for L in self.layers)

    @property
    def samples(self) -> int:
        """``s``, the number of samples (columns of ``X`` and ``Y``)."""
        return self.X.shape[1]


def layer_gain(activation: object) -> float:
    r"""The variance gain ``g = 1 / E[sigma(z)^2]``, ``z ~ N(0, 1)``, of layers fed by ``sigma``.

    Weights of variance ``g / fan_in`` after a layer of ``sigma`` keep the pre-activations' second
    moment at 1 from layer to layer (for wide layers): He's rule ``g = 2`` for the ReLU,
    ``g = 2 / (1 + alpha^2)`` for the leaky ReLU, ``g = 1`` for the linear network (LeCun's rule).

    Parameters
    ----------
    activation : None, str or Activation
        As `overflow.activations.as_activation` takes it.

    Returns
    -------
    float
        Exact for the positively homogeneous activations (``E[sigma(z)^2] = (1 + alpha^2) / 2``, with
        ``alpha = 1`` for linear and ``0`` for relu); for the smooth ones from a 160-point Gauss-Hermite
        rule, within 1e-9 relative (isru's, the slowest to converge).
    """
    act = as_activation(activation)
    if act.homogeneous:
        alpha = {"linear": 1.0, "relu": 0.0}.get(act.name, act.slope)
        return 2.0 / (1.0 + alpha * alpha)
    nodes, weights = np.polynomial.hermite_e.hermegauss(160)  # weight exp(-z^2 / 2)
    second_moment = float(weights @ act.sigma(nodes) ** 2) / math.sqrt(2.0 * math.pi)
    return 1.0 / second_moment


def teacher_student(
    n_in: int,
    m: int = 1,
    width: int = 8,
    samples: int = 128,
    depth: int = 2,
    activation: object = "relu",
    bias: bool = False,
    noise: float = 0.0,
    seed: int | None = None,
) -> TeacherStudent:
    r"""A random teacher network and the data it labels.

    .. math:: X_{ab} \sim N(0, 1), \qquad
              Y = W_N \sigma(\cdots \sigma(W_1 X + b_1 1^T) \cdots) + b_N 1^T + \varepsilon, \qquad
              \varepsilon_{ab} \sim N(0, \mathrm{noise}^2),

    with ``X`` of shape ``(n_in, s)`` and ``Y`` of shape ``(m, s)``. The teacher's entries are
    independent and centred Gaussians (He's initialization generalised by `layer_gain`):

    .. math:: (W_i)_{jk} \sim N\Big(0, \frac{g_i}{k_{i-1} + \beta}\Big), \qquad
              (b_i)_j \sim N\Big(0, \frac{1}{k_{i-1} + 1}\Big), \qquad
              g_1 = 1,\; g_i = 1 / E[\sigma(z)^2] \;(i \ge 2),

    ``beta = 1`` with biases and 0 without. Each pre-activation ``A_i`` and each noiseless output then
    has second moment 1 on average over the draws (exactly for the positively homogeneous activations,
    for wide layers otherwise): the bias plays the weight of a constant input of second moment 1.

    Parameters
    ----------
    n_in : int
        Input dimension ``n_in >= 1`` (rows of ``X``).
    m : int
        Output dimension ``m >= 1`` (rows of ``Y``).
    width : int
        Width ``k >= 1`` of the teacher's hidden layers (unused for ``depth=1``).
    samples : int
        Number of samples ``s >= 1`` (columns of ``X`` and ``Y``).
    depth : int
        Number of layers ``N >= 1`` of the teacher (``N - 1`` hidden layers).
    activation : None, str or Activation
        The teacher's ``sigma``, as `overflow.activations.as_activation` takes it (default ``"relu"``).
    bias : bool
        Whether every layer has a bias.
    noise : float
        Standard deviation ``>= 0`` of the Gaussian noise added to each target.
    seed : int or None
        Seed ``>= 0`` of the draws; None draws fresh entropy (kept in the result's ``seed``). The
        inputs, the teacher and the noise come from separate streams of the seed, and ``X`` and the
        noise are drawn sample by sample: with the same seed, a larger ``samples`` extends ``X`` and
        ``Y`` by new columns, another ``noise`` rescales the same noise, and the teacher depends only
        on its own sizes.

    Returns
    -------
    TeacherStudent
        ``X``, ``Y``, the teacher's ``layers`` and ``activation``, ``bias``, ``noise`` and ``seed``.

    Raises
    ------
    TypeError
        If an argument has the wrong type (naming the argument).
    ValueError
        If a size is below 1, ``noise`` is negative or not finite, ``seed`` is negative, the
        activation's name is unknown, or the arrays would not fit in memory.
    """
    n_in = _v.integer(n_in, "n_in")
    m = _v.integer(m, "m")
    width = _v.integer(width, "width")
    samples = _v.integer(samples, "samples")
    depth = _v.integer(depth, "depth")
    act = as_activation(activation)
    bias = _v.boolean(bias, "bias")
    noise = _v.positive(noise, "noise", allow_zero=True)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy)
    else:
        seed = _v.integer(seed, "seed", minimum=0, maximum=None)
    dims = [n_in] + [width] * (depth - 1) + [m]
    sizes = {"n_in": n_in, "m": m} | ({"width": width} if depth > 1 else {})
    largest = max(sizes, key=sizes.get)  # the size to blame (n_in before m before width on ties)
    layer_bytes = 8 * sum(k * (k_prev + 1) for k_prev, k in itertools.pairwise(dims))
    _v.check_memory(layer_bytes, largest, sizes[largest], "the teacher's layers")
    # the data, and the widest layer's activations in `forward`
    _v.check_memory(8 * samples * (n_in + m + 2 * max(dims)), "samples", samples, "the data")

    X = np.random.default_rng([seed, _X_STREAM]).standard_normal((samples, n_in)).T.copy()
    rng = np.random.default_rng([seed, _TEACHER_STREAM])
    gain = layer_gain(act)
    layers = []
    for i, (fan_in, rows) in enumerate(itertools.pairwise(dims)):
        g = 1.0 if i == 0 else gain
        W = rng.standard_normal((rows, fan_in)) * math.sqrt(g / (fan_in + bias))
        if bias:
            b = rng.standard_normal((rows, 1)) * math.sqrt(1.0 / (fan_in + 1))
            W = np.hstack([W, b])
        layers.append(W)
    Y = forward(layers, X, act, bias)
    if noise > 0:
        Y += noise * np.random.default_rng([seed, _NOISE_STREAM]).standard_normal((samples, m)).T
    for a in (X, Y, *layers):
        a.flags.writeable = False
    return TeacherStudent(X=X, Y=Y, layers=tuple(layers), activation=act, bias=bias, noise=noise, seed=seed)


def _operand(x: object, name: str) -> np.ndarray:
    """``x`` as a 2-D float64 array, or complex128 when complex (for complex-step differences)."""
    arr = x if isinstance(x, np.ndarray) else None
    if arr is None and not isinstance(x, (str, bytes)):
        try:
            arr = np.asarray(x)
        except ValueError:  # ragged: float_array words the error
            pass
    if arr is not None and arr.dtype.kind == "c":
        arr = arr.astype(np.complex128, copy=False)
    else:
        arr = _v.float_array(x, name, "a real or complex 2-D array")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {arr.shape}")
    return arr


def forward(layers: Sequence[np.ndarray], X: object, activation: object = None, bias: bool = False) -> np.ndarray:
    r"""The outputs ``Yhat`` of the network ``layers`` on the inputs ``X`` (numpy, one sample per column).

    .. math:: H_0 = X, \qquad A_i = W_i H_{i-1} + b_i 1^T, \qquad H_i = \sigma(A_i) \;(i < N), \qquad
              \hat Y = A_N,

    the output layer linear. Complex layers or inputs are carried through (``sigma`` is evaluated on
    the branch of the real part), so ``Im f(forward(layers + i h E, X)) / h`` is a complex-step
    derivative.

    Parameters
    ----------
    layers : sequence of array_like
        ``[L_1, ..., L_N]`` with ``L_i = [W_i | b_i]`` of shape ``(k_i, k_{i-1} + 1)`` when ``bias``,
        ``L_i = W_i`` of shape ``(k_i, k_{i-1})`` otherwise; ``k_0 = n_in``.
    X : array_like, shape (n_in, s)
        Inputs.
    activation : None, str or Activation
        ``sigma``, as `overflow.activations.as_activation` takes it (None is linear).
    bias : bool
        Whether each layer's last column is its bias.

    Returns
    -------
    ndarray, shape (m, s)
        ``Yhat``, float64 (complex128 if any operand is complex).

    Raises
    ------
    TypeError
        If ``layers`` is not a sequence of arrays, an operand is not numeric, or ``bias`` is not a bool.
    ValueError
        If ``layers`` is empty, an operand is not 2-D, or the shapes do not chain.
    """
    act = as_activation(activation)
    bias = _v.boolean(bias, "bias")
    if isinstance(layers, np.ndarray) or not isinstance(layers, Sequence) or isinstance(layers, str):
        raise TypeError(f"layers must be a list of 2-D arrays [L_1, ..., L_N], got {_v.describe(layers)}")
    if not layers:
        raise ValueError("layers must hold at least one layer, got an empty sequence")
    H = _operand(X, "X")
    for i, L in enumerate(layers):
        L = _operand(L, f"layers[{i}]")
        want = H.shape[0] + bias
        if L.shape[1] != want:
            fed = "X" if i == 0 else f"layers[{i - 1}]"
            raise ValueError(
                f"layers[{i}] must have {want} columns ({H.shape[0]} rows of {fed}"
                f"{' + 1 for the bias' if bias else ''}), got shape {L.shape}"
            )
        A = L[:, :-1] @ H + L[:, -1:] if bias else L @ H
        H = A if i == len(layers) - 1 else act.sigma(A)
    return H
