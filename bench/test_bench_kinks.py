"""pytest-benchmark: the kink problem of bench/kinks.py (a width-8, depth-3 student on 40 teacher-student
samples, t in [0, 5], rtol 1e-6), overflow's dop853 against scipy's DOP853 for leaky relu, relu and
tanh. Timings are recorded, never asserted; the asserts check the final state against scipy's at the
same tolerance (whose error on these kinks is up to ~1e-4) and that overflow needs far fewer evaluations
than scipy where the flow has kinks.

    pytest bench/test_bench_kinks.py --benchmark-disable   # run each once, as a correctness check
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kinks


@pytest.mark.parametrize("activation", kinks.ACTIVATIONS)
def test_kinks_overflow(benchmark, activation):
    net, data, layers = kinks.problem(activation)
    out = benchmark.pedantic(lambda: kinks.run_overflow(net, layers), rounds=3, iterations=1, warmup_rounds=1)
    scipy = kinks.run_scipy(net, data, layers, activation)
    err = float(np.max(np.abs(out["y"] - scipy["y"])) / np.max(np.abs(scipy["y"])))
    benchmark.extra_info.update(nfev=out["nfev"], nkink=out["nkink"], nslide=out["nslide"], scipy_difference=err)
    assert err < 1e-3
    if activation != "tanh":
        assert out["nkink"] > 0
        assert out["nfev"] * 5 < scipy["nfev"]
    else:
        assert out["nkink"] == 0
