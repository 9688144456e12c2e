"""Type stubs for overflow._core, the compiled C++ core (bindings in csrc/python)."""

import enum
from collections.abc import Sequence
from typing import TypedDict

import numpy as np
import numpy.typing as npt

class Status(enum.IntEnum):  # a pybind11 enum: int(), .name and comparison as an IntEnum's
    converged = 0
    t_end = 1
    event = 2
    blowup = 3
    domain = 4
    max_steps = 5
    failed = 6
    interrupted = 7
    stepped = 8

class RunOptions:
    method: str
    rtol: float
    atol: float
    first_step: float
    max_step: float
    min_step: float
    max_steps: int
    gtol: float
    max_norm: float
    save_states: bool
    project: bool
    record_dense: bool
    threads: int
    events: list[_EventArg]
    def __init__(
        self,
        *,
        method: str = "auto",
        rtol: float = ...,
        atol: float = ...,
        first_step: float = 0.0,
        max_step: float = ...,
        min_step: float = 0.0,
        max_steps: int = ...,
        gtol: float = 0.0,
        max_norm: float = ...,
        save_states: bool = True,
        project: bool = False,
        record_dense: bool = False,
        threads: int = 1,
        events: Sequence[_EventArg] = (),
    ) -> None: ...

class Solution:
    @property
    def t(self) -> npt.NDArray[np.float64]: ...
    @property
    def states(self) -> npt.NDArray[np.float64]: ...
    @property
    def loss(self) -> npt.NDArray[np.float64]: ...
    @property
    def grad_norm(self) -> npt.NDArray[np.float64]: ...
    @property
    def final_state(self) -> npt.NDArray[np.float64]: ...
    @property
    def t_final(self) -> float: ...
    @property
    def final_loss(self) -> float: ...
    @property
    def final_grad_norm(self) -> float: ...
    @property
    def status(self) -> Status: ...
    @property
    def message(self) -> str: ...
    @property
    def nfev(self) -> int: ...
    @property
    def naccept(self) -> int: ...
    @property
    def nreject(self) -> int: ...
    @property
    def ndomain(self) -> int: ...
    @property
    def nvalue(self) -> int: ...
    @property
    def njvp(self) -> int: ...
    @property
    def max_projection(self) -> float: ...
    @property
    def naccept_stiff(self) -> int: ...
    @property
    def nkink(self) -> int: ...
    @property
    def nslide(self) -> int: ...
    @property
    def method_steps(self) -> dict[str, int]: ...
    @property
    def switch_times(self) -> npt.NDArray[np.float64]: ...
    @property
    def grad_norm_min(self) -> float: ...
    @property
    def stalled(self) -> bool: ...
    @property
    def t_events(self) -> list[npt.NDArray[np.float64]]: ...
    @property
    def y_events(self) -> list[npt.NDArray[np.float64]]: ...
    @property
    def njev(self) -> int: ...
    @property
    def nlu(self) -> int: ...
    # With RunOptions.record_dense: (S + 1,) times (t0, then each accepted step's end, in user time) and
    # (S, d + 1, n) each step's interpolant at theta_k = (1 - cos(k pi / d)) / 2 (node 0 at dense_t[s],
    # node d at dense_t[s + 1]); empty otherwise.
    @property
    def dense_t(self) -> npt.NDArray[np.float64]: ...
    @property
    def dense_nodes(self) -> npt.NDArray[np.float64]: ...
    @property
    def dense_degree(self) -> int: ...

# An event as overflow.events passes it: (kind, function address, value, direction, terminal,
# data address).
_EventArg = tuple[str, int, float, int, int, int]
AUTO_METHOD: tuple[str, str]

class _Tableau(TypedDict):
    name: str
    order: int
    error_order: int
    control_order: int
    dense_order: int
    stages: int
    extra_stages: int
    c: npt.NDArray[np.float64]
    a: npt.NDArray[np.float64]
    b: npt.NDArray[np.float64]
    e: npt.NDArray[np.float64]
    e_low: npt.NDArray[np.float64]
    extra_c: npt.NDArray[np.float64]
    extra_a: npt.NDArray[np.float64]
    dense: npt.NDArray[np.float64]
    stability_boundary: float
    stiffness_stage: int

