"""Initial-state distributions for Monte Carlo runs, each reproducible from ``(seed, index)``.

Trajectory ``i`` of a run with seed ``s`` always gets the same state, whatever the chunking or the
machine: states are drawn in fixed blocks of `BLOCK` indices, block ``b`` from
``numpy.random.default_rng([s, b])``, and a chunk regenerates the blocks it overlaps. Drawing a
whole block at once keeps generation vectorised (about 1 µs per state at width 16).

Every sampler is a small picklable object with a JSON-able `describe()`, so a run's parameters can
be saved beside its results and a chunk regenerated on a Dask worker.

On networks with biases (``Network(..., inputs=X, bias=True)``) the random samplers draw the weights
``W_i`` as they say, with ``fan_in = k_{i-1}``, and start every bias at 0 (as ``Network.init``).
"""

from __future__ import annotations

import copy
import math
import numbers
from typing import Any

import numpy as np

from .. import _validate as _v

__all__ = [
    "BLOCK",
    "Sampler",
    "gaussian",
    "uniform",
    "balanced",
    "orthogonal",
    "imbalanced",
    "center_stable",
    "from_array",
]

#: Indices per random block: the unit of reproducibility (changing it changes every drawn state).
BLOCK = 256


def _range(value: Any, name: str, nonnegative: bool = False) -> tuple[float, float]:
    """A number ``x`` (as ``(x, x)``) or a pair ``(low, high)`` with ``low <= high``."""
    if isinstance(value, (tuple, list)) and len(value) == 2:
        lo, hi = (float(v) if isinstance(v, numbers.Real) and not isinstance(v, bool) else math.nan for v in value)
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        lo = hi = float(value)
    else:
        raise TypeError(f"{name} must be a number or a (low, high) pair, got {value!r}")
    if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
        raise ValueError(f"{name} must be finite with low <= high, got {value!r}")
    if nonnegative and lo < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return lo, hi


def _network(net: Any) -> Any:
    from ..network import Network  # deferred: the samplers load without the core

    if not isinstance(net, Network):
        raise TypeError(f"net must be an overflow.Network, got {_v.describe(net)}")
    return net


def _vector_case(net: Any, sampler: str) -> None:
    m, n = net.cost.shape
    if net.depth != 2 or m != 1 or n != 1 or net.activation is not None:
        raise ValueError(
            f"the {sampler} sampler is for the vector case (depth 2, a 1x1 cost, no activation); got {net!r}"
        )


def _on_identity_input(net: Any, sampler: str) -> None:
    if net.inputs is not None:
        raise ValueError(
            f"the {sampler} sampler draws the vector case's imbalance c (eq. 19) on the identity input; "
            "a network on data (inputs=) has per-neuron invariants instead: use balanced, gaussian, uniform, "
            "orthogonal or from_array"
        )


def _weight_shapes(net: Any) -> list[tuple[int, int]]:
    """The shapes of the weights ``W_i`` alone, ``(k_i, k_{i-1})`` (`Network.shapes` less the bias column)."""
    return [(net.dims[i + 1], net.dims[i]) for i in range(net.depth)]


def _flat(net: Any, weights: list[np.ndarray], count: int) -> np.ndarray:
    """``count`` flat states from the weights ``(count, k_i, k_{i-1})``, zero biases where ``net`` has them."""
    return np.concatenate([W.reshape(count, -1) for W in net._with_biases(weights)], axis=1)


