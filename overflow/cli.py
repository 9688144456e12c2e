"""Command line: ``overflow run`` integrates one flow and prints a summary table; ``overflow paper``
checks the paper's claims and writes a report."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Sequence

import numpy as np

from .costs import matrix_factorization
from .integrate import METHODS, integrate
from .network import INIT_KINDS, Network

__all__ = ["main"]


def _floats(text: str) -> list[float]:
    try:
        return [float(v) for v in text.replace(",", " ").split()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def _ints(text: str) -> list[int]:
    try:
        return [int(v) for v in text.replace(",", " ").split()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="overflow", description="Gradient flow of overparameterized problems.")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="integrate the flow of a deep linear network on matrix factorization",
                         description="Integrate the flow of a deep linear network on f(P) = 1/2 ||P - T||_F^2 "
                                     "and print a summary. With no flags: T = diag(3, 2, 1, 0.5), depth 3, width 16.")
    target = run.add_mutually_exclusive_group()
    target.add_argument("--target-diag", type=_floats, metavar="D", help="T = diag(D), e.g. '3,2,1,0.5' (default)")
    target.add_argument("--random-target", type=_ints, metavar="M,N", help="T: an M x N standard Gaussian matrix")
    run.add_argument("--depth", type=int, default=3)
    width = run.add_mutually_exclusive_group()
    width.add_argument("--width", type=int, default=None, help="one width for every hidden layer (default 16)")
    width.add_argument("--widths", type=_ints, default=None, help="one width per hidden layer, e.g. '8,16'")
    run.add_argument("--method", choices=sorted(METHODS), default="dopri5")
    run.add_argument("--rtol", type=float, default=1e-8)
    run.add_argument("--atol", type=float, default=1e-10)
    run.add_argument("--t-end", type=float, default=50.0)
    run.add_argument("--gtol", type=float, default=None, help="stop once ||grad g|| <= GTOL")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--scale", type=float, default=0.3, help="initial layer gain")
    run.add_argument("--init", choices=INIT_KINDS, default="gaussian")
    paper = sub.add_parser("paper", help="check the paper's claims numerically and write a report",
                           description="Check each claim of the paper (prop. 2 to lemma 17) on random costs and "
                                       "initializations; write DIR/report.md and the figures; exit 1 if a check fails.")
    paper.add_argument("--out", required=True, metavar="DIR", help="folder for report.md and the PNG figures")
    paper.add_argument("--quick", action="store_true", help="fewer seeds and starts")
    return p


def _run(args: argparse.Namespace) -> int:
    if args.random_target is not None:
        if len(args.random_target) != 2:
            raise ValueError("--random-target needs two integers M,N")
        T = np.random.default_rng(args.seed + 1).standard_normal(tuple(args.random_target))
    else:
        T = np.diag(args.target_diag or [3.0, 2.0, 1.0, 0.5])
    f = matrix_factorization(T)
    if args.widths is not None:
        net = Network(f, depth=args.depth, widths=args.widths)
    else:
        net = Network(f, depth=args.depth, width=args.width if args.width is not None else 16) if args.depth > 1 \
            else Network(f, depth=1)
    Ws = net.init(seed=args.seed, scale=args.scale, kind=args.init)
    start = time.perf_counter()
    res = integrate(net, Ws, t_span=(0.0, args.t_end), method=args.method, rtol=args.rtol, atol=args.atol,
                    gtol=args.gtol, save_weights=False)
    wall = time.perf_counter() - start
    rows = [
        ("problem", f"matrix factorization {T.shape[0]}x{T.shape[1]}, depth {net.depth}, widths {net.widths}"),
        ("method", f"{args.method} (rtol {args.rtol:g}, atol {args.atol:g})"),
        ("status", f"{res.status}: {res.message}"),
        ("final time", f"{res.t_final:.6g}"),
        ("final loss", f"{res.final_loss:.6e}"),
        ("||grad g||", f"{res.final_grad_norm:.6e}"),
        ("steps", f"{res.naccept} accepted, {res.nreject} rejected"),
        ("nfev", f"{res.nfev}"),
        ("invariant drift", f"{res.invariant_drift:.3e}"),
        ("wall time", f"{wall * 1e3:.3f} ms"),
    ]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    return 0 if res.success else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "paper":
            from .paper import main as paper_main  # matplotlib and the checks load only here

            return paper_main(args.out, quick=args.quick)
        return _run(args)
    except (ValueError, TypeError) as exc:
        print(f"overflow: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
