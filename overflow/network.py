"""`Network`: a deep network on a cost (linear, activated, or on data), its state layout and initializers."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from . import _core
from . import _validate as _v
from .activations import ACTIVATIONS, DEFAULT_LEAKY_SLOPE, Activation, as_activation
from .costs import Cost

__all__ = ["Network", "INIT_KINDS", "ACTIVATIONS"]

INIT_KINDS = ("gaussian", "balanced", "orthogonal")


# The shared integer check, under the name integrate and monte_carlo import from here.
_integer = _v.integer

#: Bytes a layer costs in the Python-side tables (widths, dims, shapes) beyond its weights: enough
#: for the memory check to catch a depth of 10**9 before building lists of that length.
_LAYER_OVERHEAD = 128


def _rng(seed: object) -> np.random.Generator:
    """numpy's default generator for ``seed``, its errors naming the argument."""
    if isinstance(seed, (bool, np.bool_, float, complex, str, bytes)):
        raise TypeError(f"seed must be None, a non-negative integer or a numpy Generator, got {_v.describe(seed)}")
    try:
        return np.random.default_rng(seed)
    except TypeError as exc:
        raise TypeError(
            f"seed must be None, a non-negative integer or a numpy Generator, got {_v.describe(seed)} ({exc})"
        ) from None
    except ValueError as exc:
        raise ValueError(
            f"seed must be None, a non-negative integer or a numpy Generator, got {_v.describe(seed)} ({exc})"
        ) from None


