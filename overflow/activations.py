"""Activations between the layers of a network: the registry of names, ``sigma`` and ``sigma'`` in numpy.

A network ``W_N sigma(W_{N-1} ... sigma(W_1 X))`` names its activation by a string (``"relu"``) or by an
`Activation` object (``leaky_relu(0.2)``: the one activation with a parameter). `as_activation` turns
either (or None, the linear network) into the object; `ACTIVATIONS` maps every name to its default
object. The numpy functions here are the reference the core's kernels are tested against; where
``sigma`` is analytic they accept complex arrays, so tests can differentiate them by the complex step.

The values of ``sigma'`` at the kinks are conventions the core shares (issue 18): ``relu'(0) = 0`` and
``leaky_relu'(0) = alpha``, the left derivative, so that a pre-activation at exactly 0 is "off".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from . import _validate as _v

__all__ = [
    "Activation",
    "ACTIVATIONS",
    "DEFAULT_LEAKY_SLOPE",
    "leaky_relu",
    "as_activation",
    "is_homogeneous",
    "is_smooth",
]

#: The slope of ``"leaky_relu"`` below zero when the name alone is given.
DEFAULT_LEAKY_SLOPE = 0.01

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _positive_side(x: np.ndarray) -> np.ndarray:
    """``Re x > 0``: the branch selector of the piecewise formulas (the real part keeps complex steps on
    the branch of their real point)."""
    return np.real(x) > 0


def _sign(x: np.ndarray) -> np.ndarray:
    """+1 where ``Re x >= 0``, else -1 (as a float array)."""
    return np.where(np.real(x) >= 0, 1.0, -1.0)


def _linear(x, slope):
    return x.copy()


def _linear_prime(x, slope):
    return np.ones_like(x, dtype=np.result_type(x, 1.0))


def _relu(x, slope):
    return np.where(_positive_side(x), x, np.zeros_like(x))


def _relu_prime(x, slope):
    return np.where(_positive_side(x), 1.0, 0.0)


def _leaky_relu(x, slope):
    if slope == 0:  # 0 * -inf would be NaN
        return _relu(x, slope)
    return np.where(_positive_side(x), x, slope * x)


def _leaky_relu_prime(x, slope):
    return np.where(_positive_side(x), 1.0, slope)


def _tanh_prime(x, slope):
    # sech^2 x = 4 e / (1 + e)^2 with e = exp(-2|x|): no overflow and no 1 - tanh^2 cancellation
    e = np.exp(-2.0 * _sign(x) * x)
    return 4.0 * e / (1.0 + e) ** 2


def _sigmoid(x, slope):
    # e = exp(-|x|) <= 1: 1/(1 + e) for x >= 0, e/(1 + e) below, neither overflows
    s = _sign(x)
    e = np.exp(-s * x)
    return np.where(s > 0, 1.0, e) / (1.0 + e)


def _sigmoid_prime(x, slope):
    e = np.exp(-_sign(x) * x)
    return e / (1.0 + e) ** 2


def _isru(x, slope):
    # x / sqrt(1 + x^2) = s / sqrt(1 + x^-2) for |x| > 1: x^2 would overflow past 1e154
    big = np.abs(x) > 1.0
    r = 1.0 / np.where(big, x, 1.0)
    small = np.where(big, 0.0, x)
    return np.where(big, _sign(x) / np.sqrt(1.0 + r * r), small / np.sqrt(1.0 + small * small))


def _isru_prime(x, slope):
    # (1 + x^2)^-3/2 = (s/x)^3 (1 + x^-2)^-3/2 for |x| > 1
    big = np.abs(x) > 1.0
    r = _sign(x) / np.where(big, x, 1.0)
    small = np.where(big, 0.0, x)
    return np.where(big, r**3 * (1.0 + r * r) ** -1.5, (1.0 + small * small) ** -1.5)


def _softplus(x, slope):
    # log(1 + e^x) = x + log(1 + e^-x) for x > 0: the exponent stays <= 0 on both branches
    pos = _positive_side(x)
    return np.where(pos, x, 0.0) + _log1p(np.exp(np.where(pos, -x, x)))


def _log1p(z):
    """``log(1 + z)``, accurate for small ``|z|`` also when ``z`` is complex (numpy's complex log1p is not)."""
    if not np.iscomplexobj(z):
        return np.log1p(z)
    a, b = z.real, z.imag
    return 0.5 * np.log1p(a * (2.0 + a) + b * b) + 1j * np.arctan2(b, 1.0 + a)


def _gelu(x, slope):
    cdf = _normal_cdf(x)
    return np.where(cdf == 0, 0.0, x * cdf)  # 0, not -inf * 0, at x = -inf


def _gelu_prime(x, slope):
    density = _INV_SQRT_2PI * np.exp(-0.5 * x * x)
    return _normal_cdf(x) + np.where(density == 0, 0.0, x * density)


def _normal_cdf(x):
    # erfc(-x/sqrt 2)/2 keeps Phi's relative accuracy in the lower tail, where 1 + erf cancels
    from scipy.special import erfc  # deferred: keeps ``import overflow`` fast

    return 0.5 * erfc(-_SQRT_HALF * x)


def _float_array(x: object) -> np.ndarray:
    """``x`` as a float or complex array (integers and booleans become float64)."""
    x = np.asarray(x)
    return x if x.dtype.kind in "fc" else x.astype(np.float64)


@dataclass(frozen=True)
class _Definition:
    sigma: Callable
    derivative: Callable
    homogeneous: bool
    smooth: bool


_DEFINITIONS = {
    "linear": _Definition(_linear, _linear_prime, homogeneous=True, smooth=True),
    "relu": _Definition(_relu, _relu_prime, homogeneous=True, smooth=False),
    "leaky_relu": _Definition(_leaky_relu, _leaky_relu_prime, homogeneous=True, smooth=False),
    "tanh": _Definition(lambda x, slope: np.tanh(x), _tanh_prime, homogeneous=False, smooth=True),
    "sigmoid": _Definition(_sigmoid, _sigmoid_prime, homogeneous=False, smooth=True),
    "isru": _Definition(_isru, _isru_prime, homogeneous=False, smooth=True),
    "softplus": _Definition(_softplus, _sigmoid, homogeneous=False, smooth=True),
    "gelu": _Definition(_gelu, _gelu_prime, homogeneous=False, smooth=True),
}


def _slope(value: object, name: str) -> float:
    """The leaky slope: a finite real ``>= 0`` (a negative slope is not monotone, the invariants need >= 0)."""
    return _v.positive(value, name, allow_zero=True)


@dataclass(frozen=True)
class Activation:
    """An activation ``sigma`` applied elementwise between the layers of a network.

    ========================  ==========================================  =============================================
    name                      ``sigma(x)``                                ``sigma'(x)``
    ========================  ==========================================  =============================================
    ``"linear"``              ``x``                                       ``1``
    ``"relu"``                ``max(x, 0)``                               ``1`` for ``x > 0``, else ``0`` (``0`` at 0)
    ``"leaky_relu"``          ``x`` for ``x > 0``, else ``alpha x``       ``1`` for ``x > 0``, else ``alpha`` (at 0 too)
    ``"tanh"``                ``tanh x``                                  ``1 / cosh^2 x``
    ``"sigmoid"``             ``1 / (1 + e^-x)``                          ``sigma(x) (1 - sigma(x))``
    ``"isru"``                ``x / sqrt(1 + x^2)``                       ``(1 + x^2)^(-3/2)``
    ``"softplus"``            ``log(1 + e^x)``                            ``1 / (1 + e^-x)``
    ``"gelu"``                ``x Phi(x) = x (1 + erf(x / sqrt 2)) / 2``  ``Phi(x) + x phi(x)``, ``phi = Phi'``
    ========================  ==========================================  =============================================

    Parameters
    ----------
    name : str
        One of the names above (the keys of `ACTIVATIONS`).
    slope : float, optional
        ``alpha``, the slope of ``"leaky_relu"`` below zero: finite and ``>= 0`` (default 0.01). Only
        ``"leaky_relu"`` has one; the other activations take None.

    Attributes
    ----------
    homogeneous : bool
        ``sigma(c x) = c sigma(x)`` for ``c >= 0`` (linear, relu, leaky_relu): the flow then conserves the
        per-neuron differences of squared incoming and outgoing weights.
    smooth : bool
        ``sigma`` is twice differentiable everywhere (all but relu and leaky_relu), as the implicit methods
        and the Hessian-based analyses need.
    """

    name: str
    slope: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise TypeError(f"name must be one of {tuple(_DEFINITIONS)}, got {_v.describe(self.name)}")
        if self.name not in _DEFINITIONS:
            raise ValueError(f"name must be one of {tuple(_DEFINITIONS)}, got {self.name!r}")
        if self.name == "leaky_relu":
            slope = DEFAULT_LEAKY_SLOPE if self.slope is None else _slope(self.slope, "slope")
            object.__setattr__(self, "slope", slope)
        elif self.slope is not None:
            raise ValueError(f"slope is only for 'leaky_relu', got slope={_v.describe(self.slope)} for {self.name!r}")

    def __repr__(self) -> str:
        if self.name == "leaky_relu":
            return f"Activation('leaky_relu', slope={self.slope!r})"
        return f"Activation({self.name!r})"

    @property
    def homogeneous(self) -> bool:
        return _DEFINITIONS[self.name].homogeneous

    @property
    def smooth(self) -> bool:
        return _DEFINITIONS[self.name].smooth

    def sigma(self, x: object) -> np.ndarray:
        """``sigma(x)`` elementwise (a numpy array of the float or complex dtype of ``x``).

        Complex ``x`` is evaluated on the branch of ``Re x`` for the piecewise activations, and through the
        analytic continuation for the others, so the complex step ``Im sigma(x + ih) / h`` is ``sigma'(x)``
        away from the kinks.
        """
        x = _float_array(x)
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            return _DEFINITIONS[self.name].sigma(x, self.slope)

    def derivative(self, x: object) -> np.ndarray:
        """``sigma'(x)`` elementwise, with the conventions at the kinks given in the class's table."""
        x = _float_array(x)
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            return _DEFINITIONS[self.name].derivative(x, self.slope)


#: Every activation by name, each with its default parameters (``"leaky_relu"`` with slope 0.01).
ACTIVATIONS: MappingProxyType[str, Activation] = MappingProxyType({name: Activation(name) for name in _DEFINITIONS})


def leaky_relu(alpha: float = DEFAULT_LEAKY_SLOPE) -> Activation:
    """The leaky ReLU ``sigma(x) = x`` for ``x > 0``, else ``alpha x`` (``sigma'(0) = alpha``).

    Parameters
    ----------
    alpha : float
        The slope below zero, finite and ``>= 0`` (``alpha = 0`` is the ReLU, ``alpha = 1`` the identity).

    Returns
    -------
    Activation
        ``Activation("leaky_relu", slope=alpha)``, accepted by ``Network(activation=...)``.
    """
    return Activation("leaky_relu", _slope(alpha, "alpha"))


def as_activation(activation: object) -> Activation:
    """The `Activation` named by ``activation``.

    Parameters
    ----------
    activation : None, str or Activation
        None (the linear network, ``"linear"``), a name from `ACTIVATIONS` or an `Activation`.

    Returns
    -------
    Activation

    Raises
    ------
    TypeError
        For anything else, naming the argument ``activation`` and the accepted names.
    ValueError
        For a string that is not a name of `ACTIVATIONS`.
    """
    if activation is None:
        return ACTIVATIONS["linear"]
    if isinstance(activation, Activation):
        return activation
    expected = f"None, an overflow.activations.Activation or one of {tuple(ACTIVATIONS)}"
    if isinstance(activation, str):
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be {expected}, got {activation!r}")
        return ACTIVATIONS[activation]
    raise TypeError(f"activation must be {expected}, got {_v.describe(activation)}")


def is_homogeneous(activation: object) -> bool:
    """Whether ``activation`` (as `as_activation` takes it) is positively homogeneous: linear, relu, leaky_relu."""
    return as_activation(activation).homogeneous


def is_smooth(activation: object) -> bool:
    """Whether ``activation`` (as `as_activation` takes it) is twice differentiable everywhere."""
    return as_activation(activation).smooth
