"""A Monte Carlo store (``monte_carlo(out=DIR)``) cannot mix or lose runs: every chunk carries the
run's fingerprint, its range and a checksum, so a truncated, bit-flipped, swapped or foreign chunk
is named by `load` (which raises) and computed again by a resumed run (which warns); one writer
at a time holds the directory's lock; without params.json the chunks' own fingerprints decide.
Ends with the kill-and-resume soak test: SIGKILLed at random moments, resumed each time, the
result is bitwise that of an uninterrupted run."""

from __future__ import annotations

import math
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest
from helpers import assert_mc_identical

import overflow as of
from overflow.montecarlo import lock as mc_lock
from overflow.montecarlo.chunkfile import ChunkError, read_chunk
from overflow.montecarlo.lock import DirectoryLock, StoreLocked
from overflow.montecarlo.store import ResumeMismatch, StoreWarning, read_params, scan

TARGET = np.array([[1.0, 0.5], [0.0, -1.0]])
KW = dict(t_span=(0.0, 4.0), seed=3, chunk=10, keep_final=True, progress=False, method="dopri5")
N = 40  # 4 chunks of 10
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


@pytest.fixture(scope="module")
def net():
    return of.Network(of.costs.matrix_factorization(TARGET), depth=2, width=3)


@pytest.fixture(scope="module")
def reference(net):
    return of.monte_carlo(net, N, **KW)


@pytest.fixture
def store(net, tmp_path):
    out = tmp_path / "run"
    of.monte_carlo(net, N, out=out, **KW)
    return out


def chunk_files(path):
    return sorted(f for f in os.listdir(path) if f.startswith("chunk_") and f.endswith(".npz"))


# -- damage: each kind named by load, recomputed by resume -----------------------------------------


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip_a_bit(path):
    """One bit of final_loss's stored bytes (zip's CRC no longer matches)."""
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("final_loss.npy")
    data = bytearray(path.read_bytes())
    name_len, extra_len = (
        int.from_bytes(data[info.header_offset + 26 : info.header_offset + 28], "little"),
        int.from_bytes(data[info.header_offset + 28 : info.header_offset + 30], "little"),
    )
    data[info.header_offset + 30 + name_len + extra_len + info.compress_size - 1] ^= 0x10
    path.write_bytes(bytes(data))


def _tamper(path):
    """A valid zip whose content no longer matches its checksum (a change zip's CRC cannot see)."""
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["final_loss"] = arrays["final_loss"].copy()
    arrays["final_loss"][3] += 1e-9
    np.savez(path, **arrays)


def _swap(path):
    """Replaced by a copy of another chunk of the same run."""
    shutil.copyfile(path.parent / "chunk_000001.npz", path)


def _headerless(path):
    """Plain arrays without a header in a store of the current format."""
    arrays, _ = read_chunk(path)
    np.savez(path, **arrays)


def _not_a_zip(path):
    path.write_bytes(b"\0" * 100)


def _foreign(path):
    """The same chunk of a run with another seed (what two writers at once used to leave behind)."""
    other = path.parent.parent / "other"
    of.monte_carlo(
        of.Network(of.costs.matrix_factorization(TARGET), depth=2, width=3), N, out=other, **{**KW, "seed": 4}
    )
    shutil.copyfile(other / path.name, path)


DAMAGE = [
    (_truncate, "unreadable", r"cannot be read"),
    (_flip_a_bit, "unreadable", r"cannot be read .*CRC"),
    (_tamper, "damaged", r"is damaged: its content does not match its sha256 checksum"),
    (_swap, "misplaced", r"holds chunk 1 \(trajectories 10 to 19\), not chunk 2 \(20 to 29\)"),
    (_headerless, "unverifiable", r"carries no fingerprint or checksum"),
    (_not_a_zip, "unreadable", r"cannot be read"),
    (_foreign, "foreign", r"belongs to another run"),
]


@pytest.mark.parametrize("damage,kind,reason", DAMAGE, ids=[d[0].__name__.strip("_") for d in DAMAGE])
def test_load_names_the_bad_chunk(store, damage, kind, reason):
    damage(store / "chunk_000002.npz")
    with pytest.raises(
        ChunkError, match=rf"chunk file '[^']*chunk_000002\.npz' {reason}.*out= to compute it again"
    ) as info:
        of.montecarlo.load(store)
    assert info.value.kind == kind and info.value.path == store / "chunk_000002.npz"
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("damage,kind,reason", DAMAGE, ids=[d[0].__name__.strip("_") for d in DAMAGE])
def test_resume_recomputes_the_bad_chunk(net, reference, store, computed_chunks, damage, kind, reason):
    damage(store / "chunk_000002.npz")
    computed_chunks.clear()  # _foreign computes another run
    with pytest.warns(StoreWarning, match=rf"recomputing chunk 2: chunk file '[^']*chunk_000002\.npz' {reason}"):
        res = of.monte_carlo(net, N, out=store, **KW)
    assert computed_chunks == [2]
    assert_mc_identical(res, reference)
    assert_mc_identical(of.montecarlo.load(store), reference)


