"""``integrate(..., threads=k)``: one trajectory split across a thread team. The right-hand side's
products are split by rows/columns (each entry computed by the same loop), the stepper's vector
passes by index ranges (only the error norm's partial sums are added in another order), so the
result is the one-thread result to rounding."""

from __future__ import annotations

import numpy as np
import pytest

import overflow as of


def _assert_same_run(a, b, rtol):
    # The error estimate is a small difference of O(1) stage values, so the last-bit changes of its
    # sums move the step sizes by ~1e-10 relative: the same steps, and states at the same times
    # that agree far inside the tolerance (here 1/100 of rtol; ~1e-12 was measured).
    assert a.status == b.status == "t_end"
    assert (a.nfev, a.naccept, a.nreject) == (b.nfev, b.naccept, b.nreject)
    np.testing.assert_array_equal(a.t, b.t)  # t_eval
    for Wa, Wb in zip(a.weights, b.weights):
        scale = np.max(np.abs(Wa))
        assert np.max(np.abs(Wa - Wb)) <= 1e-2 * rtol * scale


@pytest.mark.parametrize("method", ["dopri5", "dop853", "tsit5", "bs3"])
def test_wide_network_split_matches_one_thread(method):
    # 8 x 128 x 128 x 8: 18,432 weights, above the stepper's split threshold; products of
    # 128 x 128 x 8 multiply-adds, above the RHS's.
    f = of.costs.matrix_factorization(np.diag(np.linspace(2.0, 0.6, 8)))
    net = of.Network(f, depth=3, width=128)
    Ws = net.init(seed=4, scale=0.3)
    kw = dict(t_span=(0, 4), method=method, rtol=1e-8, atol=1e-10, t_eval=np.linspace(0, 4, 5))
    _assert_same_run(of.integrate(net, Ws, **kw), of.integrate(net, Ws, threads=2, **kw), 1e-8)


@pytest.mark.parametrize(
    "case", ["run-time n", "vector case", "m < n", "depth 1", "activation", "rodas4", "three threads"]
)
def test_other_shapes_and_methods(case):
    rng = np.random.default_rng(11)
    method, threads, t_end, activation = "dopri5", 2, 2.0, None
    if case == "run-time n":  # n = 5: the products' run-time-size kernels
        net = of.Network(of.costs.matrix_factorization(rng.standard_normal((5, 5))), depth=3, widths=[150, 130])
    elif case == "vector case":  # m = n = 1, width 20,000: dot products, split too
        net = of.Network(
            of.costs.scalar(lambda z: (1.0 - z) ** 2, lambda z: 2.0 * (z - 1.0), lambda z: 2.0), depth=2, width=20000
        )
        t_end = 0.5
    elif case == "m < n":  # the sweep along m (suffixes first), split the same way
        net = of.Network(of.costs.matrix_factorization(rng.standard_normal((3, 9))), depth=3, widths=[200, 200])
    elif case == "depth 1":
        net = of.Network(of.costs.matrix_factorization(rng.standard_normal((8, 8))), depth=1)
    elif case == "activation":
        net = of.Network(
            of.costs.matrix_factorization(rng.standard_normal((4, 4))), depth=3, widths=[64, 64], activation="tanh"
        )
        activation = "tanh"
    elif case == "rodas4":  # the implicit stepper is not split; its right-hand sides are
        net = of.Network(of.costs.matrix_factorization(rng.standard_normal((4, 4))), depth=2, widths=[150])
        method, t_end = "rodas4", 1.0
    else:  # more threads than this machine's cores: slower, still right
        net = of.Network(of.costs.matrix_factorization(rng.standard_normal((8, 8))), depth=3, widths=[128, 128])
        threads, t_end = 3, 0.5
    assert net.activation == activation
    Ws = net.init(seed=2, scale=0.5)
    kw = dict(t_span=(0, t_end), method=method, rtol=1e-7, atol=1e-9, t_eval=np.linspace(0, t_end, 4))
    _assert_same_run(of.integrate(net, Ws, **kw), of.integrate(net, Ws, threads=threads, **kw), 1e-7)


@pytest.mark.parametrize(
    "bad, error", [(0, ValueError), (-2, ValueError), (1.5, TypeError), (True, TypeError), ("2", TypeError)]
)
def test_bad_threads(bad, error):
    net = of.Network(of.costs.matrix_factorization(np.eye(2)), depth=2, width=3)
    with pytest.raises(error, match="threads"):
        of.integrate(net, net.init(seed=0), (0, 1), threads=bad)


def test_cli_threads(capsys):
    from overflow.cli import main

    assert (
        main(
            [
                "run",
                "--depth",
                "3",
                "--width",
                "128",
                "--target-diag",
                "2,1.5,1,0.5,0.4,0.3,0.2,0.1",
                "--t-end",
                "1",
                "--threads",
                "2",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "t_end" in out