class Network:
    """A depth-``N`` network trained on a cost ``f``: the linear network ``P = W_N ... W_1`` (paper,
    section 2), an activated one, or a network on data ``X``.

    ``W_1`` has shape ``(k_1, n)``, ``W_i`` shape ``(k_i, k_{i-1})`` and ``W_N`` shape ``(m, k_{N-1})``.
    Without ``inputs``, ``(m, n)`` is the cost's shape and the flow is ``dW_i/dt = -(W_N...W_{i+1})^T
    grad f(P) (W_{i-1}...W_1)^T`` (eq. 4), the gradient flow of ``g(W_1, ..., W_N) = f(W_N ... W_1)``.
    With ``inputs=X`` (``n x s``, one sample per column) the network maps the data to
    ``Yhat = W_N sigma(W_{N-1} ... sigma(W_1 X + b_1 1^T) ...) + b_N 1^T`` (``m x s``, the cost's shape)
    and the flow is the gradient flow of ``g = f(Yhat)``.

    Parameters
    ----------
    cost : overflow.costs.Cost
        The cost ``f``: of shape ``(m, n)`` without inputs, ``(m, s)`` with them (the losses of
        `overflow.costs` such as ``squared_loss(Y)``).
    depth : int
        ``N >= 1``.
    width : int, optional
        One width ``k`` for every hidden layer.
    widths : sequence of int, optional
        ``[k_1, ..., k_{N-1}]``, one per hidden layer (give ``width`` or ``widths``, not both;
        neither is needed when ``depth == 1``).
    activation : None, str or overflow.activations.Activation
        None (or ``"linear"``) is the linear network. Otherwise ``sigma`` is applied elementwise between
        layers (the output layer is linear): a name of `overflow.activations.ACTIVATIONS` (``"relu"``,
        ``"leaky_relu"``, ``"tanh"``, ``"sigmoid"``, ``"isru"``, ``"softplus"``, ``"gelu"``) or an
        `~overflow.activations.Activation` such as ``overflow.activations.leaky_relu(0.2)``. Without
        inputs the network is evaluated on the identity input, ``P = W_N sigma(W_{N-1} ... sigma(W_1))``
        (section 4; isru is ``sigma(x) = x / sqrt(1 + x^2)``, eq. 9).
    inputs : array_like, optional
        The data ``X``, a finite real ``(n, s)`` array (copied). The cost must have shape ``(m, s)``.
    bias : bool
        With inputs only: each layer also has a bias ``b_i`` (``k_i``), stored as the last column of
        ``[W_i | b_i]``, so that ``shapes[i] = (k_i, k_{i-1} + 1)``.

    Attributes
    ----------
    activation : str or None
        The activation's name (None for the linear one).
    leaky_slope : float
        The slope of ``"leaky_relu"`` below zero (0.01 unless given by `overflow.activations.leaky_relu`).
    inputs : ndarray or None
        The read-only float64 copy of ``X``.
    bias : bool
    dims : list of int
        ``[n, k_1, ..., k_{N-1}, m]``.
    shapes : list of (int, int)
        The stored layers' shapes, ``(k_i, k_{i-1} + bias)``.
    state_size : int
        The number of weights (biases included).

    Raises
    ------
    TypeError
        For a cost that is not a `~overflow.costs.Cost`, an activation that is not None, a name or an
        `~overflow.activations.Activation`, complex or non-numeric inputs, or a bias that is not a bool.
    ValueError
        For an unknown activation name, inputs that are not 2-D or not finite, a cost whose shape is not
        ``(m, s)`` for inputs of ``s`` samples, or a bias without inputs.
    """

    def __init__(
        self,
        cost: Cost,
        depth: int,
        width: int | None = None,
        widths: Sequence[int] | None = None,
        activation: str | Activation | None = None,
        inputs: np.ndarray | None = None,
        bias: bool = False,
    ) -> None:
        if not isinstance(cost, Cost):
            raise TypeError(f"cost must be an overflow.costs.Cost, got {type(cost).__name__}")
        depth = _integer(depth, "depth")
        act = as_activation(activation)
        self.activation: str | None = None if act.name == "linear" else act.name
        self.leaky_slope: float = act.slope if act.slope is not None else DEFAULT_LEAKY_SLOPE
        bias = _v.boolean(bias, "bias")
        self.inputs: np.ndarray | None = None if inputs is None else _check_inputs(inputs, cost)
        if bias and self.inputs is None:
            raise ValueError("bias=True needs inputs= (biases belong to networks on data)")
        self.bias: bool = bias
        if width is not None and widths is not None:
            raise ValueError("give either width or widths, not both")
        m, n = cost.shape
        if self.inputs is not None:
            n = self.inputs.shape[0]
        b = int(bias)
        if widths is not None:
            if isinstance(widths, (str, bytes)) or not isinstance(widths, (Sequence, np.ndarray)):
                raise TypeError(
                    f"widths must be a sequence of depth - 1 = {depth - 1} integers, got {_v.describe(widths)}"
                )
            if len(widths) != depth - 1:
                raise ValueError(f"widths must have depth - 1 = {depth - 1} entries, got {len(widths)}")
            widths = [_integer(k, f"widths[{i}]") for i, k in enumerate(widths)]
            dims = [n, *widths, m]
            size = sum(dims[i + 1] * (dims[i] + b) for i in range(depth))
            _v.check_memory(
                8 * size + _LAYER_OVERHEAD * depth,
                "widths",
                widths if depth < 8 else "[...]",
                f"a depth-{depth} network of {size} weights",
            )
        elif width is not None:
            width = _integer(width, "width")
            # the state's size without building depth-long lists first (depth may be 10**9)
            if depth == 1:
                size = m * (n + b)
            else:
                size = width * (n + b) + m * (width + b) + (depth - 2) * width * (width + b)
            _v.check_memory(
                8 * size + _LAYER_OVERHEAD * depth,
                "depth and width",
                (depth, width),
                f"a depth-{depth} network of {size} weights",
            )
            widths = [width] * (depth - 1)
        elif depth == 1:
            widths = []
        else:
            raise ValueError(f"depth {depth} needs width= or widths= for its hidden layers")
        self.cost = cost
        self.depth = depth
        self.widths: list[int] = list(widths)
        self.dims: list[int] = [n, *self.widths, m]
        self.shapes: list[tuple[int, int]] = [(self.dims[i + 1], self.dims[i] + b) for i in range(depth)]
        self.state_size: int = sum(r * c for r, c in self.shapes)

    @property
    def linear(self) -> bool:
        """The linear network of eq. 4: no activation and no inputs (the exact Jacobian, the invariants
        ``C_i``, projection and the Gauss methods are for these)."""
        return self.activation is None and self.inputs is None

    def _flow_arguments(self) -> dict[str, object]:
        """The keyword arguments with which the core's flow functions (``overflow._core.integrate_flow``,
        ``FlowSolver``, ``integrate_ensemble``, ``flow_rhs``) evaluate this network: ``inputs``,
        ``bias`` and ``leaky_slope``."""
        return {"inputs": self.inputs, "bias": self.bias, "leaky_slope": self.leaky_slope}

    def __repr__(self) -> str:
        act = ""
        if self.activation == "leaky_relu":
            act = f", activation=leaky_relu({self.leaky_slope!r})"
        elif self.activation:
            act = f", activation={self.activation!r}"
        data = f", inputs=<{self.inputs.shape[0]} x {self.inputs.shape[1]}>" if self.inputs is not None else ""
        return f"Network({self.cost!r}, depth={self.depth}, widths={self.widths}{act}{data}{', bias=True' * self.bias})"

    # -- state layout ---------------------------------------------------------------------------
    def flatten(self, Ws: Sequence[np.ndarray] | np.ndarray, name: str = "Ws") -> np.ndarray:
        """Checks a list of layers (or a flat state) and returns the flat float64 state."""
        if isinstance(Ws, np.ndarray) and Ws.ndim == 1:
            if Ws.dtype.kind == "c":
                raise TypeError(f"{name} is complex; the weights must be real")
            if Ws.size != self.state_size:
                raise ValueError(f"{name}: a flat state needs {self.state_size} entries, got {Ws.size}")
            y = np.ascontiguousarray(_v.float_array(Ws, name, f"a flat state of {self.state_size} real numbers"))
        else:
            if not isinstance(Ws, (list, tuple)):
                raise TypeError(
                    f"{name} must be a list of {self.depth} arrays (one per layer) or a flat state, "
                    f"got {_v.describe(Ws)}"
                )
            if len(Ws) != self.depth:
                raise ValueError(f"{name} must have {self.depth} layers, got {len(Ws)}")
            parts = []
            for i, (W, shape) in enumerate(zip(Ws, self.shapes)):
                # float64 conversion would silently drop an imaginary part (dtype test first: cheaper)
                if W.dtype.kind == "c" if isinstance(W, np.ndarray) else np.iscomplexobj(W):
                    raise TypeError(f"{name}[{i}] is complex; the weights must be real")
                A = _v.float_array(W, f"{name}[{i}]", f"a real array of shape {shape}")
                if A.shape != shape:
                    raise ValueError(f"{name}[{i}] (W_{i + 1}) must have shape {shape}, got {A.shape}")
                parts.append(A.ravel())
            y = np.concatenate(parts) if parts else np.zeros(0)
        # A finite sum means every entry is finite (NaN and inf propagate); only if not, look closer
        # (it may have overflowed). Cheaper than isfinite().all() on small states, and not a BLAS
        # call: np.dot would wake OpenBLAS's threads, which then spin for ~0.1 s on the cores
        # that integrate(threads=k) is about to use.
        if not math.isfinite(float(y.sum())) and not np.isfinite(y).all():
            raise ValueError(f"{name} contains NaN or infinite entries")
        return y

    def unflatten(self, y: np.ndarray) -> list[np.ndarray]:
        """Splits a flat state (or a stack of states, shape (T, state_size)) into layers (views of ``y``).

        Raises
        ------
        TypeError
            If ``y`` is not a real array (complex included).
        ValueError
            If its last axis does not have ``state_size`` entries.
        """
        if not (isinstance(y, np.ndarray) and y.dtype == np.float64):
            y = _v.float_array(y, "y", f"a real array of shape (..., {self.state_size})")
        if y.ndim == 0 or y.shape[-1] != self.state_size:
            raise ValueError(f"y must have shape (..., state_size) = (..., {self.state_size}), got shape {y.shape}")
        lead = y.shape[:-1]
        out, pos = [], 0
        for r, c in self.shapes:
            out.append(y[..., pos : pos + r * c].reshape(*lead, r, c))
            pos += r * c
        return out

    # -- initialization -------------------------------------------------------------------------
    def init(self, seed: int | None = 0, scale: float = 0.3, kind: str = "gaussian") -> list[np.ndarray]:
        """Random initial weights.

        Parameters
        ----------
        seed : int or None
            Seed of numpy's default generator.
        scale : float
            The layer gain: ``"gaussian"`` draws entries ``N(0, scale^2 / fan_in)`` (so ``||W x|| ~
            scale ||x||``); ``"orthogonal"`` draws ``scale`` times a matrix with orthonormal rows or
            columns; ``"balanced"`` gives every layer the singular values ``scale * s_j`` (``s_j``
            those of a standard Gaussian ``m x n`` matrix divided by ``sqrt(max(m, n))``).
        kind : {"gaussian", "balanced", "orthogonal"}
            ``"balanced"`` makes every invariant ``C_i = W_i W_i^T - W_{i+1}^T W_{i+1}`` zero
            (definition 1): ``W_1 = Q_1 D V^T``, ``W_i = Q_i D Q_{i-1}^T``, ``W_N = U D Q_{N-1}^T``
            with orthonormal ``Q_i``. This is possible for every shape: the rank is
            ``r = min(m, n, k_1, ..., k_{N-1})``, so a network narrower than ``min(m, n)``
            gets a balanced start whose product has rank ``r``.

        Returns
        -------
        list of ndarray
            The layers with `shapes`; with biases, every bias (the last column) starts at zero.
        """
        if not isinstance(kind, str):
            raise TypeError(f"kind must be one of {INIT_KINDS}, got {_v.describe(kind)}")
        if kind not in INIT_KINDS:
            raise ValueError(f"kind must be one of {INIT_KINDS}, got {kind!r}")
        scale = _v.positive(scale, "scale")
        rng = _rng(seed)
        weights = [(self.dims[i + 1], self.dims[i]) for i in range(self.depth)]  # without the biases
        if kind == "gaussian":
            return self._with_biases([rng.normal(0.0, scale / np.sqrt(c), size=(r, c)) for r, c in weights])
        if kind == "orthogonal":
            return self._with_biases([scale * _semi_orthogonal(rng, r, c) for r, c in weights])
        return self._balanced(rng, scale)

    def _with_biases(self, weights: list[np.ndarray]) -> list[np.ndarray]:
        """The layers ``[W_i | 0]`` (zero biases) from the weights ``W_i`` (``(..., rows, cols)``), or the
        weights themselves without biases."""
        if not self.bias:
            return weights
        return [np.concatenate([W, np.zeros((*W.shape[:-1], 1))], axis=-1) for W in weights]

    def _balanced(self, rng: np.random.Generator, scale: float, batch: tuple[int, ...] = ()) -> list[np.ndarray]:
        """Balanced layers (see `init`); with ``batch``, a stack of independent draws, each layer of
        shape ``(*batch, rows, cols)``."""
        m, n = self.dims[-1], self.dims[0]
        r = min(self.dims)
        U, s, Vt = np.linalg.svd(rng.standard_normal((*batch, m, n)))
        D = scale * s[..., :r] / np.sqrt(max(m, n))  # the singular values, (*batch, r)
        Q = [_semi_orthogonal(rng, k, r, batch) for k in self.widths]  # k_i x r, orthonormal columns
        left = Q + [U[..., :, :r]]
        right = [np.swapaxes(Vt[..., :r, :], -1, -2)] + Q
        return self._with_biases(
            [(left[i] * D[..., None, :]) @ np.swapaxes(right[i], -1, -2) for i in range(self.depth)]
        )

    # -- the flow at one point ------------------------------------------------------------------
    def product(self, Ws: Sequence[np.ndarray]) -> np.ndarray:
        """``P = W_N ... W_1`` (with an activation, ``W_N sigma(... sigma(W_1))``; on data the output
        ``Yhat``, ``m x s``)."""
        return self.output(self.unflatten(self.flatten(Ws)))

    def output(self, layers: Sequence[np.ndarray]) -> np.ndarray:
        """The network's product (or activated output, or on data ``Yhat``) for layers of shape
        ``(..., rows, cols)``: one state or a whole trajectory at once."""
        if not isinstance(layers, (list, tuple)) or len(layers) != self.depth:
            raise TypeError(
                f"layers must be a list of {self.depth} arrays of shape (..., rows, cols), got {_v.describe(layers)}"
            )
        layers = [
            W
            if isinstance(W, np.ndarray) and W.dtype == np.float64
            else _v.float_array(W, f"layers[{i}]", "a real array")
            for i, W in enumerate(layers)
        ]
        sigma = self._activation().sigma if self.activation else None
        if self.inputs is None:
            P = layers[0]
            for W in layers[1:]:
                P = W @ (sigma(P) if sigma is not None else P)
            return P
        H = self.inputs
        for i, W in enumerate(layers):
            if i > 0 and sigma is not None:
                H = sigma(H)
            H = W[..., :, :-1] @ H + W[..., :, -1:] if self.bias else W @ H
        return H

    def _activation(self) -> Activation:
        """The `~overflow.activations.Activation` object (its numpy ``sigma`` and ``sigma'``)."""
        if self.activation == "leaky_relu":
            return Activation("leaky_relu", self.leaky_slope)
        return ACTIVATIONS[self.activation or "linear"]

    def loss(self, Ws: Sequence[np.ndarray]) -> float:
        """``g(W) = f(W_N ... W_1)``."""
        return float(self.cost.value(self.product(Ws)))

    def gradient(self, Ws: Sequence[np.ndarray]) -> list[np.ndarray]:
        """``grad g``: the negative of eq. 4's right-hand side, one array per layer."""
        _, dy = self.rhs(self.flatten(Ws))
        return self.unflatten(-dy)

    def rhs(self, y: np.ndarray) -> tuple[float, np.ndarray]:
        """``(g(y), -grad g(y))`` on a flat state, computed by the C++ core."""
        y = self.flatten(y, "y")
        value, dy = _core.flow_rhs(
            self.dims, self.cost.vg_address, self.cost.data, y, self.activation or "none", **self._flow_arguments()
        )
        return float(value), dy


