"""`MCResult`: the per-trajectory summaries of a Monte Carlo run, and what they add up to."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from .chunks import FIELDS, STATUS_NAMES, with_later_fields

__all__ = ["MCResult", "MCSummary"]


@dataclasses.dataclass
class MCSummary:
    """What a run adds up to; ``str()`` prints it as a small table."""

    n: int
    fractions: dict[str, float]
    """Fraction of trajectories per status (only statuses that occurred)."""
    t_converged_quantiles: dict[float, float]
    """Quantiles (0.1, 0.5, 0.9) of the time at which ``gtol`` was met, over converged trajectories."""
    global_minimum: float | None
    """``min g`` where known (see `MCResult.global_minimum`)."""
    fraction_global_minimum: float | None
    """Fraction with ``final_loss - global_minimum <= min_tol * max(1, |global_minimum|)``."""
    final_loss_quantiles: dict[float, float]
    mean_nfev: float
    max_invariant_drift: float

    def __str__(self) -> str:
        rows = [("trajectories", f"{self.n}")]
        rows += [(f"status {k}", f"{v:.4f}") for k, v in sorted(self.fractions.items(), key=lambda kv: -kv[1])]
        for q, v in self.t_converged_quantiles.items():
            rows.append((f"t_converged q{round(100 * q)}", f"{v:.6g}"))
        for q, v in self.final_loss_quantiles.items():
            rows.append((f"final loss q{round(100 * q)}", f"{v:.6g}"))
        if self.global_minimum is not None:
            rows.append(("global minimum", f"{self.global_minimum:.6g}"))
            rows.append(("fraction at global min", f"{self.fraction_global_minimum:.4f}"))
        rows += [("mean nfev", f"{self.mean_nfev:.1f}"), ("max invariant drift", f"{self.max_invariant_drift:.3g}")]
        w = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{w}}  {v}" for k, v in rows)


class MCResult:
    """Per-trajectory arrays of a Monte Carlo run (row ``i`` is trajectory ``i``).

    Attributes
    ----------
    status : ndarray of str
        ``"converged"``, ``"t_end"``, ``"blowup"``, ``"domain"``, ``"max_steps"``, ``"failed"``
        (``status_code`` holds the same as small integers indexing `STATUS_NAMES`).
    t_final, final_loss, final_grad_norm : ndarray
        Where each run stopped, ``g`` and ``||grad g||_F`` there.
    t_converged : ndarray
        Time at which ``||grad g|| <= gtol`` was met; NaN where it was not (or gtol was not set).
    nfev, naccept, nreject : ndarray of int64
        As `Result.nfev` etc.: evaluations made by stepping (and locating the gtol crossing), not
        those made only to report the loss at ``t_eval``.
    naccept_stiff : ndarray of int64
        ``method="auto"``: the steps taken by the stiff method (rodas4); 0 otherwise.
    nkink, nslide : ndarray of int64
        As `Result.nkink` and `Result.nslide`: on relu-family networks on data, the kinks located and
        the pre-activation entries that began to slide along one; 0 otherwise (and in a store written
        before these fields existed).
    stalled : ndarray of bool
        A run that did not reach ``gtol``: ``||grad g||`` had stopped falling, or the explicit
        method's steps were held at its stability limit (see `overflow.integrate`).
    invariant_drift : ndarray
        ``max |C_i(t_final) - C_i(0)|`` over all entries of all invariants (definition 1); for
        relu/leaky_relu networks and networks on data, of the per-neuron invariants
        (`overflow.invariants`); NaN where the network conserves none known (tanh on data, ...).
    imbalance_trace, imbalance_fro, imbalance : ndarray, shape (n, N - 1)
        At the initial state: ``tr C_i``, ``||C_i||_F`` and ``c_i = 2 tr(C_i^2) - tr(C_i)^2`` (the
        vector case's conserved ``c`` of eq. 19 at depth 2). With per-neuron invariants: their sum
        and norm per hidden layer, and ``c`` NaN.
    final : ndarray (n, state_size) or None
        Final flat states (``keep_final=True``); ``net.unflatten`` splits them into layers.
    t_eval, loss_at : ndarray or None
        With ``t_eval``: the loss there, shape ``(n, len(t_eval))``, NaN after an early stop.
    states_at : ndarray (n, len(t_eval), state_size) or None
        With ``keep_trajectories=True``.
    t_event : ndarray (n, number of events) or None
        With ``events=``: each event's first crossing time per trajectory (NaN: none).
    params : dict
        The run's parameters (as saved in ``out/params.json``).
    """

    def __init__(
        self,
        arrays: dict[str, np.ndarray],
        params: dict[str, Any],
        global_minimum: float | None,
        t_eval: np.ndarray | None = None,
    ) -> None:
        with_later_fields(arrays)
        for name in FIELDS:
            setattr(self, name, arrays[name])
        self.final: np.ndarray | None = arrays.get("final")
        self.loss_at: np.ndarray | None = arrays.get("loss_at")
        self.states_at: np.ndarray | None = arrays.get("states_at")
        self.t_event: np.ndarray | None = arrays.get("t_event")
        self.t_eval = t_eval if t_eval is not None and len(t_eval) else None
        self.params = params
        self.global_minimum = global_minimum

    @property
    def status(self) -> np.ndarray:
        names = np.array(STATUS_NAMES + ("not_run",))
        return names[self.status_code]  # code -1 (never started) maps to the last entry

    def __len__(self) -> int:
        return len(self.t_final)

    def __repr__(self) -> str:
        return f"MCResult(n={len(self)}, fractions={self.summary().fractions})"

    def reached_global_minimum(self, min_tol: float = 1e-6) -> np.ndarray | None:
        """Boolean mask of the runs ending within ``min_tol * max(1, |g*|)`` of the global minimum
        ``g*``; None when ``g*`` is not known."""
        if self.global_minimum is None:
            return None
        g = self.global_minimum
        return (self.final_loss - g) <= min_tol * max(1.0, abs(g))

    def summary(self, min_tol: float = 1e-6) -> MCSummary:
        """Fractions by status, quantiles of the convergence time and final loss, and the fraction
        reaching the global minimum where it is known (see `reached_global_minimum`)."""
        n = len(self)
        names, counts = np.unique(self.status, return_counts=True)
        tc = self.t_converged[np.isfinite(self.t_converged)]
        qs = (0.1, 0.5, 0.9)
        at_min = self.reached_global_minimum(min_tol)
        loss = self.final_loss[np.isfinite(self.final_loss)]
        drift = self.invariant_drift[np.isfinite(self.invariant_drift)]
        return MCSummary(
            n=n,
            fractions={str(k): float(c) / n for k, c in zip(names, counts)} if n else {},
            t_converged_quantiles={q: float(np.quantile(tc, q)) for q in qs} if tc.size else {},
            global_minimum=self.global_minimum,
            fraction_global_minimum=None if at_min is None else float(np.mean(at_min)) if n else math.nan,
            final_loss_quantiles={q: float(np.quantile(loss, q)) for q in qs} if loss.size else {},
            mean_nfev=float(np.mean(self.nfev)) if n else math.nan,
            max_invariant_drift=float(np.max(drift)) if drift.size else math.nan,
        )

    def plot(self, path: Any = None) -> Any:
        """Convergence time against imbalance and the histogram of final losses (see
        `overflow.montecarlo.plot.plot_mc`); needs matplotlib."""
        from .plot import plot_mc

        return plot_mc(self, path)

    def to_dataframe(self) -> Any:
        """One row per trajectory (pandas ``DataFrame``; needs pandas). Per-invariant columns are
        named ``imbalance_1``, ``imbalance_trace_1``, ... for ``C_1``, ..."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("to_dataframe needs pandas: pip install pandas") from None
        cols: dict[str, Any] = {"status": self.status}
        for name in FIELDS:
            if name == "status_code":
                continue
            a = getattr(self, name)
            if a.ndim == 1:
                cols[name] = a
            else:
                for j in range(a.shape[1]):
                    cols[f"{name}_{j + 1}"] = a[:, j]
        return pd.DataFrame(cols)
