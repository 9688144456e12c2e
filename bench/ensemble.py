"""Monte Carlo throughput: overflow.monte_carlo against its peers, side by side in one run.

    python bench/ensemble.py               # problem (a), 1000 Gaussian starts, 1 and 2 workers
    python bench/ensemble.py --quick       # fewer starts for the slow peers
    python bench/ensemble.py --million     # also 10^6 vector-case trajectories (width 10)

Every package integrates the same starts (``of.samplers.gaussian(0.3)``, seed 0) over problem
(a)'s span and tolerances (depth 3, width 16, 4x4 factorization, rtol 1e-8, atol 1e-10) and
reports trajectories per second; the slow peers (diffrax, scipy) run a prefix of the starts
(``--subset``), their rate extrapolates. The last column is the largest difference of the final
states from overflow's. Then: overflow's own cost per trajectory beyond the integration on a tiny
problem (depth 2, width 1), and optionally the 10^6-trajectory run with its peak memory.
"""

from __future__ import annotations

import argparse
import os
import sys


def _parse():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000, help="starts for overflow and numbalsoda (default 1000)")
    ap.add_argument("--subset", type=int, default=None, help="starts for diffrax and scipy (default 100, quick 40)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--million", action="store_true", help="also run 10^6 vector-case trajectories")
    ap.add_argument("--repeats", type=int, default=3)
    return ap.parse_args()


ARGS = _parse() if __name__ == "__main__" else None
if ARGS is not None:  # one BLAS / XLA thread per worker, set before numpy and jax load
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false").strip()

import resource  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ensemble_peers as ep  # noqa: E402
import peers  # noqa: E402
import problems as pb  # noqa: E402


def best_time(go, repeats):
    best, out = float("inf"), None
    for _ in range(repeats):
        tic = time.perf_counter()
        out = go()
        best = min(best, time.perf_counter() - tic)
    return best, out


def throughput_table(n, subset, repeats):
    import overflow as of

    p = pb.problem("a")
    y0s = of.samplers.gaussian(0.3).states(p["net"], 0, 0, n)
    rows = []
    plan = [
        ("overflow", 1, n),
        ("overflow", 2, n),
        ("numbalsoda", 1, n),
        ("numbalsoda", 2, n),
        ("diffrax", 1, subset),
        ("scipy", 2, subset),
    ]
    ref = None
    for name, workers, count in plan:
        try:
            go = ep.PREPARE[name](p, y0s[:count], workers)
            t, y = best_time(go, repeats if count == n else 1)
            if getattr(go, "pool", None) is not None:
                go.pool.close()
        except peers.PeerUnavailable as exc:
            rows.append((name, workers, count, None, str(exc)))
            continue
        except Exception:
            rows.append((name, workers, count, None, traceback.format_exc(limit=1).strip().splitlines()[-1]))
            continue
        if name == "overflow" and workers == 2:
            ref = y
        rows.append((name, workers, count, t, y))
    print(f"\nproblem (a): {p['title']}; {n} Gaussian starts (scale 0.3), rtol {p['rtol']:g}, atol {p['atol']:g}")
    print(
        f"{'package':<28} {'workers':>7} {'starts':>7} {'time s':>9} {'traj/s':>10} {'overflow(2) / it':>16} "
        f"{'max|y-y_of|':>12}"
    )
    rate_of2 = next((c / t for nm, w, c, t, _ in rows if nm == "overflow" and w == 2 and t), None)
    label = {
        "overflow": "overflow dopri5 (threads)",
        "numbalsoda": "numbalsoda dop853 (prange)",
        "diffrax": "diffrax Dopri5 (vmap)",
        "scipy": "scipy DOP853 (process pool)",
    }
    for name, workers, count, t, y in rows:
        if t is None:
            print(f"{label[name]:<28} {workers:>7} {count:>7}   skipped: {y}")
            continue
        rate = count / t
        err = float(np.max(np.abs(y - ref[:count]))) if ref is not None else float("nan")
        ratio = rate_of2 / rate if rate_of2 else float("nan")
        print(f"{label[name]:<28} {workers:>7} {count:>7} {t:>9.3f} {rate:>10.1f} {ratio:>16.1f} {err:>12.2e}")
    r1 = next((c / t for nm, w, c, t, _ in rows if nm == "overflow" and w == 1 and t), None)
    if r1 and rate_of2:
        print(f"overflow scaling: 2 workers / 1 worker = {rate_of2 / r1:.2f}x")
    return rows


def tiny_overhead(n=100_000, repeats=3):
    """Per-trajectory cost of monte_carlo beyond the core's ensemble call on the same starts."""
    import overflow as of
    from overflow import _core

    cost = of.costs.scalar(lambda z: 0.5 * (1.0 - z) ** 2, lambda z: z - 1.0, lambda z: 1.0, f_star=0.0)
    net = of.Network(cost, depth=2, width=1)
    sampler = of.samplers.gaussian(0.3)
    y0s = sampler.states(net, 0, 0, n)
    te = np.zeros(0)

    def core():
        options = _core.RunOptions(method="dopri5", rtol=1e-6, atol=1e-9, max_steps=100000, save_states=False)
        return _core.integrate_ensemble(
            net.dims, cost.vg_address, cost.hvp_address, cost.data, "none", y0s, 0.0, 10.0, te, options, 1
        )

    def mc():
        return of.monte_carlo(net, n, (0.0, 10.0), sampler=sampler, workers=1, progress=False)

    t_core, r = best_time(core, repeats)
    t_mc, res = best_time(mc, repeats)
    assert np.array_equal(r.final_loss, res.final_loss)
    print(f"\ntiny problem (depth 2, width 1, 10 time units, dopri5 rtol 1e-6), {n} trajectories, 1 worker:")
    print(
        f"  core ensemble alone {t_core / n * 1e6:.2f} us/trajectory ({np.mean(r.nfev):.0f} nfev); "
        f"monte_carlo {t_mc / n * 1e6:.2f} us/trajectory; overhead beyond the integration "
        f"{(t_mc - t_core) / n * 1e6:.2f} us/trajectory (sampling, invariants, assembly)"
    )


def million(workers=2):
    import overflow as of

    cost = of.costs.scalar(lambda z: 0.5 * (1.0 - z) ** 2, lambda z: z - 1.0, lambda z: 1.0, f_star=0.0)
    net = of.Network(cost, depth=2, width=10)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tic = time.perf_counter()
    res = of.monte_carlo(net, 1_000_000, (0.0, 20.0), rtol=1e-8, atol=1e-10, gtol=1e-8, workers=workers, progress=False)
    t = time.perf_counter() - tic
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"\n10^6 vector-case trajectories (width 10, f = (1 - z)^2 / 2, gtol 1e-8, {workers} workers): "
        f"{t:.1f} s ({1e6 / t:.0f} traj/s); peak RSS {rss1 / 1024:.0f} MiB (was {rss0 / 1024:.0f} MiB before)"
    )
    print("  " + str(res.summary()).replace("\n", "\n  "))


def main():
    subset = ARGS.subset or (40 if ARGS.quick else 100)
    throughput_table(ARGS.n, subset, ARGS.repeats)
    tiny_overhead(20_000 if ARGS.quick else 100_000)
    if ARGS.million:
        million()


if __name__ == "__main__":
    main()
