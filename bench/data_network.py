"""Networks on data (issue 18's performance goals) in one run: the cost of one right-hand side against
the single-core matmul peak and jax.grad, whole integrations against diffrax and scipy, the
identity-input activated path against the linear network, and the thread team on a wide layer.

    python bench/data_network.py                      # everything, full repeats
    python bench/data_network.py --quick              # fewer repeats
    python bench/data_network.py --sections rhs,flow  # a subset of rhs, flow, identity, threads
    python bench/data_network.py --jax-python /path/to/python   # run the JAX peers with another Python
    python bench/data_network.py --json out.json

Every row is one core unless it says otherwise (BLAS, OpenMP and XLA limited to one thread before
numpy or jax load). The problems are teacher-student regressions (``of.datasets.teacher_student``,
seed 0; student ``Network.init(seed=1, scale=1)``), the squared loss 1/2 ||Yhat - Y||^2 / s, no biases:

- rhs: width 128, depth 4 (dims 64, 128, 128, 128, 16), s = 512, tanh: overflow's core
  (``_core.flow_rhs_seconds``: the compiled loop, no Python per call), a vectorised numpy RHS and
  ``jax.jit(jax.grad(loss))``; FLOPs of the GEMMs (2 per multiply-add: the forward products, the
  weight gradients and the back-propagations, none into X) and the % of the single-core float64
  matmul peak (numpy @ on 1024 x 1024, one BLAS thread) measured in the same run;
- flow: width 64, depth 3 (dims 16, 64, 64, 4), 256 samples, tanh, t in [0, 200], rtol 1e-8,
  atol 1e-10: overflow dopri5 and dop853 against scipy solve_ivp RK45 / DOP853 on the numpy RHS and
  diffrax Dopri5 / Dopri8 (jitted; Dopri8 is an 8(7) pair, not DOP853's tableau: "~"); time, nfev,
  final loss, max |y - y_ref| against overflow dop853 at rtol 1e-12, atol 1e-14;
- identity: no ``inputs=`` (the identity input), width 128, depth 4, matrix factorisation of a
  128 x 128 target: tanh and isru (the data sweep's GEMMs) against the linear network (its own kernels);
- threads: width 256, depth 4 (dims 64, 256, 256, 256, 16), s = 1024, tanh: one RHS, one exact
  Jacobian-vector product (at a state whose passes are made, as a Krylov solve's products share them;
  ``_core.flow_jvp_seconds``) and a whole rodas4 integration (t in [0, 0.25], rtol 1e-6, atol 1e-8,
  matrix-free: its stages' Krylov spaces are jvps) with ``threads=1`` and ``threads=2``.

The JAX peers run in a child process (bench/data_network_jax.py) with ``--jax-python`` (default: the
environment variable OVERFLOW_BENCH_JAX_PYTHON, else this Python), so that a Python with jax and
diffrax but without overflow can serve; a peer that cannot run is skipped with the reason. RHS times
are the best of the rounds; integrations give the median and the best of the repeats, and the ratios
(peer time / overflow time) use the best of each. Compilation and JIT warm-up are never timed.

On a machine shared with other sessions, Linux's autogroup shares the cores between sessions, not
threads: run it in a session of its own for wall times that mean something (and for a second core),

    setsid bash -c 'echo -20 > /proc/self/autogroup; exec python bench/data_network.py'

or time the process's CPU with ``--clock cpu`` (the one-thread rows only).
"""

from __future__ import annotations

import argparse
import os
import sys

if __name__ == "__main__":
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[_var] = "1"
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    ).strip()

import json
import statistics
import subprocess
import tempfile
import time
import traceback

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

RHS_PROBLEM = dict(n_in=64, m=16, width=128, depth=4, samples=512, activation="tanh")
FLOW_PROBLEM = dict(n_in=16, m=4, width=64, depth=3, samples=256, activation="tanh")
FLOW_RUN = dict(t1=200.0, rtol=1e-8, atol=1e-10)
IDENTITY_PROBLEM = dict(n=128, width=128, depth=4)
THREADS_PROBLEM = dict(n_in=64, m=16, width=256, depth=4, samples=1024, activation="tanh")
THREADS_RUN = dict(method="rodas4", t1=0.25, rtol=1e-6, atol=1e-8)
SECTIONS = ("rhs", "flow", "identity", "threads")

