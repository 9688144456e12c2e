"""Numerical checks of the claims of the companion paper (``overflow paper``).

Each ``check_*`` function tests one claim of Oliveira, Jatkar & Sontag (2026) on a few seeded
random costs and initializations and returns a `Check` (claim, what was run, measured value,
tolerance, pass/fail). `main` runs them all, writes ``report.md`` and four figures into a folder
and returns 0 when every check passes, 1 otherwise.

Tolerances live in `TOL` so that they can be tightened (or broken on purpose in tests).
"""

from __future__ import annotations

import itertools
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Check", "TOL", "CHECKS", "run_checks", "write_report", "main"]

# Tolerances of the checks (module level, so tests can monkeypatch them).
TOL: dict[str, float] = {
    "prop2_factor": 100.0,  # drift <= factor * rtol * scale (dop853, rtol 1e-8)
    "thm3_tol": 1e-5,  # critical_point tolerance after integrating with gtol
    "thm4_fraction": 1.0,  # fraction of random starts ending at a critical point of f
    "thm4_saddle_z": 1e-6,  # |z| at the end of a centre-stable start
    "prop5_rel": 1e-5,  # relative error of d(t) = d0 exp(s int f')
    "prop5_df": 1e-6,  # |f'(z(T))| for d > 0
    "cor6_gap": 1e-8,  # f(T) - f* for d > 0 (and > this for d = 0)
    "prop7_slack": 1e-13,  # loss(c_hi) <= loss(c_lo) + slack at every saved t > 0
    "prop8_drift": 1e-7,  # drift of eq. 10's invariant
    "prop8_curve": 1e-12,  # |C(eq. 11) - C(0, 0)|
    "prop8_saddle": 1e-2,  # |w(T)| / |w(0)| on the centre-stable branch
    "prop8_target": 1e-8,  # final loss on the unstable branch / random starts
    "lemma17_eig": 1e-8,  # |lambda_min + sigma_max| at the origin, N = 2
    "lemma17_zero": 1e-10,  # |lambda_min| at the origin, N >= 3
}


@dataclass
class Check:
    """One row of the report."""

    claim: str
    run: str
    value: str
    tolerance: str
    passed: bool


# -- scalar costs (compiled once per process) ----------------------------------------------------


def _sq(z):
    return (1.0 - z) ** 2


def _dsq(z):
    return 2.0 * (z - 1.0)


def _d2sq(z):
    return 2.0


def _lc(z):
    return math.log(math.cosh(z - 1.0))


def _dlc(z):
    return math.tanh(z - 1.0)


def _d2lc(z):
    return 1.0 / math.cosh(z - 1.0) ** 2


def _dw(z):  # double well (z - 1)^2 (z + 2)^2 / 4: minima at 1 and -2, local max at -1/2
    return 0.25 * (z - 1.0) ** 2 * (z + 2.0) ** 2


def _ddw(z):
    return 0.5 * (z - 1.0) * (z + 2.0) * (2.0 * z + 1.0)


def _d2dw(z):
    return 0.5 * ((z + 2.0) * (2.0 * z + 1.0) + (z - 1.0) * (2.0 * z + 1.0) + 2.0 * (z - 1.0) * (z + 2.0))


_SCALAR_DEFS = {
    "(1-z)^2": (_sq, _dsq, _d2sq, 0.0),
    "log cosh(z-1)": (_lc, _dlc, _d2lc, 0.0),
    "(z-1)^2(z+2)^2/4": (_dw, _ddw, _d2dw, 0.0),
}
_SCALAR_CACHE: dict = {}


def _scalar(name: str):
    """(cost, f, f', f*) for a named scalar cost, compiled once."""
    if name not in _SCALAR_CACHE:
        import overflow as of

        fn, dfn, d2fn, fstar = _SCALAR_DEFS[name]
        _SCALAR_CACHE[name] = (of.costs.scalar(fn, dfn, d2fn), fn, dfn, fstar)
    return _SCALAR_CACHE[name]


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def _logcosh_cost(rng: np.random.Generator, m: int, n: int, s: int):
    import overflow as of

    X = rng.standard_normal((n, s))
    Y = rng.standard_normal((m, n)) @ X + 0.1 * rng.standard_normal((m, s))
    return of.costs.log_cosh(X, Y)


# -- the checks ----------------------------------------------------------------------------------


