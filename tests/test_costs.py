"""Tests of the Numba cost kernels (overflow.costs): gradients and Hessian-vector products against
finite differences, known minima, input validation, the cost ABI guards, laziness and caching."""

from __future__ import annotations

import ctypes
import math
import pickle
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import overflow.costs as oc

#: the directory of the overflow package under test (installed or source tree)
OVERFLOW_DIR = Path(oc.__file__).resolve().parents[1]

DP = ctypes.POINTER(ctypes.c_double)


# --------------------------------------------------------------------------------------------
# kernels used by the tests (module level so that they pickle by reference)


def logcosh_kernel(P, grad):
    """f(P) = sum log cosh(P - 1) + (sum P)^2 / 2 (non-separable, non-polynomial)."""
    m, n = P.shape
    val = 0.0
    tot = 0.0
    for i in range(m):
        for j in range(n):
            val += np.log(np.cosh(P[i, j] - 1.0))
            tot += P[i, j]
    for i in range(m):
        for j in range(n):
            grad[i, j] = np.tanh(P[i, j] - 1.0) + tot
    return val + 0.5 * tot * tot


def logcosh_hvp(P, V, out):
    tot = np.sum(V)
    for i in range(P.shape[0]):
        for j in range(P.shape[1]):
            out[i, j] = V[i, j] / np.cosh(P[i, j] - 1.0) ** 2 + tot


def logcosh_hvp_ref(P, V):
    return V / np.cosh(P - 1.0) ** 2 + V.sum()


@numba.njit
def orthogonality_kernel(P, grad):
    """f(P) = 1/2 ||P P^T - I||_F^2 as a numba.njit dispatcher, using matrix products."""
    E = P @ P.T - np.eye(P.shape[0])
    grad[:] = 2.0 * (E @ P)
    return 0.5 * np.sum(E * E)


def log_barrier_kernel(P, grad):
    """-sum log(P): defined on P > 0 only, NaN outside."""
    val = 0.0
    for i in range(P.shape[0]):
        for j in range(P.shape[1]):
            if P[i, j] <= 0.0:
                return np.nan
            val -= np.log(P[i, j])
            grad[i, j] = -1.0 / P[i, j]
    return val


def lc_f(z):
    return np.log(np.cosh(z - 1.0))


def lc_df(z):
    return np.tanh(z - 1.0)


def lc_d2f(z):
    return 1.0 / np.cosh(z - 1.0) ** 2


def lc_df_real(z):
    """f' through the math module, which Numba types for real arguments only: no complex step."""
    return math.tanh(z - 1.0)


def sq_f(z):
    return (1.0 - z) ** 2


def sq_df(z):
    return -2.0 * (1.0 - z)


# --------------------------------------------------------------------------------------------
# factories: every cost kind, on several shapes


def _rng(seed=0):
    return np.random.default_rng(seed)


def _lr_data(m, n, s, seed=1):
    rng = _rng(seed)
    return rng.standard_normal((n, s)), rng.standard_normal((m, s))


FACTORIES = {
    "mf_2x3": lambda: oc.matrix_factorization(_rng(1).standard_normal((2, 3))),
    "mf_5x2": lambda: oc.matrix_factorization(_rng(2).standard_normal((5, 2))),
    "mf_1x4": lambda: oc.matrix_factorization(_rng(3).standard_normal((1, 4))),
    "mf_1x1": lambda: oc.matrix_factorization([[0.7]]),
    "lr_3x4_s20": lambda: oc.linear_regression(*_lr_data(3, 4, 20)),
    "lr_2x5_s3": lambda: oc.linear_regression(*_lr_data(2, 5, 3)),
    "lr_1x2_s7_1dY": lambda: oc.linear_regression(_lr_data(1, 2, 7)[0], _lr_data(1, 2, 7)[1][0]),
    "scalar_logcosh": lambda: oc.scalar(lc_f, lc_df, lc_d2f, f_star=0.0),
    "scalar_logcosh_fd": lambda: oc.scalar(lc_f, lc_df_real),
    "scalar_square_njit": lambda: oc.scalar(numba.njit(sq_f), numba.njit(sq_df)),
    "user_logcosh_exact": lambda: oc.cost(shape=(3, 2), hvp=logcosh_hvp)(logcosh_kernel),
    "user_logcosh_fd": lambda: oc.cost(shape=(2, 3), hvp="central-difference")(logcosh_kernel),
    "user_orthogonality": lambda: oc.cost(shape=(3, 2))(orthogonality_kernel),
}

