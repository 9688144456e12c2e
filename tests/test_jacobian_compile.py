"""The Jacobian cfuncs of `overflow._jacobian_compile` called directly through ctypes, against
closed-form Jacobians: complex step (analytic fun), finite differences (the rest), column groups
from a sparsity pattern, a user's jac, a constant J, complex states, and the errors."""

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.linalg import norm as scipy_norm
from scipy.optimize._numdiff import group_columns as scipy_group_columns

from overflow import _jacobian_compile as jc
from overflow import _solve_ivp_compile as rc


def robertson(t, y):
    return np.array(
        [
            -0.04 * y[0] + 1e4 * y[1] * y[2],
            0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2,
            3e7 * y[1] ** 2,
        ]
    )


def robertson_jac(y):
    return np.array(
        [
            [-0.04, 1e4 * y[2], 1e4 * y[1]],
            [0.04, -1e4 * y[2] - 6e7 * y[1], -1e4 * y[1]],
            [0.0, 6e7 * y[1], 0.0],
        ]
    )


def robertson_clipped(t, y):
    # max() is not defined for complex numbers: complex step cannot compile, finite differences
    y1 = max(y[1], 0.0)
    return np.array([-0.04 * y[0] + 1e4 * y1 * y[2], 0.04 * y[0] - 1e4 * y1 * y[2] - 3e7 * y1**2, 3e7 * y1**2])


def van_der_pol(t, y, dy, mu):
    dy[0] = y[1]
    dy[1] = mu * (1.0 - y[0] ** 2) * y[1] - y[0]


def van_der_pol_jac(y, mu):
    return np.array([[0.0, 1.0], [-2.0 * mu * y[0] * y[1] - 1.0, mu * (1.0 - y[0] ** 2)]])


def linear(t, y, A):
    return A @ y


def modulus_times(t, y):
    # compiles for complex y but is not analytic there: the check at y0 must catch it
    return y * np.abs(y)


@numba.njit
def chain(t, y):
    # tridiagonal: dy_i depends on y_{i-1}, y_i, y_{i+1}
    n = y.size
    dy = np.empty_like(y)
    for i in range(n):
        left = y[i - 1] if i > 0 else 0.0
        right = y[i + 1] if i < n - 1 else 0.0
        dy[i] = left - 2.0 * y[i] + right + np.sin(y[i])
    return dy


def chain_jac(y):
    n = y.size
    return np.diag(-2.0 + np.cos(y)) + np.diag(np.ones(n - 1), 1) + np.diag(np.ones(n - 1), -1)


def chain_abs(t, y):
    return chain(t, y) + np.abs(y)  # |y_i| on the diagonal: not analytic


A3 = np.array([[-1.0, 2.0, 0.5], [0.0, -3.0, 1.0], [4.0, 0.0, -0.5]])
Y_ROB = np.array([0.7, 2.5e-5, 0.3])


def _jacobian(src, t, y, kinds=(), values=(), threshold=1e-6):
    """J (core's state, (m, m)) from ``src``'s cfunc at (t, y), and the buffer."""
    buf = rc.make_buffer(
        kinds, list(values), src.n, complex_state=src.complex_state, jacobian=src, fd_threshold=threshold
    )
    J = np.zeros((src.m, src.m), order="F")
    jc.call_address(src.address, t, np.ascontiguousarray(y, dtype=np.float64), J, buf)
    return J, buf


