"""`overflow.monte_carlo(..., backend="dask")` on a local cluster of two worker processes: the
cost travels by its description and is rebuilt there, so the arrays are bit-identical to the
threads backend's, streamed to ``out=`` or not; a cost that cannot be pickled is refused clearly."""

from __future__ import annotations

import os

import numpy as np
import pytest

distributed = pytest.importorskip("dask.distributed")

from helpers import assert_mc_identical  # noqa: E402

import overflow as of  # noqa: E402
import overflow.montecarlo.run as mc_run  # noqa: E402
from overflow.montecarlo import samplers as S  # noqa: E402

TARGET = np.array([[1.0, 0.5], [0.0, -1.0]])
KW = dict(
    t_span=(0.0, 8.0),
    sampler=S.gaussian(0.5),
    seed=5,
    gtol=1e-3,
    max_steps=40,
    t_eval=[0.0, 2.0, 8.0],
    keep_final=True,
    progress=False,
    method="dopri5",
)
N, CHUNK = 300, 64  # 5 tasks, the last one of 44 trajectories


def chunk_files(path):
    return sorted(f for f in os.listdir(path) if f.startswith("chunk_") and f.endswith(".npz"))


@pytest.fixture(scope="module")
def net():
    return of.Network(of.costs.matrix_factorization(TARGET), depth=3, width=3)


@pytest.fixture(scope="module")
def threads(net):
    return of.monte_carlo(net, N, chunk=CHUNK, **KW)


def test_dask_needs_a_client(net):
    """Runs before the module's cluster exists (tests run in file order)."""
    try:
        distributed.get_client()
    except ValueError:
        pass
    else:  # pragma: no cover - a default client left over by another module
        pytest.skip("a default Dask client exists in this process")
    with pytest.raises(ValueError, match="needs a client"):
        of.monte_carlo(net, 5, (0.0, 1.0), backend="dask", progress=False)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def test_dask_matches_threads(net, threads, client):
    res = of.monte_carlo(net, N, backend="dask", client=client, chunk=CHUNK, **KW)
    assert_mc_identical(res, threads)
    assert {"converged", "max_steps"} <= set(res.summary().fractions)
    assert res.params == threads.params


def test_dask_other_chunks_and_threads_per_task(net, threads, client):
    res = of.monte_carlo(net, N, backend="dask", client=client, chunk=37, workers=2, **KW)
    assert_mc_identical(res, threads)


def test_dask_repeated_runs(net, threads, client):
    """The same run submitted again at once (same task keys) gives the same arrays."""
    for _ in range(3):
        assert_mc_identical(of.monte_carlo(net, N, backend="dask", client=client, chunk=CHUNK, **KW), threads)


def test_dask_default_client(net, threads, client):
    res = of.monte_carlo(net, N, backend="dask", chunk=CHUNK, **KW)  # the current client
    assert_mc_identical(res, threads)


def test_dask_streams_to_out(net, threads, client, tmp_path, monkeypatch):
    out = tmp_path / "run"
    res = of.monte_carlo(net, N, backend="dask", client=client, chunk=CHUNK, out=out, **KW)
    assert_mc_identical(res, threads)
    assert chunk_files(out) == [f"chunk_{i:06d}.npz" for i in range(5)]
    assert_mc_identical(of.montecarlo.load(out), threads)

    # a run streamed by Dask resumes on the threads backend without recomputing anything
    def refuse(*args, **kwargs):
        raise AssertionError("a chunk was recomputed")

    monkeypatch.setattr(mc_run, "run_chunk", refuse)
    assert_mc_identical(of.monte_carlo(net, N, chunk=CHUNK, out=out, **KW), threads)


def test_dask_completes_a_partial_run(net, threads, client, tmp_path):
    out = tmp_path / "run"
    of.monte_carlo(net, N, chunk=CHUNK, out=out, **KW)  # threads
    for i in (0, 3):
        os.remove(out / f"chunk_{i:06d}.npz")
    stamps = {f: os.stat(out / f).st_mtime_ns for f in chunk_files(out)}
    res = of.monte_carlo(net, N, backend="dask", client=client, chunk=CHUNK, out=out, **KW)
    assert_mc_identical(res, threads)
    assert chunk_files(out) == [f"chunk_{i:06d}.npz" for i in range(5)]
    assert all(os.stat(out / f).st_mtime_ns == t for f, t in stamps.items())


def test_dask_from_array_and_vector_sampler(client):
    cost = of.costs.log_cosh(np.ones((1, 4)), np.full((1, 4), 0.8))  # a 1x1 cost with a data array
    net = of.Network(cost, depth=2, width=3)
    for sampler in (
        S.from_array(np.random.default_rng(1).standard_normal((50, net.state_size))),
        S.imbalanced((0.0, 1.0), (-0.5, 0.5)),
        S.center_stable(0.1),
    ):
        kw = dict(t_span=(0.0, 3.0), sampler=sampler, chunk=16, keep_final=True, progress=False)
        a = of.monte_carlo(net, 50, backend="dask", client=client, **kw)
        b = of.monte_carlo(net, 50, **kw)
        assert_mc_identical(a, b)


