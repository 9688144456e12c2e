"""Fuzzing the public Python API (issue 15, item 7): every call either succeeds with a finite,
consistent result or raises TypeError/ValueError whose message names the argument.

Each test changes one argument of a call that works (single-fault: so the error has exactly one
argument to name) to a value drawn from a pool of kinds: wrong types (None, strings, bytes,
complex, lists, objects, bools), NaN/inf, zero/negative, integers beyond the core's C types and
sizes beyond physical memory; arrays in every dtype (int, float32, float64, complex, bool, object,
strings), memory order (C, Fortran, strided and reversed views), with NaN/inf entries, empty, or
of a wrong shape. Every pool entry says whether it is valid (must succeed), invalid (must raise a
clear error) or either. Forbidden whatever the value: IndexError, AttributeError, KeyError,
ZeroDivisionError, OverflowError, MemoryError, SystemError, pybind11's "incompatible function
arguments", a ComplexWarning (an imaginary part silently dropped), a non-finite result from
valid input.

Reproducible (``derandomize=True``, no example database) and sized for about 30 s in CI.
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import overflow as of
from overflow import _validate
from overflow.analysis import hessian_vector_product, linearization

settings.register_profile(
    "fuzz_api",
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
FUZZ = settings.get_profile("fuzz_api")

OK, BAD, EITHER = True, False, None
_ComplexWarning = getattr(np, "exceptions", np).ComplexWarning
HUGE = 10**13  # a size whose float64 matrix needs ~80 TB: beyond any machine's memory


def outcome(call, names, valid, check=None):
    """Run ``call``; enforce the contract above. ``names``: the argument names one of which a
    raised message must contain. ``valid``: OK, BAD or EITHER. ``check(result)`` on success."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", _ComplexWarning)
        warnings.simplefilter("ignore", of.ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        try:
            result = call()
        except (TypeError, ValueError) as exc:
            msg = str(exc)
            assert "incompatible function arguments" not in msg, msg
            assert valid is not OK, f"a valid call raised {type(exc).__name__}: {msg}"
            assert any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(n)}(?![A-Za-z0-9])", msg) for n in names), (
                f"{type(exc).__name__} does not name any of {names}: {msg}"
            )
            return None
    assert valid is not BAD, f"invalid input accepted for {names}: returned {result!r:.200}"
    if check is not None:
        check(result)
    return result


def finite(x) -> bool:
    return bool(np.all(np.isfinite(np.asarray(x, dtype=np.float64))))


# -- value pools ---------------------------------------------------------------------------------

WRONG_TYPES = [
    ("None", None, BAD),
    ("str", "1", BAD),
    ("bytes", b"1", BAD),
    ("complex", 1 + 1j, BAD),
    ("np.complex", np.complex128(0.5 + 0j), BAD),
    ("list", [1.0], BAD),
    ("object", object(), BAD),
    ("dict", {}, BAD),
]


def merged(pool, extra):
    """``pool`` with the entries of ``extra`` replacing those of the same label."""
    labels = {label for label, _, _ in extra}
    return [e for e in pool if e[0] not in labels] + list(extra)


def positive_real(allow_inf=False, extra=()):
    """A pool for an argument that must be a positive real number."""
    return merged(_positive_real(allow_inf), extra)


def _positive_real(allow_inf):
    return [
        ("float", 0.5, OK),
        ("int", 1, OK),
        ("np.float32", np.float32(0.25), OK),
        ("np.int64", np.int64(2), OK),
        ("0-d array", np.array(0.125), OK),
        ("zero", 0.0, BAD),
        ("negative", -1.0, BAD),
        ("nan", math.nan, BAD),
        ("inf", math.inf, OK if allow_inf else BAD),
        ("-inf", -math.inf, BAD),
        ("bool", True, BAD),
        ("int beyond float", 10**400, BAD),
        *WRONG_TYPES,
    ]


def count(minimum=1, maximum=_validate.INT64_MAX, valid=(1, 2)):
    """A pool for an integer argument in [minimum, maximum]."""
    pool = [(f"int {v}", v, OK) for v in valid]
    pool += [
        ("np.int64", np.int64(valid[-1]), OK),
        ("0-d int array", np.array(valid[0]), OK),
        ("below", minimum - 1, BAD),
        ("-1", -1, BAD if minimum > -1 else OK),
        ("2**31", 2**31, EITHER),
        ("2**63", 2**63, BAD),
        ("2**64", 2**64, BAD),
        ("10**30", 10**30, BAD),
        ("float", 2.5, BAD),
        ("integral float", 2.0, BAD),
        ("bool", True, BAD),
        ("nan", math.nan, BAD),
        *WRONG_TYPES,
    ]
    if maximum is not None and maximum < 2**31:
        pool = [(k, v, BAD if k == "2**31" else ok) for k, v, ok in pool]
    return pool


def variants(A, name="A"):
    """A real float64 array ``A`` as every dtype, memory order and corruption: (label, value, valid)
    with ``valid`` OK for the representations of the same numbers, BAD for everything else
    (EITHER for bool, whose conversion numpy allows but which is rarely meant)."""
    A = np.asarray(A, dtype=np.float64)
    out = [("float64 C", A.copy(), OK), ("Fortran", np.asfortranarray(A), OK), ("list", A.tolist(), OK)]
    if A.ndim >= 1:
        strided = np.repeat(A, 2, axis=-1)[..., ::2]
        out += [("strided view", strided, OK), ("reversed twice", A[::-1][::-1], OK)]
    rounded = np.round(A)
    out += [
        ("int64", rounded.astype(np.int64), EITHER),
        ("float32", A.astype(np.float32), EITHER),
        ("bool", A != 0, EITHER),
        ("complex", A + 1j, BAD),
        ("complex zero imag", A.astype(np.complex128), BAD),
        ("object complex", (A + 1j).astype(object), BAD),
        ("strings", A.astype(str), BAD),
        ("None", None, BAD),
        ("str", "abc", BAD),
        ("scalar complex", 1j, BAD),
    ]
    if A.size:
        nan = A.copy()
        nan.flat[-1] = np.nan
        inf = A.copy()
        inf.flat[0] = np.inf
        out += [
            ("nan entry", nan, BAD),
            ("inf entry", inf, BAD),
            ("empty", A[..., :0], BAD),
            ("extra axis", A[..., None], BAD),
        ]
    return out