def cost_value_and_grad(
    vg_address: int, data: npt.ArrayLike, P: npt.ArrayLike
) -> tuple[float, npt.NDArray[np.float64]]: ...
def cost_hvp(hvp_address: int, data: npt.ArrayLike, P: npt.ArrayLike, V: npt.ArrayLike) -> npt.NDArray[np.float64]: ...

# The flow functions take the network on data through inputs (X, n x samples), bias and leaky_slope.
def flow_rhs(
    dims: Sequence[int],
    vg_address: int,
    data: npt.ArrayLike,
    y: npt.ArrayLike,
    activation: str = "none",
    *,
    inputs: npt.ArrayLike | None = None,
    bias: bool = False,
    leaky_slope: float = 0.01,
    threads: int = 1,
) -> tuple[float, npt.NDArray[np.float64]]: ...
def flow_jvp(
    dims: Sequence[int],
    vg_address: int,
    hvp_address: int,
    data: npt.ArrayLike,
    y: npt.ArrayLike,
    v: npt.ArrayLike,
    activation: str = "none",
    *,
    inputs: npt.ArrayLike | None = None,
    bias: bool = False,
    leaky_slope: float = 0.01,
    threads: int = 1,
) -> npt.NDArray[np.float64]: ...
def flow_rhs_seconds(
    dims: Sequence[int],
    vg_address: int,
    data: npt.ArrayLike,
    y: npt.ArrayLike,
    repeats: int,
    activation: str = "none",
    *,
    inputs: npt.ArrayLike | None = None,
    bias: bool = False,
    leaky_slope: float = 0.01,
    threads: int = 1,
) -> float: ...
def flow_jvp_seconds(
    dims: Sequence[int],
    vg_address: int,
    hvp_address: int,
    data: npt.ArrayLike,
    y: npt.ArrayLike,
    v: npt.ArrayLike,
    repeats: int,
    activation: str = "none",
    *,
    inputs: npt.ArrayLike | None = None,
    bias: bool = False,
    leaky_slope: float = 0.01,
    threads: int = 1,
) -> float: ...
def reference_cost_address(name: str) -> int: ...
def invariants(dims: Sequence[int], y: npt.ArrayLike) -> npt.NDArray[np.float64]: ...
def integrate_flow(
    dims: Sequence[int],
    vg_address: int,
    hvp_address: int,
    data: npt.ArrayLike,
    activation: str,
    y0: npt.ArrayLike,
    t0: float,
    t1: float,
    t_eval: npt.ArrayLike,
    options: RunOptions,
    *,
    inputs: npt.ArrayLike | None = None,
    bias: bool = False,
    leaky_slope: float = 0.01,
) -> Solution: ...
def methods() -> list[str]: ...
def tableau(name: str) -> _Tableau: ...
def integrate_reduced(
    vg_address: int,
    data: npt.ArrayLike,
    z0: float,
    imbalance: float,
    t0: float,
    t1: float,
    t_eval: npt.ArrayLike,
    options: RunOptions,
) -> Solution: ...

# integrate_rhs and RhsSolver work in the user's t and y: direction -1 integrates backwards (t1 < t0, t_eval
# decreasing); scale (n,) > 0 integrates y / scale (atol_i = atol * scale_i; max_norm applies to y / scale).
# Event functions see user t and y; an event's direction counts along the integration, as scipy's does (for a
# backward run, +1 is a value that rises as t decreases). nfev counts every call of rhs, the difference
# Jacobian's (jac_address=0) included.
def integrate_rhs(
    rhs_address: int,
    data: npt.ArrayLike,
    y0: npt.ArrayLike,
    t0: float,
    t1: float,
    t_eval: npt.ArrayLike,
    options: RunOptions,
    *,
    jac_address: int = 0,
    scale: npt.ArrayLike | None = None,
    direction: int = 1,
) -> Solution: ...

