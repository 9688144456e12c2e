"""DETEST's non-stiff problems A1-E5 (Hull, Enright, Fellen & Sedgwick, "Comparing numerical methods
for ordinary differential equations", SIAM J. Numer. Anal. 9, 1972), t in [0, 20]: overflow's
`solve_ivp` against scipy's `solve_ivp` with the same methods (RK23, RK45, DOP853), the same numpy
right-hand sides (overflow compiles them with Numba) and the same tolerances, in one run.

    python bench/detest.py              # rtol = atol = 1e-6, full repeats
    python bench/detest.py --quick      # fewer repeats
    python bench/detest.py --rtol 1e-9 --atol 1e-9 --json out.json

For each method: the total wall time over the 25 problems (each problem's median over the repeats,
after one untimed warm-up that compiles overflow's right-hand side), the ratio scipy / overflow, the
total nfev, and the accuracy of each side at t = 20: the largest max |y - ref| over the set and the
largest error in units of the tolerance (atol + rtol |ref|). The references are computed once in
the run with scipy DOP853 at rtol 1e-13, atol 1e-15. Goal (issue 17): >= 20x less total time than
scipy with the same method.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import traceback

if __name__ == "__main__":
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = "1"

import numpy as np

T_END = 20.0

# ------------------------------------------------------------------------------ class A: one equation


def a1(t, y):
    return -y


def a2(t, y):
    return -0.5 * y**3


def a3(t, y):
    return y * np.cos(t)


def a4(t, y):
    return 0.25 * y * (1 - y / 20)


def a5(t, y):
    return (y - t) / (y + t)


# ------------------------------------------------------------------------------ class B: small systems


def b1(t, y):
    return np.array([2 * (y[0] - y[0] * y[1]), -(y[1] - y[0] * y[1])])


def b2(t, y):
    return np.array([-y[0] + y[1], y[0] - 2 * y[1] + y[2], y[1] - y[2]])


def b3(t, y):
    return np.array([-y[0], y[0] - y[1] ** 2, y[1] ** 2])


def b4(t, y):
    r = np.sqrt(y[0] ** 2 + y[1] ** 2)
    return np.array([-y[1] - y[0] * y[2] / r, y[0] - y[1] * y[2] / r, y[0] / r])


def b5(t, y):
    return np.array([y[1] * y[2], -y[0] * y[2], -0.51 * y[0] * y[1]])


# ------------------------------------------------------------------------------ class C: moderate systems


def c1(t, y):
    dy = np.empty_like(y)
    dy[0] = -y[0]
    dy[1:-1] = y[:-2] - y[1:-1]
    dy[-1] = y[-2]
    return dy


_C2_I = np.arange(1.0, 11.0)  # i = 1 .. 10


def c2(t, y):
    dy = np.empty_like(y)
    dy[0] = -y[0]
    dy[1:-1] = _C2_I[:-2] * y[:-2] - _C2_I[1:-1] * y[1:-1]
    dy[-1] = 9.0 * y[-2]
    return dy


def c3(t, y):
    # also C4 (51 equations): the second difference with zero ends
    dy = -2.0 * y
    dy[1:] += y[:-1]
    dy[:-1] += y[1:]
    return dy


# C5: five outer planets around the sun (with the inner planets' mass), positions then velocities;
# gravitational constant, masses and initial values as given for DETEST's C5
C5_K2 = 2.95912208286
C5_M0 = 1.00000597682
C5_M = np.array([0.000954786104043, 0.000285583733151, 0.0000437273164546, 0.0000517759138449, 0.00000277777777778])
C5_Q0 = np.array(
    [
        [3.42947415189, 3.35386959711, 1.35494901715],
        [6.64145542550, 5.97156957878, 2.18231499728],
        [11.2630437207, 14.6952576794, 6.27960525067],
        [-30.1552268759, 1.65699966404, 1.43785752721],
        [-21.1238353380, 28.4465098142, 15.3882659679],
    ]
)
C5_V0 = np.array(
    [
        [-0.557160570446, 0.505696783289, 0.230578543901],
        [-0.415570776342, 0.365682722812, 0.169143213293],
        [-0.325325669158, 0.189706021964, 0.0877265322780],
        [-0.0240476254170, -0.287659532608, -0.117219543175],
        [-0.176860753121, -0.216393453025, -0.0148647893090],
    ]
)


def c5(t, y):
    q = y[:15].reshape(5, 3)
    dy = np.empty_like(y)
    dy[:15] = y[15:]
    r3 = np.sqrt(np.sum(q * q, axis=1)) ** 3
    acc = np.zeros((5, 3))
    for i in range(5):
        acc[i] = -(C5_M0 + C5_M[i]) * q[i] / r3[i]
        for j in range(5):
            if j != i:
                d = q[j] - q[i]
                acc[i] += C5_M[j] * (d / np.sqrt(np.sum(d * d)) ** 3 - q[j] / r3[j])
    dy[15:] = C5_K2 * acc.reshape(15)
    return dy


# ------------------------------------------------------------------------------ class D: orbits


def d_orbit(t, y):
    r3 = (y[0] ** 2 + y[1] ** 2) ** 1.5
    return np.array([y[2], y[3], -y[0] / r3, -y[1] / r3])


def _orbit_start(eps):
    return np.array([1 - eps, 0.0, 0.0, np.sqrt((1 + eps) / (1 - eps))])


# ------------------------------------------------------------------------------ class E: higher order


def e1(t, y):
    # y'' + y' / (t + 1) + (1 - 1 / (4 (t + 1)^2)) y = 0 (Bessel's equation of order 1/2 in t + 1)
    return np.array([y[1], -(y[1] / (t + 1) + (1 - 0.25 / (t + 1) ** 2) * y[0])])


def e2(t, y):
    return np.array([y[1], (1 - y[0] ** 2) * y[1] - y[0]])


def e3(t, y):
    return np.array([y[1], y[0] ** 3 / 6 - y[0] + 2 * np.sin(2.78535 * t)])


def e4(t, y):
    return np.array([y[1], 0.032 - 0.4 * y[1] ** 2])


def e5(t, y):
    return np.array([y[1], np.sqrt(1 + y[1] ** 2) / (25 - t)])


def _c_start(n):
    y0 = np.zeros(n)
    y0[0] = 1.0
    return y0


PROBLEMS = {
    "A1": (a1, [1.0]),
    "A2": (a2, [1.0]),
    "A3": (a3, [1.0]),
    "A4": (a4, [1.0]),
    "A5": (a5, [4.0]),
    "B1": (b1, [1.0, 3.0]),
    "B2": (b2, [2.0, 0.0, 1.0]),
    "B3": (b3, [1.0, 0.0, 0.0]),
    "B4": (b4, [3.0, 0.0, 0.0]),
    "B5": (b5, [0.0, 1.0, 1.0]),
    "C1": (c1, _c_start(10)),
    "C2": (c2, _c_start(10)),
    "C3": (c3, _c_start(10)),
    "C4": (c3, _c_start(51)),
    "C5": (c5, np.concatenate([C5_Q0.ravel(), C5_V0.ravel()])),
    "D1": (d_orbit, _orbit_start(0.1)),
    "D2": (d_orbit, _orbit_start(0.3)),
    "D3": (d_orbit, _orbit_start(0.5)),
    "D4": (d_orbit, _orbit_start(0.7)),
    "D5": (d_orbit, _orbit_start(0.9)),
    "E1": (e1, [0.6713967071418030, 0.09540051444747446]),
    "E2": (e2, [2.0, 0.0]),
    "E3": (e3, [0.0, 0.0]),
    "E4": (e4, [30.0, 0.0]),
    "E5": (e5, [0.0, 0.0]),
}

METHODS = ("RK23", "RK45", "DOP853")


def references():
    """y(20) of every problem: scipy DOP853 at rtol 1e-13, atol 1e-15."""
    from scipy.integrate import solve_ivp

    out = {}
    for name, (fun, y0) in PROBLEMS.items():
        res = solve_ivp(fun, (0.0, T_END), np.asarray(y0, dtype=float), method="DOP853", rtol=1e-13, atol=1e-15)
        if res.status != 0:
            raise RuntimeError(f"reference for {name} failed: {res.message}")
        out[name] = res.y[:, -1]
    return out


def _runner(package, method, fun, y0, rtol, atol):
    if package == "overflow":
        import overflow as of

        solve = of.solve_ivp
    else:
        from scipy.integrate import solve_ivp as solve
    y0 = np.asarray(y0, dtype=float)

    def go():
        res = solve(fun, (0.0, T_END), y0, method=method, rtol=rtol, atol=atol)
        if res.status != 0:
            raise RuntimeError(f"status {res.status}: {res.message}")
        return np.asarray(res.y)[:, -1], int(res.nfev)

    return go


def run_set(package, method, refs, rtol, atol, repeats):
    """Times every problem (median of ``repeats`` after a warm-up); returns a summary dict, or one
    with 'skipped' and the reason."""
    total, nfev, err_abs, err_tol, per = 0.0, 0, 0.0, 0.0, {}
    try:
        for name, (fun, y0) in PROBLEMS.items():
            go = _runner(package, method, fun, y0, rtol, atol)
            y, n = go()  # warm-up (compiles overflow's right-hand side)
            times = []
            for _ in range(repeats):
                tic = time.perf_counter()
                y, n = go()
                times.append(time.perf_counter() - tic)
            med = statistics.median(times)
            e = np.abs(y - refs[name])
            per[name] = dict(time_s=med, nfev=n, err_abs=float(np.max(e)))
            total += med
            nfev += n
            err_abs = max(err_abs, float(np.max(e)))
            err_tol = max(err_tol, float(np.max(e / (atol + rtol * np.abs(refs[name])))))
    except Exception as exc:
        if package == "scipy":
            traceback.print_exc(limit=3)
        return dict(package=package, method=method, skipped=f"{type(exc).__name__}: {exc}")
    return dict(package=package, method=method, total_s=total, nfev=nfev, err_abs=err_abs, err_tol=err_tol, per=per)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--rtol", type=float, default=1e-6)
    ap.add_argument("--atol", type=float, default=1e-6)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--per-problem", action="store_true", help="also print each problem's times")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 9)
    refs = references()
    print(
        f"DETEST A1-E5 (25 problems), t in [0, {T_END:g}], rtol {args.rtol:g}, atol {args.atol:g}; "
        f"reference scipy DOP853 rtol 1e-13 atol 1e-15; median of {repeats} after a warm-up"
    )
    hdr = (
        f"    {'method':<7} {'package':<9} {'total':>11} {'nfev':>8} {'max|err|':>9} {'err/tol':>8} "
        f"{'scipy/overflow':>15}"
    )
    print(hdr)
    print("    " + "-" * (len(hdr) - 4))
    out = {}
    for method in args.methods.split(","):
        rows = [run_set(pkg, method, refs, args.rtol, args.atol, repeats) for pkg in ("overflow", "scipy")]
        ours, theirs = rows
        for r in rows:
            if "skipped" in r:
                print(f"    {method:<7} {r['package']:<9} skipped: {r['skipped']}")
                continue
            ratio = ""
            if r is theirs and "skipped" not in ours:
                ratio = f"{theirs['total_s'] / ours['total_s']:14.1f}x"
            print(
                f"    {method:<7} {r['package']:<9} {r['total_s'] * 1e3:8.2f} ms {r['nfev']:8d} "
                f"{r['err_abs']:9.2e} {r['err_tol']:8.2f} {ratio:>15}"
            )
        if "skipped" not in ours and "skipped" not in theirs:
            ratio = theirs["total_s"] / ours["total_s"]
            print(
                f"    goal {method}: >= 20x less total time than scipy: {'yes' if ratio >= 20 else 'NO'} ({ratio:.1f}x)"
            )
            if args.per_problem:
                for name in PROBLEMS:
                    a, b = ours["per"][name], theirs["per"][name]
                    print(
                        f"        {name}: overflow {a['time_s'] * 1e3:7.3f} ms nfev {a['nfev']:6d} "
                        f"err {a['err_abs']:.1e} | scipy {b['time_s'] * 1e3:7.3f} ms nfev {b['nfev']:6d} "
                        f"err {b['err_abs']:.1e}"
                    )
        out[method] = rows
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return out


if __name__ == "__main__":
    main()
