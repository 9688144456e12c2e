"""The method table of the core (csrc/src/tableau.cpp) is the one source of the methods: Python's
METHODS and IMPLICIT_METHODS are its rows, each tableau carries its row's orders, and the C codes
are those overflow.h publishes (read from the header here, independently of the core)."""

from __future__ import annotations

import pathlib
import re

import pytest

import overflow as of
from overflow import _core, _options

HEADER = pathlib.Path(__file__).resolve().parents[1] / "csrc" / "include" / "overflow" / "overflow.h"
TABLE = _core.method_table()


def published_codes():
    """enum of_method of overflow.h as {name: code} ("OF_DOPRI5 = 1" -> "dopri5": 1)."""
    body = re.search(r"enum of_method \{(.*?)\};", HEADER.read_text(), re.S).group(1)
    return {name.lower(): int(code) for name, code in re.findall(r"OF_(\w+)\s*=\s*(\d+)", body)}


def test_python_method_dicts_are_the_core_table():
    orders = {m.name: (m.order, m.error_order, m.dense_order) for m in TABLE}
    explicit = [m.name for m in TABLE if m.scheme == "explicit_rk"]
    implicit = [m.name for m in TABLE if m.scheme in ("gauss", "rosenbrock", "radau")]
    assert explicit + implicit == [m.name for m in TABLE]  # every row has a known scheme
    assert list(of.METHODS.items()) == [(n, orders[n]) for n in explicit]
    assert list(of.IMPLICIT_METHODS.items()) == [(n, orders[n]) for n in implicit]
    assert list(_core.methods()) == explicit
    assert _options.JACOBIAN_METHODS == (*implicit, "auto")


def test_public_values_unchanged():
    # The documented orders (solution, estimate, interpolant), as they were before the table.
    assert of.METHODS == {"bs3": (3, 2, 3), "dopri5": (5, 4, 4), "tsit5": (5, 4, 4), "dop853": (8, 5, 7)}
    assert of.IMPLICIT_METHODS == {"gauss4": (4, 4, 5), "gauss6": (6, 6, 5), "rodas4": (4, 3, 3), "radau5": (5, 3, 3)}
    assert of.AUTO_METHOD == ("dop853", "rodas4")


def test_c_codes_are_overflow_h():
    codes = published_codes()
    assert {m.name: m.c_code for m in TABLE} == {n: c for n, c in codes.items() if n != "auto"}
    # OF_AUTO followed the first seven methods; radau5 came later and took the next free code.
    assert codes["auto"] == 7 and codes["radau5"] == 8


@pytest.mark.parametrize("row", TABLE, ids=lambda m: m.name)
def test_each_tableau_carries_its_row(row):
    t = _core.tableau(row.name)
    assert t["name"] == row.name
    assert (t["order"], t["error_order"], t["control_order"], t["dense_order"]) == (
        row.order,
        row.error_order,
        row.control_order,
        row.dense_order,
    )
    assert f"MethodInfo(name='{row.name}', c_code={row.c_code}" in repr(row)
    s = t["stages"]
    assert t["c"].shape == (s,) and t["a"].shape == (s, s) and t["b"].shape == (s,)
    # The error weights: over the stages and f(y_new) (explicit), the stages (Rosenbrock), none (Gauss,
    # Radau: their estimates are the engines' own).
    assert t["e"].shape == ({"explicit_rk": s + 1, "rosenbrock": s, "gauss": 0, "radau": 0}[row.scheme],)
    if row.scheme != "explicit_rk":  # no explicit-only data
        assert t["e_low"].size == t["extra_c"].size == t["dense"].size == 0 and t["stiffness_stage"] == -1


def test_unknown_method_names_the_choices():
    with pytest.raises(ValueError, match="method"):
        of.integrate(*_problem(), method="dopri")


def _problem():
    net = of.Network(of.costs.matrix_factorization([[2.0]]), depth=2, width=2)
    return net, net.init(seed=0, scale=0.5), (0.0, 1.0)