def check_prop2(quick: bool = False) -> Check:
    """Prop. 2: the invariants drift only at the integrator's tolerance, and less for tighter rtol."""
    import overflow as of

    seeds = [0, 1] if quick else [0, 1, 2]
    rtol = 1e-8
    worst = 0.0
    shrinks = True
    ratios = []
    for seed in seeds:
        rng = np.random.default_rng(100 + seed)
        net = of.Network(of.costs.matrix_factorization(rng.standard_normal((3, 3))), depth=3, width=4)
        Ws = net.init(seed=seed, scale=0.5)
        scale = max(1.0, max(float(np.max(np.abs(C))) for C in of.invariants(Ws)))
        drift = of.integrate(net, Ws, (0.0, 10.0), method="dop853", rtol=rtol, atol=1e-12).invariant_drift
        worst = max(worst, drift / (rtol * scale))
        loose = of.integrate(net, Ws, (0.0, 10.0), method="dop853", rtol=1e-5, atol=1e-9).invariant_drift
        tight = of.integrate(net, Ws, (0.0, 10.0), method="dop853", rtol=1e-11, atol=1e-14).invariant_drift
        ratios.append(tight / max(loose, 1e-300))
        shrinks &= tight < loose
    lim = TOL["prop2_factor"]
    return Check(
        "Prop. 2 (invariant C conserved)",
        f"depth 3 factorization 3x3, width 4, {len(seeds)} seeds, dop853 to t=10; rtol 1e-5 vs 1e-11",
        f"max drift/(rtol*scale) = {_fmt(worst)}; drift(1e-11)/drift(1e-5) <= {_fmt(max(ratios))}",
        f"<= {_fmt(lim)}; ratio < 1",
        bool(worst <= lim and shrinks),
    )


def check_thm3(quick: bool = False) -> Check:
    """Thm. 3: the flow converges to a critical point of g for depths 2-5."""
    import overflow as of

    depths = [2, 3, 4, 5]
    seeds = [0] if quick else [0, 1, 2, 3]
    tol = TOL["thm3_tol"]
    worst_ratio = 0.0
    kinds: dict[str, int] = {}
    ok = True
    n = 0
    for depth in depths:
        for seed in seeds:
            rng = np.random.default_rng(300 + 10 * depth + seed)
            for _cname, cost in (
                ("factorization", of.costs.matrix_factorization(rng.standard_normal((2, 2)))),
                ("log_cosh", _logcosh_cost(rng, 1, 2, 8)),
            ):
                net = of.Network(cost, depth=depth, width=3)
                Ws = net.init(seed=seed, scale=0.8)
                res = of.integrate(
                    net, Ws, (0.0, 2000.0), method="dopri5", rtol=1e-9, atol=1e-12, gtol=0.1 * tol, t_eval=[0.0]
                )
                cp = of.critical_point(net, res.final_weights, tol=tol)
                kinds[cp.kind] = kinds.get(cp.kind, 0) + 1
                worst_ratio = max(worst_ratio, cp.grad_norm / cp.scale)
                ok &= cp.kind != "not_critical"
                n += 1
    summary = ", ".join(f"{k}: {v}" for k, v in sorted(kinds.items()))
    return Check(
        "Thm. 3 (convergence to a critical point of g)",
        f"depths 2-5 x {len(seeds)} seed(s) x (random factorization 2x2, log_cosh regression), "
        f"{n} runs to gtol, t <= 2000",
        f"max |grad g|/scale = {_fmt(worst_ratio)}; {summary}",
        f"<= {_fmt(tol)}; kind != not_critical",
        bool(ok),
    )