@pytest.fixture(scope="module")
def sources():
    mu_kinds, _ = rc.arg_kinds((1000.0,))
    a_kinds, _ = rc.arg_kinds((A3,))
    n = 30
    pattern = sp.diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(n, n))
    return {
        "robertson": jc.compiled_jacobian(robertson, (), [], 3, y0=[1.0, 0.0, 0.0]),
        "robertson_fd": jc.compiled_jacobian(robertson_clipped, (), [], 3, y0=[1.0, 0.0, 0.0]),
        "vdp": jc.compiled_jacobian(van_der_pol, mu_kinds, [1000.0], 2, y0=[2.0, 0.0]),
        "linear": jc.compiled_jacobian(linear, a_kinds, [A3], 3, y0=[1.0, 1.0, 1.0]),
        "modulus": jc.compiled_jacobian(modulus_times, (), [], 3, y0=[1.0, -2.0, 0.5]),
        "chain": jc.compiled_jacobian(chain, (), [], n, y0=np.linspace(0, 1, n)),
        "chain_grouped": jc.compiled_jacobian(chain, (), [], n, jac_sparsity=pattern, y0=np.linspace(0, 1, n)),
        "chain_abs": jc.compiled_jacobian(chain_abs, (), [], n, y0=np.linspace(0.1, 1, n)),
        "chain_abs_grouped": jc.compiled_jacobian(
            chain_abs, (), [], n, jac_sparsity=pattern.toarray(), y0=np.linspace(0.1, 1, n)
        ),
    }


# ---------------------------------------------------------------- complex step: analytic fun


def test_robertson_by_complex_step_to_rounding(sources):
    src = sources["robertson"]
    assert src.kind == "complex-step"
    J, buf = _jacobian(src, 0.0, Y_ROB)
    np.testing.assert_allclose(J, robertson_jac(Y_ROB), rtol=1e-14, atol=1e-14 * np.abs(robertson_jac(Y_ROB)).max())
    assert rc.jacobian_fun_calls(buf) == 3  # one complex call per column
    assert buf[rc.FLAG] == rc.FLAG_NONE


def test_van_der_pol_in_place_form_with_args(sources):
    src = sources["vdp"]
    assert src.kind == "complex-step"
    y = np.array([1.7, -0.4])
    for mu in (1000.0, 3.0):  # the same cfunc, another mu in the buffer
        J, _ = _jacobian(src, 0.0, y, *rc.arg_kinds((mu,)))
        np.testing.assert_allclose(J, van_der_pol_jac(y, mu), rtol=1e-14)


def test_linear_system_is_exact(sources):
    kinds, values = rc.arg_kinds((A3,))
    J, _ = _jacobian(sources["linear"], 2.0, np.array([3.0, -1.0, 0.5]), kinds, values)
    np.testing.assert_array_equal(J, A3)


# ---------------------------------------------------------------- finite differences: the rest


def test_a_fun_that_does_not_compile_for_complex_y_gets_finite_differences(sources):
    src = sources["robertson_fd"]
    assert src.kind == "finite-difference"
    J, buf = _jacobian(src, 0.0, Y_ROB)
    ref = robertson_jac(Y_ROB)
    # forward differences: error ~ sqrt(eps) relative to the largest entry of the column's scale
    np.testing.assert_allclose(J, ref, rtol=1e-6, atol=1e-7 * np.abs(ref).max())
    assert rc.jacobian_fun_calls(buf) == 4  # f(y) and one call per column


def test_a_fun_that_compiles_for_complex_y_but_is_not_analytic_gets_finite_differences(sources):
    src = sources["modulus"]
    assert src.kind == "finite-difference"
    y = np.array([-1.5, 0.5, 2.0])
    J, _ = _jacobian(src, 0.0, y)
    np.testing.assert_allclose(J, np.diag(2 * np.abs(y)), rtol=1e-7, atol=1e-7)


def test_conj_and_real_parts_are_caught_too():
    def conj_square(t, y):
        return y * np.conj(y) + 1.0

    def real_part(t, y):
        return np.array([y[0].real * y[1], y[1]])

    for fun in (conj_square, real_part):
        assert jc.compiled_jacobian(fun, (), [], 2, y0=[0.5, 2.0]).kind == "finite-difference"


