"""The compiled right-hand side called directly through ctypes (`overflow._solve_ivp_compile`):
complex states against numpy, the error flags and the messages for functions Numba cannot compile."""

import numba
import numpy as np
import pytest
from scipy.linalg import norm as scipy_norm

from overflow import _solve_ivp_compile as rc
from overflow._jacobian_compile import call_address

A = np.array([[0.5, -1.0, 0.0], [2.0, 0.25, -0.5], [0.0, 1.5, -2.0]])
Y = np.array([1.0 + 2.0j, -0.5 + 0.25j, 3.0 - 1.0j])


def complex_returning(t, y, A):
    return 1j * (A.astype(np.complex128) @ y) + t * y * y


def complex_inplace(t, y, dy):
    for i in range(y.size):
        dy[i] = np.exp(1j * t) * y[i] - y[(i + 1) % y.size]


def modulus(t, y):
    return np.abs(y)  # real dy from complex y: taken as dy + 0j, as scipy casts it


def pair(t, y):
    return (y[1] * 1j, -y[0])


def raises_when_large(t, y):
    if y[0].real > 2.0:
        raise ArithmeticError("y[0] left the domain")
    return y


def _rhs(comp, t, y, kinds=(), values=()):
    """dy from the cfunc of ``comp`` at (t, y), its buffer and dy."""
    n = y.size
    buf = rc.make_buffer(kinds, list(values), n, complex_state=comp.complex_state)
    core_y = np.ascontiguousarray(y).view(np.float64) if comp.complex_state else y
    dy = np.zeros(core_y.size)
    call_address(comp.cfunc.address, t, core_y, dy, buf)
    return (dy.view(np.complex128) if comp.complex_state else dy), buf


@pytest.fixture(scope="module")
def compiled():
    kinds, _ = rc.arg_kinds((A,))
    return {
        "returning": rc.compiled_rhs(complex_returning, kinds, complex_state=True),
        "inplace": rc.compiled_rhs(complex_inplace, (), complex_state=True),
        "modulus": rc.compiled_rhs(modulus, (), complex_state=True),
        "pair": rc.compiled_rhs(pair, (), complex_state=True),
        "raises": rc.compiled_rhs(raises_when_large, (), complex_state=True),
    }


# ---------------------------------------------------------------- complex states against numpy


def test_complex_state_returning_form_with_args(compiled):
    kinds, values = rc.arg_kinds((A,))
    dy, buf = _rhs(compiled["returning"], 0.7, Y, kinds, values)
    np.testing.assert_allclose(dy, 1j * (A @ Y) + 0.7 * Y * Y, rtol=1e-15)
    assert buf[rc.FLAG] == rc.FLAG_NONE


def test_complex_state_inplace_form(compiled):
    dy, _ = _rhs(compiled["inplace"], 0.3, Y)
    np.testing.assert_allclose(dy, np.exp(0.3j) * Y - np.roll(Y, -1), rtol=1e-15)
    assert compiled["inplace"].inplace


def test_real_result_and_tuple_result_on_complex_y(compiled):
    dy, _ = _rhs(compiled["modulus"], 0.0, Y)
    np.testing.assert_array_equal(dy, np.abs(Y).astype(complex))
    dy, _ = _rhs(compiled["pair"], 0.0, Y[:2])
    np.testing.assert_array_equal(dy, [Y[1] * 1j, -Y[0]])


def test_the_core_state_is_numpys_interleaved_layout(compiled):
    y = np.array([1.0 + 2.0j, 3.0 + 4.0j])
    core = y.view(np.float64)
    np.testing.assert_array_equal(core, [1.0, 2.0, 3.0, 4.0])
    dy, _ = _rhs(compiled["modulus"], 0.0, y)
    np.testing.assert_allclose(dy.view(np.float64), [np.sqrt(5), 0.0, 5.0, 0.0], rtol=1e-15)


def test_complex_and_real_states_are_compiled_and_cached_apart(compiled):
    count = rc.compile_count
    assert rc.compiled_rhs(modulus, (), complex_state=True) is compiled["modulus"]
    assert rc.compile_count == count
    real = rc.compiled_rhs(modulus, ())
    assert rc.compile_count == count + 1 and not real.complex_state
    dy, _ = _rhs(real, 0.0, np.array([-2.0, 3.0]))
    np.testing.assert_array_equal(dy, [2.0, 3.0])


# ---------------------------------------------------------------- failures recorded in the buffer