def _undescribed_cost():
    """A `Cost` made directly from compiled callbacks, without the re-creatable description the
    constructors of overflow.costs attach: ``Cost.__reduce__`` refuses it (a callback address cannot
    travel between processes), for pickle and cloudpickle alike."""
    mf = of.costs.matrix_factorization(TARGET)
    return of.Cost(
        name="raw",
        shape=mf.shape,
        vg_cfunc=mf._vg_cfunc,
        hvp_cfunc=mf._hvp_cfunc,
        data=mf.data,
        hvp_exact=True,
        f_star=0.0,
    )


def test_unpicklable_cost_is_refused(client, tmp_path):
    net = of.Network(_undescribed_cost(), depth=3, width=3)
    out = tmp_path / "run"
    with pytest.raises(TypeError, match=r"backend='dask'.*cannot be pickled.*no re-creatable description"):
        of.monte_carlo(net, 10, (0.0, 1.0), backend="dask", client=client, out=out, progress=False)
    assert not out.exists() or not chunk_files(out)
    # the threads backend needs no pickling, and the callbacks are those of matrix_factorization
    mf = of.Network(of.costs.matrix_factorization(TARGET), depth=3, width=3)
    a = of.monte_carlo(net, 10, (0.0, 1.0), progress=False)
    b = of.monte_carlo(mf, 10, (0.0, 1.0), progress=False)
    np.testing.assert_array_equal(a.final_loss, b.final_loss)


def test_costs_of_local_python_functions_travel_by_value(client):
    """A user kernel defined in a function and a scalar cost of lambdas are pickled by value
    (cloudpickle) and recompiled on the workers: the same numbers as the threads backend."""

    def half_sq(P):  # a local function: plain pickle cannot name it
        return 0.5 * (P[0, 0] - 1.0) ** 2

    user = of.cost((1, 1))(half_sq)
    scalar = of.costs.scalar(lambda z: 0.5 * (1.0 - z) ** 2, lambda z: z - 1.0, lambda z: 1.0)
    for cost in (user, scalar):
        net = of.Network(cost, depth=2, width=2)
        kw = dict(t_span=(0.0, 2.0), chunk=10, keep_final=True, progress=False)
        assert_mc_identical(of.monte_carlo(net, 20, backend="dask", client=client, **kw), of.monte_carlo(net, 20, **kw))


def _weights_grow(t, y):  # a user event: compiled again in each worker process
    return np.sum(y * y) - 3.0


def test_dask_events_match_threads(net, client):
    events = [of.events.loss_below(0.1, terminal=False), _weights_grow]
    kw = dict(t_span=(0.0, np.inf), sampler=S.gaussian(0.5), seed=2, gtol=1e-8, progress=False, events=events)
    a = of.monte_carlo(net, 40, chunk=16, **kw)
    b = of.monte_carlo(net, 40, chunk=16, backend="dask", client=client, **kw)
    assert a.t_event.shape == (40, 2) and np.any(np.isfinite(a.t_event))
    np.testing.assert_array_equal(a.t_event, b.t_event)
    assert_mc_identical(a, b)
    assert a.params["events"][1]["name"].endswith("_weights_grow")


def test_dask_network_on_data_matches_threads(client, tmp_path):
    """A network on data travels with its inputs, biases and slope: the same arrays as threads, and its
    store resumes on the threads backend."""
    data = of.datasets.teacher_student(n_in=3, m=2, width=3, samples=20, activation="tanh", bias=True, seed=1)
    net = of.Network(of.costs.squared_loss(data.Y), depth=2, width=4, activation="tanh", inputs=data.X, bias=True)
    kw = dict(t_span=(0.0, 2.0), sampler=S.gaussian(0.5), chunk=8, keep_final=True, progress=False)
    a = of.monte_carlo(net, 30, **kw)
    b = of.monte_carlo(net, 30, backend="dask", client=client, out=tmp_path / "run", **kw)
    assert_mc_identical(a, b)
    assert_mc_identical(of.monte_carlo(net, 30, out=tmp_path / "run", **kw), a)
    leaky = of.Network(
        of.costs.squared_loss(data.Y), depth=2, width=4, activation=of.activations.leaky_relu(0.2), inputs=data.X
    )
    kw = dict(t_span=(0.0, 0.3), sampler=S.balanced(0.5), chunk=8, keep_final=True, progress=False)
    assert_mc_identical(of.monte_carlo(leaky, 16, backend="dask", client=client, **kw), of.monte_carlo(leaky, 16, **kw))