def test_load_names_every_bad_chunk(store):
    _truncate(store / "chunk_000001.npz")
    _swap(store / "chunk_000003.npz")
    with pytest.raises(ChunkError, match=r"chunk_000001\.npz' cannot be read.*\(and 1 more: chunk_000003\.npz\)"):
        of.montecarlo.load(store)


def test_chunk_of_an_index_the_run_does_not_have(net, store):
    shutil.copyfile(store / "chunk_000000.npz", store / "chunk_000007.npz")
    with pytest.raises(ChunkError, match=r"chunk_000007\.npz' is not a chunk of this run.*move it out"):
        of.montecarlo.load(store)
    with pytest.raises(ResumeMismatch, match=r"chunk_000007\.npz' is not a chunk of this run.*move it out"):
        of.monte_carlo(net, N, out=store, **KW)


# -- params.json missing: the chunks' fingerprints decide ------------------------------------------


def test_params_deleted_then_resumed_with_another_seed(net, reference, store, computed_chunks):
    (store / "params.json").unlink()
    stamps = {f: os.stat(store / f).st_mtime_ns for f in chunk_files(store)}
    with pytest.raises(
        ResumeMismatch,
        match=r"has no params.json, and chunk file '[^']*chunk_000000\.npz' belongs "
        r"to another run",
    ):
        of.monte_carlo(net, N, out=store, **{**KW, "seed": 4})
    assert computed_chunks == []
    assert not (store / "params.json").exists()  # never written with the other run's parameters
    assert {f: os.stat(store / f).st_mtime_ns for f in chunk_files(store)} == stamps
    with pytest.raises(FileNotFoundError, match=r"no params.json.*writes it again from the chunks"):
        of.montecarlo.load(store)
    # the same arguments: every chunk is this run's, so params.json is written again and nothing computed
    res = of.monte_carlo(net, N, out=store, **KW)
    assert computed_chunks == []
    assert_mc_identical(res, reference)
    assert read_params(store)["run"]["seed"] == KW["seed"]
    assert_mc_identical(of.montecarlo.load(store), reference)


def test_params_deleted_in_an_older_store(net, store):
    from test_mc_resume import make_older_store

    make_older_store(store)
    (store / "params.json").unlink()
    with pytest.raises(
        ResumeMismatch,
        match=r"no params.json, and chunk file '[^']*chunk_000000\.npz' carries no "
        "fingerprint",
    ):
        of.monte_carlo(net, N, out=store, **KW)
    assert not (store / "params.json").exists()


def test_params_json_is_not_rewritten_with_other_parameters(net, store):
    before = (store / "params.json").read_bytes()
    with pytest.raises(ResumeMismatch, match=r"seed: 4 here, 3 on disk"):
        of.monte_carlo(net, N, out=store, **{**KW, "seed": 4})
    assert (store / "params.json").read_bytes() == before


# -- one writer at a time --------------------------------------------------------------------------