# -- the problems the calls start from ------------------------------------------------------------

TARGET = np.array([[2.0, 0.5], [0.0, 1.0]])
COST = of.costs.matrix_factorization(TARGET)
NET = of.Network(COST, depth=3, width=3)
WS = NET.init(seed=0)
VCOST = of.costs.matrix_factorization(np.array([[1.0]]))  # the vector case: f(z) = (z - 1)^2 / 2, f'(0) = -1
VNET = of.Network(VCOST, depth=2, width=3)


def layers_with(i, value):
    Ws = list(WS)
    Ws[i] = value
    return Ws


def ws_pool():
    """Layer lists with one layer replaced by a variant, plus whole-argument faults."""
    pool = []
    for i, W in enumerate(WS):
        for label, value, valid in variants(W):
            ok = OK if valid is OK else (EITHER if valid is EITHER else BAD)
            pool.append((f"Ws[{i}] {label}", layers_with(i, value), ok))
        pool.append((f"Ws[{i}] transposed", layers_with(i, W.T.copy()), BAD if W.shape[0] != W.shape[1] else OK))
    flat = NET.flatten(WS)
    pool += [
        ("flat state", flat, OK),
        ("flat complex", flat + 0j, BAD),
        ("flat short", flat[:-1], BAD),
        ("flat strings", flat.astype(str), BAD),
        ("flat object", flat.astype(object), EITHER),
        ("missing layer", WS[:-1], BAD),
        ("extra layer", WS + [WS[0]], BAD),
        ("tuple", tuple(WS), OK),
        ("one array", WS[0], BAD),
        ("stacked 3-D", np.zeros((3, 3, 2)), BAD),
        ("None", None, BAD),
        ("str", "Ws", BAD),
        ("dict", {"W1": WS[0]}, BAD),
        ("int", 3, BAD),
    ]
    return pool


WS_POOL = ws_pool()


def check_layers(out):
    assert isinstance(out, list) and len(out) == NET.depth
    for W, shape in zip(out, NET.shapes):
        assert W.shape == shape and W.dtype == np.float64 and finite(W)


# -- Network --------------------------------------------------------------------------------------

NETWORK_POOLS = {
    "cost": [("Cost", COST, OK), ("function", lambda P: 0.0, BAD), ("array", TARGET, BAD), *WRONG_TYPES],
    "depth": [*count(valid=(1, 3)), ("huge", 10**12, BAD)],
    "width": [*[e for e in count(valid=(1, 4)) if e[0] != "None"], ("huge", HUGE, BAD)],
    "widths": [
        ("list", [2, 3], OK),
        ("np.array", np.array([2, 3]), OK),
        ("tuple of np.int64", (np.int64(2), 3), OK),
        ("int", 5, BAD),
        ("short", [2], BAD),
        ("long", [2, 3, 4], BAD),
        ("zero", [2, 0], BAD),
        ("float", [2.5, 3], BAD),
        ("str", "23", BAD),
        ("complex", [2 + 0j, 3], BAD),
        ("huge", [HUGE, 2], BAD),
        ("2**63", [2**63, 2], BAD),
        ("None entry", [None, 2], BAD),
        ("bool", [True, 2], BAD),
        ("set", {2, 3}, BAD),
        ("dict", {0: 2, 1: 3}, BAD),
    ],
    "activation": [
        ("None", None, OK),
        ("isru", "isru", OK),
        ("tanh", "tanh", OK),
        ("unknown name", "swish", BAD),
        ("int", 1, BAD),
        ("list", ["isru"], BAD),
        ("bytes", b"isru", BAD),
    ],
}


@settings(FUZZ, max_examples=120)
@given(data=st.data())
def test_network_constructor(data):
    name = data.draw(st.sampled_from(sorted(NETWORK_POOLS)), label="argument")
    label, value, valid = data.draw(st.sampled_from(NETWORK_POOLS[name]), label=name)
    kwargs = dict(cost=COST, depth=3, width=3)
    if name == "widths":
        kwargs.pop("width")
    if name == "depth" and valid is OK:
        kwargs["width"] = 2
    kwargs[name] = value

    def check(net):
        assert net.depth == len(net.shapes) and net.state_size == sum(r * c for r, c in net.shapes)
        assert all(isinstance(k, int) for k in net.dims)
        y = net.flatten(net.init(seed=1))
        assert y.shape == (net.state_size,) and finite(y)

    outcome(lambda: of.Network(**kwargs), [name], valid, check)


INIT_POOLS = {
    "seed": [
        ("0", 0, OK),
        ("None", None, OK),
        ("np.int64", np.int64(7), OK),
        ("Generator", "rng", OK),
        ("negative", -1, BAD),
        ("float", 1.5, BAD),
        ("str", "a", BAD),
        ("complex", 1j, BAD),
        ("bool", True, BAD),
        ("object", object(), BAD),
    ],
    "scale": positive_real(),
    "kind": [
        ("gaussian", "gaussian", OK),
        ("balanced", "balanced", OK),
        ("orthogonal", "orthogonal", OK),
        ("xavier", "xavier", BAD),
        ("int", 1, BAD),
        ("None", None, BAD),
        ("list", ["gaussian"], BAD),
        ("array", np.array(["gaussian", "balanced"]), BAD),
    ],
}


@settings(FUZZ, max_examples=80)
@given(data=st.data())
def test_network_init(data):
    name = data.draw(st.sampled_from(sorted(INIT_POOLS)), label="argument")
    label, value, valid = data.draw(st.sampled_from(INIT_POOLS[name]), label=name)
    if label == "Generator":
        value = np.random.default_rng(3)
    outcome(lambda: NET.init(**{name: value}), [name], valid, check_layers)


# -- one state: Network methods, invariants, analysis ---------------------------------------------

REFERENCE = {
    "loss": NET.loss(WS),
    "product": NET.product(WS),
    "gradient": NET.gradient(WS),
    "invariants": of.invariants(WS),
    "imbalance": of.imbalance(WS),
}


