"""Tests of `overflow.costs._layout`, the one description of each built-in cost's ``data`` array:
packing and unpacking, the kernel-side views against the arrays that were packed, every built-in
cost's bytes against its layout written out by hand (what ``csrc/src/reference_costs.cpp`` and the
C ABI read), and the module docstrings that state the layouts."""

from __future__ import annotations

import ctypes
import importlib

import numba
import numpy as np
import pytest
from numba import types

import overflow as of
from overflow import _core
from overflow.costs._layout import Layout, matrix, vector

DP = ctypes.POINTER(ctypes.c_double)


# --------------------------------------------------------------------------------------------
# the Layout object


def _example():
    layout = Layout(dims=("m", "n", "s"), scalars=("lam", "mu"), XT=("s", "n"), A=("s", "m*n"), b=("s",), T=("m", "n"))
    rng = np.random.default_rng(3)
    m, n, s = 2, 3, 5
    parts = dict(
        m=m,
        n=n,
        s=s,
        lam=0.25,
        mu=-1.5,
        XT=rng.standard_normal((s, n)),
        A=rng.standard_normal((s, m * n)),
        b=rng.standard_normal(s),
        T=rng.standard_normal((m, n)),
    )
    return layout, parts


def test_pack_writes_header_then_arrays_row_major():
    layout, p = _example()
    data = layout.pack(**p)
    expected = np.concatenate(([2.0, 3.0, 5.0, 0.25, -1.5], p["XT"].ravel(), p["A"].ravel(), p["b"], p["T"].ravel()))
    assert data.dtype == np.float64 and data.ndim == 1 and data.flags.c_contiguous
    np.testing.assert_array_equal(data, expected)
    assert layout.header_size == 5
    assert [layout.slot(k) for k in ("m", "n", "s", "lam", "mu")] == [0, 1, 2, 3, 4]
    assert repr(layout) == "[m, n, s, lam, mu, XT (s, n), A (s, m*n), b (s), T (m, n)]"


def test_unpack_gives_back_what_was_packed():
    layout, p = _example()
    back = layout.unpack(layout.pack(**p))
    assert set(back) == set(p)
    for name, value in p.items():
        if np.isscalar(value):
            assert back[name] == value and type(back[name]) is type(value)
        else:
            np.testing.assert_array_equal(back[name], value)
            assert not back[name].flags.writeable


def test_kernel_views_read_the_packed_arrays():
    """matrix/vector inside a compiled cfunc copy each array out; the copies are the packed arrays."""
    layout, p = _example()
    data = layout.pack(**p)
    XT, A, B, T = (layout.array(k) for k in ("XT", "A", "b", "T"))
    LAM, MU = layout.slot("lam"), layout.slot("mu")
    dptr = types.CPointer(types.float64)

    @numba.cfunc(types.void(dptr, dptr))
    def copy_out(data_, out_):  # pragma: no cover - compiled by Numba
        x, a, b, t, flat_t = matrix(data_, XT), matrix(data_, A), vector(data_, B), matrix(data_, T), vector(data_, T)
        out = numba.carray(out_, x.size + a.size + b.size + t.size + flat_t.size + 6)
        k = 0
        for view in (x.ravel(), a.ravel(), b, t.ravel(), flat_t):
            for v in view:
                out[k] = v
                k += 1
        out[k], out[k + 1], out[k + 2], out[k + 3] = x.shape[0], x.shape[1], a.shape[0], a.shape[1]
        out[k + 4], out[k + 5] = data_[LAM], data_[MU]

    sizes = [p[k].size for k in ("XT", "A", "b", "T", "T")]
    out = np.full(sum(sizes) + 6, np.nan)
    copy_out.ctypes(data.ctypes.data_as(DP), out.ctypes.data_as(DP))
    pieces = np.split(out, np.cumsum(sizes))
    for piece, name in zip(pieces, ("XT", "A", "b", "T", "T")):
        np.testing.assert_array_equal(piece, p[name].ravel())
    np.testing.assert_array_equal(pieces[-1], [5, 3, 5, 6, 0.25, -1.5])


@pytest.mark.parametrize(
    ("dims", "scalars", "arrays", "match"),
    [
        (("m",), (), {}, "dims"),
        (("m", "n"), ("m",), {}, "differ"),
        (("m", "n"), (), {"m": ("m",)}, "differ"),
        (("m", "n"), (), {"X": ()}, "one or two"),
        (("m", "n"), (), {"X": ("m", "n", "m")}, "one or two"),
        (("m", "n"), (), {"X": ("k", "n")}, "dims"),
        (("m", "n"), (), {"X": ("m*n*m",)}, "product of two"),
        (("m", "n"), (), {f"X{i}": ("m",) for i in range(9)}, "at most 8 arrays"),
    ],
)
def test_bad_layouts_are_refused(dims, scalars, arrays, match):
    with pytest.raises(ValueError, match=match):
        Layout(dims=dims, scalars=scalars, **arrays)


