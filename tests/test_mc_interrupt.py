"""Ctrl-C during monte_carlo: the run stops within a chunk, raises MonteCarloInterrupted carrying the
finished chunks, keeps every finished chunk on disk, and a second call finishes the same run."""

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
from helpers import wait_for_first_chunk

import overflow as of
from overflow.montecarlo.store import read_params, scan

_SCRIPT = textwrap.dedent("""
    import sys, numpy as np, overflow as of
    net = of.Network(of.costs.matrix_factorization(np.diag([3.0, 2.0, 1.0, 0.5])), depth=3, width=16)
    try:
        of.monte_carlo(net, 200_000, (0, 50), rtol=1e-8, atol=1e-10, chunk=200, workers=2, progress=False,
                       out=sys.argv[1])
    except of.MonteCarloInterrupted as exc:
        print("INTERRUPTED", len(exc.result), exc.result.params["chunks_done"], flush=True)
        sys.exit(0)
    print("FINISHED", flush=True)
""")


def _net():
    return of.Network(of.costs.matrix_factorization(np.diag([3.0, 2.0, 1.0, 0.5])), depth=3, width=16)


def test_sigint_stops_the_run_and_keeps_finished_chunks(tmp_path):
    out = tmp_path / "run"
    # cwd away from the checkout: there `import overflow` would find the sources, not the install
    proc = subprocess.Popen(
        [sys.executable, "-c", _SCRIPT, str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        wait_for_first_chunk(proc, out, poll=0.05)
        proc.send_signal(signal.SIGINT)
        # The whole run would take ~100 s; an interrupt honoured mid-chunk returns in well under that.
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    # the last line: an editable install may print its rebuild log first
    word, n_done, chunks_done = stdout.strip().splitlines()[-1].split()
    assert word == "INTERRUPTED"
    on_disk = sorted(out.glob("chunk_*.npz"))
    # Every finished chunk was saved (and only whole chunks: no temporary file is left behind).
    assert int(chunks_done) == len(on_disk) and int(n_done) == 200 * len(on_disk)
    assert not [p for p in os.listdir(out) if p.endswith(".tmp")]
    # Every chunk verifies (fingerprint, range, checksum), and the interrupted run released its lock.
    found = scan(out, read_params(out)["fingerprint"], 200_000, 200, legacy_ok=False)
    assert not found.bad and len(found.good) == len(on_disk)
    assert not (out / ".lock").exists()
    # The chunks on disk are exactly those of an uninterrupted run.
    k = len(on_disk)
    full = of.monte_carlo(_net(), 200 * k, (0, 50), rtol=1e-8, atol=1e-10, chunk=200, progress=False)
    saved = [np.load(p) for p in on_disk]
    np.testing.assert_array_equal(np.concatenate([z["final_loss"] for z in saved]), full.final_loss)
    np.testing.assert_array_equal(np.concatenate([z["nfev"] for z in saved]), full.nfev)