def _check_inputs(inputs: object, cost: Cost) -> np.ndarray:
    """The data ``X`` as a read-only C-contiguous float64 copy: real, 2-D, finite, with as many
    columns (samples) as the cost has."""
    X = _v.float_array(inputs, "inputs", "a real 2-D array (n, samples)", allow_bool=False)
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"inputs must be a 2-D array (n, samples) with n, samples >= 1, got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("inputs contains NaN or infinite entries")
    if cost.shape[1] != X.shape[1]:
        raise ValueError(
            f"the cost's shape {tuple(cost.shape)} must be (m, s) for inputs of shape {X.shape} (s = {X.shape[1]} "
            f"samples): a cost of the network's outputs Yhat, such as overflow.costs.squared_loss(Y)"
        )
    X = np.array(X, dtype=np.float64, order="C", copy=True)
    X.flags.writeable = False
    return X


def _semi_orthogonal(rng: np.random.Generator, rows: int, cols: int, batch: tuple[int, ...] = ()) -> np.ndarray:
    """A ``rows x cols`` matrix with orthonormal columns (rows >= cols) or rows (rows < cols), Haar
    distributed; with ``batch``, a stack of independent ones of shape ``(*batch, rows, cols)``."""
    A = rng.standard_normal((*batch, max(rows, cols), min(rows, cols)))
    Q, R = np.linalg.qr(A)
    Q = Q * np.sign(np.diagonal(R, axis1=-2, axis2=-1))[..., None, :]
    return Q if rows >= cols else np.swapaxes(Q, -1, -2)
