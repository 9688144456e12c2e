"""Command line: ``overflow run`` integrates one flow (matrix factorization, or with ``--samples`` a
network on teacher-student data) and prints a summary table; ``overflow mc``
runs a Monte Carlo study over initializations; ``overflow paper`` checks the paper's claims and
writes a report.

Exit codes: 0 ok; 1 a check failed (``paper``), the flow did not succeed (``run``) or the
computation failed; 2 a usage error (a bad flag or value, sizes too large for memory, an unusable
path or scheduler, an ``--out`` in use by another run); 130 interrupted (Ctrl-C). Every error is
one line on stderr, ``overflow: error: ...``; set ``OVERFLOW_TRACEBACK=1`` to see the Python
traceback of an unexpected one.
"""

from __future__ import annotations

import argparse
import math
import os
import socket
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import _options as _o
from .activations import ACTIVATIONS, Activation, leaky_relu
from .costs import (
    Cost,
    huber_loss,
    log_cosh_loss,
    logistic_loss,
    matrix_factorization,
    scalar,
    softmax_cross_entropy_loss,
    squared_loss,
)
from .datasets import teacher_student
from .integrate import ConvergenceWarning, integrate
from .montecarlo import MonteCarloInterrupted, monte_carlo, samplers
from .montecarlo.lock import StoreLocked
from .montecarlo.store import chunk_file
from .network import INIT_KINDS, Network

SAMPLERS = ("gaussian", "uniform", "orthogonal", "balanced", "imbalanced", "center_stable")
#: --loss: the costs on the network's outputs, and what each makes of the teacher's outputs.
LOSSES = ("squared", "huber", "log-cosh", "logistic", "softmax-cross-entropy")
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
SCHEDULER_TIMEOUT = 5.0  # seconds to reach a Dask scheduler before giving up
#: The command line's defaults: the API's, except where `_options.DIFFERENCES["cli"]` says why not.
_D = _o.defaults("cli")
_D_API = _o.defaults("integrate")  # what the command line does not set

__all__ = ["main", "EXIT_OK", "EXIT_FAILED", "EXIT_USAGE", "EXIT_INTERRUPTED"]


class UsageError(Exception):
    """A bad flag, value, path or address: exit code 2."""


# ---------------------------------------------------------------- argument types (errors name the flag)


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _finite(text: str) -> float:
    x = _number(text)
    if not math.isfinite(x):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return x


def _positive(text: str) -> float:
    x = _finite(text)
    if x <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return x


def _nonnegative(text: str) -> float:
    x = _finite(text)
    if x < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return x


def _t_end(text: str) -> float:
    x = _number(text)
    if math.isnan(x) or x <= 0:
        raise argparse.ArgumentTypeError(f"expected a time > 0 (or inf), got {text!r}")
    return x