_CACHE: dict[str, object] = {}


def make(name):
    if name not in _CACHE:
        _CACHE[name] = FACTORIES[name]()
    return _CACHE[name]


def fd_gradient(c, P):
    """Central differences, step 1e-5 * max(1, |P_ij|): truncation O(h^2), rounding O(eps/h)."""
    G = np.empty_like(P)
    for idx in np.ndindex(*P.shape):
        h = 1e-5 * max(1.0, abs(P[idx]))
        Pp, Pm = P.copy(), P.copy()
        Pp[idx] += h
        Pm[idx] -= h
        G[idx] = (c.value(Pp) - c.value(Pm)) / (Pp[idx] - Pm[idx])
    return G


def fd_hvp(c, P, V):
    h = 1e-5 * max(1.0, np.linalg.norm(P)) / np.linalg.norm(V)
    return (c.gradient(P + h * V) - c.gradient(P - h * V)) / (2 * h)


def assert_close(a, b, rtol):
    scale = max(1.0, float(np.max(np.abs(b))))
    err = float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
    assert err <= rtol * scale, f"max error {err:.3e} > {rtol:.1e} * {scale:.3e}"


# --------------------------------------------------------------------------------------------
# derivatives


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_gradient_matches_finite_differences(name):
    c = make(name)
    rng = _rng(10)
    for _ in range(3):
        P = rng.standard_normal(c.shape)
        f, g = c.value_and_grad(P)
        assert np.isfinite(f) and g.shape == c.shape and g.dtype == np.float64
        assert f == c.value(P)
        np.testing.assert_array_equal(g, c.gradient(P))
        assert_close(g, fd_gradient(c, P), rtol=1e-6)


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_hvp_matches_finite_differences(name):
    c = make(name)
    rng = _rng(11)
    for _ in range(3):
        P = rng.standard_normal(c.shape)
        V = rng.standard_normal(c.shape)
        Hv = c.hvp(P, V)
        assert Hv.shape == c.shape
        assert_close(Hv, fd_hvp(c, P, V), rtol=1e-5)
        assert_close(c.hvp(P, 2.0 * V), 2.0 * Hv, rtol=1e-6)  # linear in V


def test_hvp_of_zero_direction_is_zero():
    for name in ("user_logcosh_fd", "scalar_logcosh_fd", "mf_2x3"):
        c = make(name)
        np.testing.assert_array_equal(c.hvp(np.ones(c.shape), np.zeros(c.shape)), 0.0)


@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (5, 2), (4, 4)])
def test_matrix_factorization_formulas(shape):
    rng = _rng(20)
    T = rng.standard_normal(shape)
    c = oc.matrix_factorization(T)
    P, V = rng.standard_normal(shape), rng.standard_normal(shape)
    f, g = c.value_and_grad(P)
    assert f == pytest.approx(0.5 * np.sum((P - T) ** 2), rel=1e-14)
    np.testing.assert_array_equal(g, P - T)
    np.testing.assert_array_equal(c.hvp(P, V), V)
    assert c.hvp_exact and c.f_star == 0.0 and c.value(T) == 0.0
    assert c.shape == shape and repr(c) == f"matrix_factorization(shape={shape})"


