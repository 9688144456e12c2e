"""One chunk of a Monte Carlo run: draw its initial states, integrate them in the core's thread
pool, and reduce each trajectory to its summary. The same function runs in-process (threads
backend) and as a Dask task, which is what makes the two backends agree bit for bit."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import numpy as np

from .. import _core
from .. import events as _events
from ..invariants import invariants
from ..network import Network
from ..result import STATUS_NAMES  # noqa: F401 (re-exported: montecarlo.result and the tests read it here)
from .fingerprint import cost_fingerprint, run_fingerprint
from .samplers import Sampler

__all__ = ["MCSpec", "run_chunk", "chunk_bounds", "FIELDS", "LATER_FIELDS", "HEADER_FIELDS", "with_later_fields"]

#: The per-trajectory arrays of a chunk (and of `MCResult`), always present.
FIELDS = (
    "status_code",
    "t_final",
    "final_loss",
    "final_grad_norm",
    "t_converged",
    "nfev",
    "naccept",
    "nreject",
    "invariant_drift",
    "imbalance_trace",
    "imbalance_fro",
    "imbalance",
    "naccept_stiff",
    "stalled",
    "nkink",
    "nslide",
)
#: Fields added after the first stores were written: absent from an older store, read as zeros.
LATER_FIELDS = ("naccept_stiff", "stalled", "nkink", "nslide")
#: The fields every chunk with a header holds (store format 2 began before nkink and nslide).
HEADER_FIELDS = tuple(f for f in FIELDS if f not in ("nkink", "nslide"))


def with_later_fields(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A chunk's arrays with the `LATER_FIELDS` an older store did not write, as zeros."""
    count = len(arrays["t_final"])
    for name in LATER_FIELDS:
        if name not in arrays:
            arrays[name] = np.zeros(count, dtype=bool if name == "stalled" else np.int64)
    return arrays


