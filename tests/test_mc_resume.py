"""Streaming `overflow.monte_carlo` to a directory (``out=``): ``params.json`` plus whole chunk files;
a second call with the same arguments loads what is there and computes only what is missing
(also after the first process was killed with SIGKILL), with results identical to an
uninterrupted run; a directory holding another run is refused, naming what differs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from helpers import assert_mc_identical

import overflow as of
import overflow.montecarlo.run as mc_run
from overflow.montecarlo import samplers as S
from overflow.montecarlo.fingerprint import run_fingerprint

TARGET = np.array([[1.0, 0.5], [0.0, -1.0]])
KW = dict(
    t_span=(0.0, 8.0),
    sampler=S.gaussian(0.5),
    seed=2,
    gtol=1e-3,
    t_eval=[0.0, 1.0, 4.0],
    chunk=30,
    keep_final=True,
    progress=False,
)
N = 100  # 4 chunks: 30, 30, 30, 10


@pytest.fixture(scope="module")
def net():
    return of.Network(of.costs.matrix_factorization(TARGET), depth=3, width=3)


def assert_identical(a, b):
    assert_mc_identical(a, b)
    if a.t_eval is None:
        assert b.t_eval is None
    else:
        np.testing.assert_array_equal(a.t_eval, b.t_eval)


def chunk_files(path):
    return sorted(f for f in os.listdir(path) if f.startswith("chunk_") and f.endswith(".npz"))


@pytest.fixture(scope="module")
def reference(net):
    """The run in memory."""
    return of.monte_carlo(net, N, **KW)


@pytest.fixture
def no_compute(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("run_chunk called: a chunk was recomputed instead of loaded")

    monkeypatch.setattr(mc_run, "run_chunk", refuse)


# -- streaming and loading -----------------------------------------------------------------------


def test_out_writes_params_and_chunks(net, reference, tmp_path):
    out = tmp_path / "run"
    res = of.monte_carlo(net, N, out=out, **KW)
    assert_identical(res, reference)
    assert chunk_files(out) == [f"chunk_{i:06d}.npz" for i in range(4)]
    assert not [f for f in os.listdir(out) if f.endswith(".tmp")]
    meta = json.loads((out / "params.json").read_text())
    assert meta["format"] == 2
    assert meta["global_minimum"] == 0.0
    assert meta["fingerprint"] == run_fingerprint(meta["run"])
    run = meta["run"]
    assert run["n"] == N and run["chunk"] == 30 and run["seed"] == 2
    assert run["sampler"] == {"kind": "gaussian", "scale": 0.5}
    assert run["t_eval"] == [0.0, 1.0, 4.0]
    assert {k: v for k, v in res.params.items() if k != "chunks_done"} == run
    with np.load(out / "chunk_000003.npz") as z:
        assert len(z["t_final"]) == 10
        header = json.loads(str(z["__chunk__"]))
        assert header["run"] == meta["fingerprint"] and (header["start"], header["stop"]) == (90, 100)
        np.testing.assert_array_equal(z["final_loss"], reference.final_loss[90:])


def test_second_call_loads_everything(net, reference, tmp_path, request):
    out = tmp_path / "run"
    of.monte_carlo(net, N, out=out, **KW)
    stamps = {f: os.stat(out / f).st_mtime_ns for f in chunk_files(out)}
    request.getfixturevalue("no_compute")  # from here on, computing a chunk fails the test
    again = of.monte_carlo(net, N, out=out, **KW)
    assert_identical(again, reference)
    # workers and progress are not part of the run: changing them still resumes
    again = of.monte_carlo(net, N, out=str(out), **{**KW, "progress": True}, workers=1)
    assert_identical(again, reference)
    assert {f: os.stat(out / f).st_mtime_ns for f in chunk_files(out)} == stamps


def test_load(net, reference, tmp_path):
    out = tmp_path / "run"
    res = of.monte_carlo(net, N, out=out, **KW)
    back = of.montecarlo.load(out)
    assert_identical(back, reference)
    assert back.params == res.params
    assert back.summary().fractions == res.summary().fractions
    back = of.montecarlo.load(str(out))
    assert_identical(back, reference)


def test_load_without_optional_fields(net, tmp_path):
    res = of.monte_carlo(net, 20, (0.0, 1.0), out=tmp_path, progress=False)
    back = of.montecarlo.load(tmp_path)
    assert_identical(back, res)
    assert back.final is None and back.loss_at is None and back.t_eval is None


def test_only_missing_chunks_are_computed(net, reference, tmp_path, computed_chunks):
    out = tmp_path / "run"
    of.monte_carlo(net, N, out=out, **KW)
    assert sorted(computed_chunks) == [0, 1, 2, 3]
    os.remove(out / "chunk_000001.npz")
    os.remove(out / "chunk_000003.npz")
    computed_chunks.clear()
    res = of.monte_carlo(net, N, out=out, **KW)
    assert sorted(computed_chunks) == [1, 3]
    assert_identical(res, reference)
    assert chunk_files(out) == [f"chunk_{i:06d}.npz" for i in range(4)]


def test_leftover_temporary_files_are_harmless(net, reference, tmp_path):
    out = tmp_path / "run"
    of.monte_carlo(net, N, out=out, **KW)
    os.remove(out / "chunk_000002.npz")
    (out / ".chunk_abc123.tmp").write_bytes(b"half a chunk")  # what a killed writer leaves behind
    res = of.monte_carlo(net, N, out=out, **KW)
    assert_identical(res, reference)
    assert_identical(of.montecarlo.load(out), reference)


def test_incomplete_directory_cannot_be_loaded(net, tmp_path):
    out = tmp_path / "run"
    of.monte_carlo(net, N, out=out, **KW)
    os.remove(out / "chunk_000002.npz")
    with pytest.raises(ValueError, match="3 of 4 chunks"):
        of.montecarlo.load(out)


def test_load_needs_a_run(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"params.json"):
        of.montecarlo.load(tmp_path)
    (tmp_path / "params.json").write_text("{not json")
    with pytest.raises(ValueError, match="JSON"):
        of.montecarlo.load(tmp_path)
    (tmp_path / "params.json").write_text(json.dumps({"format": 99, "run": {}}))
    with pytest.raises(ValueError, match="format"):
        of.montecarlo.load(tmp_path)


def test_out_must_be_a_directory(net, tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ValueError, match="not a directory"):
        of.monte_carlo(net, 5, (0.0, 1.0), out=f, progress=False)


# -- mismatched resume ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change,name",
    [
        (dict(n=N + 1), "n"),
        (dict(seed=3), "seed"),
        (dict(rtol=1e-7), "rtol"),
        (dict(atol=1e-8), "atol"),
        (dict(gtol=1e-4), "gtol"),
        (dict(t_span=(0.0, 9.0)), "t_span"),
        (dict(t_eval=[0.0, 2.0, 4.0]), "t_eval"),
        (dict(method="tsit5"), "method"),
        (dict(chunk=25), "chunk"),
        (dict(max_steps=1000), "max_steps"),
        (dict(keep_final=False), "keep_final"),
        (dict(sampler=S.gaussian(0.4)), "sampler.scale"),
        (dict(sampler=S.uniform(0.5)), "sampler.kind"),
    ],
)
def test_mismatched_resume(net, tmp_path, change, name):
    out = tmp_path / "run"
    of.monte_carlo(net, N, out=out, **KW)
    args = {**KW, "n": N, **change}
    n = args.pop("n")
    with pytest.raises(of.montecarlo.ResumeMismatch, match=rf"(^|[(; ]){name}: ") as info:
        of.monte_carlo(net, n, out=out, **args)
    assert isinstance(info.value, ValueError)
    assert "other parameters" in str(info.value)
    # the directory is left as it was
    assert chunk_files(out) == [f"chunk_{i:06d}.npz" for i in range(4)]


def test_mismatched_cost_target(net, tmp_path):
    out = tmp_path / "run"
    of.monte_carlo(net, N, out=out, **KW)
    other = of.Network(of.costs.matrix_factorization(TARGET + 0.1), depth=3, width=3)
    with pytest.raises(of.montecarlo.ResumeMismatch, match=r"cost\.sha256"):
        of.monte_carlo(other, N, out=out, **KW)
    wider = of.Network(of.costs.matrix_factorization(TARGET), depth=3, width=4)
    with pytest.raises(of.montecarlo.ResumeMismatch, match=r"network\.dims"):
        of.monte_carlo(wider, N, out=out, **KW)
    ridge = of.Network(of.costs.ridge(np.eye(2), TARGET, 0.1), depth=3, width=3)
    with pytest.raises(of.montecarlo.ResumeMismatch, match=r"cost\.repr"):
        of.monte_carlo(ridge, N, out=out, **KW)


def test_mismatched_from_array_states(net, tmp_path):
    states = np.random.default_rng(0).standard_normal((20, net.state_size))
    of.monte_carlo(net, 20, (0.0, 1.0), sampler=S.from_array(states), out=tmp_path, progress=False)
    states[5, 5] += 1.0
    with pytest.raises(of.montecarlo.ResumeMismatch, match=r"sampler\.sha256"):
        of.monte_carlo(net, 20, (0.0, 1.0), sampler=S.from_array(states), out=tmp_path, progress=False)


def test_mismatched_scalar_cost(tmp_path):
    one = of.costs.scalar(lambda z: 0.5 * (1.0 - z) ** 2, lambda z: z - 1.0, lambda z: 1.0)
    two = of.costs.scalar(lambda z: 0.5 * (2.0 - z) ** 2, lambda z: z - 2.0, lambda z: 1.0)
    a = of.Network(one, depth=2, width=2)
    b = of.Network(two, depth=2, width=2)
    of.monte_carlo(a, 10, (0.0, 5.0), out=tmp_path, progress=False)
    with pytest.raises(of.montecarlo.ResumeMismatch):
        res = of.monte_carlo(b, 10, (0.0, 5.0), out=tmp_path, progress=False)
        fresh = of.monte_carlo(b, 10, (0.0, 5.0), progress=False)
        assert np.array_equal(res.final_loss, fresh.final_loss), "resumed with the other cost's results"


# -- killed and resumed --------------------------------------------------------------------------

# Shared by the child process and the test, so both make exactly the same call.
_SETUP = """
import numpy as np
import overflow as of
net = of.Network(of.costs.matrix_factorization(np.diag([2.0, 1.0, 0.5])), depth=3, width=3)
KILL_N = 20000
KILL_KW = dict(t_span=(0.0, 10.0), rtol=1e-7, atol=1e-10, gtol=1e-4, chunk=500, seed=11, progress=False)
"""
_CHILD = (
    _SETUP
    + """