def _same(a, b):
    if isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    else:
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)  # float32 / int variants convert exactly or close


STATE_CALLS = {
    "flatten": (lambda Ws: NET.flatten(Ws), lambda y: y.shape == (NET.state_size,) and finite(y)),
    "loss": (lambda Ws: NET.loss(Ws), None),
    "product": (lambda Ws: NET.product(Ws), None),
    "gradient": (lambda Ws: NET.gradient(Ws), None),
    "integrate": (
        lambda Ws: of.integrate(NET, Ws, (0.0, 0.5), method="dopri5"),
        lambda r: r.status == "t_end" and finite(r.final_state),
    ),
    "Solver": (lambda Ws: of.Solver(NET, Ws, method="dopri5"), lambda s: finite(s.y)),
    "critical_point": (lambda Ws: of.critical_point(NET, Ws), lambda c: finite(c.min_eigenvalue)),
    "hessian_vector_product": (lambda Ws: hessian_vector_product(NET, Ws, WS), None),
}


@settings(FUZZ, max_examples=180)
@given(data=st.data())
def test_functions_of_one_state(data):
    fname = data.draw(st.sampled_from(sorted(STATE_CALLS)), label="function")
    label, Ws, valid = data.draw(st.sampled_from(WS_POOL), label="Ws")
    call, check = STATE_CALLS[fname]
    result = outcome(lambda: call(Ws), ["Ws"], valid, None if check is None else (lambda r: _assert(check(r))))
    # the same numbers in another dtype or memory order give the same answer
    if result is not None and valid is OK and fname in REFERENCE and "transposed" not in label:
        _same(result, REFERENCE[fname])


def _assert(ok):
    assert ok is None or ok


def chain_pool():
    """Layer lists for `invariants` / `imbalance`, which take any chain of layers (no network)."""
    pool = []
    for label, Ws, valid in WS_POOL:
        if label.startswith(("flat", "missing", "extra", "Ws[0] transposed", "Ws[2] transposed")):
            continue  # fine for a chain without a network, or a flat state (checked below)
        if "nan entry" in label or "inf entry" in label or "empty" in label:
            valid = EITHER  # NaN in, NaN out: not silently wrong; a (3, 0) layer is a chain too
        pool.append((label, Ws, valid))
    traj = [np.stack([W, 2 * W]) for W in WS]
    pool += [
        ("trajectory", traj, OK),
        ("trajectory with ragged T", [traj[0], traj[1][:1], traj[2]], BAD),
        ("mixed 2-D and 3-D", [traj[0], WS[1], WS[2]], BAD),
        ("flat state", NET.flatten(WS), BAD),
        ("empty list", [], BAD),
        ("1-D layers", [W.ravel() for W in WS], BAD),
        ("not chaining", [WS[0], WS[0], WS[2]], BAD),
    ]
    return pool


CHAIN_POOL = chain_pool()


@settings(FUZZ, max_examples=120)
@given(data=st.data())
def test_invariants_and_imbalance(data):
    fname = data.draw(st.sampled_from(["invariants", "imbalance"]), label="function")
    label, Ws, valid = data.draw(st.sampled_from(CHAIN_POOL), label="Ws")
    fn = getattr(of, fname)
    result = outcome(lambda: fn(Ws), ["Ws", "layers"], valid)
    if result is not None and valid is OK and label != "trajectory" and "transposed" not in label:
        _same(result, REFERENCE[fname])


@settings(FUZZ, max_examples=60)
@given(data=st.data())
def test_invariants_activation(data):
    label, act, valid = data.draw(st.sampled_from(NETWORK_POOLS["activation"]), label="activation")
    Ws = [np.array([[0.5], [-0.3]]), np.array([[0.2, 0.7]])]
    outcome(lambda: of.invariants(Ws, activation=act), ["activation"], valid, lambda r: _assert(finite(r[0])))


@settings(FUZZ, max_examples=80)
@given(data=st.data())
def test_unflatten(data):
    y = NET.flatten(WS)
    pool = variants(y) + [("stack", np.stack([y, y]), OK), ("short", y[:-1], BAD), ("scalar", 1.0, BAD)]
    label, value, valid = data.draw(st.sampled_from(pool), label="y")
    if "nan" in label or "inf" in label:
        valid = EITHER  # unflatten only splits (it is how results are read back)
    outcome(
        lambda: NET.unflatten(value),
        ["y"],
        valid,
        lambda out: _assert(len(out) == NET.depth and all(W.shape[-2:] == s for W, s in zip(out, NET.shapes))),
    )


ANALYSIS_POOLS = {
    "tol": positive_real(extra=[("zero", 0.0, OK)]),
    "scale": positive_real(extra=[("None", None, OK)]),
    "dense_limit": [*count(minimum=0, valid=(0, 600)), ("below", -1, BAD)],
    "net": [("Network", NET, OK), ("swapped (Ws)", WS, BAD), ("cost", COST, BAD), *WRONG_TYPES],
}


@settings(FUZZ, max_examples=80)
@given(data=st.data())
def test_critical_point_options(data):
    name = data.draw(st.sampled_from(sorted(ANALYSIS_POOLS)), label="argument")
    label, value, valid = data.draw(st.sampled_from(ANALYSIS_POOLS[name]), label=name)
    kwargs = {"net": NET, "Ws": WS, name: value}
    names = [name, "Ws"] if name == "net" else [name]
    outcome(
        lambda: of.critical_point(**kwargs),
        names,
        valid,
        lambda c: _assert(c.kind in ("not_critical", "critical_of_f", "strict_saddle", "degenerate")),
    )


@settings(FUZZ, max_examples=40)
@given(data=st.data())
def test_linearization(data):
    origin = [np.zeros(s) for s in NET.shapes]  # a critical point of g for depth 3
    name = data.draw(st.sampled_from(["tol", "scale", "net"]), label="argument")
    label, value, valid = data.draw(st.sampled_from(ANALYSIS_POOLS[name]), label=name)
    kwargs = {"net": NET, "Ws": origin, name: value}
    if name == "tol" and label == "zero":
        valid = EITHER
    outcome(lambda: linearization(**kwargs), [name, "Ws", "tol"], valid, lambda lin: _assert(finite(lin.eigenvalues)))


