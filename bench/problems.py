"""The three benchmark problems of the performance issue, as plain data.

``problem(name)`` returns a dict that every peer (scipy, numbalsoda, diffrax) and the
overflow side can consume:

    name, title        "a" | "b" | "c" and a one-line description
    dims               [n, k_1, ..., k_{N-1}, m]   (W_i has shape (dims[i+1], dims[i]))
    shapes             [(rows, cols)] per layer
    Ws                 list of float64 C-ordered arrays, W_1 ... W_N
    y0                 the flat state: the layers row-major, concatenated
    cost               dict(kind="matrix_factorization", target=T)  f = 1/2 ||P - T||_F^2
                       or dict(kind="scalar_sq", c=1.0)              f(z) = (c - z)^2  (m = n = 1)
    t_span, rtol, atol
    init_source        "overflow" (net.init) or "numpy" (the fallback below)
    net                the overflow Network, or None when overflow is not importable

Initial weights: when ``overflow.Network`` exists the package's own ``net.init(seed, scale)``
is used (``init="auto"``, the default); otherwise, or with ``init="numpy"``, each layer is
Gaussian with std ``scale / sqrt(fan_in)``, drawn in order W_1 ... W_N from
``numpy.random.default_rng(seed)``.
"""

from __future__ import annotations

import numpy as np

PROBLEMS = ("a", "b", "c")


def _spec(name):
    if name == "a":
        return dict(
            title="depth 3, width 16, 4x4 factorization, T = diag(3, 2, 1, 0.5)",
            depth=3,
            width=16,
            m=4,
            n=4,
            cost=dict(kind="matrix_factorization", target=np.diag([3.0, 2.0, 1.0, 0.5])),
            seed=0,
            scale=0.3,
            t_span=(0.0, 50.0),
            rtol=1e-8,
            atol=1e-10,
        )
    if name == "b":
        return dict(
            title="vector case: depth 2, width 100, m = n = 1, f(z) = (1 - z)^2",
            depth=2,
            width=100,
            m=1,
            n=1,
            cost=dict(kind="scalar_sq", c=1.0),
            seed=0,
            scale=0.3,
            t_span=(0.0, 20.0),
            rtol=1e-8,
            atol=1e-10,
        )
    if name == "c":
        # With std scale/sqrt(fan_in), scale = 0.3, the loss goes 25.5 -> 3.7 (t=5) -> 0.57 (t=10)
        # -> plateau 0.12 (t=13..25) -> 1e-4 (t=30): saddle-to-saddle, the target's singular
        # values learned one after another, so the flow is doing something over all of [0, 30].
        # Beyond t ~ 33 the loss is ~1e-10 and explicit methods only sit at their stability limit.
        return dict(
            title="depth 6, width 128, 8x8 factorization, T = diag(linspace(4, 0.5, 8))",
            depth=6,
            width=128,
            m=8,
            n=8,
            cost=dict(kind="matrix_factorization", target=np.diag(np.linspace(4.0, 0.5, 8))),
            seed=0,
            scale=0.3,
            t_span=(0.0, 30.0),
            rtol=1e-6,
            atol=1e-9,
        )
    raise ValueError(f"unknown problem {name!r}; expected one of {PROBLEMS}")


def numpy_init(dims, seed, scale):
    rng = np.random.default_rng(seed)
    return [
        np.ascontiguousarray(rng.standard_normal((dims[i + 1], dims[i])) * (scale / np.sqrt(dims[i])))
        for i in range(len(dims) - 1)
    ]


def _overflow_cost(cost):
    import overflow as of

    if cost["kind"] == "matrix_factorization":
        return of.costs.matrix_factorization(cost["target"])
    c = float(cost["c"])
    return of.costs.scalar(lambda z: (c - z) ** 2, lambda z: -2.0 * (c - z), lambda z: 2.0)


def build_network(p):
    """The overflow Network for problem dict ``p``; raises if overflow is not usable."""
    import overflow as of

    return of.Network(_overflow_cost(p["cost"]), depth=p["depth"], width=p["width"])


def problem(name, init="auto"):
    s = _spec(name)
    dims = [s["n"]] + [s["width"]] * (s["depth"] - 1) + [s["m"]]
    net, Ws, source = None, None, "numpy"
    if init in ("auto", "overflow"):
        try:
            net = build_network(s)
        except Exception as exc:  # overflow (or its Network / costs) not there yet
            if init == "overflow":
                raise
            net = None
            s["overflow_error"] = f"{type(exc).__name__}: {exc}"
        if net is not None and hasattr(net, "init"):
            Ws = [np.ascontiguousarray(W, dtype=np.float64) for W in net.init(seed=s["seed"], scale=s["scale"])]
            source = "overflow"
    if Ws is None:
        Ws = numpy_init(dims, s["seed"], s["scale"])
    shapes = [W.shape for W in Ws]
    assert [sh[1] for sh in shapes] == dims[:-1] and [sh[0] for sh in shapes] == dims[1:], shapes
    s.update(
        name=name,
        dims=dims,
        shapes=shapes,
        Ws=Ws,
        y0=np.concatenate([W.ravel() for W in Ws]),
        init_source=source,
        net=net,
    )
    return s


# ---------------------------------------------------------------- small helpers shared by peers
def unflatten(p, y):
    out, o = [], 0
    for r, c in p["shapes"]:
        out.append(y[o : o + r * c].reshape(r, c))
        o += r * c
    return out


def product(Ws):
    P = Ws[0]
    for W in Ws[1:]:
        P = W @ P
    return P


def loss_of_product(p, P):
    cost = p["cost"]
    if cost["kind"] == "matrix_factorization":
        return 0.5 * float(np.sum((P - cost["target"]) ** 2))
    return float((cost["c"] - P[0, 0]) ** 2)


def loss(p, y):
    return loss_of_product(p, product(unflatten(p, np.asarray(y))))


def grad_of_product(p, P):
    cost = p["cost"]
    if cost["kind"] == "matrix_factorization":
        return P - cost["target"]
    return -2.0 * (cost["c"] - P)


def rhs_flops(p):
    """FLOPs of one RHS evaluation by the prefix/backprop algorithm (2 per multiply-add).

    forward  A_i = W_i A_{i-1}            sum_{i=2..N} k_i k_{i-1} n
    backward D_{i-1} = W_i^T D_i          sum_{i=2..N} k_i k_{i-1} n
             dW_i = D_i A_{i-1}^T (i>=2)  sum_{i=2..N} k_i k_{i-1} n
    (dW_1 = -D_1 and the cost gradient are O(k n) and O(m n) and are left out)."""
    d = p["dims"]
    n = d[0]
    madds = 3 * sum(d[i] * d[i - 1] * n for i in range(2, len(d)))
    return 2 * madds
