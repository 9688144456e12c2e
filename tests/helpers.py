"""Shared helpers of the solver tests: independent numpy right-hand sides of the flow (eq. 4),
scipy reference solutions, small problem builders and a log-log slope fit.

Nothing here calls the C++ core: these are the oracles the core is checked against.
"""

from __future__ import annotations

import ctypes

import numpy as np
from scipy.integrate import solve_ivp

import overflow as of

METHOD_NAMES = sorted(of.METHODS)


# --------------------------------------------------------------------------------------------
# numpy gradients of the built-in costs (written from the formulas, not from the package)


def mf_grad(target):
    """grad of 1/2 ||P - T||_F^2."""
    target = np.asarray(target, dtype=float)
    return lambda P: P - target


def lr_grad(X, Y):
    """grad of 1/2 ||P X - Y||_F^2 / s."""
    X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)
    s = X.shape[1]
    return lambda P: (P @ X - Y) @ X.T / s


def scalar_grad(df):
    """grad of a 1x1 cost f(P) = fn(P[0, 0]) with derivative df."""
    return lambda P: np.array([[df(P[0, 0])]])


# --------------------------------------------------------------------------------------------
# the flow, independently in numpy


def unflatten(dims, y):
    """Layers W_1..W_N (W_i of shape (dims[i], dims[i-1])) from a flat row-major state."""
    out, pos = [], 0
    for i in range(len(dims) - 1):
        r, c = dims[i + 1], dims[i]
        out.append(y[pos : pos + r * c].reshape(r, c))
        pos += r * c
    return out


def flow_rhs(dims, grad_f):
    """dy/dt of eq. 4, dW_i/dt = -(W_N...W_{i+1})^T grad f(P) (W_{i-1}...W_1)^T, for scipy."""
    depth = len(dims) - 1

    def rhs(t, y):
        Ws = unflatten(dims, y)
        pre = [np.eye(dims[0])]  # pre[i] = W_i ... W_1 (pre[0] = I)
        for W in Ws:
            pre.append(W @ pre[-1])
        suf = [np.eye(dims[-1])]  # suf[j] = W_N ... W_{N-j+1} (suf[0] = I)
        for W in reversed(Ws):
            suf.append(suf[-1] @ W)
        G = grad_f(pre[-1])
        parts = [-(suf[depth - 1 - i].T @ G @ pre[i].T).ravel() for i in range(depth)]
        return np.concatenate(parts)

    return rhs


def flat(Ws):
    return np.concatenate([np.asarray(W, dtype=float).ravel() for W in Ws])


def reference(dims, grad_f, Ws, t_eval, rtol=1e-13, atol=1e-15):
    """Reference states (len(t_eval), state_size) by scipy's DOP853 on the numpy RHS."""
    t_eval = np.asarray(t_eval, dtype=float)
    sol = solve_ivp(
        flow_rhs(dims, grad_f), (0.0, float(t_eval[-1])), flat(Ws), method="DOP853", t_eval=t_eval, rtol=rtol, atol=atol
    )
    assert sol.success, sol.message
    return sol.y.T


def states(res):
    """The saved states of an overflow Result as an array (T, state_size)."""
    return np.concatenate([W.reshape(W.shape[0], -1) for W in res.weights], axis=1)


def final_state(res):
    return flat(res.final_weights)


# --------------------------------------------------------------------------------------------
# problems


def factorization_problem(m=2, n=2, widths=(3,), seed=0, scale=0.6, target_scale=1.0):
    """(net, Ws, grad_f) of a small matrix factorization with a Gaussian start."""
    rng = np.random.default_rng(1000 + seed)
    target = target_scale * rng.standard_normal((m, n))
    net = of.Network(of.costs.matrix_factorization(target), depth=len(widths) + 1, widths=list(widths))
    return net, net.init(seed=seed, scale=scale), mf_grad(target)


def regression_problem(m=2, n=3, widths=(3,), samples=5, seed=0, scale=0.6):
    rng = np.random.default_rng(2000 + seed)
    X = rng.standard_normal((n, samples))
    Y = rng.standard_normal((m, samples))
    net = of.Network(of.costs.linear_regression(X, Y), depth=len(widths) + 1, widths=list(widths))
    return net, net.init(seed=seed, scale=scale), lr_grad(X, Y)