def check_thm4(quick: bool = False) -> Check:
    """Thm. 4 (N = 2): random starts end at critical points of f; centre-stable starts at the saddle."""
    import overflow as of
    import overflow.vector as vec

    n_starts = 6 if quick else 20
    tol = TOL["thm3_tol"]
    rng = np.random.default_rng(400)
    good = 0
    worst_fg = 0.0
    for i in range(n_starts):
        T = rng.standard_normal((2, 3))
        net = of.Network(of.costs.matrix_factorization(T), depth=2, width=3)
        Ws = net.init(seed=1000 + i, scale=0.5)
        res = of.integrate(net, Ws, (0.0, 500.0), method="dopri5", rtol=1e-9, atol=1e-12, gtol=0.1 * tol, t_eval=[0.0])
        cp = of.critical_point(net, res.final_weights, tol=tol)
        worst_fg = max(worst_fg, cp.f_grad_norm)
        good += cp.kind == "critical_of_f"
    frac = good / n_starts
    # centre-stable starts, vector case: w1 = s w2^T
    cost, *_ = _scalar("(1-z)^2")
    s = vec.sign(cost)
    net = of.Network(cost, depth=2, width=3)
    saddle_ok = True
    worst_z = 0.0
    for _ in range(3):
        w2 = rng.standard_normal((1, 3))
        w1 = s * w2.T
        res = of.integrate(net, [w1, w2], (0.0, 10.0), method="dop853", rtol=1e-10, atol=1e-13, t_eval=[0.0])
        z = float(net.product(res.final_weights)[0, 0])
        cp = of.critical_point(net, res.final_weights, tol=1e-6)
        worst_z = max(worst_z, abs(z))
        saddle_ok &= abs(z) <= TOL["thm4_saddle_z"] and (
            cp.kind == "strict_saddle" or abs(vec._Scalar(cost).df(z)) > 0.5
        )
    return Check(
        "Thm. 4 (N = 2: a.e. convergence to critical points of f)",
        f"{n_starts} Gaussian starts, depth 2 factorization 2x3 width 3; 3 starts w1 = s w2^T on (1-z)^2",
        f"fraction critical_of_f = {frac:.3g} (max |grad f| {_fmt(worst_fg)}); "
        f"centre-stable: max |z(10)| = {_fmt(worst_z)}, strict saddle",
        f">= {TOL['thm4_fraction']:.3g}; |z| <= {_fmt(TOL['thm4_saddle_z'])}",
        bool(frac >= TOL["thm4_fraction"] and saddle_ok),
    )


def _cumint(t: np.ndarray, y: np.ndarray) -> np.ndarray:
    from scipy.integrate import cumulative_simpson

    return cumulative_simpson(y, x=t, initial=0.0)


def check_prop5(quick: bool = False) -> Check:
    """Prop. 5: d(t) = d(0) exp(s int f'(z)) and d > 0 => f'(z) -> 0."""
    import overflow as of
    import overflow.vector as vec

    names = ["(1-z)^2", "log cosh(z-1)", "(z-1)^2(z+2)^2/4"]
    seeds = [0, 1] if quick else [0, 1, 2, 3]
    worst_rel = 0.0
    worst_df = 0.0
    for name in names:
        cost, _f, df, _ = _scalar(name)
        s = vec.sign(cost)
        net = of.Network(cost, depth=2, width=3)
        for seed in seeds:
            Ws = net.init(seed=500 + seed, scale=0.7)
            t = np.linspace(0.0, 4.0, 2001)
            res = of.integrate(net, Ws, (0.0, 4.0), method="dop853", rtol=1e-12, atol=1e-14, t_eval=t)
            w1, w2 = res.weights
            d = np.linalg.norm(w1[:, :, 0] - s * w2[:, 0, :], axis=1)
            z = res.product[:, 0, 0]
            dfz = np.array([df(zz) for zz in z])
            pred = d[0] * np.exp(s * _cumint(res.t, dfz))
            worst_rel = max(worst_rel, float(np.max(np.abs(d - pred) / pred)))
            fin = of.integrate(net, Ws, (0.0, 200.0), method="dop853", rtol=1e-10, atol=1e-13, gtol=1e-10, t_eval=[0.0])
            zf = float(net.product(fin.final_weights)[0, 0])
            worst_df = max(worst_df, abs(df(zf)))
    ok = worst_rel <= TOL["prop5_rel"] and worst_df <= TOL["prop5_df"]
    return Check(
        "Prop. 5 (d(t) = d(0) exp(s int f'), d > 0 => f'(z) -> 0)",
        f"vector case width 3, {len(names)} costs ((1-z)^2, log cosh(z-1), double well) x "
        f"{len(seeds)} random starts; d vs Simpson integral on 2001 points, then t <= 200",
        f"max rel. error of d(t) = {_fmt(worst_rel)}; max |f'(z_final)| = {_fmt(worst_df)}",
        f"<= {_fmt(TOL['prop5_rel'])}; <= {_fmt(TOL['prop5_df'])}",
        bool(ok),
    )