class EnsembleSolution:
    @property
    def status(self) -> npt.NDArray[np.int8]: ...  # int(Status) codes; -1: never started
    @property
    def t_final(self) -> npt.NDArray[np.float64]: ...
    @property
    def final_loss(self) -> npt.NDArray[np.float64]: ...
    @property
    def final_grad_norm(self) -> npt.NDArray[np.float64]: ...
    @property
    def nfev(self) -> npt.NDArray[np.int64]: ...
    @property
    def naccept(self) -> npt.NDArray[np.int64]: ...
    @property
    def nreject(self) -> npt.NDArray[np.int64]: ...
    @property
    def naccept_stiff(self) -> npt.NDArray[np.int64]: ...
    @property
    def nkink(self) -> npt.NDArray[np.int64]: ...
    @property
    def nslide(self) -> npt.NDArray[np.int64]: ...
    @property
    def stalled(self) -> npt.NDArray[np.int8]: ...
    @property
    def event_first(self) -> npt.NDArray[np.float64]: ...
    @property
    def final_state(self) -> npt.NDArray[np.float64]: ...
    @property
    def loss_at(self) -> npt.NDArray[np.float64]: ...
    @property
    def states_at(self) -> npt.NDArray[np.float64]: ...
    @property
    def interrupted(self) -> bool: ...

def integrate_ensemble(
    dims: Sequence[int],
    vg_address: int,
    hvp_address: int,
    data: npt.ArrayLike,
    activation: str,
    y0s: npt.ArrayLike,
    t0: float,
    t1: float,
    t_eval: npt.ArrayLike,
    options: RunOptions,
    workers: int,
    *,
    inputs: npt.ArrayLike | None = None,
    bias: bool = False,
    leaky_slope: float = 0.01,
) -> EnsembleSolution: ...

class _Stats(TypedDict):
    nfev: int
    naccept: int
    nreject: int
    njvp: int
    naccept_stiff: int
    nkink: int
    nslide: int
    switch_times: list[float]
    method_now: str

class FlowSolver:
    def __init__(
        self,
        dims: Sequence[int],
        vg_address: int,
        hvp_address: int,
        data: npt.ArrayLike,
        activation: str,
        options: RunOptions,
        *,
        inputs: npt.ArrayLike | None = None,
        bias: bool = False,
        leaky_slope: float = 0.01,
    ) -> None: ...
    def init(self, t0: float, y0: npt.ArrayLike) -> None: ...
    def step(self, t_bound: float) -> str: ...  # the Status name
    def dense(self, t: float) -> npt.NDArray[np.float64]: ...
    @property
    def y(self) -> npt.NDArray[np.float64]: ...
    @property
    def t(self) -> float: ...
    @property
    def t_prev(self) -> float: ...
    @property
    def h_next(self) -> float: ...
    @property
    def loss(self) -> float: ...
    @property
    def grad_norm(self) -> float: ...
    @property
    def max_projection(self) -> float: ...
    @property
    def stats(self) -> _Stats: ...
    @property
    def t_events(self) -> list[npt.NDArray[np.float64]]: ...
    @property
    def y_events(self) -> list[npt.NDArray[np.float64]]: ...

class _RhsStats(TypedDict):
    nfev: int
    naccept: int
    nreject: int
    njvp: int
    njev: int
    nlu: int
    naccept_stiff: int
    nkink: int
    nslide: int
    switch_times: list[float]
    method_now: str

class RhsSolver:  # everything in the user's t and y (direction -1: backwards in t)
    def __init__(
        self,
        rhs_address: int,
        data: npt.ArrayLike,
        n: int,
        options: RunOptions,
        *,
        jac_address: int = 0,
        scale: npt.ArrayLike | None = None,
        direction: int = 1,
    ) -> None: ...
    def init(self, t0: float, y0: npt.ArrayLike) -> None: ...
    def step(self, t_bound: float) -> str: ...  # the Status name
    def dense(self, t: float) -> npt.NDArray[np.float64]: ...
    def dense_nodes(self) -> npt.NDArray[np.float64]: ...  # (dense_degree + 1, n)
    @property
    def dense_degree(self) -> int: ...
    @property
    def direction(self) -> int: ...
    @property
    def n(self) -> int: ...
    @property
    def y(self) -> npt.NDArray[np.float64]: ...
    @property
    def t(self) -> float: ...
    @property
    def t_prev(self) -> float: ...
    @property
    def h_next(self) -> float: ...
    @property
    def stats(self) -> _RhsStats: ...
    @property
    def t_events(self) -> list[npt.NDArray[np.float64]]: ...
    @property
    def y_events(self) -> list[npt.NDArray[np.float64]]: ...
