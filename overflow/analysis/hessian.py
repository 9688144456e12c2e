"""Matrix-free Hessian of ``g(W_1, ..., W_N) = f(W_N ... W_1)``.

With ``S_i = W_N ... W_{i+1}`` (``S_N = I_m``), ``R_i = W_{i-1} ... W_1`` (``R_1 = I_n``),
``P = W_N ... W_1`` and ``G = grad f(P)``, the gradient is ``grad_i g = S_i^T G R_i^T`` (eq. 4).
Differentiating it in the direction ``D = (D_1, ..., D_N)`` by the product rule gives

    Hess g[D]_i = dS_i^T G R_i^T + S_i^T Hess f(P)[dP] R_i^T + S_i^T G dR_i^T,

with the first-order changes of the suffix, prefix and full products

    dS_i = sum_{j > i} W_N ... W_{j+1} D_j W_{j-1} ... W_{i+1},
    dR_i = sum_{j < i} W_{i-1} ... W_{j+1} D_j W_{j-1} ... W_1,
    dP   = sum_j      W_N ... W_{j+1} D_j W_{j-1} ... W_1.

They are built by the recursions ``S_{i-1} = S_i W_i``, ``dS_{i-1} = dS_i W_i + S_i D_i``
(``dS_N = 0``, and ``dP = dS_0``) and ``R_{i+1} = W_i R_i``, ``dR_{i+1} = D_i R_i + W_i dR_i``
(``dR_1 = 0``), so one product costs ``O(N)`` matrix multiplications and one call of ``f``'s HVP.
The first and last terms (with ``G`` fixed) are the "second-order chain rule" term ``f'(P)[B]`` of
the proof of lemma 17; the middle one is its ``f''(P)[A, A]``.

Networks on data (``inputs=X``) and activated networks on the identity input have ``g = f(Yhat)`` with the
output ``Yhat = W_N sigma(... sigma(W_1 X + b_1 1^T) ...) + b_N 1^T`` in place of ``P``: their products
``Hess g[D] = -J D`` come from the core's exact Jacobian of the flow (forward-over-reverse through the data
sweep, csrc/src/data_jvp.cpp). That needs ``sigma`` twice differentiable: relu and leaky relu are refused
(at a kink the Hessian does not exist).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.sparse.linalg import LinearOperator

from .. import _core
from .. import _validate as _v
from ..activations import is_smooth
from ..network import Network

__all__ = ["hessian_vector_product", "dense_hessian", "hessian_operator"]


def _check_net(net: object) -> Network:
    """TypeError unless ``net`` is a Network (a swapped ``(Ws, net)`` is named as such)."""
    if not isinstance(net, Network):
        hint = (
            " (the arguments are (net, Ws): were they swapped?)" if isinstance(net, (list, tuple, np.ndarray)) else ""
        )
        raise TypeError(f"net must be an overflow.Network, got {_v.describe(net)}{hint}")
    if not is_smooth(net.activation):
        raise ValueError(
            f"the Hessian analyses need a twice differentiable activation (the Hessian of g does not exist at the "
            f"kinks of relu and leaky_relu), got {net!r}"
        )
    return net


def _layers(net, Ws, name: str) -> list[np.ndarray]:
    """Validated float64 layers (ValueError on wrong shapes, via ``Network.flatten``)."""
    return [np.array(W) for W in net.unflatten(net.flatten(Ws, name))]


def _tested_point(net, Ws: Sequence[np.ndarray], tol: float, scale: float | None) -> tuple[_Point, float, float, float]:
    """The point, the scale of the tests (default ``max(1, ||P||_F)``; on data ``P`` is the output
    ``Yhat``), the threshold ``tol * scale`` and ``||grad g||_F`` there: what `critical_point` and
    `linearization` both start from."""
    _check_net(net)
    tol = _v.positive(tol, "tol", allow_zero=True)
    if scale is not None:
        scale = _v.positive(scale, "scale")
    point = _make_point(net, Ws)
    if scale is None:
        scale = max(1.0, float(np.linalg.norm(point.P)))
    grad_norm = float(np.linalg.norm(np.concatenate([g.ravel() for g in net.gradient(point.Ws)])))
    return point, float(scale), tol * scale, grad_norm


def _make_point(net, Ws: Sequence[np.ndarray]) -> _Point | _SweptPoint:
    """The point's HVP machinery: eq. 4's products for the linear network, the core's flow otherwise."""
    return _Point(net, Ws) if _check_net(net).linear else _SweptPoint(net, Ws)