def check_cor6(quick: bool = False) -> Check:
    """Cor. 6: for a PD-PL cost with f(0) > f*, f -> f* iff d > 0."""
    import overflow as of
    import overflow.vector as vec

    names = ["(1-z)^2", "log cosh(z-1)"]
    n_pos = 4 if quick else 10
    n_zero = 2 if quick else 4
    gap_tol = TOL["cor6_gap"]
    agree = 0
    total = 0
    max_gap_pos = 0.0
    min_gap_zero = math.inf
    rng = np.random.default_rng(600)
    for name in names:
        cost, f, _df, fstar = _scalar(name)
        s = vec.sign(cost)
        net = of.Network(cost, depth=2, width=3)
        starts = []
        for i in range(n_pos):
            starts.append(net.init(seed=700 + i, scale=0.7))
        for _ in range(n_zero):
            w2 = 0.7 * rng.standard_normal((1, 3))
            starts.append([s * w2.T, w2])
        for Ws in starts:
            d = vec.center_stable_distance(Ws[0], Ws[1], cost)
            res = of.integrate(net, Ws, (0.0, 60.0), method="dop853", rtol=1e-10, atol=1e-13, gtol=1e-10, t_eval=[0.0])
            gap = f(float(net.product(res.final_weights)[0, 0])) - fstar
            reached = gap <= gap_tol
            if d > 0:
                max_gap_pos = max(max_gap_pos, gap)
            else:
                min_gap_zero = min(min_gap_zero, gap)
            agree += reached == (d > 0)
            total += 1
    return Check(
        "Cor. 6 (PD-PL cost: f -> f* iff d > 0)",
        f"(1-z)^2 and log cosh(z-1), width 3: {n_pos} Gaussian + {n_zero} d = 0 starts each, t <= 60",
        f"agree {agree}/{total}; max f-f* (d>0) = {_fmt(max_gap_pos)}; min f-f* (d=0) = {_fmt(min_gap_zero)}",
        f"f-f* <= {_fmt(gap_tol)} iff d > 0",
        bool(agree == total),
    )


def check_prop7(quick: bool = False) -> Check:
    """Prop. 7: at equal z0, a larger imbalance c gives a lower loss at every t > 0."""
    import overflow as of
    import overflow.vector as vec

    names = ["(1-z)^2", "log cosh(z-1)", "(z-1)^2(z+2)^2/4"]
    z0s = [-0.8, 0.3, 2.5] if quick else [-1.5, -0.8, 0.3, 2.5]
    cs = [0.0, 0.5, 2.0, 8.0]
    slack = TOL["prop7_slack"]
    t_eval = np.linspace(0.02, 3.0, 60)
    worst = -math.inf  # max of loss(c_hi) - loss(c_lo) over t, pairs
    strict_ok = True
    n = 0
    for name in names:
        cost, *_ = _scalar(name)
        for z0 in z0s:
            losses = [vec.reduced_flow(cost, z0, c, (0.0, 3.0), t_eval=t_eval).loss for c in cs]
            for lo, hi in itertools.pairwise(losses):
                diff = hi - lo
                worst = max(worst, float(np.max(diff)))
                big = lo > 1e-8
                strict_ok &= bool(np.all(diff[big] < 0))
                n += 1
    # cross-check: the full network from init_with follows the reduced flow
    cost, *_ = _scalar("(1-z)^2")
    net = of.Network(cost, depth=2, width=4)
    w1, w2 = vec.init_with(0.3, 2.0, 4, seed=7)
    full = of.integrate(net, [w1, w2], (0.0, 3.0), method="dop853", rtol=1e-11, atol=1e-13, t_eval=t_eval)
    red = vec.reduced_flow(cost, 0.3, 2.0, (0.0, 3.0), t_eval=t_eval)
    agree = float(np.max(np.abs(full.loss - red.loss)))
    ok = worst <= slack and strict_ok and agree <= 1e-7
    return Check(
        "Prop. 7 (larger imbalance => lower loss for t > 0)",
        f"reduced flow (eq. 19), 3 costs x {len(z0s)} z0 x c in {cs}, 60 times in (0, 3]; full width-4 flow vs reduced",
        f"max loss(c_hi)-loss(c_lo) = {_fmt(worst)} ({n} pairs, strict where loss > 1e-8); "
        f"full vs reduced {_fmt(agree)}",
        f"<= {_fmt(slack)}; < 0; <= 1e-07",
        bool(ok),
    )


def _isru_C(w1, w2):
    return w2**2 - 0.5 * (1.0 + w1**2) ** 2