# overflow method -> [(peer, peer method, same tableau?)]
FLOW_PEERS = {
    "dopri5": [("scipy", "RK45", True), ("diffrax", "Dopri5", True)],
    "dop853": [("scipy", "DOP853", True), ("diffrax", "Dopri8", False)],
}
GOALS = dict(peak_fraction=0.5, jax_rhs=3.0, diffrax=3.0, scipy=5.0, identity=2.0)
# wall: elapsed time; cpu: the process's CPU time (all its threads), steadier on a loaded machine; the
# thread-team section always uses wall time (CPU time adds the threads up)
CLOCKS = dict(wall=time.perf_counter, cpu=time.process_time)
CLOCK = CLOCKS["wall"]


class Unavailable(Exception):
    """A solver that cannot run here (not installed, or a feature not merged yet)."""


def _overflow():
    try:
        import overflow as of
        from overflow import _core  # noqa: F401
    except Exception as exc:
        raise Unavailable(f"import overflow failed: {type(exc).__name__}: {exc}") from exc
    return of


# ------------------------------------------------------------------------------------ problems
def data_problem(n_in, m, width, depth, samples, activation):
    """A teacher-student regression (seed 0) and the student network on it (init seed 1, scale 1)."""
    of = _overflow()
    ts = of.datasets.teacher_student(
        n_in=n_in, m=m, width=16, samples=samples, depth=depth, activation=activation, seed=0
    )
    net = of.Network(of.costs.squared_loss(ts.Y), depth=depth, width=width, activation=activation, inputs=ts.X)
    Ws = net.init(seed=1, scale=1.0)
    return dict(net=net, Ws=Ws, X=ts.X, Y=ts.Y, dims=list(net.dims), activation=activation)


def gemm_flops(dims, samples):
    """FLOPs of one RHS's GEMMs, 2 per multiply-add: forward A_i = W_i H_{i-1} and weight gradients
    Z_i H_{i-1}^T for every layer, back-propagations W_i^T Z_i for i >= 2 (none into X)."""
    layers = [dims[i] * dims[i + 1] for i in range(len(dims) - 1)]
    return 2 * samples * (2 * sum(layers) + sum(layers[1:]))


def numpy_rhs(p):
    """The flow's right-hand side -grad(loss) in numpy, vectorised with @ (the state flat, layers
    row-major in order, as overflow's)."""
    X, Y, dims = p["X"], p["Y"], p["dims"]
    s = X.shape[1]
    if p["activation"] != "tanh":
        raise ValueError("numpy_rhs has tanh only")
    shapes = [(dims[i + 1], dims[i]) for i in range(len(dims) - 1)]
    bounds = np.cumsum([0] + [r * c for r, c in shapes])

    def rhs(t, y):
        Ws = [y[bounds[i] : bounds[i + 1]].reshape(shapes[i]) for i in range(len(shapes))]
        Hs = [X]
        for W in Ws[:-1]:
            Hs.append(np.tanh(W @ Hs[-1]))
        Z = (Ws[-1] @ Hs[-1] - Y) / s
        dy = np.empty_like(y)
        for i in range(len(Ws) - 1, -1, -1):
            dy[bounds[i] : bounds[i + 1]] = -(Z @ Hs[i].T).ravel()
            if i:
                Z = (Ws[i].T @ Z) * (1.0 - Hs[i] * Hs[i])
        return dy

    return rhs


def loss_of(p, y):
    X, Y, dims = p["X"], p["Y"], p["dims"]
    shapes = [(dims[i + 1], dims[i]) for i in range(len(dims) - 1)]
    bounds = np.cumsum([0] + [r * c for r, c in shapes])
    H = X
    for i, sh in enumerate(shapes):
        A = y[bounds[i] : bounds[i + 1]].reshape(sh) @ H
        H = np.tanh(A) if i + 1 < len(shapes) else A
    return 0.5 * float(np.sum((H - Y) ** 2)) / X.shape[1]


