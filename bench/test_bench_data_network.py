"""pytest-benchmark: small versions of bench/data_network.py's rows (a network on data), so that the
bench's own right-hand sides and peers are checked: the numpy RHS against overflow's core, scipy and
the JAX peers (diffrax, jax.grad; skipped where no Python with jax is found: OVERFLOW_BENCH_JAX_PYTHON or
this one) against overflow's trajectory. Timings are recorded, never asserted.

    pytest bench/test_bench_data_network.py
    OVERFLOW_BENCH_JAX_PYTHON=/path/to/python pytest bench/test_bench_data_network.py -k jax
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data_network as dn

SMALL = dict(n_in=6, m=2, width=16, depth=3, samples=40, activation="tanh")
T1, RTOL, ATOL = 5.0, 1e-8, 1e-10


def _problem():
    try:
        return dn.data_problem(**SMALL)
    except dn.Unavailable as exc:
        pytest.skip(str(exc))


def _args():
    return argparse.Namespace(quick=True, no_peers=False, jax_python=None, clock="wall")


def _jax_or_skip(args):
    python = dn.jax_python(args)
    probe = subprocess.run([python, "-c", "import jax, diffrax"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"no jax/diffrax under {python} (set OVERFLOW_BENCH_JAX_PYTHON)")


def test_numpy_rhs_is_overflows(benchmark):
    from overflow import _core

    p = _problem()
    y = p["net"].flatten(p["Ws"])
    f = dn.numpy_rhs(p)
    dy = benchmark(f, 0.0, y)
    value, ours = _core.flow_rhs(p["net"].dims, p["net"].cost.vg_address, p["net"].cost.data, y, "tanh", inputs=p["X"])
    assert np.max(np.abs(dy - ours)) <= 1e-13 * np.max(np.abs(ours))
    assert value == pytest.approx(dn.loss_of(p, y), rel=1e-13)


@pytest.mark.parametrize("package,method", [("overflow", "dopri5"), ("overflow", "dop853"), ("scipy", "DOP853")])
def test_flow(benchmark, package, method):
    p = _problem()
    ref = dn._overflow_flow(p, "dop853", 1e-12, 1e-14, T1)()
    make = dn._overflow_flow if package == "overflow" else dn._scipy_flow
    out = benchmark.pedantic(make(p, method, RTOL, ATOL, T1), rounds=3, iterations=1, warmup_rounds=1)
    benchmark.extra_info.update(nfev=out["nfev"])
    assert np.max(np.abs(out["y_final"] - ref["y_final"])) < 1e-6
    assert out["loss_final"] < dn.loss_of(p, p["net"].flatten(p["Ws"]))


def test_jax_peers_agree():
    args = _args()
    _jax_or_skip(args)
    p = _problem()
    rhs = dn.run_jax(args, p, "rhs", repeats=2, inner=2)
    assert "skipped" not in rhs, rhs.get("skipped")
    assert rhs["seconds"] > 0
    flow = dn.run_jax(args, p, "integrate", method="Dopri5", rtol=RTOL, atol=ATOL, t1=T1, repeats=1)
    assert "skipped" not in flow, flow.get("skipped")
    ref = dn._overflow_flow(p, "dop853", 1e-12, 1e-14, T1)()
    assert np.max(np.abs(np.asarray(flow["y_final"]) - ref["y_final"])) < 1e-6
    assert flow["nfev"] > flow["steps"] > 0
