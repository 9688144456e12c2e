"""A two-layer ReLU teacher-student study: Monte Carlo over initialization scales, the final loss
and the time to fit against the scale, one figure (the README's example study).

    python examples/teacher_student_scales.py scales.png
    python examples/teacher_student_scales.py scales.png --starts 48 --t-end 60 --width 32 --samples 128

A teacher with one hidden ReLU layer labels standard normal inputs; students of the same kind, wider
than the teacher, start from ``samplers.gaussian(scale)`` for each scale and follow the gradient flow
of the squared loss to ``t_end``. The time to fit is the first time the loss falls to ``threshold``
times the loss of the zero network (a non-terminal ``events.loss_below``, located on the step's
interpolant); the final loss is the loss at ``t_end``. Prints one line per scale and saves the
figure of ``overflow.montecarlo.plot.plot_sweep`` to the path given.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import overflow as of
from overflow.montecarlo.plot import plot_sweep


def study(scales, starts=32, t_end=40.0, threshold=1e-3, n_in=4, teacher_width=3, width=16, samples=64, seed=0):
    """``{scale: MCResult}`` for the students of one teacher-student data set, and the loss target."""
    data = of.datasets.teacher_student(
        n_in=n_in, m=1, width=teacher_width, samples=samples, activation="relu", seed=seed
    )
    net = of.Network(of.costs.squared_loss(data.Y), depth=2, width=width, activation="relu", inputs=data.X)
    target = threshold * 0.5 * np.sum(data.Y**2) / samples  # a fraction of the zero network's loss
    runs = {}
    for scale in scales:
        runs[scale] = of.monte_carlo(
            net,
            starts,
            (0.0, t_end),
            sampler=of.samplers.gaussian(scale),
            seed=seed,
            events=[of.events.loss_below(target, terminal=False)],
            progress=False,
        )
    return runs, target


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("figure", help="where to save the figure (PNG)")
    ap.add_argument("--scales", default="0.03,0.1,0.3,1,3", help="comma-separated initialization scales")
    ap.add_argument("--starts", type=int, default=32, help="starts per scale (default 32)")
    ap.add_argument("--t-end", type=float, default=40.0, help="end of every trajectory (default 40)")
    ap.add_argument("--threshold", type=float, default=1e-3, help="target loss / zero network's loss (1e-3)")
    ap.add_argument("--inputs", type=int, default=4, help="input dimension (default 4)")
    ap.add_argument("--teacher-width", type=int, default=3, help="teacher's hidden width (default 3)")
    ap.add_argument("--width", type=int, default=16, help="student's hidden width (default 16)")
    ap.add_argument("--samples", type=int, default=64, help="samples s (default 64)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the data and the starts")
    args = ap.parse_args(argv)
    scales = [float(x) for x in args.scales.split(",")]
    tic = time.perf_counter()
    runs, target = study(
        scales,
        args.starts,
        args.t_end,
        args.threshold,
        args.inputs,
        args.teacher_width,
        args.width,
        args.samples,
        args.seed,
    )
    wall = time.perf_counter() - tic
    print(f"target loss {target:.3g}; {args.starts} starts per scale, t in [0, {args.t_end:g}]; {wall:.1f} s")
    print(f"{'scale':>7} {'fit':>5} {'median time':>12} {'median final loss':>18} {'mean nfev':>10}  status")
    for scale, res in runs.items():
        t = res.t_event[:, 0]
        median_t = np.median(t[np.isfinite(t)]) if np.isfinite(t).any() else float("nan")
        print(
            f"{scale:>7g} {np.isfinite(t).mean():>5.0%} {median_t:>12.3g} {np.median(res.final_loss):>18.3g} "
            f"{np.mean(res.nfev):>10.0f}  {', '.join(f'{k} {v:.0%}' for k, v in res.summary().fractions.items())}"
        )
    plot_sweep(runs, xlabel="initialization scale (gaussian sampler)", path=args.figure)
    print(f"figure {args.figure}")


if __name__ == "__main__":
    main()
