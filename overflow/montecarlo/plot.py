"""The two figures of a Monte Carlo run: convergence time against imbalance (Proposition 7 says
larger imbalance converges faster) and the histogram of final losses."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["plot_mc"]


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
