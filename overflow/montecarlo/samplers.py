"""Initial-state distributions for Monte Carlo runs, each reproducible from ``(seed, index)``.

Trajectory ``i`` of a run with seed ``s`` always gets the same state, whatever the chunking or the
machine: states are drawn in fixed blocks of `BLOCK` indices, block ``b`` from
``numpy.random.default_rng([s, b])``, and a chunk regenerates the blocks it overlaps. Drawing a
whole block at once keeps generation vectorised (about 1 µs per state at width 16).

Every sampler is a small picklable object with a JSON-able `describe()`, so a run's parameters can
be saved beside its results and a chunk regenerated on a Dask worker.
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


def _flat(layers: list[np.ndarray], count: int) -> np.ndarray:
    return np.concatenate([W.reshape(count, -1) for W in layers], axis=1)


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
        return _flat([rng.normal(0.0, s / math.sqrt(c), size=(count, r, c)) for r, c in net.shapes], count)


class uniform(Sampler):
    """Entries of ``W_i`` i.i.d. uniform on ``[-a, a]``, ``a = scale sqrt(3 / fan_in)`` (the variance of
    `gaussian` with the same scale)."""

    kind = "uniform"

    def __init__(self, scale: float = 0.3) -> None:
        super().__init__(scale=_v.positive(scale, "scale"))

    def _draw(self, net, rng, count):
        s = self.params["scale"]
        return _flat(
            [rng.uniform(-1.0, 1.0, size=(count, r, c)) * (s * math.sqrt(3.0 / c)) for r, c in net.shapes], count
        )


class orthogonal(Sampler):
    """``scale`` times a Haar-random matrix with orthonormal rows or columns, per layer."""

    kind = "orthogonal"

    def __init__(self, scale: float = 0.3) -> None:
        super().__init__(scale=_v.positive(scale, "scale"))

    def _draw(self, net, rng, count):
        from ..network import _semi_orthogonal

        s = self.params["scale"]
        return _flat([s * _semi_orthogonal(rng, r, c, (count,)) for r, c in net.shapes], count)


class balanced(Sampler):
    """Every invariant ``C_i = 0`` (definition 1), as ``Network.init(kind="balanced")``: the layers share
    the singular values ``scale * s_j`` of a Gaussian target-shaped matrix."""

    kind = "balanced"

    def __init__(self, scale: float = 0.3) -> None:
        super().__init__(scale=_v.positive(scale, "scale"))

    def check(self, net, n):
        if net.activation is not None:
            raise ValueError("the balanced sampler is for linear networks (activation=None)")

    def _draw(self, net, rng, count):
        return _flat(net._balanced(rng, self.params["scale"], (count,)), count)


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


def _directions(rng: np.random.Generator, count: int, k: int) -> np.ndarray:
    """``count`` uniformly random unit vectors in ``R^k`` (a zero draw, probability ~0, is redrawn)."""
    e = rng.standard_normal((count, k))
    norms = np.linalg.norm(e, axis=1)
    while np.any(bad := norms < 1e-8):
        e[bad] = rng.standard_normal((int(bad.sum()), k))
        norms = np.linalg.norm(e, axis=1)
    return e / norms[:, None]