# -- integrate and Solver -------------------------------------------------------------------------

LB = of.events.loss_below


def _t_span_pool():
    return [
        ("tuple", (0.0, 1.0), OK),
        ("list", [0, 1], OK),
        ("array", np.array([0.0, 1.0]), OK),
        ("np.float32", (np.float32(0.0), np.float32(0.5)), OK),
        ("reversed", (1.0, 0.0), BAD),
        ("empty span", (1.0, 1.0), BAD),
        ("one", (0.0,), BAD),
        ("three", (0.0, 1.0, 2.0), BAD),
        ("str", "01", BAD),
        ("None", None, BAD),
        ("nan end", (0.0, math.nan), BAD),
        ("nan start", (math.nan, 1.0), BAD),
        ("inf without stop", (0.0, math.inf), BAD),
        ("-inf start", (-math.inf, 1.0), BAD),
        ("length overflows", (-1e308, 1e308), BAD),
        ("complex", (0.0, 1 + 1j), BAD),
        ("str entries", ("0", "1"), BAD),
        ("bool", (False, True), BAD),
        ("too short", (1.0, 1.0 + 1e-16), BAD),
        ("2-D array", np.array([[0.0, 1.0]]), BAD),
        ("dict", {0: 0.0, 1: 1.0}, BAD),
        ("int beyond float", (0, 10**400), BAD),
    ]


INTEGRATE_POOLS = {
    "t_span": _t_span_pool(),
    "method": [
        *[(m, m, OK) for m in ("bs3", "dopri5", "tsit5", "dop853", "auto", "gauss4", "rodas4")],
        ("reduced (not the vector case)", "reduced", BAD),
        ("unknown", "rk4", BAD),
        ("None", None, BAD),
        ("int", 5, BAD),
        ("list", ["dopri5"], BAD),
        ("bytes", b"dopri5", BAD),
    ],
    "rtol": positive_real(),
    "atol": positive_real(),
    "gtol": positive_real(extra=[("None", None, OK)]),
    "first_step": positive_real(extra=[("None", None, OK)]),
    "max_step": positive_real(allow_inf=True),
    "max_norm": positive_real(allow_inf=True),
    "max_steps": [*count(valid=(1, 1000)), ("huge", 10**30, BAD)],
    "threads": [e for e in count(maximum=_validate.INT32_MAX, valid=(1, 2))],
    "t_eval": [
        ("None", None, OK),
        ("list", [0.25, 0.5], OK),
        ("array", np.linspace(0.0, 1.0, 5), OK),
        ("scalar", 0.5, OK),
        ("float32", np.array([0.25, 0.5], dtype=np.float32), OK),
        ("strings", ["a"], BAD),
        ("str", "0.5", BAD),
        ("complex", [0.5 + 1j], BAD),
        ("complex zero imag", np.array([0.5], dtype=complex), BAD),
        ("2-D", [[0.1], [0.2]], BAD),
        ("empty", [], BAD),
        ("outside", [2.0], BAD),
        ("before", [-0.5], BAD),
        ("decreasing", [0.5, 0.2], BAD),
        ("repeated", [0.5, 0.5], BAD),
        ("nan", [math.nan], BAD),
        ("inf", [math.inf], BAD),
        ("bool", [True], BAD),
        ("object", np.array([object()]), BAD),
        ("set", {0.5}, BAD),
        ("ragged", [[0.1], [0.2, 0.3]], BAD),
        ("None entry", [None], BAD),
    ],
    "save_weights": [
        ("True", True, OK),
        ("False", False, OK),
        ("np.bool_", np.bool_(True), OK),
        ("int", 1, EITHER),
        ("str", "yes", EITHER),
        ("None", None, EITHER),
    ],
    "project": [("True", True, OK), ("False", False, OK), ("int", 1, BAD), ("str", "no", BAD), ("None", None, BAD)],
    "events": [
        ("None", None, OK),
        ("built-in", LB(1e-3), OK),
        ("list", [LB(0.1, terminal=False)], OK),
        ("grad_norm_below", of.events.grad_norm_below(1e-4), OK),
        ("number", 3.0, BAD),
        ("str", "x", BAD),
        ("None in list", [None], BAD),
        ("bogus Event", of.events.Event("bogus", 1.0), BAD),
        ("Event with nan", of.events.Event("loss_below", math.nan), BAD),
        ("Event with bad terminal", of.events.Event("loss_below", 1.0, terminal=-1), BAD),
        ("Event with bad direction", of.events.Event("loss_below", 1.0, direction=5), BAD),
    ],
}


@settings(FUZZ, max_examples=200)
@given(data=st.data())
def test_integrate_options(data):
    name = data.draw(st.sampled_from(sorted(INTEGRATE_POOLS)), label="argument")
    label, value, valid = data.draw(st.sampled_from(INTEGRATE_POOLS[name]), label=name)
    kwargs = dict(t_span=(0.0, 1.0), method="dopri5", max_steps=1000)
    kwargs[name] = value
    names = [name]
    if name == "t_span" and label == "inf without stop":
        names.append("gtol")

    def check(res):
        assert res.status in ("t_end", "converged", "event", "max_steps", "blowup")  # blowup: a small max_norm
        assert finite(res.final_state) and math.isfinite(res.final_loss)
        t0, t1 = (float(v) for v in kwargs["t_span"])
        assert t0 <= res.t_final <= t1
        assert np.all(np.diff(res.t) > 0) and finite(res.loss)

    outcome(lambda: of.integrate(NET, WS, **kwargs), names, valid, check)


@settings(FUZZ, max_examples=40)
@given(data=st.data())
def test_integrate_reduced(data):
    w1, w2 = of.vector.init_with(0.3, 0.5, 3)
    Ws = [w1, w2]
    name = data.draw(st.sampled_from(["t_span", "rtol", "gtol", "max_norm", "t_eval"]), label="argument")
    label, value, valid = data.draw(st.sampled_from(INTEGRATE_POOLS[name]), label=name)
    kwargs = dict(t_span=(0.0, 1.0), method="reduced")
    kwargs[name] = value
    outcome(
        lambda: of.integrate(VNET, Ws, **kwargs),
        [name, "gtol"],
        valid,
        lambda r: _assert(finite(r.final_state) and math.isfinite(r.final_loss)),
    )


