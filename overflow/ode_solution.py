"""Dense output of `solve_ivp` and the `OdeSolver` classes, with scipy's classes' semantics.

Every method's interpolant over one step is a polynomial in ``theta = (t - t_old) / (t - t_old)``
of degree ``d`` (the method's dense-output order). The core hands it over as its values at the
Chebyshev-Lobatto points ``theta_k = (1 - cos(k pi / d)) / 2``, ``k = 0 .. d`` (node 0 the state at
the step's start, node d at its end), and it is evaluated here by the barycentric formula, which is
exact for polynomials of degree ``<= d`` and numerically stable on these points (the Lebesgue
constant grows like log d):

    p(theta) = sum_k w_k y_k / (theta - theta_k)  /  sum_k w_k / (theta - theta_k),
    w_k = (-1)^k, halved at k = 0 and k = d.

`DenseOutput` is one step (scipy's ``DenseOutput``); `OdeSolution` a whole run (scipy's
``OdeSolution``: the same segment choice at breakpoints and outside the range). Both subclass
scipy's, so code that checks ``isinstance`` against scipy's classes accepts them.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from itertools import groupby
from typing import Any

import numpy as np
from scipy.integrate import DenseOutput as _ScipyDenseOutput
from scipy.integrate import OdeSolution as _ScipyOdeSolution

__all__ = ["DenseOutput", "OdeSolution", "lobatto_nodes"]

# Points evaluated at once by OdeSolution: the gathered nodes take chunk * (d + 1) * n numbers.
_CHUNK_ENTRIES = 1 << 22


@lru_cache(maxsize=32)
def lobatto_nodes(degree: int) -> tuple[np.ndarray, np.ndarray]:
    """The Chebyshev-Lobatto points ``theta_k = (1 - cos(k pi / d)) / 2`` on [0, 1] (``k = 0..d``)
    and their barycentric weights ``(-1)^k``, halved at both ends (``d = 0``: the point 0, weight 1)."""
    if degree == 0:
        return np.zeros(1), np.ones(1)
    k = np.arange(degree + 1)
    theta = (1.0 - np.cos(k * np.pi / degree)) / 2.0
    theta[0], theta[-1] = 0.0, 1.0  # exact ends: the step's start and end states are nodes
    w = np.where(k % 2 == 0, 1.0, -1.0)
    w[0] *= 0.5
    w[-1] *= 0.5
    theta.flags.writeable = False
    w.flags.writeable = False
    return theta, w


def _coefficients(theta: np.ndarray, degree: int) -> np.ndarray:
    """``(m, d + 1)`` weights ``c`` with ``p(theta_j) = sum_k c[j, k] y_k`` (barycentric form; a
    theta on a node gets that node's value exactly)."""
    nodes, w = lobatto_nodes(degree)
    diff = theta[:, None] - nodes[None, :]
    on_node = diff == 0.0
    hit = on_node.any(axis=1)
    if hit.any():
        diff[on_node] = 1.0
    c = w / diff
    with np.errstate(divide="ignore", invalid="ignore"):  # rows on a node are replaced below
        c /= c.sum(axis=1, keepdims=True)
    if hit.any():
        c[hit] = on_node[hit]
    return c


def _as_times(t: Any) -> np.ndarray:
    t = np.asarray(t)
    if t.ndim > 1:
        raise ValueError("`t` must be a float or a 1-D array.")
    if t.dtype.kind not in "iuf":
        raise TypeError(f"t must be a real number or a 1-D array of them, got values of dtype {t.dtype}")
    return t


class DenseOutput(_ScipyDenseOutput):
    """The interpolant of one step, from ``t_old`` to ``t`` (scipy's ``DenseOutput``).

    Parameters
    ----------
    t_old, t : float
        The step's start and end (``t < t_old`` for a backward step; equal for the constant
        interpolant of a zero-length span).
    nodes : array_like, shape (d + 1, n)
        The polynomial's values at the Chebyshev-Lobatto points of the step (`lobatto_nodes`);
        one row is a constant.

    Attributes
    ----------
    t_old, t, t_min, t_max : float
        As scipy's: ``t_min, t_max`` the step's range. Evaluation outside it extrapolates the
        polynomial (allowed, accuracy not guaranteed).
    degree : int
        The polynomial's degree ``d``.
    nodes : ndarray, shape (d + 1, n)
    """

    def __init__(self, t_old: float, t: float, nodes: Any) -> None:
        super().__init__(float(t_old), float(t))
        nodes = np.asarray(nodes)
        if nodes.ndim != 2 or nodes.shape[0] < 1:
            raise ValueError(f"nodes must have shape (d + 1, n), got {nodes.shape}")
        if nodes.dtype.kind not in "fc":
            nodes = nodes.astype(np.float64)
        self.nodes = nodes
        self.degree = nodes.shape[0] - 1

    def __call__(self, t: Any) -> np.ndarray:
        """The interpolant at ``t``: a scalar gives shape ``(n,)``, a 1-D array ``(n, m)``."""
        return self._call_impl(_as_times(t))

    def _call_impl(self, t: np.ndarray) -> np.ndarray:
        scalar = t.ndim == 0
        ts = np.atleast_1d(t).astype(np.float64)
        if self.degree == 0 or self.t == self.t_old:
            y = np.repeat(self.nodes[:1].T, ts.size, axis=1)
        else:
            c = _coefficients((ts - self.t_old) / (self.t - self.t_old), self.degree)
            y = (c @ self.nodes).T
        return y[:, 0].copy() if scalar else y

    def __repr__(self) -> str:
        return f"DenseOutput(t_old={self.t_old!r}, t={self.t!r}, degree={self.degree}, n={self.nodes.shape[1]})"


class OdeSolution(_ScipyOdeSolution):
    """The dense output of a whole run (scipy's ``OdeSolution``), callable on a time or an array of
    times anywhere in the run.

    Parameters
    ----------
    ts : array_like, shape (n_segments + 1,)
        The breakpoints in the integration's order: strictly increasing or strictly decreasing (or
        two equal values: a zero-length run).
    interpolants : list of DenseOutput
        Segment ``i`` covers ``ts[i]`` to ``ts[i + 1]``; any callables ``f(t)`` with scipy's
        ``DenseOutput`` behaviour work.
    alt_segment : bool
        scipy's option: at a breakpoint use the later segment instead of the earlier one.

    Notes
    -----
    As in scipy: a time outside ``[t_min, t_max]`` is served by the first or last segment (the
    polynomial extrapolated); a time exactly at an inner breakpoint by the segment with the lower
    index (``alt_segment=False``). A scalar time gives shape ``(n,)``, a 1-D array ``(n, m)`` in the
    order given. The runs of `overflow.solve_ivp` are evaluated vectorised over all the times at
    once; their ``interpolants`` are built on first access.

    Attributes
    ----------
    ts : ndarray
    n_segments : int
    interpolants : list of DenseOutput
    t_min, t_max : float
    ascending : bool
        True when the run went forward in time.
    """

    def __init__(self, ts: Any, interpolants: Sequence[Any], alt_segment: bool = False) -> None:
        super().__init__(ts, list(interpolants), alt_segment=alt_segment)
        self._nodes: np.ndarray | None = None

    @classmethod
    def from_nodes(
        cls,
        ts: np.ndarray,
        bounds: np.ndarray,
        nodes: np.ndarray,
        alt_segment: bool = False,
    ) -> OdeSolution:
        """A run's dense output from its recorded steps: ``nodes`` ``(S, d + 1, n)``, step ``s``'s
        polynomial on ``[bounds[s], bounds[s + 1]]`` (`lobatto_nodes`), segment ``s`` covering
        ``ts[s]`` to ``ts[s + 1]`` (``ts`` equals ``bounds`` except where a terminal event cut the
        last step short)."""
        self = cls.__new__(cls)
        ts = np.asarray(ts, dtype=np.float64)
        _ScipyOdeSolution.__init__(self, ts, [None] * (ts.size - 1), alt_segment=alt_segment)
        if nodes.shape[0] != self.n_segments or bounds.shape != ts.shape:
            raise ValueError(f"{nodes.shape[0]} recorded steps and {bounds.size} bounds for {self.n_segments} segments")
        self.interpolants = _LazyInterpolants(bounds, nodes)
        self._nodes, self._bounds = nodes, bounds
        return self

    def __call__(self, t: Any) -> np.ndarray:
        """The solution at ``t``: a scalar gives shape ``(n,)``, a 1-D array ``(n, m)``."""
        t = _as_times(t)
        if self._nodes is None:
            return self._call_interpolants(t)
        scalar = t.ndim == 0
        ts = np.atleast_1d(t).astype(np.float64)
        seg = self._segments(ts)
        lo, hi = self._bounds[seg], self._bounds[seg + 1]
        theta = (ts - lo) / (hi - lo)
        degree = self._nodes.shape[1] - 1
        n = self._nodes.shape[2]
        y = np.empty((n, ts.size), dtype=self._nodes.dtype)
        chunk = max(1, _CHUNK_ENTRIES // ((degree + 1) * max(n, 1)))
        for a in range(0, ts.size, chunk):
            b = min(a + chunk, ts.size)
            c = _coefficients(theta[a:b], degree)
            y[:, a:b] = np.einsum("mk,mkn->nm", c, self._nodes[seg[a:b]])
        return y[:, 0].copy() if scalar else y

    def _segments(self, t: np.ndarray) -> np.ndarray:
        """scipy's segment choice for each of ``t`` (searchsorted on the ascending breakpoints)."""
        seg = np.searchsorted(self.ts_sorted, t, side=self.side) - 1
        np.clip(seg, 0, self.n_segments - 1, out=seg)
        if not self.ascending:
            seg = self.n_segments - 1 - seg
        return seg

    def _call_interpolants(self, t: np.ndarray) -> np.ndarray:
        if t.ndim == 0:
            return self.interpolants[int(self._segments(t.reshape(1))[0])](t)
        order = np.argsort(t)
        t_sorted = t[order]
        segments = self._segments(t_sorted)
        parts, start = [], 0
        for segment, group in groupby(segments):
            end = start + len(list(group))
            parts.append(self.interpolants[int(segment)](t_sorted[start:end]))
            start = end
        ys = np.hstack(parts) if parts else np.zeros((0, 0))
        out = np.empty_like(ys)
        out[:, order] = ys
        return out

    def __repr__(self) -> str:
        return f"OdeSolution(t_min={self.t_min!r}, t_max={self.t_max!r}, n_segments={self.n_segments})"


class _LazyInterpolants(Sequence):
    """`OdeSolution.interpolants` of a recorded run: each step's `DenseOutput`, made when read."""

    def __init__(self, bounds: np.ndarray, nodes: np.ndarray) -> None:
        self._bounds, self._nodes = bounds, nodes

    def __len__(self) -> int:
        return self._nodes.shape[0]

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = range(len(self))[i]
        return DenseOutput(self._bounds[i], self._bounds[i + 1], self._nodes[i])

    def __repr__(self) -> str:
        return f"<{len(self)} DenseOutput interpolants>"
