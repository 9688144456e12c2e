"""Type stubs for overflow._core, the compiled C++ core (bindings in csrc/python)."""

from typing import Sequence, TypedDict

import numpy as np
import numpy.typing as npt

class _Solution(TypedDict):
    t: npt.NDArray[np.float64]
    states: npt.NDArray[np.float64]
    loss: npt.NDArray[np.float64]
    grad_norm: npt.NDArray[np.float64]
    y_final: npt.NDArray[np.float64]
    t_final: float
    loss_final: float
    grad_norm_final: float
    status: str
    message: str
    nfev: int
    naccept: int
    nreject: int
    ndomain: int
    nvalue: int
    njvp: int
    max_projection: float
    naccept_stiff: int
    method_steps: dict[str, int]
    switch_times: npt.NDArray[np.float64]
    grad_norm_min: float
    stalled: bool
    t_events: list[npt.NDArray[np.float64]]
    y_events: list[npt.NDArray[np.float64]]

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

def cost_value_and_grad(vg_address: int, data: npt.ArrayLike, P: npt.ArrayLike) -> tuple[float, npt.NDArray[np.float64]]: ...
def cost_hvp(hvp_address: int, data: npt.ArrayLike, P: npt.ArrayLike, V: npt.ArrayLike) -> npt.NDArray[np.float64]: ...
def flow_rhs(dims: Sequence[int], vg_address: int, data: npt.ArrayLike, y: npt.ArrayLike,
             activation: str = "none") -> tuple[float, npt.NDArray[np.float64]]: ...
def flow_jvp(dims: Sequence[int], vg_address: int, hvp_address: int, data: npt.ArrayLike, y: npt.ArrayLike,
             v: npt.ArrayLike) -> npt.NDArray[np.float64]: ...
def flow_rhs_seconds(dims: Sequence[int], vg_address: int, data: npt.ArrayLike, y: npt.ArrayLike, repeats: int) -> float: ...
def reference_cost_address(name: str) -> int: ...
def invariants(dims: Sequence[int], y: npt.ArrayLike) -> npt.NDArray[np.float64]: ...
def integrate_flow(dims: Sequence[int], vg_address: int, hvp_address: int, data: npt.ArrayLike, y0: npt.ArrayLike,
                   t0: float, t1: float, t_eval: npt.ArrayLike, method: str, rtol: float, atol: float,
                   first_step: float, max_step: float, max_steps: int, gtol: float, max_norm: float,
                   save_states: bool, activation: str = "none", project: bool = False,
                   threads: int = 1, events: Sequence[_EventArg] = ()) -> _Solution: ...
def methods() -> list[str]: ...
def tableau(name: str) -> _Tableau: ...
def integrate_reduced(vg_address: int, data: npt.ArrayLike, z0: float, imbalance: float, t0: float, t1: float,
                      t_eval: npt.ArrayLike, method: str, rtol: float, atol: float, first_step: float,
                      max_step: float, max_steps: int, gtol: float, max_norm: float) -> _Solution: ...
def integrate_rhs(rhs_address: int, data: npt.ArrayLike, y0: npt.ArrayLike, t0: float, t1: float,
                  t_eval: npt.ArrayLike, method: str, rtol: float, atol: float, first_step: float, max_step: float,
                  max_steps: int, max_norm: float, save_states: bool,
                  events: Sequence[_EventArg] = ()) -> _Solution: ...

class _Ensemble(TypedDict):
    status: npt.NDArray[np.int8]
    t_final: npt.NDArray[np.float64]
    loss_final: npt.NDArray[np.float64]
    grad_norm_final: npt.NDArray[np.float64]
    nfev: npt.NDArray[np.int64]
    naccept: npt.NDArray[np.int64]
    nreject: npt.NDArray[np.int64]
    y_final: npt.NDArray[np.float64]
    loss_at: npt.NDArray[np.float64]
    states_at: npt.NDArray[np.float64]
    naccept_stiff: npt.NDArray[np.int64]
    stalled: npt.NDArray[np.int8]
    event_first: npt.NDArray[np.float64]
    interrupted: bool

def integrate_ensemble(dims: Sequence[int], vg_address: int, hvp_address: int, data: npt.ArrayLike,
                       y0s: npt.ArrayLike, t0: float, t1: float, t_eval: npt.ArrayLike, method: str, rtol: float,
                       atol: float, first_step: float, max_step: float, max_steps: int, gtol: float,
                       max_norm: float, activation: str, workers: int, keep_states: bool,
                       project: bool = False, events: Sequence[_EventArg] = ()) -> _Ensemble: ...
def status_names() -> list[str]: ...

class _Stats(TypedDict):
    nfev: int
    naccept: int
    nreject: int
    njvp: int
    naccept_stiff: int
    switch_times: list[float]
    method_now: str

class FlowSolver:
    def __init__(self, dims: Sequence[int], vg_address: int, hvp_address: int, data: npt.ArrayLike,
                 activation: str, method: str, rtol: float, atol: float, first_step: float,
                 max_step: float, project: bool = False, events: Sequence[_EventArg] = ()) -> None: ...
    def init(self, t0: float, y0: npt.ArrayLike) -> None: ...
    def step(self, t_bound: float) -> str: ...
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
