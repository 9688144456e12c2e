"""pytest-benchmark: one LQR ``value_and_grad`` through the compiled Numba kernel (Kronecker
Lyapunov solves inside the cfunc, called through the core like the integrator does) against the
same quantities from Python with two ``scipy.linalg.solve_continuous_lyapunov`` calls
(Bartels-Stewart). Timings are recorded, never asserted; the asserts only check agreement.

    pytest bench/test_bench_costs.py
    pytest bench/test_bench_costs.py --benchmark-disable   # correctness check only
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sl

from overflow.costs.lqr import lqr, lqr_optimal

SIZES = (4, 8)
M = 2


def _system(n, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n)) / np.sqrt(n)
    B = rng.standard_normal((n, M))
    Q = np.eye(n)
    R = np.eye(M)
    S = np.eye(n)
    K = lqr_optimal(A, B, Q, R) + 0.01 * rng.standard_normal((M, n))
    return (A, B, Q, R, S), K


def _scipy_value_and_grad(K, A, B, Q, R, S):
    F = A - B @ K
    P = sl.solve_continuous_lyapunov(F.T, -(Q + K.T @ R @ K))
    Y = sl.solve_continuous_lyapunov(F, -S)
    return float(np.trace(P @ S)), 2.0 * (R @ K - B.T @ P) @ Y


@pytest.mark.parametrize("n", SIZES)
def test_lqr_value_and_grad_overflow(benchmark, n):
    sys, K = _system(n)
    f = lqr(*sys)
    f.value_and_grad(K)  # compile / load from cache outside the timing
    val, grad = benchmark(f.value_and_grad, K)
    ref_val, ref_grad = _scipy_value_and_grad(K, *sys)
    assert val == pytest.approx(ref_val, rel=1e-9)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-6, atol=1e-9 * abs(ref_val))


@pytest.mark.parametrize("n", SIZES)
def test_lqr_value_and_grad_scipy(benchmark, n):
    sys, K = _system(n)
    val, _ = benchmark(_scipy_value_and_grad, K, *sys)
    assert np.isfinite(val)


def _data_costs():
    """Each data-fitting cost at a typical size: 16 features, 4 outputs (or classes), 256 samples."""
    import overflow as of

    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((16, 256)), rng.standard_normal((4, 256))
    y = np.where(rng.standard_normal(256) > 0, 1.0, -1.0)
    return {
        "matrix_factorization 8x8": of.costs.matrix_factorization(rng.standard_normal((8, 8))),
        "linear_regression 4x16, s=256": of.costs.linear_regression(X, Y),
        "ridge 4x16, s=256": of.costs.ridge(X, Y, 0.1),
        "log_cosh 4x16, s=256": of.costs.log_cosh(X, Y),
        "logistic 1x16, s=256": of.costs.logistic(X, y),
        "softmax_cross_entropy 4x16, s=256": of.costs.softmax_cross_entropy(X, rng.integers(0, 4, 256)),
        "matrix_sensing 8x8, 64 measurements": of.costs.matrix_sensing(
            rng.standard_normal((64, 8, 8)), rng.standard_normal(64)
        ),
    }


@pytest.mark.parametrize("name", list(_data_costs()))
def test_data_cost_value_and_grad(benchmark, name):
    """One value_and_grad of the compiled kernel through the core's ABI path (what the integrator
    calls), without the Python-side argument checks of Cost.value_and_grad."""
    from overflow import _core

    c = _data_costs()[name]
    P = np.ascontiguousarray(np.random.default_rng(1).standard_normal(c.shape) * 0.1)
    benchmark.group = "cost value_and_grad"
    val, grad = benchmark(_core.cost_value_and_grad, c.vg_address, c.data, P)
    assert np.isfinite(val) and grad.shape == c.shape