class _Point:
    """Prefixes, suffixes, ``P`` and ``grad f(P)`` at one point, reused by many HVPs."""

    def __init__(self, net, Ws: Sequence[np.ndarray]) -> None:
        self.net = _check_net(net)
        self.Ws = _layers(net, Ws, "Ws")
        N = net.depth
        m, n = net.cost.shape
        # R[i] = W_i ... W_1 (R[0] = I_n); S[i] = W_N ... W_{i+1} (S[N] = I_m); 0-based layer i -> W_{i+1}
        R = [np.eye(n)]
        for W in self.Ws:
            R.append(W @ R[-1])
        S = [None] * (N + 1)
        S[N] = np.eye(m)
        for i in range(N - 1, -1, -1):
            S[i] = S[i + 1] @ self.Ws[i]
        self.R, self.S = R, S
        self.P = R[N]
        value, G = net.cost.value_and_grad(self.P)
        if not np.isfinite(value) or not np.all(np.isfinite(G)):
            raise ValueError("the product W_N...W_1 is outside the cost's domain (f or grad f is not finite)")
        self.value = float(value)
        self.G = G

    def grad(self) -> list[np.ndarray]:
        """``grad_i g = S_i^T G R_i^T`` (layer ``W_{i+1}`` at 0-based index ``i``)."""
        return [self.S[i + 1].T @ self.G @ self.R[i].T for i in range(self.net.depth)]

    def hvp(self, D: list[np.ndarray]) -> list[np.ndarray]:
        N, Ws, R, S, G = self.net.depth, self.Ws, self.R, self.S, self.G
        # dR[i] = d(W_i ... W_1), dR[0] = 0
        dR = [np.zeros_like(R[0])]
        for i in range(N):
            dR.append(D[i] @ R[i] + Ws[i] @ dR[i])
        # dS[i] = d(W_N ... W_{i+1}), dS[N] = 0
        dS = [None] * (N + 1)
        dS[N] = np.zeros_like(S[N])
        for i in range(N - 1, -1, -1):
            dS[i] = dS[i + 1] @ Ws[i] + S[i + 1] @ D[i]
        dP = dR[N]
        dG = self.net.cost.hvp(self.P, dP)
        out = []
        for i in range(N):  # layer W_{i+1}: suffix S[i+1], prefix R[i]
            Si, Ri = S[i + 1], R[i]
            term = Si.T @ dG @ Ri.T
            term = term + dS[i + 1].T @ G @ Ri.T + Si.T @ G @ dR[i].T
            out.append(term)
        return out


class _SweptPoint:
    """A network on data or with an activation at one point: ``P`` is the output ``Yhat``, ``G = grad f(Yhat)``,
    and ``Hess g[D] = -J D`` by the core's exact Jacobian of the flow."""

    def __init__(self, net, Ws: Sequence[np.ndarray]) -> None:
        self.net = _check_net(net)
        self.Ws = _layers(net, Ws, "Ws")
        self._y = net.flatten(self.Ws)
        self.P = net.product(self.Ws)
        value, G = net.cost.value_and_grad(self.P)
        if not np.isfinite(value) or not np.all(np.isfinite(G)):
            raise ValueError("the network's output Yhat is outside the cost's domain (f or grad f is not finite)")
        self.value = float(value)
        self.G = G
        self._grad = [-d for d in net.unflatten(net.rhs(self._y)[1])]

    def grad(self) -> list[np.ndarray]:
        """``grad g``, one array per layer."""
        return [g.copy() for g in self._grad]

    def hvp(self, D: list[np.ndarray]) -> list[np.ndarray]:
        net, cost = self.net, self.net.cost
        d = np.concatenate([np.ravel(x) for x in D])
        jd = _core.flow_jvp(
            net.dims,
            cost.vg_address,
            cost.hvp_address,
            cost.data,
            self._y,
            d,
            net.activation or "none",
            **net._flow_arguments(),
        )
        return [-x for x in net.unflatten(jd)]


def hessian_vector_product(net, Ws: Sequence[np.ndarray], D: Sequence[np.ndarray]) -> list[np.ndarray]:
    """``Hess g(W)[D]``, one array per layer (exact when the cost's ``hvp`` is exact).

    Parameters
    ----------
    net : overflow.Network
        A linear network, or one on data or with an activation that is twice differentiable (not relu
        or leaky_relu).
    Ws, D : list of ndarray (or flat states)
        The point and the direction, both with ``net.shapes``.

    Raises
    ------
    ValueError
        If a layer has the wrong shape or is not finite, ``P`` (on data ``Yhat``) is outside the cost's
        domain, or the activation is relu or leaky_relu.
    """
    point = _make_point(net, Ws)
    return point.hvp(_layers(net, D, "D"))


def hessian_operator(net, Ws: Sequence[np.ndarray], _point: _Point | _SweptPoint | None = None) -> LinearOperator:
    """``Hess g(W)`` as a symmetric ``scipy.sparse.linalg.LinearOperator`` on flat states (for ``eigsh``)."""
    point = _point if _point is not None else _make_point(net, Ws)
    size = point.net.state_size

    def matvec(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64).reshape(size)
        return np.concatenate([h.ravel() for h in point.hvp([np.array(d) for d in net.unflatten(x)])])

    return LinearOperator((size, size), matvec=matvec, rmatvec=matvec, dtype=np.float64)


def dense_hessian(net, Ws: Sequence[np.ndarray], _point: _Point | _SweptPoint | None = None) -> np.ndarray:
    """The ``state_size x state_size`` Hessian of ``g`` in the flat-state layout, built column by
    column from HVPs and symmetrised (``(H + H^T) / 2``)."""
    size = _check_net(net).state_size
    _v.check_memory(16 * size * size, "net", net, f"the dense {size} x {size} Hessian (and its transpose)")
    op = hessian_operator(net, Ws, _point)
    H = np.empty((size, size))
    e = np.zeros(size)
    for j in range(size):
        e[j] = 1.0
        H[:, j] = op.matvec(e)
        e[j] = 0.0
    return 0.5 * (H + H.T)