def test_the_decision_is_cached_and_spends_one_compilation():
    def decay(t, y):
        return -y * y

    rc.compiled_rhs(decay, ())  # what solve_ivp compiles anyway
    rhs_count, jac_count = rc.compile_count, jc.compile_count
    assert jc.compiled_jacobian(decay, (), [], 2, y0=[1.0, 2.0]).kind == "complex-step"
    assert rc.compile_count == rhs_count + 1  # the complex-y rhs, and nothing else per function
    again = jc.compiled_jacobian(decay, (), [], 5, y0=np.ones(5))
    assert again.kind == "complex-step" and rc.compile_count == rhs_count + 1
    assert jc.compile_count <= jac_count + 1  # the process-wide complex-step cfunc, at most once
    J, _ = _jacobian(again, 0.0, np.arange(1.0, 6.0))
    np.testing.assert_allclose(J, np.diag(-2 * np.arange(1.0, 6.0)), rtol=1e-15)


# ---------------------------------------------------------------- column groups from jac_sparsity


def test_groups_need_fewer_calls_and_give_the_same_jacobian(sources):
    y = np.linspace(-1.0, 2.0, 30)
    ref = chain_jac(y)
    dense, dense_buf = _jacobian(sources["chain"], 0.0, y)
    grouped, grouped_buf = _jacobian(sources["chain_grouped"], 0.0, y)
    assert sources["chain_grouped"].kind == "complex-step" and sources["chain_grouped"].grouping.count == 3
    np.testing.assert_allclose(dense, ref, rtol=1e-15, atol=1e-15)
    np.testing.assert_array_equal(grouped, dense)
    assert (rc.jacobian_fun_calls(dense_buf), rc.jacobian_fun_calls(grouped_buf)) == (30, 3)


def test_groups_with_finite_differences(sources):
    y = np.linspace(0.2, 2.0, 30)
    ref = chain_jac(y) + np.diag(np.sign(y))
    dense, dense_buf = _jacobian(sources["chain_abs"], 0.0, y)
    grouped, grouped_buf = _jacobian(sources["chain_abs_grouped"], 0.0, y)
    assert sources["chain_abs"].kind == sources["chain_abs_grouped"].kind == "finite-difference"
    np.testing.assert_allclose(dense, ref, atol=1e-7)
    np.testing.assert_allclose(grouped, ref, atol=1e-7)
    assert np.all(grouped[np.abs(np.subtract.outer(np.arange(30), np.arange(30))) > 1] == 0.0)
    assert (rc.jacobian_fun_calls(dense_buf), rc.jacobian_fun_calls(grouped_buf)) == (31, 4)


def test_grouping_matches_scipys_and_is_valid():
    rng = np.random.default_rng(3)
    pattern = (rng.random((40, 40)) < 0.08) | np.eye(40, dtype=bool)
    groups = jc.group_columns(pattern)
    for g in range(groups.max() + 1):
        cols = pattern[:, groups == g]
        assert np.all(cols.sum(axis=1) <= 1)  # no row shared inside a group
    # scipy's greedy pass over the columns in their natural order gives the same groups
    np.testing.assert_array_equal(groups, scipy_group_columns(pattern, order=np.arange(40)))


# ---------------------------------------------------------------- a user's jac and a constant J


def rob_jac_returning(t, y):
    return np.array(
        [
            [-0.04, 1e4 * y[2], 1e4 * y[1]],
            [0.04, -1e4 * y[2] - 6e7 * y[1], -1e4 * y[1]],
            [0.0, 6e7 * y[1], 0.0],
        ]
    )


def vdp_jac_inplace(t, y, J, mu):
    J[0, 0] = 0.0
    J[0, 1] = 1.0
    J[1, 0] = -2.0 * mu * y[0] * y[1] - 1.0
    J[1, 1] = mu * (1.0 - y[0] ** 2)


def jac_wrong_shape(t, y):
    return np.zeros((2, 3))


def jac_raising(t, y):
    if y[0] > 1.0:
        raise OverflowError("jac is undefined here")
    return np.eye(2)