def _integer(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


def _floats(text: str) -> list[float]:
    parts = text.replace(",", " ").split()
    try:
        values = [float(v) for v in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("expected comma-separated numbers, got an empty list")
    if not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"expected finite numbers, got {text!r}")
    return values


def _one_or_two(text: str) -> float | tuple[float, float]:
    values = _floats(text)
    if len(values) == 1:
        return values[0]
    if len(values) == 2:
        return values[0], values[1]
    raise argparse.ArgumentTypeError(f"expected one number or a pair LO,HI, got {text!r}")


def _ints(text: str) -> list[int]:
    parts = text.replace(",", " ").split()
    try:
        values = [int(v) for v in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("expected comma-separated integers, got an empty list")
    if min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected integers >= 1, got {text!r}")
    return values


def _pair(text: str) -> list[int]:
    values = _ints(text)
    if len(values) != 2:
        raise argparse.ArgumentTypeError(f"expected two integers M,N, got {text!r}")
    return values


def _path(text: str) -> str:
    if not text.strip():  # an empty path would mean the current directory
        raise argparse.ArgumentTypeError("expected a path, got an empty string")
    return text


# ---------------------------------------------------------------- the parser


class _Parser(argparse.ArgumentParser):
    """Every parse error becomes a `UsageError` (one line, exit 2) instead of argparse's usage
    block and SystemExit, so ``main`` reports it like any other bad value."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")


class _Help(argparse.HelpFormatter):
    """Appends "(default: ...)" to every option that has a default and does not state its own."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (
            not action.option_strings
            or "default" in text
            or action.default is None
            or action.default is False
            or action.default is argparse.SUPPRESS
        ):
            return text
        return f"{text} (default: %(default)s)".lstrip()


def _version() -> str:
    from . import __version__

    return __version__


def _parser() -> _Parser:
    p = _Parser(
        prog="overflow",
        description="Gradient flow of overparameterized problems.",
        epilog="exit codes: 0 ok, 1 a check or the computation failed, 2 usage error, 130 interrupted",
        formatter_class=_Help,
    )
    p.add_argument("--version", action="version", version=f"overflow {_version()}")
    sub = p.add_subparsers(dest="command", required=True, metavar="{run,mc,paper}")
    run = sub.add_parser(
        "run",
        help="integrate one flow: matrix factorization, or a network on teacher-student data",
        formatter_class=_Help,
        description="Integrate the flow of a deep network on f(P) = 1/2 ||P - T||_F^2 and print a "
        "summary. With no flags: T = diag(3, 2, 1, 0.5), depth 3, width 16, linear. With --samples S: "
        "a network W_N sigma(... sigma(W_1 X)) on S standard normal inputs X, trained by the squared "
        "loss 1/2 ||Yhat - Y||_F^2 / S (or --loss) on the outputs Y of a random teacher network of the "
        "same activation and depth (overflow.datasets.teacher_student). Exit 1 if the run does not succeed.",
    )
    _problem_args(run, vector=False)
    _data_args(run)
    run.add_argument(
        "--seed", type=_integer(0), default=0, help="seed of the initial layers, the random target and the data"
    )
    run.add_argument("--scale", type=_positive, default=0.3, help="initial layer gain")
    run.add_argument("--init", choices=INIT_KINDS, default="gaussian", help="initialization")
    run.add_argument(
        "--threads",
        type=_integer(1),
        default=_D_API.threads,
        help="threads for the one trajectory (wide networks; see overflow.integrate)",
    )
    mc = sub.add_parser(
        "mc",
        help="Monte Carlo over initializations: summary table and plots",
        formatter_class=_Help,
        description="Integrate the flow from N random initial states (threads, or a Dask scheduler), "
        "print the summary (fractions by status, convergence-time quantiles, fraction at "
        "the global minimum) and plot convergence time against imbalance. The problem is matrix "
        "factorization, the vector case (--cost vector), or with --samples S a network on "
        "teacher-student data (as for 'overflow run'). Ctrl-C keeps "
        "the chunks finished in --out DIR; the same command again resumes.",
    )
    _problem_args(mc, vector=True)
    _data_args(mc)
    mc.add_argument("-n", "--n", type=_integer(1), default=1000, help="number of trajectories")
    mc.add_argument("--seed", type=_integer(0), default=0, help="seed of the starts")
    mc.add_argument("--sampler", choices=SAMPLERS, default="gaussian", help="distribution of the starts")
    mc.add_argument(
        "--scale",
        type=_positive,
        default=None,
        help="gain of gaussian/uniform/orthogonal/balanced/center_stable starts (default: 0.3)",
    )
    mc.add_argument(
        "--c",
        type=_one_or_two,
        default=None,
        metavar="C or LO,HI",
        help="imbalance, only for --sampler imbalanced (required there)",
    )
    mc.add_argument(
        "--z0",
        type=_one_or_two,
        default=None,
        metavar="Z or LO,HI",
        help="initial product, only for --sampler imbalanced (default: 0.5)",
    )
    mc.add_argument(
        "--eps", type=_positive, default=None, help="distance, only for --sampler center_stable (required there)"
    )
    mc.add_argument(
        "--workers",
        type=_integer(1),
        default=None,
        help="threads per process (default: all CPUs; 1 per Dask task with --scheduler)",
    )
    mc.add_argument(
        "--chunk",
        type=_integer(1),
        default=None,
        help="trajectories per chunk (default: ceil(N / 64) clipped to 256..8192)",
    )
    mc.add_argument(
        "--out",
        type=_path,
        default=None,
        metavar="DIR",
        help="stream chunks to DIR; the same command again resumes (default: keep nothing)",
    )
    mc.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run the chunks on this dask.distributed scheduler, e.g. tcp://host:8786 "
        f"(default: threads here; unreachable within {SCHEDULER_TIMEOUT:g} s is an error)",
    )
    mc.add_argument(
        "--plot",
        type=_path,
        default=None,
        metavar="PNG",
        help="figure path (default: DIR/mc.png with --out, else mc.png)",
    )
    mc.add_argument("--no-plot", action="store_true", help="do not write the figure")
    mc.add_argument("--no-progress", action="store_true", help="no progress bar")
    paper = sub.add_parser(
        "paper",
        help="check the paper's claims numerically and write a report",
        formatter_class=_Help,
        description="Check each claim of the paper (prop. 2 to lemma 17) on random costs and "
        "initializations; write DIR/report.md and the figures; exit 1 if a check fails.",
    )
    paper.add_argument(
        "--out",
        type=_path,
        required=True,
        metavar="DIR",
        help="folder for report.md and the PNG figures (created if missing)",
    )
    paper.add_argument("--quick", action="store_true", help="fewer seeds and starts")
    return p


