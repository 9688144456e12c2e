"""pytest-benchmark: the stiff problems of bench/stiff.py (Robertson, Van der Pol mu = 1000) and the
DETEST set of bench/detest.py, overflow's solve_ivp and scipy's with the same methods and
tolerances. Timings are recorded, never asserted; the asserts check the final error against the
references (the same bounds as tests/test_solve_ivp_stiff.py) and, on DETEST, that each side stays
within what its tolerance implies.

    pytest bench/test_bench_stiff.py                       # time everything
    pytest bench/test_bench_stiff.py --benchmark-disable   # run each once, as a correctness check
    pytest bench/test_bench_stiff.py -k "robertson and overflow"
"""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import detest
import stiff

# final error / (atol + rtol |ref|): Robertson's global error stays within a few tolerances (scipy:
# 0.03x-6x); Van der Pol's phase error adds up over its jumps (scipy: 0.3x-110x)
ERROR_FACTOR = {"robertson": 20.0, "vdp": 200.0}
ROWS = [("overflow", m) for m in stiff.OVERFLOW_METHODS] + [("scipy", m) for m in stiff.SCIPY_METHODS]


def _prepare_stiff(package, method, p):
    if package == "overflow":
        try:
            return stiff.prepare_overflow(p, method, with_jac=False)
        except stiff.Unavailable as exc:
            pytest.skip(str(exc))
    return stiff.prepare_scipy(p, method, with_jac=False)


@pytest.mark.parametrize("package,method", ROWS)
@pytest.mark.parametrize("name", list(stiff.PROBLEMS))
def test_stiff(benchmark, name, package, method):
    p = stiff.PROBLEMS[name]
    go = _prepare_stiff(package, method, p)
    out = benchmark.pedantic(go, rounds=5, iterations=1, warmup_rounds=1)
    err = abs(out["y"] - p["ref"]) / (p["atol"] + p["rtol"] * abs(p["ref"]))
    benchmark.extra_info.update(steps=out["steps"], nfev=out["nfev"], njev=out["njev"], err_tol=float(err.max()))
    assert err.max() <= ERROR_FACTOR[name]
    assert 10 <= out["steps"] <= 10000


_REFS = {}


@pytest.mark.parametrize("package", ["overflow", "scipy"])
@pytest.mark.parametrize("method", detest.METHODS)
def test_detest(benchmark, method, package):
    if not _REFS:
        _REFS.update(detest.references())
    rtol = atol = 1e-6
    row = detest.run_set(package, method, _REFS, rtol, atol, repeats=1)  # warm-up: compiles overflow's rhs
    if "skipped" in row:
        pytest.skip(row["skipped"])
    row = benchmark.pedantic(lambda: detest.run_set(package, method, _REFS, rtol, atol, 1), rounds=3, iterations=1)
    benchmark.extra_info.update(
        total_s=row["total_s"], nfev=row["nfev"], err_abs=row["err_abs"], err_tol=row["err_tol"]
    )
    # DETEST's orbits (D1-D5) amplify the local error most: both packages' pairs end up to ~900
    # tolerances off at t = 20 (RK45, rtol = atol = 1e-6); a broken run is off by O(1)
    assert row["err_tol"] < 5000