@given(
    m=st.integers(1, 5),
    n=st.integers(1, 5),
    s=st.integers(1, 8),
    seed=st.integers(0, 2**32 - 1),
)
@settings(max_examples=30, deadline=None)
def test_linear_regression_formulas(m, n, s, seed):
    rng = _rng(seed)
    X, Y = rng.standard_normal((n, s)), rng.standard_normal((m, s))
    c = oc.linear_regression(X, Y)
    P, V = rng.standard_normal((m, n)), rng.standard_normal((m, n))
    R = P @ X - Y
    f, g = c.value_and_grad(P)
    assert f == pytest.approx(0.5 * np.sum(R * R) / s, rel=1e-12, abs=1e-14)
    np.testing.assert_allclose(g, R @ X.T / s, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(c.hvp(P, V), V @ X @ X.T / s, rtol=1e-12, atol=1e-13)
    assert c.hvp_exact and c.shape == (m, n)


def test_user_exact_hvp_and_fd_hvp_agree_with_formula():
    exact = make("user_logcosh_exact")
    auto = oc.cost(shape=(3, 2))(logcosh_kernel)  # complex step through the gradient kernel
    fd = oc.cost(shape=(3, 2), hvp="central-difference")(logcosh_kernel)
    assert exact.hvp_exact and auto.hvp_exact and not fd.hvp_exact
    rng = _rng(30)
    P, V = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    ref = logcosh_hvp_ref(P, V)
    np.testing.assert_allclose(exact.hvp(P, V), ref, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(auto.hvp(P, V), ref, rtol=1e-13, atol=1e-13)
    assert_close(fd.hvp(P, V), ref, rtol=1e-7)


def test_scalar_costs():
    c = make("scalar_logcosh")
    assert c.shape == (1, 1) and c.hvp_exact and c.f_star == 0.0
    f, g = c.value_and_grad(0.3)  # a Python float is accepted for 1x1 costs
    assert f == pytest.approx(np.log(np.cosh(-0.7)), rel=1e-14)
    assert g.shape == (1, 1) and g[0, 0] == pytest.approx(np.tanh(-0.7), rel=1e-14)
    assert c.hvp(0.3, 2.0)[0, 0] == pytest.approx(2.0 / np.cosh(-0.7) ** 2, rel=1e-14)
    assert c.value(np.float64(1.0)) == 0.0 and c.value(1) == 0.0 and c.value(np.array(1.0)) == 0.0
    fd = make("scalar_logcosh_fd")
    assert not fd.hvp_exact and fd.f_star is None
    assert fd.hvp(0.3, 1.0)[0, 0] == pytest.approx(1.0 / np.cosh(-0.7) ** 2, rel=1e-9)
    sq = make("scalar_square_njit")
    assert sq.hvp(5.0, 1.0)[0, 0] == pytest.approx(2.0, rel=1e-9)
    assert "lc_f" in repr(c) and "shape=(1, 1)" in repr(c)


def test_matrix_factorization_1x1_accepts_float():
    c = make("mf_1x1")
    assert c.value(0.2) == pytest.approx(0.5 * 0.25)
    assert c.gradient(0.2)[0, 0] == pytest.approx(-0.5)


# --------------------------------------------------------------------------------------------
# known minima


def test_linear_regression_f_star_overdetermined():
    X, Y = _lr_data(3, 4, 20)
    c = oc.linear_regression(X, Y)
    Pstar = np.linalg.lstsq(X.T, Y.T, rcond=None)[0].T
    assert c.f_star > 0.0
    assert c.value(Pstar) == pytest.approx(c.f_star, rel=1e-12)
    np.testing.assert_allclose(c.gradient(Pstar), 0.0, atol=1e-12)
    rng = _rng(40)
    for _ in range(20):
        assert c.value(Pstar + 0.1 * rng.standard_normal(c.shape)) > c.f_star


def test_linear_regression_f_star_underdetermined_and_exact_fit():
    X, Y = _lr_data(2, 5, 3)  # s < n: P X = Y is solvable
    assert oc.linear_regression(X, Y).f_star == pytest.approx(0.0, abs=1e-25)
    rng = _rng(41)
    X = rng.standard_normal((4, 30))
    P0 = rng.standard_normal((3, 4))
    c = oc.linear_regression(X, P0 @ X)
    # the value comes from the residual, so it is tiny (not O(eps) cancellation) at the minimum
    assert c.value(P0) < 1e-25
    assert c.f_star < 1e-25
    d = 1e-6 * rng.standard_normal(P0.shape)
    assert c.value(P0 + d) == pytest.approx(0.5 * np.sum((d @ X) ** 2) / 30, rel=1e-6)


def test_linear_regression_1d_inputs_and_repr():
    rng = _rng(42)
    x, y = rng.standard_normal(9), rng.standard_normal(9)
    c = oc.linear_regression(x, y)
    assert c.shape == (1, 1)
    assert c.value(0.5) == pytest.approx(0.5 * np.mean((0.5 * x - y) ** 2), rel=1e-13)
    assert c.f_star == pytest.approx(0.5 * np.mean((x @ y / (x @ x) * x - y) ** 2), rel=1e-10)
    assert repr(c) == "linear_regression(samples=9, shape=(1, 1))"


def test_f_star_defaults_and_passing():
    assert make("user_logcosh_fd").f_star is None
    assert oc.cost(shape=(2, 3), f_star=-1.5)(logcosh_kernel).f_star == -1.5
    assert oc.scalar(sq_f, sq_df, f_star=0).f_star == 0.0


# --------------------------------------------------------------------------------------------
# the Cost object and the ABI


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_cost_attributes(name):
    c = make(name)
    m, n = c.shape
    assert isinstance(c, oc.Cost)
    assert isinstance(c.vg_address, int) and c.vg_address != 0
    assert isinstance(c.hvp_address, int) and c.hvp_address != 0
    assert c._vg_cfunc.address == c.vg_address and c._hvp_cfunc.address == c.hvp_address
    d = c.data
    assert d.dtype == np.float64 and d.ndim == 1 and d.size >= 1 and d.flags.c_contiguous
    assert isinstance(c.hvp_exact, bool)


def test_constructor_copies_its_inputs():
    T = np.ones((2, 2))
    c = oc.matrix_factorization(T)
    T[:] = 5.0
    assert c.value(np.ones((2, 2))) == 0.0


def test_abi_shape_mismatch_returns_nan_without_crashing():
    names = ("mf_2x3", "lr_3x4_s20", "user_logcosh_fd", "user_logcosh_exact", "scalar_logcosh", "scalar_logcosh_fd")
    for name in names:
        c = make(name)
        m, n = c.shape
        size = (n + 1) * m  # the caller's claimed size
        P = np.ones(size)
        g = np.zeros(size)
        out = np.zeros(size)
        dptr = c.data.ctypes.data_as(DP)
        f = c._vg_cfunc.ctypes(P.ctypes.data_as(DP), n + 1, m, g.ctypes.data_as(DP), dptr)
        assert np.isnan(f) and np.all(np.isnan(g))
        c._hvp_cfunc.ctypes(P.ctypes.data_as(DP), P.ctypes.data_as(DP), n + 1, m, out.ctypes.data_as(DP), dptr)
        assert np.all(np.isnan(out))


def test_kernels_are_reentrant():
    """Many threads call the same callbacks at once (ctypes releases the GIL)."""
    rng = _rng(50)
    for name in ("mf_5x2", "lr_3x4_s20", "user_logcosh_fd", "user_orthogonality"):
        c = make(name)
        m, n = c.shape
        Ps = [rng.standard_normal((m, n)) for _ in range(64)]
        expected = [c.value_and_grad(P) for P in Ps]
        expected_h = [c.hvp(P, P) for P in Ps]
        vg, hv = c._vg_cfunc.ctypes, c._hvp_cfunc.ctypes
        dptr = c.data.ctypes.data_as(DP)

        def work(i):
            P = Ps[i % len(Ps)]
            g = np.empty((m, n))
            out = np.empty((m, n))
            f = vg(P.ctypes.data_as(DP), m, n, g.ctypes.data_as(DP), dptr)
            hv(P.ctypes.data_as(DP), P.ctypes.data_as(DP), m, n, out.ctypes.data_as(DP), dptr)
            return i, f, g, out

        with ThreadPoolExecutor(8) as pool:
            for i, f, g, out in pool.map(work, range(512)):
                f0, g0 = expected[i % len(Ps)]
                assert f == f0
                np.testing.assert_array_equal(g, g0)
                np.testing.assert_array_equal(out, expected_h[i % len(Ps)])


@pytest.mark.parametrize("name", ["mf_2x3", "lr_3x4_s20", "scalar_logcosh", "user_logcosh_exact"])
def test_pickle_round_trip(name):
    c = make(name)
    c2 = pickle.loads(pickle.dumps(c))
    assert c2.shape == c.shape and c2.f_star == c.f_star and c2.hvp_exact == c.hvp_exact
    P = _rng(60).standard_normal(c.shape)
    assert c2.value(P) == c.value(P)
    np.testing.assert_array_equal(c2.hvp(P, P), c.hvp(P, P))


# --------------------------------------------------------------------------------------------
# domains: NaN / inf / exceptions in kernels


def test_kernel_returning_nan_does_not_crash():
    c = oc.cost(shape=(2, 2))(log_barrier_kernel)
    assert c.value(np.full((2, 2), 2.0)) == pytest.approx(-4 * np.log(2.0))
    P = np.array([[1.0, -1.0], [1.0, 1.0]])
    assert np.isnan(c.value(P))
    f, g = c.value_and_grad(P)
    assert np.isnan(f) and g.shape == (2, 2)
    assert np.all(np.isnan(c.hvp(P, np.ones((2, 2)))))  # FD through the domain boundary
    assert np.isnan(c.value(np.full((2, 2), np.nan)))


def test_kernel_raising_or_dividing_by_zero_means_outside_domain():
    def raising(P, grad):
        if P[0, 0] < 0.0:
            raise ValueError("outside")
        grad[:] = 1.0
        return P[0, 0]

    def dividing(P, grad):
        grad[:] = 0.0
        return 1.0 / P[0, 0]

    c = oc.cost(shape=(1, 2))(raising)
    assert c.value(np.array([[1.0, 0.0]])) == 1.0
    assert np.isnan(c.value(np.array([[-1.0, 0.0]])))
    d = oc.cost(shape=(1, 2))(dividing)
    assert np.isinf(d.value(np.zeros((1, 2))))
    s = oc.scalar(lambda z: np.log(z), lambda z: 1.0 / z)
    assert np.isnan(s.value(-1.0)) and np.isinf(s.gradient(0.0)[0, 0])


# --------------------------------------------------------------------------------------------
# bad inputs


@pytest.mark.parametrize(
    "target, exc, match",
    [
        ([[1.0, np.nan]], ValueError, "target must be finite"),
        ([[1.0, np.inf]], ValueError, "target must be finite"),
        ([1.0, 2.0], ValueError, r"target must have shape \(m, n\)"),
        (3.0, ValueError, "target"),
        (np.zeros((0, 3)), ValueError, "target must be non-empty"),
        (np.ones((2, 2), dtype=complex), TypeError, "target.*complex"),
        ("abc", TypeError, "target"),
        ([[object()]], TypeError, "target"),
    ],
)
def test_matrix_factorization_bad_target(target, exc, match):
    with pytest.raises(exc, match=match):
        oc.matrix_factorization(target)


@pytest.mark.parametrize(
    "X, Y, exc, match",
    [
        (np.ones((2, 5)), np.ones((3, 4)), ValueError, r"Y must have shape \(m, s\) = \(m, 5\)"),
        (np.full((2, 5), np.nan), np.ones((3, 5)), ValueError, "X must be finite"),
        (np.ones((2, 5)), np.full((3, 5), np.inf), ValueError, "Y must be finite"),
        (np.ones((2, 5, 1)), np.ones((3, 5)), ValueError, r"X must have shape \(n, s\)"),
        (np.ones((2, 5)), np.ones((3, 5, 1)), ValueError, r"Y must have shape \(m, s\)"),
        (np.ones((2, 5), dtype=complex), np.ones((3, 5)), TypeError, "X"),
        (np.ones((2, 5)), "y", TypeError, "Y"),
    ],
)
def test_linear_regression_bad_inputs(X, Y, exc, match):
    with pytest.raises(exc, match=match):
        oc.linear_regression(X, Y)


def test_evaluation_bad_points():
    c = make("mf_2x3")
    with pytest.raises(ValueError, match=r"P must have shape \(2, 3\), got shape \(3, 2\)"):
        c.value(np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"P must have shape \(2, 3\)"):
        c.gradient(np.ones(6))
    with pytest.raises(ValueError, match=r"P must have shape \(2, 3\)"):
        c.value(1.0)  # a float is only accepted for 1x1 costs
    with pytest.raises(TypeError, match="P must be a real"):
        c.value(np.ones((2, 3), dtype=complex))
    with pytest.raises(TypeError, match="P must be a real"):
        c.value("abc")
    with pytest.raises(ValueError, match=r"V must have shape \(2, 3\)"):
        c.hvp(np.ones((2, 3)), np.ones((2, 2)))
    with pytest.raises(TypeError, match="V must be a real"):
        c.hvp(np.ones((2, 3)), np.ones((2, 3), dtype=bool))
    # integer and non-contiguous inputs are converted
    assert c.value(np.ones((3, 2), dtype=np.int64).T) == c.value(np.ones((2, 3)))


@pytest.mark.parametrize("shape", [(0, 2), (2,), (2, 3, 1), (2.0, 3), (True, 2), "ab", None, 3, (-1, 2)])
def test_cost_bad_shape(shape):
    with pytest.raises(ValueError, match="shape must be a pair"):
        oc.cost(shape=shape)


def test_bad_f_star():
    with pytest.raises(ValueError, match="f_star must be finite"):
        oc.scalar(sq_f, sq_df, f_star=np.nan)
    with pytest.raises(TypeError, match="f_star must be a real number"):
        oc.cost(shape=(1, 1), f_star="0")(logcosh_kernel)


# --------------------------------------------------------------------------------------------
# user kernels with wrong signatures


def one_param(P):
    return 0.0


def three_params(P, grad, extra):
    return 0.0


def var_args(*args):
    return 0.0


def not_nopython(P, grad):
    return P.no_such_attribute


def returns_none(P, grad):
    grad[:] = P


def returns_array(P, grad):
    grad[:] = P
    return P


@pytest.mark.parametrize(
    "fn, match",
    [
        # value-only, but returns a float on complex input: no complex-step gradient possible
        (one_param, r"kernel 'one_param' returns float64 on complex input.*fn\(P, grad\) -> float"),
        (three_params, r"kernel 'three_params' must take 1 or 2 positional"),
        (var_args, r"kernel 'var_args' must take 1 or 2 positional"),
        (not_nopython, r"kernel 'not_nopython' cannot be compiled by Numba .*fn\(P, grad\) -> float"),
        (returns_none, r"kernel 'returns_none' must return a real number: .*fn\(P, grad\) -> float"),
        (returns_array, r"kernel 'returns_array' must return a real number"),
        (numba.njit(not_nopython), r"kernel 'not_nopython' cannot be compiled"),
        (np.sin, r"kernel .*fn\(P, grad\) -> float"),
        (42, r"kernel must be a callable .*fn\(P, grad\) -> float"),
    ],
)
def test_user_kernel_with_wrong_signature_raises_type_error(fn, match):
    with pytest.raises(TypeError, match=match):
        oc.cost(shape=(2, 2))(fn)


def test_user_hvp_with_wrong_signature_raises_type_error():
    with pytest.raises(TypeError, match=r"hvp 'one_param' must take 3 positional parameters"):
        oc.cost(shape=(2, 2), hvp=one_param)(logcosh_kernel)
    with pytest.raises(TypeError, match=r"hvp must be a callable hvp\(P, V, out\)"):
        oc.cost(shape=(2, 2), hvp=1.0)


def test_scalar_bad_functions():
    with pytest.raises(TypeError, match="fn must be a callable"):
        oc.scalar(1.0, sq_df)
    with pytest.raises(TypeError, match="dfn 'not_scalar' cannot be compiled by Numba"):

        def not_scalar(z):
            return str(z) + {}

        oc.scalar(sq_f, not_scalar)
    with pytest.raises(TypeError, match=r"d2fn '.*' must return a real number"):
        oc.scalar(sq_f, sq_df, lambda z: (z, z))


# --------------------------------------------------------------------------------------------
# compilation: lazy at import, cached across processes

_PROBE = f"import sys; sys.path.insert(0, {str(OVERFLOW_DIR.parent)!r})" + textwrap.dedent(
    """
    import numpy as np
    import overflow.costs as oc
    mods = [sys.modules["overflow.costs." + k] for k in ("matrix_factorization", "ridge")]
    print("compiled_at_import", any(k.compiled for m in mods for k in (m._VG, m._HVP)))
    mf = oc.matrix_factorization(np.ones((2, 2)))
    lr = oc.linear_regression(np.ones((2, 3)), np.ones((1, 3)))
    print("hits", min(c.cache_hits for c in (mf._vg_cfunc, mf._hvp_cfunc, lr._vg_cfunc, lr._hvp_cfunc)))
    print("file", oc.__file__)
    """
)


def _probe(cwd):
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, cwd=cwd, timeout=300)
    assert out.returncode == 0, out.stderr
    result = dict(line.split(maxsplit=1) for line in out.stdout.strip().splitlines())
    assert Path(result["file"]).resolve() == Path(oc.__file__).resolve()  # same package as here
    return result


def test_generic_kernels_compile_lazily_and_load_from_cache(tmp_path):
    first = _probe(tmp_path)  # compiles (or already loads) the cached kernels
    assert first["compiled_at_import"] == "False"
    second = _probe(tmp_path)
    assert second["compiled_at_import"] == "False"
    assert int(second["hits"]) >= 1  # every generic kernel came from Numba's on-disk cache
