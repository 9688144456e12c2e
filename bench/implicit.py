"""Structure-preserving and stiff integration, one table in one run: every method (explicit, the
explicit ones with project=True, Gauss-Legendre, Rosenbrock) on the benchmark problems (a), (b),
(c) and a stiff case, with time, nfev, Jacobian-vector products, the final error against a tight
reference (dop853 at rtol 1e-12) and the invariants' drift relative to ||C(0)||.

    python bench/implicit.py            # problems a, b and the stiff case (c only for explicit rows)
    python bench/implicit.py --quick    # one repeat

The implicit methods assemble the flow's Jacobian densely up to 100 weights and use GMRES on
Jacobian-vector products above; on problem (c) (67,584 weights) that is slow, so those rows run
only with --large.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import problems as pb

ROWS = [
    ("dopri5", False),
    ("dop853", False),
    ("dopri5", True),
    ("dop853", True),
    ("gauss4", False),
    ("gauss6", False),
    ("rodas4", False),
]


def stiff_problem():
    """Vector case, width 4, f(z) = (z - 1)^2 / 2, imbalance c = 1e6 (the flow's linearization has
    eigenvalues ~ -sqrt(c)), t in [0, 10], rtol 1e-6."""
    import overflow as of

    f = of.costs.scalar(lambda z: 0.5 * (z - 1.0) ** 2, lambda z: z - 1.0, lambda z: 1.0, f_star=0.0)
    net = of.Network(f, depth=2, width=4)
    Ws = [np.ascontiguousarray(W) for W in of.vector.init_with(0.2, 1e6, 4, seed=0)]
    return dict(
        name="stiff",
        title="vector case, width 4, c = 1e6, f = (z - 1)^2 / 2",
        net=net,
        Ws=Ws,
        t_span=(0.0, 10.0),
        rtol=1e-6,
        atol=1e-9,
    )


def drift(Ws0, Ws1):
    import overflow as of

    C0, C1 = of.invariants(Ws0), of.invariants(Ws1)
    return max(float(np.max(np.abs(a - b))) for a, b in zip(C0, C1)) / max(float(np.linalg.norm(c)) for c in C0)


def run(p, method, project, repeats):
    import overflow as of

    best, res = float("inf"), None
    for _ in range(repeats):
        tic = time.perf_counter()
        res = of.integrate(
            p["net"],
            p["Ws"],
            p["t_span"],
            method=method,
            rtol=p["rtol"],
            atol=p["atol"],
            t_eval=[p["t_span"][1]],
            project=project,
        )
        best = min(best, time.perf_counter() - tic)
    return best, res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--problems", default="a,b,stiff,c")
    ap.add_argument("--large", action="store_true", help="also the implicit methods on (c) (matrix-free, slow)")
    args = ap.parse_args()
    import overflow as of

    for name in args.problems.split(","):
        p = stiff_problem() if name == "stiff" else pb.problem(name)
        net = p["net"]
        ref_res = of.integrate(
            net, p["Ws"], p["t_span"], method="dop853", rtol=1e-12, atol=1e-14, t_eval=[p["t_span"][1]]
        )
        ref = net.flatten(ref_res.final_weights)
        print(
            f"\n({name}) {p['title']}: {net.state_size} weights, t in {p['t_span']}, rtol {p['rtol']:g}, "
            f"atol {p['atol']:g}"
        )
        print(f"{'method':<16} {'time ms':>10} {'steps':>7} {'nfev':>8} {'J v':>8} {'error':>10} {'drift':>10}")
        for method, project in ROWS:
            label = method + (" +project" if project else "")
            if method in of.IMPLICIT_METHODS and name == "c" and not args.large:
                print(f"{label:<16} {'':>10} not run (matrix-free on {net.state_size} weights: pass --large)")
                continue
            repeats = 1 if args.quick or name == "c" else 3
            t, res = run(p, method, project, repeats)
            err = float(np.max(np.abs(net.flatten(res.final_weights) - ref)))
            print(
                f"{label:<16} {t * 1e3:>10.2f} {res.naccept:>7} {res.nfev:>8} {res.njvp:>8} {err:>10.2e} "
                f"{drift(p['Ws'], res.final_weights):>10.2e}"
            )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
