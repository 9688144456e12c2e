r"""Figures of the paper, drawn with matplotlib (optional dependency: ``pip install overflow[plot]``).

- `phase_portrait` -- Figure 3: the scalar factorization problem with a linear and with a
  sigmoidal (isru) network, target set, centre-stable and unstable manifolds of the saddle (eq. 9-11).
- `loss_vs_imbalance` -- Proposition 7: larger imbalance, faster convergence, same initial product.
- `invariant_drift` -- numerical drift of the invariants ``C_i`` (definition 1, proposition 2) per method.
- `foliation` -- Figure 2 for the scalar case: trajectories stay on the level sets of ``C = w1^2 - w2^2``.

Every function builds a standalone ``matplotlib.figure.Figure`` (no pyplot state, no display
needed), returns it and, when ``path`` is given, saves it there as a PNG. matplotlib is imported
only when a function is called.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import _validate as _v

__all__ = ["foliation", "invariant_drift", "loss_vs_imbalance", "phase_portrait"]


# -- helpers ------------------------------------------------------------------------------------


def _figure(**kwargs: Any) -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - exercised only without matplotlib
        raise ImportError("overflow.plot needs matplotlib: pip install overflow[plot]") from exc
    return Figure(**kwargs)


def _finish(fig: Any, path: Any) -> Any:
    if path is not None:
        fig.savefig(path, format="png", dpi=100)
    return fig


def _default_f(z: Any) -> Any:
    return (1.0 - z) ** 2


def _default_df(z: Any) -> Any:
    return -2.0 * (1.0 - z)


def _default_d2f(z: Any) -> Any:
    return 2.0


_DEFAULT_COST: list[Any] = []


def _default_cost() -> Any:
    if not _DEFAULT_COST:
        from . import costs

        _DEFAULT_COST.append(costs.scalar(_default_f, _default_df, _default_d2f, f_star=0.0))
    return _DEFAULT_COST[0]


def _scalar_functions(f: Any, df: Any) -> tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]:
    """``(f, f')`` as functions of numpy arrays, from callables, a 1x1 `Cost`, or None (``(1 - z)^2``)."""
    from .costs import Cost

    if f is None:
        if df is not None:
            raise ValueError("df given without f")
        return _default_f, _default_df
    if isinstance(f, Cost):
        if tuple(f.shape) != (1, 1):
            raise ValueError(f"phase portraits need a scalar cost of shape (1, 1), got {f.shape}")
        cost = f

        def vg(z: float) -> tuple[float, float]:
            val, grad = cost.value_and_grad(np.array([[z]], dtype=np.float64))
            return float(val), float(np.asarray(grad).reshape(-1)[0])

        fv = np.vectorize(lambda z: vg(float(z))[0], otypes=[float])
        dfv = np.vectorize(lambda z: vg(float(z))[1], otypes=[float])
        if df is not None:
            dfv = df
        return fv, dfv
    if not callable(f):
        raise TypeError(f"f must be callable, a 1x1 overflow Cost or None, got {type(f).__name__}")
    fv = np.vectorize(lambda z: float(f(float(z))), otypes=[float])
    if df is None:

        def dfv(z: Any) -> Any:
            z = np.asarray(z, dtype=np.float64)
            h = 1e-6 * np.maximum(1.0, np.abs(z))
            return (fv(z + h) - fv(z - h)) / (2.0 * h)
    else:
        if not callable(df):
            raise TypeError(f"df must be callable, got {type(df).__name__}")
        dfv = np.vectorize(lambda z: float(df(float(z))), otypes=[float])
    return fv, dfv


def _argmin_z(fv: Callable[[np.ndarray], np.ndarray], zmax: float) -> float:
    """A global minimiser of ``f`` on ``[-zmax, zmax]``: grid search then golden-section refinement."""
    from scipy.optimize import minimize_scalar

    zs = np.linspace(-zmax, zmax, 4001)
    vals = np.asarray(fv(zs), dtype=np.float64)
    vals = np.where(np.isfinite(vals), vals, np.inf)
    i = int(np.argmin(vals))
    lo, hi = zs[max(i - 1, 0)], zs[min(i + 1, zs.size - 1)]
    if hi > lo:
        res = minimize_scalar(
            lambda z: float(fv(np.asarray(z))), bounds=(lo, hi), method="bounded", options={"xatol": 1e-12}
        )
        if res.success and float(fv(np.asarray(res.x))) <= vals[i]:
            return float(res.x)
    return float(zs[i])


def _isru(x: np.ndarray) -> np.ndarray:
    """``sigma(x) = x / sqrt(1 + x^2)`` (eq. 8)."""
    return x / np.sqrt(1.0 + x * x)


def _disru(x: np.ndarray) -> np.ndarray:
    """``sigma'(x) = (1 + x^2)^(-3/2)``."""
    return (1.0 + x * x) ** -1.5


def _field(
    kind: str, dfv: Callable[[np.ndarray], np.ndarray], w1: np.ndarray, w2: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The gradient flow ``(-dg/dw1, -dg/dw2)`` of ``g = f(w2 w1)`` (linear) or ``f(w2 sigma(w1))`` (eq. 9)."""
    if kind == "linear":
        d = np.asarray(dfv(w2 * w1), dtype=np.float64)
        return -d * w2, -d * w1
    s = _isru(w1)
    d = np.asarray(dfv(w2 * s), dtype=np.float64)
    return -d * w2 * _disru(w1), -d * s


# Figures draw a few hundred curves at most; a larger count is a typo that would allocate first.
_MAX_COUNT = 10_000


# -- Figure 3 -----------------------------------------------------------------------------------


def phase_portrait(
    f: Any = None,
    df: Any = None,
    *,
    lim: float = 2.5,
    target: float | None = None,
    density: float = 1.2,
    path: Any = None,
) -> Any:
    r"""Phase portraits of the scalar factorization problem, linear vs sigmoidal network (Figure 3).

    Two panels for the two-parameter network (depth 2, width 1) on a scalar cost ``f``:

    - left, linear: ``g(w1, w2) = f(w2 w1)``, flow ``w1' = -f'(z) w2``, ``w2' = -f'(z) w1``;
    - right, isru: ``g(w1, w2) = f(w2 sigma(w1))`` with ``sigma(x) = x / sqrt(1 + x^2)`` (eq. 8),
      flow ``w1' = -f'(z) sigma'(w1) w2``, ``w2' = -f'(z) sigma(w1)`` (eq. 9), ``sigma'(x) = (1 + x^2)^(-3/2)``.

    Streamlines of the flow are computed in numpy on a grid. In black the target set
    ``{z = z*}`` (``z*`` the minimiser of ``f``); in red the centre-stable manifold of the saddle at
    the origin and in blue its unstable manifold. With ``s = sign f'(0)`` these are, for the linear
    network, the lines ``w2 = s w1`` (red) and ``w2 = -s w1`` (blue); for the isru network the
    level set ``C = -1/2`` of the invariant ``C = w2^2 - (1 + w1^2)^2 / 2`` of Proposition 8 (eq. 10),
    i.e. the curves of eq. 11, ``w2 = s w1 sqrt((2 + w1^2) / 2)`` (red) and
    ``w2 = -s w1 sqrt((2 + w1^2) / 2)`` (blue). Near the origin both flows linearize to
    ``w' = -f'(0) [[0, 1], [1, 0]] w``, whose stable eigenvector is ``(1, s)``.

    Parameters
    ----------
    f : callable or Cost, optional
        The scalar cost ``f(z)`` (a Python callable on floats or a 1x1 ``overflow`` cost).
        Default ``f(z) = (1 - z)^2`` as in the paper.
    df : callable, optional
        ``f'(z)``; by default the cost's gradient, or a central difference of ``f``.
    lim : float
        The panels show ``[-lim, lim]^2``.
    target : float, optional
        ``z*`` of the target set; by default 1 for the default cost, else the minimiser of ``f`` on
        ``[-lim^2, lim^2]`` (grid search and refinement).
    density : float
        Streamline density (``Axes.streamplot``).
    path : str or path-like, optional
        Where to save the figure as PNG.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes (linear, isru). The curves are ``Line2D`` objects with colours ``"black"``
        (labels ``"target"``), ``"red"`` (``"centre-stable"``) and ``"blue"`` (``"unstable"``).

    Raises
    ------
    ValueError
        If ``f'(0) == 0`` (no strict saddle at the origin, ``s`` undefined) or ``lim <= 0``.
    """
    lim = _v.positive(lim, "lim")
    fv, dfv = _scalar_functions(f, df)
    df0 = float(np.asarray(dfv(np.asarray(0.0))))
    if not math.isfinite(df0) or df0 == 0.0:
        raise ValueError(f"f'(0) = {df0}: the saddle at the origin needs f'(0) != 0 (s = sign f'(0))")
    s = 1.0 if df0 > 0 else -1.0
    if target is None:
        target = 1.0 if f is None else _argmin_z(fv, max(lim * lim, 1.0))
    target = float(target)

    fig = _figure(figsize=(11.0, 5.0), layout="constrained")
    axes = fig.subplots(1, 2)
    n = 81
    g = np.linspace(-lim, lim, n)
    W1, W2 = np.meshgrid(g, g)
    w = np.linspace(-lim, lim, 801)
    for ax, kind, title in zip(
        axes, ("linear", "isru"), ("linear: $z = w_2 w_1$", r"isru: $z = w_2\,\sigma(w_1)$ (eq. 9)")
    ):
        U, V = _field(kind, dfv, W1, W2)
        ax.streamplot(W1, W2, U, V, density=density, color="0.6", linewidth=0.7, arrowsize=0.8)
        if kind == "linear":
            red, blue = s * w, -s * w
        else:
            root = w * np.sqrt((2.0 + w * w) / 2.0)
            red, blue = s * root, -s * root
        ax.plot(w, red, color="red", lw=2.0, label="centre-stable")
        ax.plot(w, blue, color="blue", lw=2.0, label="unstable")
        first = True
        if target != 0.0:
            for side in (-1.0, 1.0):
                x = side * np.linspace(1e-3, lim, 800)
                y = target / x if kind == "linear" else target / _isru(x)
                y = np.where(np.abs(y) <= 1.5 * lim, y, np.nan)
                if np.any(np.isfinite(y)):
                    ax.plot(x, y, color="black", lw=2.0, label="target" if first else "_target")
                    first = False
        else:
            ax.plot(w, np.zeros_like(w), color="black", lw=2.0, label="target")
            ax.plot(np.zeros_like(w), w, color="black", lw=2.0, label="_target")
        ax.plot([0.0], [0.0], "o", color="black", ms=5, label="_saddle")
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.set_xlabel("$w_1$")
        ax.set_ylabel("$w_2$")
        ax.set_title(title)
        ax.legend(loc="lower right", fontsize="small")
    return _finish(fig, path)


# -- Proposition 7 ------------------------------------------------------------------------------


def loss_vs_imbalance(
    cost: Any, z0: float, cs: Sequence[float], t_span: Sequence[float], *, num: int = 200, path: Any = None
) -> Any:
    r"""Loss against time for several imbalances at the same initial product (Proposition 7).

    For each ``c`` in ``cs`` the product obeys ``z' = -f'(z) sqrt(c + 4 z^2)`` (eq. 19), integrated
    with `overflow.vector.reduced_flow` from ``z(0) = z0``; Proposition 7 says the loss of the
    larger imbalance is below the other at every ``t > 0`` (strictly when ``f'(z0) != 0``).

    Parameters
    ----------
    cost : Cost
        A 1x1 cost.
    z0 : float
        The common initial product ``w2 w1``.
    cs : sequence of float
        Imbalances ``c = (|w1|^2 + |w2|^2)^2 - 4 z0^2 >= 0``, one curve each.
    t_span : (float, float)
        Time interval.
    num : int
        Number of saved times (evenly spaced), 2 to 10**7.
    path : str or path-like, optional
        Where to save the figure as PNG.

    Returns
    -------
    matplotlib.figure.Figure
        One axes, log-scale y, one line per ``c`` (label ``"c = ..."``), in the order of ``cs``.
        The y data are ``f(z(t)) - f*`` when ``cost.f_star`` is known, else ``f(z(t))``.
    """
    from .integrate import _check_t_span
    from .vector import reduced_flow

    cs = [float(c) for c in np.atleast_1d(_v.float_array(cs, "cs", "a sequence of real imbalances")).ravel()]
    if not cs:
        raise ValueError("cs must hold at least one imbalance")
    if len(cs) > _MAX_COUNT:
        raise ValueError(f"cs must hold at most {_MAX_COUNT} imbalances (one curve each), got {len(cs)}")
    t0, t1 = _check_t_span(t_span)
    num = _v.integer(num, "num", minimum=2, maximum=10**7)
    t_eval = np.linspace(t0, t1, num)
    f_star = getattr(cost, "f_star", None)
    fig = _figure(figsize=(6.5, 4.5), layout="constrained")
    ax = fig.subplots()
    for c in cs:
        sol = reduced_flow(cost, z0, c, (t0, t1), t_eval=t_eval)
        loss = np.asarray(sol.loss, dtype=np.float64)
        if f_star is not None:
            loss = loss - f_star
        ax.plot(sol.t, loss, label=f"c = {c:g}")
    ax.set_yscale("log", nonpositive="mask")
    ax.set_xlabel("t")
    ax.set_ylabel("$f(z(t)) - f^*$" if f_star is not None else "$f(z(t))$")
    ax.set_title(f"Proposition 7: same $z_0 = {float(z0):g}$, different imbalance")
    ax.legend(title="imbalance")
    return _finish(fig, path)


# -- invariants ---------------------------------------------------------------------------------


def invariant_drift(
    net: Any,
    Ws: Any,
    t_span: Sequence[float],
    methods: Sequence[str] | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    *,
    path: Any = None,
) -> Any:
    r"""Numerical drift of the invariants against time, one curve per method (Proposition 2).

    ``C_i = W_i W_i^T - W_{i+1}^T W_{i+1}`` (definition 1) is constant along exact solutions; for
    each method the flow is integrated with ``t_eval=None`` (every accepted step saved) and the
    curve is the running maximum ``max_{s <= t} max_i max |C_i(s) - C_i(0)|`` (entrywise), so it is
    non-decreasing.

    Parameters
    ----------
    net : Network
        A network of depth ``>= 2`` (depth 1 has no invariant).
    Ws : list of ndarray
        Initial layers.
    t_span : (float, float)
        Time interval.
    methods : sequence of str, optional
        Method names, default all of `overflow.METHODS`.
    rtol, atol : float
        Tolerances for every method.
    path : str or path-like, optional
        Where to save the figure as PNG.

    Returns
    -------
    matplotlib.figure.Figure
        One axes, log-scale y (zero drift is masked), one line per method labelled by its name.
    """
    from .integrate import METHODS, integrate
    from .invariants import invariants
    from .network import Network

    if not isinstance(net, Network):
        raise TypeError(f"net must be an overflow.Network, got {_v.describe(net)}")
    if getattr(net, "depth", 2) < 2:
        raise ValueError("a depth-1 network has no invariants C_i")
    if methods is None:
        methods = list(METHODS)
    elif isinstance(methods, str):
        methods = [methods]
    fig = _figure(figsize=(6.5, 4.5), layout="constrained")
    ax = fig.subplots()
    for m in methods:
        res = integrate(net, Ws, t_span, method=m, rtol=rtol, atol=atol, t_eval=None)
        Cs = invariants(res.weights)
        drift = np.zeros(np.asarray(res.t).size)
        for C in Cs:
            d = np.abs(C - C[:1]).reshape(C.shape[0], -1).max(axis=1)
            drift = np.maximum(drift, d)
        drift = np.maximum.accumulate(drift)
        ax.plot(res.t, drift, label=m)
    ax.set_yscale("log", nonpositive="mask")
    ax.set_xlabel("t")
    ax.set_ylabel(r"$\max_{s\leq t}\,\max_i |C_i(s) - C_i(0)|$")
    ax.set_title(f"invariant drift (rtol={rtol:g}, atol={atol:g})")
    ax.legend(title="method")
    return _finish(fig, path)


# -- Figure 2 -----------------------------------------------------------------------------------


def foliation(
    f: Any = None,
    *,
    lim: float = 2.5,
    n_starts: int = 5,
    t_final: float = 4.0,
    rtol: float = 1e-9,
    atol: float = 1e-12,
    path: Any = None,
) -> Any:
    r"""The foliation of the scalar two-parameter problem by the invariant's level sets (Figure 2).

    For the depth-2, width-1 network ``z = w2 w1`` the invariant of definition 1 is
    ``C = w1^2 - w2^2``; its level sets (hyperbolas, and the two diagonals for ``C = 0``) are drawn
    as contours, and trajectories of the flow integrated with `overflow.integrate` from an
    ``n_starts x n_starts`` grid of starts in ``[-0.8 lim, 0.8 lim]^2`` (origin excluded) are overlaid:
    each stays on the level set through its start. The target set ``w1 w2 = z*`` (``z*`` the
    minimiser of ``f`` on ``[-lim^2, lim^2]``) is drawn in black.

    Parameters
    ----------
    f : Cost or callable, optional
        A 1x1 cost, or a Numba-compilable ``f(z)`` passed to `overflow.costs.scalar`; default
        ``f(z) = (1 - z)^2``.
    lim : float
        The axes show ``[-lim, lim]^2``.
    n_starts : int
        Starts per axis, 1 to 100.
    t_final : float
        Integration time ``[0, t_final]``.
    rtol, atol : float
        Integrator tolerances.
    path : str or path-like, optional
        Where to save the figure as PNG.

    Returns
    -------
    matplotlib.figure.Figure
        One axes; trajectories are ``Line2D`` objects with gid ``"trajectory"``, the target set
        has colour ``"black"`` and gid ``"target"``.
    """
    from . import costs
    from .integrate import integrate
    from .network import Network

    lim = _v.positive(lim, "lim")
    n_starts = _v.integer(n_starts, "n_starts", minimum=1, maximum=100)  # n_starts**2 trajectories
    t_final = _v.positive(t_final, "t_final")
    if f is None:
        cost = _default_cost()
    elif isinstance(f, costs.Cost):
        cost = f
    elif callable(f):
        cost = costs.scalar(f)
    else:
        raise TypeError(f"f must be a 1x1 Cost, a callable or None, got {type(f).__name__}")
    if tuple(cost.shape) != (1, 1):
        raise ValueError(f"the scalar foliation needs a cost of shape (1, 1), got {cost.shape}")
    net = Network(cost, depth=2, width=1)

    fig = _figure(figsize=(6.0, 6.0), layout="constrained")
    ax = fig.subplots()
    g = np.linspace(-lim, lim, 301)
    W1, W2 = np.meshgrid(g, g)
    C = W1**2 - W2**2
    L2 = lim * lim
    ax.contour(W1, W2, C, levels=np.linspace(-L2, L2, 21), colors="0.85", linewidths=0.5, linestyles="solid")
    starts = np.linspace(-0.8 * lim, 0.8 * lim, n_starts)
    # the leaves through the starts, on which the trajectories below must stay
    own = np.unique(np.round([a * a - b * b for a in starts for b in starts], 12))
    ax.contour(W1, W2, C, levels=own, colors="0.45", linewidths=0.9, linestyles="solid")

    t_eval = np.linspace(0.0, float(t_final), 300)
    pairs = []
    for a in starts:
        for b in starts:
            if a == 0.0 and b == 0.0:
                continue
            pairs.append((a, b))
    for a, b in pairs:
        Ws = [np.array([[a]]), np.array([[b]])]
        res = integrate(net, Ws, (0.0, float(t_final)), rtol=rtol, atol=atol, t_eval=t_eval)
        w1 = np.asarray(res.weights[0])[:, 0, 0]
        w2 = np.asarray(res.weights[1])[:, 0, 0]
        (line,) = ax.plot(w1, w2, color="tab:orange", lw=1.3)
        line.set_gid("trajectory")
        ax.plot([a], [b], "o", color="tab:orange", ms=3, gid="start")

    vals = lambda z: float(cost.value_and_grad(np.array([[float(z)]]))[0])  # noqa: E731
    zstar = _argmin_z(np.vectorize(vals, otypes=[float]), max(L2, 1.0))
    if zstar != 0.0:
        for side in (-1.0, 1.0):
            x = side * np.linspace(1e-3, lim, 600)
            y = zstar / x
            y = np.where(np.abs(y) <= 1.5 * lim, y, np.nan)
            ax.plot(x, y, color="black", lw=2.0, gid="target")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xlabel("$w_1$")
    ax.set_ylabel("$w_2$")
    ax.set_title(r"Figure 2: level sets of $C = w_1^2 - w_2^2$ and trajectories")
    return _finish(fig, path)