# ------------------------------------------------------------------------------------ timing
def overflow_rhs_seconds(net, y, activation, inputs, rounds, threads=1, clock=None):
    """Best over `rounds` of the core's mean time per RHS over a batch (about 5 ms of evaluations): the
    core's own steady clock, or with clock=cpu the process CPU time around the call (its one untimed
    warm-up evaluation included)."""
    clock = clock or CLOCK
    of = _overflow()
    from overflow import _core

    act = "none" if activation is None else activation
    kw = dict(inputs=inputs) if inputs is not None else {}
    if threads != 1:
        kw["threads"] = threads

    def batch(n):
        tic = clock()
        wall = _core.flow_rhs_seconds(net.dims, net.cost.vg_address, net.cost.data, y, n, act, **kw)
        return wall if clock is time.perf_counter else (clock() - tic) / (n + 1)

    try:
        one = batch(1)
    except TypeError as exc:
        raise Unavailable(f"this overflow's flow_rhs_seconds does not take threads= ({exc})") from exc
    del of
    n = max(1, int(0.005 / max(one, 1e-7)))
    return min(batch(n) for _ in range(rounds))


def overflow_jvp_seconds(net, y, v, inputs, threads):
    """The core's mean time per exact Jacobian-vector product J(y) v over a batch (about 50 ms of products) at
    a state whose forward and backward passes are made, as the products of one implicit step share them."""
    from overflow import _core

    c = net.cost

    def batch(n):
        return _core.flow_jvp_seconds(
            net.dims, c.vg_address, c.hvp_address, c.data, y, v, n, net.activation, inputs=inputs, threads=threads
        )

    try:
        one = batch(1)
    except (AttributeError, TypeError) as exc:
        raise Unavailable(f"this overflow has no flow_jvp_seconds with threads= ({exc})") from exc
    return batch(max(1, int(0.05 / max(one, 1e-7))))


def best_seconds(fn, rounds, inner=None):
    fn()  # warm-up
    if inner is None:
        tic = time.perf_counter()
        fn()
        inner = max(1, int(0.005 / max(time.perf_counter() - tic, 1e-7)))
    best = np.inf
    for _ in range(rounds):
        tic = CLOCK()
        for _ in range(inner):
            fn()
        best = min(best, (CLOCK() - tic) / inner)
    return best


def matmul_peak(rounds, n=1024):
    """Single-core float64 matmul rate (GFLOP/s): numpy @ on n x n, one BLAS thread (threadpoolctl where
    installed, else the thread variables set before numpy loaded), best of the rounds."""
    import contextlib

    try:
        from threadpoolctl import threadpool_limits

        one_thread = threadpool_limits(limits=1)
    except ImportError:
        one_thread = contextlib.nullcontext()
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    c = np.empty((n, n))
    with one_thread:
        t = best_seconds(lambda: np.matmul(a, b, out=c), rounds, inner=1)
    return 2.0 * n**3 / t / 1e9


def jax_python(args):
    return args.jax_python or os.environ.get("OVERFLOW_BENCH_JAX_PYTHON") or sys.executable


