"""Stiff problems in one run, the same tolerances for every solver (issue 17's performance goal):
overflow's `solve_ivp` against scipy's Radau, BDF and LSODA and diffrax's Kvaerno5.

    python bench/stiff.py                # Robertson and Van der Pol, full repeats
    python bench/stiff.py --quick        # fewer repeats
    python bench/stiff.py --problems robertson --json out.json

- Robertson's kinetics on [0, 1e5], y(0) = (1, 0, 0), rtol 1e-6, atol 1e-10 (y2 stays below 4e-5,
  so the absolute tolerance is set well under it);
- Van der Pol y'' = mu (1 - y^2) y' - y, mu = 1000, on [0, 3000], y(0) = (2, 0), rtol 1e-6, atol 1e-6.

overflow runs scipy's names (Radau -> radau5, BDF -> rodas4, LSODA -> auto) and rodas4, radau5
directly; scipy runs the same numpy right-hand side (overflow compiles it with Numba); both with
their own Jacobian (none given) and with the analytic one (``jac=``). diffrax (JAX CPU, float64)
runs Kvaerno5 with a PID controller at the same rtol/atol (its Jacobian by autodiff), jitted.
Times are the median of the repeats after one untimed warm-up (Numba compilation, JIT). For each
row: steps, nfev, njev, the final error against a tight reference (precomputed, provenance below;
``--reference`` recomputes it) as max |y - ref| and as max |y - ref| / (atol + rtol |ref|), and
the ratio scipy time / overflow time. The goal line compares overflow's scipy-named rows with the
same Jacobian setting: >= 10x less time than scipy Radau, BDF and LSODA, error no worse than
scipy Radau's.
"""

from __future__ import annotations

import argparse
import os

if __name__ == "__main__":
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = "1"
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    ).strip()

import json
import statistics
import time
import traceback

import numpy as np

MU = 1000.0


def robertson(t, y):
    return np.array(
        [
            -0.04 * y[0] + 1e4 * y[1] * y[2],
            0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2,
            3e7 * y[1] ** 2,
        ]
    )


def robertson_jac(t, y):
    return np.array(
        [
            [-0.04, 1e4 * y[2], 1e4 * y[1]],
            [0.04, -1e4 * y[2] - 6e7 * y[1], -1e4 * y[1]],
            [0.0, 6e7 * y[1], 0.0],
        ]
    )


def van_der_pol(t, y):
    return np.array([y[1], MU * (1 - y[0] ** 2) * y[1] - y[0]])


def van_der_pol_jac(t, y):
    return np.array([[0.0, 1.0], [-2 * MU * y[0] * y[1] - 1, MU * (1 - y[0] ** 2)]])


def _jax_robertson(jnp):
    def vf(t, y, args):
        return jnp.stack(
            [
                -0.04 * y[0] + 1e4 * y[1] * y[2],
                0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2,
                3e7 * y[1] ** 2,
            ]
        )

    return vf


def _jax_van_der_pol(jnp):
    def vf(t, y, args):
        return jnp.stack([y[1], MU * (1 - y[0] ** 2) * y[1] - y[0]])

    return vf


PROBLEMS = {
    "robertson": dict(
        title="Robertson, t in [0, 1e5], y0 = (1, 0, 0)",
        fun=robertson,
        jac=robertson_jac,
        jax_vf=_jax_robertson,
        t_span=(0.0, 1e5),
        y0=np.array([1.0, 0.0, 0.0]),
        rtol=1e-6,
        atol=1e-10,
        # scipy 1.17 Radau, analytic Jacobian, rtol 1e-13, atol 1e-16 (rtol 1e-12, atol 1e-14 agrees to 7e-14)
        ref=np.array([0.017865921142103842, 7.274751468438161e-08, 0.9821340061103777]),
        ref_options=dict(method="Radau", rtol=1e-13, atol=1e-16),
    ),
    "vdp": dict(
        title="Van der Pol, mu = 1000, t in [0, 3000], y0 = (2, 0)",
        fun=van_der_pol,
        jac=van_der_pol_jac,
        jax_vf=_jax_van_der_pol,
        t_span=(0.0, 3000.0),
        y0=np.array([2.0, 0.0]),
        rtol=1e-6,
        atol=1e-6,
        # scipy 1.17 Radau, analytic Jacobian, rtol 1e-12, atol 1e-14 (rtol 1e-10, atol 1e-12 agrees to 3e-14)
        ref=np.array([-1.5106069367439976, 0.0011783800007311384]),
        ref_options=dict(method="Radau", rtol=1e-12, atol=1e-14),
    ),
}