import sys
of.monte_carlo(net, KILL_N, out=sys.argv[1], workers=1, **KILL_KW)
print("finished", flush=True)
"""
)


def test_killed_run_resumes_to_the_same_result(tmp_path, computed_chunks):
    out = tmp_path / "run"
    log = open(tmp_path / "child.log", "w+")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(out)], stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path, env=env
    )
    n_chunks = 20000 // 500
    try:
        deadline = time.monotonic() + 300.0
        while True:
            done = chunk_files(out) if out.is_dir() else []
            if done:
                proc.send_signal(signal.SIGKILL)
                break
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"the child exited (code {proc.returncode}) before writing a chunk:\n{log.read()}")
            assert time.monotonic() < deadline, "no chunk file after 300 s"
            time.sleep(0.002)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=60)
        log.close()
    assert proc.returncode == -signal.SIGKILL
    done = chunk_files(out)
    print(f"killed after {len(done)} of {n_chunks} chunks")
    assert 1 <= len(done) < n_chunks, f"{len(done)} chunks: the kill did not land mid-run"
    assert (out / "params.json").exists()

    ns: dict = {}
    exec(_SETUP, ns)
    net, n, kw = ns["net"], ns["KILL_N"], ns["KILL_KW"]
    res = of.monte_carlo(net, n, out=out, workers=2, **kw)
    # only the missing chunks were computed
    assert sorted(computed_chunks) == sorted(set(range(n_chunks)) - {int(f[6:12]) for f in done})
    assert chunk_files(out) == [f"chunk_{i:06d}.npz" for i in range(n_chunks)]
    fresh = of.monte_carlo(net, n, workers=2, **kw)
    assert_identical(res, fresh)
    assert_identical(of.montecarlo.load(out), fresh)
    assert len(res) == n and res.params["chunks_done"] == n_chunks


def make_older_store(path):
    """Rewrite a store as overflow wrote it before chunk headers, naccept_stiff and stalled existed:
    params.json of format 1 without a fingerprint, chunks holding only the first fields."""
    from overflow.montecarlo.chunkfile import read_chunk
    from overflow.montecarlo.chunks import LATER_FIELDS

    meta = json.loads((path / "params.json").read_text())
    meta["format"] = 1
    del meta["fingerprint"]
    (path / "params.json").write_text(json.dumps(meta))
    for name in chunk_files(path):
        arrays, header = read_chunk(path / name)
        assert header is not None
        np.savez(path / name, **{k: v for k, v in arrays.items() if k not in LATER_FIELDS})


def test_chunks_of_an_older_store_without_the_later_fields(tmp_path):
    """A store written before chunk headers, naccept_stiff and stalled existed loads (with a warning
    that only the chunks' sizes could be checked), and a resumed run completes it and converts it:
    afterwards every chunk carries the run's fingerprint and checksum, the later columns zeros."""
    from overflow.montecarlo.chunkfile import read_chunk
    from overflow.montecarlo.store import StoreWarning, chunk_file

    net = of.Network(of.costs.matrix_factorization(np.eye(2)), depth=2, width=3)
    kw = dict(t_span=(0.0, 5.0), chunk=10, progress=False, method="dopri5")
    full = of.monte_carlo(net, 30, out=tmp_path, **kw)
    make_older_store(tmp_path)
    with pytest.warns(StoreWarning, match=r"older overflow \(store format 1\).*only their sizes were checked"):
        loaded = of.montecarlo.load(tmp_path)
    chunk_file(tmp_path, 2).unlink()  # and resume the last chunk
    with pytest.warns(StoreWarning, match=r"older overflow \(store format 1.*2 chunks were checked for size only"):
        again = of.monte_carlo(net, 30, out=tmp_path, **kw)
    assert json.loads((tmp_path / "params.json").read_text())["format"] == 2
    assert all(read_chunk(tmp_path / f)[1] is not None for f in chunk_files(tmp_path))
    reloaded = of.montecarlo.load(tmp_path)  # converted: no warning (filterwarnings=error would say)
    for res in (loaded, again, reloaded):
        np.testing.assert_array_equal(res.final_loss, full.final_loss)
        assert res.naccept_stiff.dtype == np.int64 and not np.any(res.naccept_stiff[:20])
        assert res.stalled.dtype == bool
    np.testing.assert_array_equal(again.naccept_stiff[20:], full.naccept_stiff[20:])


def test_chunks_written_before_the_kink_counts_load_and_resume(tmp_path):
    """A store of the current format whose chunks (headers, checksums) predate nkink and nslide
    loads without a warning, those two columns zeros, and a resumed run adds chunks that hold them."""
    from overflow.montecarlo.chunkfile import read_chunk, write_chunk
    from overflow.montecarlo.store import chunk_file

    ts = of.datasets.teacher_student(n_in=2, m=1, width=2, samples=12, activation="relu", seed=0)
    net = of.Network(of.costs.squared_loss(ts.Y), depth=2, width=3, activation="relu", inputs=ts.X)
    kw = dict(t_span=(0.0, 1.0), chunk=4, progress=False, method="dopri5")
    full = of.monte_carlo(net, 8, out=tmp_path, **kw)
    assert full.nkink.sum() > 0
    for index in range(2):
        path = chunk_file(tmp_path, index)
        arrays, header = read_chunk(path)
        older = {k: v for k, v in arrays.items() if k not in ("nkink", "nslide")}
        with open(path, "wb") as fh:
            write_chunk(fh, older, header["run"], index, header["start"], header["stop"])
    chunk_file(tmp_path, 1).unlink()  # resumed: chunk 1 is computed again, with the counts
    again = of.monte_carlo(net, 8, out=tmp_path, **kw)
    loaded = of.montecarlo.load(tmp_path)
    for res in (again, loaded):
        np.testing.assert_array_equal(res.final_loss, full.final_loss)
        assert res.nkink.dtype == np.int64 and not np.any(res.nkink[:4]) and not np.any(res.nslide[:4])
        np.testing.assert_array_equal(res.nkink[4:], full.nkink[4:])
        np.testing.assert_array_equal(res.nslide[4:], full.nslide[4:])
