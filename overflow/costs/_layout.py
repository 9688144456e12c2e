"""The layout of a built-in cost's parameter array ``Cost.data``, stated once per cost.

A built-in cost keeps its parameters in one flat float64 array (the ``data`` pointer of the cost ABI,
``csrc/include/overflow/overflow.h``), laid out as a header followed by arrays::

    [dims..., scalars..., array_0 (row-major), array_1 (row-major), ...]

The header holds the integer dims, the first two being the cost's shape ``(m, n)`` (which
`base.shape_mismatch` compares with the core's call), then the real scalars. Each array has a shape
written with the dims (``("s", "n")``, ``("r", "m*n")``, ``("s",)``). Nothing else is stored: the
start of an array is the header's length plus the sizes of the arrays in front of it, which
`matrix` and `vector` compute inside a kernel from the dims in the header, so a kernel names the
array it wants and never writes an offset. Since no offsets are stored, the C++
``matrix_factorization_cost`` of ``csrc/src/reference_costs.cpp`` reads `matrix_factorization`'s
``data`` as it is.

A cost module declares its layout, packs it in its constructor and reads it in its kernels::

    _LAYOUT = Layout(dims=("m", "n", "s"), scalars=("lam",), XT=("s", "n"), Y=("m", "s"))
    _LAM, _XT = _LAYOUT.slot("lam"), _LAYOUT.array("XT")     # compile-time constants
    data = _LAYOUT.pack(m=m, n=n, s=s, lam=lam, XT=X.T, Y=Y)  # constructor
    lam = data_[_LAM]; XT = matrix(data_, _XT)                  # kernel: an (s, n) view
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from numba import carray
from numba.extending import intrinsic

__all__ = ["Layout", "matrix", "vector"]

_ONE = -1  # a missing factor in an array's shape descriptor: the dim 1
# The descriptors of all arrays have one Numba type (shapes padded to this many), so that `matrix`
# and `vector` compile once per process for every array of every cost, not once per array.
_MAX_ARRAYS = 8


class Layout:
    """The named parts of a cost's ``data`` array: header dims and scalars, then arrays.

    Parameters
    ----------
    dims : tuple of str
        Names of the integer dims stored first in the header; ``dims[0]`` and ``dims[1]`` are the
        cost's shape ``(m, n)``.
    scalars : tuple of str, optional
        Names of the real scalars stored after the dims.
    **arrays : tuple of str
        Each array's name and shape, in storage order: one or two entries, each a dim name or a
        product of two (``"m*n"``).

    Raises
    ------
    ValueError
        If there are fewer than two dims, a name repeats, or a shape is not made of the dims as
        described.
    """

    def __init__(self, dims: tuple[str, ...], scalars: tuple[str, ...] = (), **arrays: tuple[str, ...]) -> None:
        dims, scalars = tuple(dims), tuple(scalars)
        if len(dims) < 2:
            raise ValueError(f"a layout needs the dims (m, n) of the cost's shape first, got dims {dims!r}")
        names = dims + scalars + tuple(arrays)
        if len(arrays) > _MAX_ARRAYS:
            raise ValueError(f"a layout holds at most {_MAX_ARRAYS} arrays, got {len(arrays)}")
        if len(set(names)) != len(names):
            raise ValueError(f"the names of a layout must differ, got {names!r}")
        self.dims = dims
        self.scalars = scalars
        self.shapes: dict[str, tuple[str, ...]] = {name: tuple(shape) for name, shape in arrays.items()}
        self.header_size = len(dims) + len(scalars)
        # per array, its shape as header slots (rows a*b, cols c*d; _ONE for a missing factor)
        self._slots: dict[str, tuple[int, int, int, int]] = {}
        for name, shape in self.shapes.items():
            if len(shape) not in (1, 2):
                raise ValueError(f"array {name!r} must have a shape of one or two dims, got {shape!r}")
            rows = self._factors(name, shape[0])
            cols = self._factors(name, shape[1]) if len(shape) == 2 else (_ONE, _ONE)
            self._slots[name] = rows + cols

    def _factors(self, array: str, dim: str) -> tuple[int, int]:
        parts = dim.split("*")
        if len(parts) > 2 or any(p not in self.dims for p in parts):
            raise ValueError(
                f"the shape of array {array!r} must use the dims {self.dims} (or a product of two), got {dim!r}"
            )
        slots = tuple(self.dims.index(p) for p in parts)
        return slots if len(slots) == 2 else (slots[0], _ONE)

    def slot(self, name: str) -> int:
        """Index of the dim or scalar ``name`` in ``data`` (a kernel reads it as ``data_[slot]``)."""
        header = self.dims + self.scalars
        if name not in header:
            raise KeyError(f"{name!r} is not a dim or scalar of {self}")
        return header.index(name)

    def array(self, name: str) -> tuple[int, int, tuple[tuple[int, int, int, int], ...]]:
        """The constant `matrix` and `vector` take to find array ``name``: the header's length,
        the array's index and the shapes (as header slots) of all the arrays."""
        if name not in self.shapes:
            raise KeyError(f"{name!r} is not an array of {self}")
        shapes = tuple(self._slots.values()) + ((_ONE,) * 4,) * (_MAX_ARRAYS - len(self._slots))
        return self.header_size, list(self.shapes).index(name), shapes

    def pack(self, **values: Any) -> np.ndarray:
        """The ``data`` array: every dim (an int), scalar (a real) and array (of its declared shape)
        by name. A missing or unknown name or a wrong shape is a ValueError (a constructor's bug,
        not the user's input, which the constructors check first)."""
        expected = set(self.dims) | set(self.scalars) | set(self.shapes)
        if set(values) != expected:
            raise ValueError(f"pack needs exactly {sorted(expected)}, got {sorted(values)}")
        sizes = {d: int(values[d]) for d in self.dims}
        parts = [np.array([float(sizes[d]) for d in self.dims] + [float(values[s]) for s in self.scalars])]
        for name, shape in self.shapes.items():
            want = tuple(int(np.prod([sizes[p] for p in dim.split("*")])) for dim in shape)
            arr = np.asarray(values[name], dtype=np.float64)
            if arr.shape != want:
                raise ValueError(f"array {name!r} must have shape {shape} = {want}, got {arr.shape}")
            parts.append(arr.ravel())
        return np.concatenate(parts)

    def unpack(self, data: np.ndarray) -> dict[str, Any]:
        """The parts of a packed ``data`` by name (dims as ints, scalars as floats, arrays as
        read-only views of their declared shapes): what the kernels read, seen from Python."""
        data = np.asarray(data, dtype=np.float64)
        out: dict[str, Any] = {d: int(data[i]) for i, d in enumerate(self.dims)}
        out.update({s: float(data[len(self.dims) + i]) for i, s in enumerate(self.scalars)})
        start = self.header_size
        for name, shape in self.shapes.items():
            want = tuple(int(np.prod([out[p] for p in dim.split("*")])) for dim in shape)
            size = int(np.prod(want))
            view = data[start : start + size].reshape(want)
            view.flags.writeable = False
            out[name] = view
            start += size
        return out

    def __repr__(self) -> str:
        arrays = ", ".join(f"{name} ({', '.join(shape)})" for name, shape in self.shapes.items())
        return f"[{', '.join(self.dims + self.scalars)}, {arrays}]"