class Sampler:
    """A distribution of initial states for ``overflow.monte_carlo``.

    Subclasses implement ``_draw(net, rng, count) -> (count, state_size)``; `states` handles the
    blocks that make a draw depend on ``(seed, index)`` only.
    """

    kind = "sampler"

    def __init__(self, **params: Any) -> None:
        self.params = params

    def describe(self) -> dict[str, Any]:
        """``{"kind": ..., **params}``, JSON-serialisable; equal descriptions draw equal states."""
        return copy.deepcopy({"kind": self.kind, **self.params})

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"samplers.{self.kind}({args})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sampler) and self.describe() == other.describe()

    def check(self, net: Any, n: int) -> None:
        """Raises if this sampler cannot draw ``n`` states for ``net``."""

    def states(self, net: Any, seed: int, start: int, stop: int) -> np.ndarray:
        """The flat initial states of trajectories ``start .. stop - 1``, shape ``(stop - start, state_size)``."""
        _network(net)
        seed = _v.integer(seed, "seed", minimum=0, maximum=None)
        start = _v.integer(start, "start", minimum=0)
        stop = _v.integer(stop, "stop", minimum=0)
        if not start <= stop:
            raise ValueError(f"need 0 <= start <= stop, got start={start}, stop={stop}")
        _v.check_memory(
            8 * (stop - start) * net.state_size,
            "stop - start",
            stop - start,
            f"{stop - start} states of {net.state_size} weights",
        )
        out = np.empty((stop - start, net.state_size))
        for b in range(start // BLOCK, -(-stop // BLOCK)):
            lo, hi = b * BLOCK, (b + 1) * BLOCK
            block = self._draw(net, np.random.default_rng([seed, b]), BLOCK)
            a, z = max(lo, start), min(hi, stop)
            out[a - start : z - start] = block[a - lo : z - lo]
        return out

    def __call__(self, net: Any, seed: int = 0, index: int = 0) -> list[np.ndarray]:
        """The layers of trajectory ``index``'s initial state."""
        index = _v.integer(index, "index", minimum=0)
        return [W[0] for W in net.unflatten(self.states(net, seed, index, index + 1))]

    def _draw(self, net: Any, rng: np.random.Generator, count: int) -> np.ndarray:
        raise NotImplementedError


class gaussian(Sampler):
    """Entries of ``W_i`` i.i.d. ``N(0, scale^2 / fan_in)`` (as ``Network.init(kind="gaussian")``)."""

    kind = "gaussian"

    def __init__(self, scale: float = 0.3) -> None:
        super().__init__(scale=_v.positive(scale, "scale"))

    def _draw(self, net, rng, count):
        s = self.params["scale"]
        return _flat(net, _gaussian_weights(net, rng, count, s), count)


class uniform(Sampler):
    """Entries of ``W_i`` i.i.d. uniform on ``[-a, a]``, ``a = scale sqrt(3 / fan_in)`` (the variance of
    `gaussian` with the same scale)."""

    kind = "uniform"

    def __init__(self, scale: float = 0.3) -> None:
        super().__init__(scale=_v.positive(scale, "scale"))

    def _draw(self, net, rng, count):
        s = self.params["scale"]
        return _flat(
            net,
            [rng.uniform(-1.0, 1.0, size=(count, r, c)) * (s * math.sqrt(3.0 / c)) for r, c in _weight_shapes(net)],
            count,
        )


class orthogonal(Sampler):
    """``scale`` times a Haar-random matrix with orthonormal rows or columns, per layer."""

    kind = "orthogonal"

    def __init__(self, scale: float = 0.3) -> None:
        super().__init__(scale=_v.positive(scale, "scale"))

    def _draw(self, net, rng, count):
        from ..network import _semi_orthogonal

        s = self.params["scale"]
        return _flat(net, [s * _semi_orthogonal(rng, r, c, (count,)) for r, c in _weight_shapes(net)], count)


class balanced(Sampler):
    """Starts on which the flow's invariants vanish.

    Linear networks (no activation; on data too): every ``C_i = 0`` (definition 1), as
    ``Network.init(kind="balanced")``: the layers share the singular values ``scale * s_j`` of a
    Gaussian target-shaped matrix (biases 0; ``C_i = 0`` makes every per-neuron invariant 0 as well).

    relu and leaky_relu networks (on data or the identity input): every per-neuron invariant
    ``||incoming weights of j||^2 - ||outgoing weights of j||^2`` is 0 (the balancedness of ReLU
    networks, see overflow/neuron_invariants.py). A `gaussian` ``(scale)`` draw is moved along the
    flow's rescaling symmetry: neuron ``j``'s incoming weights (bias included) are multiplied by
    ``lambda_j > 0`` and its outgoing ones divided by it, which leaves the network's function
    unchanged (``sigma(lambda a) = lambda sigma(a)``). The ``lambda_j`` minimise the total squared
    weight over that orbit, whose stationarity conditions are exactly the balance of every neuron:
    one closed-form step for one hidden layer, block coordinate descent over alternate hidden layers
    for more (a few dozen sweeps at depth 3 or 4, until every neuron balances to 1e-13 relative).

    Other activations conserve no such quantity, and are refused.
    """

    kind = "balanced"

    def __init__(self, scale: float = 0.3) -> None:
        super().__init__(scale=_v.positive(scale, "scale"))

    def check(self, net, n):
        from ..activations import is_homogeneous

        if net.activation is not None and not is_homogeneous(net.activation):
            raise ValueError(
                "the balanced sampler makes the flow's invariants zero, which needs a linear network or a "
                f"positively homogeneous activation (relu, leaky_relu); {net.activation!r} conserves none"
            )

    def _draw(self, net, rng, count):
        if net.activation is None:
            layers = net._balanced(rng, self.params["scale"], (count,))  # with its zero biases
        else:
            layers = _balance_neurons(
                net._with_biases(_gaussian_weights(net, rng, count, self.params["scale"])), net.bias
            )
        return np.concatenate([L.reshape(count, -1) for L in layers], axis=1)


class imbalanced(Sampler):
    r"""Vector case: ``w2 w1 = z0`` and imbalance ``c = (|w1|^2 + |w2|^2)^2 - 4 z0^2`` (eq. 19).

    ``c`` and ``z0`` are numbers, or ``(low, high)`` pairs drawn uniformly per trajectory. The
    construction is that of ``overflow.vector.init_with``: with ``S = sqrt(c + 4 z0^2)``,
    ``w1 = (v + u) / 2``, ``w2^T = (v - u) / 2``, ``|u|^2 = S - 2 z0``, ``|v|^2 = S + 2 z0`` and
    independent uniformly random directions.
    """

    kind = "imbalanced"

    def __init__(self, c: float | tuple[float, float], z0: float | tuple[float, float] = 0.5) -> None:
        super().__init__(c=list(_range(c, "c", nonnegative=True)), z0=list(_range(z0, "z0")))

    def check(self, net, n):
        _on_identity_input(net, "imbalanced")
        _vector_case(net, "imbalanced")

    def _draw(self, net, rng, count):
        k = net.widths[0]
        c = rng.uniform(*self.params["c"], size=count)
        z0 = rng.uniform(*self.params["z0"], size=count)
        S = np.sqrt(c + 4.0 * z0 * z0)
        u = _directions(rng, count, k) * np.sqrt(np.maximum(0.0, S - 2.0 * z0))[:, None]
        v = _directions(rng, count, k) * np.sqrt(np.maximum(0.0, S + 2.0 * z0))[:, None]
        return np.concatenate([0.5 * (v + u), 0.5 * (v - u)], axis=1)


class center_stable(Sampler):
    r"""Vector case: points at distance ``eps`` from the centre-stable manifold ``w1 = s w2^T``
    of the saddle at the origin, ``s = sign f'(0)`` (Proposition 5).

    ``v = w1 + s w2^T`` is drawn as ``(w1 + s w2^T)`` of a `gaussian` start with this ``scale``;
    ``u = w1 - s w2^T`` has norm ``eps`` and a uniformly random direction. ``eps = 0`` gives starts
    on the manifold, which the flow keeps there and (Corollary 6) takes to the saddle.
    """

    kind = "center_stable"

    def __init__(self, eps: float, scale: float = 0.3) -> None:
        super().__init__(eps=_v.positive(eps, "eps", allow_zero=True), scale=_v.positive(scale, "scale"))

    def check(self, net, n):
        _on_identity_input(net, "center_stable")
        _vector_case(net, "center_stable")
        from ..vector import sign

        sign(net.cost)  # raises when f'(0) = 0: the manifold is then undefined

    def _draw(self, net, rng, count):
        from ..vector import sign

        s = sign(net.cost)
        k = net.widths[0]
        scale = self.params["scale"]
        w1 = rng.normal(0.0, scale, size=(count, k))  # fan-in 1
        w2 = rng.normal(0.0, scale / math.sqrt(k), size=(count, k))  # fan-in k
        v = w1 + s * w2
        u = self.params["eps"] * _directions(rng, count, k)
        return np.concatenate([0.5 * (v + u), s * 0.5 * (v - u)], axis=1)


class from_array(Sampler):
    """Given states: row ``i`` of ``states`` (shape ``(n, state_size)``, or a list of per-layer
    arrays of shape ``(n, rows, cols)``) is trajectory ``i``'s start; the seed is ignored."""

    kind = "from_array"

    def __init__(self, states: Any) -> None:
        # a list of per-layer arrays, unless it is a nested list of rows (numpy would read it so)
        if isinstance(states, (list, tuple)) and not (states and all(np.ndim(W) <= 1 for W in states)):
            layers = [_v.float_array(W, f"states[{i}]", "a real (n, rows, cols) array") for i, W in enumerate(states)]
            if not layers or any(W.ndim != 3 or W.shape[0] != layers[0].shape[0] for W in layers):
                raise ValueError("states as a list needs one (n, rows, cols) array per layer, all with the same n")
            states = np.concatenate([W.reshape(W.shape[0], -1) for W in layers], axis=1)
        else:
            states = _v.float_array(states, "states", "a real array of shape (n, state_size)")
        arr = np.array(states, dtype=np.float64, order="C", copy=True)  # the caller may change theirs later
        if arr.ndim != 2:
            raise ValueError(f"states must have shape (n, state_size), got {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError("states contains NaN or infinite entries")
        self._states = arr
        import hashlib

        super().__init__(n=int(arr.shape[0]), sha256=hashlib.sha256(arr.tobytes()).hexdigest())

    def check(self, net, n):
        if self._states.shape[1] != net.state_size:
            raise ValueError(f"states have {self._states.shape[1]} entries per row, the network needs {net.state_size}")
        if n > self._states.shape[0]:
            raise ValueError(f"n = {n} trajectories asked for, but states holds only {self._states.shape[0]}")

    def states(self, net, seed, start, stop):
        self.check(_network(net), 0)
        start = _v.integer(start, "start", minimum=0)
        stop = _v.integer(stop, "stop", minimum=0)
        if not start <= stop <= self._states.shape[0]:
            raise ValueError(
                f"need 0 <= start <= stop <= {self._states.shape[0]} (the states given), got start={start}, stop={stop}"
            )
        return self._states[start:stop].copy()

    def __repr__(self) -> str:
        return f"samplers.from_array(<{self._states.shape[0]} states>)"


def _gaussian_weights(net: Any, rng: np.random.Generator, count: int, scale: float) -> list[np.ndarray]:
    """``count`` draws of each ``W_i`` with i.i.d. ``N(0, scale^2 / fan_in)`` entries, ``(count, k_i, k_{i-1})``."""
    return [rng.normal(0.0, scale / math.sqrt(c), size=(count, r, c)) for r, c in _weight_shapes(net)]


#: Sweeps after which `_balance_neurons` gives up (depth 10 needs about 300).
_BALANCE_SWEEPS = 10_000
_BALANCE_TOL = 1e-13


def _balance_neurons(layers: list[np.ndarray], bias: bool) -> list[np.ndarray]:
    """The layers ``(count, k_i, k_{i-1} + bias)`` rescaled neuron by neuron (see `balanced`).

    With ``mu_i = lambda_i^2`` for hidden layer ``i`` (``mu_0 = mu_N = 1``: inputs and outputs are not
    rescaled) and ``E_i`` the squared entries, neuron ``j`` has incoming ``mu_ij A_ij`` and outgoing
    ``B_ij / mu_ij``, ``A_i = E_i (1 / mu_{i-1})`` (+ its squared bias), ``B_i = E_{i+1}^T mu_{i+1}``:
    ``mu_i = sqrt(B_i / A_i)`` balances layer ``i`` exactly given its neighbours, and layers of one
    parity do not touch each other, so they are updated together.
    """
    depth, count = len(layers), layers[0].shape[0]
    weights = [L[..., : L.shape[-1] - bias] ** 2 for L in layers]  # E_i without the bias column
    biases = [L[..., -1] ** 2 if bias else 0.0 for L in layers]
    mu = [np.ones((count, L.shape[-1] - bias)) for L in layers] + [np.ones((count, layers[-1].shape[-2]))]

    def sums(i: int) -> tuple[np.ndarray, np.ndarray]:
        incoming = (weights[i - 1] @ (1.0 / mu[i - 1])[..., None])[..., 0] + biases[i - 1]
        outgoing = (mu[i + 1][..., None, :] @ weights[i])[..., 0, :]
        return incoming, outgoing

    for _ in range(_BALANCE_SWEEPS):
        for first in (1, 2):
            for i in range(first, depth, 2):
                incoming, outgoing = sums(i)
                mu[i] = np.sqrt(outgoing / incoming)
        worst = 0.0
        for i in range(1, depth):
            incoming, outgoing = sums(i)
            a, b = mu[i] * incoming, outgoing / mu[i]
            worst = max(worst, float(np.max(np.abs(a - b) / (a + b))))
        if worst <= _BALANCE_TOL:
            break
    else:  # pragma: no cover - needs a neuron whose weights are all zero, which a Gaussian draw never gives
        raise RuntimeError(f"balanced: the per-neuron rescaling did not converge in {_BALANCE_SWEEPS} sweeps")
    out = []
    for i, L in enumerate(layers):
        scaled = L * np.sqrt(mu[i + 1])[..., :, None] if i < depth - 1 else L.copy()
        scaled[..., : L.shape[-1] - bias] /= np.sqrt(mu[i])[..., None, :]
        out.append(scaled)
    return out


def _directions(rng: np.random.Generator, count: int, k: int) -> np.ndarray:
    """``count`` uniformly random unit vectors in ``R^k`` (a zero draw, probability ~0, is redrawn)."""
    e = rng.standard_normal((count, k))
    norms = np.linalg.norm(e, axis=1)
    while np.any(bad := norms < 1e-8):
        e[bad] = rng.standard_normal((int(bad.sum()), k))
        norms = np.linalg.norm(e, axis=1)
    return e / norms[:, None]