def test_user_jac_returning_and_in_place():
    src = jc.compiled_jacobian(robertson, (), [], 3, jac=rob_jac_returning)
    assert src.kind == "user"
    J, buf = _jacobian(src, 0.0, Y_ROB)
    np.testing.assert_array_equal(J, robertson_jac(Y_ROB))
    assert rc.jacobian_fun_calls(buf) == 0
    kinds, values = rc.arg_kinds((50.0,))
    src = jc.compiled_jacobian(van_der_pol, kinds, values, 2, jac=vdp_jac_inplace)
    y = np.array([0.3, 1.1])
    np.testing.assert_array_equal(_jacobian(src, 0.0, y, kinds, values)[0], van_der_pol_jac(y, 50.0))


def test_user_jac_of_the_wrong_shape_is_flagged_and_raised():
    src = jc.compiled_jacobian(robertson, (), [], 2, jac=jac_wrong_shape)
    J, buf = _jacobian(src, 0.0, np.ones(2))
    assert buf[rc.FLAG] == rc.FLAG_JAC_SHAPE and np.all(np.isnan(J))
    comp = rc.compiled_rhs(robertson, ())
    with pytest.raises(
        ValueError, match=r"jac 'jac_wrong_shape' returned an array of shape \(2, 3\), expected \(2, 2\)"
    ):
        rc.raise_failure(robertson, buf, comp, [], jacobian=src)


def test_an_exception_in_jac_is_raised_again():
    src = jc.compiled_jacobian(robertson, (), [], 2, jac=jac_raising)
    J, buf = _jacobian(src, 0.5, np.array([0.5, 0.0]))
    assert buf[rc.FLAG] == rc.FLAG_NONE
    np.testing.assert_array_equal(J, np.eye(2))
    J, buf = _jacobian(src, 0.5, np.array([1.5, 0.0]))
    assert buf[rc.FLAG] == rc.FLAG_JAC_RAISED
    with pytest.raises(OverflowError, match="jac is undefined here"):
        rc.raise_failure(robertson, buf, rc.compiled_rhs(robertson, ()), [], jacobian=src)


def test_an_exception_in_fun_during_finite_differences_is_fun_s():
    def fragile(t, y):
        if y[0] > 1.0:
            raise ZeroDivisionError("fragile fun")
        return np.array([y[0] if y[0] > 0 else 0.0, y[1]])

    src = jc.compiled_jacobian(fragile, (), [], 2, y0=[0.5, 0.5])
    assert src.kind == "finite-difference"
    J, buf = _jacobian(src, 0.0, np.array([1.0, 0.0]), threshold=1.0)  # f > 0: the increment crosses 1
    assert buf[rc.FLAG] == rc.FLAG_RAISED and np.all(np.isnan(J))
    with pytest.raises(ZeroDivisionError, match="fragile fun"):
        rc.raise_failure(fragile, buf, rc.compiled_rhs(fragile, ()), [], jacobian=src)


@pytest.mark.parametrize("matrix", [A3, A3.tolist(), sp.csr_matrix(A3)])
def test_a_constant_jacobian(matrix):
    src = jc.compiled_jacobian(linear, (), [], 3, jac=matrix)
    assert src.kind == "constant"
    np.testing.assert_array_equal(_jacobian(src, 0.0, np.zeros(3))[0], A3)


# ---------------------------------------------------------------- complex states: real pairs


def rotate(t, y, A):
    return 1j * (A.astype(np.complex128) @ y)


def rotate_jac(t, y, A):
    return 1j * A.astype(np.complex128)