def test_pack_checks_names_and_shapes():
    layout, p = _example()
    with pytest.raises(ValueError, match="exactly"):
        layout.pack(**{k: v for k, v in p.items() if k != "mu"})
    with pytest.raises(ValueError, match="exactly"):
        layout.pack(**p, extra=1.0)
    with pytest.raises(ValueError, match=r"'A' must have shape \('s', 'm\*n'\) = \(5, 6\)"):
        layout.pack(**{**p, "A": np.zeros((5, 5))})
    with pytest.raises(KeyError):
        layout.slot("XT")
    with pytest.raises(KeyError):
        layout.array("lam")


# --------------------------------------------------------------------------------------------
# the built-in costs: bytes as documented, parts as given to the constructor


def _builtins():
    """(module name, cost, its parts written out by hand) for every built-in cost with a layout."""
    rng = np.random.default_rng(11)
    n, s = 3, 7
    X, Y = rng.standard_normal((n, s)), rng.standard_normal((2, s))
    y = np.where(rng.standard_normal(s) > 0, 1.0, -1.0)
    labels = rng.integers(0, 4, s)
    A_ops, b = rng.standard_normal((5, 2, 3)), rng.standard_normal(5)
    T = rng.standard_normal((2, 3))
    A, B = -np.eye(3) + 0.1 * rng.standard_normal((3, 3)), rng.standard_normal((3, 2))
    Q, R, S = np.eye(3), 2.0 * np.eye(2), np.diag([1.0, 2.0, 3.0])
    lam = 0.5
    oc = of.costs
    return [
        ("ridge", oc.ridge(X, Y, lam), [[2, n, s, lam], X.T, Y, X @ X.T / s + lam * np.eye(n)]),
        ("linear_regression", oc.linear_regression(X, Y), [[2, n, s, 0.0], X.T, Y, X @ X.T / s]),
        ("logistic", oc.logistic(X, y), [[1, n, s], X.T * y[:, None]]),
        ("softmax", oc.softmax_cross_entropy(X, labels, classes=4), [[4, n, s], X.T, labels]),
        ("log_cosh", oc.log_cosh(X, Y), [[2, n, s], X.T, Y]),
        ("matrix_sensing", oc.matrix_sensing(A_ops, b), [[2, 3, 5], A_ops, b]),
        ("matrix_factorization", oc.matrix_factorization(T), [[2, 3], T]),
        ("lqr", oc.lqr(A, B, Q, R, S), [[2, 3], A, B, Q, R, S]),
        ("lqr", oc.dlqr(0.5 * A, B, Q, R, S), [[2, 3], 0.5 * A, B, Q, R, S]),
    ]


BUILTINS = _builtins()
IDS = [f"{name}-{i}" for i, (name, _, _) in enumerate(BUILTINS)]


@pytest.mark.parametrize(("module", "cost", "parts"), BUILTINS, ids=IDS)
def test_builtin_data_is_the_documented_bytes(module, cost, parts):
    """The flat array the C ABI receives, concatenated by hand from the documented layout; its
    first two entries are the cost's shape, which the kernels' shape guard compares."""
    expected = np.concatenate([np.asarray(part, dtype=np.float64).ravel() for part in parts])
    np.testing.assert_array_equal(cost.data, expected)
    assert tuple(cost.data[:2]) == cost.shape


@pytest.mark.parametrize(("module", "cost", "parts"), BUILTINS, ids=IDS)
def test_builtin_layout_is_stated_in_the_module_docstring(module, cost, parts):
    mod = importlib.import_module(f"overflow.costs.{module}")
    layout = getattr(mod, "_LAYOUT", None) or importlib.import_module("overflow.costs.ridge")._LAYOUT
    assert f"``{layout!r}``" in mod.__doc__
    unpacked = layout.unpack(cost.data)
    assert (unpacked[layout.dims[0]], unpacked[layout.dims[1]]) == cost.shape


def test_cpp_reference_cost_reads_the_matrix_factorization_layout():
    """csrc/src/reference_costs.cpp reads the same data as the Numba kernel: same value and gradient."""
    T = np.random.default_rng(5).standard_normal((3, 4))
    cost = of.costs.matrix_factorization(T)
    P = np.random.default_rng(6).standard_normal((3, 4))
    value, grad = _core.cost_value_and_grad(_core.reference_cost_address("matrix_factorization"), cost.data, P)
    assert value == pytest.approx(0.5 * np.sum((P - T) ** 2), rel=1e-14)
    np.testing.assert_allclose(grad, P - T, rtol=0, atol=1e-15)
    v2, g2 = cost.value_and_grad(P)
    assert v2 == pytest.approx(value, rel=1e-14)
    np.testing.assert_array_equal(g2, grad)
