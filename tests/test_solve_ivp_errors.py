"""`of.solve_ivp` on repeated calls and bad input (issue 15, item 4): the compiled right-hand side
is reused, an exception inside ``fun`` comes back as itself, and every bad argument is a
TypeError or ValueError naming it."""

import gc
import sys
import weakref

import numba
import numpy as np
import pytest
from scipy.integrate import solve_ivp as scipy_solve_ivp

import overflow as of
from overflow import _solve_ivp_compile as compiled


def osc(t, y):
    return np.array([y[1], -y[0]])


def damped(t, y, k, c):
    # y'' = -k y - c y' as a first-order system; k and c come through args
    return np.array([y[1], -k * y[0] - c * y[1]])


def damped_inplace(t, y, dy, k, c):
    dy[0] = y[1]
    dy[1] = -k * y[0] - c * y[1]


def _rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


# ---------------------------------------------------------------- the compiled right-hand side is cached


def test_second_call_reuses_the_compiled_rhs():
    def rhs(t, y):
        return -y

    of.solve_ivp(rhs, (0, 1), [1.0])
    count = compiled.compile_count
    cf = compiled.compiled_rhs(rhs, ()).cfunc
    for y0 in ([1.0], [1.0, 2.0, 3.0]):  # another state size needs no new compilation either
        of.solve_ivp(rhs, (0, 1), y0)
    assert compiled.compile_count == count
    assert compiled.compiled_rhs(rhs, ()).cfunc is cf


def test_args_of_the_same_kind_reuse_the_compiled_rhs_and_a_new_kind_compiles():
    def rhs(t, y, a):
        return -a * y

    r1 = of.solve_ivp(rhs, (0, 1), [1.0], args=(1.0,), rtol=1e-10, atol=1e-12)
    count = compiled.compile_count
    r2 = of.solve_ivp(rhs, (0, 1), [1.0], args=(2.0,), rtol=1e-10, atol=1e-12)
    assert compiled.compile_count == count
    np.testing.assert_allclose([r1.y[0, -1], r2.y[0, -1]], [np.exp(-1), np.exp(-2)], rtol=1e-8)
    r3 = of.solve_ivp(rhs, (0, 1), [1.0], args=(np.array([3.0]),), rtol=1e-10, atol=1e-12)
    assert compiled.compile_count == count + 1
    np.testing.assert_allclose(r3.y[:, -1], np.exp(-3), rtol=1e-8)


def test_the_cache_does_not_keep_the_function_alive():
    def make():
        def rhs(t, y):
            return -y

        return rhs

    rhs = make()
    of.solve_ivp(rhs, (0, 1), [1.0])
    assert rhs in compiled._cache
    ref = weakref.ref(rhs)
    del rhs
    gc.collect()
    assert ref() is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_repeated_calls_do_not_grow_memory():
    def rhs(t, y, dy):
        dy[0] = y[1]
        dy[1] = -y[0]

    for _ in range(3):
        of.solve_ivp(rhs, (0, 1), [1.0, 0.0])
    gc.collect()
    before = _rss_mib()
    for _ in range(100):
        of.solve_ivp(rhs, (0, 1), [1.0, 0.0])
    gc.collect()
    # a compilation per call used ~1.4-2.7 MiB each (100 calls: 140+ MiB); the margin absorbs noise
    assert _rss_mib() - before < 30


# ---------------------------------------------------------------- exceptions inside fun


class MyError(Exception):
    pass


def test_an_exception_in_fun_is_raised_with_its_type_and_message():
    def rhs(t, y):
        if t > 0.25:
            raise MyError("fun gave up")
        return -y

    with pytest.raises(MyError) as info:
        of.solve_ivp(rhs, (0, 1), [1.0])
    assert str(info.value) == "fun gave up"  # the message as raised; where it happened is a note
    if hasattr(info.value, "__notes__"):
        assert "rhs" in info.value.__notes__[0]


def test_an_exception_at_the_initial_point_and_in_the_inplace_form():
    def rhs(t, y, dy):
        raise ValueError("no derivative here")

    with pytest.raises(ValueError, match="no derivative here"):
        of.solve_ivp(rhs, (0, 1), [1.0])
    # the cached cfunc is not left in a failed state: a good run afterwards with another function
    assert of.solve_ivp(osc, (0, 1), [1.0, 0.0]).status == 0


def test_an_exception_in_a_numba_dispatcher_fun():
    @numba.njit
    def rhs(t, y):
        if y[0] < 0.5:
            raise ZeroDivisionError("y fell below 0.5")
        return -y

    with pytest.raises(ZeroDivisionError, match=r"y fell below 0.5"):
        of.solve_ivp(rhs, (0, 2), [1.0])


# ---------------------------------------------------------------- the two forms and their results