def _problem_args(p: argparse.ArgumentParser, vector: bool) -> None:
    """The problem and the integration options, shared by ``run`` and ``mc``."""
    if vector:
        p.add_argument(
            "--cost",
            choices=("factorization", "vector"),
            default="factorization",
            help="matrix factorization, or the vector case f(z) = (z - TARGET)^2 / 2 (depth 2 by default)",
        )
        p.add_argument("--target", type=_finite, default=None, help="TARGET, only for --cost vector (default: 1)")
    target = p.add_mutually_exclusive_group()
    target.add_argument(
        "--target-diag", type=_floats, metavar="D", help="T = diag(D), e.g. '3,2,1,0.5' (default: 3,2,1,0.5)"
    )
    target.add_argument("--random-target", type=_pair, metavar="M,N", help="T: an M x N standard Gaussian matrix")
    p.add_argument(
        "--depth",
        type=_integer(1),
        default=None,
        help=f"number of layers (default: 3; 2 {'for the vector case' if vector else 'with --samples'})",
    )
    width = p.add_mutually_exclusive_group()
    width.add_argument("--width", type=_integer(1), default=None, help="one width for every hidden layer (default: 16)")
    width.add_argument("--widths", type=_ints, default=None, help="one width per hidden layer, e.g. '8,16'")
    p.add_argument(
        "--method",
        choices=_o.ENTRY_METHODS["cli"],
        default=_D.method,
        help="auto: dop853, switched to rodas4 where the flow is stiff",
    )
    p.add_argument(
        "--rtol",
        type=_positive,
        default=_D.rtol,
        help=f"relative tolerance, tighter than the API's {_o.DEFAULTS['rtol']:g} since runs go to convergence; "
        "one below 100 machine epsilons is raised to that",
    )
    p.add_argument(
        "--atol",
        type=_positive,
        default=_D.atol,
        help=f"absolute tolerance, tighter than the API's {_o.DEFAULTS['atol']:g}",
    )
    p.add_argument(
        "--t-end",
        type=_t_end,
        default=_D.t_end,
        help="final time (inf: run until --gtol is met or --max-steps runs out)",
    )
    p.add_argument(
        "--gtol",
        type=_nonnegative,
        default=_D.gtol,
        help="stop once ||grad g|| <= GTOL (0: no such stop, then --t-end must be finite)",
    )
    p.add_argument("--max-steps", type=_integer(1), default=_D.max_steps, help="most accepted steps per trajectory")


def _data_args(p: argparse.ArgumentParser) -> None:
    """The activation and the teacher-student problem of ``run`` (defaults None: a flag given where it
    does nothing is refused by `_check_applicable`)."""
    p.add_argument(
        "--activation",
        choices=tuple(ACTIVATIONS),
        default="linear",
        metavar="NAME",
        help=f"sigma between the layers, one of {', '.join(ACTIVATIONS)} (relu'(0) = 0)",
    )
    p.add_argument(
        "--leaky-slope",
        type=_nonnegative,
        default=None,
        metavar="ALPHA",
        help="slope below zero of --activation leaky_relu (default: 0.01)",
    )
    data = p.add_argument_group(
        "teacher-student data",
        "With --samples, the cost is a loss (--loss) on the outputs of a random teacher network with the "
        "student's activation and depth; --seed also seeds the data (its own streams).",
    )
    data.add_argument(
        "--samples",
        type=_integer(1),
        default=None,
        metavar="S",
        help="train on S samples of teacher-student data instead of matrix factorization",
    )
    data.add_argument("--inputs", type=_integer(1), default=None, metavar="N_IN", help="input dimension (default: 4)")
    data.add_argument("--outputs", type=_integer(1), default=None, metavar="M", help="output dimension (default: 1)")
    data.add_argument(
        "--teacher-width",
        type=_integer(1),
        default=None,
        metavar="K",
        help="width of the teacher's hidden layers (default: 4)",
    )
    data.add_argument(
        "--noise",
        type=_nonnegative,
        default=None,
        metavar="SIGMA",
        help="standard deviation of Gaussian noise on the targets (default: 0)",
    )
    data.add_argument(
        "--bias", action="store_true", help="teacher and student layers have biases (student's start at 0)"
    )
    data.add_argument(
        "--loss",
        choices=LOSSES,
        default=None,
        metavar="NAME",
        help="the cost on the outputs (default: squared): squared, huber (delta 1) and log-cosh fit the "
        "teacher's outputs; logistic (--outputs 1) fits their signs as labels +-1; softmax-cross-entropy "
        "(--outputs >= 2) the index of the largest output as the class",
    )


