"""Compare overflow with its peers on the benchmark problems, in one process.

    python bench/compare.py                 # all problems, full repeats
    python bench/compare.py --quick         # fewer repeats
    python bench/compare.py --problems a,b  # a subset
    python bench/compare.py --problems d --jax-python /path/to/python   # the JAX peers from another Python
    python bench/compare.py --threads 2     # BLAS / XLA threads (default 1: one core, as one
                                            #   overflow trajectory)
    python bench/compare.py --json out.json # also dump the rows

For each problem it prints: method, package, time per trajectory (median and best of the
repeats; compilation and JIT warm-up excluded), nfev, final loss, max |y - y_ref| against
scipy DOP853 at rtol 1e-12, atol 1e-14, and the ratio peer time / overflow time for the
same method (dopri5 <-> scipy RK45, diffrax Dopri5; dop853 <-> scipy DOP853, numbalsoda
dop853; tsit5 <-> diffrax Tsit5). diffrax Dopri8 (an 8(7) Dormand-Prince pair, not the
DOP853 tableau) and numbalsoda lsoda are shown against dop853 for orientation only ("~").
Then the cost of one RHS evaluation: FLOPs of the prefix/backprop algorithm, each variant's
time and its % of the single-core float64 matmul peak measured in the same process.
Problem (d) is a network on data (bench/data_network.py's flow and rhs sections: a width-64, depth-3
tanh network on 256 samples against scipy and diffrax, and one width-128 RHS against numpy and
jax.grad); its JAX peers run in a child process, with --jax-python where this Python lacks jax.
"""

from __future__ import annotations

import argparse
import os
import sys


def _parse():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    ap.add_argument("--problems", default="a,b,c,d", help="comma-separated subset of a,b,c,d (d: a network on data)")
    ap.add_argument("--jax-python", default=None, help="the Python that runs problem (d)'s JAX peers")
    ap.add_argument("--threads", type=int, default=1, help="BLAS/XLA threads (default 1)")
    ap.add_argument("--repeats", type=int, default=None, help="override the number of repeats")
    ap.add_argument("--no-peers", action="store_true", help="overflow rows only (plus the reference)")
    ap.add_argument("--json", default=None, help="write the rows to this JSON file")
    ap.add_argument(
        "--team",
        type=int,
        default=2,
        help="problem (c) also on this many threads: overflow threads=N against scipy with N BLAS "
        "threads (threadpoolctl); 1 turns it off (default 2)",
    )
    return ap.parse_args()


ARGS = _parse() if __name__ == "__main__" else None
if ARGS is not None:
    # thread limits must be in the environment before numpy / jax are imported
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = str(ARGS.threads)
    if ARGS.threads == 1:
        os.environ["XLA_FLAGS"] = (
            os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        ).strip()

import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402
import problems as pb  # noqa: E402

OVERFLOW_METHODS = ("dopri5", "dop853", "tsit5", "auto")
# overflow method -> [(peer, peer method, exact counterpart?)]
PEERS_FOR = {
    "dopri5": [("scipy", "RK45", True), ("scipy+numba", "RK45", True), ("diffrax", "Dopri5", True)],
    "dop853": [
        ("scipy", "DOP853", True),
        ("scipy+numba", "DOP853", True),
        ("numbalsoda", "dop853", True),
        ("diffrax", "Dopri8", False),
        ("numbalsoda", "lsoda", False),
    ],
    "tsit5": [("diffrax", "Tsit5", True)],
    "auto": [],  # the default: dop853 switched to rodas4 where stiff; compared with dop853 below
}


# ------------------------------------------------------------------------------------ overflow side
def overflow_status():
    """(module, None) when ``of.integrate`` is usable, else (None, reason)."""
    try:
        import overflow as of
    except Exception as exc:
        return None, f"import overflow failed: {type(exc).__name__}: {exc}"
    try:
        import overflow._core
    except Exception as exc:
        return None, f"overflow._core not importable: {type(exc).__name__}: {exc}"
    for attr in ("integrate", "Network"):
        if not hasattr(of, attr):
            return None, f"overflow has no attribute {attr!r} yet"
    return of, None


