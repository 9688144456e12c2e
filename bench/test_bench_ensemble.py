"""pytest-benchmark: Monte Carlo throughput on problem (a), overflow against its peers (see
ensemble.py for the side-by-side table). Timings are recorded, never asserted; the asserts only
check that every package ends at the same final states as overflow.

    pytest bench/test_bench_ensemble.py
    pytest bench/test_bench_ensemble.py --benchmark-disable   # each once, as a correctness check
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ensemble_peers as ep
import peers
import problems as pb

N = 1000  # starts for overflow and numbalsoda
SUBSET = 40  # starts for the slow peers (diffrax, scipy)
_CACHE = {}


def _setup():
    if not _CACHE:
        import overflow as of

        p = pb.problem("a")
        y0s = of.samplers.gaussian(0.3).states(p["net"], 0, 0, N)
        _CACHE.update(p=p, y0s=y0s, ref=ep.prepare_overflow(p, y0s, 2)())
    return _CACHE["p"], _CACHE["y0s"], _CACHE["ref"]


@pytest.mark.parametrize(
    "name,workers,count",
    [
        ("overflow", 1, N),
        ("overflow", 2, N),
        ("numbalsoda", 1, N),
        ("numbalsoda", 2, N),
        ("diffrax", 1, SUBSET),
        ("scipy", 2, SUBSET),
    ],
)
def test_ensemble_throughput(benchmark, name, workers, count):
    p, y0s, ref = _setup()
    try:
        go = ep.PREPARE[name](p, y0s[:count], workers)
    except peers.PeerUnavailable as exc:
        pytest.skip(str(exc))
    try:
        y = benchmark.pedantic(go, rounds=3 if count == N else 1, iterations=1)
    finally:
        if getattr(go, "pool", None) is not None:
            go.pool.close()
    benchmark.extra_info.update(trajectories=count, workers=workers)
    # dop853 / Dopri5 at rtol 1e-8 against overflow's dopri5: ~1e-8 apart.
    assert np.max(np.abs(y - ref[:count])) < 1e-6
