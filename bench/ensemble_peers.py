"""Ensembles of trajectories: overflow.monte_carlo and its peers, on the same initial states.

Every entry is ``prepare_<name>(p, y0s, workers) -> go()``; ``go()`` integrates all rows of
``y0s`` over ``p["t_span"]`` at ``p["rtol"], p["atol"]`` and returns the final states
``(len(y0s), state_size)``. Compilation, process start-up and JIT warm-up happen in prepare.

    overflow      of.monte_carlo(..., sampler=from_array(y0s), workers=w), dopri5 (C++ thread pool)
    numbalsoda    dop853 in a Numba prange loop over the starts (its cfunc RHS from peers.py)
    diffrax       Dopri5 under jax.vmap over the starts, one jitted solve (JAX CPU, x64)
    scipy         DOP853 (numpy RHS) per start, in a multiprocessing Pool of `workers` processes
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers
import problems as pb

ENSEMBLE_PEERS = ("overflow", "numbalsoda", "diffrax", "scipy")


def prepare_overflow(p, y0s, workers, method="dopri5"):
    import overflow as of

    net = p["net"] if p.get("net") is not None else pb.build_network(p)
    sampler = of.samplers.from_array(y0s)
    t0, t1 = p["t_span"]

    def go():
        res = of.monte_carlo(
            net,
            len(y0s),
            (t0, t1),
            sampler=sampler,
            method=method,
            rtol=p["rtol"],
            atol=p["atol"],
            workers=workers,
            progress=False,
            keep_final=True,
        )
        if not np.all(res.status == "t_end"):
            raise RuntimeError(f"overflow: statuses {res.summary().fractions}")
        return res.final

    go()  # compiles nothing, but loads the cost's kernels and warms the caches
    return go


def prepare_numbalsoda(p, y0s, workers):
    try:
        import numba as nb
        import numbalsoda
    except Exception as exc:
        raise peers.PeerUnavailable(f"numbalsoda not importable: {exc}") from exc
    rhs_c, data0 = peers.make_numba_cfunc(p)
    address = rhs_c.address
    dop853 = numbalsoda.dop853

    @nb.njit(parallel=True)
    def batch(address, y0s, t_eval, data0, rtol, atol, out, oks):  # pragma: no cover - compiled
        for i in nb.prange(y0s.shape[0]):
            data = data0.copy()
            usol, ok = dop853(address, y0s[i].copy(), t_eval, data, rtol, atol, 10**8)
            out[i] = usol[-1]
            oks[i] = ok

    t_eval = np.array([float(p["t_span"][0]), float(p["t_span"][1])])
    out = np.empty_like(y0s)
    oks = np.zeros(len(y0s), dtype=np.bool_)
    batch(address, y0s[:1], t_eval, data0, p["rtol"], p["atol"], out[:1], oks[:1])  # compile

    def go():
        nb.set_num_threads(workers)
        batch(address, y0s, t_eval, data0, p["rtol"], p["atol"], out, oks)
        if not oks.all():
            raise RuntimeError("numbalsoda dop853 reported failure")
        return out.copy()

    return go


def prepare_diffrax(p, y0s, workers):
    jax, jnp, diffrax = peers._jax()
    term = diffrax.ODETerm(peers._jax_vector_field(p, jnp))
    solver = diffrax.Dopri5()
    t0, t1 = (float(x) for x in p["t_span"])
    ctrl = diffrax.PIDController(rtol=p["rtol"], atol=p["atol"])

    def one(y0):
        sol = diffrax.diffeqsolve(
            term,
            solver,
            t0=t0,
            t1=t1,
            dt0=None,
            y0=y0,
            stepsize_controller=ctrl,
            saveat=diffrax.SaveAt(t1=True),
            max_steps=10**7,
            throw=False,
        )
        return sol.ys[-1], sol.result._value

    solve = jax.jit(jax.vmap(one))
    ys = jnp.asarray(y0s)
    jax.block_until_ready(solve(ys))  # compile + warm up

    def go():
        y, result = jax.block_until_ready(solve(ys))
        if np.any(np.asarray(result) != 0):
            raise RuntimeError("diffrax failed on some trajectories")
        return np.asarray(y)

    return go


def _scipy_solve(y0):
    from scipy.integrate import solve_ivp

    sol = solve_ivp(
        _SCIPY_FUN,
        _SCIPY_P["t_span"],
        y0,
        method="DOP853",
        rtol=_SCIPY_P["rtol"],
        atol=_SCIPY_P["atol"],
        t_eval=[_SCIPY_P["t_span"][1]],
    )
    if sol.status != 0:
        raise RuntimeError(sol.message)
    return sol.y[:, -1]


def _scipy_worker_init(name):
    global _SCIPY_FUN, _SCIPY_P
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    _SCIPY_P = pb.problem(name, init="numpy")
    _SCIPY_FUN = peers.RHS_VARIANTS[peers.DEFAULT_NUMPY_RHS](_SCIPY_P)


def prepare_scipy(p, y0s, workers):
    """scipy has no ensemble: one solve_ivp per start, spread over a process pool (the numpy RHS
    holds the GIL, so threads would not help)."""
    name = p["name"]
    ctx = mp.get_context("spawn")  # not fork: JAX's threads may already run in this process
    pool = ctx.Pool(workers, initializer=_scipy_worker_init, initargs=(name,))
    pool.map(_scipy_solve, list(y0s[:workers]))  # start the workers and build their RHS

    def go():
        return np.array(pool.map(_scipy_solve, list(y0s), chunksize=max(1, len(y0s) // (4 * workers))))

    go.pool = pool
    return go


PREPARE = {
    "overflow": prepare_overflow,
    "numbalsoda": prepare_numbalsoda,
    "diffrax": prepare_diffrax,
    "scipy": prepare_scipy,
}