OVERFLOW_METHODS = ("Radau", "BDF", "LSODA", "radau5", "rodas4")
SCIPY_METHODS = ("Radau", "BDF", "LSODA")


class Unavailable(Exception):
    """A solver that cannot run here (not installed, or a feature not merged yet)."""


def _median_time(go, repeats):
    out = go()  # warm-up: Numba compilation, JIT, first-touch allocations (untimed)
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        out = go()
        times.append(time.perf_counter() - tic)
    return statistics.median(times), out


def _ivp_row(res):
    steps = getattr(res, "naccept", None)
    if steps is not None:
        steps += res.nreject
    else:
        steps = len(res.t) - 1
    return dict(y=np.asarray(res.y)[:, -1], steps=steps, nfev=int(res.nfev), njev=int(res.njev), nlu=int(res.nlu))


def prepare_overflow(p, method, with_jac):
    try:
        import overflow as of
    except Exception as exc:
        raise Unavailable(f"import overflow failed: {exc}") from exc
    options = dict(method=method, rtol=p["rtol"], atol=p["atol"])
    if with_jac:
        options["jac"] = p["jac"]

    def go():
        res = of.solve_ivp(p["fun"], p["t_span"], p["y0"], **options)
        if res.status != 0:
            raise RuntimeError(f"status {res.status}: {res.message}")
        return _ivp_row(res)

    try:
        go()
    except Exception as exc:
        raise Unavailable(
            f"overflow solve_ivp(method={method!r}) does not run yet: {type(exc).__name__}: {exc}"
        ) from exc
    return go


def prepare_scipy(p, method, with_jac):
    from scipy.integrate import solve_ivp

    options = dict(method=method, rtol=p["rtol"], atol=p["atol"])
    if with_jac:
        options["jac"] = p["jac"]

    def go():
        res = solve_ivp(p["fun"], p["t_span"], p["y0"], **options)
        if res.status != 0:
            raise RuntimeError(f"status {res.status}: {res.message}")
        return _ivp_row(res)

    return go


def prepare_diffrax(p, solver_name="Kvaerno5"):
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        import diffrax
        import jax.numpy as jnp
    except Exception as exc:
        raise Unavailable(f"jax/diffrax not importable ({exc}); pip install jax diffrax") from exc
    term = diffrax.ODETerm(p["jax_vf"](jnp))
    solver = getattr(diffrax, solver_name)()
    ctrl = diffrax.PIDController(rtol=p["rtol"], atol=p["atol"])
    t0, t1 = p["t_span"]

    @jax.jit
    def solve(y0):
        sol = diffrax.diffeqsolve(
            term,
            solver,
            t0,
            t1,
            None,
            y0,
            stepsize_controller=ctrl,
            saveat=diffrax.SaveAt(t1=True),
            max_steps=10**6,
        )
        return sol.ys[-1], sol.stats["num_accepted_steps"], sol.stats["num_rejected_steps"], sol.result

    y0 = jnp.asarray(p["y0"])

    def go():
        y, nacc, nrej, result = jax.block_until_ready(solve(y0))
        if result != diffrax.RESULTS.successful:
            raise RuntimeError(f"diffrax {solver_name}: {result}")
        return dict(y=np.asarray(y), steps=int(nacc) + int(nrej), nfev=None, njev=None, nlu=None)

    return go


def measure(p, package, method, with_jac, repeats):
    row = dict(package=package, method=method, jac="analytic" if with_jac else "own")
    try:
        if package == "overflow":
            go = prepare_overflow(p, method, with_jac)
        elif package == "scipy":
            go = prepare_scipy(p, method, with_jac)
        else:
            go = prepare_diffrax(p, method)
            row["jac"] = "autodiff"
        row["median_s"], out = _median_time(go, repeats)
    except Unavailable as exc:
        row["skipped"] = str(exc)
        return row
    except Exception as exc:  # one failing solver must not end the comparison
        traceback.print_exc(limit=3)
        row["skipped"] = f"FAILED: {type(exc).__name__}: {exc}"
        return row
    err = np.abs(out["y"] - p["ref"])
    row.update(out)
    row["y"] = out["y"].tolist()
    row["err_abs"] = float(np.max(err))
    row["err_tol"] = float(np.max(err / (p["atol"] + p["rtol"] * np.abs(p["ref"]))))
    return row