def _keep_negative_values(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """``--flag VALUE`` as ``--flag=VALUE`` wherever VALUE starts with '-' but is no option.

    argparse takes '-1,1' or '-1e-3' for an option (only plain negative numbers such as '-2' are
    recognised as values), so ``--z0 -1,1`` would fail with "expected one argument"."""
    subparsers = {
        name: sp
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for name, sp in action.choices.items()
    }
    current = parser
    out: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "--":
            return out + argv[i:]
        if current is parser and token in subparsers:
            current = subparsers[token]
        action = _value_option(current, token)
        if (
            action is not None
            and i + 1 < len(argv)
            and argv[i + 1].startswith("-")
            and argv[i + 1] != "--"
            and not _is_option(current, argv[i + 1].split("=", 1)[0])
        ):
            out.append(f"{token}={argv[i + 1]}")
            i += 2
            continue
        out.append(token)
        i += 1
    return out


def _matches(parser: argparse.ArgumentParser, token: str) -> list[argparse.Action]:
    """The actions ``token`` names in ``parser``: exactly, or as argparse's abbreviation of a long option."""
    actions = parser._option_string_actions
    if token in actions:
        return [actions[token]]
    if token.startswith("--") and len(token) > 2:
        return list({id(a): a for s, a in actions.items() if s.startswith(token)}.values())
    return []


def _is_option(parser: argparse.ArgumentParser, token: str) -> bool:
    return bool(_matches(parser, token))


def _value_option(parser: argparse.ArgumentParser, token: str) -> argparse.Action | None:
    """The option ``token`` names if it takes exactly one value (not a switch, not ambiguous)."""
    found = _matches(parser, token)
    return found[0] if len(found) == 1 and found[0].nargs is None else None


def _check_applicable(args: argparse.Namespace) -> None:
    """Flags that do nothing for the chosen cost, sampler or depth are errors, not silently ignored."""
    if args.command == "paper":
        return
    if getattr(args, "cost", "factorization") == "vector":
        for flag, value in (("--target-diag", args.target_diag), ("--random-target", args.random_target)):
            if value is not None:
                raise UsageError(f"{flag} applies to --cost factorization, not to --cost vector (use --target)")
    elif getattr(args, "target", None) is not None:
        raise UsageError("--target applies to --cost vector only (use --target-diag or --random-target)")
    if args.gtol == 0 and math.isinf(args.t_end):
        raise UsageError("--gtol 0 needs a finite --t-end (with neither, nothing stops the run)")
    if args.depth == 1:
        for flag, value in (("--width", args.width), ("--widths", args.widths)):
            if value is not None:
                raise UsageError(f"{flag} needs --depth >= 2 (a depth-1 network has no hidden layer)")
    _check_data(args)
    if args.command == "run":
        return
    if args.samples is not None and args.cost == "vector":
        raise UsageError("--samples trains on teacher-student data; --cost vector is the scalar problem without data")
    sampler = args.sampler
    for flag, value, needs in (
        ("--c", args.c, "imbalanced"),
        ("--z0", args.z0, "imbalanced"),
        ("--eps", args.eps, "center_stable"),
    ):
        if value is not None and sampler != needs:
            raise UsageError(f"{flag} applies to --sampler {needs} only, not to --sampler {sampler}")
    if args.scale is not None and sampler == "imbalanced":
        raise UsageError("--scale does not apply to --sampler imbalanced (its starts are set by --c and --z0)")
    if sampler == "imbalanced" and args.c is None:
        raise UsageError("--sampler imbalanced needs --c")
    if sampler == "center_stable" and args.eps is None:
        raise UsageError("--sampler center_stable needs --eps")
    if args.no_plot and args.plot is not None:
        raise UsageError("--plot and --no-plot exclude each other")


def _check_data(args: argparse.Namespace) -> None:
    """The activation and data flags of ``run`` and ``mc``: each only where it has an effect."""
    if args.leaky_slope is not None and args.activation != "leaky_relu":
        raise UsageError(
            f"--leaky-slope applies to --activation leaky_relu only, not to --activation {args.activation}"
        )
    data_flags = (
        ("--inputs", args.inputs),
        ("--outputs", args.outputs),
        ("--teacher-width", args.teacher_width),
        ("--noise", args.noise),
        ("--bias", args.bias or None),
        ("--loss", args.loss),
    )
    if args.samples is None:
        for flag, value in data_flags:
            if value is not None:
                raise UsageError(f"{flag} needs --samples (it describes the teacher-student data)")
        return
    for flag, value in (("--target-diag", args.target_diag), ("--random-target", args.random_target)):
        if value is not None:
            raise UsageError(
                f"{flag} sets the matrix factorization cost; with --samples the cost is the squared loss "
                "to the teacher's outputs"
            )
    if args.depth == 1 and args.teacher_width is not None:
        raise UsageError(
            "--teacher-width needs --depth >= 2 (the teacher has the student's depth, 1 has no hidden layer)"
        )
    outputs = 1 if args.outputs is None else args.outputs
    if args.loss == "logistic" and outputs != 1:
        raise UsageError(
            f"--loss logistic needs --outputs 1 (one score per sample, labelled +-1), got --outputs {outputs}"
        )
    if args.loss == "softmax-cross-entropy" and outputs < 2:
        raise UsageError(
            f"--loss softmax-cross-entropy needs --outputs >= 2 (one score per class), got --outputs {outputs}"
        )


# ---------------------------------------------------------------- building the problem


def _activation(args: argparse.Namespace) -> Activation | None:
    """``run``'s --activation (None: linear) with its --leaky-slope."""
    name = getattr(args, "activation", "linear")
    if name == "leaky_relu" and args.leaky_slope is not None:
        return leaky_relu(args.leaky_slope)
    return None if name == "linear" else ACTIVATIONS[name]


def _data_network(args: argparse.Namespace, activation: Activation | None) -> tuple[Network, str]:
    """The student network on teacher-student data (``--samples``) and a one-line description of it."""
    depth = 2 if args.depth is None else args.depth
    ts = teacher_student(
        n_in=4 if args.inputs is None else args.inputs,
        m=1 if args.outputs is None else args.outputs,
        width=4 if args.teacher_width is None else args.teacher_width,
        samples=args.samples,
        depth=depth,
        activation=activation,
        bias=args.bias,
        noise=0.0 if args.noise is None else args.noise,
        seed=args.seed,
    )
    loss = "squared" if args.loss is None else args.loss
    f = _loss(loss, ts.Y)
    kw = {"activation": activation, "inputs": ts.X, "bias": args.bias}
    if args.widths is not None:
        net = Network(f, depth=depth, widths=args.widths, **kw)
    elif depth > 1:
        net = Network(f, depth=depth, width=args.width if args.width is not None else 16, **kw)
    else:
        net = Network(f, depth=1, **kw)
    teacher = " -> ".join(str(k) for k in ts.dims)
    what = (
        f"teacher-student, {loss} loss: {ts.samples} samples, teacher {teacher}{' with biases' * ts.bias}, "
        f"noise {ts.noise:g}"
    )
    return net, what


def _loss(name: str, Y: np.ndarray) -> Cost:
    """The cost ``--loss name`` on the teacher's outputs ``Y`` (``m x s``): regression losses fit ``Y``
    itself, logistic its signs (``+1`` where ``Y >= 0``), softmax cross-entropy the largest output's row."""
    if name == "squared":
        return squared_loss(Y)
    if name == "huber":
        return huber_loss(Y)
    if name == "log-cosh":
        return log_cosh_loss(Y)
    if name == "logistic":
        return logistic_loss(np.where(Y >= 0.0, 1.0, -1.0))
    return softmax_cross_entropy_loss(np.argmax(Y, axis=0), classes=Y.shape[0])


def _network(args: argparse.Namespace) -> tuple[Network, str]:
    """The network the problem flags describe, and a one-line description of it."""
    activation = _activation(args)
    act = "linear" if activation is None else activation.name
    if activation is not None and activation.slope is not None:
        act += f"({activation.slope:g})"
    if getattr(args, "samples", None) is not None:
        net, what = _data_network(args, activation)
        return net, f"{what}; student depth {net.depth}, widths {net.widths}, {act}{', biases' * net.bias}"
    if getattr(args, "cost", "factorization") == "vector":
        c = 1.0 if args.target is None else float(args.target)
        f = scalar(lambda z: 0.5 * (z - c) ** 2, lambda z: z - c, lambda z: 1.0, f_star=0.0)
        what = f"vector case f(z) = (z {'-' if c >= 0 else '+'} {abs(c):g})^2 / 2"
        depth = 2 if args.depth is None else args.depth
    else:
        if args.random_target is not None:
            T = np.random.default_rng(args.seed + 1).standard_normal(tuple(args.random_target))
        else:
            T = np.diag(args.target_diag if args.target_diag is not None else [3.0, 2.0, 1.0, 0.5])
        f = matrix_factorization(T)
        what = f"matrix factorization {T.shape[0]}x{T.shape[1]}"
        depth = 3 if args.depth is None else args.depth
    if args.widths is not None:
        net = Network(f, depth=depth, widths=args.widths, activation=activation)
    elif depth > 1:
        net = Network(f, depth=depth, width=args.width if args.width is not None else 16, activation=activation)
    else:
        net = Network(f, depth=1, activation=activation)
    return net, f"{what}, depth {net.depth}, widths {net.widths}" + (f", {act}" if activation is not None else "")


def _sampler(args: argparse.Namespace) -> Any:
    name = args.sampler
    scale = 0.3 if args.scale is None else args.scale
    if name == "imbalanced":
        return samplers.imbalanced(args.c, 0.5 if args.z0 is None else args.z0)
    if name == "center_stable":
        return samplers.center_stable(args.eps, scale)
    return getattr(samplers, name)(scale)


def _options(args: argparse.Namespace) -> _o.RunOptions:
    """The integration options as the library will use them (rtol raised to its floor, say), checked
    by the options module before anything runs; its warnings are recorded by the caller's ``_Warnings``.
    What the command line does not set (max_norm, max_step) is the API's default."""
    return _o.check_run(
        "cli",
        (0.0, args.t_end),
        args.method,
        rtol=args.rtol,
        atol=args.atol,
        gtol=args.gtol or None,
        max_steps=args.max_steps,
        max_step=_D_API.max_step,
        max_norm=_D_API.max_norm,
    )


class _Warnings:
    """Records the library's warnings so the report prints them as its own lines (once each)."""

    def __enter__(self) -> _Warnings:
        self._ctx = warnings.catch_warnings(record=True)
        self._caught = self._ctx.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc: object) -> None:
        self._ctx.__exit__(*exc)

    def messages(self, skip: type[Warning] | None = None) -> list[str]:
        out: list[str] = []
        for w in self._caught:
            # deprecations from dependencies say nothing about this run
            if not issubclass(w.category, (UserWarning, RuntimeWarning)):
                continue
            if skip is not None and issubclass(w.category, skip):
                continue
            text = str(w.message)
            if text not in out:
                out.append(text)
        return out


