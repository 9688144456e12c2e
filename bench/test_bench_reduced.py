"""pytest-benchmark: method="reduced" against the full flow in the vector case at width 10^4 (the
issue's 100x target), f(z) = log cosh(z - 1), DOP853 at rtol 1e-10 for both. Two starts: the
package's default initialisation (large imbalance c, a stiff full flow) and ||w_1|| ~ 1 (c ~ 1).
Timings are recorded, never asserted; the asserts check that both reach the same weights."""

from __future__ import annotations

import numpy as np
import pytest

import overflow as of

WIDTH = 10_000


def _problem(start):
    f = of.costs.scalar(
        lambda z: np.log(np.cosh(z - 1.0)), lambda z: np.tanh(z - 1.0), lambda z: 1.0 / np.cosh(z - 1.0) ** 2
    )
    net = of.Network(f, depth=2, width=WIDTH)
    Ws = net.init(seed=0) if start == "default" else net.init(seed=0, scale=1.0 / np.sqrt(WIDTH))
    return net, Ws


@pytest.mark.parametrize("start", ["default", "unit"])
@pytest.mark.parametrize("method", ["dop853", "reduced"])
def test_vector_case_width_1e4(benchmark, method, start):
    net, Ws = _problem(start)

    def go():
        return of.integrate(net, Ws, (0, 10), method=method, rtol=1e-10, atol=1e-12, t_eval=[10.0])

    res = go()
    benchmark.group = f"vector case, width 1e4, {start} start"
    out = benchmark.pedantic(go, rounds=3 if method == "dop853" else 20, iterations=1)
    benchmark.extra_info.update(nfev=out.nfev, imbalance=float(of.imbalance(Ws)))
    assert out.status == "t_end"
    other = of.integrate(
        net, Ws, (0, 10), method="reduced" if method == "dop853" else "dop853", rtol=1e-10, atol=1e-12, t_eval=[10.0]
    )
    np.testing.assert_allclose(res.final_weights[0], other.final_weights[0], atol=1e-7)