def _fmt(v, spec):
    return "-" if v is None else format(v, spec)


def print_rows(name, p, rows):
    print(f"\n=== {name}: {p['title']}; rtol {p['rtol']:g}, atol {p['atol']:g}")
    hdr = (
        f"    {'package':<9} {'method':<9} {'jac':<9} {'median':>11} {'steps':>6} {'nfev':>7} {'njev':>5} "
        f"{'max|err|':>9} {'err/tol':>8}"
    )
    print(hdr)
    print("    " + "-" * (len(hdr) - 4))
    for r in rows:
        head = f"    {r['package']:<9} {r['method']:<9} {r['jac']:<9}"
        if "skipped" in r:
            print(f"{head} skipped: {r['skipped']}")
            continue
        print(
            f"{head} {r['median_s'] * 1e3:8.3f} ms {r['steps']:6d} {_fmt(r['nfev'], '7d')} {_fmt(r['njev'], '5d')} "
            f"{r['err_abs']:9.2e} {r['err_tol']:8.2f}"
        )


def print_ratios(rows):
    """scipy time / overflow time for every overflow row against every scipy row with the same
    Jacobian setting, and the goal check on overflow's scipy-named rows."""
    done = [r for r in rows if "skipped" not in r]
    for jac in ("own", "analytic"):
        ofr = [r for r in done if r["package"] == "overflow" and r["jac"] == jac]
        spr = [r for r in done if r["package"] == "scipy" and r["jac"] == jac]
        if not ofr or not spr:
            continue
        print(f"\n    scipy time / overflow time, Jacobian: {jac}")
        print("    " + f"{'overflow':<10}" + "".join(f"{'scipy ' + s['method']:>14}" for s in spr))
        for o in ofr:
            print("    " + f"{o['method']:<10}" + "".join(f"{s['median_s'] / o['median_s']:13.1f}x" for s in spr))
        radau = next((s for s in spr if s["method"] == "Radau"), None)
        for o in ofr:
            if o["method"] not in SCIPY_METHODS:
                continue
            worst = min(s["median_s"] / o["median_s"] for s in spr)
            acc = "-" if radau is None else ("yes" if o["err_tol"] <= radau["err_tol"] else "NO")
            ok = "yes" if worst >= 10 else "NO"
            print(
                f"    goal, overflow {o['method']:<6}: >= 10x faster than every scipy row: {ok} "
                f"(slowest margin {worst:.1f}x); error <= scipy Radau's: {acc}"
            )
    missing = [r for r in rows if "skipped" in r]
    if missing:
        print(f"\n    {len(missing)} row(s) skipped (see above)")


def recompute_reference(p):
    from scipy.integrate import solve_ivp

    res = solve_ivp(p["fun"], p["t_span"], p["y0"], jac=p["jac"], **p["ref_options"])
    return res.y[:, -1]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--problems", default="robertson,vdp", help="comma-separated subset of robertson,vdp")
    ap.add_argument("--no-diffrax", action="store_true", help="skip diffrax")
    ap.add_argument("--reference", action="store_true", help="recompute the references (slow) and report them")
    ap.add_argument("--json", default=None, help="write the rows to this JSON file")
    args = ap.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 11)
    out = {}
    for name in args.problems.split(","):
        p = PROBLEMS[name]
        if args.reference:
            ref = recompute_reference(p)
            print(f"{name}: recomputed reference {ref.tolist()} (stored {p['ref'].tolist()})")
            p = dict(p, ref=ref)
        rows = []
        for with_jac in (False, True):
            for m in OVERFLOW_METHODS:
                rows.append(measure(p, "overflow", m, with_jac, repeats))
            for m in SCIPY_METHODS:
                rows.append(measure(p, "scipy", m, with_jac, repeats))
        if not args.no_diffrax:
            rows.append(measure(p, "diffrax", "Kvaerno5", False, repeats))
        print_rows(name, p, rows)
        print_ratios(rows)
        out[name] = rows
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1, default=float)
    return out


if __name__ == "__main__":
    main()