def test_a_three_parameter_fun_that_returns_a_value_is_refused_without_args():
    def rhs(t, y, a):
        return -a * y

    with pytest.raises(TypeError, match=r"in-place form fun\(t, y, dy\).*args=\(a,\)"):
        of.solve_ivp(rhs, (0, 1), [1.0])
    res = of.solve_ivp(rhs, (0, 1), [1.0], args=(2.0,), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res.y[:, -1], np.exp(-2.0), rtol=1e-8)


def test_a_returning_fun_that_returns_none_is_refused():
    def rhs(t, y):
        y[0] = 1.0

    with pytest.raises(TypeError, match="returns None"):
        of.solve_ivp(rhs, (0, 1), [1.0])


@pytest.mark.parametrize("fun, form", [(damped, "returning"), (damped_inplace, "in-place")])
def test_args_agree_with_scipy_at_tight_tolerance(fun, form):
    k, c = 4.0, 0.3
    te = np.linspace(0, 10, 11)
    ours = of.solve_ivp(fun, (0, 10), [1.0, 0.0], method="dop853", t_eval=te, rtol=1e-12, atol=1e-14, args=(k, c))
    ref = scipy_solve_ivp(
        lambda t, y: np.array([y[1], -k * y[0] - c * y[1]]),
        (0, 10),
        [1.0, 0.0],
        method="DOP853",
        t_eval=te,
        rtol=1e-13,
        atol=1e-14,
    )
    np.testing.assert_allclose(ours.y, ref.y, atol=1e-9)


def test_array_args_and_scipy_method_names():
    A = np.array([[-0.5, 2.0], [-2.0, -0.5]])

    def linear(t, y, A):
        return A @ y

    ours = of.solve_ivp(linear, (0, 3), [1.0, 0.0], method="RK45", rtol=1e-10, atol=1e-12, args=(A,))
    ref = scipy_solve_ivp(lambda t, y: A @ y, (0, 3), [1.0, 0.0], method="RK45", rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours.y[:, -1], ref.y[:, -1], atol=1e-8)
    same = of.solve_ivp(linear, (0, 3), [1.0, 0.0], method="dopri5", rtol=1e-10, atol=1e-12, args=(A,))
    np.testing.assert_array_equal(ours.y[:, -1], same.y[:, -1])


