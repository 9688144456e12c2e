"""Command line: ``overflow run`` integrates one flow and prints a summary table; ``overflow mc``
runs a Monte Carlo study over initializations; ``overflow paper`` checks the paper's claims and
writes a report."""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import warnings
from typing import Any, Sequence

import numpy as np

from .costs import matrix_factorization, scalar
from .integrate import METHODS, ConvergenceWarning, integrate
from .montecarlo import monte_carlo, samplers
from .network import INIT_KINDS, Network

SAMPLERS = ("gaussian", "uniform", "orthogonal", "balanced", "imbalanced", "center_stable")

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
    _problem_args(run, vector=False)
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--scale", type=float, default=0.3, help="initial layer gain")
    run.add_argument("--init", choices=INIT_KINDS, default="gaussian")
    run.add_argument("--threads", type=int, default=1,
                     help="threads for the one trajectory (wide networks; see overflow.integrate)")
    mc = sub.add_parser("mc", help="Monte Carlo over initializations: summary table and plots",
                        description="Integrate the flow from N random initial states (threads, or a Dask scheduler), "
                                    "print the summary (fractions by status, convergence-time quantiles, fraction at "
                                    "the global minimum) and plot convergence time against imbalance.")
    _problem_args(mc, vector=True)
    mc.add_argument("-n", "--n", type=int, default=1000, help="number of trajectories (default 1000)")
    mc.add_argument("--seed", type=int, default=0)
    mc.add_argument("--sampler", choices=SAMPLERS, default="gaussian")
    mc.add_argument("--scale", type=float, default=0.3, help="gain of gaussian/uniform/orthogonal/balanced starts")
    mc.add_argument("--c", type=_floats, default=None, metavar="C or LO,HI",
                    help="imbalance for --sampler imbalanced (vector case)")
    mc.add_argument("--z0", type=_floats, default=None, metavar="Z or LO,HI",
                    help="initial product for --sampler imbalanced (default 0.5)")
    mc.add_argument("--eps", type=float, default=None, help="distance for --sampler center_stable (vector case)")
    mc.add_argument("--workers", type=int, default=None, help="threads (default: all CPUs)")
    mc.add_argument("--chunk", type=int, default=None, help="trajectories per chunk")
    mc.add_argument("--out", default=None, metavar="DIR", help="stream chunks to DIR; rerun to resume")
    mc.add_argument("--scheduler", default=None, metavar="ADDRESS",
                    help="run the chunks on this dask.distributed scheduler (e.g. tcp://host:8786)")
    mc.add_argument("--plot", default=None, metavar="PNG",
                    help="figure path (default DIR/mc.png with --out, else mc.png)")
    mc.add_argument("--no-plot", action="store_true", help="do not write the figure")
    mc.add_argument("--no-progress", action="store_true", help="no progress bar")
    paper = sub.add_parser("paper", help="check the paper's claims numerically and write a report",
                           description="Check each claim of the paper (prop. 2 to lemma 17) on random costs and "
                                       "initializations; write DIR/report.md and the figures; exit 1 if a check fails.")
    paper.add_argument("--out", required=True, metavar="DIR", help="folder for report.md and the PNG figures")
    paper.add_argument("--quick", action="store_true", help="fewer seeds and starts")
    return p


def _problem_args(p: argparse.ArgumentParser, vector: bool) -> None:
    """The problem and the integration options, shared by ``run`` and ``mc``."""
    if vector:
        p.add_argument("--cost", choices=("factorization", "vector"), default="factorization",
                       help="matrix factorization, or the vector case f(z) = (z - TARGET)^2 / 2 "
                            "(depth 2 by default)")
        p.add_argument("--target", type=float, default=1.0, help="TARGET of the vector case (default 1)")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--target-diag", type=_floats, metavar="D", help="T = diag(D), e.g. '3,2,1,0.5' (default)")
    target.add_argument("--random-target", type=_ints, metavar="M,N", help="T: an M x N standard Gaussian matrix")
    p.add_argument("--depth", type=int, default=None, help="number of layers (default 3; 2 for the vector case)")
    width = p.add_mutually_exclusive_group()
    width.add_argument("--width", type=int, default=None, help="one width for every hidden layer (default 16)")
    width.add_argument("--widths", type=_ints, default=None, help="one width per hidden layer, e.g. '8,16'")
    p.add_argument("--method", choices=sorted(METHODS) + ["auto"], default="auto",
                   help="auto (default): dop853, switched to rodas4 where the flow is stiff")
    p.add_argument("--rtol", type=float, default=1e-8)
    p.add_argument("--atol", type=float, default=1e-10)
    p.add_argument("--t-end", type=float, default=math.inf,
                   help="final time (default inf: run until --gtol is met or --max-steps runs out)")
    p.add_argument("--gtol", type=float, default=1e-9,
                   help="stop once ||grad g|| <= GTOL (default 1e-9; 0: no such stop, then --t-end must be finite)")
    p.add_argument("--max-steps", type=int, default=100_000, help="most accepted steps per trajectory")