SOLVER_POOLS = {
    "t0": [
        ("0", 0.0, OK),
        ("int", 1, OK),
        ("negative", -3.0, OK),
        ("nan", math.nan, BAD),
        ("inf", math.inf, BAD),
        ("bool", True, BAD),
        *WRONG_TYPES,
    ],
    **{k: INTEGRATE_POOLS[k] for k in ("method", "rtol", "atol", "first_step", "max_step", "project", "events")},
}


@settings(FUZZ, max_examples=100)
@given(data=st.data())
def test_solver(data):
    name = data.draw(st.sampled_from(sorted(SOLVER_POOLS)), label="argument")
    label, value, valid = data.draw(st.sampled_from(SOLVER_POOLS[name]), label=name)
    if name == "method" and label.startswith("reduced"):
        valid = BAD

    def run():
        s = of.Solver(NET, WS, **{"method": "dopri5", name: value})
        s.step_to(s.t + 0.1)
        return s

    outcome(run, [name], valid, lambda s: _assert(finite(s.y) and math.isfinite(s.loss)))


@settings(FUZZ, max_examples=80)
@given(data=st.data())
def test_solver_steps(data):
    method = data.draw(st.sampled_from(["step", "step_to", "dense"]), label="method")
    s = of.Solver(NET, WS, method="dopri5")
    s.step(1.0)
    inside = 0.5 * (s.t_prev + s.t)
    pool = [
        ("inside", inside, OK if method == "dense" else EITHER),
        ("ahead", s.t + 0.5, OK if method != "dense" else BAD),
        ("past", s.t - 10.0, BAD),
        ("nan", math.nan, BAD),
        ("inf", math.inf, OK if method == "step" else BAD),
        ("np.float32", np.float32(s.t + 0.25), EITHER),
        ("0-d array", np.array(s.t + 0.25), EITHER),
        ("bool", True, BAD),
        *WRONG_TYPES,
    ]
    label, value, valid = data.draw(st.sampled_from(pool), label="t")
    names = {"step": ["t_bound"], "step_to": ["t"], "dense": ["t"]}[method]
    outcome(lambda: getattr(s, method)(value), names, valid)


# -- costs ----------------------------------------------------------------------------------------

_X = np.array([[1.0, 0.5, -0.3, 0.2], [0.1, -1.0, 0.4, 0.8]])  # (n, s) = (2, 4)
_Y = np.array([[0.5, 0.1, -0.2, 0.3]])  # (m, s) = (1, 4)
_LABELS = np.array([1.0, -1.0, 1.0, -1.0])
_CLASSES = np.array([0, 2, 1, 0])
_A = np.array([[0.0, 1.0], [-1.0, -0.5]])
_B = np.array([[0.0], [1.0]])


COST_CALLS = {
    "matrix_factorization": (of.costs.matrix_factorization, {"target": TARGET}),
    "linear_regression": (of.costs.linear_regression, {"X": _X, "Y": _Y}),
    "ridge": (of.costs.ridge, {"X": _X, "Y": _Y, "lam": 0.1}),
    "logistic": (of.costs.logistic, {"X": _X, "y": _LABELS}),
    "softmax_cross_entropy": (of.costs.softmax_cross_entropy, {"X": _X, "Y": _CLASSES}),
    "log_cosh": (of.costs.log_cosh, {"X": _X, "Y": _Y}),
    "matrix_sensing": (of.costs.matrix_sensing, {"A_ops": np.stack([np.eye(2), TARGET]), "b": np.array([1.0, 2.0])}),
    "lqr": (of.costs.lqr, {"A": _A, "B": _B, "Q": np.eye(2), "R": np.eye(1), "Sigma0": np.eye(2)}),
    "dlqr": (of.costs.dlqr, {"A": 0.5 * _A, "B": _B, "Q": np.eye(2), "R": np.eye(1), "Sigma0": np.eye(2)}),
    "lqr_optimal": (of.costs.lqr_optimal, {"A": _A, "B": _B, "Q": np.eye(2), "R": np.eye(1)}),
}


@settings(FUZZ, max_examples=200)
@given(data=st.data())
def test_cost_constructors(data):
    cname = data.draw(st.sampled_from(sorted(COST_CALLS)), label="constructor")
    ctor, base = COST_CALLS[cname]
    name = data.draw(st.sampled_from(sorted(base)), label="argument")
    if name == "lam":
        pool = positive_real(extra=[("zero", 0.0, EITHER)])
    else:
        pool = variants(base[name])
        pool += [("transposed", np.asarray(base[name]).T.copy(), EITHER), ("missing (None)", None, BAD)]
    label, value, valid = data.draw(st.sampled_from(pool), label=name)
    if name in ("Y", "y") and cname in ("logistic", "softmax_cross_entropy") and label == "bool":
        valid = EITHER
    kwargs = dict(base, **{name: value})

    def check(result):
        if isinstance(result, of.Cost):
            P = np.full(result.shape, 0.1) if cname != "lqr" else np.array([[1.0, 1.0]])
            v, g = result.value_and_grad(P)
            assert isinstance(v, float) and g.shape == result.shape
        else:
            assert finite(result)

    outcome(lambda: ctor(**kwargs), [name], valid, check)


@settings(FUZZ, max_examples=60)
@given(data=st.data())
def test_softmax_classes(data):
    pool = merged(
        WRONG_TYPES,
        [
            ("None", None, OK),
            ("3", 3, OK),
            ("np.int64", np.int64(5), OK),
            ("too few", 2, BAD),
            ("zero", 0, BAD),
            ("huge", 10**12, BAD),
            ("2**63", 2**63, BAD),
            ("float", 3.0, BAD),
            ("bool", True, BAD),
        ],
    )
    label, value, valid = data.draw(st.sampled_from(pool), label="classes")
    outcome(
        lambda: of.costs.softmax_cross_entropy(_X, _CLASSES, classes=value),
        ["classes"],
        valid,
        lambda c: _assert(c.shape[0] >= 3),
    )