# -- the kernel side --------------------------------------------------------------------------

# Plain (cached) njit: LLVM inlines these small functions into the kernels and folds the constant
# descriptors (same speed as hand-written offsets); Numba's inline="always" compiled slower.
_JIT = dict(cache=True, error_model="numpy")


@intrinsic
def _offset(typingctx: Any, ptr: Any, k: Any) -> Any:  # pragma: no cover - compiled by Numba
    """``ptr + k`` on a ``CPointer``, so that a view starts where its array does (``carray`` of a
    slice would go through ``reshape`` and its size check on every call)."""

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        return builder.gep(args[0], [args[1]])

    return ptr(ptr, k), codegen


@numba.njit(**_JIT)
def _dim(data_, a, b):  # pragma: no cover - compiled by Numba
    """The product of the header dims in slots ``a`` and ``b`` (`_ONE` counts as 1)."""
    x = np.int64(1) if a == _ONE else np.int64(data_[a])
    y = np.int64(1) if b == _ONE else np.int64(data_[b])
    return x * y


@numba.njit(**_JIT)
def _place(data_, block):  # pragma: no cover - compiled by Numba
    """``(start, rows, cols)`` of the array that ``block`` (from `Layout.array`) describes."""
    header_size, index, shapes = block
    start = np.int64(header_size)
    for k in range(index):
        ra, rb, ca, cb = shapes[k]
        start += _dim(data_, ra, rb) * _dim(data_, ca, cb)
    ra, rb, ca, cb = shapes[index]
    return start, _dim(data_, ra, rb), _dim(data_, ca, cb)


@numba.njit(**_JIT)
def matrix(data_, block):  # pragma: no cover - compiled by Numba
    """The 2-D C-contiguous view of ``data_`` holding the array ``block`` = `Layout.array(name)`."""
    start, rows, cols = _place(data_, block)
    return carray(_offset(data_, start), (rows, cols))


@numba.njit(**_JIT)
def vector(data_, block):  # pragma: no cover - compiled by Numba
    """The 1-D view of ``data_`` holding the array ``block`` (all its entries, row-major)."""
    start, rows, cols = _place(data_, block)
    return carray(_offset(data_, start), rows * cols)