def prepare_overflow(p, method, threads=1):
    """Returns ``go()`` running one overflow trajectory (on ``threads`` threads); one untimed
    warm-up call is made here (JIT of the cost kernels, first-touch allocations)."""
    of, why = overflow_status()
    if of is None:
        raise peers.PeerUnavailable(why)
    net = p["net"] if p.get("net") is not None else pb.build_network(p)
    t0, t1 = p["t_span"]

    def go():
        res = of.integrate(
            net, p["Ws"], t_span=(t0, t1), method=method, rtol=p["rtol"], atol=p["atol"], t_eval=[t1], threads=threads
        )
        return dict(
            nfev=int(res.nfev),
            y_final=res.final_state,
            loss_final=float(res.loss[-1]),
            package="overflow",
            status=str(res.status),
        )

    go()
    return go


def run_overflow(p, method):
    return peers._timed(prepare_overflow(p, method))


def time_overflow_rhs(p, repeats=1000):
    """Seconds per evaluation of the core's flow RHS (``overflow._core.flow_rhs_seconds``: the
    compiled loop, no Python per call). None, with a printed reason, when overflow is missing."""
    of, why = overflow_status()
    if of is None:
        print(f"    overflow RHS: not available ({why})")
        return None
    from overflow import _core

    net = p["net"] if p.get("net") is not None else pb.build_network(p)
    return float(_core.flow_rhs_seconds(net.dims, net.cost.vg_address, net.cost.data, net.flatten(p["Ws"]), repeats))


def cfunc_overhead(p, method="dopri5", repeats=20):
    """Time of one trajectory with the Numba cfunc cost against the same cost written in C++
    (``_core.reference_cost_address``), both called through a function pointer by the core.
    Returns (numba_s, cxx_s) best-of, or None where the problem's cost has no C++ twin."""
    of, why = overflow_status()
    if of is None or not p["title"].lower().count("factorization"):
        return None
    from overflow import _core

    net = p["net"] if p.get("net") is not None else pb.build_network(p)
    y0 = net.flatten(p["Ws"])
    t0, t1 = p["t_span"]
    best = {}
    options = _core.RunOptions(method=method, rtol=p["rtol"], atol=p["atol"], max_steps=10**6)
    for name, addr in [
        ("numba", net.cost.vg_address),
        ("c++", _core.reference_cost_address("matrix_factorization")),
    ] * repeats:
        tic = time.perf_counter()
        _core.integrate_flow(net.dims, addr, 0, net.cost.data, "none", y0, t0, t1, np.array([t1]), options)
        best[name] = min(best.get(name, np.inf), time.perf_counter() - tic)
    return best["numba"], best["c++"]


# ------------------------------------------------------------------------------------ running
def _prepare(p, package, method, threads=1):
    if package == "overflow":
        return prepare_overflow(p, method, threads)
    if threads > 1:  # scipy's numpy RHS and its stage sums (np.dot) on `threads` BLAS threads
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            raise peers.PeerUnavailable("threadpoolctl is not installed (pip install threadpoolctl)") from None
        go1 = _prepare(p, package, method)

        def go():
            with threadpool_limits(limits=threads, user_api="blas"):
                return go1()

        return go
    if package == "scipy":
        return peers.prepare_scipy(p, method)
    if package == "scipy+numba":
        return peers.prepare_scipy(p, method, rhs="numba")
    return peers.PREPARE[package](p, method)


def measure(p, package, method, repeats, threads=1):
    """Prepare (compile, warm up: untimed), then ``repeats`` timed trajectories.
    Returns a row dict, or one with 'skipped' and the reason."""
    try:
        go = _prepare(p, package, method, threads)
        times, out = [], None
        for _ in range(repeats):
            tic = time.perf_counter()
            res = go()
            times.append(time.perf_counter() - tic)
            out = out or res
        if package == "diffrax":
            out["nfev"] = peers.count_diffrax_nfev(p, method)
    except peers.PeerUnavailable as exc:
        return dict(package=package, method=method, skipped=str(exc))
    except Exception as exc:  # a failing peer must not kill the whole comparison
        traceback.print_exc(limit=3)
        return dict(package=package, method=method, skipped=f"FAILED: {type(exc).__name__}: {exc}")
    out.update(method=method, median_s=statistics.median(times), best_s=min(times), repeats=len(times))
    return out


def repeats_for(name, quick):
    if ARGS is not None and ARGS.repeats:
        return ARGS.repeats
    if name == "c":
        return 1 if quick else 3
    return 3 if quick else 15


def _fmt_t(s):
    if s is None:
        return "-"
    return f"{s * 1e3:10.3f} ms" if s < 10 else f"{s:10.2f} s "