@settings(FUZZ, max_examples=80)
@given(data=st.data())
def test_cost_evaluation(data):
    method = data.draw(st.sampled_from(["value", "gradient", "hvp P", "hvp V"]), label="method")
    pool = variants(np.array([[1.0, 0.5], [0.25, -1.0]])) + [("wrong shape", np.ones((3, 2)), BAD)]
    label, value, valid = data.draw(st.sampled_from(pool), label="P")
    if label in ("nan entry", "inf entry"):
        valid = EITHER  # f outside its domain is NaN by contract
    if label == "bool":
        valid = BAD  # the evaluation methods take real float arrays only (documented)
    calls = {
        "value": lambda: COST.value(value),
        "gradient": lambda: COST.gradient(value),
        "hvp P": lambda: COST.hvp(value, np.ones((2, 2))),
        "hvp V": lambda: COST.hvp(np.ones((2, 2)), value),
    }
    outcome(calls[method], ["V" if method == "hvp V" else "P"], valid)


def _kernel(P):
    return 0.5 * np.sum(P * P)


@settings(FUZZ, max_examples=60)
@given(data=st.data())
def test_user_cost_arguments(data):
    """Invalid arguments of `overflow.cost` (the valid ones compile a kernel: test_user_cost)."""
    pools = {
        "shape": [
            ("zero", (0, 2), BAD),
            ("huge", (10**6, 10**6), BAD),
            ("2**63", (2**63, 1), BAD),
            ("three", (1, 2, 3), BAD),
            ("str", "ab", BAD),
            ("int", 3, BAD),
            ("None", None, BAD),
            ("float", (2.0, 2), BAD),
            ("complex", (2j, 2), BAD),
            ("negative", (-1, 2), BAD),
        ],
        "hvp": [("unknown mode", "exact", BAD), ("int", 3, BAD), ("list", ["auto"], BAD)],
        "f_star": [
            ("nan", math.nan, BAD),
            ("inf", math.inf, BAD),
            ("str", "0", BAD),
            ("complex", 1j, BAD),
            ("list", [0.0], BAD),
        ],
    }
    name = data.draw(st.sampled_from(sorted(pools)), label="argument")
    label, value, valid = data.draw(st.sampled_from(pools[name]), label=name)
    kwargs = {"shape": (2, 2), name: value}
    outcome(lambda: of.cost(**kwargs)(_kernel), [name], valid)


# -- events and samplers ----------------------------------------------------------------------------


@settings(FUZZ, max_examples=80)
@given(data=st.data())
def test_event_builders(data):
    builder = data.draw(
        st.sampled_from([of.events.loss_below, of.events.grad_norm_below, of.events.invariant_drift_above]),
        label="builder",
    )
    name = data.draw(st.sampled_from(["value", "terminal"]), label="argument")
    pools = {
        "value": [
            ("float", 0.1, OK),
            ("int", 1, OK),
            ("negative", -1.0, OK),
            ("np.float32", np.float32(0.5), OK),
            ("nan", math.nan, BAD),
            ("inf", math.inf, BAD),
            ("bool", True, BAD),
            *WRONG_TYPES,
        ],
        "terminal": [
            ("True", True, OK),
            ("False", False, OK),
            ("count", 3, OK),
            ("np.bool_", np.bool_(True), OK),
            ("negative", -1, BAD),
            ("float", 1.5, BAD),
            ("nan", math.nan, BAD),
            *WRONG_TYPES,
        ],
    }
    label, value, valid = data.draw(st.sampled_from(pools[name]), label=name)
    kwargs = {"value": 0.1, name: value}
    outcome(lambda: builder(**kwargs), [name, builder.__name__], valid)


SAMPLER_CALLS = {
    "gaussian": (of.samplers.gaussian, {"scale": 0.3}),
    "uniform": (of.samplers.uniform, {"scale": 0.3}),
    "orthogonal": (of.samplers.orthogonal, {"scale": 0.3}),
    "balanced": (of.samplers.balanced, {"scale": 0.3}),
    "center_stable": (of.samplers.center_stable, {"eps": 0.1, "scale": 0.3}),
    "imbalanced": (of.samplers.imbalanced, {"c": 1.0, "z0": 0.5}),
}


@settings(FUZZ, max_examples=120)
@given(data=st.data())
def test_sampler_constructors(data):
    sname = data.draw(st.sampled_from(sorted(SAMPLER_CALLS)), label="sampler")
    ctor, base = SAMPLER_CALLS[sname]
    name = data.draw(st.sampled_from(sorted(base)), label="argument")
    if name in ("c", "z0"):
        pool = [
            ("number", 0.5, OK),
            ("pair", (0.1, 2.0), OK),
            ("list", [0.1, 2.0], OK),
            ("reversed", (2.0, 0.1), BAD),
            ("nan", math.nan, BAD),
            ("nan pair", (0.0, math.nan), BAD),
            ("three", (0.0, 1.0, 2.0), BAD),
            ("str pair", ("a", 1.0), BAD),
            ("complex", 1j, BAD),
            ("complex pair", (0.0, 1j), BAD),
            *WRONG_TYPES,
        ]
        if name == "c":
            pool.append(("negative", -1.0, BAD))
    else:
        pool = positive_real(extra=[("zero", 0.0, OK if name == "eps" else BAD)])
    label, value, valid = data.draw(st.sampled_from(pool), label=name)
    kwargs = dict(base, **{name: value})
    net = VNET if sname in ("center_stable", "imbalanced") else NET

    def check(sampler):
        states = sampler.states(net, 0, 0, 3)
        assert states.shape == (3, net.state_size) and finite(states)

    outcome(lambda: ctor(**kwargs), [name], valid, check)