def check_prop8(quick: bool = False) -> Check:
    """Prop. 8 / eq. 10-11: the isru invariant, the saddle's manifolds and convergence to the target."""
    import overflow as of

    cost, *_ = _scalar("(1-z)^2")
    net = of.Network(cost, depth=2, width=1, activation="isru")
    rng = np.random.default_rng(800)
    n_rand = 4 if quick else 12
    # eq. 10 conserved + a.e. convergence to the target from random starts
    drift = 0.0
    worst_loss = 0.0
    for _ in range(n_rand):
        Ws = [rng.uniform(-2, 2, (1, 1)), rng.uniform(-2, 2, (1, 1))]
        res = of.integrate(net, Ws, (0.0, 200.0), method="dop853", rtol=1e-11, atol=1e-13, gtol=1e-11)
        C0 = _isru_C(Ws[0][0, 0], Ws[1][0, 0])
        Ct = _isru_C(res.weights[0][:, 0, 0], res.weights[1][:, 0, 0])
        drift = max(drift, float(np.max(np.abs(Ct - C0))) / max(1.0, abs(C0)), res.invariant_drift / max(1.0, abs(C0)))
        worst_loss = max(worst_loss, res.final_loss)
    # eq. 11 is the level set through the origin
    C00 = _isru_C(0.0, 0.0)
    w = np.linspace(-3, 3, 61)
    curve = w * np.sqrt((2 + w**2) / 2)
    curve_err = max(float(np.max(np.abs(_isru_C(w, curve) - C00))), float(np.max(np.abs(_isru_C(w, -curve) - C00))))
    # branch "-" (centre-stable) goes to the saddle, branch "+" (unstable) to the target
    ratio = 0.0
    plus_loss = 0.0
    for a in (0.5, -0.8, 1.2):
        b = a * math.sqrt((2 + a * a) / 2)
        res = of.integrate(
            net, [np.array([[a]]), np.array([[-b]])], (0.0, 3.0), method="dop853", rtol=1e-11, atol=1e-14, t_eval=[0.0]
        )
        ratio = max(ratio, float(np.hypot(*[W[0, 0] for W in res.final_weights])) / math.hypot(a, b))
        res = of.integrate(
            net,
            [np.array([[a]]), np.array([[b]])],
            (0.0, 200.0),
            method="dop853",
            rtol=1e-11,
            atol=1e-14,
            gtol=1e-11,
            t_eval=[0.0],
        )
        plus_loss = max(plus_loss, res.final_loss)
    ok = (
        drift <= TOL["prop8_drift"]
        and curve_err <= TOL["prop8_curve"]
        and ratio <= TOL["prop8_saddle"]
        and plus_loss <= TOL["prop8_target"]
        and worst_loss <= TOL["prop8_target"]
    )
    return Check(
        "Prop. 8, eq. 10-11 (isru network)",
        f"isru depth 2 width 1 on (1-z)^2: {n_rand} random starts to t=200; eq. 11 on 61 points; "
        "3 starts per branch (- to t=3, + to t=200)",
        f"rel. drift of C = {_fmt(drift)}; C(0,0) = {C00:g} (text says -1, eq. 11 fits {C00:g}), "
        f"|C(eq.11)-C(0,0)| = {_fmt(curve_err)}; branch -: |w(3)|/|w(0)| = {_fmt(ratio)}; "
        f"branch +: loss = {_fmt(plus_loss)}; random: max loss = {_fmt(worst_loss)}",
        f"<= {_fmt(TOL['prop8_drift'])}; <= {_fmt(TOL['prop8_curve'])}; <= {_fmt(TOL['prop8_saddle'])}; "
        f"<= {_fmt(TOL['prop8_target'])}",
        bool(ok),
    )


def check_lemma17(quick: bool = False) -> Check:
    """Lemma 17: the origin is a strict saddle for N = 2 (lambda_min = -sigma_max), degenerate for N >= 3."""
    import overflow as of

    seeds = [0, 1] if quick else [0, 1, 2]
    worst_eig = 0.0
    worst_zero = 0.0
    ok = True
    for seed in seeds:
        rng = np.random.default_rng(900 + seed)
        for cost in (of.costs.matrix_factorization(rng.standard_normal((2, 3))), _logcosh_cost(rng, 2, 3, 10)):
            for depth in (2, 3, 4):
                net = of.Network(cost, depth=depth, width=3)
                Ws = [np.zeros(shape) for shape in net.shapes]
                cp = of.critical_point(net, Ws, tol=1e-8)
                if depth == 2:
                    _, G = cost.value_and_grad(np.zeros(cost.shape))
                    sig = float(np.linalg.norm(G, 2))
                    err = abs(cp.min_eigenvalue + sig)
                    worst_eig = max(worst_eig, err)
                    ok &= cp.kind == "strict_saddle" and err <= TOL["lemma17_eig"]
                else:
                    worst_zero = max(worst_zero, abs(cp.min_eigenvalue))
                    ok &= cp.kind == "degenerate" and abs(cp.min_eigenvalue) <= TOL["lemma17_zero"]
    return Check(
        "Lemma 17 (origin: strict saddle N = 2, degenerate N >= 3)",
        f"zero weights, width 3, depths 2-4, {len(seeds)} seeds x (factorization 2x3, log_cosh 2x3)",
        f"N=2: max |lambda_min + sigma_max(grad f(0))| = {_fmt(worst_eig)}, strict_saddle; "
        f"N>=3: max |lambda_min| = {_fmt(worst_zero)}, degenerate",
        f"<= {_fmt(TOL['lemma17_eig'])}; <= {_fmt(TOL['lemma17_zero'])}",
        bool(ok),
    )