def print_table(p, rows, ref):
    print(f"\n=== problem ({p['name']}): {p['title']}")
    print(
        f"    state size {p['y0'].size}, t_span {p['t_span']}, rtol {p['rtol']:g}, atol {p['atol']:g}, "
        f"init: {p['init_source']}, reference: scipy DOP853 rtol 1e-12 atol 1e-14 "
        f"(nfev {ref['nfev']}, loss {ref['loss_final']:.6e})"
    )
    hdr = (
        f"    {'method':<8} {'package':<20} {'peer method':<11} {'median':>13} {'best':>13} {'nfev':>8} "
        f"{'final loss':>12} {'max|y-yref|':>11} {'peer/overflow':>13}"
    )
    print(hdr)
    print("    " + "-" * (len(hdr) - 4))
    for r in rows:
        print_row(r)


def print_row(r):
    """One row of a problem's table (a timed run, or why it was skipped)."""
    if "skipped" in r:
        print(f"    {r['ofmethod']:<8} {r['package']:<20} {r['method']:<11} skipped: {r['skipped']}")
        return
    ratio = r.get("ratio")
    rtxt = "-" if ratio is None else (f"{ratio:8.2f}x" + ("" if r.get("exact", True) else " ~"))
    nfev = "-" if r["nfev"] is None else str(r["nfev"])
    print(
        f"    {r['ofmethod']:<8} {r['package']:<20} {r['method']:<11} {_fmt_t(r['median_s'])} "
        f"{_fmt_t(r['best_s'])} {nfev:>8} {r['loss_final']:12.4e} {r['err_ref']:11.2e} {rtxt:>13}"
    )


def team_section(p, ref, reps, threads):
    """Problem (c) as one trajectory on `threads` threads: overflow ``threads=N`` (the RHS products
    and the stepper's vector passes split) against scipy with N BLAS threads, same methods."""
    if ARGS.threads != 1:
        print(f"\n    on {threads} threads: skipped (run with --threads 1 so that the one-thread rows are one-thread)")
        return []
    print(f"\n    one trajectory on {threads} threads (overflow threads={threads}; scipy with {threads} BLAS threads):")
    rows = []
    for m, peer in (("dopri5", "RK45"), ("dop853", "DOP853")):
        r_of = measure(p, "overflow", m, reps, threads)
        r_sp = measure(p, "scipy", peer, reps, threads)
        for r, pkg in ((r_of, f"overflow[{threads}]"), (r_sp, f"scipy[{threads} BLAS]")):
            r.update(ofmethod=m, package=pkg)
            if "skipped" not in r:
                r["err_ref"] = float(np.max(np.abs(r["y_final"] - ref["y_final"])))
        if "skipped" not in r_of and "skipped" not in r_sp:
            r_sp["ratio"] = r_sp["median_s"] / r_of["median_s"]
        rows += [r_of, r_sp]
    for r in rows:
        print_row(r)
    return rows


def rhs_report(p, peak_gflops, quick):
    flops = pb.rhs_flops(p)
    reps = (20 if quick else 100) if p["name"] == "c" else (500 if quick else 5000)
    print(
        f"    one RHS evaluation: {flops / 1e6:.3f} MFLOP (2 x 3 x sum_i k_i k_(i-1) n); "
        f"single-core matmul peak {peak_gflops:.1f} GFLOP/s"
    )
    out = {}
    timings = []
    for name, mk in peers.RHS_VARIANTS.items():
        timings.append((f"numpy[{name}]" if name != "numba" else "numba njit", peers.time_rhs(mk(p), p["y0"], reps)))
    try:
        jax, jnp, _ = peers._jax()
        for state in ("flat", "tuple"):
            vf = jax.jit(peers._jax_vector_field(p, jnp, state=state))
            y = jnp.asarray(p["y0"]) if state == "flat" else tuple(jnp.asarray(W) for W in p["Ws"])
            timings.append(
                (
                    f"jax[{state}] jit",
                    peers.time_rhs(lambda t, yy, vf=vf: jax.block_until_ready(vf(t, yy, None)), y, reps),
                )
            )
    except peers.PeerUnavailable as exc:
        print(f"    jax RHS: skipped ({exc})")
    t_of = time_overflow_rhs(p, reps)
    if t_of is not None:
        timings.insert(0, ("overflow core", t_of))
    for name, t in timings:
        gf = flops / t / 1e9
        print(f"    {name:<18} {t * 1e6:10.2f} us/eval  {gf:7.2f} GFLOP/s  {100 * gf / peak_gflops:6.1f}% of peak")
        out[name] = t
    return out