def test_a_wrong_length_is_flagged_and_raised(compiled):
    dy, buf = _rhs(compiled["pair"], 0.0, Y)  # pair returns 2 values, y has 3
    assert buf[rc.FLAG] == rc.FLAG_LENGTH and buf[rc.GOT_ROWS] == 2
    assert np.all(np.isnan(dy.view(np.float64)))
    with pytest.raises(ValueError, match="returned 2 values, expected 3"):
        rc.raise_failure(pair, buf, compiled["pair"], [])


def test_an_exception_records_t_and_the_complex_y_and_is_raised_again(compiled):
    y = np.array([2.5 + 1.0j, 0.5 - 0.5j])
    dy, buf = _rhs(compiled["raises"], 1.25, y)
    assert buf[rc.FLAG] == rc.FLAG_RAISED
    fbuf = buf.view(np.float64)
    assert fbuf[rc.T_FAIL] == 1.25
    at = buf[rc.Y_AT]
    np.testing.assert_array_equal(fbuf[at : at + 4].view(np.complex128), y)
    # once flagged, the cfunc no longer calls fun: NaN even where fun would succeed
    dy2 = np.zeros(4)
    call_address(compiled["raises"].cfunc.address, 0.0, np.zeros(4), dy2, buf)
    assert np.all(np.isnan(dy2))
    with pytest.raises(ArithmeticError, match="y\\[0\\] left the domain") as info:
        rc.raise_failure(raises_when_large, buf, compiled["raises"], [])
    if hasattr(info.value, "__notes__"):
        assert "t = 1.25" in info.value.__notes__[0]


def test_a_complex_result_on_a_real_state_is_refused():
    with pytest.raises(TypeError, match=r"returns complex values.*pass a complex y0"):
        rc.compiled_rhs(lambda t, y: 1j * y, ())


# ---------------------------------------------------------------- functions Numba cannot compile


class Holder:
    k = 2.0


HOLDER = Holder()


def uses_an_object(t, y):
    return -HOLDER.k * y


def uses_scipy(t, y):
    return -scipy_norm(y) * y


@pytest.mark.parametrize("fun", [uses_an_object, uses_scipy])
@pytest.mark.parametrize("complex_state", [False, True])
def test_a_non_compilable_fun_gets_one_clear_type_error(fun, complex_state):
    with pytest.raises(TypeError) as info:
        rc.compiled_rhs(fun, (), complex_state=complex_state)
    msg = str(info.value)
    assert msg.startswith(f"fun '{fun.__name__}' cannot be compiled by Numba (nopython mode), taken as fun(t, y) -> dy")
    assert "To fix: use numpy arrays, numbers" in msg and "numba.cfunc" in msg
    assert "test_solve_ivp_compile.py, line" in msg  # where, from Numba's report
    # one line of Numba's report, not its traceback
    assert "During:" not in msg and "Failed in nopython" not in msg and "\n" not in msg
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_numba_first_line_skips_the_pipeline_header():
    @numba.njit
    def bad(y):
        return y.no_such_attribute

    with pytest.raises(Exception) as info:
        bad(np.ones(2))
    line = rc.numba_first_line(info.value)
    assert line.startswith("TypingError: Unknown attribute 'no_such_attribute' of type array(float64, 1d, C)")
    assert line.endswith(f"(at test_solve_ivp_compile.py, line {bad.py_func.__code__.co_firstlineno + 2})")
    assert rc.numba_first_line(ValueError("")) == "ValueError"


# ---------------------------------------------------------------- the buffer


def test_buffer_layout():
    kinds, values = rc.arg_kinds((2.5, 3, np.arange(6.0).reshape(2, 3), True))
    buf = rc.make_buffer(kinds, values, 4, complex_state=True)
    fbuf = buf.view(np.float64)
    assert buf[rc.N] == 4 and buf[rc.SIZE] == buf.size and buf[rc.JAC_AT] == 0
    assert fbuf[rc.HEADER] == 2.5 and buf[rc.HEADER + 1] == 3
    assert buf[rc.HEADER + 2] == values[2].ctypes.data and list(buf[rc.HEADER + 3 : rc.HEADER + 5]) == [2, 3]
    assert buf[rc.HEADER + 5] == 1
    assert buf[rc.Y_AT] == rc.HEADER + 6 and buf.size == rc.HEADER + 6 + 2 * 4
    assert rc.jacobian_fun_calls(buf) == 0
