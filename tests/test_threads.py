"""The core releases the GIL and is reentrant: concurrent integrations give the sequential results,
bit for bit, and repeated runs are deterministic."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np

import overflow as of


def _problem():
    f = of.costs.matrix_factorization(np.random.default_rng(3).standard_normal((3, 4)))
    return of.Network(f, depth=3, widths=[5, 6])


def test_concurrent_runs_match_sequential():
    net = _problem()
    starts = [net.init(seed=s) for s in range(8)]

    def run(Ws):
        return of.integrate(net, Ws, (0, 20), method="dop853", rtol=1e-9, atol=1e-12, t_eval=np.linspace(0, 20, 5))

    sequential = [run(Ws) for Ws in starts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(run, starts))
    for a, b in zip(sequential, concurrent):
        assert a.nfev == b.nfev and a.naccept == b.naccept
        for Wa, Wb in zip(a.weights, b.weights):
            np.testing.assert_array_equal(Wa, Wb)


def test_repeated_runs_are_identical():
    net = _problem()
    Ws = net.init(seed=1)
    a = of.integrate(net, Ws, (0, 5), method="tsit5")
    b = of.integrate(net, Ws, (0, 5), method="tsit5")
    np.testing.assert_array_equal(a.t, b.t)
    np.testing.assert_array_equal(a.loss, b.loss)