def data_problem(peak_gflops):
    """Problem (d), a network on data: bench/data_network.py's whole integrations and one RHS, the same
    rows and goal lines as there (ratios from the best of the repeats)."""
    import data_network

    args = argparse.Namespace(quick=ARGS.quick, no_peers=ARGS.no_peers, jax_python=ARGS.jax_python, clock="wall")
    out = {}
    try:
        if ARGS.threads != 1:
            print("\n=== problem (d): skipped (run with --threads 1: its rows are one core)")
            return out
        print("\n=== problem (d): a network on data (bench/data_network.py)")
        data_network.section_flow(args, out)
        data_network.section_rhs(args, peak_gflops, out)
    except data_network.Unavailable as exc:
        print(f"    skipped ({exc})")
    return out


def main():
    names = [s.strip() for s in ARGS.problems.split(",") if s.strip()]
    for s in names:
        if s not in pb.PROBLEMS and s != "d":
            sys.exit(f"unknown problem {s!r}")
    of, why = overflow_status()
    print(f"overflow: {'importable' if of else 'not importable (' + why + ')'}")
    print(f"threads: {ARGS.threads} (BLAS/OpenMP/XLA); python {sys.version.split()[0]}, numpy {np.__version__}")
    from importlib.metadata import version

    for mod in ("scipy", "numba", "numbalsoda", "jax", "diffrax"):
        try:
            __import__(mod)
            print(f"  {mod:<11} {version(mod)}")
        except Exception as exc:
            print(f"  {mod:<11} NOT INSTALLED: peer skipped ({type(exc).__name__}: {exc})")
    peak = peers.matmul_peak(1024, 3 if ARGS.quick else 7)
    print(f"single-core float64 matmul peak (numpy 1024x1024, 1 thread): {peak:.1f} GFLOP/s")
    everything = dict(peak_gflops=peak, threads=ARGS.threads, problems={})
    for name in names:
        if name == "d":
            everything["problems"][name] = data_problem(peak)
            continue
        p = pb.problem(name)
        reps = repeats_for(name, ARGS.quick)
        ref = peers.reference(p)
        rows = []
        for m in OVERFLOW_METHODS:
            r_of = measure(p, "overflow", m, reps)
            r_of["ofmethod"] = m
            if "skipped" in r_of:
                r_of["skipped"] = "not importable" if of is None else r_of["skipped"]
            rows.append(r_of)
            for pkg, pm, exact in [] if ARGS.no_peers else PEERS_FOR[m]:
                r = measure(p, pkg, pm, reps)
                r.update(ofmethod=m, exact=exact)
                if "skipped" not in r and "skipped" not in r_of:
                    r["ratio"] = r["median_s"] / r_of["median_s"]
                rows.append(r)
        for r in rows:
            if "skipped" not in r:
                r["err_ref"] = float(np.max(np.abs(r["y_final"] - ref["y_final"])))
        print_table(p, rows, ref)
        ours = {r["ofmethod"]: r for r in rows if r.get("package") == "overflow" and "skipped" not in r}
        if "auto" in ours and "dop853" in ours:
            print(
                f"    auto / dop853: {ours['auto']['median_s'] / ours['dop853']['median_s']:.3f} "
                f"(the default method's cost where the flow is not stiff; same run)"
            )
        if name == "c" and ARGS.team > 1:
            rows += team_section(p, ref, reps, ARGS.team)
        overhead = cfunc_overhead(p, repeats=3 if name == "c" or ARGS.quick else 20)
        if overhead is not None:
            print(
                f"    cost through the Numba cfunc pointer: {overhead[0] * 1e3:.3f} ms vs the same cost in C++ "
                f"{overhead[1] * 1e3:.3f} ms (dopri5, best of repeats): {100 * (overhead[0] / overhead[1] - 1):+.1f}%"
            )
        rhs = rhs_report(p, peak, ARGS.quick)
        everything["problems"][name] = dict(
            title=p["title"],
            rhs_s=rhs,
            rhs_flops=pb.rhs_flops(p),
            rows=[{k: v for k, v in r.items() if k != "y_final"} for r in rows],
        )
        sys.stdout.flush()
    if ARGS.json:
        with open(ARGS.json, "w") as fh:
            json.dump(everything, fh, indent=1, default=float)
        print(f"\nrows written to {ARGS.json}")


if __name__ == "__main__":
    main()
