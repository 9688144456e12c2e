"""`monte_carlo`: many initializations of one network, on a thread pool or a Dask cluster."""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import _options as _o
from .. import events as _events
from .._options import METHODS
from .._validate import INT32_MAX, check_memory, format_bytes
from ..integrate import ConvergenceWarning, _check_project
from ..network import Network, _integer
from . import samplers as _samplers
from .chunkfile import ChunkError
from .chunks import FIELDS, MCSpec, chunk_bounds, run_chunk
from .fingerprint import run_fingerprint
from .result import MCResult
from .store import ChunkStore, StoreWarning, read_params, scan

__all__ = ["monte_carlo", "load", "MonteCarloInterrupted", "global_minimum"]

BACKENDS = ("threads", "dask")
_D = _o.defaults("monte_carlo")


class MonteCarloInterrupted(KeyboardInterrupt):
    """Raised on Ctrl-C; ``.result`` holds the chunks finished before it (``.result.params["chunks_done"]``)."""

    def __init__(self, result: MCResult, message: str) -> None:
        super().__init__(message)
        self.result = result


def global_minimum(net: Network) -> float | None:
    """``min g`` over all weights when it is known, None otherwise.

    Known for a linear network (no activation) whose narrowest layer is at least ``min(m, n)`` wide,
    so that every linear map is a product ``W_N ... W_1``: on the identity input the cost's
    ``f_star``; on data ``X`` under ``costs.squared_loss(Y)`` the least-squares residual
    ``min_P 1/2 ||P X - Y||_F^2 / s`` (with biases, of ``P [X; 1]``: ``b_N`` makes the offset free).
    Unknown (None) with a bottleneck, an activation (relu networks included: whether a student can
    fit its data is not known from the network) or a cost that does not know its minimum.
    """
    m, n = net.dims[-1], net.dims[0]
    if net.activation is not None or min(net.dims) < min(m, n):
        return None
    if net.inputs is None:
        return None if net.cost.f_star is None else float(net.cost.f_star)
    from ..costs import squared_loss

    spec = net.cost._spec
    if spec is None or spec[0] is not squared_loss:
        return None
    Y = np.asarray(spec[1][0], dtype=float)
    A = np.vstack([net.inputs, np.ones((1, net.inputs.shape[1]))]) if net.bias else net.inputs
    P = np.linalg.lstsq(A.T, Y.T, rcond=None)[0].T  # min_P ||P A - Y||_F
    return float(0.5 * np.sum((P @ A - Y) ** 2) / Y.shape[1])