def test_list_tuple_and_scalar_results():
    lst = of.solve_ivp(lambda t, y: [y[1], -y[0]], (0, 1), [1.0, 0.0], rtol=1e-10, atol=1e-12)
    tup = of.solve_ivp(lambda t, y: (y[1], -y[0]), (0, 1), [1.0, 0.0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(lst.y[:, -1], [np.cos(1), -np.sin(1)], atol=1e-9)
    np.testing.assert_array_equal(lst.y[:, -1], tup.y[:, -1])
    one = of.solve_ivp(lambda t, y: -y[0], (0, 1), [1.0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(one.y[:, -1], np.exp(-1), rtol=1e-8)


# ---------------------------------------------------------------- wrong lengths and complex values


@pytest.mark.parametrize(
    "fun, got",
    [
        (lambda t, y: np.zeros(3), 3),
        (lambda t, y: (y[0], y[1], 0.0), 3),
        (lambda t, y: y[0], 1),
        (lambda t, y: [y[0]], 1),
    ],
)
def test_a_result_of_the_wrong_length_names_both_lengths(fun, got):
    with pytest.raises(ValueError, match=f"returned {got} values, expected 2"):
        of.solve_ivp(fun, (0, 1), [1.0, 2.0])


def test_complex_states_and_complex_values_elsewhere():
    # a complex y0 (even with zero imaginary parts) is integrated as a complex state, as in scipy
    res = of.solve_ivp(osc, (0, 1), np.array([1.0, 0.0], dtype=complex), rtol=1e-10, atol=1e-12)
    assert res.y.dtype == np.complex128
    np.testing.assert_allclose(res.y[:, -1], [np.cos(1), -np.sin(1)], atol=1e-8)
    with pytest.raises(TypeError, match="returns complex"):
        of.solve_ivp(lambda t, y: y * 1j, (0, 1), [1.0])
    # a complex arg is taken; here it makes dy complex for a real y0, which is the error
    with pytest.raises(TypeError, match="returns complex"):
        of.solve_ivp(damped, (0, 1), [1.0, 0.0], args=(1j, 0.1))


# ---------------------------------------------------------------- every other argument

BAD = [
    (dict(y0=[[1.0, 2.0]]), ValueError, "y0 must be 1-D"),
    (dict(y0=[1.0, np.nan]), ValueError, "y0 must be finite"),
    (dict(y0=["a", "b"]), TypeError, "y0 must be an array of real or complex numbers"),
    (dict(y0=[[1.0], [1.0, 2.0]]), ValueError, "y0 must be an array of real or complex numbers"),
    (dict(t_span=1.0), ValueError, "t_span must be a pair"),
    (dict(t_span=(0.0, np.inf)), ValueError, r"needs a terminal event"),
    (dict(t_span=("a", 1.0)), TypeError, r"t_span\[0\]"),
    (dict(t_eval=["a"]), TypeError, "t_eval must be a 1-D array of real times"),
    (dict(t_eval=[0.5j]), TypeError, "t_eval.*complex"),
    (dict(t_eval=[0.5, 0.2]), ValueError, "t_eval must be strictly increasing.*not properly sorted"),
    (dict(t_span=(1.0, 0.0), t_eval=[0.2, 0.5]), ValueError, "t_eval must be strictly decreasing"),
    (dict(t_eval=[2.0]), ValueError, "t_eval must lie inside t_span"),
    (dict(method=45), TypeError, "method must be a string"),
    (dict(method="reduced"), ValueError, "unknown method 'reduced'"),
    (dict(rtol=[1e-6, 1e-6, 1e-6]), ValueError, r"rtol must be one number or an array of shape \(2,\)"),
    (dict(atol=np.ones((2, 2))), ValueError, "atol must be one number or an array of shape"),
    (dict(rtol=-1e-6), ValueError, "rtol must be > 0"),
    (dict(atol=0.0), ValueError, "atol must be > 0"),
    (dict(atol=[1e-6, -1.0]), ValueError, "atol must be > 0"),
    (dict(rtol="1e-6"), TypeError, "rtol must be a positive number"),
    (dict(first_step=0.0), ValueError, "first_step must be > 0"),
    (dict(first_step=5.0), ValueError, "`first_step` exceeds bounds"),
    (dict(max_step=-1.0), ValueError, "max_step must be > 0"),
    (dict(max_steps=0), ValueError, "max_steps must be >= 1"),
    (dict(max_steps=2**63), ValueError, "max_steps must be <= "),
    (dict(max_steps=1.5), TypeError, "max_steps must be an integer"),
    (dict(vectorized="yes"), TypeError, "vectorized must be a bool"),
    (dict(dense_output=1), TypeError, "dense_output must be a bool"),
    (dict(args=2.0), TypeError, "Supplied 'args' cannot be unpacked"),
    (dict(args=("k", 0.1)), TypeError, r"args\[0\] must be a number or a numpy array"),
    (dict(args=(1.0,)), TypeError, r"taken as the in-place form fun\(t, y, dy, \*args\)"),
    (dict(args=()), TypeError, "must take 2 or 3 positional parameters"),
    (dict(events=3.0), TypeError, r"events\[0\] must be"),
    (dict(method="LSODA", min_step=-1.0), ValueError, "min_step must be >= 0"),
    (dict(method="LSODA", lband=-1), ValueError, "lband must be >= 0"),
    (dict(events=lambda t, y, k, c: y[0]), None, None),  # a good event (it takes args too): no error
    (dict(y0=[]), None, None),  # an empty state: nothing to integrate, as in scipy
    (dict(t_span=(1.0, 0.0)), None, None),  # backward
    (dict(t_span=(1.0, 1.0)), None, None),  # zero-length
    (dict(dense_output=True), None, None),
    (dict(args=[1.0, 0.1]), None, None),  # anything that unpacks, as in scipy
]


def _terminal_bad(t, y):
    return y[0]


_terminal_bad.terminal = "yes"


@pytest.mark.parametrize("kwargs, exc, match", BAD + [(dict(events=_terminal_bad), ValueError, "terminal must be")])
def test_bad_arguments_name_themselves(kwargs, exc, match):
    call = dict(fun=damped, t_span=(0.0, 1.0), y0=[1.0, 0.0], args=(1.0, 0.1))
    call.update(kwargs)
    if exc is None:
        assert of.solve_ivp(**call).success
        return
    with pytest.raises(exc, match=match):
        of.solve_ivp(**call)


def test_options_without_effect_warn_as_scipy():
    with pytest.warns(UserWarning, match="The following arguments have no effect for a chosen solver: `jac`"):
        of.solve_ivp(osc, (0, 1), [1.0, 0.0], jac=np.zeros((2, 2)))
    with pytest.warns(UserWarning, match="`min_step`, `no_such_option`"):
        of.solve_ivp(osc, (0, 1), [1.0, 0.0], method="Radau", min_step=0.1, no_such_option=1)


def test_vectorized_is_accepted_and_changes_nothing():
    a = of.solve_ivp(osc, (0, 1), [1.0, 0.0], vectorized=True)
    b = of.solve_ivp(osc, (0, 1), [1.0, 0.0])
    np.testing.assert_array_equal(a.y, b.y)
