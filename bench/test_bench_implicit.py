"""pytest-benchmark: the implicit methods and projection (issue 7) on the stiff vector case and
problem (b); bench/implicit.py prints the full table. Timings are recorded, never asserted; the
asserts check accuracy against dop853 at rtol 1e-12 and the invariants' drift."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import implicit
import problems as pb

_CACHE = {}


def _problem(name):
    if name not in _CACHE:
        import overflow as of

        p = implicit.stiff_problem() if name == "stiff" else pb.problem(name)
        ref = of.integrate(p["net"], p["Ws"], p["t_span"], method="dop853", rtol=1e-12, atol=1e-14)
        _CACHE[name] = (p, p["net"].flatten(ref.final_weights))
    return _CACHE[name]


@pytest.mark.parametrize("name", ["stiff", "b"])
@pytest.mark.parametrize(
    "method,project", [("dopri5", False), ("dopri5", True), ("gauss4", False), ("gauss6", False), ("rodas4", False)]
)
def test_method(benchmark, name, method, project):
    p, ref = _problem(name)
    _, res = benchmark.pedantic(lambda: implicit.run(p, method, project, 1), rounds=3, iterations=1)
    err = float(np.max(np.abs(p["net"].flatten(res.final_weights) - ref)))
    d = implicit.drift(p["Ws"], res.final_weights)
    benchmark.extra_info.update(steps=res.naccept, nfev=res.nfev, njvp=res.njvp, error=err, drift=d)
    assert err < 1e-5
    if project or method.startswith("gauss"):
        assert d < 1e-13