def logistic(a, z0, t):
    """Closed form of the balanced scalar factorization (f = (z - a)^2 / 2, w_1 = w_2^T):
    dz/dt = -2 z (z - a), so z(t) = a / (1 + (a / z0 - 1) exp(-2 a t))."""
    return a / (1.0 + (a / z0 - 1.0) * np.exp(-2.0 * a * np.asarray(t, dtype=float)))


def balanced_scalar_problem(a=1.0, v0=(0.2,)):
    """(net, Ws, exact) for f = (z - a)^2 / 2 with w_1 = w_2^T = v0 (width len(v0)); exact(t)
    returns the states (len(t), 2k): the flow keeps w_1 = w_2^T and the direction of v0, and
    |w_1|^2 = z(t) follows `logistic`."""
    v0 = np.asarray(v0, dtype=float)
    z0 = float(v0 @ v0)
    net = of.Network(of.costs.matrix_factorization(np.array([[a]])), depth=2, width=v0.size)
    Ws = [v0[:, None].copy(), v0[None, :].copy()]

    def exact(t):
        scale = np.sqrt(logistic(a, z0, t) / z0)
        return np.concatenate([scale[:, None] * v0, scale[:, None] * v0], axis=1)

    return net, Ws, exact


def rel_err(a, b):
    """max |a - b| / max(1, max |b|)."""
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


def slope(hs, errs):
    """Least-squares slope of log(err) against log(h)."""
    return float(np.polyfit(np.log(hs), np.log(errs), 1)[0])


# --------------------------------------------------------------------------------------------
# Monte Carlo results


def mc_arrays(res):
    """The per-trajectory arrays of an MCResult, by name (optional ones where present)."""
    from overflow.montecarlo.chunks import FIELDS

    out = {k: getattr(res, k) for k in FIELDS}
    for k in ("final", "loss_at", "states_at"):
        if getattr(res, k) is not None:
            out[k] = getattr(res, k)
    return out


def assert_mc_identical(a, b):
    """Two MCResults hold bit-identical arrays (NaN equal to NaN) and the same global minimum."""
    A, B = mc_arrays(a), mc_arrays(b)
    assert A.keys() == B.keys()
    for k in A:
        assert A[k].dtype == B[k].dtype, k
        assert A[k].shape == B[k].shape, k
        assert np.array_equal(A[k], B[k], equal_nan=True), k
    assert a.global_minimum == b.global_minimum


def wait_for_first_chunk(proc, out, timeout=120.0, poll=0.02):
    """Wait until the Monte Carlo child ``proc`` has saved a chunk in ``out`` (it must not exit first)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not (out.exists() and any(out.glob("chunk_*.npz"))):
        assert proc.poll() is None, proc.communicate()
        time.sleep(poll)
    assert any(out.glob("chunk_*.npz")), f"no chunk was written within {timeout:g} s"


def assert_kernels_answer_nan_on(cost, m, n):
    """Called through the raw C ABI with a shape ``(m, n)`` other than ``cost``'s data describes, the
    cost's value_and_grad answers NaN and both kernels fill their output with NaN."""
    dp = ctypes.POINTER(ctypes.c_double)
    P = np.ones(m * n)
    out = np.zeros(m * n)
    vg = ctypes.CFUNCTYPE(ctypes.c_double, dp, ctypes.c_int64, ctypes.c_int64, dp, dp)(cost.vg_address)
    hvp = ctypes.CFUNCTYPE(None, dp, dp, ctypes.c_int64, ctypes.c_int64, dp, dp)(cost.hvp_address)
    ptr = lambda a: a.ctypes.data_as(dp)  # noqa: E731
    assert np.isnan(vg(ptr(P), m, n, ptr(out), ptr(cost.data)))
    assert np.all(np.isnan(out))
    out[:] = 0.0
    hvp(ptr(P), ptr(P), m, n, ptr(out), ptr(cost.data))
    assert np.all(np.isnan(out))