def _print_table(rows: list[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")


# ---------------------------------------------------------------- overflow run


def _run(args: argparse.Namespace) -> int:
    with _Warnings() as caught:
        o = _options(args)
        net, what = _network(args)
        Ws = net.init(seed=args.seed, scale=args.scale, kind=args.init)
        initial_loss = net.loss(Ws)
        start = time.perf_counter()
        res = integrate(
            net,
            Ws,
            (o.t0, o.t1),
            o.method,
            rtol=o.rtol,
            atol=o.atol,
            gtol=o.gtol or None,
            max_step=o.max_step,
            max_steps=o.max_steps,
            max_norm=o.max_norm,
            save_weights=False,
            threads=args.threads,
        )
        wall = time.perf_counter() - start
    rows = [
        ("problem", what),
        ("method", f"{args.method} (rtol {o.rtol:g}, atol {o.atol:g})"),
        ("status", f"{res.status}: {res.message}"),
        ("final time", f"{res.t_final:.6g}"),
        ("initial loss", f"{initial_loss:.6e}"),
        ("final loss", f"{res.final_loss:.6e}"),
        ("||grad g||", f"{res.final_grad_norm:.6e}"),
        ("steps", f"{res.naccept} accepted, {res.nreject} rejected"),
        (
            "steps by method",
            ", ".join(f"{k} {v}" for k, v in res.method_steps.items())
            + (f"; switched at t = {', '.join(f'{t:.4g}' for t in res.switch_times)}" if len(res.switch_times) else ""),
        ),
        ("nfev", f"{res.nfev}"),
        # relu-family networks on data: the kinks the steps ended at and the entries held at 0
        *([("kinks", f"{res.nkink} located, {res.nslide} entries slid")] if res.nkink or res.nslide else []),
        ("invariant drift", f"{res.invariant_drift:.3e}"),
        ("wall time", f"{wall * 1e3:.3f} ms"),
    ]
    # the status row already says why gtol was not reached
    rows += [("warning", m) for m in caught.messages(skip=ConvergenceWarning)]
    _print_table(rows)
    return EXIT_OK if res.success else EXIT_FAILED


# ---------------------------------------------------------------- overflow mc


def _default_chunk(n: int, chunk: int | None) -> int:
    """Trajectories per chunk as monte_carlo picks them (its documented default)."""
    return min(int(np.clip(-(-n // 64), 256, 8192)) if chunk is None else chunk, n)


def _chunks_on_disk(out: str, n_chunks: int) -> int:
    return sum(chunk_file(out, i).is_file() for i in range(n_chunks))


def _check_figure_path(path: str, created_later: bool) -> None:
    """Refuse a figure path that cannot be written before the run, not after it."""
    folder = os.path.dirname(path) or "."
    if not created_later and not os.path.isdir(folder):
        raise UsageError(f"--plot {path!r}: folder {folder!r} does not exist")
    if os.path.isdir(path):
        raise UsageError(f"--plot {path!r} is a directory")
    suffix = Path(path).suffix.lstrip(".").lower()
    if suffix:
        try:
            from matplotlib.backend_bases import FigureCanvasBase
        except ImportError:
            return  # reported as a skipped figure after the run
        known = FigureCanvasBase.get_supported_filetypes()
        if suffix not in known:
            raise UsageError(f"--plot {path!r}: unknown figure format {suffix!r} (one of {', '.join(sorted(known))})")


def _dask_client(address: str) -> Any:
    """A client of the scheduler at ``address``, or a UsageError within about SCHEDULER_TIMEOUT s."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise UsageError("--scheduler needs dask.distributed: pip install 'overflow[dask]'") from None
    scheme, _, rest = address.rpartition("://")
    if scheme in ("", "tcp"):
        # A refused connect fails here at once where Client would retry until its timeout; and a
        # peer that accepts but never speaks would hang Client for good (its timeout covers the
        # connect only), while a scheduler sends its handshake as soon as it accepts.
        host, _, port = rest.rpartition(":")
        host = host.strip("[]")
        if not host or not port.isdigit():
            raise UsageError(f"--scheduler {address!r}: expected tcp://HOST:PORT")
        try:
            with socket.create_connection((host, int(port)), timeout=SCHEDULER_TIMEOUT) as probe:
                probe.settimeout(SCHEDULER_TIMEOUT)
                answered = bool(probe.recv(1))
        except TimeoutError:
            raise UsageError(f"no Dask scheduler answered at {address} within {SCHEDULER_TIMEOUT:g} s") from None
        except OSError as exc:
            raise UsageError(f"cannot reach the Dask scheduler at {address}: {exc.strerror or exc}") from None
        if not answered:
            raise UsageError(f"{address} closed the connection: no Dask scheduler there")
    try:
        return Client(address, timeout=SCHEDULER_TIMEOUT)
    except Exception as exc:
        raise UsageError(
            f"cannot connect to the Dask scheduler at {address} within {SCHEDULER_TIMEOUT:g} s: "
            f"{exc or type(exc).__name__}"
        ) from None


def _mc(args: argparse.Namespace) -> int:
    with _Warnings() as caught:
        o = _options(args)
        net, what = _network(args)
        sampler = _sampler(args)
        plot = None if args.no_plot else args.plot or (os.path.join(args.out, "mc.png") if args.out else "mc.png")
        if plot is not None:
            _check_figure_path(plot, created_later=args.out is not None and args.plot is None)
        n_chunks = -(-args.n // _default_chunk(args.n, args.chunk))
        resumed = _chunks_on_disk(args.out, n_chunks) if args.out is not None else 0
        client = _dask_client(args.scheduler) if args.scheduler is not None else None
        start = time.perf_counter()
        try:
            res = monte_carlo(
                net,
                args.n,
                (o.t0, o.t1),
                o.method,
                sampler=sampler,
                seed=args.seed,
                rtol=o.rtol,
                atol=o.atol,
                gtol=o.gtol or None,
                max_step=o.max_step,
                max_steps=o.max_steps,
                max_norm=o.max_norm,
                workers=args.workers,
                backend="dask" if client is not None else "threads",
                client=client,
                chunk=args.chunk,
                progress=not args.no_progress,
                out=args.out,
            )
        finally:
            if client is not None:
                client.close()
        wall = time.perf_counter() - start
    print(f"problem     {what}")
    print(f"method      {args.method} (rtol {o.rtol:g}, atol {o.atol:g}), sampler {sampler!r}")
    if args.out is not None:
        note = f" (resumed: {resumed} of {n_chunks} chunks were on disk)" if resumed else ""
        print(f"out         {args.out}{note}")
    print(f"wall time   {wall:.3f} s ({args.n / wall:.1f} trajectories/s)")
    print(res.summary())
    for message in caught.messages():
        print(f"warning     {message}")
    if plot is not None:
        try:
            res.plot(plot)
        except ImportError:
            print("figure      skipped (needs matplotlib: pip install 'overflow[plot]')")
        except (OSError, ValueError) as exc:
            raise UsageError(f"figure {plot!r} not written: {exc}") from None
        else:
            print(f"figure      {plot}")
    return EXIT_OK


def _mc_interrupted(args: argparse.Namespace, exc: BaseException) -> str:
    """The one line Ctrl-C prints during ``overflow mc``: what is on disk to resume from."""
    if args.out is None:
        return "interrupted: nothing saved (run with --out DIR to keep finished chunks and resume)"
    params = exc.result.params if isinstance(exc, MonteCarloInterrupted) else {}
    try:
        n_chunks = -(-int(params["n"]) // int(params["chunk"]))
    except (KeyError, TypeError, ValueError):  # interrupted before monte_carlo had its parameters
        n_chunks = -(-args.n // _default_chunk(args.n, args.chunk))
    saved = _chunks_on_disk(args.out, n_chunks) if os.path.isdir(args.out) else 0
    return f"interrupted: {saved} of {n_chunks} chunks saved; run the same command again to resume"


# ---------------------------------------------------------------- overflow paper


def _paper(args: argparse.Namespace) -> int:
    out = Path(args.out)
    try:  # a bad --out is a usage error before the checks run, not a failed check after them
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".overflow-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"--out {args.out!r}: cannot write there: {exc.strerror or exc}") from None
    from .paper import main as paper_main  # matplotlib and the checks load only here

    return EXIT_OK if paper_main(out, quick=args.quick) == 0 else EXIT_FAILED


# ---------------------------------------------------------------- entry point


def _error(message: str) -> None:
    print(f"overflow: error: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``overflow`` command with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args: argparse.Namespace | None = None
    try:
        parser = _parser()
        args = parser.parse_args(_keep_negative_values(parser, argv))
        _check_applicable(args)
        if args.command == "paper":
            return _paper(args)
        if args.command == "mc":
            return _mc(args)
        return _run(args)
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except KeyboardInterrupt as exc:
        sys.stdout.flush()
        message = "interrupted"
        if args is not None and args.command == "mc":
            message = _mc_interrupted(args, exc)
        print(message, file=sys.stderr)
        return EXIT_INTERRUPTED
    except (UsageError, ValueError, TypeError, OSError, ImportError, StoreLocked) as exc:
        # bad values the library refuses name their argument; paths, addresses and a --out in use by
        # another run name themselves
        if os.environ.get("OVERFLOW_TRACEBACK"):
            raise
        _error(str(exc) or type(exc).__name__)
        return EXIT_USAGE
    except MemoryError:  # the sizes come from the flags: a value too large for this machine
        if os.environ.get("OVERFLOW_TRACEBACK"):
            raise
        _error(
            "out of memory: the sizes asked for do not fit (smaller --random-target, --samples, --inputs, "
            "--width(s), --depth, -n or --chunk)"
        )
        return EXIT_USAGE
    except Exception as exc:
        if os.environ.get("OVERFLOW_TRACEBACK"):
            raise
        text = str(exc)
        _error(text if isinstance(exc, RuntimeError) and text else f"{type(exc).__name__}: {text}")
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
