"""Relu-family networks on data (issue 18, item 4): evaluations and time of overflow's dop853, which
locates activation-pattern switches and slides along kinks, against scipy's DOP853 on a numpy
right-hand side that steps through the kinks, same tolerances.

    python bench/kinks.py            # leaky relu, relu and tanh, 3 repeats
    python bench/kinks.py --quick    # one repeat (scipy's relu runs take seconds each)
    python bench/kinks.py --json out.json

The problem (the issue's): a width-8, depth-3 student (two hidden layers) on 40 samples of
`overflow.datasets.teacher_student(n_in=4, width=8, samples=40, depth=3, activation=act, seed=0)`
(m = 1, the teacher of the same activation and depth), squared loss, Gaussian init seed 1 scale 0.5,
t in [0, 5], rtol 1e-6, atol 1e-9. The final state's error is measured against overflow's dop853
at rtol 1e-12, atol 1e-14 (scipy at that tolerance chatters for minutes along the entries that slide;
tests/test_kinks.py checks overflow against scipy on smaller problems). Times are the median of the
repeats after one untimed warm-up.
"""

from __future__ import annotations

import argparse
import os

if __name__ == "__main__":
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = "1"

import json
import statistics
import sys
import time

import numpy as np
from scipy.integrate import solve_ivp

import overflow as of

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from data_network_oracle import flat_rhs  # the numpy right-hand side the tests check

ACTIVATIONS = ("leaky_relu", "relu", "tanh")
T_END, RTOL, ATOL = 5.0, 1e-6, 1e-9


def problem(activation):
    """``(net, data, layers)`` of the issue's kink problem for one activation."""
    data = of.datasets.teacher_student(n_in=4, width=8, samples=40, depth=3, activation=activation, seed=0)
    net = of.Network(of.costs.squared_loss(data.Y), depth=3, width=8, activation=activation, inputs=data.X)
    return net, data, net.init(seed=1, scale=0.5)


def run_overflow(net, layers, rtol=RTOL, atol=ATOL):
    res = of.integrate(net, layers, (0.0, T_END), method="dop853", rtol=rtol, atol=atol, save_weights=False)
    return {"y": res.final_state, "nfev": res.nfev, "steps": res.naccept, "nkink": res.nkink, "nslide": res.nslide}


def run_scipy(net, data, layers, activation, rtol=RTOL, atol=ATOL):
    fun = flat_rhs(data.X, data.Y, activation, False, net.shapes)
    sol = solve_ivp(fun, (0.0, T_END), net.flatten(layers), method="DOP853", rtol=rtol, atol=atol)
    return {"y": sol.y[:, -1], "nfev": sol.nfev, "steps": sol.t.size - 1}


def timed(go, repeats):
    go()  # warm-up
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = go()
        times.append(time.perf_counter() - start)
    out["ms"] = 1e3 * statistics.median(times)
    return out


def bench(activation, repeats, reference=True):
    """One row per package for one activation: evaluations, steps, ms and the error against the reference."""
    net, data, layers = problem(activation)
    rows = {
        "overflow": timed(lambda: run_overflow(net, layers), repeats),
        "scipy": timed(lambda: run_scipy(net, data, layers, activation), repeats),
    }
    ref = run_overflow(net, layers, 1e-12, 1e-14)["y"] if reference else None
    for row in rows.values():
        y = row.pop("y")
        if ref is not None:
            row["error"] = float(np.max(np.abs(y - ref)) / np.max(np.abs(ref)))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repeat")
    parser.add_argument("--activations", nargs="+", choices=ACTIVATIONS, default=list(ACTIVATIONS))
    parser.add_argument("--json", help="write the rows to this file")
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else 3
    out = {}
    print(f"{'activation':<11} {'package':<9} {'nfev':>8} {'steps':>7} {'kinks':>6} {'slid':>5} {'ms':>9} {'error':>9}")
    for act in args.activations:
        out[act] = bench(act, repeats)
        for package, row in out[act].items():
            print(
                f"{act:<11} {package:<9} {row['nfev']:>8} {row['steps']:>7} {row.get('nkink', ''):>6} "
                f"{row.get('nslide', ''):>5} {row['ms']:>9.1f} {row['error']:>9.1e}"
            )
        o, s = out[act]["overflow"], out[act]["scipy"]
        print(f"{'':<11} scipy / overflow: {s['nfev'] / o['nfev']:.1f}x evaluations, {s['ms'] / o['ms']:.0f}x time")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return out


if __name__ == "__main__":
    main()
