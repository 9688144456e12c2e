"""Classification of a point of ``g(W) = f(W_N ... W_1)`` (theorems 3-4, lemma 17 of the paper).

Scale
-----
Every tolerance is multiplied by ``scale = max(1, ||P||_F)`` (``P = W_N ... W_1``) unless a
``scale`` is given: an absolute tolerance for products of size about one, a relative one for large
products (``grad f``, ``grad g`` and the Hessian all grow with the size of the weights).

Networks on data
----------------
With ``inputs=X`` (or an activation on the identity input) ``f`` is the loss on the network's output
``Yhat`` and ``P`` stands for ``Yhat`` throughout: ``critical_of_f`` means ``grad f(Yhat) = 0`` (for
the squared loss, the data interpolated). The activation must be twice differentiable (relu and
leaky_relu are refused); lemma 17 is for linear networks only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse.linalg import ArpackNoConvergence, eigsh

from .. import _validate as _v
from .hessian import _check_net, _Point, _tested_point, dense_hessian, hessian_operator

__all__ = ["CriticalPoint", "critical_point", "lemma17_direction", "DENSE_LIMIT"]

DENSE_LIMIT = 600  # state sizes up to this use numpy.linalg.eigh on the dense Hessian

KINDS = ("not_critical", "critical_of_f", "strict_saddle", "degenerate")


@dataclass
class CriticalPoint:
    """What `critical_point` found.

    Attributes
    ----------
    kind : {"not_critical", "critical_of_f", "strict_saddle", "degenerate"}
        ``not_critical``: ``||grad g|| > tol*scale``. ``critical_of_f``: critical for ``g`` and
        ``||grad f(P)|| <= tol*scale`` (theorem 4's good limits). ``strict_saddle``: critical for
        ``g``, not for ``f``, with a Hessian eigenvalue ``< -tol*scale`` (lemma 17's case).
        ``degenerate``: critical for ``g``, not for ``f``, Hessian ``>= -tol*scale`` (e.g. the origin
        for ``N >= 3``, or a network too narrow for lemma 17's kernel to exist).
    grad_norm : float
        ``||grad g(W)||_F``.
    f_grad_norm : float
        ``||grad f(P)||_F`` (on data ``||grad f(Yhat)||_F``).
    min_eigenvalue : float
        The smallest eigenvalue of ``Hess g(W)``.
    direction : list of ndarray or None
        A unit eigenvector for ``min_eigenvalue`` when it is ``< -tol*scale``, else None.
    scale : float
        The factor applied to ``tol``.
    lemma17_direction : list of ndarray or None
        Depth 2, critical for ``g`` but not for ``f``: lemma 17's unit direction (see
        `lemma17_direction`); None otherwise or when its kernel vector does not exist.
    lemma17_curvature : float or None
        ``<D, Hess g[D]>`` for that direction (always ``< 0`` when it exists).
    lemma17_sigma : float or None
        The singular value ``sigma = ||grad f(P)||_2`` used by the lemma.
    """

    kind: str
    grad_norm: float
    f_grad_norm: float
    min_eigenvalue: float
    direction: list | None
    scale: float
    lemma17_direction: list | None = None
    lemma17_curvature: float | None = None
    lemma17_sigma: float | None = None


def _flat(Ds: Sequence[np.ndarray]) -> np.ndarray:
    return np.concatenate([np.asarray(D).ravel() for D in Ds])


def _min_eig(net, point: _Point, dense_limit: int) -> tuple[float, np.ndarray]:
    size = net.state_size
    if size <= dense_limit:
        w, V = np.linalg.eigh(dense_hessian(net, None, point))
        return float(w[0]), V[:, 0]
    op = hessian_operator(net, None, point)
    v0 = np.random.default_rng(0).standard_normal(size)
    try:
        w, V = eigsh(op, k=1, which="SA", v0=v0, maxiter=max(1000, 20 * size))
    except ArpackNoConvergence as exc:  # e.g. a (near-)zero Hessian: fall back to what converged
        if len(exc.eigenvalues) == 0:
            raise RuntimeError("eigsh did not converge for the smallest Hessian eigenvalue") from exc
        w, V = exc.eigenvalues, exc.eigenvectors
    j = int(np.argmin(w))
    v = V[:, j]
    return float(w[j]), v / np.linalg.norm(v)


def _null_space(A: np.ndarray, rtol: float = 1e-10) -> np.ndarray:
    """Orthonormal basis (columns) of ``ker A``, relative rank tolerance ``rtol``."""
    _, s, Vt = np.linalg.svd(A)
    cutoff = rtol * max(s[0] if s.size else 0.0, 1.0)
    rank = int(np.sum(s > cutoff))
    return Vt[rank:].T


def lemma17_direction(net, Ws: Sequence[np.ndarray], _point: _Point | None = None):
    """Lemma 17's negative-curvature direction at a depth-2 point ``(W_1, W_2)``.

    The lemma: if ``(W_1, W_2)`` is critical for ``g`` but ``W_2 W_1`` is not critical for ``f``,
    it is a strict saddle. Proof: take a singular pair ``(psi, phi)`` of ``grad f(P)`` with
    ``sigma = psi^T grad f(P) phi > 0`` and a unit ``gamma`` with ``gamma^T W_1 = 0``; with
    ``M_1 = -gamma phi^T`` and ``M_2 = psi gamma^T`` (so ``M_2 W_1 = 0``), the second-order term of
    ``g`` along ``(p M_1, q M_2)`` is ``-sigma p q + b p^2`` (``b = f''(P)[W_2 M_1, W_2 M_1]``),
    negative for ``p = q^2`` and small ``q``.

    Here ``sigma`` is the largest singular value; ``gamma`` is taken in ``ker W_1^T`` with the
    smallest ``||W_2 gamma||`` (``b = 0`` when ``W_2 gamma = 0``); if ``ker W_1^T = {0}`` the
    mirror construction with ``gamma in ker W_2`` (so ``W_2 M_1 = 0``) is used. The weights
    ``(p, q)`` (unit norm) are then chosen optimally: the Hessian restricted to
    ``span{(M_1, 0), (0, M_2)}`` is ``[[h11, -sigma], [-sigma, h22]]`` with one of ``h11, h22``
    zero, so its smallest eigenvalue ``(h - sqrt(h^2 + 4 sigma^2)) / 2`` is strictly negative, and
    equals ``-sigma`` when ``b = 0`` (for instance at the origin, where it is the minimum of the
    whole spectrum).

    Returns
    -------
    (direction, curvature, sigma)
        ``direction`` a unit list of layers, ``curvature = <D, Hess g[D]>``; ``(None, None, sigma)``
        when neither kernel is non-trivial (possible when the hidden width is below ``min(m, n)``:
        then the lemma's claim that such a ``gamma`` always exists fails).

    Raises
    ------
    ValueError
        If the network is not linear or its depth is not 2.
    """
    if not _check_net(net).linear:
        raise ValueError(f"lemma 17 is for linear networks (activation=None, no inputs), got {net!r}")
    if net.depth != 2:
        raise ValueError(f"lemma 17 is for depth 2, got depth {net.depth}")
    point = _point if _point is not None else _Point(net, Ws)
    W1, W2 = point.Ws
    U, s, Vt = np.linalg.svd(point.G)
    sigma = float(s[0])
    if sigma == 0.0:
        return None, None, sigma
    psi, phi = U[:, 0], Vt[0]
    k = W1.shape[0]
    K = _null_space(W1.T)  # ker W_1^T in R^k
    if K.shape[1] > 0:
        # gamma in ker W_1^T minimising ||W_2 gamma||
        _, _, Zt = np.linalg.svd(W2 @ K)
        gamma = K @ Zt[-1] if Zt.shape[0] == K.shape[1] else K[:, -1]
    else:
        K2 = _null_space(W2)  # ker W_2 in R^k
        if K2.shape[1] == 0:
            return None, None, sigma
        gamma = K2[:, 0]
    gamma = gamma / np.linalg.norm(gamma)
    assert gamma.shape == (k,)
    M1 = -np.outer(gamma, phi)  # unit Frobenius norm
    M2 = np.outer(psi, gamma)
    Z1, Z2 = np.zeros_like(W1), np.zeros_like(W2)
    E1, E2 = [M1, Z2], [Z1, M2]
    HE1, HE2 = point.hvp(E1), point.hvp(E2)
    h11 = float(_flat(E1) @ _flat(HE1))
    h12 = float(_flat(E1) @ _flat(HE2))
    h22 = float(_flat(E2) @ _flat(HE2))
    w, V = np.linalg.eigh(np.array([[h11, h12], [h12, h22]]))
    p, q = V[:, 0]
    D = [p * M1, q * M2]
    HD = point.hvp(D)
    curvature = float(_flat(D) @ _flat(HD))
    return D, curvature, sigma


def critical_point(
    net, Ws: Sequence[np.ndarray], tol: float = 1e-8, scale: float | None = None, dense_limit: int = DENSE_LIMIT
) -> CriticalPoint:
    """Classify the point ``W`` of ``g`` (see `CriticalPoint` for the kinds).

    Parameters
    ----------
    net : overflow.Network
        A linear network, or one on data or with an activation that is twice differentiable (see the
        module's notes on networks on data).
    Ws : list of ndarray (or a flat state)
    tol : float
        Relative tolerance; every test compares with ``tol * scale``.
    scale : float, optional
        Default ``max(1, ||W_N ... W_1||_F)`` (on data ``max(1, ||Yhat||_F)``).
    dense_limit : int
        The Hessian's smallest eigenpair comes from ``numpy.linalg.eigh`` on the dense Hessian when
        ``net.state_size <= dense_limit``, else from ``scipy.sparse.linalg.eigsh(which="SA")`` on
        the matrix-free operator.

    Raises
    ------
    ValueError
        Wrong layer shapes, non-finite weights, a product outside the cost's domain, a bad ``tol``, or
        the activation relu or leaky_relu (no Hessian at the kinks).
    """
    dense_limit = _v.integer(dense_limit, "dense_limit", minimum=0)
    point, scale, thr, grad_norm = _tested_point(net, Ws, tol, scale)
    f_grad_norm = float(np.linalg.norm(point.G))
    lam, v = _min_eig(net, point, dense_limit)
    direction = [np.array(d) for d in net.unflatten(v)] if lam < -thr else None
    if grad_norm > thr:
        kind = "not_critical"
    elif f_grad_norm <= thr:
        kind = "critical_of_f"
    elif lam < -thr:
        kind = "strict_saddle"
    else:
        kind = "degenerate"
    result = CriticalPoint(kind, grad_norm, f_grad_norm, lam, direction, scale)
    if net.linear and net.depth == 2 and kind in ("strict_saddle", "degenerate"):
        D, curv, sigma = lemma17_direction(net, None, point)
        result.lemma17_direction, result.lemma17_curvature, result.lemma17_sigma = D, curv, sigma
    return result