def _network(args: argparse.Namespace) -> tuple[Network, str]:
    """The network the problem flags describe, and a one-line description of it."""
    if getattr(args, "cost", "factorization") == "vector":
        c = float(args.target)
        f = scalar(lambda z: 0.5 * (z - c) ** 2, lambda z: z - c, lambda z: 1.0, f_star=0.0)
        what = f"vector case f(z) = (z - {c:g})^2 / 2"
        depth = 2 if args.depth is None else args.depth
    else:
        if args.random_target is not None:
            if len(args.random_target) != 2:
                raise ValueError("--random-target needs two integers M,N")
            T = np.random.default_rng(args.seed + 1).standard_normal(tuple(args.random_target))
        else:
            T = np.diag(args.target_diag or [3.0, 2.0, 1.0, 0.5])
        f = matrix_factorization(T)
        what = f"matrix factorization {T.shape[0]}x{T.shape[1]}"
        depth = 3 if args.depth is None else args.depth
    if args.widths is not None:
        net = Network(f, depth=depth, widths=args.widths)
    elif depth > 1:
        net = Network(f, depth=depth, width=args.width if args.width is not None else 16)
    else:
        net = Network(f, depth=1)
    return net, f"{what}, depth {net.depth}, widths {net.widths}"


def _sampler(args: argparse.Namespace) -> Any:
    name = args.sampler
    if name == "imbalanced":
        if args.c is None:
            raise ValueError("--sampler imbalanced needs --c")
        z0 = 0.5 if args.z0 is None else _scalar_or_pair(args.z0, "--z0")
        return samplers.imbalanced(_scalar_or_pair(args.c, "--c"), z0)
    if name == "center_stable":
        if args.eps is None:
            raise ValueError("--sampler center_stable needs --eps")
        return samplers.center_stable(args.eps, args.scale)
    return getattr(samplers, name)(args.scale)


def _scalar_or_pair(values: list[float], flag: str) -> float | tuple[float, float]:
    if len(values) == 1:
        return values[0]
    if len(values) == 2:
        return values[0], values[1]
    raise ValueError(f"{flag} takes one number or a pair LO,HI")


def _print_table(rows: list[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")


def _mc(args: argparse.Namespace) -> int:
    net, what = _network(args)
    client = None
    if args.scheduler is not None:
        try:
            from dask.distributed import Client
        except ImportError:
            raise ValueError("--scheduler needs dask.distributed: pip install 'overflow[dask]'") from None
        client = Client(args.scheduler)
    start = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:  # printed below as a line of the report
            warnings.simplefilter("always", ConvergenceWarning)
            res = monte_carlo(net, args.n, (0.0, args.t_end), sampler=_sampler(args), seed=args.seed,
                              method=args.method, rtol=args.rtol, atol=args.atol, gtol=args.gtol or None,
                              max_steps=args.max_steps, workers=args.workers,
                              backend="dask" if client is not None else "threads", client=client, chunk=args.chunk,
                              progress=not args.no_progress, out=args.out)
    finally:
        if client is not None:
            client.close()
    wall = time.perf_counter() - start
    print(f"problem     {what}")
    print(f"method      {args.method} (rtol {args.rtol:g}, atol {args.atol:g}), sampler {_sampler(args)!r}")
    print(f"wall time   {wall:.3f} s ({args.n / wall:.1f} trajectories/s)")
    print(res.summary())
    for w in caught:
        print(f"warning     {w.message}")
    if not args.no_plot:
        path = args.plot or (os.path.join(args.out, "mc.png") if args.out else "mc.png")
        try:
            res.plot(path)
            print(f"figure      {path}")
        except ImportError:
            print("figure      skipped (needs matplotlib: pip install 'overflow[plot]')")
    return 0


def _run(args: argparse.Namespace) -> int:
    net, what = _network(args)
    Ws = net.init(seed=args.seed, scale=args.scale, kind=args.init)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True):  # the status row says why gtol was not reached
        warnings.simplefilter("always", ConvergenceWarning)
        res = integrate(net, Ws, t_span=(0.0, args.t_end), method=args.method, rtol=args.rtol, atol=args.atol,
                        gtol=args.gtol or None, max_steps=args.max_steps, save_weights=False, threads=args.threads)
    wall = time.perf_counter() - start
    rows = [
        ("problem", what),
        ("method", f"{args.method} (rtol {args.rtol:g}, atol {args.atol:g})"),
        ("status", f"{res.status}: {res.message}"),
        ("final time", f"{res.t_final:.6g}"),
        ("final loss", f"{res.final_loss:.6e}"),
        ("||grad g||", f"{res.final_grad_norm:.6e}"),
        ("steps", f"{res.naccept} accepted, {res.nreject} rejected"),
        ("steps by method", ", ".join(f"{k} {v}" for k, v in res.method_steps.items())
         + (f"; switched at t = {', '.join(f'{t:.4g}' for t in res.switch_times)}" if len(res.switch_times) else "")),
        ("nfev", f"{res.nfev}"),
        ("invariant drift", f"{res.invariant_drift:.3e}"),
        ("wall time", f"{wall * 1e3:.3f} ms"),
    ]
    _print_table(rows)
    return 0 if res.success else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "paper":
            from .paper import main as paper_main  # matplotlib and the checks load only here

            return paper_main(args.out, quick=args.quick)
        if args.command == "mc":
            return _mc(args)
        return _run(args)
    except (ValueError, TypeError) as exc:
        print(f"overflow: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