def test_second_writer_is_refused_naming_the_pid(net, reference, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    with DirectoryLock(out):
        with pytest.raises(
            StoreLocked,
            match=rf"out = '[^']*run' is in use by another monte_carlo \(pid "
            rf"{os.getpid()},",
        ) as info:
            of.monte_carlo(net, N, out=out, **KW)
        assert info.value.pid == os.getpid()
        assert not (out / "params.json").exists() and not chunk_files(out)
    assert_mc_identical(of.monte_carlo(net, N, out=out, **KW), reference)  # released: taken at once


_HOLD = textwrap.dedent("""
    import importlib.util, sys, time
    spec = importlib.util.spec_from_file_location("lock", sys.argv[1])
    lock = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lock)
    held = lock.DirectoryLock(sys.argv[2])
    print("held", flush=True)
    time.sleep(120)
""")


def test_lock_of_a_killed_process_is_taken_over(net, reference, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    # lock.py needs only the standard library: loaded alone, the holder starts in milliseconds
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD, mc_lock.__file__, str(out)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=ENV,
    )
    try:
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(StoreLocked, match=rf"pid {proc.pid},"):
            of.monte_carlo(net, N, out=out, **KW)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        proc.stdout.close()
    assert (out / ".lock").read_text().strip() == str(proc.pid)  # the dead holder's pid is still written there
    assert_mc_identical(of.monte_carlo(net, N, out=out, **KW), reference)
    assert not (out / ".lock").exists()  # a finished run removes its lock file


def test_lock_file_deleted_by_its_holder_is_not_shared(tmp_path):
    """One process locked the file, another opened it meanwhile; the first releases (deleting it):
    the lock the second then gets on the deleted file is worthless, so it locks a new one."""
    first = DirectoryLock(tmp_path)
    stale = os.open(tmp_path / ".lock", os.O_RDWR)
    first.release()
    import fcntl

    fcntl.flock(stale, fcntl.LOCK_EX | fcntl.LOCK_NB)  # what a slow second locker would hold now
    try:
        with DirectoryLock(tmp_path) as third:  # a third one must still get the real lock ...
            assert third.held
            with pytest.raises(StoreLocked, match=rf"pid {os.getpid()}"):  # ... and it is exclusive
                DirectoryLock(tmp_path)
    finally:
        os.close(stale)


# Both processes make the same call but for the seed. Whichever takes the lock first waits inside
# its first chunk until the test creates the file "go", so the other meets the lock for certain.
_RACER = textwrap.dedent("""
    import os, sys, time
    import numpy as np, overflow as of
    import overflow.montecarlo.run as mc_run
    from overflow.montecarlo.lock import StoreLocked
    real = mc_run.run_chunk
    def gated(spec, index, workers=1):
        deadline = time.monotonic() + 120
        while not os.path.exists(sys.argv[3]) and time.monotonic() < deadline:
            time.sleep(0.01)
        return real(spec, index, workers)
    mc_run.run_chunk = gated
    net = of.Network(of.costs.matrix_factorization(np.array([[1.0, 0.5], [0.0, -1.0]])), depth=2, width=3)
    try:
        of.monte_carlo(net, 40, (0.0, 4.0), seed=int(sys.argv[2]), chunk=10, keep_final=True, progress=False,
                       method="dopri5", out=sys.argv[1], workers=1)
    except StoreLocked as exc:
        print("LOCKED", exc, flush=True)
        sys.exit(3)
    print("DONE", flush=True)
""")


def test_two_processes_at_once_on_the_same_out(net, tmp_path):
    out, go = tmp_path / "run", tmp_path / "go"
    procs = {
        seed: subprocess.Popen(
            [sys.executable, "-c", _RACER, str(out), str(seed), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=tmp_path,
            env=ENV,
        )
        for seed in (7, 8)
    }
    try:
        deadline = time.monotonic() + 120
        while all(p.poll() is None for p in procs.values()):
            assert time.monotonic() < deadline, "neither process ended within 120 s"
            time.sleep(0.02)
        go.touch()
        outputs = {seed: p.communicate(timeout=120)[0] for seed, p in procs.items()}
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait(timeout=30)
    codes = {seed: p.returncode for seed, p in procs.items()}
    assert sorted(codes.values()) == [0, 3], outputs
    winner = next(seed for seed, code in codes.items() if code == 0)
    loser = 15 - winner
    assert f"is in use by another monte_carlo (pid {procs[winner].pid}," in outputs[loser]
    # the directory holds the winner's run only
    assert read_params(out)["run"]["seed"] == winner
    assert_mc_identical(of.montecarlo.load(out), of.monte_carlo(net, N, **{**KW, "seed": winner}))


# -- the Dask backend writes through the same store ------------------------------------------------


def test_dask_resume_recomputes_a_bad_chunk(net, reference, store):
    distributed = pytest.importorskip("dask.distributed")
    _swap(store / "chunk_000003.npz")
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None)
    with cluster, distributed.Client(cluster) as client:
        with pytest.warns(StoreWarning, match=r"recomputing chunk 3: chunk file '[^']*chunk_000003\.npz' holds chunk"):
            res = of.monte_carlo(net, N, out=store, backend="dask", client=client, **KW)
    assert_mc_identical(res, reference)
    found = scan(store, read_params(store)["fingerprint"], N, 10, legacy_ok=False)
    assert not found.bad and sorted(found.good) == [0, 1, 2, 3]


def test_without_fcntl_there_is_no_lock_but_the_store_works(net, reference, tmp_path, monkeypatch):
    monkeypatch.setattr(mc_lock, "fcntl", None)
    out = tmp_path / "run"
    out.mkdir()
    with DirectoryLock(out) as lock:
        assert not lock.held
        assert_mc_identical(of.monte_carlo(net, N, out=out, **KW), reference)
    assert not (out / ".lock").exists()


# -- arguments -------------------------------------------------------------------------------------


def test_empty_out_is_refused_and_writes_nothing(net, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"out must be a non-empty path"):
        of.monte_carlo(net, 5, (0.0, 1.0), out="", progress=False)
    assert os.listdir(tmp_path) == []


# -- kill and resume, again and again --------------------------------------------------------------

_SOAK_SETUP = """
import numpy as np
import overflow as of
net = of.Network(of.costs.matrix_factorization(np.diag([2.0, 1.0, 0.5])), depth=3, width=3)
SOAK_N = 24000  # 80 chunks of about 30 ms: the run takes several kills to finish
SOAK_KW = dict(t_span=(0.0, 10.0), rtol=1e-7, atol=1e-10, gtol=1e-4, chunk=300, seed=11, progress=False)
"""
_SOAK_CHILD = (
    _SOAK_SETUP
    + """
import sys, warnings
warnings.simplefilter("ignore")
of.monte_carlo(net, SOAK_N, out=sys.argv[1], workers=1, **SOAK_KW)
print("finished", flush=True)
"""
)
SOAK_KILLS = 5


def test_killed_again_and_again_then_resumed_is_bitwise_the_same(tmp_path, computed_chunks):
    """SIGKILL at random moments (while importing, taking the lock, computing, writing a chunk),
    a fresh process resuming each time. Whatever each kill leaves behind verifies (whole chunks of
    this run only), and the finished store equals an uninterrupted run bit for bit."""
    seed = int(os.environ.get("OVERFLOW_SOAK_SEED", "15"))
    rng = random.Random(seed)
    out = tmp_path / "run"
    n_chunks = 24000 // 300
    for kill in range(SOAK_KILLS):
        before = set(chunk_files(out)) if out.is_dir() else set()
        proc = subprocess.Popen(
            [sys.executable, "-c", _SOAK_CHILD, str(out)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
            env=ENV,
        )
        try:
            started = time.monotonic()
            # The first kill comes anywhere from the interpreter's start on; every kill comes at
            # most 0.1 s after this process saved a chunk of its own, so no machine is fast enough
            # to finish the run's 80 chunks between the kills.
            deadline = started + (rng.uniform(0.0, 2.0) if kill == 0 else math.inf)
            after_chunk = rng.uniform(0.0, 0.1)
            saved_at = None
            while time.monotonic() < deadline and (saved_at is None or time.monotonic() < saved_at + after_chunk):
                assert proc.poll() is None, f"the child exited (code {proc.returncode}): {proc.stderr.read()}"
                assert time.monotonic() - started < 120, "no chunk within 120 s"
                if saved_at is None and out.is_dir() and set(chunk_files(out)) - before:
                    saved_at = time.monotonic()
                time.sleep(0.005)
            assert proc.poll() is None, f"the run finished before it could be killed (seed {seed})"
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=60)
            proc.stderr.close()
        assert proc.returncode == -signal.SIGKILL
        left = os.listdir(out) if out.is_dir() else []
        print(
            f"kill {kill} (seed {seed}) after {time.monotonic() - started:.2f} s: "
            f"{len(chunk_files(out)) if left else 0} chunks, temporaries {[f for f in left if f.endswith('.tmp')]}"
        )
        if out.is_dir() and chunk_files(out):  # what the kill left: only whole chunks of this run
            found = scan(out, read_params(out)["fingerprint"], 24000, 300, legacy_ok=False)
            assert not found.bad, [str(e) for _, e in found.bad]
    saved = {int(f[6:12]) for f in chunk_files(out)}
    assert len(saved) < n_chunks

    ns: dict = {}
    exec(_SOAK_SETUP, ns)
    net, n, kw = ns["net"], ns["SOAK_N"], ns["SOAK_KW"]
    with pytest.warns(of.ConvergenceWarning):
        res = of.monte_carlo(net, n, out=out, workers=2, **kw)
    assert sorted(computed_chunks) == sorted(set(range(n_chunks)) - saved)  # only what was missing
    assert not [f for f in os.listdir(out) if f.endswith(".tmp")]  # the killed writers' leftovers removed
    with pytest.warns(of.ConvergenceWarning):
        fresh = of.monte_carlo(net, n, workers=2, **kw)
    assert_mc_identical(res, fresh)
    assert_mc_identical(of.montecarlo.load(out), fresh)