def test_complex_state_jacobians_are_the_real_pairs():
    kinds, values = rc.arg_kinds((A3,))
    pairs = np.zeros((6, 6))
    pairs[0::2, 1::2] = -A3  # d re(f) / d im(y) = -Im(1j A)
    pairs[1::2, 0::2] = A3
    y = np.array([1.0 + 1.0j, -2.0 + 0.5j, 0.25j]).view(np.float64)
    fd = jc.compiled_jacobian(rotate, kinds, values, 3, complex_state=True)
    user = jc.compiled_jacobian(rotate, kinds, values, 3, jac=rotate_jac, complex_state=True)
    const = jc.compiled_jacobian(rotate, kinds, values, 3, jac=1j * A3, complex_state=True)
    assert (fd.kind, user.kind, const.kind) == ("finite-difference", "user", "constant")
    # threshold 1: Re y_2 = 0 gets the increment sqrt(eps), not sqrt(eps) * 1e-6 (rounding-dominated)
    np.testing.assert_allclose(_jacobian(fd, 0.0, y, kinds, values, threshold=1.0)[0], pairs, atol=1e-6)
    np.testing.assert_array_equal(_jacobian(user, 0.0, y, kinds, values)[0], pairs)
    np.testing.assert_array_equal(_jacobian(const, 0.0, y, kinds, values)[0], pairs)
    grouped = jc.compiled_jacobian(rotate, kinds, values, 3, jac_sparsity=A3 != 0, complex_state=True)
    J, buf = _jacobian(grouped, 0.0, y, kinds, values, threshold=1.0)
    np.testing.assert_allclose(J, pairs, atol=1e-6)
    assert grouped.grouping.count == 6 and rc.jacobian_fun_calls(buf) == 7  # A3 has a full row: no two columns share


def test_a_numba_cfunc_fun_gets_finite_differences_through_its_address():
    @numba.cfunc(rc.RHS_SIG)
    def decay(t, y_, dy_, data_):
        y = numba.carray(y_, (2,))
        dy = numba.carray(dy_, (2,))
        dy[0] = -3.0 * y[0]
        dy[1] = y[0] * y[1]

    src = jc.compiled_jacobian(decay, (), [], 2)
    J, _ = _jacobian(src, 0.0, np.array([2.0, 5.0]))
    np.testing.assert_allclose(J, [[-3.0, 0.0], [5.0, 2.0]], rtol=1e-7)


# ---------------------------------------------------------------- bad jac and jac_sparsity


def jac_with_scipy(t, y):
    return np.eye(2) * scipy_norm(y)


def jac_vector(t, y):
    return y


BAD = [
    (dict(jac=np.eye(3)), ValueError, r"jac must have shape \(n, n\) = \(2, 2\).*got shape \(3, 3\)"),
    (
        dict(jac=[["a", "b"], ["c", "d"]]),
        TypeError,
        "jac must be None, a callable or an \\(n, n\\) array of real or complex",
    ),
    (dict(jac=np.array([[1.0, np.nan], [0.0, 1.0]])), ValueError, "jac must be finite"),
    (dict(jac=1j * np.eye(2)), TypeError, "jac is complex but y0 is real"),
    (dict(jac_sparsity=np.ones((2, 3))), ValueError, r"jac_sparsity must have shape \(n, n\) = \(2, 2\)"),
    (dict(jac_sparsity="banded"), TypeError, "jac_sparsity must be None or an \\(n, n\\) array"),
    (dict(jac=jac_with_scipy), TypeError, "jac 'jac_with_scipy' cannot be compiled by Numba .*To fix: .*jac=None"),
    (dict(jac=jac_vector), TypeError, r"jac 'jac_vector' returns array\(float64, 1d, C\): it must return an \(n, n\)"),
    (dict(jac=lambda t: 0), TypeError, "jac '<lambda>' must take 2 or 3 positional parameters"),
    (dict(jac=lambda t, y: 1j * np.eye(2)), TypeError, "returns complex values .* for a real y0"),
    (dict(jac=lambda t, y, J: J), TypeError, "in-place form jac\\(t, y, J, \\*args\\)"),
]


@pytest.mark.parametrize("kwargs, exc, match", BAD)
def test_bad_jac_and_sparsity_name_themselves(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        jc.compiled_jacobian(linear, (), [], 2, **kwargs)


def test_make_buffer_checks_the_source_matches():
    src = jc.compiled_jacobian(linear, (), [], 2, jac=np.eye(2))
    with pytest.raises(ValueError, match="compiled for n=2"):
        rc.make_buffer((), [], 3, jacobian=src)
    with pytest.raises(ValueError, match="fd_threshold must be a finite number > 0"):
        rc.make_buffer((), [], 2, jacobian=src, fd_threshold=0.0)