@settings(FUZZ, max_examples=80)
@given(data=st.data())
def test_sampler_draws(data):
    sampler = of.samplers.gaussian(0.3)
    name = data.draw(st.sampled_from(["net", "seed", "start", "stop", "index"]), label="argument")
    pools = {
        "net": [("Network", NET, OK), ("cost", COST, BAD), ("layers", WS, BAD), *WRONG_TYPES],
        "seed": count(minimum=0, maximum=None, valid=(0, 7)),
        "start": count(minimum=0, valid=(0, 1)),
        "stop": [*count(minimum=0, valid=(2, 3)), ("huge", HUGE, BAD)],
        "index": count(minimum=0, valid=(0, 300)),
    }
    if name == "seed":
        pools["seed"] = [
            (k, v, OK if k in ("2**31", "2**63", "2**64", "10**30") else ok) for k, v, ok in pools["seed"]
        ]  # numpy seeds are unbounded non-negative ints
    label, value, valid = data.draw(st.sampled_from(pools[name]), label=name)
    if name == "index":
        names = ["start", "stop", "index"]
        call = lambda: sampler(NET, 0, value)  # noqa: E731
    else:
        args = {"net": NET, "seed": 0, "start": 0, "stop": 2, name: value}
        names = [name]
        call = lambda: sampler.states(**args)  # noqa: E731
    if name == "start" and valid is OK and value > 2:
        valid = BAD
    outcome(call, names, valid)


@settings(FUZZ, max_examples=80)
@given(data=st.data())
def test_samplers_from_array(data):
    states = np.stack([NET.flatten(NET.init(seed=s)) for s in range(3)])
    pool = variants(states, "states") + [
        ("layers", NET.unflatten(states), OK),
        ("complex layers", [W + 1j for W in NET.unflatten(states)], BAD),
        ("1-D", states[0], BAD),
        ("ragged layers", [np.stack([WS[0]] * 3), np.stack([WS[1]] * 2)], BAD),
    ]
    label, value, valid = data.draw(st.sampled_from(pool), label="states")
    if label == "empty":
        valid = EITHER
    result = outcome(lambda: of.samplers.from_array(value), ["states"], valid)
    if result is not None and valid is OK:
        np.testing.assert_array_equal(result.states(NET, 0, 0, 3), states)


# -- the vector case --------------------------------------------------------------------------------

W1, W2 = of.vector.init_with(0.3, 0.5, 3, seed=1)


@settings(FUZZ, max_examples=100)
@given(data=st.data())
def test_vector_functions(data):
    fname = data.draw(st.sampled_from(["imbalance", "center_stable_distance", "predict"]), label="function")
    name = data.draw(st.sampled_from(["w1", "w2"]), label="argument")
    pool = variants(W1 if name == "w1" else W2)
    pool += [
        ("1-D", (W1 if name == "w1" else W2).ravel(), OK),
        ("wrong width", np.ones((2, 1)) if name == "w1" else np.ones((1, 2)), BAD),
    ]
    label, value, valid = data.draw(st.sampled_from(pool), label=name)
    if label == "bool":
        valid = BAD  # documented: real arrays
    if label in ("int64", "float32"):
        valid = OK
    args = {"w1": W1, "w2": W2, name: value}
    fn = getattr(of.vector, fname)
    call = (lambda: fn(args["w1"], args["w2"])) if fname == "imbalance" else (lambda: fn(args["w1"], args["w2"], VCOST))
    outcome(call, [name], valid)


@settings(FUZZ, max_examples=100)
@given(data=st.data())
def test_vector_init_with(data):
    pools = {
        "z0": [
            ("float", 0.3, OK),
            ("negative", -2.0, OK),
            ("int", 1, OK),
            ("nan", math.nan, BAD),
            ("inf", math.inf, BAD),
            ("bool", True, BAD),
            *WRONG_TYPES,
        ],
        "c": positive_real(extra=[("zero", 0.0, OK)]),
        "width": [*count(valid=(1, 5)), ("huge", HUGE, BAD)],
        "seed": INIT_POOLS["seed"],
    }
    name = data.draw(st.sampled_from(sorted(pools)), label="argument")
    label, value, valid = data.draw(st.sampled_from(pools[name]), label=name)
    if label == "Generator":
        value = np.random.default_rng(2)
    args = {"z0": 0.3, "c": 0.5, "width": 3, "seed": 0, name: value}

    def check(pair):
        w1, w2 = pair
        assert finite(w1) and finite(w2)
        assert abs((w2 @ w1).item() - args["z0"]) <= 1e-9 * (1 + abs(args["z0"]) + float(args["c"]))

    outcome(lambda: of.vector.init_with(**args), [name], valid, check)


@settings(FUZZ, max_examples=60)
@given(data=st.data())
def test_vector_reduced_flow(data):
    pools = {
        "t_span": _t_span_pool(),
        "t_eval": INTEGRATE_POOLS["t_eval"],
        "rtol": positive_real(),
        "atol": positive_real(),
        "cost": [("cost", VCOST, OK), ("2x2 cost", COST, BAD), *WRONG_TYPES],
        "c": positive_real(extra=[("zero", 0.0, OK)]),
    }
    name = data.draw(st.sampled_from(sorted(pools)), label="argument")
    label, value, valid = data.draw(st.sampled_from(pools[name]), label=name)
    if name == "t_span" and label == "inf without stop":
        valid = BAD
    args = {"cost": VCOST, "z0": 0.3, "c": 0.5, "t_span": (0.0, 1.0), name: value}
    names = [name, "shape"] if name == "cost" else [name]
    outcome(lambda: of.vector.reduced_flow(**args), names, valid, lambda r: _assert(finite(r.z) and finite(r.loss)))


# -- memory: sizes checked before anything is allocated -------------------------------------------------


@settings(FUZZ, max_examples=30)
@given(size=st.integers(min_value=10**11, max_value=10**40))
def test_sizes_beyond_memory_are_refused_before_allocating(size):
    for call, name in [
        (lambda: of.Network(COST, depth=3, width=size), "depth and width"),
        (lambda: of.Network(COST, depth=size, width=2), "depth and width"),
        (lambda: of.cost(shape=(size, 2)), "shape"),
        (lambda: of.costs.softmax_cross_entropy(_X, _CLASSES, classes=size), "classes"),
        (lambda: of.vector.init_with(0.3, 0.5, size), "width"),
        (lambda: of.samplers.gaussian(0.3).states(NET, 0, 0, size), "stop"),
    ]:
        with pytest.raises(ValueError, match=rf"\b({name}|depth|width)\b.* must "):
            call()


# -- the rest of the public surface: analysis helpers, the vector case's scalars, plots, costs -------