def run_jax(args, p, task, **extra):
    """Runs bench/data_network_jax.py under the JAX Python; returns its result dict (with 'skipped'
    when it could not run)."""
    spec = dict(X=p["X"], Y=p["Y"], activation=p["activation"], layers=len(p["Ws"]), task=task, **extra)
    spec["clock"] = args.clock
    spec.update({f"W_{i}": W for i, W in enumerate(p["Ws"])})
    python = jax_python(args)
    with tempfile.TemporaryDirectory() as tmp:
        src, out = os.path.join(tmp, "problem.npz"), os.path.join(tmp, "out.json")
        np.savez(src, **spec)
        try:
            proc = subprocess.run(
                [python, os.path.join(HERE, "data_network_jax.py"), src, out],
                capture_output=True,
                text=True,
                timeout=1800,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return dict(skipped=f"{python}: {type(exc).__name__}: {exc}")
        if proc.returncode != 0 or not os.path.exists(out):
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            return dict(skipped=f"FAILED under {python}: {' | '.join(tail)}")
        with open(out) as fh:
            return json.load(fh)


def _fmt_t(s):
    if s is None:
        return "-"
    return f"{s * 1e3:9.3f} ms" if s < 10 else f"{s:9.2f} s "


def _goal(ok):
    return "yes" if ok else "NO"


# ------------------------------------------------------------------------------------ sections
def section_rhs(args, peak, out):
    p = data_problem(**RHS_PROBLEM)
    flops = gemm_flops(p["dims"], RHS_PROBLEM["samples"])
    rounds = 20 if args.quick else 60
    print(
        f"\n=== one RHS: dims {p['dims']}, s = {RHS_PROBLEM['samples']}, tanh; "
        f"{flops / 1e6:.1f} MFLOP (GEMMs); peak {peak:.1f} GFLOP/s"
    )
    rows = {}
    y = p["net"].flatten(p["Ws"])
    rows["overflow core"] = overflow_rhs_seconds(p["net"], y, "tanh", p["X"], rounds)
    f = numpy_rhs(p)
    rows["numpy @ (1 BLAS thread)"] = best_seconds(lambda: f(0.0, y), rounds)
    jr = run_jax(args, p, "rhs", repeats=rounds, inner=max(1, int(0.005 / rows["overflow core"])))
    if "skipped" in jr:
        print(f"    jax.grad: skipped ({jr['skipped']})")
    else:
        rows[f"jax.grad jit (jax {jr['versions']['jax']})"] = jr["seconds"]
    for name, t in rows.items():
        gf = flops / t / 1e9
        print(f"    {name:<34} {t * 1e6:10.1f} us  {gf:7.2f} GFLOP/s  {100 * gf / peak:6.1f}% of peak")
    ours = rows["overflow core"]
    frac = flops / ours / 1e9 / peak
    print(f"    goal: >= {GOALS['peak_fraction']:.0%} of peak: {_goal(frac >= GOALS['peak_fraction'])} ({frac:.1%})")
    jax_t = next((t for n, t in rows.items() if n.startswith("jax")), None)
    if jax_t is not None:
        r = jax_t / ours
        print(f"    goal: >= {GOALS['jax_rhs']:g}x faster than jax.grad: {_goal(r >= GOALS['jax_rhs'])} ({r:.2f}x)")
    out["rhs"] = dict(dims=p["dims"], samples=RHS_PROBLEM["samples"], flops=flops, seconds=rows)


def _overflow_flow(p, method, rtol, atol, t1):
    of = _overflow()

    def go():
        res = of.integrate(p["net"], p["Ws"], t_span=(0.0, t1), method=method, rtol=rtol, atol=atol, t_eval=[t1])
        if str(res.status) != "t_end":
            raise RuntimeError(f"overflow {method}: status {res.status}")
        return dict(nfev=int(res.nfev), y_final=np.asarray(res.final_state), loss_final=float(res.loss[-1]))

    return go


def _scipy_flow(p, method, rtol, atol, t1):
    from scipy.integrate import solve_ivp

    f = numpy_rhs(p)
    y0 = p["net"].flatten(p["Ws"])

    def go():
        res = solve_ivp(f, (0.0, t1), y0, method=method, rtol=rtol, atol=atol, t_eval=[t1])
        if res.status != 0:
            raise RuntimeError(f"scipy {method}: {res.message}")
        y = res.y[:, -1]
        return dict(nfev=int(res.nfev), y_final=y, loss_final=loss_of(p, y))

    return go


def _timed(go, repeats):
    out = go()  # warm-up (Numba compilation of the cost, first touch)
    times = []
    for _ in range(repeats):
        tic = CLOCK()
        out = go()
        times.append(CLOCK() - tic)
    return dict(out, median_s=statistics.median(times), best_s=min(times), repeats=repeats)


def section_flow(args, out):
    p = data_problem(**FLOW_PROBLEM)
    rtol, atol, t1 = FLOW_RUN["rtol"], FLOW_RUN["atol"], FLOW_RUN["t1"]
    print(
        f"\n=== whole integrations: dims {p['dims']}, {FLOW_PROBLEM['samples']} samples, tanh, t in [0, {t1:g}], "
        f"rtol {rtol:g}, atol {atol:g}"
    )
    ref = _overflow_flow(p, "dop853", 1e-12, 1e-14, t1)()
    print(f"    reference: overflow dop853 rtol 1e-12 atol 1e-14 (nfev {ref['nfev']}, loss {ref['loss_final']:.6e})")
    of_reps = 3 if args.quick else 7
    peer_reps = 1 if args.quick else 3
    hdr = (
        f"    {'method':<7} {'package':<9} {'peer method':<11} {'median':>12} {'best':>12} {'nfev':>7} "
        f"{'final loss':>12} {'max|y-yref|':>11} {'peer/overflow':>13}"
    )
    print(hdr)
    print("    " + "-" * (len(hdr) - 4))
    rows = []
    for method, peer_list in FLOW_PEERS.items():
        r_of = dict(ofmethod=method, package="overflow", method=method)
        try:
            r_of.update(_timed(_overflow_flow(p, method, rtol, atol, t1), of_reps))
        except Unavailable as exc:
            r_of["skipped"] = str(exc)
        rows.append(r_of)
        for pkg, pm, same in [] if args.no_peers else peer_list:
            r = dict(ofmethod=method, package=pkg, method=pm, same=same)
            try:
                if pkg == "scipy":
                    r.update(_timed(_scipy_flow(p, pm, rtol, atol, t1), peer_reps))
                else:
                    jr = run_jax(args, p, "integrate", method=pm, rtol=rtol, atol=atol, t1=t1, repeats=peer_reps)
                    r.update(jr)
                    if "y_final" in r:
                        r["y_final"] = np.asarray(r["y_final"])
            except Exception as exc:  # one failing peer must not end the comparison
                traceback.print_exc(limit=3)
                r["skipped"] = f"FAILED: {type(exc).__name__}: {exc}"
            if "skipped" not in r and "skipped" not in r_of:
                r["ratio"] = r["best_s"] / r_of["best_s"]
            rows.append(r)
    for r in rows:
        head = f"    {r['ofmethod']:<7} {r['package']:<9} {r['method']:<11}"
        if "skipped" in r:
            print(f"{head} skipped: {r['skipped']}")
            continue
        err = float(np.max(np.abs(r["y_final"] - ref["y_final"])))
        r["err_ref"] = err
        ratio = r.get("ratio")
        rtxt = "-" if ratio is None else f"{ratio:8.2f}x" + ("" if r.get("same", True) else " ~")
        print(
            f"{head} {_fmt_t(r['median_s'])} {_fmt_t(r['best_s'])} {r['nfev']:7d} {r['loss_final']:12.6e} "
            f"{err:11.2e} {rtxt:>13}"
        )
    for r in rows:
        if r.get("ratio") is None:
            continue
        target = GOALS[r["package"]]
        print(
            f"    goal: overflow {r['ofmethod']} >= {target:g}x faster than {r['package']} {r['method']}: "
            f"{_goal(r['ratio'] >= target)} ({r['ratio']:.2f}x)"
        )
    out["flow"] = dict(
        dims=p["dims"],
        samples=FLOW_PROBLEM["samples"],
        **FLOW_RUN,
        rows=[{k: v for k, v in r.items() if k != "y_final"} for r in rows],
    )


def section_identity(args, out):
    of = _overflow()
    n, width, depth = IDENTITY_PROBLEM["n"], IDENTITY_PROBLEM["width"], IDENTITY_PROBLEM["depth"]
    T = np.random.default_rng(0).standard_normal((n, n)) / np.sqrt(n)
    rounds = 20 if args.quick else 60
    print(f"\n=== identity input (no inputs=): width {width}, depth {depth}, {n} x {n} matrix factorisation")
    times = {}
    for act in (None, "tanh", "isru"):
        net = of.Network(of.costs.matrix_factorization(T), depth=depth, width=width, activation=act)
        y = net.flatten(net.init(seed=1, scale=1.0))
        times[act or "linear"] = overflow_rhs_seconds(net, y, act, None, rounds)
    lin = times["linear"]
    for name, t in times.items():
        print(f"    {name:<8} {t * 1e6:10.1f} us/eval  {t / lin:6.2f}x the linear network's")
    for name in ("tanh", "isru"):
        r = times[name] / lin
        print(f"    goal: {name} within {GOALS['identity']:g}x of linear: {_goal(r <= GOALS['identity'])} ({r:.2f}x)")
    out["identity"] = dict(seconds=times)


def section_threads(args, out):
    p = data_problem(**THREADS_PROBLEM)
    net, X = p["net"], p["X"]
    y = net.flatten(p["Ws"])
    v = np.random.default_rng(2).standard_normal(y.size)
    rounds = 10 if args.quick else 30
    flow_rounds = 1 if args.quick else 3
    method, t1, rtol, atol = (THREADS_RUN[k] for k in ("method", "t1", "rtol", "atol"))
    run = dict(method=method, rtol=rtol, atol=atol, t_eval=[t1])
    flops = gemm_flops(p["dims"], THREADS_PROBLEM["samples"])
    print(
        f"\n=== thread team: dims {p['dims']}, s = {THREADS_PROBLEM['samples']}, tanh ({flops / 1e6:.0f} MFLOP), "
        "wall time, the two settings alternated round by round"
    )
    of = _overflow()
    times = {}  # (row, threads) -> best seconds
    finals = {}

    def keep(row, threads, seconds):
        times[row, threads] = min(times.get((row, threads), np.inf), seconds)

    try:
        for k in range(rounds):
            for threads in (1, 2):
                keep("rhs", threads, overflow_rhs_seconds(net, y, "tanh", X, 1, threads, time.perf_counter))
                keep("jvp", threads, overflow_jvp_seconds(net, y, v, X, threads))
                if k < flow_rounds:
                    tic = time.perf_counter()
                    res = of.integrate(net, p["Ws"], (0.0, t1), threads=threads, **run)
                    keep(method, threads, time.perf_counter() - tic)
                    finals[threads] = (np.asarray(res.final_state), int(res.nfev), int(res.njvp))
    except Unavailable as exc:
        print(f"    threads=2: skipped ({exc})")
    units = dict(rhs="ms/eval", jvp="ms/jvp", **{method: "ms"})
    for row in ("rhs", "jvp", method):
        for threads in (1, 2):
            if (row, threads) in times:
                t = times[row, threads]
                rate = f"  {flops / t / 1e9:7.2f} GFLOP/s" if row == "rhs" else ""
                print(f"    {row:6s} threads={threads} {t * 1e3:11.3f} {units[row]}{rate}")
        if (row, 1) in times and (row, 2) in times:
            print(f"    {row:6s} speedup threads=2 / threads=1: {times[row, 1] / times[row, 2]:.2f}x (2 cores)")
    if len(finals) == 2:
        (y1, nfev, njvp), (y2, _, _) = finals[1], finals[2]
        same = "the same bits" if np.array_equal(y1, y2) else f"max |diff| {np.max(np.abs(y1 - y2)):.2e}"
        print(f"    {method} t in [0, {t1:g}], rtol {rtol:g}, atol {atol:g}: nfev {nfev}, njvp {njvp}")
        print(f"    {method} threads=2 against threads=1: {same}")
    out["threads"] = dict(
        dims=p["dims"],
        samples=THREADS_PROBLEM["samples"],
        run=THREADS_RUN,
        seconds={f"{row} threads={threads}": t for (row, threads), t in times.items()},
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    ap.add_argument("--sections", default=",".join(SECTIONS), help="comma-separated subset of " + ",".join(SECTIONS))
    ap.add_argument("--no-peers", action="store_true", help="overflow rows only in the flow section")
    ap.add_argument("--jax-python", default=None, help="the Python that runs the JAX peers (jax, diffrax)")
    ap.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="wall",
        help="wall time, or the process CPU time (steadier where other jobs share the cores)",
    )
    ap.add_argument("--json", default=None, help="write the numbers to this JSON file")
    args = ap.parse_args(argv)
    global CLOCK
    CLOCK = CLOCKS[args.clock]
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    for s in sections:
        if s not in SECTIONS:
            ap.error(f"unknown section {s!r}")
    load = os.getloadavg()
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}; JAX peers under {jax_python(args)}")
    print(f"load average at the start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    print(f"clock: {args.clock} time")
    peak = matmul_peak(10 if args.quick else 30)
    print(f"single-core float64 matmul peak (numpy @ 1024 x 1024, one BLAS thread): {peak:.1f} GFLOP/s")
    out = dict(peak_gflops=peak, load_start=load, clock=args.clock)
    for s in sections:
        try:
            if s == "rhs":
                section_rhs(args, peak, out)
            elif s == "flow":
                section_flow(args, out)
            elif s == "identity":
                section_identity(args, out)
            else:
                section_threads(args, out)
        except Unavailable as exc:
            print(f"\n=== {s}: skipped ({exc})")
        sys.stdout.flush()
    out["load_end"] = os.getloadavg()
    print(f"\nload average at the end: {out['load_end'][0]:.2f} {out['load_end'][1]:.2f} {out['load_end'][2]:.2f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1, default=float)
    return out


if __name__ == "__main__":
    main()
