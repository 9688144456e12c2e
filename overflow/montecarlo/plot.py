"""The figures of Monte Carlo runs: for one run, convergence time against imbalance (Proposition 7
says larger imbalance converges faster) and the histogram of final losses; for a sweep of runs over
a parameter (an initialization scale, say), the final loss and the time to converge against it."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["plot_mc", "plot_sweep", "sweep_times"]


def _imbalance_axis(res: Any) -> tuple[np.ndarray, str]:
    """The x axis: ``c`` of eq. 19 at depth 2, else the summed Frobenius norms of the ``C_i`` (or of
    the per-neuron invariants, where ``c`` is NaN); the trajectory's index where no invariant is known
    (tanh on data, ...)."""
    if res.imbalance.shape[1] == 1 and np.all(np.isfinite(res.imbalance)):
        return res.imbalance[:, 0], "imbalance $c = 2\\,\\mathrm{tr}(C^2) - \\mathrm{tr}(C)^2$"
    fro = res.imbalance_fro.sum(axis=1)
    if not np.any(np.isfinite(fro)):
        return np.arange(len(res), dtype=float), "trajectory (the flow conserves no known invariant)"
    if res.imbalance.size and np.all(np.isnan(res.imbalance)):
        return fro, "per-neuron imbalance $\\sum_i \\|c_i(0)\\|$"
    return fro, "imbalance $\\sum_i \\|C_i(0)\\|_F$"


def plot_mc(res: Any, path: Any = None) -> Any:
    """A figure with two axes for an `MCResult`: time at which ``gtol`` was met (or, without
    converged runs, the final loss) against the initial imbalance, coloured by status; and the
    histogram of ``log10`` final losses (minus the global minimum when it is known).

    Returns the ``matplotlib.figure.Figure``; saves it as PNG at ``path`` when given.
    """
    from ..plot import _figure, _finish

    fig = _figure(figsize=(11, 4.5), layout="constrained")
    ax_t, ax_h = fig.subplots(1, 2)
    x, xlabel = _imbalance_axis(res)
    status = res.status
    converged = np.isfinite(res.t_converged)
    if converged.any():
        y, ylabel = res.t_converged, "time to $\\|\\nabla g\\| \\leq$ gtol"
    else:
        y, ylabel = res.final_loss, "final loss"
        ax_t.set_yscale("log", nonpositive="mask")
    for name in sorted(set(status.tolist())):
        sel = (status == name) & np.isfinite(y) & np.isfinite(x)
        if sel.any():
            ax_t.scatter(x[sel], y[sel], s=6, alpha=0.6, label=f"{name} ({sel.sum()})")
    ax_t.set_xlabel(xlabel)
    ax_t.set_ylabel(ylabel)
    ax_t.set_title(f"{len(res)} trajectories")
    ax_t.legend(title="status", fontsize="small")

    loss = res.final_loss - (res.global_minimum or 0.0)
    finite = loss[np.isfinite(loss)]
    floor = np.finfo(float).tiny
    ax_h.hist(np.log10(np.maximum(finite, floor)), bins=50)
    ax_h.set_xlabel("$\\log_{10}$ (final loss" + (" $- g^*$)" if res.global_minimum is not None else ")"))
    ax_h.set_ylabel("trajectories")
    ax_h.set_title("final losses")
    return _finish(fig, path)


def sweep_times(res: Any, event: int | None = 0) -> tuple[np.ndarray, str]:
    """Each trajectory's time to converge, NaN where it did not, and what that time is: the first
    crossing of event ``event`` (``MCResult.t_event``, e.g. of ``events.loss_below(target,
    terminal=False)``) when the run had events, else the time ``gtol`` was met (``t_converged``)."""
    if res.t_event is not None and event is not None:
        count = res.t_event.shape[1]
        if isinstance(event, bool) or not isinstance(event, (int, np.integer)) or not -count <= event < count:
            raise ValueError(f"event must index one of the run's {count} events, got {event!r}")
        spec = res.params.get("events", [{}] * count)[event]
        if spec.get("kind") == "loss_below":
            return res.t_event[:, event], f"time to loss $\\leq$ {spec['value']:.3g}"
        return res.t_event[:, event], f"time to event {event}"
    return res.t_converged, "time to $\\|\\nabla g\\| \\leq$ gtol"


def plot_sweep(results: Any, xlabel: str = "initialization scale", event: int | None = 0, path: Any = None) -> Any:
    """One figure for Monte Carlo runs over a parameter: the final loss (top) and the time to
    converge (bottom, see `sweep_times`) of every trajectory against the parameter, with the
    median and the 10-90 % band over the trajectories, and the fraction that converged at each
    value along the bottom panel's top edge (the times' medians are over those). A
    ``loss_below`` event's target is drawn on the loss panel.

    Parameters
    ----------
    results : mapping
        ``{value: MCResult}``, one run per value of the swept parameter (numbers; a log axis when
        all are positive and span more than a factor of 10).
    xlabel : str
        The parameter's name.
    event : int or None
        Which event's first crossing is the convergence time; None: ``t_converged`` (gtol).
    path : path, optional
        Save the figure there as PNG.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from ..plot import _figure, _finish
    from .result import MCResult

    if not hasattr(results, "items") or not results:
        raise TypeError("results must be a non-empty mapping {value: MCResult}")
    runs = list(results.values())
    if not all(isinstance(r, MCResult) for r in runs):
        raise TypeError("results must map each value of the parameter to an MCResult")
    try:
        xs = np.array([float(x) for x in results], dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"results' keys must be numbers (the parameter's values), got {list(results)!r}") from None
    order = np.argsort(xs)
    xs, runs = xs[order], [runs[i] for i in order]
    times = [sweep_times(r, event) for r in runs]
    log_x = bool(np.all(xs > 0) and xs[-1] > 10 * xs[0])
    fig = _figure(figsize=(6.4, 6.4), layout="constrained")
    ax_loss, ax_time = fig.subplots(2, 1, sharex=True)
    rng = np.random.default_rng(0)  # the points' horizontal jitter, so that equal values stay visible
    for ax, columns in ((ax_loss, [r.final_loss for r in runs]), (ax_time, [t for t, _ in times])):
        quantiles = []
        for x, v in zip(xs, columns):
            v = v[np.isfinite(v)]
            jitter = np.exp(rng.uniform(-0.06, 0.06, v.size)) if log_x else 1.0 + rng.uniform(-0.01, 0.01, v.size)
            ax.scatter(x * jitter, v, s=7, alpha=0.35, color="C0", linewidths=0)
            quantiles.append(np.quantile(v, (0.5, 0.1, 0.9)) if v.size else np.full(3, np.nan))
        q = np.array(quantiles)
        ax.fill_between(xs, q[:, 1], q[:, 2], color="C1", alpha=0.2, label="10-90 %")
        ax.plot(xs, q[:, 0], "o-", color="C1", label="median")
    spec = runs[0].params.get("events", []) if event is not None and runs[0].t_event is not None else []
    if spec and spec[event].get("kind") == "loss_below":
        ax_loss.axhline(spec[event]["value"], color="0.4", lw=0.8, ls="--", label="target")
    for x, (t, _) in zip(xs, times):
        ax_time.annotate(
            f"{np.mean(np.isfinite(t)):.0%}",
            (x, 1.0),
            xycoords=ax_time.get_xaxis_transform(),
            textcoords="offset points",
            xytext=(0, -11),
            ha="center",
            fontsize="small",
        )
    ax_loss.set_yscale("log", nonpositive="mask")
    ax_loss.set_ylabel("final loss")
    sizes = sorted({len(r) for r in runs})
    ax_loss.set_title(f"{len(runs)} runs of {'/'.join(map(str, sizes))} trajectories")
    ax_loss.legend(fontsize="small")
    ax_time.set_ylabel(f"{times[0][1]}\n(fraction reached at the top)")
    ax_time.margins(y=0.15)
    ax_time.set_xlabel(xlabel)
    if log_x:
        ax_time.set_xscale("log")
    return _finish(fig, path)