def _default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@_o.document("monte_carlo")
def monte_carlo(
    net: Network,
    n: int,
    t_span: Sequence[float],
    method: str = _D.method,
    *,
    rtol: float = _D.rtol,
    atol: float = _D.atol,
    t_eval: Sequence[float] | None = _D.t_eval,
    gtol: float | None = _D.gtol,
    first_step: float | None = _D.first_step,
    max_step: float = _D.max_step,
    max_steps: int = _D.max_steps,
    max_norm: float = _D.max_norm,
    events: Any = _D.events,
    project: bool = _D.project,
    sampler: _samplers.Sampler | None = None,
    seed: int = 0,
    workers: int | None = None,
    backend: str = "threads",
    client: Any = None,
    chunk: int | None = None,
    progress: bool = True,
    out: str | os.PathLike[str] | None = None,
    keep_final: bool = False,
    keep_trajectories: bool = False,
) -> MCResult:
    """Integrate the flow (eq. 4) from ``n`` random initial states and summarise each trajectory.

    Every trajectory has its own adaptive steps; trajectories are handed out one at a time to a
    pool of threads in the C++ core (the GIL released), or chunk by chunk to Dask workers. Results
    are bit-identical for any ``workers``, ``chunk`` size or backend: trajectory ``i``'s start
    depends only on ``(seed, i)`` (see `overflow.samplers`) and its integration only on that start.

    Parameters
    ----------
    net : Network
        The network and cost: linear, activated, or on data (``inputs=X``, with or without biases).
        On data the run's fingerprint holds the inputs (a hash of their bytes), the biases, the
        activation and its slope beside the cost (whose fingerprint holds its targets), so a store
        of a run on other data is refused (`store.ResumeMismatch`).
    n : int
        Number of trajectories.
    t_span : (float, float)
        Integration interval of every trajectory; ``(t0, np.inf)`` runs each until ``gtol`` is met
        (required then) or ``max_steps`` runs out.
    method : str
        As in `overflow.integrate` (``"auto"`` included, not ``"reduced"``).
    {options: rtol, atol; t_eval; gtol; first_step; max_step; max_steps; max_norm; events; project}

    With ``gtol`` a run stops as ``"converged"`` and its ``t_converged`` is recorded; the
    trajectories that end without reaching it are reported in one `ConvergenceWarning`.
    ``t_eval`` records the loss there (``MCResult.loss_at``); a terminal event ends a trajectory
    with status ``"event"``, and each event's first crossing time is kept per trajectory
    (``MCResult.t_event``). A start outside the cost's domain ends its trajectory with status
    ``"domain"`` (one bad draw does not stop the run).
    sampler : overflow.samplers.Sampler, optional
        Initial-state distribution; default ``samplers.gaussian(scale=0.3)``. On data: gaussian,
        uniform, orthogonal, from_array, and balanced for linear, relu and leaky_relu networks (see
        `overflow.samplers`); imbalanced and center_stable are for the vector case on the identity input.
    seed : int
        Seed (``>= 0``) of the sampler's random blocks.
    workers : int, optional
        Threads (default: the CPUs this process may use). With Dask, threads per task (default 1).
    backend : {"threads", "dask"}
        ``"dask"`` submits each chunk as a task to ``client`` (a ``dask.distributed.Client``;
        default the current one); the cost travels by its description and is rebuilt on workers.
    chunk : int, optional
        Trajectories per chunk, the unit of progress, streaming and Dask tasks. The default depends
        on ``n`` only (so a resumed run finds the same chunks): ``clip(ceil(n / 64), 256, 8192)``.
    progress : bool
        Show a tqdm bar (trajectories/s and ETA).
    out : path, optional
        Directory to stream finished chunks to (``params.json`` + ``chunk_NNNNNN.npz``); a non-empty
        path (None: keep the run in memory only). If it already holds chunks of the same run, only
        the missing ones are computed: an interrupted run (Ctrl-C, a killed process) resumes and
        ends with the same numbers as an uninterrupted one. Each chunk carries the run's
        fingerprint, its range of trajectories and a checksum; one that is truncated, damaged,
        another chunk's or another run's is computed again, with a `store.StoreWarning` naming
        it. A directory holding a run with other parameters is refused (`store.ResumeMismatch`;
        without params.json, the chunks' own fingerprints decide), and so is one another process
        is writing to (`lock.StoreLocked`, naming its pid).
    keep_final : bool
        Keep each final state (``MCResult.final``, ``n x state_size`` floats).
    keep_trajectories : bool
        Keep the states at ``t_eval`` (``MCResult.states_at``, ``n x len(t_eval) x state_size``).

    Returns
    -------
    MCResult

    Raises
    ------
    MonteCarloInterrupted
        On Ctrl-C, carrying the finished chunks.
    TypeError, ValueError
        A bad argument (named in the message), before anything is computed or written.
    store.ResumeMismatch, lock.StoreLocked
        ``out`` holds another run, or another process is writing to it.
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be an overflow.Network, got {type(net).__name__}")
    n = _integer(n, "n")
    keep_final, keep_trajectories, project, progress = (
        _o.check_flag(value, name)
        for value, name in (
            (keep_final, "keep_final"),
            (keep_trajectories, "keep_trajectories"),
            (project, "project"),
            (progress, "progress"),
        )
    )
    out = _out_path(out)
    event_args, _ = _events.prepare(events, net.state_size, net)  # compiles and checks them
    o = _o.check_run(
        "monte_carlo",
        t_span,
        method,
        rtol=rtol,
        atol=atol,
        t_eval=t_eval,
        gtol=gtol,
        first_step=first_step,
        max_step=max_step,
        max_steps=max_steps,
        max_norm=max_norm,
        terminal_event=_events.any_terminal(event_args),
    )
    sampler = _samplers.gaussian(0.3) if sampler is None else sampler
    if not isinstance(sampler, _samplers.Sampler):
        raise TypeError(
            f"sampler must be one of overflow.samplers (gaussian(scale), ...), got {type(sampler).__name__}"
        )
    sampler.check(net, n)
    seed = _integer(seed, "seed", minimum=0)
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if client is not None and backend != "dask":
        raise ValueError("client is only used with backend='dask'")
    if client is not None and not all(callable(getattr(client, a, None)) for a in ("submit", "scatter")):
        raise TypeError(f"client must be a dask.distributed.Client, got {type(client).__name__}")
    if workers is None:
        workers = _default_workers() if backend == "threads" else 1
    workers = _integer(workers, "workers", maximum=INT32_MAX)  # the core's thread count is a C int
    chunk = int(np.clip(-(-n // 64), 256, 8192)) if chunk is None else _integer(chunk, "chunk")
    if keep_trajectories and not len(o.t_eval):
        raise ValueError("keep_trajectories=True needs t_eval (the times at which to keep the states)")
    # The result holds every row in memory: refuse a size that cannot fit before any is computed.
    dim, times = net.state_size, len(o.t_eval)
    row = 8 * (len(FIELDS) + len(event_args) + keep_final * dim + times * (1 + keep_trajectories * dim))
    check_memory(n * row, "n", n, f"the result of {n} trajectories ({format_bytes(row)} each)")
    if project:
        _check_project(net, method)
    spec = MCSpec(
        net=net,
        sampler=sampler,
        n=n,
        seed=seed,
        chunk=min(chunk, n),
        t_span=(o.t0, o.t1),
        method=o.method,
        rtol=o.rtol,
        atol=o.atol,
        gtol=o.gtol,
        first_step=o.first_step,
        max_step=o.max_step,
        max_steps=o.max_steps,
        max_norm=o.max_norm,
        t_eval=o.t_eval,
        keep_final=keep_final,
        keep_trajectories=keep_trajectories,
        project=project,
        events=events if event_args else None,
    )
    gmin = global_minimum(net)
    store = ChunkStore(out, spec.describe(), {"global_minimum": gmin}) if out is not None else None
    try:
        result = _run(spec, store, gmin, workers, backend, client, progress)
    finally:
        if store is not None:
            store.close()
    if spec.gtol > 0:
        _warn_unconverged(result, spec)
    return result


def _run(
    spec: MCSpec, store: ChunkStore | None, gmin: float | None, workers: int, backend: str, client: Any, progress: bool
) -> MCResult:
    """The chunks not in ``store`` computed (and saved there), then all of them assembled."""
    done: dict[int, dict[str, np.ndarray]] = dict(store.done) if store is not None else {}
    todo = [i for i in range(spec.n_chunks) if i not in done]

    from tqdm.auto import tqdm

    bar = tqdm(
        total=spec.n,
        initial=sum(len(a["t_final"]) for a in done.values()),
        unit="traj",
        disable=not progress,
        desc="monte_carlo",
        smoothing=0.1,
    )

    def finished(i: int, arrays: dict[str, np.ndarray]) -> None:
        arrays.pop("interrupted", None)
        start, stop = chunk_bounds(spec, i)
        if len(arrays["t_final"]) != stop - start:  # a chunk from elsewhere (a Dask task) must fit its range
            raise RuntimeError(f"chunk {i} came back with {len(arrays['t_final'])} rows, expected {stop - start}")
        if store is not None:
            store.save(i, arrays)
        done[i] = arrays
        bar.update(len(arrays["t_final"]))

    try:
        if backend == "threads":
            _run_threads(spec, todo, workers, finished)
        else:
            _run_dask(spec, todo, client, workers, finished)
    except KeyboardInterrupt:
        bar.close()
        partial = _assemble(spec, done, gmin, complete=False)
        raise MonteCarloInterrupted(
            partial,
            f"monte_carlo interrupted: {len(done)} of {spec.n_chunks} chunks "
            f"finished{' and saved' if store is not None else ''}",
        ) from None
    bar.close()
    return _assemble(spec, done, gmin, complete=True)


def _out_path(out: Any) -> str | None:
    """``out`` as a non-empty str path, or None."""
    if out is None:
        return None
    path = os.fspath(out) if isinstance(out, (str, os.PathLike)) else None
    if not isinstance(path, str):
        raise TypeError(f"out must be a directory path (str or os.PathLike), got {type(out).__name__}")
    if not path:
        raise ValueError("out must be a non-empty path to a directory, got ''; out=None keeps the run in memory only")
    return path


def _warn_unconverged(result: MCResult, spec: MCSpec) -> None:
    """One `ConvergenceWarning` for the whole run, not one per trajectory."""
    missed = (result.status != "converged") & (result.status != "event")  # an event is the user's own stop
    count = int(np.sum(missed))
    if not count:
        return
    stalled = int(np.sum(missed & result.stalled))
    statuses = ", ".join(f"{int(np.sum(result.status[missed] == s))} {s}" for s in np.unique(result.status[missed]))
    message = (
        f"{count} of {len(result)} trajectories did not reach gtol = {spec.gtol:g} ({statuses}); "
        f"smallest final ||grad g|| among them {np.nanmin(result.final_grad_norm[missed]):.3g}"
    )
    if stalled:
        message += f"; {stalled} had stalled above it (||grad g|| no longer falling"
        if spec.method in METHODS:
            message += (
                ", or the steps held at the explicit method's stability limit, where its tolerances set "
                "a floor of about lambda_max(Hess g) * tol: method='auto' (or 'rodas4') goes below it"
            )
        message += ")"
    if math.isfinite(spec.t_span[1]) and np.any(result.status[missed] == "t_end"):
        message += "; t_span = (t0, inf) runs each start until it converges (max_steps still applies)"
    warnings.warn(message, ConvergenceWarning, stacklevel=3)


def _run_threads(
    spec: MCSpec, todo: list[int], workers: int, finished: Callable[[int, dict[str, np.ndarray]], None]
) -> None:
    for i in todo:
        arrays = run_chunk(spec, i, workers)
        if arrays["interrupted"]:
            raise KeyboardInterrupt
        finished(i, arrays)


def _run_dask(
    spec: MCSpec, todo: list[int], client: Any, workers: int, finished: Callable[[int, dict[str, np.ndarray]], None]
) -> None:
    try:
        from dask.distributed import as_completed, get_client
    except ImportError:
        raise ImportError("backend='dask' needs dask.distributed: pip install 'overflow[dask]'") from None
    if client is None:
        try:
            client = get_client()
        except ValueError:
            raise ValueError("backend='dask' needs a client: pass client=dask.distributed.Client(...)") from None
    try:  # Dask pickles with cloudpickle where plain pickle fails (lambdas, closures)
        import cloudpickle

        cloudpickle.dumps(spec.net)
    except Exception as exc:
        raise TypeError(
            f"backend='dask' sends the network to other processes, but it cannot be pickled: {exc}"
        ) from exc
    if not todo:
        return
    spec_future = client.scatter(spec, broadcast=True, hash=False)
    fp = spec.fingerprint()[:16]
    futures = {client.submit(run_chunk, spec_future, i, workers, key=f"overflow-mc-{fp}-{i}"): i for i in todo}
    try:
        for fut in as_completed(list(futures)):
            arrays = fut.result()
            if arrays["interrupted"]:  # a worker's own Ctrl-C: the chunk is incomplete
                raise RuntimeError(f"chunk {futures[fut]} was interrupted on its Dask worker")
            finished(futures[fut], arrays)
    except BaseException:
        client.cancel(list(futures))
        raise


def _assemble(spec: MCSpec, done: dict[int, dict[str, np.ndarray]], gmin: float | None, complete: bool) -> MCResult:
    order = sorted(done)
    params = spec.describe()
    params["chunks_done"] = len(order)
    if not order:
        arrays = {k: np.zeros((0,) + _trailing(spec, k)) for k in FIELDS}
    else:
        arrays = {k: np.concatenate([done[i][k] for i in order]) for k in done[order[0]]}
    if complete and order != list(range(spec.n_chunks)):
        raise RuntimeError(f"internal error: chunks {sorted(set(range(spec.n_chunks)) - set(order))} are missing")
    return MCResult(arrays, params, gmin, spec.t_eval)


def _trailing(spec: MCSpec, name: str) -> tuple[int, ...]:
    return (spec.net.depth - 1,) if name.startswith("imbalance") else ()


def load(path: str | os.PathLike[str]) -> MCResult:
    """The `MCResult` of a finished run streamed to ``path`` (``monte_carlo(..., out=path)``).

    Every chunk is verified first: its checksum, the run it belongs to (its fingerprint against
    params.json's) and the trajectories it holds. A store written by an older overflow (chunks
    without fingerprint or checksum) loads with a `store.StoreWarning` saying only their sizes
    were checked.

    Raises
    ------
    chunkfile.ChunkError
        A chunk file is truncated, damaged, another chunk's or another run's (the message names it).
    ValueError
        Chunks are missing (the run is not finished), or params.json is unreadable.
    FileNotFoundError
        ``path`` has no params.json.
    """
    meta = read_params(path)
    run = meta["run"]
    n, chunk = int(run["n"]), int(run["chunk"])
    n_chunks = -(-n // chunk)
    found = scan(path, run_fingerprint(run), n, chunk, legacy_ok=meta["format"] == 1)
    if found.bad:
        (_, first), others = found.bad[0], [str(e.path.name) for _, e in found.bad[1:]]
        todo = (
            "move it out of the directory"
            if first.kind == "extra"
            else "call monte_carlo again with the same arguments and out= to compute it again"
        )
        also = f" (and {len(others)} more: {', '.join(others[:5])})" if others else ""
        raise ChunkError(first.path, first.kind, f"{first.reason}{also}; {todo}")
    missing = [i for i in range(n_chunks) if i not in found.good]
    if missing:
        raise ValueError(
            f"{str(path)!r} holds {n_chunks - len(missing)} of {n_chunks} chunks; call monte_carlo "
            "again with the same arguments and out= to finish the run"
        )
    if found.legacy:
        warnings.warn(
            f"{str(path)!r} was written by an older overflow (store format {meta['format']}): its chunks "
            "carry no fingerprint or checksum, so only their sizes were checked; calling monte_carlo "
            "again with the same arguments and out= converts it",
            StoreWarning,
            stacklevel=2,
        )
    parts = [found.good[i] for i in range(n_chunks)]
    arrays = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    run["chunks_done"] = n_chunks
    return MCResult(arrays, run, meta.get("global_minimum"), np.asarray(run["t_eval"], dtype=float))
