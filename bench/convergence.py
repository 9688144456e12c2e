"""Convergence on an ill-conditioned flow: ``method="auto"`` against an explicit method driven to the
same gtol and against scipy's stiff solvers given the analytic Jacobian.

The problem: matrix factorization of a 6x6 target with singular values logspace(2, -2, 6)
(condition number 1e4: T = U diag(100, ..., 0.01) V^T), depth 3, width 8 (160 weights), Gaussian
starts of scale 0.3, t_span (0, inf), stop at ||grad g|| <= gtol = 1e-10. Near the minimum the
flow's Jacobian -Hess g spans about 3 sigma_max^(4/3) ~ 1e3 down to sigma_min^(4/3) ~ 1e-3, so an
explicit method is held at h ~ 6 / 1e3 for the ~1e4 time units the slowest mode needs.

    python bench/convergence.py [--starts 100] [--peer-starts 10] [--explicit-starts 3]

Prints wall time per start for each solver (medians), how many starts reached gtol, and the ratios.
scipy's BDF and LSODA get a numpy right-hand side and the exact Jacobian of the flow, assembled
from batched Jacobian-vector products in numpy (one einsum chain per layer for all 160 directions
at once); they stop at gtol by a terminal event on ||f(y)|| - gtol.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import numpy as np

DEPTH, WIDTH, SIZE, GTOL, SCALE = 3, 8, 6, 1e-10, 0.3


def target(seed=1):
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((SIZE, SIZE)))
    V, _ = np.linalg.qr(rng.standard_normal((SIZE, SIZE)))
    return U @ np.diag(np.logspace(2, -2, SIZE)) @ V.T


def shapes():
    dims = [SIZE] + [WIDTH] * (DEPTH - 1) + [SIZE]
    return [(dims[i + 1], dims[i]) for i in range(DEPTH)]


def split(y, batch=False):
    out, o = [], 0
    for r, c in shapes():
        size = r * c
        out.append(y[..., o : o + size].reshape(*y.shape[:-1], r, c) if batch else y[o : o + size].reshape(r, c))
        o += size
    return out


def numpy_flow(T):
    """f(t, y) = -grad g and its exact Jacobian, for scipy."""

    def rhs(t, y):
        W = split(y)
        A = [np.eye(SIZE)]
        for w in W:
            A.append(w @ A[-1])
        B = A[-1] - T
        out = []
        for i in range(DEPTH - 1, -1, -1):
            out.append(-(B @ A[i].T))
            B = W[i].T @ B
        return np.concatenate([o.ravel() for o in out[::-1]])

    dim = sum(r * c for r, c in shapes())
    eye = np.eye(dim)

    def jac(t, y):
        # J e_j for every unit vector at once: the JVP recursion with a leading batch axis.
        W, V = split(y), split(eye, batch=True)
        A, dA = [np.eye(SIZE)], [np.zeros((dim, SIZE, SIZE))]
        for w, v in zip(W, V):
            dA.append(v @ A[-1] + w @ dA[-1])
            A.append(w @ A[-1])
        B, dB = A[-1] - T, dA[-1]  # Hess f = identity for 1/2 ||P - T||^2
        cols = []
        for i in range(DEPTH - 1, -1, -1):
            cols.append(-(dB @ A[i].T + B @ np.swapaxes(dA[i], 1, 2)))
            dB = np.swapaxes(V[i], 1, 2) @ B + W[i].T @ dB
            B = W[i].T @ B
        return np.concatenate([c.reshape(dim, -1) for c in cols[::-1]], axis=1).T

    return rhs, jac


def run_overflow(net, starts, method, **kw):
    import overflow as of

    times, ok, steps = [], 0, []
    for seed in starts:
        Ws = net.init(seed=seed, scale=SCALE)
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", of.ConvergenceWarning)
            r = of.integrate(net, Ws, (0, math.inf), method=method, gtol=GTOL, save_weights=False, **kw)
        times.append(time.perf_counter() - t)
        ok += r.status == "converged"
        steps.append(r.method_steps)
    return np.array(times), ok, steps


def run_scipy(T, net, starts, method):
    from scipy.integrate import solve_ivp

    rhs, jac = numpy_flow(T)

    def at_gtol(t, y):
        return np.linalg.norm(rhs(t, y)) - GTOL

    at_gtol.terminal = True
    times, ok = [], 0
    for seed in starts:
        y0 = net.flatten(net.init(seed=seed, scale=SCALE))
        t = time.perf_counter()
        r = solve_ivp(rhs, (0, 1e7), y0, method=method, jac=jac, rtol=1e-6, atol=1e-9, events=at_gtol)
        times.append(time.perf_counter() - t)
        ok += r.status == 1
    return np.array(times), ok


def main(argv=None):
    import overflow as of

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--starts", type=int, default=100)
    ap.add_argument("--peer-starts", type=int, default=10)
    ap.add_argument("--explicit-starts", type=int, default=3)
    ap.add_argument("--explicit-max-steps", type=int, default=3_000_000)
    a = ap.parse_args(argv)
    T = target()
    net = of.Network(of.costs.matrix_factorization(T), depth=DEPTH, width=WIDTH)
    # the numpy flow agrees with the core's
    y = net.flatten(net.init(seed=0, scale=SCALE))
    rhs, jac = numpy_flow(T)
    assert np.allclose(rhs(0, y), net.rhs(y)[1], rtol=1e-12, atol=1e-12)
    print(
        f"ill-conditioned factorization: 6x6 target, cond 1e4, depth {DEPTH}, width {WIDTH}, gtol {GTOL:g}, "
        f"t_span (0, inf)"
    )
    rows = []
    t_auto, ok, steps = run_overflow(net, range(a.starts), "auto")
    nd = np.median([s.get("dop853", 0) for s in steps])
    nr = np.median([s.get("rodas4", 0) for s in steps])
    rows.append(("overflow auto", t_auto, ok, a.starts, f"median steps dop853 {nd:.0f}, rodas4 {nr:.0f}"))
    t_rodas, ok_r, _ = run_overflow(net, range(a.starts), "rodas4")
    rows.append(("overflow rodas4", t_rodas, ok_r, a.starts, ""))
    ex = range(a.explicit_starts)
    t_ex, ok_ex, _ = run_overflow(net, ex, "dopri5", rtol=1e-13, atol=1e-14, max_steps=a.explicit_max_steps)
    rows.append(("overflow dopri5 rtol 1e-13 atol 1e-14", t_ex, ok_ex, len(ex), f"max_steps {a.explicit_max_steps:,}"))
    peers = range(a.peer_starts)
    for m in ("BDF", "LSODA"):
        tp, okp = run_scipy(T, net, peers, m)
        rows.append((f"scipy {m} (numpy f, exact jac)", tp, okp, len(peers), ""))
    base = np.median(t_auto)
    print(f"{'solver':42s} {'median/start':>13s} {'reached gtol':>13s} {'x auto':>8s}")
    for name, t, ok, n, note in rows:
        print(f"{name:42s} {np.median(t) * 1e3:10.1f} ms {ok:6d}/{n:<6d} {np.median(t) / base:8.1f}  {note}")


if __name__ == "__main__":
    main()