@dataclasses.dataclass
class MCSpec:
    """Everything that determines a run's numbers (``workers`` and the backend do not)."""

    net: Network
    sampler: Sampler
    n: int
    seed: int
    chunk: int
    t_span: tuple[float, float]
    method: str
    rtol: float
    atol: float
    gtol: float
    first_step: float
    max_step: float
    max_steps: int
    max_norm: float
    t_eval: np.ndarray
    keep_final: bool
    keep_trajectories: bool
    project: bool = False
    events: Any = None  # as integrate's events= (functions are compiled again in each process)

    @property
    def n_chunks(self) -> int:
        return -(-self.n // self.chunk)

    def describe(self) -> dict[str, Any]:
        """The run's parameters as JSON-able data; two runs with equal descriptions give equal results."""
        cost = self.net.cost
        return {
            "network": network_description(self.net),
            "cost": {"repr": repr(cost), "shape": list(cost.shape), "sha256": cost_fingerprint(cost)},
            "sampler": self.sampler.describe(),
            "n": self.n,
            "seed": self.seed,
            "chunk": self.chunk,
            "t_span": [self.t_span[0], _json_float(self.t_span[1])],
            "method": self.method,
            "rtol": self.rtol,
            "atol": self.atol,
            "gtol": self.gtol,
            "first_step": self.first_step,
            "max_step": _json_float(self.max_step),
            "max_steps": self.max_steps,
            "max_norm": self.max_norm,
            "t_eval": [float(t) for t in self.t_eval],
            "keep_final": self.keep_final,
            "keep_trajectories": self.keep_trajectories,
            "project": self.project,
            **({"events": _events.describe(self.events)} if self.events is not None else {}),
        }

    def fingerprint(self) -> str:
        """`run_fingerprint` of `describe`: what each chunk file of this run's store carries."""
        return run_fingerprint(self.describe())


def network_description(net: Network) -> dict[str, Any]:
    """What defines ``net``'s flow besides its cost: the dims and activation, the leaky slope of
    leaky_relu, and on data the inputs (shape and sha256 of their bytes) and whether layers have
    biases. Keys are added only where they apply, so runs on the identity input keep the
    description (and the stores) they had before networks on data."""
    out: dict[str, Any] = {"dims": net.dims, "activation": net.activation}
    if net.activation == "leaky_relu":
        out["leaky_slope"] = net.leaky_slope
    if net.inputs is not None:
        X = np.ascontiguousarray(net.inputs, dtype=np.float64)
        out["inputs"] = {"shape": list(X.shape), "sha256": hashlib.sha256(X.tobytes()).hexdigest()}
        out["bias"] = net.bias
    return out


def _json_float(x: float) -> float | str:
    return x if np.isfinite(x) else str(x)


def chunk_bounds(spec: MCSpec, index: int) -> tuple[int, int]:
    return index * spec.chunk, min(spec.n, (index + 1) * spec.chunk)


def run_chunk(spec: MCSpec, index: int, workers: int = 1) -> dict[str, np.ndarray]:
    """Integrate chunk ``index`` on ``workers`` threads; returns its per-trajectory arrays.

    The key ``"interrupted"`` (a 0-d bool array) is true when Ctrl-C stopped the chunk early; its
    arrays are then incomplete and must not be kept.
    """
    start, stop = chunk_bounds(spec, index)
    net = spec.net
    y0s = np.ascontiguousarray(spec.sampler.states(net, spec.seed, start, stop))
    cost = net.cost
    event_args, keep_alive = _events.prepare(spec.events, y0s.shape[1], net)
    with _events.reraising(keep_alive):
        options = _core.RunOptions(
            method=spec.method,
            rtol=spec.rtol,
            atol=spec.atol,
            first_step=spec.first_step,
            max_step=spec.max_step,
            max_steps=spec.max_steps,
            gtol=spec.gtol,
            max_norm=spec.max_norm,
            save_states=spec.keep_trajectories,
            project=spec.project,
            events=event_args,
        )
        r = _core.integrate_ensemble(
            net.dims,
            cost.vg_address,
            cost.hvp_address,
            cost.data,
            net.activation or "none",
            y0s,
            spec.t_span[0],
            spec.t_span[1],
            spec.t_eval,
            options,
            workers,
            **net._flow_arguments(),
        )
    del keep_alive
    converged = r.status == _CONVERGED
    out: dict[str, np.ndarray] = {
        "status_code": r.status,
        "t_final": r.t_final,
        "final_loss": r.final_loss,
        "final_grad_norm": r.final_grad_norm,
        "t_converged": np.where(converged, r.t_final, np.nan),
        "nfev": r.nfev,
        "naccept": r.naccept,
        "nreject": r.nreject,
        "naccept_stiff": r.naccept_stiff,
        "stalled": r.stalled.astype(bool),
        "nkink": r.nkink,
        "nslide": r.nslide,
        "interrupted": np.array(r.interrupted),
    }
    out.update(_invariant_summaries(net, y0s, r.final_state))
    if spec.keep_final:
        out["final"] = r.final_state
    if len(spec.t_eval):
        out["loss_at"] = r.loss_at
    if spec.keep_trajectories:
        out["states_at"] = r.states_at
    if event_args:
        out["t_event"] = r.event_first
    return out


def _invariant_summaries(net: Network, y0s: np.ndarray, y_final: np.ndarray) -> dict[str, np.ndarray]:
    """Invariant drift (max |C_i(end) - C_i(0)| over all entries) and the initial imbalance: trace and
    Frobenius norm of each ``C_i(0)`` and ``c = 2 tr(C^2) - tr(C)^2``, shape ``(count, N - 1)``
    (with an activation or on data, the per-neuron invariants' sum and norm, and ``c`` NaN; all NaN
    where the network has no known invariant)."""
    count = y0s.shape[0]
    if net.depth < 2:
        empty = np.zeros((count, 0))
        return {
            "invariant_drift": np.zeros(count),
            "imbalance_trace": empty,
            "imbalance_fro": empty,
            "imbalance": empty.copy(),
        }
    try:  # the invariants of the network's kind (overflow/invariants.py): C_i or per-neuron
        C0 = invariants(net, net.unflatten(y0s))
        C1 = invariants(net, net.unflatten(y_final))
    except ValueError:  # none known for this activation and shape: NaN, as Result.invariant_drift
        nan = np.full((count, net.depth - 1), np.nan)
        return {
            "invariant_drift": np.full(count, np.nan),
            "imbalance_trace": nan,
            "imbalance_fro": nan.copy(),
            "imbalance": nan.copy(),
        }
    drift = np.zeros(count)
    for a, b in zip(C0, C1):
        d = np.abs(b - a).reshape(count, -1).max(axis=1)
        drift = np.fmax(drift, d)
    drift[~np.all(np.isfinite(y_final), axis=1)] = np.nan
    if net.linear:
        trace = np.stack([np.trace(C, axis1=-2, axis2=-1) for C in C0], axis=1)
    else:  # per-neuron invariants: the "trace" is their sum
        trace = np.stack([C.sum(axis=-1) for C in C0], axis=1)
    fro = np.stack([np.sqrt(np.sum(C.reshape(count, -1) ** 2, axis=1)) for C in C0], axis=1)
    c = 2.0 * fro**2 - trace**2 if net.linear else np.full_like(fro, np.nan)
    return {"invariant_drift": drift, "imbalance_trace": trace, "imbalance_fro": fro, "imbalance": c}


_CONVERGED = int(_core.Status.converged)