CHECKS: list[Callable[[bool], Check]] = [
    check_prop2,
    check_thm3,
    check_thm4,
    check_prop5,
    check_cor6,
    check_prop7,
    check_prop8,
    check_lemma17,
]


def run_checks(quick: bool = False) -> list[Check]:
    """Run every check; an exception becomes a failing row."""
    rows = []
    for fn in CHECKS:
        try:
            rows.append(fn(quick))
        except Exception as exc:
            rows.append(Check(fn.__name__, "raised", f"{type(exc).__name__}: {exc}", "-", False))
    return rows


def _figures(out: Path, quick: bool) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import overflow as of
    from overflow import plot

    names = []
    fig = plot.phase_portrait(path=out / "phase_portrait.png")
    plt.close(fig)
    names.append("phase_portrait.png")
    cost, *_ = _scalar("(1-z)^2")
    fig = plot.loss_vs_imbalance(cost, 0.3, [0.0, 0.5, 2.0, 8.0], (0.0, 3.0), path=out / "loss_vs_imbalance.png")
    plt.close(fig)
    names.append("loss_vs_imbalance.png")
    rng = np.random.default_rng(100)
    net = of.Network(of.costs.matrix_factorization(rng.standard_normal((3, 3))), depth=3, width=4)
    fig = plot.invariant_drift(
        net, net.init(seed=0, scale=0.5), (0.0, 5.0 if quick else 10.0), path=out / "invariant_drift.png"
    )
    plt.close(fig)
    names.append("invariant_drift.png")
    fig = plot.foliation(path=out / "foliation.png")
    plt.close(fig)
    names.append("foliation.png")
    return names


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def write_report(
    rows: list[Check], path: Path, figures: list[str] = (), seconds: float | None = None, quick: bool = False
) -> None:
    """Write the markdown report."""
    lines = ["# overflow: numerical checks of the paper's claims", ""]
    mode = "quick" if quick else "full"
    npass = sum(r.passed for r in rows)
    lines.append(f"Mode: {mode}. {npass}/{len(rows)} checks pass" + (f" ({seconds:.1f} s)." if seconds else "."))
    lines += ["", "| claim | what was run | measured value | tolerance | result |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {_cell(r.claim)} | {_cell(r.run)} | {_cell(r.value)} | {_cell(r.tolerance)} | "
            f"{'pass' if r.passed else 'FAIL'} |"
        )
    if figures:
        lines += ["", "## Figures", ""] + [f"![{n}]({n})" for n in figures]
    path.write_text("\n".join(lines) + "\n")


def main(out: str | Path, quick: bool = False) -> int:
    """Check the paper's claims numerically; write ``out/report.md`` and the figures.

    Returns 0 when every check passes, else 1.
    """
    if not isinstance(out, (str, os.PathLike)) or str(out) == "":
        raise TypeError(f"out must be a non-empty path (str or os.PathLike), got {out!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    rows = run_checks(quick)
    try:
        figures = _figures(out, quick)
    except Exception as exc:
        figures = []
        rows.append(Check("figures", "overflow.plot", f"{type(exc).__name__}: {exc}", "-", False))
    seconds = time.perf_counter() - start
    write_report(rows, out / "report.md", figures, seconds, quick)
    for r in rows:
        print(f"[{'pass' if r.passed else 'FAIL'}] {r.claim}: {r.value}")
    npass = sum(r.passed for r in rows)
    print(f"{npass}/{len(rows)} checks pass in {seconds:.1f} s; report: {out / 'report.md'}", file=sys.stdout)
    return 0 if npass == len(rows) else 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else "paper-report", "--quick" in sys.argv))