@settings(FUZZ, max_examples=80)
@given(data=st.data())
def test_analysis_helpers(data):
    from overflow.analysis import dense_hessian, hessian_operator, lemma17_direction

    net2 = of.Network(COST, depth=2, width=3)
    Ws2 = net2.init(seed=0)
    fname = data.draw(
        st.sampled_from(["dense_hessian", "hessian_operator", "lemma17_direction", "output"]), label="function"
    )
    name = data.draw(st.sampled_from(["net", "Ws"]), label="argument")
    pool = (
        ANALYSIS_POOLS["net"]
        if name == "net"
        else [
            ("layers", Ws2, OK),
            ("one array", Ws2[0], BAD),
            ("complex", [W + 1j for W in Ws2], BAD),
            ("strings", [W.astype(str) for W in Ws2], BAD),
            ("short", Ws2[:1], BAD),
            *WRONG_TYPES,
        ]
    )
    label, value, valid = data.draw(st.sampled_from(pool), label=name)
    if name == "net" and label == "Network":
        value = net2
    args = {"net": net2, "Ws": Ws2, name: value}
    if fname == "output":
        if name == "net":
            return
        call, names = (lambda: net2.output(args["Ws"])), ["layers", "Ws"]
    else:
        fn = {
            "dense_hessian": dense_hessian,
            "hessian_operator": hessian_operator,
            "lemma17_direction": lemma17_direction,
        }[fname]
        call, names = (lambda: fn(args["net"], args["Ws"])), [name, "Ws"]
    outcome(call, names, valid)


@settings(FUZZ, max_examples=80)
@given(data=st.data())
def test_vector_scalars(data):
    fname = data.draw(st.sampled_from(["time_to_loss", "predict", "sign"]), label="function")
    pools = {
        "time_to_loss": {
            "target": [
                ("float", 0.01, OK),
                ("negative", -1.0, OK),
                ("nan", math.nan, BAD),
                ("bool", True, BAD),
                *WRONG_TYPES,
            ],
            "rtol": positive_real(),
            "tau_max": positive_real(allow_inf=False),
        },
        "predict": {"tol": positive_real(extra=[("zero", 0.0, OK)])},
        "sign": {"cost": [("cost", VCOST, OK), ("2x2", COST, BAD), ("function", lambda z: z, BAD), *WRONG_TYPES]},
    }
    name = data.draw(st.sampled_from(sorted(pools[fname])), label="argument")
    label, value, valid = data.draw(st.sampled_from(pools[fname][name]), label=name)
    if fname == "time_to_loss":
        kwargs = {"target": 0.01, name: value}
        call = lambda: of.vector.time_to_loss(VCOST, 0.3, 0.5, **kwargs)  # noqa: E731
        check = lambda t: _assert(t >= 0)  # noqa: E731
    elif fname == "predict":
        call, check = (lambda: of.vector.predict(W1, W2, VCOST, tol=value)), None
    else:
        call, check = (lambda: of.vector.sign(value)), None
    outcome(call, [name, "shape"] if name == "cost" else [name], valid, check)


@settings(FUZZ, max_examples=50)
@given(data=st.data())
def test_plot_arguments(data):
    """Invalid arguments of `overflow.plot` are refused before matplotlib draws anything."""
    pytest.importorskip("matplotlib")
    from overflow import plot

    pools = {
        "phase_portrait lim": (
            lambda v: plot.phase_portrait(lim=v),
            "lim",
            [e for e in positive_real() if e[2] is BAD],
        ),
        "foliation n_starts": (
            lambda v: plot.foliation(n_starts=v),
            "n_starts",
            [e for e in count() if e[2] is BAD] + [("huge", 10**12, BAD)],
        ),
        "foliation t_final": (
            lambda v: plot.foliation(t_final=v),
            "t_final",
            [e for e in positive_real() if e[2] is BAD],
        ),
        "loss_vs_imbalance cs": (
            lambda v: plot.loss_vs_imbalance(VCOST, 0.3, v, (0.0, 1.0)),
            "cs",
            [("complex", [1j], BAD), ("strings", ["a"], BAD), ("empty", [], BAD), ("None", None, BAD)],
        ),
        "loss_vs_imbalance num": (
            lambda v: plot.loss_vs_imbalance(VCOST, 0.3, [1.0], (0.0, 1.0), num=v),
            "num",
            [e for e in count() if e[2] is BAD] + [("huge", 10**12, BAD)],
        ),
        "loss_vs_imbalance t_span": (
            lambda v: plot.loss_vs_imbalance(VCOST, 0.3, [1.0], v),
            "t_span",
            [e for e in _t_span_pool() if e[2] is BAD],
        ),
        "invariant_drift net": (
            lambda v: plot.invariant_drift(v, WS, (0.0, 1.0)),
            "net",
            [("swapped (Ws)", WS, BAD), ("cost", COST, BAD), *WRONG_TYPES],
        ),
    }
    key = data.draw(st.sampled_from(sorted(pools)), label="call")
    call, name, pool = pools[key]
    label, value, valid = data.draw(st.sampled_from(pool), label=name)
    outcome(lambda: call(value), [name], valid)


@settings(FUZZ, max_examples=40)
@given(data=st.data())
def test_scalar_cost_arguments(data):
    """`costs.scalar` refuses what it cannot compile with a TypeError naming the function."""
    pool = [
        ("str", "z**2", BAD),
        ("None", None, BAD),
        ("int", 3, BAD),
        ("array", np.ones(3), BAD),
        ("two parameters", lambda z, w: z * w, BAD),
    ]
    name = data.draw(st.sampled_from(["fn", "dfn", "d2fn", "f_star"]), label="argument")
    if name == "f_star":
        pool = [("nan", math.nan, BAD), ("str", "0", BAD), ("complex", 1j, BAD), ("list", [0.0], BAD)]
    label, value, valid = data.draw(st.sampled_from(pool), label=name)
    if name != "fn" and label == "None":
        return  # None means "derive it": valid, and compiling takes seconds
    kwargs = {"fn": _sq, name: value}
    outcome(lambda: of.costs.scalar(**kwargs), [name], valid)


def _sq(z):
    return (z - 1.0) ** 2
