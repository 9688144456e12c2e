"""Argument checks shared by the Python API: one place for the rules and the wording.

Every check raises TypeError for a value of the wrong kind and ValueError for a value of the right
kind that is out of range, with the message ``"<name> must be <expected>, got <what>"``. numpy's
leniency is kept where numpy is lenient: integers where floats are expected, numpy scalars and 0-d
arrays for numbers, lists for arrays. Complex values are refused wherever only real ones make
sense (a float64 conversion would silently drop the imaginary part). Sizes are checked against the
machine's physical memory before anything is allocated (`check_memory`).

This module imports nothing from the package, so every layer (costs included) can use it.
"""

from __future__ import annotations

import math
import numbers
import operator
import os

import numpy as np

__all__ = [
    "INT32_MAX",
    "INT64_MAX",
    "describe",
    "integer",
    "real",
    "finite_real",
    "positive",
    "boolean",
    "float_array",
    "physical_memory",
    "check_memory",
    "format_bytes",
]

#: Largest values of the C integer types the core takes (``int`` and ``int64_t``).
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1


def describe(value: object) -> str:
    """A short description of ``value`` for an error message: the value itself when it is short,
    else its type (with dtype and shape for arrays)."""
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype} and shape {value.shape}"
    if isinstance(value, (bool, int, float, complex, str, bytes, np.generic)) or value is None:
        text = repr(value)
        return text if len(text) <= 60 else f"{type(value).__name__} {text[:57]}..."
    return type(value).__name__


def _scalar(value: object) -> object:
    """A 0-d array as its scalar (numpy treats them alike); anything else unchanged."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value[()]
    return value


def integer(value: object, name: str, minimum: int | None = 1, maximum: int | None = INT64_MAX) -> int:
    """``value`` as an int: TypeError unless it is an integer (bool excluded; numpy integers and
    0-d integer arrays accepted), ValueError outside ``[minimum, maximum]`` (the default maximum
    is the largest ``int64_t``, what the core takes)."""
    if type(value) is not int:  # fast path: plain ints need no ABC check
        value = _scalar(value)
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name} must be an integer, got {describe(value)}")
        value = operator.index(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return int(value)


def real(value: object, name: str) -> float:
    """``value`` as a float: TypeError unless it is a real number (bool and complex excluded; numpy
    scalars and 0-d real arrays accepted). NaN and inf pass; see `finite_real` and `positive`."""
    # float and int first: the numbers.Real ABC check costs more than the rest of the validation
    if type(value) is float:
        return value
    value = _scalar(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {describe(value)}")
    try:
        return float(value)
    except OverflowError:  # an int beyond the float range
        raise ValueError(f"{name} must be a real number within the float64 range, got {value}") from None


def finite_real(value: object, name: str) -> float:
    """`real`, and ValueError unless finite."""
    value = real(value, name)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def positive(value: object, name: str, allow_inf: bool = False, allow_zero: bool = False) -> float:
    """`real`, and ValueError unless ``> 0`` (``>= 0`` with ``allow_zero``) and finite (or +inf with
    ``allow_inf``)."""
    value = real(value, name)
    low_ok = value >= 0 if allow_zero else value > 0
    if math.isnan(value) or not low_ok or (math.isinf(value) and not allow_inf):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}{'' if allow_inf else ' and finite'}, got {value}")
    return value


def boolean(value: object, name: str) -> bool:
    """``value`` as a bool: TypeError unless it is a bool (numpy's included)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {describe(value)}")
    return bool(value)


def float_array(x: object, name: str, expected: str = "a real array", allow_bool: bool = True) -> np.ndarray:
    """``x`` as a float64 array (not necessarily contiguous; no check of shape or finiteness).

    TypeError for strings, complex values, and anything numpy cannot read as real numbers (object
    arrays of non-numbers, dates); ValueError for ragged nested lists. ``expected`` completes
    "``name`` must be ..." in the messages."""
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be {expected}, got {describe(x)}")
    try:
        arr = np.asarray(x)
    except ValueError as err:  # ragged nested sequences
        raise ValueError(f"{name} must be {expected}, got a ragged sequence ({err})") from None
    kind = arr.dtype.kind
    if kind == "c":
        raise TypeError(
            f"{name} must be {expected}, got complex values (dtype {arr.dtype}; the imaginary part would be lost)"
        )
    if kind in "iuf" or (kind == "b" and allow_bool):
        return arr.astype(np.float64, copy=False)
    if kind == "O":
        # Python numbers in an object array: float() each (complex and non-numbers fail here)
        try:
            # numpy would read None as NaN and strings as numbers: refuse them with complex values
            if any(v is None or isinstance(v, (complex, np.complexfloating, str, bytes)) for v in arr.flat):
                raise TypeError
            return arr.astype(np.float64)
        except (TypeError, ValueError, OverflowError):
            pass
    raise TypeError(f"{name} must be {expected}, got values of dtype {arr.dtype}")


_PHYSICAL: list[int] = []


def physical_memory() -> int:
    """Bytes of physical memory of this machine (``2**63 - 1`` where the system does not say)."""
    if not _PHYSICAL:
        try:
            total = int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
        except (AttributeError, ValueError, OSError):
            total = 0
        _PHYSICAL.append(total if total > 0 else INT64_MAX)
    return _PHYSICAL[0]


def format_bytes(nbytes: float) -> str:
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= size:
            return f"{nbytes / size:.3g} {unit}"
    return f"{int(nbytes)} bytes"


def check_memory(nbytes: int, name: str, value: object, what: str) -> None:
    """ValueError naming ``name`` (given ``value``) when ``what`` needs ``nbytes`` bytes, more than
    this machine's physical memory: called before allocating, so a mistyped size is an error
    rather than a MemoryError, a swap storm or the OOM killer."""
    if nbytes > physical_memory():
        raise ValueError(
            f"{name} must fit in memory: {what} needs {format_bytes(nbytes)}, more than this machine's "
            f"{format_bytes(physical_memory())} of physical memory, got {name} = {value!r}"
        )
